# A RabbitMQ broker on Amazon MQ (`provider "aws"` in baton.hcl): one single-instance
# broker per resource, its user with a generated password, and the connection details
# in Secrets Manager (`baton/BROKER-NAME`). Amazon MQ serves AMQP over TLS only:
# clients connect with `amqps://` on port 5671, to the broker's default vhost `/`.
# Amazon MQ cannot change a RabbitMQ user's password after the broker is made, so the
# password is generated once and kept.
provisions "amqp" {
  environments = ["prod"]
  description  = "A RabbitMQ broker on Amazon MQ and its user, and the credentials in Secrets Manager"
  stateful     = true
}

param "instance_type" {
  type        = string
  default     = "mq.t3.micro"
  description = "The broker's instance type"
}

param "engine_version" {
  type        = string
  default     = "3.13"
  description = "The RabbitMQ version"
}

resource "random_password" "password" {
  length  = 24
  special = false
}

resource "aws_mq_broker" "broker" {
  # Letters, digits, hyphens and underscores, at most 50 characters.
  broker_name        = physical_name(score, "-", 50, lookup(environment.settings, "name_prefix", ""))
  engine_type        = "RabbitMQ"
  engine_version     = param.engine_version
  host_instance_type = param.instance_type
  username           = physical_name(score, "-", 100, lookup(environment.settings, "name_prefix", ""))
  password           = random_password.password.result
  apply_immediately  = true
  tags = {
    "managed-by"     = "baton"
    "baton:resource" = score.resource
  }
}

resource "aws_secretsmanager_secret" "credentials" {
  name        = "baton/${aws_mq_broker.broker.broker_name}"
  description = "Connection details of the Amazon MQ broker ${aws_mq_broker.broker.broker_name} (managed by baton)"
  value = jsonencode({
    endpoint = aws_mq_broker.broker.endpoint
    host     = aws_mq_broker.broker.host
    port     = aws_mq_broker.broker.port
    vhost    = "/"
    username = aws_mq_broker.broker.username
    password = random_password.password.result
  })
  tags = {
    "managed-by" = "baton"
  }
}

output "host" {
  value = aws_mq_broker.broker.host
}

output "port" {
  value = aws_mq_broker.broker.port
}

output "vhost" {
  value = "/"
}

output "username" {
  value = aws_mq_broker.broker.username
}

output "password" {
  value     = random_password.password.result
  sensitive = true
}

output "endpoint" {
  value = aws_mq_broker.broker.endpoint
}

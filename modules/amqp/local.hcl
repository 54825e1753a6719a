# A virtual host and a user with full rights on it, on the environment's RabbitMQ
# server (the local one by default; `provider "amqp" { url = …, management_url = … }`).
provisions "amqp" {
  environments = ["local"]
  description  = "A vhost and a user on the environment's RabbitMQ server"
  stateful     = true
}

resource "random_password" "password" {
  length  = 24
  special = false
}

resource "rabbitmq_vhost" "vhost" {
  name = physical_name(score, "-", 100, lookup(environment.settings, "name_prefix", ""))
}

resource "rabbitmq_user" "user" {
  name     = rabbitmq_vhost.vhost.name
  password = random_password.password.result
}

resource "rabbitmq_permissions" "user" {
  user      = rabbitmq_user.user.name
  vhost     = rabbitmq_vhost.vhost.name
  configure = ".*"
  write     = ".*"
  read      = ".*"
}

output "host" {
  value = provider.amqp.host
}

output "port" {
  value = provider.amqp.port
}

output "vhost" {
  value = rabbitmq_vhost.vhost.name
}

output "username" {
  value = rabbitmq_user.user.name
}

output "password" {
  value     = random_password.password.result
  sensitive = true
}

# A PostgreSQL database on Amazon RDS (`provider "aws"` in baton.hcl): one instance per
# resource (a shared resource, same `id` in several workloads, is one instance), its
# master user with a generated password, and the connection details in Secrets Manager
# (`baton/IDENTIFIER`, JSON in the form RDS uses for its own secrets) for tools and
# people who need them outside the workload. Storage is encrypted, backups are kept 7
# days, and deleting the instance first takes a final snapshot (IDENTIFIER-final)
# unless `skip_final_snapshot` is set.
provisions "postgres" {
  environments = ["prod"]
  description  = "A PostgreSQL instance on RDS, its master user, and the credentials in Secrets Manager"
  stateful     = true
}

param "database" {
  type        = string
  default     = null
  description = "The database name (default: derived from the workload and resource)"
}

param "instance_class" {
  type        = string
  default     = "db.t4g.micro"
  description = "The RDS instance class"
}

param "allocated_storage" {
  type        = number
  default     = 20
  description = "Storage in GiB (can only grow)"
}

param "engine_version" {
  type        = string
  default     = "16"
  description = "PostgreSQL major (or exact) version"
}

param "multi_az" {
  type        = bool
  default     = false
  description = "Keep a standby in another availability zone"
}

param "skip_final_snapshot" {
  type        = bool
  default     = false
  description = "Delete without taking a final snapshot"
}

resource "random_password" "password" {
  length  = 32
  special = false
}

resource "aws_db_instance" "db" {
  # Lower-case letters, digits and single hyphens, at most 63 characters.
  identifier                = physical_name(score, "-", 54, lookup(environment.settings, "name_prefix", ""))
  engine                    = "postgres"
  engine_version            = param.engine_version
  instance_class            = param.instance_class
  allocated_storage         = param.allocated_storage
  db_name                   = coalesce(param.database, physical_name(score, "_", 63, lookup(environment.settings, "name_prefix", "")))
  username                  = physical_name(score, "_", 63, lookup(environment.settings, "name_prefix", ""))
  password                  = random_password.password.result
  port                      = 5432
  multi_az                  = param.multi_az
  backup_retention_period   = 7
  storage_encrypted         = true
  apply_immediately         = true
  skip_final_snapshot       = param.skip_final_snapshot
  final_snapshot_identifier = "${physical_name(score, "-", 54, lookup(environment.settings, "name_prefix", ""))}-final"
  tags = {
    "managed-by"     = "baton"
    "baton:resource" = score.resource
  }
}

resource "aws_secretsmanager_secret" "credentials" {
  name        = "baton/${aws_db_instance.db.identifier}"
  description = "Connection details of the RDS instance ${aws_db_instance.db.identifier} (managed by baton)"
  value = jsonencode({
    engine   = "postgres"
    host     = aws_db_instance.db.address
    port     = aws_db_instance.db.port
    dbname   = aws_db_instance.db.db_name
    username = aws_db_instance.db.username
    password = random_password.password.result
  })
  tags = {
    "managed-by" = "baton"
  }
}

output "host" {
  value = aws_db_instance.db.address
}

output "port" {
  value = aws_db_instance.db.port
}

output "name" {
  value = aws_db_instance.db.db_name
}

output "database" {
  value = aws_db_instance.db.db_name
}

output "username" {
  value = aws_db_instance.db.username
}

output "password" {
  value     = random_password.password.result
  sensitive = true
}

output "secret_arn" {
  value = aws_secretsmanager_secret.credentials.arn
}

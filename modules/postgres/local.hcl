# A database and its owner role on the environment's PostgreSQL server (the local one
# by default; `provider "postgres" { url = … }` in baton.hcl to change it). Names are
# derived from the workload and resource (or the shared id), so two workloads never
# collide and a shared resource is made once.
provisions "postgres" {
  environments = ["local"]
  description  = "A database and its owner role on the environment's PostgreSQL server"
  stateful     = true
}

param "database" {
  type        = string
  default     = null
  description = "The database name (default: derived from the workload and resource)"
}

resource "random_password" "password" {
  length  = 24
  special = false
}

resource "postgres_role" "owner" {
  name     = physical_name(score, "_", 63, lookup(environment.settings, "name_prefix", ""))
  login    = true
  password = random_password.password.result
}

resource "postgres_database" "db" {
  name  = coalesce(param.database, postgres_role.owner.name)
  owner = postgres_role.owner.name
}

output "host" {
  value = provider.postgres.host
}

output "port" {
  value = provider.postgres.port
}

output "name" {
  value = postgres_database.db.name
}

output "database" {
  value = postgres_database.db.name
}

output "username" {
  value = postgres_role.owner.name
}

output "password" {
  value     = random_password.password.result
  sensitive = true
}

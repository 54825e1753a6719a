# A database and a user with all privileges on it, on the environment's MariaDB/MySQL
# server (the local one by default; `provider "mysql" { url = … }` to change it).
provisions "mysql" {
  environments = ["local"]
  description  = "A database and a user owning it on the environment's MariaDB server"
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

resource "mysql_database" "db" {
  name = coalesce(param.database, physical_name(score, "_", 64, lookup(environment.settings, "name_prefix", "")))
}

resource "mysql_user" "user" {
  user     = physical_name(score, "_", 32, lookup(environment.settings, "name_prefix", ""))
  host     = "%"
  password = random_password.password.result
}

resource "mysql_grant" "all" {
  user       = mysql_user.user.user
  host       = mysql_user.user.host
  database   = mysql_database.db.name
  privileges = ["ALL PRIVILEGES"]
}

output "host" {
  value = provider.mysql.host
}

output "port" {
  value = provider.mysql.port
}

output "name" {
  value = mysql_database.db.name
}

output "database" {
  value = mysql_database.db.name
}

output "username" {
  value = mysql_user.user.user
}

output "password" {
  value     = random_password.password.result
  sensitive = true
}

# A Redis ACL user on the environment's Redis server (the local one by default;
# `provider "redis" { url = … }` to change it). Every command except the dangerous ones;
# set `key_prefix` to confine the user to its own keys.
provisions "redis" {
  environments = ["local"]
  description  = "An ACL user on the environment's Redis server"
}

param "key_prefix" {
  type        = string
  default     = null
  description = "Only keys starting with this prefix (default: every key)"
}

resource "random_password" "password" {
  length  = 32
  special = false
}

resource "redis_acl_user" "user" {
  username  = physical_name(score, "-", 100, lookup(environment.settings, "name_prefix", ""))
  passwords = [random_password.password.result]
  keys      = param.key_prefix == null ? ["*"] : ["${param.key_prefix}*"]
  commands  = ["+@all", "-@dangerous"]
}

output "host" {
  value = provider.redis.host
}

output "port" {
  value = provider.redis.port
}

output "username" {
  value = redis_acl_user.user.username
}

output "password" {
  value     = random_password.password.result
  sensitive = true
}

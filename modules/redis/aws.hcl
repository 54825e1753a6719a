# A Redis replication group on Amazon ElastiCache (`provider "aws"` in baton.hcl): one
# group per resource, with TLS, encryption at rest and a generated AUTH token, and the
# connection details in Secrets Manager (`baton/GROUP-ID`). Clients authenticate as the
# `default` user with the token, and must connect with TLS (`rediss://`, port 6379):
# ElastiCache only accepts an AUTH token over TLS.
provisions "redis" {
  environments = ["prod"]
  description  = "A Redis replication group on ElastiCache with TLS and an AUTH token, and the credentials in Secrets Manager"
  stateful     = true
}

param "node_type" {
  type        = string
  default     = "cache.t4g.micro"
  description = "The ElastiCache node type"
}

param "replicas" {
  type        = number
  default     = 0
  description = "Read replicas beside the primary (with 1 or more, failover is automatic)"
}

resource "random_password" "token" {
  length  = 32
  special = false
}

resource "aws_elasticache_replication_group" "cache" {
  # Lower-case letters, digits and single hyphens, at most 40 characters.
  replication_group_id       = physical_name(score, "-", 40, lookup(environment.settings, "name_prefix", ""))
  description                = "Redis for ${score.uid} (managed by baton)"
  node_type                  = param.node_type
  num_cache_clusters         = param.replicas + 1
  automatic_failover_enabled = param.replicas > 0
  transit_encryption_enabled = true
  at_rest_encryption_enabled = true
  auth_token                 = random_password.token.result
  snapshot_retention_limit   = 1
  apply_immediately          = true
  tags = {
    "managed-by"     = "baton"
    "baton:resource" = score.resource
  }
}

resource "aws_secretsmanager_secret" "credentials" {
  name        = "baton/${aws_elasticache_replication_group.cache.replication_group_id}"
  description = "Connection details of the ElastiCache group ${aws_elasticache_replication_group.cache.replication_group_id} (managed by baton)"
  value = jsonencode({
    host     = aws_elasticache_replication_group.cache.primary_endpoint_address
    port     = aws_elasticache_replication_group.cache.port
    tls      = true
    username = "default"
    password = random_password.token.result
  })
  tags = {
    "managed-by" = "baton"
  }
}

output "host" {
  value = aws_elasticache_replication_group.cache.primary_endpoint_address
}

output "port" {
  value = aws_elasticache_replication_group.cache.port
}

output "username" {
  value = "default"
}

output "password" {
  value     = random_password.token.result
  sensitive = true
}

output "tls" {
  value = true
}

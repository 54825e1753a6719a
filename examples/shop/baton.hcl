# The same three Score files in three environments.
#
#   baton apply                 local: PostgreSQL, Redis and RabbitMQ on this machine
#   baton --env staging apply   staging: the same servers and modules, objects of its own
#   baton --env prod apply      prod: RDS, ElastiCache and Amazon MQ on AWS
#
# Each environment has its own state (docs/config.md has every setting). prod uses the
# AWS SDK's usual credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an
# instance role, …); set BATON_AWS_ENDPOINT to send every call to an emulator instead
# (the tests point it at moto), and BATON_AWS_REGION to change the region.

environment "local" {
  state {
    sqlite { path = ".baton/state.db" }
  }
  target "kubernetes" { dir = "deploy/local" }
}

# Extends local: local's modules and servers, its own state, manifests and settings
# (names derived from its own state never collide with local's).
environment "staging" {
  extends = "local"
  state {
    sqlite { path = ".baton/staging.db" }
  }
  target "kubernetes" { dir = "deploy/staging" }
  settings {
    name_prefix = "stg"
  }
}

environment "prod" {
  state {
    sqlite { path = ".baton/prod.db" }
  }
  provider "aws" {
    region   = lookup(env, "BATON_AWS_REGION", "eu-west-1")
    endpoint = lookup(env, "BATON_AWS_ENDPOINT", null)
  }
  target "kubernetes" {
    dir       = "deploy/prod"
    namespace = "shop"
  }
}

# A project module: a generated secret for the `secret` resource type, available in
# every environment. It shows how a platform team adds a type baton does not ship:
# the value is generated once, kept in state, never shown, and reaches the workload
# through a Kubernetes Secret.
provisions "secret" {
  description = "A random secret value, generated once and kept"
}

param "length" {
  type    = number
  default = 32
  validation {
    condition     = param.length >= 16
    error_message = "a secret needs at least 16 characters"
  }
}

resource "random_password" "value" {
  length  = param.length
  special = false
}

output "value" {
  value     = random_password.value.result
  sensitive = true
}

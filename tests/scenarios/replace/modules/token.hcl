# An API token: URL-safe punctuation allowed. Every attribute of random_password forces
# a new value, so a new `length` replaces the token (and the workload's Secret changes).
provisions "token" {
  description = "A generated API token, kept in state, never shown"
}

param "length" {
  type = number
}

resource "random_password" "token" {
  length           = param.length
  override_special = "-_"
  min_numeric      = 2
}

output "value" {
  sensitive = true
  value     = random_password.token.result
}

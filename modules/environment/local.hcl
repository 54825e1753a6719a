# Values from the environment baton runs in: ${resources.env.NAME} reads the variable
# NAME, when baton.hcl lists it (`environment_variables = ["NAME"]` in the environment's
# block; `env` holds only those, never a BATON_* one). Every value is treated as a
# secret, so it is never shown in a plan and reaches the workload through a Secret
# (Kubernetes) or a private env file (compose).
provisions "environment" {
  environments = ["local"]
  description  = "Variables of the environment baton runs in (each output is one variable)"
}

output "*" {
  value     = env
  sensitive = true
}

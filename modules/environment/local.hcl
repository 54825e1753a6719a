# Values from the environment baton runs in: ${resources.env.NAME} reads the variable
# NAME. Every value is treated as a secret, so it is never shown in a plan and reaches
# the workload through a Secret (Kubernetes) or a private env file (compose).
provisions "environment" {
  environments = ["local"]
  description  = "Variables of the environment baton runs in (each output is one variable)"
}

output "*" {
  value     = env
  sensitive = true
}

# An HTTP route from a host and path to a workload's port. Locally it is recorded as a
# small JSON file under .baton/routes/ that a development proxy (or a person) can read.
provisions "route" {
  environments = ["local"]
  description  = "An HTTP route (host, path → port), recorded under .baton/routes/"
}

param "host" {
  type        = string
  description = "The host name, usually $${resources.DNS.host}"
}

param "path" {
  type    = string
  default = "/"
  validation {
    condition     = startswith(param.path, "/")
    error_message = "path must start with /"
  }
}

param "port" {
  type        = any
  description = "The workload's service port: a number or the name of a port under service.ports"
}

resource "local_file" "route" {
  path = ".baton/routes/${physical_name(score, "-", 100)}.json"
  content = jsonencode({
    host     = param.host
    path     = param.path
    port     = param.port
    workload = score.workload
  })
}

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
  description = "The workload's service port: the name or the number of a port under its service.ports"
  validation {
    condition     = can(workloads[score.workload].ports[tostring(param.port)])
    error_message = "the workload publishes no port of this name or number under service.ports"
  }
}

resource "local_file" "route" {
  path = ".baton/routes/${physical_name(score, "-", 100, lookup(environment.settings, "name_prefix", ""))}.json"
  content = jsonencode({
    host        = param.host
    path        = param.path
    port        = workloads[score.workload].ports[tostring(param.port)].port
    target_port = workloads[score.workload].ports[tostring(param.port)].target_port
    workload    = score.workload
  })
}

# Another workload's service port in the prod environment, for workload-to-workload
# calls inside the cluster: the host name is the workload's name, which is its
# Kubernetes Service in the same namespace (the workload target writes one per
# workload with ports), the port the target port of the named (or numbered) port under
# its `service.ports`. Nothing is provisioned on AWS.
provisions "service-port" {
  environments = ["prod"]
  description  = "A port of another workload in the same Kubernetes namespace: outputs hostname and port"
}

param "workload" {
  type        = string
  description = "The workload that publishes the port"
  validation {
    condition     = contains(keys(workloads), param.workload)
    error_message = "no workload of this name in this run (with -f, name its Score file too)"
  }
}

param "port" {
  type        = any
  description = "The port: its name under the workload's service.ports (as score-compose takes it), or its number there"
  validation {
    condition     = !contains(keys(workloads), param.workload) || can(workloads[param.workload].ports[tostring(param.port)])
    error_message = "the workload publishes no port of this name or number under service.ports"
  }
}

output "hostname" {
  value = param.workload
}

# Callers reach the container's port (targetPort), as score-compose resolves it.
output "port" {
  value = workloads[param.workload].ports[tostring(param.port)].target_port
}

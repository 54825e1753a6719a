# Another workload's service port, for workload-to-workload calls: the host name is the
# workload's name (as on a compose network or in a Kubernetes namespace).
provisions "service-port" {
  environments = ["local"]
  description  = "A port of another workload: outputs hostname and port"
}

param "workload" {
  type        = string
  description = "The workload that publishes the port"
}

param "port" {
  type        = number
  description = "The port number"
}

output "hostname" {
  value = param.workload
}

output "port" {
  value = param.port
}

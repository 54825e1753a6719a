# Another workload's service port in the prod environment, for workload-to-workload
# calls inside the cluster: the host name is the workload's name, which is its
# Kubernetes Service in the same namespace (the workload target writes one per
# workload with ports). Nothing is provisioned on AWS.
provisions "service-port" {
  environments = ["prod"]
  description  = "A port of another workload in the same Kubernetes namespace: outputs hostname and port"
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

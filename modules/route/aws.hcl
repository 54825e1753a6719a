# Points a host at the environment's entry point with a Route 53 record: an A record
# when the target is an IPv4 address, else a CNAME (a load balancer's name). The zone
# and target come from `provider "aws" { zone_id = …, dns_target = … }` in baton.hcl,
# or the params. DNS carries neither path nor port: sending `path` to `port` of the
# workload is the job of the load balancer or ingress behind the target. One host takes
# one record, so routes of several paths on one host need one route resource for the
# host (or a record made outside baton).
provisions "route" {
  environments = ["prod"]
  description  = "A Route 53 record pointing the host at the environment's load balancer"
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

param "target" {
  type        = string
  default     = null
  description = "Where the host points: a load balancer's DNS name or an IPv4 address (default: dns_target of provider \"aws\")"
}

param "zone_id" {
  type        = string
  default     = null
  description = "The Route 53 zone id (default: zone_id of provider \"aws\")"
}

resource "aws_route53_record" "route" {
  zone_id = coalesce(param.zone_id, provider.aws.zone_id)
  name    = param.host
  type    = can(regex("^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$", coalesce(param.target, provider.aws.dns_target))) ? "A" : "CNAME"
  ttl     = 300
  records = [coalesce(param.target, provider.aws.dns_target)]
}

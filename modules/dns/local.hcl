# A host name for the workload on this machine. Names under .localhost resolve to the
# loopback address on most systems, so nothing needs to be registered anywhere. The
# name is derived from the resource's uid: stable across runs, unique per resource.
provisions "dns" {
  environments = ["local"]
  description  = "A stable host name under .localhost, unique per resource"
}

output "host" {
  value = "${score.resource}-${substr(sha256(score.uid), 0, 8)}.localhost"
}

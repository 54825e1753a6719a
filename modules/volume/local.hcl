# A directory on this machine, mounted into the workload's containers. Shared volumes
# (same id in several workloads) are one directory.
provisions "volume" {
  environments = ["local"]
  description  = "A local directory under .baton/volumes/"
  stateful     = true
}

resource "local_directory" "data" {
  path = ".baton/volumes/${physical_name(score, "-", 100, lookup(environment.settings, "name_prefix", ""))}"
}

output "source" {
  value = local_directory.data.absolute_path
}

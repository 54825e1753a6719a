# A directory on this machine, mounted into the workload's containers. Shared volumes
# (same id in several workloads) are one directory.
provisions "volume" {
  environments = ["local"]
  description  = "A local directory under .baton/volumes/"
}

resource "local_directory" "data" {
  path = ".baton/volumes/${physical_name(score, "-", 100)}"
}

output "source" {
  value = local_directory.data.absolute_path
}

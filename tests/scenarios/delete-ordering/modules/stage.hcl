# A stage of a pipeline: a working directory, a config file inside it, and a record of
# the file's checksum. Inside the module the file needs the directory and the record
# needs the file; across resources a stage's `after` param reads an output of the
# stage before it, so the stages depend on each other too.
provisions "stage" {
  description = "A working directory with a config file, and the file's checksum"
}

param "after" {
  type    = string
  default = ""
}

resource "local_directory" "dir" {
  path = "stages/${score.workload}-${score.resource}"
}

resource "local_file" "config" {
  path    = "${local_directory.dir.path}/config.json"
  content = jsonencode({ stage = score.resource, after = param.after })
}

resource "baton_data" "checksum" {
  input = local_file.config.content_sha256
}

output "dir" {
  value = local_directory.dir.path
}

output "checksum" {
  value = baton_data.checksum.output
}

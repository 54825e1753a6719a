# A file at a path the Score file chooses: a new path is a new file (`path` forces
# replacement), deleted before the new one is written (the default order).
provisions "report" {
  description = "A text file at a chosen path"
}

param "path" {
  type = string
}

resource "local_file" "file" {
  path    = param.path
  content = "report of ${score.workload}\n"
}

output "path" {
  value = local_file.file.path
}

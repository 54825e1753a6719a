# A published page that must never be missing: on a new path the new file is written
# first and the old one deleted after (`create_before_destroy`). Its content names the
# release, recorded in a `baton_data`; a new release replaces the page even where its
# path stays (`replace_triggered_by`).
provisions "published" {
  description = "A page written before the one it replaces is deleted"
}

param "path" {
  type = string
}

param "release" {
  type = string
}

resource "baton_data" "release" {
  input = param.release
}

resource "local_file" "page" {
  path    = param.path
  content = "<p>${score.workload} release ${param.release}</p>\n"
  lifecycle {
    create_before_destroy = true
    replace_triggered_by  = [baton_data.release.output]
  }
}

output "path" {
  value = local_file.page.path
}

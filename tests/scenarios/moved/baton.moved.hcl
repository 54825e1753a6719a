# `api` is now `backend`: what the state records for `api` moves to `backend`.
moved {
  from = "workload.api"
  to   = "workload.backend"
}

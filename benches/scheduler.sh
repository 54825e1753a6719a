#!/usr/bin/env bash
# Scheduler efficiency: W chains of D `time_sleep` resources (T each) applied with
# --parallelism P. The lower bound is T × max(D, ceil(W×D / P)) (the critical path, or
# the waves the limit forces); efficiency = bound / measured wall time of the walk of
# that DAG (first `time_sleep` call started to last finished). Beside it: the walk until
# the last call of the run finished (each chain's Score workload also writes its
# manifest once its sleeps are done: work outside the bound), and the whole command,
# planning included.
#
#   benches/scheduler.sh [W] [D] [T_MS] [P...]     (default: 100 10 50 10 100)
#
# Each parallelism runs RUNS times (default 5); the row is the run with the median walk.
# BATON_BIN=path measures that binary instead of building this checkout.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
W="${1:-100}"; D="${2:-10}"; T="${3:-50}"; shift $(( $# < 3 ? $# : 3 )) || true
PS=("${@:-10 100}"); read -r -a PS <<< "${PS[*]}"
RUNS="${RUNS:-5}"
# BATON_BIN measures another build (an earlier commit's, to compare) instead of this one.
if [ -z "${BATON_BIN:-}" ]; then (cd "$repo" && cargo build --release -q); fi
baton="${BATON_BIN:-$repo/target/release/baton}"
dir="$(mktemp -d)"; trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/modules"
cat > "$dir/modules/nap.hcl" <<HCL
provisions "nap" {}
param "after" {
  type    = string
  default = ""
}
resource "time_sleep" "nap" {
  create_duration = "${T}ms"
  triggers        = { after = param.after }
}
output "id" {
  value = time_sleep.nap.id
}
HCL
for w in $(seq 0 $((W - 1))); do
  {
    printf 'apiVersion: score.dev/v1b1\nmetadata:\n  name: c%05d\ncontainers:\n  main:\n    image: busybox\nresources:\n' "$w"
    for d in $(seq 0 $((D - 1))); do
      printf '  s%d:\n    type: nap\n' "$d"
      if [ "$d" -gt 0 ]; then printf '    params: {after: "${resources.s%d.id}"}\n' $((d - 1)); fi
    done
  } > "$dir/c$w.score.yaml"
done
echo "| W×D | T | parallelism | bound s | walk s | efficiency | walk with manifests s | whole apply s |"
echo "|---|---|---|---|---|---|---|---|"
for P in "${PS[@]}"; do
  : > "$dir/walks"
  for _ in $(seq "$RUNS"); do
    rm -rf "$dir/.baton" "$dir/deploy"
    # The walk: progress lines timestamped as they arrive, from the first call that
    # starts to the last `time_sleep` (and to the last call of all) that finishes.
    start=$(date +%s.%N)
    "$baton" -C "$dir" apply --auto-approve --parallelism "$P" 2>/dev/null | python3 -c '
import sys, time
first = last_sleep = last = None
for line in sys.stdin:
    now = time.monotonic()
    if line.rstrip().endswith(": Creating...") and first is None:
        first = now
    if ": Created after" in line:
        last = now
        if "/time_sleep." in line:
            last_sleep = now
print(f"{last_sleep - first:.4f} {last - first:.4f}", end=" ")' >> "$dir/walks"
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.4f}')" >> "$dir/walks"
  done
  # The run with the median walk.
  read -r walk walk_all whole < <(sort -n "$dir/walks" | sed -n "$(( (RUNS + 1) / 2 ))p")
  python3 - "$W" "$D" "$T" "$P" "$walk" "$walk_all" "$whole" "$RUNS" <<'PY'
import math, sys
W, D, T, P = map(int, sys.argv[1:5]); walk, walk_all, whole = map(float, sys.argv[5:8])
bound = T / 1000 * max(D, math.ceil(W * D / P))
print(f"| {W}×{D} | {T} ms | {P} | {bound:.3f} | {walk:.3f} | {bound / walk:.3f} | {walk_all:.3f} | {whole:.2f} |")
PY
done

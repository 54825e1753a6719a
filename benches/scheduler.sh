#!/usr/bin/env bash
# Scheduler efficiency: W chains of D `time_sleep` resources (T each) applied with
# --parallelism P. The lower bound is T × max(D, ceil(W×D / P)) (the critical path, or
# the waves the limit forces); efficiency = bound / measured wall time of the apply.
#
#   benches/scheduler.sh [W] [D] [T_MS] [P...]     (default: 100 10 50 10 100)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
W="${1:-100}"; D="${2:-10}"; T="${3:-50}"; shift $(( $# < 3 ? $# : 3 )) || true
PS=("${@:-10 100}"); read -r -a PS <<< "${PS[*]}"
(cd "$repo" && cargo build --release -q)
baton="$repo/target/release/baton"
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
echo "| W×D | T | parallelism | bound s | measured s | efficiency |"
echo "|---|---|---|---|---|---|"
for P in "${PS[@]}"; do
  rm -rf "$dir/.baton" "$dir/deploy"
  start=$(date +%s.%N)
  "$baton" -C "$dir" apply --auto-approve --parallelism "$P" >/dev/null
  end=$(date +%s.%N)
  python3 - "$W" "$D" "$T" "$P" "$start" "$end" <<'PY'
import math, sys
W, D, T, P = map(int, sys.argv[1:5]); start, end = map(float, sys.argv[5:7])
bound = T / 1000 * max(D, math.ceil(W * D / P))
measured = end - start
print(f"| {W}×{D} | {T} ms | {P} | {bound:.2f} | {measured:.2f} | {bound / measured:.3f} |")
PY
done

#!/usr/bin/env bash
# Two or more baton builds side by side, alternating in one run, on the same generated
# projects: the way to tell whether a change (or a mechanism) costs or saves time.
#
#   benches/ab.sh BIN_A BIN_B [BIN...]          (sizes: SIZES="100 1000 10000")
#   RUNS=9 SIZES=10000 benches/ab.sh /tmp/old-baton target/release/baton
#
# For each size: generate a project (benches/generate.py), then RUNS rounds; in each
# round every binary in turn does a first apply (state and manifests removed first) and
# a no-change plan. Printed: the median wall time of each binary and step, and each
# binary's ratio to the first one (below 1: faster). Wall time from the nanosecond clock
# around the process; the order of the binaries rotates every round so that neither
# always runs first after a file was written.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$#" -lt 2 ]; then
  echo "usage: benches/ab.sh BIN_A BIN_B [BIN...]" >&2
  exit 1
fi
bins=("$@")
read -r -a sizes <<< "${SIZES:-100 1000 10000}"
runs="${RUNS:-7}"
out="$repo/target/bench/ab"
mkdir -p "$out"

now() { date +%s.%N; }

echo "| N | step | binary | median s | ratio to the first |"
echo "|---|---|---|---|---|"
for size in "${sizes[@]}"; do
  rm -rf "${out:?}/$size"
  python3 "$repo/benches/generate.py" "$out/$size" --size "$size" >/dev/null
  dir="$out/$size/baton"
  times="$out/times-$size.tsv"
  : > "$times"
  for round in $(seq "$runs"); do
    n=${#bins[@]}
    for k in $(seq 0 $((n - 1))); do
      b=${bins[$(((k + round) % n))]}
      rm -rf "$dir/.baton" "$dir/deploy"
      s=$(now); "$b" -C "$dir" apply --auto-approve --parallelism 10 >/dev/null 2>&1; e=$(now)
      printf '%s\tapply\t%s\n' "$b" "$(python3 -c "print($e - $s)")" >> "$times"
      s=$(now); "$b" -C "$dir" plan >/dev/null 2>&1; e=$(now)
      printf '%s\tplan\t%s\n' "$b" "$(python3 -c "print($e - $s)")" >> "$times"
    done
  done
  python3 - "$times" "$size" "${bins[@]}" <<'PY'
import statistics, sys
path, size, bins = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
for step in ("apply", "plan"):
    med = {b: statistics.median(float(t) for x, s, t in rows if x == b and s == step) for b in bins}
    for b in bins:
        print(f"| {int(size):,} | {'first apply' if step == 'apply' else 'no-change plan'} | {b} | {med[b]:.3f} | {med[b] / med[bins[0]]:.3f} |")
PY
done

#!/usr/bin/env bash
# Latency of `baton serve` under load: 50 concurrent readers on an environment of
# 1,000 resources (a benchmark, not a test).
#
#   benches/serve.sh [SIZE] [READERS] [REQUESTS_PER_READER]    (default: 1000 50 40)
#   BATON_BIN=target/debug/baton benches/serve.sh               (no release build)
#
# Generates a project (benches/generate.py --size SIZE), applies it with the CLI
# (SQLite state), starts the release `baton serve` on a free port with a viewer token,
# then READERS threads each send REQUESTS_PER_READER GETs round robin over
# /api/v1/environments, /api/v1/environments/local, …/objects and …/history. Prints
# p50/p90/p99/max latency per route and overall, and the throughput.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
size="${1:-1000}"
readers="${2:-50}"
requests="${3:-40}"
if [ -n "${BATON_BIN:-}" ]; then
  baton="$BATON_BIN"                     # e.g. a debug build, to try the script
else
  (cd "$repo" && cargo build --release -q)
  baton="$repo/target/release/baton"
fi
work="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
python3 "$repo/benches/generate.py" "$work" --size "$size" >/dev/null
project="$work/baton"
"$baton" -C "$project" apply --auto-approve >/dev/null
token="$("$baton" -C "$project" token add bench --role viewer | grep -o 'baton_[0-9a-f]*')"
"$baton" -C "$project" serve --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  grep -q listening "$work/serve.log" 2>/dev/null && break
  sleep 0.1
done
url="$(grep -o 'http://[0-9.:]*' "$work/serve.log")"
python3 - "$url" "$token" "$readers" "$requests" "$size" <<'PY'
import sys, threading, time, urllib.request
url, token, readers, requests, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
routes = ["/api/v1/environments", "/api/v1/environments/local",
          "/api/v1/environments/local/objects", "/api/v1/environments/local/history"]
times = {r: [] for r in routes}
errors = []
lock = threading.Lock()
def reader(n):
    for i in range(requests):
        r = routes[(n + i) % len(routes)]
        rq = urllib.request.Request(url + r, headers={"Authorization": "Bearer " + token})
        t = time.perf_counter()
        try:
            with urllib.request.urlopen(rq, timeout=120) as resp:
                resp.read()
        except Exception as e:
            with lock:
                errors.append(f"{r}: {e}")
            continue
        d = time.perf_counter() - t
        with lock:
            times[r].append(d)
start = time.perf_counter()
threads = [threading.Thread(target=reader, args=(n,)) for n in range(readers)]
for t in threads: t.start()
for t in threads: t.join()
wall = time.perf_counter() - start
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] * 1000
print(f"{readers} readers x {requests} requests on {size} resources, {wall:.1f} s, {sum(len(v) for v in times.values()) / wall:.0f} requests/s, {len(errors)} errors")
print("| route | n | p50 ms | p90 ms | p99 ms | max ms |")
print("|---|---|---|---|---|---|")
every = []
for r, v in times.items():
    every += v
    if v:
        print(f"| {r} | {len(v)} | {pct(v, 50):.1f} | {pct(v, 90):.1f} | {pct(v, 99):.1f} | {max(v) * 1000:.1f} |")
print(f"| all | {len(every)} | {pct(every, 50):.1f} | {pct(every, 90):.1f} | {pct(every, 99):.1f} | {max(every) * 1000:.1f} |")
for e in errors[:5]:
    print("error:", e)
PY

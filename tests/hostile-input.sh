#!/usr/bin/env bash
# Hostile input against the real binary: each input is written into a fresh project,
# `baton plan` runs on it under a 1 GiB address-space limit (`ulimit -v`) and
# `timeout 5`, and the run must end with exit code 1, a located error (`file:line:col`
# on stderr) and the state untouched. Prints one row per input: exit code, seconds,
# peak memory (when /usr/bin/time is there), the state check, and the verdict.
#
#   tests/hostile-input.sh            # target/debug/baton (cargo build first)
#   BATON_BIN=target/release/baton tests/hostile-input.sh
#
# The state check: no input may leave a `.baton/state.db` behind, whether it is refused
# before planning (Score files, baton.hcl, files read from disk) or while planning
# (module expressions, met after the plan opened the state: a state the run created
# and left empty is removed again).
set -u

repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${BATON_BIN:-$repo/target/debug/baton}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
if [ ! -x "$bin" ]; then
    echo "no baton binary at $bin: run \`cargo build\` or set BATON_BIN" >&2
    exit 2
fi
timer=
if [ -x /usr/bin/time ]; then timer=/usr/bin/time; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

score_head='apiVersion: score.dev/v1b1
metadata:
  name: web'
container='containers:
  main:
    image: busybox'

# A project with a Score file made of the head, `$1` (more metadata) and `$2` (more of
# the container), and a resource named `$3` (of type `$4`, else `$3`) when `$3` is set.
project() {
    local dir=$work/$name
    mkdir -p "$dir"
    {
        echo "$score_head"
        [ -n "$1" ] && printf '%s\n' "$1"
        echo "$container"
        [ -n "$2" ] && printf '%s\n' "$2"
        if [ -n "${3:-}" ]; then printf 'resources:\n  %s:\n    type: %s\n' "$3" "${4:-$3}"; fi
    } > "$dir/score.yaml"
    echo "$dir"
}

# A `blob` module whose one attribute is the expression `$1`.
blob_module() {
    mkdir -p "$1/modules"
    printf 'provisions "blob" {\n  description = "hostile"\n}\nresource "baton_data" "b" {\n  input = %s\n}\n' "$2" \
        > "$1/modules/blob.hcl"
}

failures=0
printf '%-34s %5s %8s %10s  %-16s %s\n' input exit seconds "peak KiB" state result
printf '%-34s %5s %8s %10s  %-16s %s\n' ----- ---- ------- -------- ----- ------

# Runs `baton plan` in project `$1`; no state may appear.
check() {
    local dir=$1 env=(env)
    [ -n "${extra_env:-}" ] && env+=("$extra_env")
    local start end code mem="-" state verdict=ok
    start=$(date +%s.%N)
    (
        cd "$dir" || exit 99
        ulimit -v 1048576
        if [ -n "$timer" ]; then
            "${env[@]}" "$timer" -f %M -o "$dir/.mem" timeout 5 "$bin" --no-color plan >"$dir/.out" 2>"$dir/.err"
        else
            "${env[@]}" timeout 5 "$bin" --no-color plan >"$dir/.out" 2>"$dir/.err"
        fi
    )
    code=$?
    end=$(date +%s.%N)
    if [ -n "$timer" ] && [ -s "$dir/.mem" ]; then
        mem=$(grep -E '^[0-9]+$' "$dir/.mem" | tail -1)
        [ -n "$mem" ] || mem="-"
    fi
    if [ -e "$dir/.baton" ]; then state="created"; verdict=FAIL; else state="none"; fi
    [ "$code" -eq 1 ] || verdict=FAIL
    grep -qE '[A-Za-z0-9_./-]+:[0-9]+:[0-9]+' "$dir/.err" || verdict=FAIL
    local why
    why=$(grep -m1 -E '^error' "$dir/.err" | cut -c1-70)
    printf '%-34s %5s %8.2f %10s  %-16s %s\n' "$name" "$code" "$(echo "$end - $start" | bc)" "$mem" "$state" "$verdict: $why"
    [ "$verdict" = ok ] || failures=$((failures + 1))
}

file_source() {
    project "" "    files:
      /etc/app.conf:
        source: $1"
}

name=file-source-proc-environ
check "$(file_source /proc/self/environ)" before

name=file-source-dev-zero
check "$(file_source /dev/zero)" before

name=file-source-fifo
dir=$(file_source pipe); mkfifo "$dir/pipe"
check "$dir"

name=file-source-symlink-out
dir=$(file_source passwd); ln -s /etc/passwd "$dir/passwd"
check "$dir"

name=file-source-2-mib
dir=$(file_source big.bin); head -c 2097152 /dev/zero > "$dir/big.bin"
check "$dir"

name=env-baton-state-key
extra_env="BATON_STATE_KEY=$("$bin" state keygen 2>/dev/null | tail -1)"
check "$(project "" "    variables:
      KEY: \${resources.env.BATON_STATE_KEY}" env environment)" before
extra_env=

name=env-baton-listed-in-baton-hcl
dir=$(project "" "    variables:
      KEY: \${resources.env.BATON_STATE_KEY}" env environment)
printf 'environment "local" {\n  environment_variables = ["BATON_STATE_KEY"]\n}\n' > "$dir/baton.hcl"
check "$dir"

name=yaml-billion-laughs
bomb='  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
prev=a
for level in b c d e f g h i; do
    bomb+=$'\n'"  $level: &$level [*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev]"
    prev=$level
done
check "$(project "$bomb" "")" before

deep() { python3 -c "import sys; n=100000; print(sys.argv[1] * n + sys.argv[2] + sys.argv[3] * n)" "$@"; }

name=yaml-100k-deep-flow-seq
check "$(project "  x: $(deep '[' '' ']')" "")" before

name=yaml-100k-deep-flow-map
check "$(project "  x: $(deep '{a: ' '1' '}')" "")" before

name=yaml-100k-deep-block-seq
check "$(project "  x:
    $(deep '- ' '1' '')" "")" before

name=score-200k-placeholders
check "$(project "" "    variables:
      X: \"$(python3 -c 'print("${resources.nope.x}" * 200000)')\"")" before

name=score-9k-errors-output-capped
dir=$(project "" "    variables:
      X: \"$(python3 -c 'print("${resources.nope.x}" * 9000)')\"")
check "$dir"
size=$(wc -c < "$dir/.err")
if [ "$size" -gt 102400 ]; then
    echo "  the errors of $name took $size bytes (at most 100 KiB expected)"
    failures=$((failures + 1))
fi

name=hcl-100k-deep-module-expr
dir=$(project "" "" blob); blob_module "$dir" "$(deep '[' '' ']')"
check "$dir"

name=module-for-8-gib
dir=$(project "" "" blob)
blob_module "$dir" 'join("", [for a in range(1024) : join("", [for b in range(1024) : join("", [for c in range(1024) : "xxxxxxxx"])])])'
check "$dir"

name=module-template-8-gib
dir=$(project "" "" blob)
blob_module "$dir" '"%{for a in range(1024)}%{for b in range(1024)}%{for c in range(1024)}xxxxxxxx%{endfor}%{endfor}%{endfor}"'
check "$dir"

name=module-join-1-gib-separator
dir=$(project "" "" blob)
blob_module "$dir" 'join(join("", [for a in range(1024) : format("%1024s", "")]), range(1024))'
check "$dir"

echo
if [ "$failures" -gt 0 ]; then
    echo "$failures hostile input(s) not refused as they must be"
    exit 1
fi
echo "every hostile input refused: exit 1, located, state untouched, within 5 s and 1 GiB"

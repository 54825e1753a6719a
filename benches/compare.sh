#!/usr/bin/env bash
# baton against Terraform on the same graph, in one run, on this machine.
#
#   benches/compare.sh [SIZES...]        (default: 1000 10000)
#   RUNS=3 SHAPE=fanout benches/compare.sh 1000
#
# For each size: generate both projects (benches/generate.py), then time each tool for
# first apply, no-change plan with refresh, no-change plan without refresh, a plan after
# changing one resource (whole project, and narrowed to it: baton -f/--target,
# terraform -target), and destroy. Wall time and peak memory come from
# /usr/bin/time -v; baton's figures are the median of RUNS runs (Terraform's too, except
# at 10,000 where one run of each takes minutes: TF_RUNS overrides). Terraform runs
# offline with only its built-in terraform_data (TF_CLI_CONFIG_FILE=/dev/null) and is
# skipped with a message when it is not installed. Results: a Markdown table on stdout
# and target/bench/compare-<size>.tsv.
#
# Terraform's first apply and destroy at 10,000 take most of an hour each (Terraform's
# cost grows super-linearly), so from 10,000 up only its plan steps run by default,
# on the state a first apply records (benches/generate.py --tfstate writes it).
# TF_STEPS="apply plan plan-norefresh plan-change plan-narrow destroy" measures them all.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
sizes=("${@:-1000 10000}")
read -r -a sizes <<< "${sizes[*]}"
runs="${RUNS:-3}"
shape="${SHAPE:-fanout}"
out="$repo/target/bench"
mkdir -p "$out"
(cd "$repo" && cargo build --release -q)
baton="$repo/target/release/baton"
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 NO_COLOR=1 CHECKPOINT_DISABLE=1
have_tf=1
command -v terraform >/dev/null || { have_tf=0; echo "terraform is not installed: measuring baton only" >&2; }
if [ ! -x /usr/bin/time ]; then echo "benches/compare.sh needs /usr/bin/time (Debian: apt-get install time)" >&2; exit 1; fi

# measure DIR CMD... -> prints "seconds kilobytes"
# Wall time to the nanosecond clock (time -v rounds it to 10 ms, too coarse for baton at
# 1,000), peak memory from time -v.
measure() {
  local dir=$1; shift
  local log; log=$(mktemp)
  local start end kb
  start=$(date +%s.%N)
  (cd "$dir" && /usr/bin/time -v "$@" >/dev/null 2>"$log") || { cat "$log" >&2; rm -f "$log"; return 1; }
  end=$(date +%s.%N)
  kb=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
  rm -f "$log"
  python3 -c "print(f'{$end - $start:.3f} $kb')"
}

median() { python3 -c "import statistics,sys; v=[l.split() for l in sys.stdin if l.strip()]; t=sorted(float(a) for a,_ in v); m=sorted(int(b) for _,b in v); print(f'{statistics.median(t):.3f} {int(statistics.median(m))}')"; }

run_baton() { # size step -> "s kb" (median)
  local size=$1 step=$2 dir="$out/$size/baton"
  for _ in $(seq "$runs"); do
    case $step in
      apply) rm -rf "$dir/.baton" "$dir/deploy"; measure "$dir" "$baton" apply --auto-approve --parallelism 10 ;;
      plan) measure "$dir" "$baton" plan ;;
      plan-norefresh) measure "$dir" "$baton" plan --refresh=false ;;
      plan-change) sed -i '0,/params: {parent: "${resources.root0.value}", index: 0}/s//params: {parent: "${resources.root0.value}", index: 100000}/' "$dir/w00000.score.yaml"
        measure "$dir" "$baton" plan
        sed -i 's/index: 100000}/index: 0}/' "$dir/w00000.score.yaml" ;;
      plan-narrow) sed -i '0,/params: {parent: "${resources.root0.value}", index: 0}/s//params: {parent: "${resources.root0.value}", index: 100000}/' "$dir/w00000.score.yaml"
        measure "$dir" "$baton" plan -f w00000.score.yaml --target "bench-node.default#w00000.n0"
        sed -i 's/index: 100000}/index: 0}/' "$dir/w00000.score.yaml" ;;
      destroy) measure "$dir" "$baton" destroy --auto-approve; "$baton" -C "$dir" apply --auto-approve >/dev/null ;;
    esac
  done | median
}

run_tf() { # size step -> "s kb"
  local size=$1 step=$2 dir="$out/$size/terraform" n=$3
  for _ in $(seq "$n"); do
    case $step in
      apply) rm -f "$dir/terraform.tfstate" "$dir/terraform.tfstate.backup"; measure "$dir" terraform apply -auto-approve -input=false -parallelism=10 ;;
      plan) measure "$dir" terraform plan -input=false ;;
      plan-norefresh) measure "$dir" terraform plan -input=false -refresh=false ;;
      plan-change) sed -i 's|input = "${terraform_data.root0.output}/n0"|input = "${terraform_data.root0.output}/n0-changed"|' "$dir/main.tf"
        measure "$dir" terraform plan -input=false
        sed -i 's|/n0-changed"|/n0"|' "$dir/main.tf" ;;
      plan-narrow) sed -i 's|input = "${terraform_data.root0.output}/n0"|input = "${terraform_data.root0.output}/n0-changed"|' "$dir/main.tf"
        measure "$dir" terraform plan -input=false -target=terraform_data.n0
        sed -i 's|/n0-changed"|/n0"|' "$dir/main.tf" ;;
      destroy) measure "$dir" terraform destroy -auto-approve -input=false; (cd "$dir" && terraform apply -auto-approve -input=false >/dev/null) ;;
    esac
  done | median
}

echo "| N | step | baton s | baton MB | terraform s | terraform MB | baton/terraform |"
echo "|---|---|---|---|---|---|---|"
for size in "${sizes[@]}"; do
  rm -rf "$out/$size"
  all_steps="apply plan plan-norefresh plan-change plan-narrow destroy"
  tf_steps="${TF_STEPS:-$([ "$size" -ge 10000 ] && echo "plan plan-norefresh plan-change plan-narrow" || echo "$all_steps")}"
  seed=""
  case " $tf_steps " in *" apply "*) ;; *) seed="--tfstate" ;; esac
  python3 "$repo/benches/generate.py" "$out/$size" --size "$size" --shape "$shape" $seed >/dev/null
  if [ "$have_tf" = 1 ]; then (cd "$out/$size/terraform" && terraform init -input=false >/dev/null); fi
  tf_runs="${TF_RUNS:-$([ "$size" -ge 10000 ] && echo 1 || echo "$runs")}"
  tsv="$out/compare-$size.tsv"
  : > "$tsv"
  for step in apply plan plan-norefresh plan-change plan-narrow destroy; do
    read -r bs bkb < <(run_baton "$size" "$step")
    if [ "$have_tf" = 1 ] && [[ " $tf_steps " == *" $step "* ]]; then
      run_tf "$size" "$step" "$tf_runs" > "$out/tf.tmp"
      read -r ts tkb < "$out/tf.tmp"
      ratio=$(python3 -c "print(f'{$bs/$ts:.4f}')")
    else
      ts="-"; tkb=0; ratio="-"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$step" "$bs" "$bkb" "$ts" "$tkb" >> "$tsv"
    echo "| $size | $step | $bs | $((bkb / 1024)) | $ts | $((tkb / 1024)) | $ratio |"
  done
done

#!/usr/bin/env bash
# Schema guard for what baton generates: every Kubernetes manifest and Compose file the
# examples and the scenario tests make is validated against the published schemas, and
# the CI recipes of examples/ci/ against theirs.
#
#   tests/validate-generated.sh            # target/debug/baton (cargo build first)
#   BATON_BIN=target/release/baton tests/validate-generated.sh
#   KEEP=1 tests/validate-generated.sh     # keep the temporary projects, print where
#
# - Kubernetes manifests: `kubernetes-validate --strict` (unknown fields are errors)
#   against the Kubernetes version the `k8s-openapi` feature of Cargo.toml targets;
# - Compose files: `check-jsonschema --builtin-schema vendor.compose-spec`;
# - examples/ci/: `vendor.github-workflows` and `vendor.gitlab-ci`.
# Both tools (PyPI, pinned below) go into target/validate-venv, installed only when
# missing or when the pins change.
#
# What is generated, each on a temporary copy and with no server:
# - examples/hello applied in `local`, with the Kubernetes target and with
#   `target "compose"`;
# - examples/shop applied in each environment of its baton.hcl and with
#   `target "compose"`, its postgres, redis and amqp resources provided by stand-in
#   project modules (a generated password and derived names, the outputs the built-in
#   modules give), so the workloads' manifests are rendered as in a real apply while no
#   database, cache or broker is called;
# - every scenario of tests/scenarios/ replayed from its `steps` (tests/scenarios/README.md),
#   with the manifests the state records collected after every `apply` or `destroy`;
# - the renderers' snapshots of Kubernetes and Compose YAML (src/target/snapshots/).
# The manifests are found through the state (`show --format json`: the `dir` and files
# of each `workload_manifests` object), not by searching folders. Files with the same
# content are validated once. Prints the counts; exits 1 naming every invalid file
# (run, line of the scenario's steps, path in the project).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${BATON_BIN:-$repo/target/debug/baton}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
if [ ! -x "$bin" ]; then
    echo "validate-generated: no baton binary at $bin: run \`cargo build\` or set BATON_BIN" >&2
    exit 2
fi

# The Kubernetes version: the k8s-openapi feature `v1_NN` → 1.NN.
k8s_version=$(sed -n 's/^k8s-openapi = .*features = \["v\([0-9]*\)_\([0-9]*\)"\].*/\1.\2/p' "$repo/Cargo.toml")
if [ -z "$k8s_version" ]; then
    echo "validate-generated: no \`k8s-openapi … features = [\"v1_NN\"]\` line in Cargo.toml" >&2
    exit 2
fi

started=$(date +%s)
venv=$repo/target/validate-venv
pins='kubernetes-validate==1.37.0 check-jsonschema==0.39.0'
if [ "$(cat "$venv/pins" 2>/dev/null)" != "$pins" ]; then
    echo "validate-generated: installing $pins into target/validate-venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install -q --disable-pip-version-check $pins
    echo "$pins" > "$venv/pins"
fi

work=$(mktemp -d)
if [ -n "${KEEP:-}" ]; then
    trap 'echo "validate-generated: kept $work"' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi
collected=$work/collected
mkdir -p "$collected/kubernetes" "$collected/compose"
seen=$work/seen   # sha256 of every collected file, one a line
: > "$seen"

# baton as the scenario tests run it: an empty environment apart from PATH and NO_COLOR.
baton() {
    env -i PATH="$PATH" NO_COLOR=1 "$bin" "$@"
}

# The global flags of a baton command line (`--env prod`), for `show` of the same state.
global_flags() {
    local out=() a
    while [ $# -gt 0 ]; do
        a=$1
        shift
        case $a in
            --env | -C) out+=("$a" "$1"); shift ;;
            --env=*) out+=("$a") ;;
            -*) ;;
            *) break ;;
        esac
    done
    if [ "${#out[@]}" -gt 0 ]; then printf '%s\n' "${out[@]}"; fi
}

# The command word of a baton command line (`--env prod apply` → apply).
command_of() {
    while [ $# -gt 0 ]; do
        case $1 in
            --env | -C) shift 2 ;;
            -*) shift ;;
            *) echo "$1"; return ;;
        esac
    done
}

# collect PROJECT LABEL [GLOBAL FLAGS…]: copies every manifest the state of PROJECT (in
# the environment the flags select) records into $collected/{kubernetes,compose}/LABEL/,
# unless a file of the same content was collected already.
collect() {
    local project=$1 label=$2
    shift 2
    local json
    if ! json=$(cd "$project" && baton "$@" show --format json); then
        echo "validate-generated: $label: \`baton $* show --format json\` failed" >&2
        exit 1
    fi
    local kind rel sum new=0 again=0
    while IFS=$'\t' read -r kind rel; do
        [ -f "$project/$rel" ] || continue
        sum=$(sha256sum < "$project/$rel" | cut -d' ' -f1)
        if grep -qx "$sum" "$seen"; then
            again=$((again + 1))
            continue
        fi
        new=$((new + 1))
        echo "$sum" >> "$seen"
        mkdir -p "$collected/$kind/$label/$(dirname "$rel")"
        cp "$project/$rel" "$collected/$kind/$label/$rel"
    done < <(python3 -c '
import json, os, sys
for o in json.load(sys.stdin).get("objects", []):
    if o.get("kind") != "workload_manifests":
        continue
    a = o["attributes"]
    d, files = a["dir"], a.get("files")
    if not isinstance(files, dict):
        continue
    if "compose.yaml" in files:
        print("compose", os.path.join(d, "compose.yaml"), sep="\t")
        continue
    names = set(f for f in files if f.endswith(".yaml"))
    # The Secret manifest: `<workload>.secrets.yaml`, its content sensitive in the state.
    names.add(o["address"].split(".", 1)[1] + ".secrets.yaml")
    for f in sorted(names):
        print("kubernetes", os.path.join(d, f), sep="\t")
' <<< "$json")
    printf '  %-40s %2d new, %2d seen before\n' "$label" "$new" "$again"
}

# A path of a step, with a `*` in its last part matching exactly one entry.
step_path() {
    local project=$1 rel=$2
    case $rel in
        *'*'*)
            local matches
            mapfile -t matches < <(cd "$project" && compgen -G "$rel" || true)
            if [ "${#matches[@]}" -ne 1 ]; then
                echo "validate-generated: \`$rel\` matches ${#matches[@]} entries in $project" >&2
                exit 1
            fi
            echo "$project/${matches[0]}"
            ;;
        *) echo "$project/$rel" ;;
    esac
}

# Copies a folder into a project, leaving out a run's leftovers and a scenario's machinery.
copy_project() {
    local from=$1 to=$2 e
    mkdir -p "$to"
    for e in "$from"/* "$from"/.[!.]*; do
        [ -e "$e" ] || continue
        case $(basename "$e") in .baton | deploy | steps | snapshots) continue ;; esac
        cp -r "$e" "$to/"
    done
}

# replay SCENARIO: runs the steps of tests/scenarios/SCENARIO and collects after every
# apply and destroy (labelled by the line of `steps`). A command may fail (some steps
# show a refusal); that is the scenario test's business, not this guard's.
replay() {
    local name=$1 dir=$repo/tests/scenarios/$1 project=$work/scenario-$1 n=0 line
    local words cmd flags from
    from=$(sed -n 's/^from \(.*\)$/\1/p' "$dir/steps")
    if [ -n "$from" ]; then copy_project "$repo/$from" "$project"; fi
    copy_project "$dir" "$project"
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        case $line in '' | '#'* | 'from '*) continue ;; esac
        read -ra words <<< "$line"
        case ${words[0]} in
            cp) mkdir -p "$(dirname "$project/${words[2]}")"
                cp -r "$(step_path "$project" "${words[1]}")" "$project/${words[2]}" ;;
            mv) mv "$(step_path "$project" "${words[1]}")" "$project/${words[2]}" ;;
            rm) rm -rf "$(step_path "$project" "${words[1]}")" ;;
            append) printf '%s\n' "$(sed 's/^append[[:space:]]*[^[:space:]]*[[:space:]]*//' <<< "$line")" \
                        >> "$(step_path "$project" "${words[1]}")" ;;
            *)
                (cd "$project" && baton "${words[@]}") > /dev/null 2>&1 || true
                cmd=$(command_of "${words[@]}")
                if [ "$cmd" = apply ] || [ "$cmd" = destroy ]; then
                    mapfile -t flags < <(global_flags "${words[@]}")
                    collect "$project" "scenario-$name/line$(printf '%02d' "$n")" "${flags[@]}"
                fi
                ;;
        esac
    done < "$dir/steps"
}

# apply PROJECT LABEL [GLOBAL FLAGS…]: `baton apply --auto-approve`, which must succeed,
# then collect.
apply() {
    local project=$1 label=$2
    shift 2
    if ! (cd "$project" && baton "$@" apply --auto-approve) > "$work/apply.log" 2>&1; then
        echo "validate-generated: $label: \`baton $* apply --auto-approve\` failed:" >&2
        sed 's/^/  /' "$work/apply.log" >&2
        exit 1
    fi
    collect "$project" "$label" "$@"
}

# The environments of a project's baton.hcl, one a line.
environments() {
    sed -n 's/^environment "\([^"]*\)".*/\1/p' "$1/baton.hcl"
}

# The stand-in modules for examples/shop: what the built-in local and AWS modules output,
# from a generated password and derived names, with no server behind them. They name
# every environment of the project, so they beat the built-in modules in each.
stand_ins() {
    local project=$1 type outputs envs
    envs=$(environments "$project" | sed 's/.*/"&"/' | paste -sd, - | sed 's/,/, /g')
    mkdir -p "$project/modules"
    for type in postgres redis amqp; do
        case $type in
            postgres) outputs='host=db.invalid port=5432 name=@ database=@ username=@' ;;
            redis) outputs='host=cache.invalid port=6379 username=@' ;;
            amqp) outputs='host=mq.invalid port=5672 vhost=@ username=@' ;;
        esac
        {
            printf 'provisions "%s" {\n  environments = [%s]\n' "$type" "$envs"
            printf '  description  = "stand-in: no server (tests/validate-generated.sh)"\n}\n\n'
            printf 'resource "random_password" "password" {\n  length  = 24\n  special = false\n}\n\n'
            local o key value
            for o in $outputs; do
                key=${o%%=*} value=${o#*=}
                if [ "$value" = @ ]; then
                    printf 'output "%s" {\n  value = physical_name(score, "_", 63)\n}\n\n' "$key"
                elif [[ $value =~ ^[0-9]+$ ]]; then
                    printf 'output "%s" {\n  value = %s\n}\n\n' "$key" "$value"
                else
                    printf 'output "%s" {\n  value = "%s"\n}\n\n' "$key" "$value"
                fi
            done
            printf 'output "password" {\n  value     = random_password.password.result\n  sensitive = true\n}\n'
        } > "$project/modules/$type.hcl"
    done
}

# Swaps the `local` environment's Kubernetes target for the Compose one.
compose_target() {
    local project=$1
    if [ -f "$project/baton.hcl" ]; then
        if ! grep -q '^  target "kubernetes" { dir = "deploy/local" }$' "$project/baton.hcl"; then
            echo "validate-generated: $project/baton.hcl: no \`target \"kubernetes\" { dir = \"deploy/local\" }\` line to swap" >&2
            exit 1
        fi
        sed -i 's|^  target "kubernetes" { dir = "deploy/local" }$|  target "compose" { dir = "deploy/compose" }|' "$project/baton.hcl"
    else
        printf 'environment "local" {\n  target "compose" { dir = "deploy/compose" }\n}\n' > "$project/baton.hcl"
    fi
}

echo "validate-generated: generating (files by run, and line of a scenario's steps):"
copy_project "$repo/examples/hello" "$work/hello"
apply "$work/hello" hello

copy_project "$repo/examples/hello" "$work/hello-compose"
compose_target "$work/hello-compose"
apply "$work/hello-compose" hello-compose

copy_project "$repo/examples/shop" "$work/shop"
stand_ins "$work/shop"
for env in $(environments "$work/shop"); do
    apply "$work/shop" "shop-$env" --env "$env"
done

copy_project "$repo/examples/shop" "$work/shop-compose"
stand_ins "$work/shop-compose"
compose_target "$work/shop-compose"
apply "$work/shop-compose" shop-compose

for steps in "$repo"/tests/scenarios/*/steps; do
    replay "$(basename "$(dirname "$steps")")"
done

# The renderers' own snapshots (src/target/tests.rs): a workload using every feature the
# examples leave out (sidecars for `before`, binary files, resource limits, …). The body
# of an insta snapshot follows its header, which ends at the second `---` line.
for snap in "$repo"/src/target/snapshots/*_yaml.snap; do
    case $snap in
        *__kubernetes_*) kind=kubernetes ;;
        *__compose_*) kind=compose ;;
        *) continue ;;
    esac
    rel=src/target/snapshots/$(basename "$snap" .snap).yaml
    mkdir -p "$(dirname "$collected/$kind/$rel")"
    awk 'header < 2 { if ($0 == "---") header++; next } { print }' "$snap" > "$collected/$kind/$rel"
    echo "  $rel"
done

mapfile -t manifests < <(cd "$collected/kubernetes" && find . -type f | sed 's|^\./||' | sort)
mapfile -t composes < <(cd "$collected/compose" && find . -type f | sed 's|^\./||' | sort)
if [ "${#manifests[@]}" -eq 0 ] || [ "${#composes[@]}" -eq 0 ]; then
    echo "validate-generated: collected ${#manifests[@]} Kubernetes manifests and ${#composes[@]} Compose files; expected some of each" >&2
    exit 1
fi

failed=0
echo "validate-generated: ${#manifests[@]} Kubernetes manifests (Kubernetes $k8s_version, strict):"
if ! (cd "$collected/kubernetes" && "$venv/bin/kubernetes-validate" --strict --quiet \
        -k "$k8s_version.0" "${manifests[@]}") > "$work/k8s.log" 2>&1; then
    failed=1
fi
objects=$(cd "$collected/kubernetes" && cat "${manifests[@]}" | grep -c '^kind:' || true)
if [ "$failed" -eq 1 ] || [ -s "$work/k8s.log" ]; then
    failed=1
    sed 's/^/  /' "$work/k8s.log"
    echo "  FAILED (each file named RUN[/LINE]/PATH IN THE PROJECT, or by its snapshot)"
else
    echo "  ok: $objects objects in ${#manifests[@]} files"
fi

# check-jsonschema: a Compose file, or a CI recipe, against a schema it ships.
check() {
    local schema=$1 dir=$2
    shift 2
    if (cd "$dir" && "$venv/bin/check-jsonschema" --builtin-schema "$schema" "$@") > "$work/check.log" 2>&1; then
        echo "  ok: $# file(s)"
    else
        failed=1
        sed 's/^/  /' "$work/check.log"
        echo "  FAILED"
    fi
}
echo "validate-generated: ${#composes[@]} Compose files (vendor.compose-spec):"
check vendor.compose-spec "$collected/compose" "${composes[@]}"
echo "validate-generated: examples/ci/github-actions.yml (vendor.github-workflows):"
check vendor.github-workflows "$repo/examples/ci" github-actions.yml
echo "validate-generated: examples/ci/gitlab-ci.yml (vendor.gitlab-ci):"
check vendor.gitlab-ci "$repo/examples/ci" gitlab-ci.yml

echo "validate-generated: finished in $(( $(date +%s) - started ))s"
if [ "$failed" -ne 0 ]; then
    echo "validate-generated: FAILED: invalid generated files above" >&2
    exit 1
fi

#!/usr/bin/env bash
# Checks that the mermaid graphs baton writes (`plan --format markdown`, `graph --format
# mermaid`) are valid mermaid, with mermaid's own parser under node, and renders them to
# PNG when mermaid-cli and a Chromium are available (to look at the picture). Run by
# .ci/run. Needs node and npm: mermaid and jsdom (pinned below) are installed once from
# the npm registry into target/mermaid-check/ and reused by later runs (offline then).
#   tests/mermaid-check.sh [PROJECT_DIR]      (default: a copy of examples/hello)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
baton="$repo/target/debug/baton"
[ -x "$baton" ] || (cd "$repo" && cargo build -q)
project="${1:-}"
if [ -z "$project" ]; then
  project="$work/hello"
  mkdir -p "$project" && cp -r "$repo"/examples/hello/*.yaml "$repo"/examples/hello/modules "$project"/
  "$baton" -C "$project" apply --auto-approve >/dev/null
  sed -i 's/busybox:1.36/busybox:1.37/' "$project/worker.score.yaml"
  sed -i 's/length: 32/length: 40/' "$project/web.score.yaml"
fi
"$baton" -C "$project" plan --format markdown > "$work/plan.md"
{ echo '```mermaid'; "$baton" -C "$project" graph --format mermaid; echo '```'; } > "$work/graph.md"

# mermaid's parser and a DOM for it, pinned, in target/ (kept between runs).
deps="$repo/target/mermaid-check"
want='{"private": true, "dependencies": {"mermaid": "11.17.2", "jsdom": "29.1.1"}}'
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "mermaid-check: $tool is needed (install nodejs and npm)" >&2; exit 1; }
done
mkdir -p "$deps"
if [ "$(cat "$deps/package.json" 2>/dev/null)" != "$want" ] \
  || [ ! -f "$deps/node_modules/mermaid/package.json" ] || [ ! -f "$deps/node_modules/jsdom/package.json" ]; then
  echo "$want" > "$deps/package.json"
  echo "mermaid-check: installing mermaid and jsdom into target/mermaid-check"
  if ! (cd "$deps" && npm install --no-audit --no-fund --loglevel=error >"$deps/npm.log" 2>&1); then
    cat "$deps/npm.log" >&2
    rm -f "$deps/package.json"
    echo "mermaid-check: npm install failed (is the npm registry reachable?)" >&2
    exit 1
  fi
fi

cd "$work"
# ES modules ignore NODE_PATH: the script sits beside the installed modules.
cat > "$deps/parse.mjs" <<'JS'
import { JSDOM } from 'jsdom';
import { readFileSync } from 'node:fs';
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });
const md = readFileSync(process.argv[2], 'utf8');
const blocks = [...md.matchAll(/```mermaid\n([\s\S]*?)```/g)].map(m => m[1]);
if (blocks.length === 0) { console.error(`${process.argv[2]}: no mermaid block`); process.exit(1); }
for (const b of blocks) { const r = await mermaid.parse(b); console.log(`${process.argv[2]}: valid ${r.diagramType}`); }
JS
node "$deps/parse.mjs" plan.md
node "$deps/parse.mjs" graph.md
if command -v chromium >/dev/null && [ -d "${MMDC_DIR:-/nonexistent}/node_modules/@mermaid-js/mermaid-cli" ]; then
  echo '{"executablePath": "/usr/bin/chromium", "args": ["--no-sandbox", "--disable-gpu"]}' > pp.json
  for f in plan graph; do
    sed -n '/```mermaid/,/```/p' "$f.md" | sed '1d;$d' > "$f.mmd"
    "$MMDC_DIR/node_modules/.bin/mmdc" -p pp.json -i "$f.mmd" -o "$repo/target/$f.png" >/dev/null
    echo "rendered target/$f.png"
  done
fi

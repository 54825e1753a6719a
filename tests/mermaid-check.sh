#!/usr/bin/env bash
# Checks that the mermaid graphs baton writes are valid mermaid, with mermaid's own
# parser under node (npm: mermaid, jsdom), and renders them to PNG when mermaid-cli and
# a Chromium are available (to look at the picture). Not part of CI: it needs npm.
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
cd "$work"
npm init -y >/dev/null 2>&1
npm install --silent mermaid@11 jsdom >/dev/null 2>&1
cat > parse.mjs <<'JS'
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
node parse.mjs plan.md
node parse.mjs graph.md
if command -v chromium >/dev/null && [ -d "${MMDC_DIR:-/nonexistent}/node_modules/@mermaid-js/mermaid-cli" ]; then
  echo '{"executablePath": "/usr/bin/chromium", "args": ["--no-sandbox", "--disable-gpu"]}' > pp.json
  for f in plan graph; do
    sed -n '/```mermaid/,/```/p' "$f.md" | sed '1d;$d' > "$f.mmd"
    "$MMDC_DIR/node_modules/.bin/mmdc" -p pp.json -i "$f.mmd" -o "$repo/target/$f.png" >/dev/null
    echo "rendered target/$f.png"
  done
fi

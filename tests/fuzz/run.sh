#!/usr/bin/env bash
# Fuzz the Score loader with cargo-fuzz (libFuzzer). Not part of CI.
#   tests/fuzz/run.sh [SECONDS]      (default 600)
# Needs `cargo install cargo-fuzz`; RUSTC_BOOTSTRAP lets the stable toolchain build
# with the sanitizer flags cargo-fuzz passes. The corpus is seeded from the shared Score
# fixtures when they are next to the repository (or in BATON_SCORE_FIXTURES).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-600}"
fixtures="${BATON_SCORE_FIXTURES:-../shared/score-spec}"
corpus=tests/fuzz/corpus/score_loader
mkdir -p "$corpus"
if [ -d "$fixtures" ]; then
  find "$fixtures" -name '*.yaml' -exec cp {} "$corpus"/ \;
fi
RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir tests/fuzz score_loader "$corpus" -- \
  -max_total_time="$secs" -max_len=65536 -timeout=10

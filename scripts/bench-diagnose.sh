#!/usr/bin/env bash
# Time `coldlink diagnose --from` over N stored records (default 1 000 000)
# and print wall time and peak RSS. The records are synthetic but have the
# real schema and size (two targets, CloudFront headers on one, request ids,
# trace ids; bursts and quiet gaps with an idle timer at 350 s).
#
#   scripts/bench-diagnose.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
runs=${2:-5}
cargo build --release --locked --bin coldlink --example synth_records >&2
bin=${CARGO_TARGET_DIR:-target}/release
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin/examples/synth_records" "$n" >"$dir/records.ndjson"
size=$(du -m "$dir/records.ndjson" | cut -f1)
echo "records: $n ($size MB) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
# Warm the page cache: the benchmark is about coldlink, not the disk.
cat "$dir/records.ndjson" >/dev/null
for i in $(seq "$runs"); do
  # Exit code 1 is the verdict (a finding), not a failure.
  /usr/bin/time -o "$dir/time" -f "run $i: %e s wall, %U s user, %S s sys, peak RSS %M KB" \
    "$bin/coldlink" diagnose --from "$dir/records.ndjson" --format json -q >"$dir/report.json" || true
  grep '^run' "$dir/time"
done
echo "verdict: $(grep -m1 '"verdict"' "$dir/report.json" | tr -d ' ,')"

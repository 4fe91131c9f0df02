#!/usr/bin/env bash
# User-space instructions per request, coldlink and oha, counted with
# callgrind against the loopback nginx of scripts/lib/nginx.sh: the
# difference of two run lengths (N and N/2 requests), so that start-up and
# shut-down cancel out. Repeatable whatever else the machine does, unlike
# requests/s.
#
#   scripts/bench-instructions.sh [keepalive|fresh|both]   (default: keepalive)
#
# Prints the CPU model (counts differ between CPU kinds: glibc picks its
# string routines by CPU), then one line per tool and setting, e.g.
#   cpu: AMD EPYC
#   coldlink keep-alive instructions/request: 23950
#   oha keep-alive instructions/request: 24210
#
# COLDLINK=path (default: target/release/coldlink, built if missing),
# OHA=path (default: oha on $PATH or ~/.cargo/bin/oha; skipped if absent),
# N_KEEPALIVE=20000, N_FRESH=2000, CONCURRENCY=50.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/nginx.sh
. scripts/lib/knobs.sh

mode=${1:-keepalive}
N_KEEPALIVE=${N_KEEPALIVE:-20000}
N_FRESH=${N_FRESH:-2000}
CONCURRENCY=${CONCURRENCY:-50}
knob_count N_KEEPALIVE 1
knob_count N_FRESH 1
knob_count CONCURRENCY 1
knob_exe COLDLINK
n_keep=$N_KEEPALIVE n_fresh=$N_FRESH conc=$CONCURRENCY
case $mode in keepalive | fresh | both) ;; *) echo "$(basename "$0"): ${mode@Q}: the first argument is keepalive, fresh or both" >&2; exit 2 ;; esac
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }

coldlink=${COLDLINK:-}
if [ -z "$coldlink" ]; then
  cargo build --release --quiet
  coldlink="${CARGO_TARGET_DIR:-target}/release/coldlink"
fi
oha=${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}

echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)"

dir=$(mktemp -d)
trap 'stop_nginx "$dir"; rm -rf "$dir"' EXIT
start_nginx "$dir"
url="http://127.0.0.1:$port/"

# instructions N cmd... → total user-space instructions (Ir) of cmd
instructions() {
  local out="$dir/cg.out"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>"$dir/cg.err" \
    || { cat "$dir/cg.err" >&2; return 1; }
  awk '/^summary:/ { print $2 }' "$out"
}

per_request() { # tool setting n cmd-builder
  local tool=$1 setting=$2 n=$3 half=$(( $3 / 2 )) big small
  big=$(instructions $($4 "$n"))
  small=$(instructions $($4 "$half"))
  echo "$tool $setting instructions/request: $(( (big - small) / (n - half) ))"
}

coldlink_keep() { echo "$coldlink probe -c $conc --connections reuse -q -n $1 $url"; }
coldlink_fresh() { echo "$coldlink probe -c $conc --connections fresh -q -n $1 $url"; }
oha_keep() { echo "$oha -n $1 -c $conc --no-tui $url"; }
oha_fresh() { echo "$oha -n $1 -c $conc --no-tui --disable-keepalive $url"; }

if [ "$mode" = keepalive ] || [ "$mode" = both ]; then
  per_request coldlink keep-alive "$n_keep" coldlink_keep
  [ -x "$oha" ] && per_request oha keep-alive "$n_keep" oha_keep
fi
if [ "$mode" = fresh ] || [ "$mode" = both ]; then
  per_request coldlink fresh "$n_fresh" coldlink_fresh
  [ -x "$oha" ] && per_request oha fresh "$n_fresh" oha_fresh
fi
exit 0

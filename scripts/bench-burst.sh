#!/usr/bin/env bash
# Burst benchmark: coldlink and oha, in the same run, on identical settings,
# against nginx (Debian's package) serving a small response on loopback.
#
#   scripts/bench-burst.sh                 # defaults below; results as Markdown tables
#   ROUNDS=1 INSTRUCTIONS=0 scripts/bench-burst.sh   # a quick look
#   N_KEEPALIVE=500000 scripts/bench-burst.sh
#   ROUNDS=0 N_MEMORY=0 IR_ROUNDS=3 scripts/bench-burst.sh   # instructions only
#
# Prints the machine (cores, CPU model, kernel, load average at the start)
# and, per tool and round, requests/s (requests / wall time of the process,
# on CLOCK_MONOTONIC: this VM's realtime clock ran 0.5 % fast), CPU time
# per request (user + system), p50 and p99 of the total latency as each
# tool reports it, and peak RSS (/usr/bin/time). ROUNDS rounds (default 5,
# the issue-20 rule: compare the median of at least 5 interleaved rounds)
# alternate who goes first, and a summary gives the median ratio of the
# rounds with the lowest and highest.
#
# Then, when valgrind is installed, the user-space instructions per request
# of both tools (callgrind; the difference of 20 000 and 10 000 keep-alive
# requests, of 2 000 and 1 000 on fresh connections, so that start-up
# cancels out; scripts/lib/instructions.sh). They do not depend on what else
# the machine runs, which wall time does. INSTRUCTIONS=0 skips them (they
# take a few minutes); IR_ROUNDS=3 takes the median of three counts.
#
# COLDLINK=/path/to/binary uses that build instead of building this tree
# (cargo build --release, into $CARGO_TARGET_DIR when set). Installs nginx
# (apt-get) and oha (cargo install) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/nginx.sh
. scripts/lib/instructions.sh
. scripts/lib/knobs.sh

N_KEEPALIVE=${N_KEEPALIVE:-200000}   # keep-alive run, per tool
N_FRESH=${N_FRESH:-20000}            # a new connection per request
N_MEMORY=${N_MEMORY:-1000000}        # coldlink alone: is peak RSS flat in N?
CONC=${CONC:-50}
ROUNDS=${ROUNDS:-5}                  # rounds of both tools, alternating who goes first
INSTRUCTIONS=${INSTRUCTIONS:-1}      # 0: no callgrind counts
IR_KEEPALIVE=${IR_KEEPALIVE:-"10000 20000"}  # the two run lengths counted
IR_FRESH=${IR_FRESH:-"1000 2000"}
knob_count N_KEEPALIVE 1
knob_count N_FRESH 1
knob_count N_MEMORY 0
knob_count CONC 1
knob_count ROUNDS 0
knob_flag INSTRUCTIONS
knob_counts IR_KEEPALIVE 2
knob_counts IR_FRESH 2
knob_exe COLDLINK

log() { printf '%s\n' "$*" >&2; }

if ! command -v oha >/dev/null; then
  log "installing oha (cargo install oha)"
  cargo install oha --locked -q
fi
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
if [ -z "${COLDLINK:-}" ]; then
  cargo build --release --locked -q
  COLDLINK=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/coldlink
fi

work=$(mktemp -d)
cleanup() {
  stop_nginx "$work"
  rm -rf "$work"
}
trap cleanup EXIT

start_nginx "$work"
URL="http://127.0.0.1:$port/"

# measure N COMMAND... → "N elapsed_s rss_kb cpu_s"
measure() {
  local n=$1; shift
  # Wall time to the microsecond on CLOCK_MONOTONIC (time's %e has 10 ms
  # steps, over 1 % of a 20 000-request run) and CPU time from timed.py;
  # peak RSS from /usr/bin/time (timed.py's would have Python's as a floor).
  python3 scripts/lib/timed.py "$work/timed" \
    /usr/bin/time -f '%M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || true
  local rss_kb elapsed user sys
  read -r rss_kb <"$work/time"
  read -r elapsed user sys _ <"$work/timed"
  echo "$n $elapsed $rss_kb $(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.6f", u + s}')"
}

coldlink_run() { # N MODE
  local r; r=$(measure "$1" "$COLDLINK" probe "$URL" -n "$1" -c "$CONC" --connections "$2" -q)
  read -r n elapsed rss_kb cpu <<<"$r"
  # The summary's total row: name count p50 p90 p99 p99.9 max
  read -r p50 p99 < <(awk '$1=="total"{print $3, $5}' "$work/out")
  local count; count=$(awk '$1=="total"{print $2}' "$work/out")
  [ "$count" = "$n" ] || log "coldlink: $count of $n probes succeeded"
  awk -v n="$n" -v e="$elapsed" -v p50="$p50" -v p99="$p99" -v rss="$rss_kb" -v cpu="$cpu" \
    'BEGIN{printf "%.0f %.1f %.2f %.2f %.1f\n", n/e, cpu/n*1e6, p50, p99, rss/1024}'
}

oha_run() { # N MODE
  local extra=(); [ "$2" = fresh ] && extra=(--disable-keepalive)
  local r; r=$(measure "$1" oha -n "$1" -c "$CONC" --no-tui --output-format json "${extra[@]}" "$URL")
  read -r n elapsed rss_kb cpu <<<"$r"
  python3 - "$work/out" "$n" "$elapsed" "$rss_kb" "$cpu" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
n, elapsed, rss, cpu = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
p = doc["latencyPercentiles"]
ok = sum(doc.get("statusCodeDistribution", {}).values())
if ok != n:
    print(f"oha: {ok} of {n} requests got a status", file=sys.stderr)
print(f"{n/elapsed:.0f} {cpu/n*1e6:.1f} {p['p50']*1000:.2f} {p['p99']*1000:.2f} {rss/1024:.1f}")
PY
}

row() { # TOOL MODE N "rps cpu_us p50 p99 rss"
  read -r rps cpu p50 p99 rss <<<"$4"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$rps" "$cpu" "$p50" "$p99" "$rss"
}

log "warming up"
"$COLDLINK" probe "$URL" -n 2000 -c "$CONC" -q >/dev/null
oha -n 2000 -c "$CONC" --no-tui "$URL" >/dev/null

cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit (with changes)"
echo "machine: $(nproc) cores, CPU: ${cpu_model:-unknown}, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
echo "nginx $("$NGINX" -v 2>&1 | cut -d/ -f2); $(oha --version); coldlink $("$COLDLINK" --version | cut -d' ' -f2) ($COLDLINK, built $(date -u -r "$COLDLINK" +%FT%TZ); source tree at $commit); $(date -u +%F)"
if [ "$ROUNDS" -gt 0 ] || [ "$N_MEMORY" -gt 0 ]; then
  echo
  echo "| tool | connections | requests | requests/s | CPU µs/request | p50 ms | p99 ms | peak RSS MB |"
  echo "|---|---|---|---|---|---|---|---|"
fi
# Each round runs both tools on both settings, the order alternating from
# round to round, so that the machine's drift (±10 % here) falls on both.
rps_log="$work/rps"
for round in $(seq "$ROUNDS"); do
  for mode in reuse fresh; do
    n=$N_KEEPALIVE; [ $mode = fresh ] && n=$N_FRESH
    label="keep-alive ($CONC)"; [ $mode = fresh ] && label="fresh ($CONC at once)"
    tools=(coldlink oha); [ $((round % 2)) = 0 ] && tools=(oha coldlink)
    for tool in "${tools[@]}"; do
      r=$(${tool}_run "$n" $mode)
      row "$tool" "$label" "$n" "$r"
      read -r rps cpu _ <<<"$r"
      echo "$round $mode $tool $rps $cpu" >>"$rps_log"
    done
  done
done
if [ "$N_MEMORY" -gt 0 ]; then
  row coldlink "keep-alive ($CONC)" "$N_MEMORY" "$(coldlink_run "$N_MEMORY" reuse)"
fi

if [ "$ROUNDS" -gt 1 ]; then
  echo
  echo "| connections | rounds | coldlink requests/s (median) | oha requests/s (median) | coldlink / oha, median of rounds | lowest–highest |"
  echo "|---|---|---|---|---|---|"
  python3 - "$rps_log" "$CONC" <<'PY'
import statistics, sys
from collections import defaultdict
rps, cpu = defaultdict(dict), defaultdict(dict)
for line in open(sys.argv[1]):
    rnd, mode, tool, value, us = line.split()
    rps[mode].setdefault(tool, {})[rnd] = float(value)
    cpu[mode].setdefault(tool, {})[rnd] = float(us)
modes = (("reuse", f"keep-alive ({sys.argv[2]})"), ("fresh", f"fresh ({sys.argv[2]} at once)"))
for mode, label in modes:
    ours, theirs = rps[mode]["coldlink"], rps[mode]["oha"]
    ratios = [ours[r] / theirs[r] * 100 for r in ours]
    print(f"| {label} | {len(ratios)} | {statistics.median(ours.values()):.0f} | "
          f"{statistics.median(theirs.values()):.0f} | {statistics.median(ratios):.1f} % | "
          f"{min(ratios):.1f}–{max(ratios):.1f} % |")
print()
print("| connections | rounds | coldlink CPU µs/request (median) | oha CPU µs/request (median) | coldlink / oha, median of rounds | lowest–highest |")
print("|---|---|---|---|---|---|")
for mode, label in modes:
    ours, theirs = cpu[mode]["coldlink"], cpu[mode]["oha"]
    ratios = [ours[r] / theirs[r] * 100 for r in ours]
    print(f"| {label} | {len(ratios)} | {statistics.median(ours.values()):.1f} | "
          f"{statistics.median(theirs.values()):.1f} | {statistics.median(ratios):.1f} % | "
          f"{min(ratios):.1f}–{max(ratios):.1f} % |")
PY
fi

# User-space instructions per request, both tools, both settings: the
# robust measure on a shared or noisy machine (see scripts/lib/instructions.sh).
echo
if [ "$INSTRUCTIONS" = 0 ]; then
  echo "instructions not counted (INSTRUCTIONS=0)"
elif ! have_callgrind; then
  echo "valgrind not installed: instructions not counted"
else
  log "counting instructions with callgrind (a few minutes; INSTRUCTIONS=0 skips this)"
  echo "| tool | connections | user-space instructions per request | counted over (callgrind, difference) |"
  echo "|---|---|---|---|"
  ir_row() { # TOOL MODE SHORT LONG COMMAND…
    local tool=$1 mode=$2 short=$3 long=$4 label ir; shift 4
    label="keep-alive ($CONC)"; [ "$mode" = fresh ] && label="fresh ($CONC at once)"
    ir=$(ir_per_request "$short" "$long" "$@") || ir="failed"
    printf '| %s | %s | %s | %s − %s requests |\n' "$tool" "$label" "$ir" "$long" "$short"
  }
  read -r ka_short ka_long <<<"$IR_KEEPALIVE"
  read -r fr_short fr_long <<<"$IR_FRESH"
  ir_row coldlink reuse "$ka_short" "$ka_long" "$COLDLINK" probe "$URL" -n '{n}' -c "$CONC" --connections reuse -q
  ir_row oha reuse "$ka_short" "$ka_long" oha -n '{n}' -c "$CONC" --no-tui --output-format json "$URL"
  ir_row coldlink fresh "$fr_short" "$fr_long" "$COLDLINK" probe "$URL" -n '{n}' -c "$CONC" --connections fresh -q
  ir_row oha fresh "$fr_short" "$fr_long" oha -n '{n}' -c "$CONC" --no-tui --output-format json --disable-keepalive "$URL"
fi

#!/usr/bin/env bash
# Burst benchmark: coldlink and oha, in the same run, on identical settings,
# against nginx (Debian's package) serving a small response on loopback.
#
#   scripts/bench-burst.sh            # defaults below; results as Markdown rows
#   N_KEEPALIVE=500000 scripts/bench-burst.sh
#   ROUNDS=10 scripts/bench-burst.sh  # and the median ratio of the rounds
#
# Measures requests/s (requests / wall time of the process), p50 and p99 of
# the total latency as each tool reports it, and peak RSS (/usr/bin/time).
# Installs nginx (apt-get) and oha (cargo install) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/nginx.sh

N_KEEPALIVE=${N_KEEPALIVE:-200000}   # keep-alive run, per tool
N_FRESH=${N_FRESH:-20000}            # a new connection per request
N_MEMORY=${N_MEMORY:-1000000}        # coldlink alone: is peak RSS flat in N?
CONC=${CONC:-50}
ROUNDS=${ROUNDS:-1}                  # rounds of both tools, alternating who goes first

log() { printf '%s\n' "$*" >&2; }

if ! command -v oha >/dev/null; then
  log "installing oha (cargo install oha)"
  cargo install oha --locked -q
fi
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cargo build --release --locked -q
COLDLINK=$PWD/target/release/coldlink

work=$(mktemp -d)
cleanup() {
  stop_nginx "$work"
  rm -rf "$work"
}
trap cleanup EXIT

start_nginx "$work"
URL="http://127.0.0.1:$port/"

# run NAME N COMMAND... → "rps p50_ms p99_ms rss_mb"
measure() {
  local n=$1; shift
  # Wall time to the microsecond (time's %e has 10 ms steps, over 1 % of a
  # 20 000-request run); peak RSS from time.
  # (As whole microseconds: EPOCHREALTIME's decimal mark is the locale's.)
  local start=${EPOCHREALTIME/[.,]/}
  /usr/bin/time -f '%M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || true
  local end=${EPOCHREALTIME/[.,]/}
  read -r rss_kb <"$work/time"
  echo "$n $(awk -v us=$((end - start)) 'BEGIN{printf "%.6f", us / 1e6}') $rss_kb"
}

coldlink_run() { # N MODE
  local r; r=$(measure "$1" "$COLDLINK" probe "$URL" -n "$1" -c "$CONC" --connections "$2" -q)
  read -r n elapsed rss_kb <<<"$r"
  # The summary's total row: name count p50 p90 p99 p99.9 max
  read -r p50 p99 < <(awk '$1=="total"{print $3, $5}' "$work/out")
  local count; count=$(awk '$1=="total"{print $2}' "$work/out")
  [ "$count" = "$n" ] || log "coldlink: $count of $n probes succeeded"
  awk -v n="$n" -v e="$elapsed" -v p50="$p50" -v p99="$p99" -v rss="$rss_kb" \
    'BEGIN{printf "%.0f %.2f %.2f %.1f\n", n/e, p50, p99, rss/1024}'
}

oha_run() { # N MODE
  local extra=(); [ "$2" = fresh ] && extra=(--disable-keepalive)
  local r; r=$(measure "$1" oha -n "$1" -c "$CONC" --no-tui --output-format json "${extra[@]}" "$URL")
  read -r n elapsed rss_kb <<<"$r"
  python3 - "$work/out" "$n" "$elapsed" "$rss_kb" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
n, elapsed, rss = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
p = doc["latencyPercentiles"]
ok = sum(doc.get("statusCodeDistribution", {}).values())
if ok != n:
    print(f"oha: {ok} of {n} requests got a status", file=sys.stderr)
print(f"{n/elapsed:.0f} {p['p50']*1000:.2f} {p['p99']*1000:.2f} {rss/1024:.1f}")
PY
}

row() { # TOOL MODE N "rps p50 p99 rss"
  read -r rps p50 p99 rss <<<"$4"
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$rps" "$p50" "$p99" "$rss"
}

log "warming up"
"$COLDLINK" probe "$URL" -n 2000 -c "$CONC" -q >/dev/null
oha -n 2000 -c "$CONC" --no-tui "$URL" >/dev/null

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr); nginx $("$NGINX" -v 2>&1 | cut -d/ -f2); $(oha --version); coldlink $("$COLDLINK" --version | cut -d' ' -f2)"
echo
echo "| tool | connections | requests | requests/s | p50 ms | p99 ms | peak RSS MB |"
echo "|---|---|---|---|---|---|---|"
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
      echo "$round $mode $tool ${r%% *}" >>"$rps_log"
    done
  done
done
row coldlink "keep-alive ($CONC)" "$N_MEMORY" "$(coldlink_run "$N_MEMORY" reuse)"

if [ "$ROUNDS" -gt 1 ]; then
  echo
  echo "| connections | rounds | coldlink requests/s (median) | oha requests/s (median) | coldlink / oha, median of rounds | lowest–highest |"
  echo "|---|---|---|---|---|---|"
  python3 - "$rps_log" "$CONC" <<'PY'
import statistics, sys
from collections import defaultdict
rps = defaultdict(dict)
for line in open(sys.argv[1]):
    rnd, mode, tool, value = line.split()
    rps[mode].setdefault(tool, {})[rnd] = float(value)
for mode, label in (("reuse", f"keep-alive ({sys.argv[2]})"), ("fresh", f"fresh ({sys.argv[2]} at once)")):
    ours, theirs = rps[mode]["coldlink"], rps[mode]["oha"]
    ratios = [ours[r] / theirs[r] * 100 for r in ours]
    print(f"| {label} | {len(ratios)} | {statistics.median(ours.values()):.0f} | "
          f"{statistics.median(theirs.values()):.0f} | {statistics.median(ratios):.1f} % | "
          f"{min(ratios):.1f}–{max(ratios):.1f} % |")
PY
fi

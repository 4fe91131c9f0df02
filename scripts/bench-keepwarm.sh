#!/usr/bin/env bash
# Keep-warm daemon benchmark: what does `coldlink keepwarm --interval` cost
# when it has nothing to do, and does it stay flat on a busy schedule?
#
#   scripts/bench-keepwarm.sh              # defaults below; results as Markdown
#   IDLE_SECONDS=120 BUSY_INTERVAL=10ms scripts/bench-keepwarm.sh
#
# Two targets (URLs) on a loopback nginx (scripts/lib/nginx.sh), its own
# --lock in a temporary folder. Each daemon runs for its SECONDS, then gets
# SIGTERM; it must exit 0 and log its "stopped after N probes" line.
#
# 1. Idle: --interval IDLE_INTERVAL (60 s: one ping per target a minute,
#    spread across it) with --metrics-listen 127.0.0.1:0, for IDLE_SECONDS.
#    CPU is utime+stime of the process (/proc/PID/stat; per thread too) over
#    the run less its first WARM seconds, in % of one core, and to the µs the
#    time its threads ran on a CPU (the first field of each thread's
#    /proc/PID/task/TID/schedstat, summed; ticks of 10 ms cannot show what
#    a ping costs); VmRSS and VmHWM
#    (/proc/PID/status) at the end. /metrics is scraped once (curl) in the
#    middle of the window, so the CPU includes the cost of one scrape.
# 2. Busy: --interval BUSY_INTERVAL (20 ms: about 100 pings a second over
#    the two targets) with --out, for BUSY_SECONDS. CPU as above, and per
#    segment (WARM–10 s, 10–30 s, 30 s–end) to show it steady; VmRSS at 10 s,
#    30 s and the end; pings per second from the records (the count over
#    first to last scheduled_at); p50/p99/max of total and queue; how many
#    pings opened a connection instead of reusing one.
# 3. The same busy schedule without --out (NO_OUT=0 leaves it out): the cost
#    of writing records; pings per second from the stop line.
#
# COLDLINK=PATH uses that binary instead of building this tree's (which
# lands in CARGO_TARGET_DIR when that is set). KEEP=DIR keeps each run's
# records, samples and log in DIR. Installs nginx
# (apt-get) when it is missing; needs curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/nginx.sh
. scripts/lib/proc.sh
. scripts/lib/knobs.sh

IDLE_SECONDS=${IDLE_SECONDS:-60}       # part 1: the whole run
IDLE_INTERVAL=${IDLE_INTERVAL:-60s}
BUSY_SECONDS=${BUSY_SECONDS:-60}       # parts 2 and 3: the whole run
BUSY_INTERVAL=${BUSY_INTERVAL:-20ms}
NO_OUT=${NO_OUT:-1}                    # 1: part 3 too
WARM=${WARM:-2}                        # seconds left out of CPU windows at the start
KEEP=${KEEP:-}                         # a folder to keep the runs in
knob_count IDLE_SECONDS 1
knob_duration IDLE_INTERVAL
knob_count BUSY_SECONDS 1
knob_duration BUSY_INTERVAL
knob_flag NO_OUT
knob_count WARM 0
knob_exe COLDLINK

log() { printf '%s\n' "$*" >&2; }

[ "$IDLE_SECONDS" -gt $((WARM + 4)) ] || { log "IDLE_SECONDS must exceed $((WARM + 4))"; exit 2; }
[ "$BUSY_SECONDS" -gt $((WARM + 4)) ] || { log "BUSY_SECONDS must exceed $((WARM + 4))"; exit 2; }
command -v python3 >/dev/null || { log "python3 is needed for the summary"; exit 2; }
command -v curl >/dev/null || { log "curl is needed to scrape /metrics"; exit 2; }
if [ -z "${COLDLINK:-}" ]; then
  cargo build --release --locked -q
  COLDLINK=${CARGO_TARGET_DIR:-$PWD/target}/release/coldlink
fi
# the tree the binary was built from (it may change while the runs go on)
BUILT="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ', with uncommitted changes')"
CLK_TCK=$(getconf CLK_TCK)

work=$(mktemp -d)
child=""   # the daemon in progress, stopped too if the script is cut short
cleanup() {
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null || true
  stop_nginx "$work"
  if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && cp -r "$work/runs/." "$KEEP/" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/runs"
start_nginx "$work"
TARGETS=("http://127.0.0.1:$port/" "http://127.0.0.1:$port/x")

# at T0 SECONDS: sleep until SECONDS after T0 (date +%s.%N), so that the
# samples do not drift with the time they take
at() { sleep "$(awk -v t0="$1" -v s="$2" -v now="$(date +%s.%N)" 'BEGIN { d = t0 + s - now; print (d > 0 ? d : 0) }')"; }

# daemon NAME SECONDS INTERVAL [out] [metrics]: coldlink keepwarm for
# SECONDS, then SIGTERM; samples at WARM, 10 s, 30 s (those before SECONDS)
# and SECONDS; with "metrics", /metrics scraped once at SECONDS/2
daemon() {
  local name=$1 seconds=$2 interval=$3 d=$work/runs/$1 with_out="" with_metrics=""
  shift 3
  for a in "$@"; do
    case $a in out) with_out=1 ;; metrics) with_metrics=1 ;; esac
  done
  mkdir -p "$d"
  local args=(keepwarm --interval "$interval" --lock "$work/keepwarm.lock")
  [ -z "$with_out" ] || args+=(--out "$d/records.ndjson")
  [ -z "$with_metrics" ] || args+=(--metrics-listen 127.0.0.1:0)
  local t0; t0=$(date +%s.%N)
  "$COLDLINK" "${args[@]}" "${TARGETS[@]}" >"$d/stdout" 2>"$d/stderr" &
  local pid=$!
  child=$pid
  local url=""
  if [ -n "$with_metrics" ]; then
    for _ in $(seq 100); do
      url=$(grep -o 'metrics on http://[^ ]*/metrics' "$d/stderr" | cut -d' ' -f3 || true)
      [ -n "$url" ] && break
      sleep 0.02
    done
    [ -n "$url" ] || log "$name: no \"metrics on\" in the log after 2 s"
  fi
  local marks=("$WARM") m
  for m in 10 30; do [ "$m" -le "$WARM" ] || [ "$m" -ge "$seconds" ] || marks+=("$m"); done
  local scraped=""
  for m in "${marks[@]}"; do
    if [ -n "$url" ] && [ -z "$scraped" ] && [ "$((seconds / 2))" -lt "$m" ]; then
      at "$t0" $((seconds / 2)); scrape "$url" "$d"; scraped=1
    fi
    at "$t0" "$m"; sample "$pid" "$d/at-$m"; sched_ns "$pid" >"$d/sched-$m"
  done
  if [ -n "$url" ] && [ -z "$scraped" ]; then at "$t0" $((seconds / 2)); scrape "$url" "$d"; fi
  at "$t0" "$seconds"; sample "$pid" "$d/at-$seconds"; sched_ns "$pid" >"$d/sched-$seconds"
  echo "${marks[*]} $seconds" >"$d/marks"
  kill -TERM "$pid" 2>/dev/null || true
  local rc=0; wait "$pid" || rc=$?
  child=""
  echo "$rc" >"$d/rc"
  [ "$rc" = 0 ] || log "$name: coldlink keepwarm exited $rc: $(tail -1 "$d/stderr")"
  grep -q 'stopped after' "$d/stderr" || log "$name: no \"stopped after\" line in the log"
}

# sched_ns PID: ns the process's threads have run on a CPU (schedstat)
sched_ns() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
}

# scrape URL DIR: GET /metrics once; its time and size
scrape() {
  curl -sS -o "$2/metrics.txt" -w '%{http_code} %{size_download} %{time_total}\n' "$1" >"$2/scrape" 2>&1 || true
}

runs=()
log "warming up (nginx, page cache)"
"$COLDLINK" keepwarm --once --lock "$work/keepwarm.lock" "${TARGETS[@]}" >/dev/null 2>&1 || true

log "about $((IDLE_SECONDS + BUSY_SECONDS * (1 + NO_OUT)))s of runs"
log "idle: --interval $IDLE_INTERVAL, --metrics-listen, ${IDLE_SECONDS}s"
daemon idle "$IDLE_SECONDS" "$IDLE_INTERVAL" metrics; runs+=(idle)
log "busy: --interval $BUSY_INTERVAL, --out, ${BUSY_SECONDS}s"
daemon busy-out "$BUSY_SECONDS" "$BUSY_INTERVAL" out; runs+=(busy-out)
if [ "$NO_OUT" = 1 ]; then
  log "busy: --interval $BUSY_INTERVAL, no --out, ${BUSY_SECONDS}s"
  daemon busy "$BUSY_SECONDS" "$BUSY_INTERVAL"; runs+=(busy)
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(( $(awk '/MemTotal/{print $2}' /proc/meminfo) / 1048576 )) GiB, $(uname -sr); nginx $("$NGINX" -v 2>&1 | cut -d/ -f2); coldlink $("$COLDLINK" --version | cut -d' ' -f2) ($BUILT, as built); $(date -u +%F)"
echo
python3 - "$work/runs" "$CLK_TCK" "$WARM" "$IDLE_INTERVAL" "$BUSY_INTERVAL" "${runs[@]}" <<'PY'
import json, os, re, sys
sys.path.insert(0, "scripts/lib")
from benchlib import pct, read, read_sample, ts

base, clk, warm, idle_iv, busy_iv, names = (
    sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6:])

def cpu(a, b):
    w = b.get("time", 0) - a.get("time", 0)
    return 100.0 * (b["ticks"] - a["ticks"]) / clk / w if w > 0 and "ticks" in a and "ticks" in b else None

runs = {}
for name in names:
    d = os.path.join(base, name)
    marks = [int(m) for m in (read(os.path.join(d, "marks"), "") or "").split()]
    s = {m: read_sample(os.path.join(d, f"at-{m}")) for m in marks}
    first, last = s[marks[0]], s[marks[-1]]
    sched = {m: int(read(os.path.join(d, f"sched-{m}"), "0") or 0) for m in marks}
    window = last.get("time", 0) - first.get("time", 0)
    threads = {}
    for t, v in last["threads"].items():
        w = window
        threads[t] = 100.0 * (v - first["threads"].get(t, 0)) / clk / w if w > 0 else None
    segs = [(a, b, cpu(s[a], s[b])) for a, b in zip(marks, marks[1:])]
    stderr = read(os.path.join(d, "stderr"), "") or ""
    m = re.search(r"stopped after (\d+) probes; (\d+) \((\d+) %\) found the path warm", stderr)
    recs = []
    try:
        for line in open(os.path.join(d, "records.ndjson")):
            recs.append(json.loads(line))
    except OSError:
        pass
    r = dict(marks=marks, window=window, cpu=cpu(first, last), segs=segs, threads=threads,
             ran_us=(sched[marks[-1]] - sched[marks[0]]) / 1000,
             rss={k: v.get("VmRSS") for k, v in s.items()}, hwm=last.get("VmHWM"),
             rc=read(os.path.join(d, "rc"), "?"), stopped=m.group(0) if m else None,
             probes=int(m.group(1)) if m else None, warm=int(m.group(2)) if m else None,
             scrape=read(os.path.join(d, "scrape")), records=len(recs), seconds=marks[-1])
    if os.path.exists(os.path.join(d, "metrics.txt")):
        text = read(os.path.join(d, "metrics.txt"), "") or ""
        r["metrics_lines"] = len(text.splitlines())
        r["metrics_probes"] = sum(float(l.split()[-1]) for l in text.splitlines()
                                  if l.startswith("coldlink_probes_total"))
    if recs:
        sched = sorted(ts(x["scheduled_at"]) for x in recs)
        span = sched[-1] - sched[0]
        r["rate"] = (len(recs) - 1) / span if span > 0 else None
        tot = [x["total_ms"] for x in recs]
        q = [x["phases_ms"].get("queue") for x in recs if x["phases_ms"].get("queue") is not None]
        r["total"] = (pct(tot, 50), pct(tot, 99), max(tot))
        r["queue"] = (pct(q, 50), pct(q, 99), max(q)) if q else None
        r["new_conns"] = sum(1 for x in recs if not (x.get("conn") or {}).get("reused"))
        r["failed"] = sum(1 for x in recs if x.get("error") or not (200 <= (x.get("status") or 0) < 400))
        r["over3"] = sum(1 for x in tot if x > 3.0)
    elif r["probes"] is not None and name != "idle":
        r["rate"] = r["probes"] / r["seconds"]  # the stop line's count over the run
    runs[name] = r

def f(x, fmt=".2f"):
    return "—" if x is None else format(x, fmt)

def mb(kb):
    return "—" if kb is None else f"{kb / 1024:.1f}"

SHORT = {"coldlink": "main"}
def per_thread(r):
    busy = [(t, c) for t, c in sorted(r["threads"].items()) if c]
    return ", ".join(f"{SHORT.get(t, t)} {c:.2f}" for t, c in busy) or "all 0"

label = {"idle": f"{idle_iv}, --metrics-listen, one scrape",
         "busy-out": f"{busy_iv}, --out", "busy": f"{busy_iv}, no --out"}
print("CPU (% of one core, utime+stime from the first sample to SIGTERM) and memory at the end:")
print()
print("| schedule | run s | window s | probes | CPU % | on CPU ms (schedstat) | per thread | VmRSS MB | VmHWM MB | exit |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name, r in runs.items():
    print(f"| {label[name]} | {r['seconds']} | {r['window']:.1f} | {f(r['probes'], 'd')} | {f(r['cpu'])} | "
          f"{r['ran_us'] / 1000:.3f} | "
          f"{per_thread(r)} | {mb(r['rss'][r['marks'][-1]])} | {mb(r['hwm'])} | {r['rc']} |")

busy = {n: r for n, r in runs.items() if n != "idle"}
if busy:
    print()
    print("The busy schedule: VmRSS (MB) and CPU (%) over time; pings per second; ms, p50 / p99 / max:")
    print()
    print("| schedule | RSS at " + " / ".join(f"{m} s" for m in runs[next(iter(busy))]["marks"][1:])
          + " | CPU % per segment | pings/s | total ms | queue ms | over 3 ms | new connections | failed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in busy.items():
        rss = " / ".join(mb(r["rss"][m]) for m in r["marks"][1:])
        seg = " / ".join(f"{a}–{b} s {f(c)}" for a, b, c in r["segs"])
        tri = lambda t: "—" if not t else " / ".join(f"{x:.2f}" for x in t)
        rec = "records" in r and r["records"]
        print(f"| {label[name]} | {rss} | {seg} | {f(r.get('rate'), '.1f')} | "
              f"{tri(r.get('total'))} | {tri(r.get('queue'))} | {f(r.get('over3'), 'd') if rec else '—'} | "
              f"{f(r.get('new_conns'), 'd') if rec else '—'} | {f(r.get('failed'), 'd') if rec else '—'} |")

print()
for name, r in runs.items():
    if r.get("scrape"):
        code, size, secs = (r["scrape"].split() + ["?", "?", "?"])[:3]
        print(f"- {name}: /metrics answered {code}, {size} bytes ({r.get('metrics_lines')} lines) "
              f"in {float(secs) * 1000:.1f} ms; coldlink_probes_total summed to {r.get('metrics_probes', 0):.0f}")
    print(f"- {name}: {r['stopped'] or 'no stop line'}; {r['records']} record(s) in --out; exit {r['rc']}")
bad = {n: r["rc"] for n, r in runs.items() if r["rc"] != "0"}
if bad:
    print()
    print("exit codes other than 0: " + ", ".join(f"{n}: {rc}" for n, rc in bad.items()))
PY

#!/usr/bin/env bash
# Dashboard benchmark: does `coldlink watch` change what it measures, and
# what does it cost when nothing happens?
#
#   scripts/bench-watch.sh                 # defaults below; results as Markdown
#   PHASE_SECONDS=60 ROUNDS=3 scripts/bench-watch.sh
#
# 1. Phases with and without the dashboard: one profile (two targets on a
#    loopback nginx, every 100 ms, jitter 10 ms), fresh connections and then kept
#    alive; headless `coldlink run` and `coldlink watch` (in a detached tmux
#    session, 160×48) alternate, ROUNDS of each, PHASE_SECONDS each. The
#    records (--out) of each run give p50/p90/p99 of queue, connect, ttfb and
#    total; probes scheduled in a run's first second are left out.
# 2. CPU and memory: utime+stime of the coldlink process (/proc/PID/stat)
#    over a window that skips the first and last WARM seconds, per thread
#    too; VmRSS and VmHWM (/proc/PID/status) at the window's end; the tmux
#    server's CPU (the terminal the dashboard draws into) beside it. The
#    100 ms runs above give CPU while probing; an interval of 1 h (one probe,
#    then nothing but the dashboard's 1 s tick) gives CPU when nothing
#    changes, for watch and for headless run (stopped with SIGTERM).
# 3. A burst under the dashboard (key b: frames at most 10 a second, the
#    detectors over up to 10 000 records each second, --out written on the
#    dashboard's thread): the same targets with a [burst] table (BURST_CONC
#    at once; BURST_REUSE per target on kept-alive connections, then
#    BURST_FRESH on new ones) and an hourly schedule. Headless, `coldlink run
#    --burst` (the burst, then exit); under the dashboard, watch in tmux, b
#    once the panels are drawn, q once the footer says "burst done". They
#    alternate, ROUNDS of each. The sizes make a burst last 1–2 s headless,
#    long enough for frames and the detectors to run during it (3000 per
#    target kept alive is over in a tenth of a second). Only the burst's
#    records count: under watch, those scheduled after b was sent (the
#    schedule's probe at start is left out; the schedule spreads its targets
#    over the hour, so its first round is one probe, not one per target).
#    p50/p90/p99 of queue, connect, ttfb and total; requests/s is records /
#    (first `at` to last end, scheduled_at + total_ms); CPU is the process's
#    utime+stime (headless: /usr/bin/time, start and exit included; watch:
#    /proc/PID/stat from b to "burst done" seen, polled every 0.5 s), in %
#    of one core over that same span of records; VmHWM is the peak RSS.
#
# KEEP=DIR keeps each run's records and samples in DIR. Installs nginx, tmux
# and time (apt-get) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/nginx.sh
. scripts/lib/proc.sh
. scripts/lib/knobs.sh

PHASE_SECONDS=${PHASE_SECONDS:-32}   # each run of part 1
IDLE_SECONDS=${IDLE_SECONDS:-30}     # the measured window of part 2
ROUNDS=${ROUNDS:-2}                  # headless/watch pairs per connection mode
WARM=${WARM:-2}                      # seconds left out of CPU windows at each end
KEEP=${KEEP:-}                       # a folder to keep the runs' records in
BURST_REUSE=${BURST_REUSE:-50000}    # part 3: probes per target, kept alive
BURST_FRESH=${BURST_FRESH:-10000}    # part 3: probes per target, new connections
BURST_CONC=${BURST_CONC:-10}         # part 3: probes at once
BURST_TIMEOUT=${BURST_TIMEOUT:-120}  # part 3: seconds a burst under watch may take
knob_count PHASE_SECONDS 1
knob_count IDLE_SECONDS 1
knob_count ROUNDS 1
knob_count WARM 0
knob_count BURST_REUSE 1
knob_count BURST_FRESH 1
knob_count BURST_CONC 1
knob_count BURST_TIMEOUT 1
knob_exe COLDLINK

log() { printf '%s\n' "$*" >&2; }

[ "$PHASE_SECONDS" -gt $((2 * WARM + 5)) ] || { log "PHASE_SECONDS must exceed $((2 * WARM + 5))"; exit 2; }
if ! command -v tmux >/dev/null; then
  log "installing tmux from Debian's packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
fi
if [ ! -x /usr/bin/time ]; then
  log "installing time from Debian's packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi
command -v python3 >/dev/null || { log "python3 is needed for the summary"; exit 2; }
cargo build --release --locked -q
COLDLINK=$PWD/target/release/coldlink
CLK_TCK=$(getconf CLK_TCK)

work=$(mktemp -d)
SOCK=$work/tmux.sock
child=""   # the headless run in progress, stopped too if the script is cut short
cleanup() {
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null || true
  tmux -S "$SOCK" kill-server 2>/dev/null || true
  stop_nginx "$work"
  if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && cp -r "$work/runs/." "$KEEP/" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/runs"
start_nginx "$work"

profile() { # FILE INTERVAL JITTER CONNECTIONS [BURST_REQUESTS BURST_CONNECTIONS]
  cat > "$1" <<TOML
name = "bench-watch"
[[target]]
name = "a"
url = "http://127.0.0.1:$port/"
[[target]]
name = "b"
url = "http://127.0.0.1:$port/x"
[schedule]
interval = "$2"
jitter = "$3"
connections = "$4"
TOML
  [ -z "${5:-}" ] || cat >> "$1" <<TOML
[burst]
requests = $5
concurrency = $BURST_CONC
connections = "$6"
TOML
}
profile "$work/fresh.toml" 100ms 10ms fresh
profile "$work/reuse.toml" 100ms 10ms reuse
profile "$work/idle.toml" 1h 0s fresh
profile "$work/burst-reuse.toml" 1h 0s fresh "$BURST_REUSE" reuse
profile "$work/burst-fresh.toml" 1h 0s fresh "$BURST_FRESH" fresh

# tmux_ticks FILE: CPU ticks of the tmux server (the dashboard's terminal)
tmux_ticks() {
  local pid; pid=$(tmux -S "$SOCK" display -p '#{pid}' 2>/dev/null) || return 0
  echo "ticks $(proc_ticks "$pid")" >"$1" 2>/dev/null || true
}

# headless NAME PROFILE SECONDS [term]: coldlink run for SECONDS (--duration),
# or, with "term", without --duration and stopped by SIGTERM after SECONDS
# (a run whose next probe lies past --duration ends at once)
headless() {
  local d=$work/runs/$1 seconds=$3 until=(--duration "${3}s")
  [ "${4:-}" = term ] && until=()
  mkdir -p "$d"
  "$COLDLINK" run --profile "$2" --out "$d/records.ndjson" "${until[@]}" -q \
    >"$d/stdout" 2>"$d/stderr" &
  local pid=$!
  child=$pid
  sleep "$WARM"; sample "$pid" "$d/start"
  sleep $((seconds - 2 * WARM)); sample "$pid" "$d/end"
  if [ "${4:-}" = term ]; then sleep "$WARM"; kill -TERM "$pid" 2>/dev/null || true; fi
  local rc=0; wait "$pid" || rc=$?
  child=""
  echo "$rc" >"$d/rc"
  [ "$rc" = 0 ] || log "$1: coldlink run exited $rc: $(tail -1 "$d/stderr")"
}

# dashboard NAME PROFILE SECONDS: coldlink watch in a detached tmux session,
# quit with q after SECONDS
dashboard() {
  local d=$work/runs/$1 seconds=$3 session=$1
  mkdir -p "$d"
  tmux -S "$SOCK" -f /dev/null new-session -d -s "$session" -x 160 -y 48 \
    "'$COLDLINK' watch --profile '$2' --out '$d/records.ndjson' 2>'$d/stderr'; echo \$? >'$d/rc'"
  local pane pid=""
  pane=$(tmux -S "$SOCK" display -p -t "$session" '#{pane_pid}')
  for _ in $(seq 100); do
    pid=$(pgrep -P "$pane" -x coldlink || true)
    [ -n "$pid" ] && break
    sleep 0.02
  done
  [ -n "$pid" ] || { log "$1: coldlink watch did not start"; return 1; }
  sleep "$WARM"; sample "$pid" "$d/start"; tmux_ticks "$d/tmux-start"
  sleep $((seconds - 2 * WARM)); sample "$pid" "$d/end"; tmux_ticks "$d/tmux-end"
  sleep "$WARM"
  tmux -S "$SOCK" send-keys -t "$session" q
  for _ in $(seq 200); do [ -s "$d/rc" ] && break; sleep 0.05; done
  if [ ! -s "$d/rc" ]; then
    log "$1: coldlink watch did not quit on q within 10 s"
    tmux -S "$SOCK" kill-session -t "$session" 2>/dev/null || true
    echo timeout >"$d/rc"
  fi
  [ "$(cat "$d/rc")" = 0 ] || log "$1: coldlink watch exited $(cat "$d/rc"): $(tail -1 "$d/stderr")"
}

# burst_headless NAME PROFILE: coldlink run --burst, the burst once
burst_headless() {
  local d=$work/runs/$1
  mkdir -p "$d"
  local rc=0
  /usr/bin/time -f '%e %U %S %M' -o "$d/time" \
    "$COLDLINK" run --profile "$2" --burst --out "$d/records.ndjson" -q >"$d/stdout" 2>"$d/stderr" || rc=$?
  echo "$rc" >"$d/rc"
  [ "$rc" = 0 ] || log "$1: coldlink run --burst exited $rc: $(tail -1 "$d/stderr")"
}

# pane_text SESSION: what the dashboard shows now
pane_text() { tmux -S "$SOCK" capture-pane -p -t "$1" 2>/dev/null || true; }

# burst_dashboard NAME PROFILE: coldlink watch in tmux; b once the panels are
# drawn, q once the footer says the burst is done
burst_dashboard() {
  local d=$work/runs/$1 session=$1
  mkdir -p "$d"
  tmux -S "$SOCK" -f /dev/null new-session -d -s "$session" -x 160 -y 48 \
    "'$COLDLINK' watch --profile '$2' --out '$d/records.ndjson' 2>'$d/stderr'; echo \$? >'$d/rc'"
  local pane pid=""
  pane=$(tmux -S "$SOCK" display -p -t "$session" '#{pane_pid}')
  for _ in $(seq 100); do
    pid=$(pgrep -P "$pane" -x coldlink || true)
    [ -n "$pid" ] && break
    sleep 0.02
  done
  [ -n "$pid" ] || { log "$1: coldlink watch did not start"; return 1; }
  local drawn=""
  for _ in $(seq 100); do
    [[ $(pane_text "$session") == *"┌ findings"* ]] && { drawn=1; break; }
    sleep 0.1
  done
  [ -n "$drawn" ] || log "$1: no panels after 10 s; sending b anyway"
  sleep 1  # the start's first probe and frames settle
  sample "$pid" "$d/start"; tmux_ticks "$d/tmux-start"
  date +%s.%N >"$d/key"
  tmux -S "$SOCK" send-keys -t "$session" b
  local done_=""
  for _ in $(seq $((BURST_TIMEOUT * 2))); do
    sleep 0.5
    [[ $(pane_text "$session") == *"burst done"* ]] && { done_=1; break; }
  done
  sample "$pid" "$d/end"; tmux_ticks "$d/tmux-end"
  date +%s.%N >"$d/seen"
  pane_text "$session" | grep -o 'burst done: [0-9]* of [0-9]* probes' >"$d/footer" || true
  [ -n "$done_" ] || log "$1: no \"burst done\" within ${BURST_TIMEOUT}s"
  tmux -S "$SOCK" send-keys -t "$session" q
  for _ in $(seq 200); do [ -s "$d/rc" ] && break; sleep 0.05; done
  if [ ! -s "$d/rc" ]; then
    log "$1: coldlink watch did not quit on q within 10 s"
    tmux -S "$SOCK" kill-session -t "$session" 2>/dev/null || true
    echo timeout >"$d/rc"
  fi
  [ "$(cat "$d/rc")" = 0 ] || log "$1: coldlink watch exited $(cat "$d/rc"): $(tail -1 "$d/stderr")"
}

runs=()
bursts=()
log "warming up (nginx, page cache)"
"$COLDLINK" run --profile "$work/fresh.toml" --duration 2s -q >/dev/null 2>&1 || true

total=$(( (2 * 2 * ROUNDS * PHASE_SECONDS) + 2 * (IDLE_SECONDS + 2 * WARM + 2) ))
log "about ${total}s of runs: 2 connection modes × $ROUNDS rounds × (run, watch) × ${PHASE_SECONDS}s, then idle; then bursts (about $((ROUNDS * 20))s)"
for mode in fresh reuse; do
  for round in $(seq "$ROUNDS"); do
    log "$mode, round $round: headless run"
    headless "$mode-run-$round" "$work/$mode.toml" "$PHASE_SECONDS"; runs+=("$mode-run-$round")
    log "$mode, round $round: watch"
    dashboard "$mode-watch-$round" "$work/$mode.toml" "$PHASE_SECONDS"; runs+=("$mode-watch-$round")
  done
done
idle_seconds=$((IDLE_SECONDS + 2 * (WARM + 1)))  # the window stays IDLE_SECONDS
log "nothing to do (interval 1h): watch"
WARM=$((WARM + 1)) dashboard idle-watch-1 "$work/idle.toml" "$idle_seconds"; runs+=(idle-watch-1)
log "nothing to do (interval 1h): headless run"
WARM=$((WARM + 1)) headless idle-run-1 "$work/idle.toml" "$idle_seconds" term; runs+=(idle-run-1)
log "bursts: ${BURST_REUSE} per target kept alive, ${BURST_FRESH} on new connections, $BURST_CONC at once; $ROUNDS rounds × (run, watch)"
for mode in reuse fresh; do
  for round in $(seq "$ROUNDS"); do
    log "burst, $mode, round $round: headless run"
    burst_headless "burst-$mode-run-$round" "$work/burst-$mode.toml"; bursts+=("burst-$mode-run-$round")
    log "burst, $mode, round $round: watch"
    burst_dashboard "burst-$mode-watch-$round" "$work/burst-$mode.toml"; bursts+=("burst-$mode-watch-$round")
  done
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(( $(awk '/MemTotal/{print $2}' /proc/meminfo) / 1048576 )) GiB, $(uname -sr); nginx $("$NGINX" -v 2>&1 | cut -d/ -f2); tmux $(tmux -V | cut -d' ' -f2); coldlink $("$COLDLINK" --version | cut -d' ' -f2) ($(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ', with uncommitted changes')); $(date -u +%F)"
echo
python3 - "$work/runs" "$CLK_TCK" "${runs[@]}" <<'PY'
import json, os, sys
sys.path.insert(0, "scripts/lib")
from benchlib import pct, read, read_sample, ts

base, clk, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
PHASES = ["queue", "connect", "ttfb", "total"]
SKIP_S = 1.0  # probes scheduled in a run's first second are left out

runs = {}
for name in names:
    d = os.path.join(base, name)
    mode, kind, rnd = name.rsplit("-", 2)
    recs = []
    try:
        for line in open(os.path.join(d, "records.ndjson")):
            recs.append(json.loads(line))
    except OSError:
        pass
    first = min((ts(r["scheduled_at"]) for r in recs), default=0)
    kept = [r for r in recs if ts(r["scheduled_at"]) - first >= SKIP_S]
    vals = {p: [] for p in PHASES}
    for r in kept:
        for p in PHASES:
            v = r["total_ms"] if p == "total" else r["phases_ms"].get(p)
            if v is not None:
                vals[p].append(v)
    failed = sum(1 for r in recs if r.get("error") or not (200 <= (r.get("status") or 0) < 400))
    s0, s1 = read_sample(os.path.join(d, "start")), read_sample(os.path.join(d, "end"))
    window = s1.get("time", 0) - s0.get("time", 0)
    def cpu(a, b):
        return 100.0 * (b - a) / clk / window if window > 0 else None
    threads = {t: cpu(s0["threads"].get(t, 0), v) for t, v in s1["threads"].items()}
    t0, t1 = read_sample(os.path.join(d, "tmux-start")), read_sample(os.path.join(d, "tmux-end"))
    rc = open(os.path.join(d, "rc")).read().strip() if os.path.exists(os.path.join(d, "rc")) else "?"
    runs[name] = dict(
        mode=mode, kind=kind, round=rnd, records=len(recs), failed=failed, vals=vals, rc=rc,
        window=window,
        cpu=cpu(s0.get("ticks", 0), s1["ticks"]) if "ticks" in s1 else None,
        tmux=cpu(t0["ticks"], t1["ticks"]) if "ticks" in t0 and "ticks" in t1 else None,
        threads=threads, rss=s1.get("VmRSS"), hwm=s1.get("VmHWM"),
    )

def ms(x):
    return "—" if x is None else f"{x:.2f}"

def cell(xs):
    # Reused connections have no connect phase: too few values for percentiles.
    if len(xs) < 20:
        return f"— ({len(xs)})"
    return " / ".join(ms(pct(xs, p)) for p in (50, 90, 99))

def pc(x):
    return "—" if x is None else f"{x:.2f}"

def mb(kb):
    return "—" if kb is None else f"{kb / 1024:.1f}"

label = {"run": "run (headless)", "watch": "watch (dashboard)"}
print("Per run, in the order they ran (ms, p50 / p90 / p99; "
      f"probes scheduled in the first {SKIP_S:.0f} s left out):")
print()
print("| connections | command | round | probes | failed | queue | connect | ttfb | total | CPU % | RSS MB |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for name, r in runs.items():
    if r["mode"] == "idle":
        continue
    v = r["vals"]
    print(f"| {r['mode']} | {label[r['kind']]} | {r['round']} | {r['records']} | {r['failed']} | "
          + " | ".join(cell(v[p]) for p in PHASES)
          + f" | {pc(r['cpu'])} | {mb(r['rss'])} |")

print()
print("All rounds together (ms, p50 / p90 / p99):")
print()
print("| connections | command | probes | queue | connect | ttfb | total |")
print("|---|---|---|---|---|---|---|")
for mode in ("fresh", "reuse"):
    for kind in ("run", "watch"):
        group = [r for r in runs.values() if r["mode"] == mode and r["kind"] == kind]
        if not group:
            continue
        v = {p: [x for r in group for x in r["vals"][p]] for p in PHASES}
        print(f"| {mode} | {label[kind]} | {len(v['total'])} | "
              + " | ".join(cell(v[p]) for p in PHASES) + " |")

print()
print("CPU (% of one core, utime+stime over the window) and memory at the window's end:")
print()
print("| command | schedule | window s | probes | coldlink CPU % | per thread | tmux server CPU % | VmRSS MB | VmHWM MB |")
print("|---|---|---|---|---|---|---|---|---|")
# run: the main thread probes, a writer thread writes --out; watch: the main
# thread is the dashboard's loop, the probes have a thread of their own.
SHORT = {"coldlink": "main", "coldlink-output": "writer", "coldlink-input": "input",
         "coldlink-watch-": "probes"}
def per_thread(r):
    return ", ".join(f"{SHORT.get(t, t)} {c:.2f}" for t, c in sorted(r["threads"].items()) if c is not None)
order = [n for n in runs if runs[n]["mode"] == "idle"] + [n for n in runs if runs[n]["mode"] != "idle"]
for name in order:
    r = runs[name]
    sched = "1 h (idle)" if r["mode"] == "idle" else f"100 ms, {r['mode']}"
    tm = pc(r["tmux"]) if r["kind"] == "watch" else "—"
    print(f"| {label[r['kind']]} | {sched} | {r['window']:.1f} | {r['records']} | {pc(r['cpu'])} | "
          f"{per_thread(r)} | {tm} | {mb(r['rss'])} | {mb(r['hwm'])} |")

bad = {n: r["rc"] for n, r in runs.items() if r["rc"] != "0"}
if bad:
    print()
    print("exit codes other than 0: " + ", ".join(f"{n}: {rc}" for n, rc in bad.items()))
PY

echo
python3 - "$work/runs" "$CLK_TCK" "${bursts[@]}" <<'PY'
import json, os, sys
sys.path.insert(0, "scripts/lib")
from benchlib import pct, read, read_sample, ts

base, clk, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
PHASES = ["queue", "connect", "ttfb", "total"]
OVER_MS = 3.0  # the tail: probes whose total is above this

runs = {}
for name in names:
    d = os.path.join(base, name)
    _, mode, kind, rnd = name.split("-")
    recs = []
    try:
        for line in open(os.path.join(d, "records.ndjson")):
            recs.append(json.loads(line))
    except OSError:
        pass
    key = read(os.path.join(d, "key"))
    # Under watch the file also holds the schedule's probe at start: only
    # the records the plan scheduled after b was sent are the burst's.
    kept = [r for r in recs if key is None or ts(r["scheduled_at"]) >= float(key)]
    vals = {p: [] for p in PHASES}
    for r in kept:
        for p in PHASES:
            v = r["total_ms"] if p == "total" else r["phases_ms"].get(p)
            if v is not None:
                vals[p].append(v)
    failed = sum(1 for r in kept if r.get("error") or not (200 <= (r.get("status") or 0) < 400))
    over = sum(1 for r in kept if r["total_ms"] > OVER_MS)
    span = None
    if kept:
        first = min(ts(r["at"]) for r in kept)
        last = max(ts(r["scheduled_at"]) + r["total_ms"] / 1000 for r in kept)
        span = last - first
    r = dict(mode=mode, kind=kind, round=rnd, records=len(kept), left_out=len(recs) - len(kept),
             failed=failed, over=over, vals=vals, span=span, rps=len(kept) / span if span else None,
             rc=read(os.path.join(d, "rc"), "?"), footer=read(os.path.join(d, "footer"), ""),
             cpu_s=None, hwm=None, loop_s=None, tmux_s=None, key_ms=None, seen_s=None)
    if kind == "run":
        # The last line; a failed run has "Command exited with …" before it.
        t = ((read(os.path.join(d, "time"), "") or "").splitlines() or [""])[-1].split()
        if len(t) == 4:
            r["cpu_s"], r["hwm"] = float(t[1]) + float(t[2]), int(t[3])
    else:
        s0, s1 = read_sample(os.path.join(d, "start")), read_sample(os.path.join(d, "end"))
        if "ticks" in s0 and "ticks" in s1:
            r["cpu_s"] = (s1["ticks"] - s0["ticks"]) / clk
            r["hwm"] = s1.get("VmHWM")
            loop = [s1["threads"].get("coldlink", 0), s0["threads"].get("coldlink", 0)]
            r["loop_s"] = (loop[0] - loop[1]) / clk
        t0, t1 = read_sample(os.path.join(d, "tmux-start")), read_sample(os.path.join(d, "tmux-end"))
        if "ticks" in t0 and "ticks" in t1:
            r["tmux_s"] = (t1["ticks"] - t0["ticks"]) / clk
        seen = read(os.path.join(d, "seen"))
        if key and seen:
            r["seen_s"] = float(seen) - float(key)
        if kept and key:
            r["key_ms"] = (min(ts(x["scheduled_at"]) for x in kept) - float(key)) * 1000
    runs[name] = r

def cell(xs):
    # Kept alive, connect is only the pool's first BURST_CONC connections.
    if len(xs) < 100:
        return f"— ({len(xs)})"
    return " / ".join(f"{pct(xs, p):.2f}" for p in (50, 90, 99))

def f(x, fmt):
    return "—" if x is None else format(x, fmt)

label = {"run": "run --burst (headless)", "watch": "watch, key b (dashboard)"}
conns = {"reuse": "kept alive", "fresh": "new"}
print("Bursts, per run in the order they ran (ms, p50 / p90 / p99; requests/s = "
      "records / first `at` to last end; CPU % of one core over that span):")
print()
print(f"| connections | command | round | probes | failed | queue | connect | ttfb | total | total > {OVER_MS:.0f} ms "
      "| wall s | requests/s | CPU s | CPU % | loop CPU s | tmux CPU s | VmHWM MB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in runs.values():
    v = r["vals"]
    cpu_pc = 100 * r["cpu_s"] / r["span"] if r["cpu_s"] is not None and r["span"] else None
    print(f"| {conns[r['mode']]} | {label[r['kind']]} | {r['round']} | {r['records']} | {r['failed']} | "
          + " | ".join(cell(v[p]) for p in PHASES) + f" | {r['over']}"
          + f" | {f(r['span'], '.2f')} | {f(r['rps'], '.0f')} | {f(r['cpu_s'], '.2f')} | {f(cpu_pc, '.0f')}"
          + f" | {f(r['loop_s'], '.2f')} | {f(r['tmux_s'], '.2f')}"
          + f" | {f(r['hwm'] / 1024 if r['hwm'] else None, '.1f')} |")

print()
print("Bursts, all rounds together (ms, p50 / p90 / p99; requests/s per round):")
print()
print(f"| connections | command | probes | queue | connect | ttfb | total | total > {OVER_MS:.0f} ms | requests/s |")
print("|---|---|---|---|---|---|---|---|---|")
for mode in ("reuse", "fresh"):
    for kind in ("run", "watch"):
        group = [r for r in runs.values() if r["mode"] == mode and r["kind"] == kind]
        if not group:
            continue
        v = {p: [x for r in group for x in r["vals"][p]] for p in PHASES}
        rps = " / ".join(f(r["rps"], ".0f") for r in group)
        print(f"| {conns[mode]} | {label[kind]} | {sum(r['records'] for r in group)} | "
              + " | ".join(cell(v[p]) for p in PHASES) + f" | {sum(r['over'] for r in group)} | {rps} |")

notes = []
for name, r in runs.items():
    if r["kind"] == "watch":
        notes.append(f"{name}: {r['left_out']} record(s) before b left out; first burst probe "
                     f"{f(r['key_ms'], '.0f')} ms after b was sent; \"{r['footer']}\" seen "
                     f"{f(r['seen_s'], '.1f')} s after b (polled every 0.5 s)")
print()
for n in notes:
    print(f"- {n}")
bad = {n: r["rc"] for n, r in runs.items() if r["rc"] != "0"}
if bad:
    print()
    print("exit codes other than 0: " + ", ".join(f"{n}: {rc}" for n, rc in bad.items()))
PY

#!/usr/bin/env bash
# Paced probes: how late does coldlink start a scheduled probe (`queue`), and
# what CPU does a probe cost? (issue #20 §2)
#
#   scripts/bench-paced.sh                          # this tree's release build
#   BEFORE=/path/to/old/coldlink scripts/bench-paced.sh   # and an old one, interleaved
#   PROBES=400 ROUNDS=1 INTERVAL=20ms scripts/bench-paced.sh
#
# Each round runs `coldlink probe URL -n PROBES --interval INTERVAL
# --connections reuse --out FILE -q` against a loopback nginx
# (scripts/lib/nginx.sh), first with BEFORE (when given) and then with this
# tree's build, so that both see the same machine. From the records: the
# median, p90, p99 (nearest rank) and max of `phases_ms.queue` (the time from
# the probe's scheduled time to its start: the tool's own share), and of
# `total_ms`; the first probe (seq 1: it opens the connection) is left out. CPU is
# the process's utime+stime (wait4's rusage, so the whole run: start-up
# and the first probe included) divided by the probes.
#
# The load average is printed before and after each run: on a busy machine
# the wake-ups are later and the numbers mean less. COLDLINK=PATH uses that
# binary instead of building. KEEP=DIR keeps the records. Needs python3;
# installs nginx (apt-get) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/nginx.sh
. scripts/lib/knobs.sh

PROBES=${PROBES:-2000}
INTERVAL=${INTERVAL:-50ms}
ROUNDS=${ROUNDS:-2}
BEFORE=${BEFORE:-}
KEEP=${KEEP:-}
knob_count PROBES 1
knob_duration INTERVAL
knob_count ROUNDS 1
knob_exe BEFORE
knob_exe COLDLINK

log() { printf '%s\n' "$*" >&2; }
command -v python3 >/dev/null || { log "python3 is needed"; exit 2; }
if [ -z "${COLDLINK:-}" ]; then
  cargo build --release --locked -q
  COLDLINK=${CARGO_TARGET_DIR:-$PWD/target}/release/coldlink
fi
BUILT="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ', with uncommitted changes')"

work=$(mktemp -d)
cleanup() {
  stop_nginx "$work"
  if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && cp -r "$work/runs/." "$KEEP/" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/runs"
start_nginx "$work"

echo "# bench-paced: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "cpu: $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), $(nproc) cores; $(uname -sr)"
echo "after: $COLDLINK (tree $BUILT)"
[ -n "$BEFORE" ] && echo "before: $BEFORE"
echo "$PROBES probes every $INTERVAL on one kept-alive connection to nginx on 127.0.0.1:$port, $ROUNDS round(s)"
echo

python3 - "$work/runs" "$PROBES" "$INTERVAL" "$ROUNDS" "http://127.0.0.1:$port/" "$COLDLINK" "$BEFORE" <<'PY'
import json, os, subprocess, sys

runs, probes, interval, rounds, url, after, before = sys.argv[1:8]
probes, rounds = int(probes), int(rounds)
tools = ([("before", before)] if before else []) + [("after", after)]

def load():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]

def nearest(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, -(-len(sorted_values) * p // 100) - 1))
    return sorted_values[int(k)]

print("| round | build | load avg before / after | probes | queue ms p50 / p90 / p99 / max | total ms p50 / p99 | CPU µs per probe |")
print("|---|---|---|---|---|---|---|")
for r in range(1, rounds + 1):
    for name, binary in tools:
        out = os.path.join(runs, f"{r}-{name}.ndjson")
        l0 = load()
        proc = subprocess.Popen(
            [binary, "probe", url, "-n", str(probes), "--interval", interval,
             "--connections", "reuse", "--out", out, "-q"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        l1 = load()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            sys.exit(f"{name}: exit {code}: {err.strip()[-300:]}")
        queue, total = [], []
        with open(out) as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("seq") == 1:
                    continue
                queue.append(rec["phases_ms"]["queue"])
                total.append(rec["total_ms"])
        queue.sort(); total.sort()
        cpu_us = (usage.ru_utime + usage.ru_stime) * 1e6 / probes
        print(f"| {r} | {name} | {l0} / {l1} | {len(queue)} | "
              f"{nearest(queue, 50):.3f} / {nearest(queue, 90):.3f} / {nearest(queue, 99):.3f} / {queue[-1]:.3f} | "
              f"{nearest(total, 50):.3f} / {nearest(total, 99):.3f} | {cpu_us:.0f} |", flush=True)
PY

#!/usr/bin/env bash
# Phase fidelity against an independent clock: coldlink's `connect` and
# `ttfb`, and curl's, against the timestamps of the packets themselves.
#
#   scripts/phase-fidelity.sh                 # defaults below; Markdown tables
#   PROBES=1000 SYN_DROPS=10 scripts/phase-fidelity.sh
#
# Two throw-away namespaces (scripts/lib/netns.sh, owner: this script's
# pid), a client and a server joined by a veth pair (10.91.0.1 and
# 10.91.0.2). In the server's, scripts/lib/sleepy_http.py answers every
# request DELAY_MS after it arrived. In the client's, tcpdump captures the
# veth (nanosecond timestamps; `-j adapter_unsynced` where the interface
# offers it) while, one capture per run:
#   1. coldlink probes PROBES times on new connections (`--connections fresh`)
#   2. … and PROBES+1 times on one kept-alive connection (the first opens it)
#   3. curl does the same: a process per probe, then one process for
#      PROBES+1 URLs on one connection
#   4. with an nftables rule in the server's namespace that drops the first
#      SYN of every connection (a set of the client ports seen), coldlink
#      and curl each make SYN_DROPS probes: connect must read the kernel's
#      SYN retransmission delay (1 s, TCP_TIMEOUT_INIT) plus the round trip.
# scripts/lib/phase_fidelity.py then pairs each probe with its connection's
# packets by the client's port (coldlink's records carry it as `local`,
# curl's -w as %{local_port}) and prints tool − packets, median and p99 in
# µs, per tool, phase and kind of connection, and the SYN-drop probes.
#
# Needs root, ip, nft, tcpdump, python3 and curl: without them it says why
# on one line ("phase fidelity: skipped: …") and exits 77. Stale namespaces
# of dead runs are removed first; this run's are removed on exit, however it
# ends. Nothing in the machine's own namespace changes.
#
# COLDLINK=PATH uses that binary (default: a release build, made here).
# JSON=FILE also writes every number (and every probe) as JSON. KEEP=DIR
# keeps the captures, records and logs. CURL=0 leaves curl out.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/netns.sh

PROBES=${PROBES:-300}          # probes per run (new, reused; coldlink and curl)
SYN_DROPS=${SYN_DROPS:-5}      # probes per tool with the first SYN dropped (0: none)
DELAY_MS=${DELAY_MS:-50}       # the backend's wait before it answers
CURL=${CURL:-1}
COLDLINK=${COLDLINK:-}
JSON=${JSON:-}
KEEP=${KEEP:-}
PORT=8080
MARK=9         # the port of the datagram that marks the end of a run
CLIENT=10.91.0.1
SERVER=10.91.0.2

log() { printf '%s\n' "$*" >&2; }
skip() { log "phase fidelity: skipped: $*"; exit 77; }
bad() { log "scripts/phase-fidelity.sh: $1=$2: $3"; exit 2; }

[[ $PROBES =~ ^[0-9]+$ ]] && [ "$PROBES" -ge 1 ] || bad PROBES "$PROBES" "a whole number of probes, at least 1"
[[ $SYN_DROPS =~ ^[0-9]+$ ]] || bad SYN_DROPS "$SYN_DROPS" "a whole number of probes (0: no SYN-drop check)"
[[ $DELAY_MS =~ ^[0-9]+([.][0-9]+)?$ ]] || bad DELAY_MS "$DELAY_MS" "milliseconds, e.g. 50 or 0.5"
[[ $CURL =~ ^[01]$ ]] || bad CURL "$CURL" "1 (compare with curl) or 0"

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, nftables, tcpdump)"
for tool in ip nft tcpdump python3; do
  command -v "$tool" >/dev/null || skip "\`$tool\` is not installed (apt-get install iproute2 nftables tcpdump python3)"
done
[ "$CURL" = 0 ] || command -v curl >/dev/null || skip "\`curl\` is not installed (apt-get install curl, or CURL=0)"

# Long-running children run in the background and are waited for: bash
# runs a trap only once the foreground command has ended, so a SIGTERM to
# this script (not its group) would otherwise wait for the whole run. The
# exit is 128 + the signal's number (130 for INT, 143 for TERM).
running=""     # the pid of the background child being waited for
trap 'exit 130' INT
trap 'exit 143' TERM
# in_background CMD…: run CMD, wait for it, return its status
in_background() {
  "$@" &
  running=$!
  local rc=0
  wait "$running" || rc=$?
  running=""
  return "$rc"
}

built_here=""
if [ -z "$COLDLINK" ]; then
  in_background cargo build --release --locked -q
  COLDLINK=${CARGO_TARGET_DIR:-$PWD/target}/release/coldlink
  built_here=1
fi
[ -x "$COLDLINK" ] || bad COLDLINK "$COLDLINK" "an executable coldlink binary"

OWNER=$$
work=$(mktemp -d)
capturing=""   # tcpdump's pid while a capture runs
backend=""
cleanup() {
  local pid
  for pid in $running $capturing $backend; do
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  netns_teardown "$OWNER"
  if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && cp -r "$work/." "$KEEP/" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

netns_reap_stale
CLI=$(netns_new "$OWNER" cli)
SRV=$(netns_new "$OWNER" srv)
netns_link "$CLI" pf-c "$CLIENT/24" "$SRV" pf-s "$SERVER/24"
in_cli() { ip netns exec "$CLI" "$@"; }

# wait_for WHAT SECONDS CMD…: until CMD succeeds (a file, a log line), or fail
wait_for() {
  local what=$1 limit=$2 i
  shift 2
  for ((i = 0; i < limit * 100; i++)); do
    "$@" && return 0
    sleep 0.01
  done
  log "phase fidelity: $what not ready after ${limit}s"
  exit 1
}

ip netns exec "$SRV" python3 scripts/lib/sleepy_http.py "$SERVER" "$PORT" "$DELAY_MS" "$work/ready" \
  >"$work/backend.log" 2>&1 &
backend=$!
wait_for "the backend" 5 test -s "$work/ready"

TSTYPE=()
if in_cli tcpdump -J -i pf-c 2>/dev/null | grep -q adapter_unsynced; then TSTYPE=(-j adapter_unsynced); fi

# clocks: CLOCK_REALTIME and CLOCK_MONOTONIC now, in ns. The packets are
# stamped on the first, coldlink's phases on the second; they can run at
# different rates (seen: realtime 0.5 % fast on a VM), so each run notes
# both at its start and end and the arithmetic converts.
clocks() { python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_REALTIME), time.clock_gettime_ns(time.CLOCK_MONOTONIC))'; }

# run NAME TOOL KIND COMMAND…: COMMAND in the client's namespace, under a
# capture of its own; stdout to the run's `out`
run() {
  local name=$1 d=$work/runs/$1 tool=$2 kind=$3
  shift 3
  mkdir -p "$d"
  echo "$tool" >"$d/tool"
  echo "$kind" >"$d/kind"
  clocks >"$d/clocks"
  # Not through a function: $! must be tcpdump itself (ip execs it), since
  # a background subshell ignores the signal that stops the capture.
  ip netns exec "$CLI" tcpdump -i pf-c -nn -U -s 128 --time-stamp-precision=nano "${TSTYPE[@]}" \
    --immediate-mode -w "$d/capture.pcap" "tcp port $PORT or udp port $MARK" 2>"$d/tcpdump.log" &
  capturing=$!
  wait_for "tcpdump" 5 grep -qs "listening on" "$d/tcpdump.log"
  local rc=0
  # ip execs the command: $! is the tool itself, for cleanup to stop.
  in_background ip netns exec "$CLI" "$@" >"$d/out" 2>"$d/stderr" || rc=$?
  [ "$rc" = 0 ] || log "$name: $1 exited $rc: $(tail -1 "$d/stderr")"
  # A marker datagram after the run; once it is in the file, so is every
  # packet before it (stopping tcpdump earlier loses what it has not yet
  # written).
  in_cli bash -c "echo end >/dev/udp/$SERVER/$MARK" || true
  wait_for "the capture" 5 marked "$d/capture.pcap"
  kill -TERM "$capturing"
  wait "$capturing" || true
  capturing=""
  clocks >>"$d/clocks"
  if grep -q '[1-9][0-9]* packets\? dropped by kernel' "$d/tcpdump.log"; then
    log "$name: tcpdump: $(grep 'dropped by kernel' "$d/tcpdump.log")"
  fi
  return 0
}

# marked PCAP: the marker datagram is in PCAP
marked() { tcpdump -nn -r "$1" "udp port $MARK" 2>/dev/null | grep -q .; }

URL="http://$SERVER:$PORT/"
CURL_W='\nCURL %{local_port} %{num_connects} %{time_namelookup} %{time_connect} %{time_pretransfer} %{time_starttransfer}\n'

# curl_each N: N curl processes, each a new connection
curl_each() {
  local i
  for ((i = 0; i < $1; i++)); do curl -sS -w "$CURL_W" "$URL" || true; done
}

log "phase fidelity: $PROBES probes a run, backend wait ${DELAY_MS} ms, $SYN_DROPS with a dropped SYN"
run 1-coldlink-new coldlink new \
  "$COLDLINK" probe -n "$PROBES" --connections fresh -q --format ndjson "$URL"
run 2-coldlink-reused coldlink reused \
  "$COLDLINK" probe -n "$((PROBES + 1))" --connections reuse -q --format ndjson "$URL"
if [ "$CURL" = 1 ]; then
  run 3-curl-new curl new bash -c "$(declare -p URL CURL_W); $(declare -f curl_each); curl_each $PROBES"
  run 4-curl-reused curl reused curl -sS -w "$CURL_W" "$URL[0-$PROBES]"
fi

if [ "$SYN_DROPS" -gt 0 ]; then
  # The first SYN of each client port is dropped and remembered; its
  # retransmission (same port) passes. No conntrack involved.
  ip netns exec "$SRV" nft -f - <<NFT
table inet phase_fidelity {
  set seen { type ipv4_addr . inet_service; flags dynamic, timeout; timeout 5m; }
  chain input {
    type filter hook input priority -10; policy accept;
    tcp dport $PORT tcp flags & (syn | ack) == syn ip saddr . tcp sport @seen accept
    tcp dport $PORT tcp flags & (syn | ack) == syn add @seen { ip saddr . tcp sport } drop
  }
}
NFT
  run 5-coldlink-syndrop coldlink syndrop \
    "$COLDLINK" probe -n "$SYN_DROPS" --connections fresh -q --format ndjson "$URL"
  if [ "$CURL" = 1 ]; then
    run 6-curl-syndrop curl syndrop bash -c "$(declare -p URL CURL_W); $(declare -f curl_each); curl_each $SYN_DROPS"
  fi
  ip netns exec "$SRV" nft delete table inet phase_fidelity
fi

model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
# What is known of the binary is its path and when it was written; the
# source tree's state is printed apart, since COLDLINK may have been built
# from another tree or commit.
binary="$COLDLINK, modified $(date -u -r "$COLDLINK" '+%Y-%m-%d %H:%M UTC')"
[ -z "$built_here" ] || binary="$binary (built by this run from the tree below)"
tree=$(git describe --always --dirty 2>/dev/null || echo 'not a git checkout')
echo "Machine: $model, $(nproc) cores, Linux $(uname -r); tcpdump $(tcpdump --version 2>&1 | awk 'NR==1 {print $3}'), timestamps ${TSTYPE[*]:-host (default)}; $(curl --version 2>/dev/null | awk 'NR==1 {print $1, $2}'); backend wait ${DELAY_MS} ms; $(date -u +%Y-%m-%d)."
echo "coldlink binary: $binary. Source tree: $tree (git describe --always --dirty)."
echo
python3 scripts/lib/phase_fidelity.py "$work/runs" "$PORT" ${JSON:+--json "$JSON"}

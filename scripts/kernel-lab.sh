#!/usr/bin/env bash
# The kernel lab: the path coldlink exists for, built from the real kernel,
# Debian's nginx and dnsmasq inside throw-away network namespaces (see
# docs/lab.md, "The kernel lab", and scripts/kernel-lab/topology.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=lib/netns.sh
. "$here/lib/netns.sh"
# shellcheck source=kernel-lab/topology.sh
. "$here/kernel-lab/topology.sh"

# Each lab's record, written by `up` before it builds anything: its owner,
# the keeper process `up` started (if it did), its folder and whether the
# user chose it. `down` and `reap` read it to stop the keeper and remove the
# folder. In /run: gone at reboot, as the namespaces are.
KLAB_STATE=/run/kernel-lab
# argv[0] of the keeper, so that `down` never kills a process it did not start.
KEEPER_NAME=kernel-lab-keeper

scenarios() {
  local f
  for f in "$here"/kernel-lab/scenarios/*.sh; do
    basename "$f" .sh
  done
}

usage() {
  cat <<USAGE
usage: scripts/kernel-lab.sh COMMAND …

  up SCENARIO [--owner PID] [--tag TAG] [--dir DIR] [--set KNOB=VALUE]…
      build the lab (namespaces clk-PID-TAG-ROLE), print its URLs, DNS server,
      client namespace and the coldlink command to run in it. Without
      --owner, \`up\` starts a keeper process (PID) and the lab lives until
      \`down\`; with it, the lab counts as stale once PID is gone. TAG
      defaults to the scenario, DIR (configs, pids, logs) to
      \${TMPDIR:-/tmp}/kernel-lab.PID-TAG. --set changes one of the
      scenario's knobs (scripts/kernel-lab/topology.sh, klab_defaults).
  down LAB      tear down clk-LAB-* (LAB = PID-TAG as \`up\` printed, or a PID
                for all of its labs), stop its keeper, remove its folder
                (not one given with --dir)
  run SCENARIO [--tag TAG] [--dir DIR] [--set KNOB=VALUE]… -- CMD…
      up, run CMD in the client namespace (with KLAB_URLS, KLAB_DNS,
      KLAB_PLAN, KLAB_COLDLINK in its environment), then down, whatever CMD
      did; exits with CMD's code (128+N when killed by signal N)
  reap          remove the labs whose owner process is gone, and their folders
  check         exit 77 with a reason when the lab cannot run here
  --help

Needs root, iproute2, nftables, Debian's nginx and dnsmasq; without them it
prints "kernel lab: skipped: <why>" and exits 77. Nothing in the machine's
own network namespace changes.

scenarios: $(scenarios | tr '\n' ' ')
USAGE
}

bad() {
  echo "kernel lab: $*" >&2
  exit 2
}

check() {
  netns_require
  local tool
  for tool in nginx dnsmasq; do
    if ! command -v "$tool" >/dev/null && [ ! -x "/usr/sbin/$tool" ]; then
      echo "kernel lab: skipped: \`$tool\` is not installed (apt-get install nginx dnsmasq-base)" >&2
      exit 77
    fi
  done
  PATH=$PATH:/usr/sbin
}

load_scenario() {
  local name=$1
  [ -n "$name" ] || bad "up: which scenario? one of: $(scenarios | tr '\n' ' ')"
  if [ ! -f "$here/kernel-lab/scenarios/$name.sh" ]; then
    bad "unknown scenario \`$name\`; valid: $(scenarios | tr '\n' ' ')"
  fi
  klab_defaults
  # shellcheck disable=SC1090
  . "$here/kernel-lab/scenarios/$name.sh"
}

default_dir() { echo "${TMPDIR:-/tmp}/kernel-lab.$1"; }

klab_ns_of() { echo "$NETNS_PREFIX-$1-$2"; }

# KEY's value in a lab's record (KEY=VALUE lines), or nothing.
record_get() { sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n 1; }

# Is PID a keeper this script started (and not a reused pid)?
is_keeper() {
  local argv0
  { read -r -d '' argv0 <"/proc/$1/cmdline"; } 2>/dev/null || return 1
  [ "$argv0" = "$KEEPER_NAME" ]
}

# The labs here (PID-TAG), one a line: from the client namespaces and the
# records (a lab whose build stopped early may have only the latter).
labs_here() {
  local ns rec
  {
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
      case $ns in
        "$NETNS_PREFIX"-[0-9]*-*-client) ns=${ns#"$NETNS_PREFIX"-}; echo "${ns%-client}" ;;
      esac
    done
    for rec in "$KLAB_STATE"/*.env; do
      if [ -f "$rec" ]; then basename "$rec" .env; fi
    done
  } | sort -u
}

# Remove lab LAB (PID-TAG), whatever of it exists: its namespaces and what
# runs in them, its keeper, its folder unless the user chose it, its record.
lab_remove() {
  local lab=$1 role rec dir given keeper
  for role in $KLAB_ROLES; do
    netns_delete "$(klab_ns_of "$lab" "$role")"
  done
  rec="$KLAB_STATE/$lab.env"
  [ -f "$rec" ] || return 0
  dir=$(record_get "$rec" DIR)
  given=$(record_get "$rec" DIR_GIVEN)
  keeper=$(record_get "$rec" KEEPER)
  if [ -n "$keeper" ] && is_keeper "$keeper"; then
    kill "$keeper" 2>/dev/null || true
  fi
  if [ -n "$dir" ] && [ -d "$dir" ]; then
    if [ "$given" = 1 ]; then
      echo "kernel lab $lab: its files stay in $dir (given with --dir)" >&2
    else
      rm -rf "$dir"
    fi
  fi
  rm -f "$rec"
}

# Labs whose owner is gone: namespaces (netns_reap_stale: any clk-OWNER-*),
# then the records, with the keeper and folder of each.
klab_reap() {
  local rec lab owner
  netns_reap_stale
  for rec in "$KLAB_STATE"/*.env; do
    [ -f "$rec" ] || continue
    lab=$(basename "$rec" .env)
    owner=${lab%%-*}
    kill -0 "$owner" 2>/dev/null && continue
    echo "kernel lab: removing the stale lab $lab's record and files (its owner, pid $owner, is gone)" >&2
    lab_remove "$lab"
  done
}

lab_down() {
  local arg=$1 lab labs="" all
  [[ $arg =~ ^[0-9]+(-[a-z][a-z0-9-]*)?$ ]] || bad "down: \`$arg\` is not a lab (PID-TAG as \`up\` printed it, or a PID)"
  all=$(labs_here)
  for lab in $all; do
    case $arg in
      *-*) [ "$lab" != "$arg" ] || labs="$labs $lab" ;;
      *) [[ $lab != "$arg"-* ]] || labs="$labs $lab" ;;
    esac
  done
  [ -n "$labs" ] || bad "down: no lab $arg here; labs here: $(echo ${all:-none})"
  for lab in $labs; do
    lab_remove "$lab"
    echo "kernel lab $lab: down"
  done
  case $arg in
    *-*) ;;
    *) netns_teardown "$arg" ;; # anything else of that owner's
  esac
}

# What `up` and `run` clean up on the way out: set while a lab is being
# built (and, in `run`, until the end), the build's and CMD's pids.
CLEANUP_LAB=""
KEEPER=""
BUILD_PID=""
CMD_PID=""

on_exit() {
  if [ -n "$CLEANUP_LAB" ]; then
    lab_remove "$CLEANUP_LAB"
  fi
  if [ -n "$KEEPER" ] && [ -n "$CLEANUP_LAB" ] && is_keeper "$KEEPER"; then
    kill "$KEEPER" 2>/dev/null || true
  fi
}

# INT or TERM: stop the build after its current step, pass the signal to
# CMD (3 s to finish, then the teardown kills it), exit 128+N (the EXIT
# trap tears down).
on_signal() {
  local sig=$1 code=$2
  trap '' INT TERM
  if [ -n "$BUILD_PID" ]; then
    kill -TERM "$BUILD_PID" 2>/dev/null || true
    wait "$BUILD_PID" 2>/dev/null || true
  fi
  if [ -n "$CMD_PID" ] && kill -0 "$CMD_PID" 2>/dev/null; then
    kill -s "$sig" "$CMD_PID" 2>/dev/null || true
    local _
    for _ in $(seq 30); do
      kill -0 "$CMD_PID" 2>/dev/null || break
      sleep 0.1
    done
  fi
  echo "kernel lab: interrupted (SIG$sig); tearing down ${CLEANUP_LAB:-the lab}" >&2
  exit "$code"
}

# The keeper: the owner of a lab `up` started by hand, so that the lab
# outlives whatever ran `up` (sudo, sh -c, make, CI steps exit at once) and
# lives until `down`. In a session of its own (no hang-up when a terminal
# closes), holding none of our output open. This shell has no job control,
# so the child is no process group leader, setsid does not fork, and $! is
# the keeper itself.
start_keeper() {
  setsid bash -c "cd / && exec -a $KEEPER_NAME sleep infinity" </dev/null >/dev/null 2>&1 &
  KEEPER=$!
}

# The build, under `set -e` in a subshell of its own: the first step that
# fails stops it, and the line says which. Never called under `if`, `||` or
# `!` (bash ignores `set -e` in all that runs there, subshells included); it
# sets BUILD_RC. In the background so that a signal to this script is
# handled at once; TERM stops it between steps.
build() {
  local name=$1
  (
    KLAB_STEP="start"
    stopped=""
    trap 'stopped=1; exit 143' TERM
    trap '[ $? = 0 ] || [ -n "$stopped" ] || echo "kernel lab: $name did not come up: $KLAB_STEP failed" >&2' EXIT
    set -e
    klab_build "$DIR"
  ) &
  BUILD_PID=$!
  BUILD_RC=0
  wait "$BUILD_PID" || BUILD_RC=$?
  BUILD_PID=""
}

# up SCENARIO [--owner PID] [--tag TAG] [--dir DIR] [--set KNOB=VALUE]…;
# sets LAB and DIR.
lab_up() {
  local name=${1:-} owner="" tag="" dir="" kv knob sets=()
  shift || true
  load_scenario "$name"
  while [ $# -gt 0 ]; do
    case $1 in
      --owner) owner=${2:-}; shift 2 || bad "up: --owner needs a pid" ;;
      --tag) tag=${2:-}; shift 2 || bad "up: --tag needs a value" ;;
      --dir) dir=${2:-}; shift 2 || bad "up: --dir needs a folder" ;;
      --set) kv=${2:-}; shift 2 || bad "up: --set needs KNOB=VALUE"; sets+=("$kv") ;;
      *) bad "up: unknown argument \`$1\`; valid: --owner PID, --tag TAG, --dir DIR, --set KNOB=VALUE" ;;
    esac
  done
  for kv in ${sets[@]+"${sets[@]}"}; do
    knob=${kv%%=*}
    # shellcheck disable=SC2086 # echo: the list on one line
    if [[ $kv != *=* || " $(echo $KLAB_KNOBS) " != *" $knob "* ]]; then
      bad "up: --set \`$kv\`: KNOB=VALUE, KNOB one of: $(echo $KLAB_KNOBS)"
    fi
    printf -v "$knob" '%s' "${kv#*=}"
  done
  if [ -n "$owner" ]; then
    case $owner in
      *[!0-9]*) bad "up: --owner \`$owner\` is not a pid" ;;
    esac
    kill -0 "$owner" 2>/dev/null || bad "up: --owner $owner: no such process (the lab would be reaped as stale)"
  fi
  tag=${tag:-$name}
  case $tag in
    '' | [0-9]* | *[!a-z0-9-]*) bad "up: --tag \`$tag\`: lowercase letters, digits and dashes, not starting with a digit" ;;
  esac
  case $dir in
    *$'\n'*) bad "up: --dir: a folder name without a newline" ;;
  esac
  klab_reap
  if [ -n "$owner" ] && labs_here | grep -x "$owner-$tag" >/dev/null; then
    bad "up: lab $owner-$tag already exists (scripts/kernel-lab.sh down $owner-$tag)"
  fi
  [ -n "$owner" ] || { start_keeper; owner=$KEEPER; }
  LAB="$owner-$tag"
  # From here until the lab is up, any way out removes what was built.
  CLEANUP_LAB=$LAB
  DIR=$(realpath -m "${dir:-$(default_dir "$LAB")}")
  mkdir -p "$KLAB_STATE"
  printf 'OWNER=%s\nKEEPER=%s\nDIR=%s\nDIR_GIVEN=%s\n' \
    "$owner" "$KEEPER" "$DIR" "$([ -n "$dir" ] && echo 1 || echo 0)" >"$KLAB_STATE/$LAB.env"
  build "$name"
  if [ "$BUILD_RC" != 0 ]; then
    echo "kernel lab: $name: removing what was built (namespaces, their processes$([ -n "$dir" ] || echo ", $DIR"))" >&2
    exit 1
  fi
  local urls="" h p
  for h in $HOSTS; do
    for p in $PATHS; do urls="$urls http://$h$p"; done
  done
  urls=${urls# }
  KLAB_URLS=$urls
  coldlink_bin
  # Shell-sourceable (values quoted); tests read it as KEY='VALUE' lines.
  cat >"$DIR/lab.env" <<ENV
KLAB_LAB='$LAB'
KLAB_OWNER='$owner'
KLAB_SCENARIO='$name'
KLAB_CAUSE='$CAUSE'
KLAB_NS='$(klab_ns client)'
KLAB_URLS='$urls'
KLAB_DNS='$KLAB_DNS_ADDR:53'
KLAB_PLAN='$PLAN'
KLAB_DIR='$DIR'
KLAB_COLDLINK='$COLDLINK_BIN'
ENV
  DIR_GIVEN=$([ -n "$dir" ] && echo 1 || echo 0)
  CLEANUP_LAB=""
}

# The coldlink binary the printed command names: $COLDLINK, else this
# repository's build (CARGO_TARGET_DIR's, then target/; debug, then
# release), else PATH's. Sets COLDLINK_BIN and COLDLINK_WHY.
coldlink_bin() {
  local t b kind
  if [ -n "${COLDLINK:-}" ]; then
    COLDLINK_BIN=$COLDLINK COLDLINK_WHY="\$COLDLINK"
    return
  fi
  for t in ${CARGO_TARGET_DIR:+"$CARGO_TARGET_DIR"} "$repo/target"; do
    for kind in debug release; do
      b="$t/$kind/coldlink"
      if [ -x "$b" ]; then
        COLDLINK_BIN=$(realpath "$b") COLDLINK_WHY="this repository's $kind build"
        return
      fi
    done
  done
  if b=$(command -v coldlink); then
    COLDLINK_BIN=$b COLDLINK_WHY="the first on PATH"
    return
  fi
  COLDLINK_BIN=coldlink COLDLINK_WHY="not built: run \`cargo build\` in $repo"
}

# MODE: up (the lab stays) or run (it goes when CMD ends).
print_lab() {
  local mode=$1 owner files
  if [ "$mode" = run ]; then
    owner="pid ${LAB%%-*}, this run: the lab is removed when CMD ends"
    if [ "$DIR_GIVEN" = 1 ]; then
      files="$DIR (nginx and dnsmasq configs, pids, logs; kept: --dir)"
    else
      files="$DIR (nginx and dnsmasq configs, pids, logs; removed when CMD ends, --dir DIR keeps them)"
    fi
  else
    if [ -n "$KEEPER" ]; then
      owner="pid $KEEPER, a keeper process \`up\` started: the lab lives until \`down\`"
    else
      owner="pid ${LAB%%-*} (--owner): the lab is stale once it is gone (the next up or reap removes it)"
    fi
    if [ "$DIR_GIVEN" = 1 ]; then
      files="$DIR (nginx and dnsmasq configs, pids, logs; kept by down: --dir)"
    else
      files="$DIR (nginx and dnsmasq configs, pids, logs; removed by down)"
    fi
  fi
  cat <<TEXT
kernel lab $LAB: $name — $SUMMARY
  URLs:       $KLAB_URLS
  DNS server: $KLAB_DNS_ADDR:53 (also the client namespace's resolv.conf)
  client ns:  $(klab_ns client)
  owner:      $owner
  files:      $files
  expect:     $CAUSE
  coldlink:   $COLDLINK_BIN ($COLDLINK_WHY; COLDLINK=PATH chooses another)
TEXT
  if [ "$mode" = up ]; then
    cat <<TEXT
  run:        ip netns exec $(klab_ns client) $COLDLINK_BIN diagnose $KLAB_URLS --dns-server $KLAB_DNS_ADDR:53 $PLAN
  down:       $0 down $LAB
TEXT
  fi
}

cmd=${1:-}
shift || true
case $cmd in
  -h | --help | help) usage ;;
  check) check ;;
  reap)
    check
    klab_reap
    ;;
  up)
    name=${1:-}
    load_scenario "$name"
    check
    trap on_exit EXIT
    trap 'on_signal INT 130' INT
    trap 'on_signal TERM 143' TERM
    lab_up "$@"
    trap - INT TERM # the lab is up: it stays
    print_lab up
    ;;
  down)
    [ $# = 1 ] || bad "down: give one LAB (PID-TAG as \`up\` printed it)"
    check
    lab_down "$1"
    ;;
  run)
    name=${1:-}
    [ -n "$name" ] || bad "run: which scenario? one of: $(scenarios | tr '\n' ' ')"
    shift
    args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
      [ "$1" != --owner ] || bad "run: --owner is this run itself; valid: --tag TAG, --dir DIR, --set KNOB=VALUE"
      args+=("$1")
      shift
    done
    [ "${1:-}" = -- ] || bad "run: \`-- CMD…\` is missing"
    shift
    [ $# -gt 0 ] || bad "run: no CMD after --"
    load_scenario "$name"
    check
    trap on_exit EXIT
    trap 'on_signal INT 130' INT
    trap 'on_signal TERM 143' TERM
    lab_up "$name" --owner $$ ${args[@]+"${args[@]}"}
    CLEANUP_LAB=$LAB
    print_lab run >&2
    # CMD in the background, so that a signal to this script is handled at
    # once (bash runs a trap only after a foreground child ends); stdin
    # kept (a background job's is /dev/null otherwise); INT and QUIT back
    # to their defaults (a background job ignores them without job control).
    ip netns exec "$(klab_ns client)" env --default-signal=INT,QUIT \
      KLAB_URLS="$KLAB_URLS" KLAB_DNS="$KLAB_DNS_ADDR:53" KLAB_PLAN="$PLAN" \
      KLAB_COLDLINK="$COLDLINK_BIN" KLAB_DIR="$DIR" "$@" <&0 &
    CMD_PID=$!
    rc=0
    wait "$CMD_PID" || rc=$?
    CMD_PID=""
    exit "$rc"
    ;;
  '') usage >&2; exit 2 ;;
  *) bad "unknown command \`$cmd\`; valid: up, down, run, reap, check, --help" ;;
esac

#!/usr/bin/env bash
# The kernel lab: the path coldlink exists for, built from the real kernel,
# Debian's nginx and dnsmasq inside throw-away network namespaces (see
# docs/lab.md, "The kernel lab", and scripts/kernel-lab/topology.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/netns.sh
. "$here/lib/netns.sh"
# shellcheck source=kernel-lab/topology.sh
. "$here/kernel-lab/topology.sh"

scenarios() {
  local f
  for f in "$here"/kernel-lab/scenarios/*.sh; do
    basename "$f" .sh
  done
}

usage() {
  cat <<USAGE
usage: scripts/kernel-lab.sh COMMAND …

  up SCENARIO [--owner PID] [--tag TAG] [--dir DIR]
      build the lab (namespaces clk-PID-TAG-ROLE), print its URLs, DNS server,
      client namespace and the coldlink command to run in it. PID defaults to
      the caller's (the lab counts as stale once it is gone), TAG to the
      scenario, DIR (configs, pids, logs) to \${TMPDIR:-/tmp}/kernel-lab.PID-TAG
  down LAB      tear down clk-LAB-* (LAB = PID-TAG as \`up\` printed, or a PID
                for all of its labs) and remove its default DIR
  run SCENARIO [--dir DIR] -- CMD…
      up, run CMD in the client namespace (with KLAB_URLS, KLAB_DNS, KLAB_PLAN
      in its environment), then down, whatever CMD did; exits with CMD's code
  reap          remove the namespaces of runs whose owner process is gone
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

lab_down() {
  local lab=$1 role dir
  case $lab in
    [0-9]*) ;;
    *) bad "down: \`$lab\` is not a lab (PID-TAG, or a PID)" ;;
  esac
  case $lab in
    *[!0-9]*) for role in $KLAB_ROLES; do netns_delete "$(klab_ns_of "$lab" "$role")"; done ;;
    *) netns_teardown "$lab" ;;
  esac
  dir=$(default_dir "$lab")
  [ ! -f "$dir/lab.env" ] || rm -rf "$dir"
}

klab_ns_of() { echo "$NETNS_PREFIX-$1-$2"; }

# up SCENARIO [--owner PID] [--tag TAG] [--dir DIR]; sets LAB and DIR.
lab_up() {
  local name=${1:-} owner=$PPID tag="" dir=""
  shift || true
  load_scenario "$name"
  while [ $# -gt 0 ]; do
    case $1 in
      --owner) owner=${2:-}; shift 2 || bad "up: --owner needs a pid" ;;
      --tag) tag=${2:-}; shift 2 || bad "up: --tag needs a value" ;;
      --dir) dir=${2:-}; shift 2 || bad "up: --dir needs a folder" ;;
      *) bad "up: unknown argument \`$1\`; valid: --owner PID, --tag TAG, --dir DIR" ;;
    esac
  done
  case $owner in
    '' | *[!0-9]*) bad "up: --owner \`$owner\` is not a pid" ;;
  esac
  kill -0 "$owner" 2>/dev/null || bad "up: --owner $owner: no such process (the lab would be reaped as stale)"
  tag=${tag:-$name}
  case $tag in
    '' | [0-9]* | *[!a-z0-9-]*) bad "up: --tag \`$tag\`: lowercase letters, digits and dashes, not starting with a digit" ;;
  esac
  LAB="$owner-$tag"
  DIR=${dir:-$(default_dir "$LAB")}
  netns_reap_stale
  if ip netns list | awk '{print $1}' | grep -qx "$(klab_ns client)"; then
    bad "up: lab $LAB already exists (scripts/kernel-lab.sh down $LAB)"
  fi
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  if ! klab_build "$DIR"; then
    lab_down "$LAB"
    echo "kernel lab: $name did not come up" >&2
    exit 1
  fi
  local urls="" h p
  for h in $HOSTS; do
    for p in $PATHS; do urls="$urls http://$h$p"; done
  done
  urls=${urls# }
  KLAB_URLS=$urls
  # Shell-sourceable (values quoted); tests read it as KEY='VALUE' lines.
  cat >"$DIR/lab.env" <<ENV
KLAB_LAB='$LAB'
KLAB_SCENARIO='$name'
KLAB_CAUSE='$CAUSE'
KLAB_NS='$(klab_ns client)'
KLAB_URLS='$urls'
KLAB_DNS='$KLAB_DNS_ADDR:53'
KLAB_PLAN='$PLAN'
KLAB_DIR='$DIR'
ENV
}

print_lab() {
  cat <<TEXT
kernel lab $LAB: $name — $SUMMARY
  URLs:       $KLAB_URLS
  DNS server: $KLAB_DNS_ADDR:53 (also the client namespace's resolv.conf)
  client ns:  $(klab_ns client)
  files:      $DIR (nginx and dnsmasq configs, pids, logs)
  expect:     $CAUSE
  run:        ip netns exec $(klab_ns client) coldlink diagnose $KLAB_URLS --dns-server $KLAB_DNS_ADDR:53 $PLAN
  down:       scripts/kernel-lab.sh down $LAB
TEXT
}

cmd=${1:-}
shift || true
case $cmd in
  -h | --help | help) usage ;;
  check) check ;;
  reap) check; netns_reap_stale ;;
  up)
    name=${1:-}
    load_scenario "$name"
    check
    lab_up "$@"
    print_lab
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
    while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
    [ "${1:-}" = -- ] || bad "run: \`-- CMD…\` is missing"
    shift
    [ $# -gt 0 ] || bad "run: no CMD after --"
    load_scenario "$name"
    check
    LAB="$$-$name"
    trap 'lab_down "$LAB"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    lab_up "$name" --owner $$ "${args[@]}"
    print_lab >&2
    set +e
    ip netns exec "$(klab_ns client)" env \
      KLAB_URLS="$KLAB_URLS" \
      KLAB_DNS="$KLAB_DNS_ADDR:53" KLAB_PLAN="$PLAN" "$@"
    rc=$?
    set -e
    exit $rc
    ;;
  '') usage >&2; exit 2 ;;
  *) bad "unknown command \`$cmd\`; valid: up, down, run, reap, check, --help" ;;
esac

#!/usr/bin/env bash
# The project's test command (the README's second quick-start command, and
# what .ci/run calls). It installs what the tests need, idempotently, then
# runs the whole suite. Every server the tests talk to is started by the
# tests themselves on loopback: the lab's, and moto's server as the X-Ray API
# and LocalStack's core as the CloudWatch API (installed here into
# target/aws-emulators by scripts/aws-emulators.sh). The dashboard's
# end-to-end tests drive `coldlink watch` in tmux, installed here if missing.
# The keep-warm alert rules are checked with promtool, installed likewise,
# the mutual TLS tests need Debian's nginx, and the kernel lab nftables,
# dnsmasq, tcpdump and sudo (as root only).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v tmux >/dev/null; then
  echo "test: installing tmux from Debian's packages" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
fi
# Mutual TLS is tested against Debian's nginx (tests/it/mtls/nginx.rs).
if [ ! -x /usr/sbin/nginx ]; then
  echo "test: installing nginx from Debian's packages" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi
# The kernel lab (tests/it/kernel_lab/, scripts/kernel-lab.sh) builds the
# path in network namespaces with nftables, Debian's nginx and dnsmasq, and
# the phase-fidelity check reads packet times with tcpdump. It needs root;
# without it the tests say they skipped (never silently).
if [ "$(id -u)" = 0 ]; then
  missing=""
  command -v nft >/dev/null || missing="$missing nftables"
  command -v dnsmasq >/dev/null || missing="$missing dnsmasq-base"
  command -v tcpdump >/dev/null || missing="$missing tcpdump"
  # docs/lab.md runs the lab through sudo; tests/it/kernel_lab/terminal.rs too.
  command -v sudo >/dev/null || missing="$missing sudo"
  if [ -n "$missing" ]; then
    echo "test: installing$missing from Debian's packages" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
fi
# One line per group of tests that needs this machine's privileges, before
# the suite: each such test says so when it skips, but `cargo test` shows a
# passing test's output only when it fails, so the log says it here
# (.ci/run repeats these lines in its summary).
if why=$(bash scripts/kernel-lab.sh check 2>&1); then
  echo "kernel lab: runs (root, ip, nft, nginx, dnsmasq): tests/it/kernel_lab/"
else
  echo "${why:-kernel lab: skipped: scripts/kernel-lab.sh check failed}"
fi
# tests/it/phase_fidelity.rs (scripts/phase-fidelity.sh, without curl) and
# tests/it/syn_schedule.rs: the same checks as theirs.
needs() {
  local what=$1 tool
  shift
  if [ "$(id -u)" != 0 ]; then
    echo "$what: skipped: needs root (network namespaces, nftables)"
    return 1
  fi
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null && [ ! -x "/usr/sbin/$tool" ]; then
      echo "$what: skipped: \`$tool\` is not installed"
      return 1
    fi
  done
}
if needs "phase fidelity" ip nft tcpdump python3; then
  echo "phase fidelity: runs (root, ip, nft, tcpdump, python3): tests/it/phase_fidelity.rs"
fi
if needs "syn schedule" ip nft python3; then
  if [ -e /proc/sys/net/ipv4/tcp_syn_linear_timeouts ]; then
    echo "syn schedule: runs (root, nft, tcp_syn_linear_timeouts): tests/it/syn_schedule.rs"
  else
    echo "syn schedule: skipped: this kernel has no tcp_syn_linear_timeouts"
  fi
fi
scripts/aws-emulators.sh
# The shipped alert rules: promtool's own check and rule tests (it installs
# Debian's prometheus package for promtool when missing; its server is the
# one tests/it/fleet.rs scrapes two daemons with).
scripts/check-prometheus-rules.sh
cargo test --locked "$@"

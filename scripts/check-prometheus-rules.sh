#!/usr/bin/env bash
# Checks the shipped Prometheus rules (deploy/prometheus/): that they parse
# (`promtool check rules`), that the recording rules compute what they
# should and that the alerts fire, and stay quiet, on the series of
# coldlink-rules.test.yml (`promtool test rules`). The Grafana dashboard's
# PromQL is checked by tests/it/keepwarm/dashboard.rs, with promtool too.
# Installs promtool (Debian's package `prometheus`) only when it is missing;
# the same package's server, `prometheus`, is what tests/it/fleet.rs scrapes
# the daemons with (it skips, saying so, without it).
#
#   scripts/check-prometheus-rules.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  echo "check-prometheus-rules: promtool or prometheus missing; installing Debian's prometheus package" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

promtool check rules deploy/prometheus/coldlink-rules.yml
# Rule files in a test file are relative to it.
promtool test rules deploy/prometheus/coldlink-rules.test.yml

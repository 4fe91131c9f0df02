#!/usr/bin/env bash
# The project's test command (the README's second quick-start command, and
# what .ci/run calls). It installs what the tests need, idempotently, then
# runs the whole suite. Every server the tests talk to is started by the
# tests themselves on loopback: the lab's, and moto's server as the X-Ray API
# and LocalStack's core as the CloudWatch API (installed here into
# target/aws-emulators by scripts/aws-emulators.sh). The dashboard's
# end-to-end tests drive `coldlink watch` in tmux, installed here if missing.
# The keep-warm alert rules are checked with promtool, installed likewise,
# and the mutual TLS tests need Debian's nginx.
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
scripts/aws-emulators.sh
# The shipped alert rules: promtool's own check and rule tests (it installs
# Debian's prometheus package for promtool when missing).
scripts/check-prometheus-rules.sh
cargo test --locked "$@"

#!/usr/bin/env bash
# The project's test command (the README's second quick-start command, and
# what .ci/run calls). It installs what the tests need, idempotently, then
# runs the whole suite. Every server the tests talk to is started by the
# tests themselves on loopback: the lab's, and moto's server as the X-Ray API
# (installed here into target/aws-emulators by scripts/aws-emulators.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/aws-emulators.sh
cargo test --locked "$@"

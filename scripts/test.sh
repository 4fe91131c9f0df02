#!/usr/bin/env bash
# The project's test command (the README's second quick-start command, and
# what .ci/run calls). It installs what the tests need, idempotently, then
# runs the whole suite. Today the suite needs nothing beyond cargo: every
# server it talks to is started by the tests themselves on 127.0.0.1:0.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked "$@"

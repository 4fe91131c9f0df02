#!/usr/bin/env bash
# Installs the AWS API emulators the tests start on loopback, idempotently,
# into target/aws-emulators/ (nothing outside the checkout is touched):
#   moto/   moto's server, the X-Ray API (PutTraceSegments, BatchGetTraces).
# A venv whose marker file names the pinned version is reused as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
root=target/aws-emulators
MOTO_VERSION=5.2.5

python=${PYTHON:-python3}
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
  echo "aws-emulators: $python has no venv/ensurepip; installing python3-venv" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi

if [ "$(cat "$root/moto/.installed" 2>/dev/null)" != "$MOTO_VERSION" ]; then
  echo "aws-emulators: installing moto[server]==$MOTO_VERSION into $root/moto" >&2
  rm -rf "$root/moto"
  mkdir -p "$root"
  "$python" -m venv "$root/moto"
  "$root/moto/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  echo "$MOTO_VERSION" >"$root/moto/.installed"
fi

#!/usr/bin/env bash
# Installs the AWS API emulators the tests start on loopback, idempotently,
# into target/aws-emulators/ (nothing outside the checkout is touched):
#   moto/        moto's server, the X-Ray API (PutTraceSegments, BatchGetTraces);
#   localstack/  LocalStack's core runtime, the CloudWatch API (PutMetricData, GetMetricData).
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

# LocalStack's core runtime, the CloudWatch API in the Smithy RPC v2 CBOR
# protocol that aws-sdk-cloudwatch speaks (moto does not). It needs Python
# 3.13 or newer (it imports warnings.deprecated, new in 3.13):
# LOCALSTACK_PYTHON, else python3.14/python3.13 on PATH, else pyenv's. The pins below are those ../shared/design/AWS-EMULATORS.md found
# to work: cbor2 6 removed a module it imports, pyOpenSSL 26 an API its
# start-up uses, and service_identity must not pull a newer cryptography.
LOCALSTACK_VERSION=2026.3.0
LOCALSTACK_MARK="$LOCALSTACK_VERSION py3.13+"
find_python313() {
  local candidates=("${LOCALSTACK_PYTHON:-}" python3.14 python3.13)
  candidates+=("$HOME"/.pyenv/versions/3.1[3-9]*/bin/python3)
  for p in "${candidates[@]}"; do
    [ -n "$p" ] || continue
    if "$p" -c 'import sys, venv; sys.exit(sys.version_info < (3, 13))' 2>/dev/null; then
      command -v "$p" 2>/dev/null || echo "$p"
      return 0
    fi
  done
  return 1
}
if [ "$(cat "$root/localstack/.installed" 2>/dev/null)" != "$LOCALSTACK_MARK" ]; then
  if ! py=$(find_python313); then
    echo "aws-emulators: LocalStack (the CloudWatch API for the tests) needs Python >= 3.13;" >&2
    echo "  none found (tried \$LOCALSTACK_PYTHON, python3.14, python3.13, ~/.pyenv/versions/3.1[3-9]*)." >&2
    echo "  Install one, or point LOCALSTACK_PYTHON at it." >&2
    exit 2
  fi
  echo "aws-emulators: installing localstack-core==$LOCALSTACK_VERSION with $py into $root/localstack (2-4 minutes)" >&2
  rm -rf "$root/localstack"
  mkdir -p "$root"
  "$py" -m venv "$root/localstack"
  "$root/localstack/bin/pip" install -q --disable-pip-version-check "localstack-core[runtime]==$LOCALSTACK_VERSION"
  "$root/localstack/bin/pip" install -q --disable-pip-version-check service_identity 'cryptography<47' 'pyopenssl<26' 'cbor2<6'
  echo "$LOCALSTACK_MARK" >"$root/localstack/.installed"
fi

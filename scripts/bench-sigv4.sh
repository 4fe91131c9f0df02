#!/usr/bin/env bash
# The cost of signing a probe (--sigv4), in two parts.
#
#   scripts/bench-sigv4.sh [N]        # both parts
#   E2E=0 scripts/bench-sigv4.sh      # the first only
#
# 1. Per signature: builds, in $CARGO_TARGET_DIR/bench-sigv4/ (default
# target/; outside the project's own build), a small optimised program that
# makes exactly the calls src/probe/sigv4.rs makes for each probe
# (Signer::sign_with: the SigV4 parameters with the time,
# the signable request from the pieces prepared once per target, aws-sigv4's
# sign, the three headers as sensitive HeaderValues) with the crate
# versions in Cargo.lock, then signs N requests and prints ns per signature
# (best of 5 rounds).
#
# 2. End to end (E2E=1, the default): coldlink's release build (COLDLINK=path
# to use another) against the loopback nginx of scripts/lib/nginx.sh, which
# ignores the signature. Signed and unsigned keep-alive bursts alternate,
# E2E_ROUNDS rounds (default 5) of E2E_N probes with 50 in flight (default
# 50 000) and E2E_SERIAL_N with one in flight (default 5 000, where no other
# probe shares the thread), each writing its records (--out) so that the
# phases are read to the microsecond. Prints per setting requests/s and CPU
# µs per request (medians of the rounds) and p50 / p99 of queue, send, ttfb
# and total over all rounds' records: a probe's signature shows in its
# queue (it is signed before it takes a connection), not in its send or
# ttfb; with 50 in flight the others' signing, which keeps the one probe
# thread busy, does (docs/performance.md). Then, with
# valgrind, user-space instructions per keep-alive request signed and
# unsigned (callgrind, the difference of 2 000 and 1 000 probes; SIGV4_IR
# to change). Credentials: a fixed example key pair and a 350-character
# session token in the environment, region eu-west-1; no AWS call is made.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
dir=${CARGO_TARGET_DIR:-target}/bench-sigv4
mkdir -p "$dir/src"
ver() { awk -v n="$1" '$0=="name = \""n"\"" {getline; gsub(/version = |"/,""); print; exit}' Cargo.lock; }
cat >"$dir/Cargo.toml" <<TOML
[package]
name = "bench-sigv4"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
aws-credential-types = "=$(ver aws-credential-types)"
aws-sigv4 = { version = "=$(ver aws-sigv4)", default-features = false, features = ["sign-http", "http1"] }
aws-smithy-runtime-api = "=$(ver aws-smithy-runtime-api)"
http = "=$(ver http)"

[profile.release]
debug = "line-tables-only"

[workspace]
TOML
cat >"$dir/src/main.rs" <<'RUST'
use std::borrow::Cow;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::{HeaderName, HeaderValue};

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let identity: Identity = Credentials::new(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN".repeat(10)),
        None,
        "bench",
    )
    .into();
    // What Signer::new prepares once per target.
    let mut settings = SigningSettings::default();
    settings.excluded_headers = None;
    let (region, service, method) = ("eu-west-1".to_string(), "execute-api".to_string(), "GET".to_string());
    let uri = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/test/pets?limit=10&page=2".to_string();
    let headers: Vec<(String, String)> = vec![
        ("host".into(), "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com".into()),
        ("accept".into(), "*/*".into()),
    ];
    let payload = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_string();
    let t0 = SystemTime::now();
    let one = |i: u32| {
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name(&service)
            .time(t0 + Duration::from_millis(i as u64))
            .settings(settings.clone())
            .build()
            .unwrap()
            .into();
        let request = SignableRequest::new(
            &method,
            Cow::Borrowed(uri.as_str()),
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Precomputed(payload.clone()),
        )
        .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let (out, _) = instructions.into_parts();
        let mut sent = Vec::with_capacity(out.len());
        for h in out {
            let mut value = HeaderValue::from_str(h.value()).unwrap();
            value.set_sensitive(true);
            sent.push((HeaderName::from_static(h.name()), value));
        }
        sent
    };
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        for i in 0..n {
            std::hint::black_box(one(i));
        }
        best = best.min(start.elapsed().as_nanos() as f64 / n as f64);
    }
    println!("{n} signatures per round, best of 5: {best:.0} ns per signature");
}
RUST
cargo build --quiet --release --offline --manifest-path "$dir/Cargo.toml" --target-dir "$dir/target"
"$dir/target/release/bench-sigv4" "$n"

[ "${E2E:-1}" = 0 ] && exit 0

. scripts/lib/nginx.sh
. scripts/lib/instructions.sh
E2E_N=${E2E_N:-50000}
E2E_SERIAL_N=${E2E_SERIAL_N:-5000}
E2E_ROUNDS=${E2E_ROUNDS:-5}
SIGV4_IR=${SIGV4_IR:-"1000 2000"}
CONC=50
if [ -z "${COLDLINK:-}" ]; then
  cargo build --release --locked -q
  COLDLINK=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/coldlink
fi
work=$(mktemp -d)
cleanup() {
  stop_nginx "$work"
  rm -rf "$work"
}
trap cleanup EXIT
start_nginx "$work"
URL="http://127.0.0.1:$port/"

# The signed runs' environment: credentials from the environment (the
# first link of the chain), no instance metadata, no profile files.
signed_vars=(AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
  AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
  AWS_SESSION_TOKEN="$(printf 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN%.0s' $(seq 10))"
  AWS_REGION=eu-west-1 AWS_EC2_METADATA_DISABLED=true
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null)
# signed SIGNED(0/1) COMMAND… → COMMAND, with --sigv4 and its environment when 1
signed() {
  local on=$1; shift
  if [ "$on" = 1 ]; then
    (export "${signed_vars[@]}"; "$@" --sigv4 --region eu-west-1)
  else
    "$@"
  fi
}

echo
echo "machine: $(nproc) cores, CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; coldlink $("$COLDLINK" --version | cut -d' ' -f2) ($COLDLINK, built $(date -u -r "$COLDLINK" +%FT%TZ); source tree at $(git rev-parse --short HEAD 2>/dev/null || echo unknown)); $(date -u +%F)"
"$COLDLINK" probe "$URL" -n 2000 -c "$CONC" -q >/dev/null  # warm up nginx
for round in $(seq "$E2E_ROUNDS"); do
  for setting in "$E2E_N $CONC" "$E2E_SERIAL_N 1"; do
    read -r n c <<<"$setting"
    order=(0 1); [ $((round % 2)) = 0 ] && order=(1 0)
    for signed in "${order[@]}"; do
      rm -f "$work/records"
      signed "$signed" python3 scripts/lib/timed.py "$work/timed" "$COLDLINK" probe "$URL" \
        -n "$n" -c "$c" --connections reuse -q --out "$work/records" \
        >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
      read -r elapsed user sys _ <"$work/timed"
      # One line per run, then the four phases of each record.
      python3 - "$work/records" "$n" "$c" "$signed" "$elapsed" "$user" "$sys" >>"$work/runs" <<'PY'
import json, sys
path, n, c, signed, elapsed, user, sys_ = sys.argv[1:]
n = int(n)
rows = []
for line in open(path):
    r = json.loads(line)
    if r["error"] is not None or r["status"] != 200:
        sys.exit(f"a probe failed: {line}")
    p = r["phases_ms"]
    rows.append((p["queue"], p["send"], p["ttfb"], r["total_ms"]))
if len(rows) != n:
    sys.exit(f"{len(rows)} of {n} records")
with open(f"{path}.{c}.{signed}.tsv", "a") as out:
    out.writelines("%s %s %s %s\n" % row for row in rows)
print(c, signed, n / float(elapsed), (float(user) + float(sys_)) / n * 1e6)
PY
      cat "$work/records.$c.$signed.tsv" >>"$work/phases.$c.$signed"
      rm -f "$work/records.$c.$signed.tsv"
    done
  done
done

echo
echo "Signed and unsigned keep-alive bursts, $E2E_ROUNDS rounds each, interleaved; ms, p50 / p99 over all rounds' records:"
echo
echo "| probes | in flight | probes per run | requests/s (median) | CPU µs/request (median) | queue | send | ttfb | total |"
echo "|---|---|---|---|---|---|---|---|---|"
python3 - "$work" "$CONC" "$E2E_N" "$E2E_SERIAL_N" <<'PY'
import math, statistics, sys
work, conc, n_conc, n_serial = sys.argv[1:]
runs = {}
for line in open(f"{work}/runs"):
    c, signed, rps, cpu = line.split()
    runs.setdefault((c, signed), []).append((float(rps), float(cpu)))
def pct(xs, p):
    return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)]
medians = {}
for c, n in ((conc, n_conc), ("1", n_serial)):
    for signed in ("0", "1"):
        cols = list(zip(*(tuple(map(float, l.split())) for l in open(f"{work}/phases.{c}.{signed}"))))
        cols = [sorted(col) for col in cols]
        medians[(c, signed)] = [pct(col, 50) for col in cols]
        rps = statistics.median(r for r, _ in runs[(c, signed)])
        cpu = statistics.median(u for _, u in runs[(c, signed)])
        runs[(c, signed)] = (rps, cpu)
        phases = " | ".join(f"{pct(col, 50):.3f} / {pct(col, 99):.3f}" for col in cols)
        print(f"| {'signed' if signed == '1' else 'unsigned'} | {c} | {n} | {rps:.0f} | {cpu:.1f} | {phases} |")
print()
for c in (conc, "1"):
    d = [(s - u) * 1000 for s, u in zip(medians[(c, "1")], medians[(c, "0")])]
    print(f"{c} in flight: signing moved the medians by queue {d[0]:+.1f} µs, send {d[1]:+.1f} µs, "
          f"ttfb {d[2]:+.1f} µs, total {d[3]:+.1f} µs; CPU per request "
          f"{runs[(c, '1')][1] - runs[(c, '0')][1]:+.1f} µs")
PY

echo
if ! have_callgrind; then
  echo "valgrind not installed: instructions not counted"
else
  read -r ir_short ir_long <<<"$SIGV4_IR"
  echo "| probes | user-space instructions per keep-alive request ($CONC in flight) | counted over (callgrind, difference) |"
  echo "|---|---|---|"
  for signed in 0 1; do
    label=unsigned; [ $signed = 1 ] && label=signed
    ir=$(signed $signed ir_per_request "$ir_short" "$ir_long" "$COLDLINK" probe "$URL" \
      -n '{n}' -c "$CONC" --connections reuse -q) || ir=failed
    echo "| $label | $ir | $ir_long − $ir_short probes |"
  done
fi

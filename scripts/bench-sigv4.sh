#!/usr/bin/env bash
# The cost of signing one probe (--sigv4), per probe, on this CPU.
#
# Builds, in target/bench-sigv4/ (outside the project's own build), a small
# optimised program that makes exactly the calls src/probe/sigv4.rs makes
# for each probe (Signer::sign_with: the SigV4 parameters with the time,
# the signable request from the pieces prepared once per target, aws-sigv4's
# sign, the three headers as sensitive HeaderValues) with the crate
# versions in Cargo.lock, then signs N requests and prints ns per signature
# (best of 5 rounds). Usage: scripts/bench-sigv4.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
dir=target/bench-sigv4
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

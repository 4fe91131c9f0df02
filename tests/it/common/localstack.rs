//! LocalStack's core runtime as the CloudWatch API, on a free loopback
//! port, for the duration of a test. `scripts/test.sh` installs it into
//! `target/aws-emulators/localstack` (or set `COLDLINK_LOCALSTACK_PYTHON` to
//! a Python that has `localstack-core`). moto cannot stand in: it does not
//! speak the Smithy RPC v2 CBOR protocol aws-sdk-cloudwatch uses.
//!
//! Every variable set below keeps it on loopback and to itself (see
//! ../shared/design/AWS-EMULATORS.md). Its folder,
//! `target/aws-emulators/localstack-root`, keeps the service catalogue it
//! builds on its first call (about 4 s) between runs; metrics live in
//! memory only. One instance at a time per test binary shares that folder:
//! run these tests with `cargo test` (one process per binary), not with a
//! runner that starts a process per test.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::server_process::start_on_free_port;

pub struct LocalStack {
    child: Child,
    pub endpoint: String,
    _one_at_a_time: tokio::sync::OwnedMutexGuard<()>,
}

/// A guard that can move to another thread (a test may start LocalStack in
/// `spawn_blocking`), unlike std's.
static ONE_AT_A_TIME: std::sync::LazyLock<std::sync::Arc<tokio::sync::Mutex<()>>> =
    std::sync::LazyLock::new(Default::default);

impl Drop for LocalStack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("COLDLINK_LOCALSTACK_PYTHON") {
        return p.into();
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/aws-emulators/localstack/bin/python")
}

impl LocalStack {
    /// Start LocalStack with CloudWatch only and wait until it says it is
    /// available. Panics, naming what to run, when it is not installed.
    pub fn start() -> LocalStack {
        let python = python();
        assert!(
            python.exists(),
            "LocalStack is not at {}: run scripts/test.sh, which installs it (scripts/aws-emulators.sh)",
            python.display()
        );
        // Not from inside a runtime: call it directly or in spawn_blocking.
        let guard = ONE_AT_A_TIME.clone().blocking_lock_owned();
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/aws-emulators/localstack-root");
        std::fs::create_dir_all(&root).expect("LocalStack's folder");
        let spawn = |port: u16| {
            let log = std::fs::File::create(root.join("localstack.log")).expect("log file");
            Command::new(&python)
                .args(["-m", "localstack.runtime.main"])
                .env("OVERRIDE_IN_DOCKER", "0")
                .env("FILESYSTEM_ROOT", &root)
                .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
                .env("GATEWAY_SERVER", "hypercorn")
                .env("SERVICES", "cloudwatch")
                .env("DISABLE_EVENTS", "1")
                .env("SKIP_SSL_CERT_DOWNLOAD", "1")
                .env("DNS_ADDRESS", "0")
                .env("ANALYTICS_API", "http://127.0.0.1:9")
                .env("API_ENDPOINT", "http://127.0.0.1:9")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start LocalStack")
        };
        if let Some((child, port)) = start_on_free_port(spawn, health_says_available, Duration::from_secs(60))
        {
            return LocalStack {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
                _one_at_a_time: guard,
            };
        }
        let log = std::fs::read_to_string(root.join("localstack.log")).unwrap_or_default();
        panic!("LocalStack did not start in three tries; its log:\n{log}");
    }

    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        cloudwatch_client(&self.endpoint)
    }
}

/// `GET /_localstack/health` lists `"cloudwatch": "available"`.
fn health_says_available(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req =
        format!("GET /_localstack/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.contains("\"cloudwatch\": \"available\"") || body.contains("\"cloudwatch\":\"available\"")
}

/// A CloudWatch client with static test credentials against `endpoint`.
pub fn cloudwatch_client(endpoint: &str) -> aws_sdk_cloudwatch::Client {
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    aws_sdk_cloudwatch::Client::from_conf(config)
}

//! moto's server as the X-Ray API, on a free loopback port, for the
//! duration of a test. `scripts/test.sh` installs it into
//! `target/aws-emulators/moto` (or set `COLDLINK_MOTO_SERVER`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::server_process::start_on_free_port;

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_path() -> PathBuf {
    if let Some(p) = std::env::var_os("COLDLINK_MOTO_SERVER") {
        return p.into();
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/aws-emulators/moto/bin/moto_server")
}

impl Moto {
    /// Start moto and wait until it answers. Panics, naming what to run,
    /// when moto is not installed.
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// With moto's IAM checks on from the first call: only credentials
    /// moto's own IAM knows are accepted.
    pub fn start_with_auth() -> Moto {
        Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")])
    }

    fn start_with(env: &[(&str, &str)]) -> Moto {
        let path = server_path();
        assert!(
            path.exists(),
            "moto's server is not at {}: run scripts/test.sh, which installs it (scripts/aws-emulators.sh)",
            path.display()
        );
        let spawn = |port: u16| {
            Command::new(&path)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server")
        };
        let ready = |port: u16| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if let Some((child, port)) = start_on_free_port(spawn, ready, Duration::from_secs(30)) {
            return Moto {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
        }
        panic!("moto's server did not start on a free port in three tries");
    }

    pub fn xray(&self) -> aws_sdk_xray::Client {
        xray_client(&self.endpoint)
    }
}

/// A client of service crate `$sdk` with static test credentials, in
/// us-east-1, against `$endpoint`: every service crate has the same
/// builder, under its own types.
macro_rules! test_client {
    ($sdk:ident, $endpoint:expr) => {
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version_latest()
                .region($sdk::config::Region::new("us-east-1"))
                .endpoint_url($endpoint)
                .credentials_provider($sdk::config::Credentials::new("test", "test", None, None, "test"))
                .build(),
        )
    };
}

/// An X-Ray client with static test credentials against `endpoint`.
pub fn xray_client(endpoint: &str) -> aws_sdk_xray::Client {
    test_client!(aws_sdk_xray, endpoint)
}

/// moto's venv python (with boto3), for seeding scripts.
pub fn python_path() -> PathBuf {
    server_path().with_file_name("python")
}

impl Moto {
    /// Run a seeding script (`SCRIPT ENDPOINT`) with moto's python and
    /// parse the JSON it prints.
    pub fn seed(&self, script: &std::path::Path) -> serde_json::Value {
        let out = Command::new(python_path())
            .arg(script)
            .arg(&self.endpoint)
            .output()
            .expect("run the seeding script with moto's python");
        assert!(
            out.status.success(),
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the seeding script prints JSON")
    }

    pub fn apigateway(&self) -> aws_sdk_apigateway::Client {
        test_client!(aws_sdk_apigateway, &self.endpoint)
    }

    pub fn apigatewayv2(&self) -> aws_sdk_apigatewayv2::Client {
        test_client!(aws_sdk_apigatewayv2, &self.endpoint)
    }

    pub fn elbv2(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        test_client!(aws_sdk_elasticloadbalancingv2, &self.endpoint)
    }
}

//! moto's server as the X-Ray API, on a free loopback port, for the
//! duration of a test. `scripts/test.sh` installs it into
//! `target/aws-emulators/moto` (or set `COLDLINK_MOTO_SERVER`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
        // moto takes a port number, not a socket: take a free one from the
        // kernel and hand it over; if another process wins the race, retry.
        for _ in 0..3 {
            let port = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                l.local_addr().expect("addr").port()
            };
            let mut child = Command::new(&path)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server");
            let until = Instant::now() + Duration::from_secs(30);
            while Instant::now() < until {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // exited: the port was taken
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Moto {
                        child,
                        endpoint: format!("http://127.0.0.1:{port}"),
                    };
                }
                // Polling for readiness, not waiting for an event: moto has no other signal.
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("moto's server did not start on a free port in three tries");
    }

    pub fn xray(&self) -> aws_sdk_xray::Client {
        xray_client(&self.endpoint)
    }
}

/// An X-Ray client with static test credentials against `endpoint`.
pub fn xray_client(endpoint: &str) -> aws_sdk_xray::Client {
    let config = aws_sdk_xray::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_xray::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_xray::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    aws_sdk_xray::Client::from_conf(config)
}

//! A server process that takes a port number rather than a socket (moto,
//! LocalStack): take a free port from the kernel, hand it over, and wait
//! until the server says it is ready; if another process wins the race for
//! the port, or the server exits, try again on another.

use std::process::Child;
use std::time::{Duration, Instant};

/// `spawn(port)` starts the server; `ready(port)` asks whether it answers.
/// Returns the running child and its port, or `None` after three tries.
pub fn start_on_free_port(
    mut spawn: impl FnMut(u16) -> Child,
    ready: impl Fn(u16) -> bool,
    patience: Duration,
) -> Option<(Child, u16)> {
    for _ in 0..3 {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let mut child = spawn(port);
        let until = Instant::now() + patience;
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                break; // exited: the port was taken, or it failed to start
            }
            if ready(port) {
                return Some((child, port));
            }
            // Polling for readiness, not waiting for an event: these
            // servers have no other signal.
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    None
}

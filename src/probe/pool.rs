//! The probe's own connection pool: it keeps connections per origin so that
//! a probe knows which connection it used, that it was reused, and for how
//! long it sat idle. Idle connections are never expired by the pool: the
//! timers on the path are what the tool is there to observe.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::conn::Connection;
use super::endpoint::Origin;

/// Connections are pooled per origin.
pub type OriginKey = Origin;

/// What a checkout found.
pub struct Checkout {
    /// A live idle connection, if there was one. Boxed, here and wherever
    /// a probe holds one: a connection moves half a dozen times per probe
    /// (out of the pool, to the exchange, back in), a pointer copy each
    /// instead of a copy of the whole struct (issue 20).
    pub conn: Option<Box<Connection>>,
    /// When the newest pooled connection had been closed by the peer: how
    /// long it had been idle. Set only when no live connection was found.
    pub stale_idle: Option<Duration>,
}

pub struct Pool {
    /// A list, not a map: a run has a handful of origins, and comparing a
    /// few keys costs less than hashing one on every checkout and checkin.
    /// Boxed connections, not inline ones: they leave and re-enter the
    /// list as the box, a pointer copy each way (see [`Checkout::conn`]).
    #[allow(clippy::vec_box)]
    idle: Mutex<Vec<(OriginKey, Vec<Box<Connection>>)>>,
    max_idle_per_origin: usize,
}

impl Pool {
    pub fn new(max_idle_per_origin: usize) -> Pool {
        Pool {
            idle: Mutex::new(Vec::new()),
            max_idle_per_origin: max_idle_per_origin.max(1),
        }
    }

    /// Take the most recently used live connection for `key`, dropping any
    /// the peer closed while they sat idle.
    pub fn checkout(&self, key: &OriginKey, now: Instant) -> Checkout {
        let mut idle = self.idle.lock().expect("pool lock");
        let mut stale_idle = None;
        if let Some((_, list)) = idle.iter_mut().find(|(k, _)| k == key) {
            while let Some(conn) = list.pop() {
                if conn.is_closed() {
                    stale_idle.get_or_insert(now.saturating_duration_since(conn.facts.last_used()));
                    continue;
                }
                return Checkout {
                    conn: Some(conn),
                    stale_idle: None,
                };
            }
        }
        Checkout {
            conn: None,
            stale_idle,
        }
    }

    /// Return a connection after a complete exchange. The oldest idle
    /// connection is dropped when the origin already has its quota.
    pub fn checkin(&self, key: &OriginKey, conn: Box<Connection>) {
        let mut idle = self.idle.lock().expect("pool lock");
        let at = match idle.iter().position(|(k, _)| k == key) {
            Some(at) => at,
            None => {
                // The key is copied once per origin, not per request.
                idle.push((key.clone(), Vec::new()));
                idle.len() - 1
            }
        };
        let list = &mut idle[at].1;
        list.push(conn);
        if list.len() > self.max_idle_per_origin {
            list.remove(0);
        }
    }
}

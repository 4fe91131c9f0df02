//! The IP family a probe went over: what `--ip-family both` splits on, and
//! what `report` and `diagnose` split by when records hold both.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// IPv4 or IPv6, as a record's `family` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Family {
    #[serde(rename = "ipv4")]
    V4,
    #[serde(rename = "ipv6")]
    V6,
}

impl Family {
    /// The record's spelling: `ipv4`, `ipv6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }

    /// The family of an address; an IPv4-mapped IPv6 address
    /// (`[::ffff:10.0.0.1]:443`) went over IPv4 on the wire.
    pub fn of(addr: &SocketAddr) -> Family {
        match addr {
            SocketAddr::V4(_) => Family::V4,
            SocketAddr::V6(a) if a.ip().to_ipv4_mapped().is_some() => Family::V4,
            SocketAddr::V6(_) => Family::V6,
        }
    }
}

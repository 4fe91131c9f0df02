//! IPv4 or IPv6: which address family a probe used, and which the user asked
//! for (`-4`, `-6`, `--ip-family 4|6|both`, a profile's `ip_family`). What
//! a choice does to the targets is [`super::dual_stack`]'s.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

/// An address family, as records write it: `"ipv4"` or `"ipv6"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpFamily {
    Ipv4,
    Ipv6,
}

impl IpFamily {
    /// The family of an address. An IPv4-mapped IPv6 address
    /// (`::ffff:10.0.0.1`, what a dual-stack socket shows for an IPv4 peer)
    /// goes over IPv4 on the wire, so it counts as IPv4.
    pub fn of(ip: IpAddr) -> IpFamily {
        match ip {
            IpAddr::V4(_) => IpFamily::Ipv4,
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => IpFamily::Ipv4,
            IpAddr::V6(_) => IpFamily::Ipv6,
        }
    }

    pub fn of_addr(addr: SocketAddr) -> IpFamily {
        IpFamily::of(addr.ip())
    }

    pub fn has(self, ip: IpAddr) -> bool {
        IpFamily::of(ip) == self
    }

    /// The name in records: `ipv4`.
    pub fn as_str(self) -> &'static str {
        match self {
            IpFamily::Ipv4 => "ipv4",
            IpFamily::Ipv6 => "ipv6",
        }
    }

    /// How people name it: `IPv4`.
    pub fn label(self) -> &'static str {
        match self {
            IpFamily::Ipv4 => "IPv4",
            IpFamily::Ipv6 => "IPv6",
        }
    }
}

impl fmt::Display for IpFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which families probes use. Not set (`None` where it is held) means
/// whatever the resolver returns first, as a client would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyChoice {
    Only(IpFamily),
    /// Each target on each family that it can be reached on.
    Both,
}

impl FamilyChoice {
    /// As `--ip-family` takes it: `4`, `6` or `both`.
    pub fn as_str(self) -> &'static str {
        match self {
            FamilyChoice::Only(IpFamily::Ipv4) => "4",
            FamilyChoice::Only(IpFamily::Ipv6) => "6",
            FamilyChoice::Both => "both",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_write_the_family_as_a_static_name() {
        assert_eq!(serde_json::to_string(&IpFamily::Ipv6).unwrap(), "\"ipv6\"");
        assert_eq!(IpFamily::of("::ffff:127.0.0.1".parse().unwrap()), IpFamily::Ipv4);
        assert_eq!(IpFamily::of("::1".parse().unwrap()), IpFamily::Ipv6);
    }
}

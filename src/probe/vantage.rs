//! Vantage names: what a vantage point may be called, and the one default
//! when neither `--vantage` nor a profile says (the host's name, made a
//! valid vantage name). The command line, the keep-warm metrics and the
//! publishers all take it from here, so a host has one name everywhere.

use std::sync::{Arc, OnceLock};

/// What a vantage name may be: what both a CloudWatch dimension value and
/// a Prometheus label value take as they are, and a file name too.
pub const VANTAGE_VALID: &str =
    "1 to 64 letters, digits and . _ : @ / - (e.g. eu-west-1b or host-7@us-east-1)";

/// The longest vantage name.
pub const VANTAGE_MAX_LEN: usize = 64;

/// The vantage of probes whose host has no usable name.
pub const UNKNOWN: &str = "unknown";

/// A character a vantage name may hold.
pub fn vantage_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._:@/-".contains(c)
}

/// True when `name` is a vantage name as it is.
pub fn is_valid(name: &str) -> bool {
    !name.is_empty() && name.len() <= VANTAGE_MAX_LEN && name.chars().all(vantage_char)
}

/// This host's name (uname's nodename, what `hostname` prints) as a
/// vantage name, read once; `None` when it has nothing usable.
pub fn of_host() -> Option<Arc<str>> {
    static HOST: OnceLock<Option<Arc<str>>> = OnceLock::new();
    HOST.get_or_init(|| from_host_name(&rustix::system::uname().nodename().to_string_lossy()))
        .clone()
}

/// The vantage to label numbers with: the one given unless empty, else
/// this host's name, else [`UNKNOWN`]. Never empty: to Prometheus an empty
/// label value is no label at all, and CloudWatch refuses an empty
/// dimension value.
pub fn or_host(vantage: Option<&str>) -> Arc<str> {
    match vantage.filter(|v| !v.is_empty()) {
        Some(v) => v.into(),
        None => of_host().unwrap_or_else(|| UNKNOWN.into()),
    }
}

/// A host name as a vantage name: characters a vantage may not hold
/// become `-`, and it is cut to the longest a vantage may be. Host names
/// are nearly always valid as they are (letters, digits, `-`, `.`).
fn from_host_name(host: &str) -> Option<Arc<str>> {
    let name: String = host
        .trim()
        .chars()
        .map(|c| if vantage_char(c) { c } else { '-' })
        .take(VANTAGE_MAX_LEN)
        .collect();
    let meaningful = name.chars().any(|c| c.is_ascii_alphanumeric());
    meaningful.then(|| name.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_name_becomes_a_valid_vantage() {
        for (host, want) in [
            (
                "ip-10-0-1-17.eu-west-1.compute.internal",
                Some("ip-10-0-1-17.eu-west-1.compute.internal"),
            ),
            (" build box\n", Some("build-box")),
            ("", None),
            ("---", None),
        ] {
            let got = from_host_name(host);
            assert_eq!(got.as_deref(), want, "{host:?}");
            if let Some(v) = got {
                assert!(is_valid(&v), "{v}");
            }
        }
        let long = from_host_name(&"h".repeat(200)).unwrap();
        assert_eq!(long.len(), VANTAGE_MAX_LEN);
    }

    /// The default is what the kernel calls this host.
    #[test]
    fn the_host_vantage_is_the_kernels_host_name() {
        let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") else {
            return;
        };
        assert_eq!(of_host(), from_host_name(&host));
    }
}

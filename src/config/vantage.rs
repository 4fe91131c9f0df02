//! Where probes run from when neither `--vantage` nor a profile says: the
//! host's name, made a valid vantage name (`cli::parse::vantage`).

use std::sync::Arc;

use crate::cli::parse::{vantage_char, VANTAGE_MAX_LEN};

/// This host's name (uname's nodename, what `hostname` prints) as a
/// vantage name; `None` when it has nothing usable.
pub fn of_host() -> Option<Arc<str>> {
    let uname = rustix::system::uname();
    from_host_name(&uname.nodename().to_string_lossy())
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
    use crate::cli::parse;

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
                assert!(parse::vantage(&v).is_ok(), "{v}");
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

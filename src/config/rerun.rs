//! The connection flags a suggested command (`diagnose`'s "run this to
//! test what was not") carries over from the command line, so that it
//! probes what this run probed, the way it did: signed, with the same
//! client certificate, address family, private API id, vantage, pins and
//! trust.

use crate::cli::ConnectionArgs;

/// ` --sigv4 --region eu-west-1 -6 --resolve …`: empty when none is given.
pub fn connection_flags(args: &ConnectionArgs) -> String {
    let mut flags = super::sigv4::rerun_flags(args);
    let mut add = |flag: &str, value: Option<String>| {
        if let Some(v) = value {
            flags.push_str(&format!(" {flag} {}", quoted(&v)));
        }
    };
    let family = match (args.ipv4, args.ipv6) {
        (true, _) => Some("4".to_string()),
        (_, true) => Some("6".to_string()),
        _ => args.ip_family.map(|f| f.as_str().to_string()),
    };
    add("--ip-family", family);
    add("--cert", args.cert.as_ref().map(|p| p.display().to_string()));
    add("--key", args.key.as_ref().map(|p| p.display().to_string()));
    add(
        "--api-id",
        args.api_id
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    );
    add("--vantage", args.vantage.as_deref().map(str::to_string));
    for pin in &args.resolve {
        add(
            "--resolve",
            Some(format!("{}:{}:{}", pin.host, pin.port, pin.addr)),
        );
    }
    add("--dns-server", args.dns_server.map(|a| a.to_string()));
    for ca in &args.cacert {
        add("--cacert", Some(ca.display().to_string()));
    }
    if args.insecure {
        flags.push_str(" -k");
    }
    flags
}

/// A value as a shell reads it back: quoted when it holds anything but
/// the characters of names, paths and addresses.
fn quoted(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:[]@%+=,".contains(c));
    match plain {
        true => v.to_string(),
        false => format!("'{}'", v.replace('\'', r"'\''")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn flags(line: &[&str]) -> String {
        let cli = crate::cli::Cli::try_parse_from(line).unwrap();
        let crate::cli::Command::Diagnose(args) = cli.command else {
            panic!("diagnose")
        };
        connection_flags(&args.conn)
    }

    #[test]
    fn the_flags_that_shape_a_probe_are_carried_over() {
        assert_eq!(flags(&["coldlink", "diagnose", "https://h/"]), "");
        assert_eq!(
            flags(&[
                "coldlink",
                "diagnose",
                "https://h/",
                "-6",
                "--cert",
                "my certs/c.pem",
                "--key",
                "k.pem",
                "--api-id",
                "a1b2c3d4e5",
                "--vantage",
                "eu-west-1b",
                "--resolve",
                "h:443:10.0.0.7",
                "-k",
            ]),
            " --ip-family 6 --cert 'my certs/c.pem' --key k.pem --api-id a1b2c3d4e5 --vantage eu-west-1b --resolve h:443:10.0.0.7 -k"
        );
    }
}

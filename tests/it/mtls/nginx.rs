//! Mutual TLS against Debian's nginx with `ssl_verify_client on` (installed
//! by scripts/test.sh): it completes the handshake whatever the client
//! sends and answers 400 with an HTML page when the certificate is missing
//! or not from its CA. Through the binary, so that the flags, the profile
//! keys and more than one command are what is tested.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common::bin;
use crate::common::pki::Pki;
use crate::common::server_process::start_on_free_port;

/// nginx in the foreground, one process (`master_process off`), its own
/// prefix, pid, temp paths and error log in the test's folder. Dropping
/// it kills it, whether the test passed or not.
struct Nginx {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> PathBuf {
    let path = PathBuf::from("/usr/sbin/nginx");
    assert!(
        path.exists(),
        "Debian's nginx is needed (scripts/test.sh installs it: apt-get install nginx)"
    );
    path
}

impl Nginx {
    fn start(pki: &Pki) -> Nginx {
        let dir = pki.dir.path().join("nginx");
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let conf = dir.join("nginx.conf");
        let d = dir.display();
        let (cert, key, ca) = (
            pki.server_cert.display(),
            pki.server_key.display(),
            pki.ca.display(),
        );
        let spawn = |port: u16| {
            std::fs::write(
                &conf,
                format!(
                    "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
                     error_log {d}/error.log warn;\nevents {{ worker_connections 64; }}\n\
                     http {{\n  access_log off;\n  client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp;\n  \
                     fastcgi_temp_path {d}/tmp; uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;\n  \
                     server {{\n    listen 127.0.0.1:{port} ssl;\n    ssl_certificate {cert};\n    \
                     ssl_certificate_key {key};\n    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_client_certificate {ca};\n    ssl_verify_client on;\n    \
                     location / {{ default_type text/plain; return 200 \"ok\\n\"; }}\n  }}\n}}\n"
                ),
            )
            .unwrap();
            Command::new(nginx_binary())
                .arg("-c")
                .arg(&conf)
                .arg("-p")
                .arg(&dir)
                .arg("-e")
                .arg(dir.join("error.log"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start nginx")
        };
        let ready = |port: u16| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        let (child, port) = start_on_free_port(spawn, ready, Duration::from_secs(10)).unwrap_or_else(|| {
            panic!(
                "nginx did not start: {}",
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            )
        });
        Nginx { child, port, dir }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}/", self.port)
    }
}

fn s(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

/// Run the binary, with `--out FILE` appended; its exit code and records.
fn records(nginx: &Nginx, name: &str, args: &[String]) -> (Output, Vec<Value>) {
    let out_file = nginx.dir.join(format!("{name}.ndjson"));
    let out = Command::new(bin())
        .args(args)
        .arg("--out")
        .arg(&out_file)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&out_file).unwrap_or_default();
    let records = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (out, records)
}

fn probe_args(nginx: &Nginx, pki: &Pki, cert: Option<(&Path, &Path)>) -> Vec<String> {
    let mut args = vec!["probe".into(), nginx.url(), "--cacert".into(), s(&pki.ca)];
    if let Some((cert, key)) = cert {
        args.extend(["--cert".into(), s(cert), "--key".into(), s(key)]);
    }
    args.extend(["--format".into(), "json".into()]);
    args
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn with_the_right_certificate_nginx_answers_200() {
    let pki = Pki::new();
    let nginx = Nginx::start(&pki);
    let args = probe_args(&nginx, &pki, Some((&pki.client_cert, &pki.client_key)));
    let (out, records) = records(&nginx, "right", &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], 200, "{}", records[0]);
    assert!(records[0]["error"].is_null(), "{}", records[0]);
    assert_eq!(records[0]["tls"]["version"], "TLSv1.3", "{}", records[0]);
    // --format json on stdout says the same.
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report.to_string().contains("\"status\":200"), "{report}");
}

/// Needs h1's body reading (src/probe/refusal.rs): nginx's 400 page
/// "No required SSL certificate was sent" becomes a `tls` error.
#[test]
fn without_a_certificate_the_error_is_tls_and_says_none_was_sent() {
    let pki = Pki::new();
    let nginx = Nginx::start(&pki);
    let (out, records) = records(&nginx, "none", &probe_args(&nginx, &pki, None));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(records[0]["status"], 400, "{}", records[0]);
    let error = &records[0]["error"];
    assert_eq!(error["kind"], "tls", "{}", records[0]);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("requires a client certificate and none was sent"),
        "{message}"
    );
}

/// Needs h1's body reading (src/probe/refusal.rs): nginx's 400 page
/// "The SSL certificate error" becomes a `tls` error.
#[test]
fn with_another_cas_certificate_the_error_is_tls_and_says_it_was_refused() {
    let pki = Pki::new();
    let nginx = Nginx::start(&pki);
    let args = probe_args(&nginx, &pki, Some((&pki.other_cert, &pki.other_key)));
    let (out, records) = records(&nginx, "other", &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(records[0]["status"], 400, "{}", records[0]);
    let error = &records[0]["error"];
    assert_eq!(error["kind"], "tls", "{}", records[0]);
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("refused the client certificate"), "{message}");
}

/// A profile: `[connection]` presents B's certificate (refused), one target
/// has A's of its own (relative paths, from the profile's folder) and wins;
/// `run --burst` and `keepwarm --once` both present them, on reused
/// connections too.
#[test]
fn a_targets_own_certificate_in_a_profile_wins_on_run_and_keepwarm() {
    let pki = Pki::new();
    let nginx = Nginx::start(&pki);
    let profile = pki.dir.path().join("mtls.toml");
    std::fs::write(
        &profile,
        format!(
            "[connection]\ncacert = [\"ca.pem\"]\ncert = \"other.pem\"\nkey = \"other.key\"\n\n\
             [[target]]\nname = \"own\"\nurl = \"{url}\"\ncert = \"client.pem\"\nkey = \"client.key\"\n\n\
             [[target]]\nname = \"inherits\"\nurl = \"{url}\"\n\n\
             [burst]\nrequests = 3\nconcurrency = 1\nconnections = \"reuse\"\n",
            url = nginx.url()
        ),
    )
    .unwrap();
    // Run from elsewhere: the paths are the profile's folder's.
    let args: Vec<String> = vec![
        "run".into(),
        "--profile".into(),
        s(&profile),
        "--burst".into(),
        "--quiet".into(),
    ];
    let (out, records) = records(&nginx, "run", &args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the inherited certificate is refused: {}",
        stderr(&out)
    );
    let of = |name: &str| records.iter().filter(|r| r["target"] == name).collect::<Vec<_>>();
    let own = of("own");
    assert_eq!(own.len(), 3);
    for r in &own {
        assert_eq!(r["status"], 200, "{r}");
        assert!(r["error"].is_null(), "{r}");
    }
    assert!(own.iter().any(|r| r["conn"]["reused"] == true), "{own:?}");
    let inherits = of("inherits");
    assert_eq!(inherits.len(), 3);
    for r in &inherits {
        // 400 from nginx: a status error before h1's refusal.rs, a tls one after.
        assert_eq!(r["status"], 400, "{r}");
        assert!(!r["error"].is_null(), "{r}");
    }

    // keepwarm --once: with --cert on the command line over the profile's
    // (both targets present A's), every target answers.
    let out = Command::new(bin())
        .args(["keepwarm", "--once", "--profile", &s(&profile)])
        .args(["--cert", &s(&pki.client_cert), "--key", &s(&pki.client_key)])
        .args(["--lock", &s(&nginx.dir.join("keepwarm.lock"))])
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("own") && text.contains("inherits"), "{text}");
}

/// `diagnose` presents the certificate on every connection of its plan
/// (fresh and reused bursts, the quiet gaps): every probe answers 200.
#[test]
fn diagnose_presents_the_certificate_on_every_probe() {
    let pki = Pki::new();
    let nginx = Nginx::start(&pki);
    let records_file = nginx.dir.join("diagnose.ndjson");
    let out = Command::new(bin())
        .args(["diagnose", &nginx.url(), "--quick", "--probes", "3", "--quiet"])
        .args(["--cacert", &s(&pki.ca)])
        .args(["--cert", &s(&pki.client_cert), "--key", &s(&pki.client_key)])
        .arg("--records")
        .arg(&records_file)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&records_file).unwrap_or_default();
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(records.len() >= 6, "{}", stderr(&out));
    for r in &records {
        assert_eq!(r["status"], 200, "{r}");
        assert!(r["error"].is_null(), "{r}");
    }
    assert!(records.iter().any(|r| r["conn"]["reused"] == true));
    assert!(records.iter().any(|r| r["conn"]["reused"] == false));
}

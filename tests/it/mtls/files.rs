//! A certificate or key that cannot be used is bad input: exit 2 before
//! anything is sent, naming the flag (or the profile's file:line: key),
//! the path and the problem, and never the key's content.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::pki::Pki;
use crate::common::{bin, start, Behavior};

async fn coldlink(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args(&args)
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn p(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

/// Exit 2, stderr containing every one of `says`, nothing sent, and no
/// line of any key file on screen.
fn refused(out: &Output, says: &[&str], pki: &Pki, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
    for s in says {
        assert!(stderr.contains(s), "{what}: expected {s:?} in: {stderr}");
    }
    for key in [&pki.client_key, &pki.other_key] {
        let text = std::fs::read_to_string(key).unwrap();
        let secret = text.lines().nth(1).unwrap();
        assert!(!stderr.contains(secret) && !String::from_utf8_lossy(&out.stdout).contains(secret));
    }
}

#[tokio::test]
async fn bad_cert_and_key_files_exit_2_naming_the_flag_the_path_and_the_problem() {
    let pki = Pki::new();
    let server = start(Behavior::Ok).await;
    let url = server.url("/");
    let dir = pki.dir.path();
    let not_pem = dir.join("not-pem.txt");
    std::fs::write(&not_pem, "hello").unwrap();
    let missing = dir.join("missing.pem");
    let (cert, key, other_key) = (p(&pki.client_cert), p(&pki.client_key), p(&pki.other_key));
    let cases: Vec<(Vec<String>, Vec<String>)> = vec![
        (
            vec!["--cert".into(), p(&missing), "--key".into(), key.clone()],
            vec![format!("--cert {}: no such file", p(&missing))],
        ),
        (
            vec!["--cert".into(), p(&not_pem), "--key".into(), key.clone()],
            vec![format!("--cert {}: not PEM", p(&not_pem))],
        ),
        // The key where the certificate should be.
        (
            vec!["--cert".into(), key.clone(), "--key".into(), key.clone()],
            vec![format!("--cert {key}: no certificate")],
        ),
        (
            vec!["--cert".into(), cert.clone(), "--key".into(), cert.clone()],
            vec![format!("--key {cert}: no private key")],
        ),
        (
            vec!["--cert".into(), cert.clone(), "--key".into(), p(dir)],
            vec![format!("--key {}: a folder", p(dir))],
        ),
        (
            vec!["--cert".into(), cert.clone(), "--key".into(), other_key.clone()],
            vec![format!(
                "--key {other_key}: this key does not belong to the certificate {cert}"
            )],
        ),
        // clap: each needs the other.
        (vec!["--cert".into(), cert.clone()], vec!["--key".into()]),
        (vec!["--key".into(), key.clone()], vec!["--cert".into()]),
    ];
    for (flags, says) in cases {
        for command in ["probe", "keepwarm"] {
            let mut args = vec![command.to_string(), url.clone()];
            if command == "keepwarm" {
                args.push("--once".into());
            }
            args.extend(flags.iter().cloned());
            let out = coldlink(args.clone()).await;
            let says: Vec<&str> = says.iter().map(String::as_str).collect();
            refused(&out, &says, &pki, &args.join(" "));
        }
    }
    assert_eq!(server.requests().len(), 0, "nothing is sent");
}

#[tokio::test]
async fn a_profiles_cert_and_key_are_checked_with_file_line_and_key() {
    let pki = Pki::new();
    let dir = pki.dir.path();
    let profile = dir.join("p.toml");
    let cases = [
        (
            "[connection]\ncert = \"client.pem\"\n\n[[target]]\nname = \"a\"\nurl = \"https://127.0.0.1:9/\"\n",
            "p.toml:2: connection.cert: needs key too".to_string(),
        ),
        (
            "[[target]]\nname = \"a\"\nurl = \"https://127.0.0.1:9/\"\nkey = \"client.key\"\n",
            "p.toml:4: target.key: needs cert too".to_string(),
        ),
        // Relative to the profile's folder, not the working directory.
        (
            "[[target]]\nname = \"a\"\nurl = \"https://127.0.0.1:9/\"\ncert = \"missing.pem\"\nkey = \"client.key\"\n",
            format!("p.toml:4: target.cert: {}: no such file", p(&dir.join("missing.pem"))),
        ),
        (
            "[[target]]\nname = \"a\"\nurl = \"https://127.0.0.1:9/\"\ncert = \"client.pem\"\nkey = \"other.key\"\n",
            format!(
                "p.toml:5: target.key: {}: this key does not belong to the certificate {}",
                p(&dir.join("other.key")),
                p(&dir.join("client.pem"))
            ),
        ),
    ];
    for (text, says) in cases {
        std::fs::write(&profile, text).unwrap();
        let out = coldlink(vec![
            "run".into(),
            "--profile".into(),
            p(&profile),
            "--burst".into(),
        ])
        .await;
        refused(&out, &[&says], &pki, text);
    }
}

/// Which certificate a target presents: the command line's, else its own,
/// else `[connection]`'s; targets with the same files share one identity.
#[test]
fn the_command_line_wins_then_the_target_then_the_connection_table() {
    use coldlink::config::Profile;
    let pki = Pki::new();
    let dir = pki.dir.path();
    let path = dir.join("p.toml");
    std::fs::write(
        &path,
        "[connection]\ncert = \"other.pem\"\nkey = \"other.key\"\n\n\
         [[target]]\nname = \"own\"\nurl = \"https://127.0.0.1:9/\"\ncert = \"client.pem\"\nkey = \"client.key\"\n\n\
         [[target]]\nname = \"inherits\"\nurl = \"https://127.0.0.1:9/a\"\n\n\
         [[target]]\nname = \"inherits-too\"\nurl = \"https://127.0.0.1:9/b\"\n",
    )
    .unwrap();
    let profile = Profile::load(&path).unwrap();
    let certs = |targets: &[coldlink::probe::Target]| -> Vec<PathBuf> {
        targets
            .iter()
            .map(|t| t.client_cert.as_ref().unwrap().paths.cert.clone())
            .collect()
    };
    let targets = profile
        .targets_with(&coldlink::cli::ConnectionArgs::default())
        .unwrap();
    assert_eq!(
        certs(&targets),
        [
            dir.join("client.pem"),
            dir.join("other.pem"),
            dir.join("other.pem")
        ]
    );
    assert!(std::sync::Arc::ptr_eq(
        targets[1].client_cert.as_ref().unwrap(),
        targets[2].client_cert.as_ref().unwrap()
    ));
    // Same host and port: pooled apart by identity, together when the same.
    assert_ne!(targets[0].origin, targets[1].origin);
    assert_eq!(targets[1].origin, targets[2].origin);

    let cli = coldlink::cli::ConnectionArgs {
        cert: Some(pki.client_cert.clone()),
        key: Some(pki.client_key.clone()),
        ..Default::default()
    };
    let targets = profile.targets_with(&cli).unwrap();
    assert_eq!(
        certs(&targets),
        [
            pki.client_cert.clone(),
            pki.client_cert.clone(),
            pki.client_cert.clone()
        ]
    );
}

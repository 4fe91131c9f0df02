//! `--sigv4`: the credentials every signed target uses, loaded before the
//! first probe is sent (none found: exit 2, nothing sent), and one line on
//! stderr saying that probes are signed, as whom (the access key masked)
//! and for what.

use std::io::Write;
use std::sync::Arc;

use super::CommandError;
use crate::probe::Target;

/// Load the credentials of the signed `targets`, once per set, and say so
/// on `stderr`.
pub async fn load_credentials(targets: &[Target], stderr: &mut dyn Write) -> Result<(), CommandError> {
    let mut loaded: Vec<&Arc<crate::probe::sigv4::Keys>> = Vec::new();
    for target in targets {
        let Some(signer) = &target.sigv4 else { continue };
        let keys = signer.keys();
        if loaded.iter().any(|k| Arc::ptr_eq(k, keys)) {
            continue;
        }
        let got = keys
            .load()
            .await
            .map_err(|e| CommandError::Sigv4Credentials { cause: e.to_string() })?;
        loaded.push(keys);
        let mut scopes: Vec<String> = targets
            .iter()
            .filter_map(|t| t.sigv4.as_ref())
            .filter(|s| Arc::ptr_eq(s.keys(), keys))
            .map(|s| format!("{} in {}", s.scope().service, s.scope().region))
            .collect();
        scopes.sort();
        scopes.dedup();
        let kind = if got.temporary {
            "temporary credentials"
        } else {
            "credentials"
        };
        let _ = writeln!(
            stderr,
            "coldlink: signing probes with SigV4 ({}) as {} ({kind})",
            scopes.join(", "),
            got.key
        );
    }
    Ok(())
}

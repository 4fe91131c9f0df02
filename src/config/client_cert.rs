//! `--cert` / `--key` and a profile's `cert` / `key` (in `[connection]` or
//! a `[[target]]`): both or neither, paths relative to the profile's
//! folder, the files read and checked before anything is sent. Which one a
//! target presents: the command line's, else the target's own, else
//! `[connection]`'s.

use std::path::PathBuf;
use std::sync::Arc;

use toml::Spanned;

use super::error::{relative_to, ConfigError, KeyProblem, Source};
use crate::probe::client_cert::{ClientCertError, Part};
use crate::probe::{ClientCertPaths, ClientIdentity};

/// `cert` and `key` of one profile table (`prefix`: "connection" or
/// "target"), checked: both or neither, and the files usable. An error
/// names the file, the line and the key.
pub fn from_profile(
    src: &Source,
    prefix: &str,
    cert: &Option<Spanned<PathBuf>>,
    key: &Option<Spanned<PathBuf>>,
) -> Result<Option<ClientCertPaths>, ConfigError> {
    let (cert, key) = match (cert, key) {
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        (Some(cert), None) => {
            return Err(src.error(cert, &format!("{prefix}.cert"), KeyProblem::Needs("key")))
        }
        (None, Some(key)) => return Err(src.error(key, &format!("{prefix}.key"), KeyProblem::Needs("cert"))),
    };
    let paths = ClientCertPaths {
        cert: relative_to(src.path, cert.get_ref()),
        key: relative_to(src.path, key.get_ref()),
    };
    match ClientIdentity::load(paths.clone()) {
        Ok(_) => Ok(Some(paths)),
        Err(e) => {
            let (spanned, name) = match e.part {
                Part::Cert => (cert, "cert"),
                Part::Key => (key, "key"),
            };
            Err(src.error(
                spanned,
                &format!("{prefix}.{name}"),
                KeyProblem::ClientCert { source: e },
            ))
        }
    }
}

/// The command line's pair (clap makes each flag require the other).
pub fn from_flags(cert: &Option<PathBuf>, key: &Option<PathBuf>) -> Option<ClientCertPaths> {
    match (cert, key) {
        (Some(cert), Some(key)) => Some(ClientCertPaths {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    }
}

/// The identities of one command's targets, each pair of files read once
/// so that targets with the same pair share one identity.
#[derive(Default)]
pub struct Identities {
    loaded: Vec<Arc<ClientIdentity>>,
}

impl Identities {
    /// The identity for `paths`; an error names `--cert` or `--key` (a
    /// profile's files were checked when it was loaded, so a failure here
    /// is the command line's, or a file changed since).
    pub fn load(
        &mut self,
        paths: Option<&ClientCertPaths>,
    ) -> Result<Option<Arc<ClientIdentity>>, ConfigError> {
        let Some(paths) = paths else { return Ok(None) };
        if let Some(found) = self.loaded.iter().find(|i| *i.paths == *paths) {
            return Ok(Some(found.clone()));
        }
        let identity = ClientIdentity::load(paths.clone()).map_err(flag_error)?;
        self.loaded.push(identity.clone());
        Ok(Some(identity))
    }
}

fn flag_error(source: ClientCertError) -> ConfigError {
    ConfigError::ClientCert {
        flag: match source.part {
            Part::Cert => "--cert",
            Part::Key => "--key",
        },
        source,
    }
}

//! The lock that keeps cron runs from piling up: an advisory `flock` (fs4) on a
//! file, held for the life of the process (the kernel releases it however
//! the process ends, so a crashed run never leaves a stale lock).

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Held while alive.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another run (pid {pid}) still holds {path}")]
    Held { path: PathBuf, pid: String },
    #[error("--lock {path}: cannot open it: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Lock {
    /// Take the lock at once, or say who holds it.
    pub fn take(path: &Path) -> Result<Lock, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        // The trait's method by its path: `File::try_lock` of std (1.89) is
        // newer than the crate's rust-version, and would win the name.
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = match pid.trim() {
                    "" => "unknown".to_string(),
                    p => p.to_string(),
                };
                return Err(LockError::Held {
                    path: path.to_path_buf(),
                    pid,
                });
            }
            Err(fs4::TryLockError::Error(err)) => return Err(io(err)),
        }
        // Who holds it, for the message of a run that finds it held.
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(Lock {
            _file: file,
            path: path.to_path_buf(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_refused_with_the_holders_pid_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.lock");
        let first = Lock::take(&path).unwrap();
        match Lock::take(&path) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, std::process::id().to_string()),
            other => panic!("{other:?}"),
        }
        drop(first);
        Lock::take(&path).expect("free again once the holder is gone");
    }

    #[test]
    fn an_unopenable_lock_names_the_flag_and_the_path() {
        let e = Lock::take(Path::new("/nonexistent/dir/k.lock")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--lock /nonexistent/dir/k.lock: cannot open it"),
            "{e}"
        );
    }
}

//! The key the embedded (SQLite) store generates for itself when none is configured, so
//! that the one-command start stays one command: `<database file>.key` beside the database,
//! mode 0600, created atomically and reused on later starts.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{Cipher, Secret};

/// Why the key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading or creating it failed.
    #[error("secrets key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It does not hold a usable key.
    #[error("secrets key file {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Where the generated key of the SQLite database at `db_path` lives.
pub fn path_for(db_path: &str) -> PathBuf {
    PathBuf::from(format!("{db_path}.key"))
}

/// What [`load_or_create`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new key was written.
    Created,
    /// The existing file was read.
    Reused,
}

/// Reads the key at `path`.
pub fn read(path: &Path) -> Result<Cipher, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the secrets key file is readable by other users; chmod 600 it");
        }
    }
    Cipher::from_base64(&text).map_err(|reason| KeyFileError::Invalid {
        path: path.to_path_buf(),
        reason,
    })
}

/// Reads the key at `path`, generating it first when there is none. Creation cannot be
/// half-seen, even by two processes starting at once: the key is written to a private
/// temporary file (`O_EXCL`, mode 0600), then linked to `path`, which fails if `path`
/// appeared meanwhile (the other process's key is then used).
pub fn load_or_create(path: &Path) -> Result<(Cipher, Outcome), KeyFileError> {
    if path.exists() {
        return Ok((read(path)?, Outcome::Reused));
    }
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let key = Cipher::generate_key();
    let temp = write_private(path, &key).map_err(io)?;
    let linked = std::fs::hard_link(&temp, path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            sync_dir(path);
            let cipher =
                Cipher::from_base64(key.expose()).map_err(|reason| KeyFileError::Invalid {
                    path: path.to_path_buf(),
                    reason,
                })?;
            Ok((cipher, Outcome::Created))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok((read(path)?, Outcome::Reused))
        }
        Err(e) => Err(io(e)),
    }
}

/// Replaces the key at `path` with `key` (after `secrets rotate`), atomically: a private
/// temporary file renamed over it.
pub fn replace(path: &Path, key: &Secret) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let temp = write_private(path, key).map_err(io)?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        io(e)
    })?;
    sync_dir(path);
    Ok(())
}

/// Writes `key` to a new file beside `path` (mode 0600, `O_EXCL`), synced; returns its path.
fn write_private(path: &Path, key: &Secret) -> std::io::Result<PathBuf> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let temp = PathBuf::from(format!(
        "{}.{}.tmp",
        path.display(),
        uuid::Uuid::new_v4().simple()
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)?;
    let written = file
        .write_all(format!("{}\n", key.expose()).as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    Ok(temp)
}

/// Makes the new directory entry durable (best effort).
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_created_private_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("relay.db").display().to_string());
        let (first, outcome) = load_or_create(&path).unwrap();
        assert_eq!(outcome, Outcome::Created);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (again, outcome) = load_or_create(&path).unwrap();
        assert_eq!(outcome, Outcome::Reused);
        let sealed = first.seal(1, "x");
        assert_eq!(again.open(1, &sealed).unwrap().expose(), "x");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");

        let new = Cipher::generate_key();
        replace(&path, &new).unwrap();
        let replaced = read(&path).unwrap();
        assert!(replaced.open(1, &sealed).is_none());
        assert!(replaced
            .open(1, &Cipher::from_base64(new.expose()).unwrap().seal(1, "y"))
            .is_some());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_damaged_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db.key");
        std::fs::write(&path, "short").unwrap();
        let err = load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("relay.db.key"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "short");
    }
}

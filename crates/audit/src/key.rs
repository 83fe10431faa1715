//! The HMAC key file: 32 random bytes, stored as 64 hex digits, mode 0600.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};

use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::AuditError;
use crate::hmac::{from_hex32, to_hex};

/// The key file's name inside the state dir.
pub const KEY_FILE: &str = "audit.key";

/// An HMAC key; zeroed when dropped.
pub(crate) struct Key(pub(crate) [u8; 32]);

impl Drop for Key {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

/// Loads the key at `path`, refusing files other users could read or own.
pub(crate) fn load(path: &Path) -> Result<Key, AuditError> {
    let mut f = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AuditError::KeyMissing {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(AuditError::io(path, e)),
    };
    check_key_file(path, &f)?;
    let mut text = String::new();
    (&mut f)
        .take(256)
        .read_to_string(&mut text)
        .map_err(|e| AuditError::KeyInvalid {
            path: path.to_path_buf(),
            reason: format!("not readable as text: {e}"),
        })?;
    let bytes = from_hex32(text.trim()).ok_or_else(|| AuditError::KeyInvalid {
        path: path.to_path_buf(),
        reason: "expected 64 hex digits".into(),
    })?;
    Ok(Key(bytes))
}

fn check_key_file(path: &Path, f: &File) -> Result<(), AuditError> {
    let meta = f.metadata().map_err(|e| AuditError::io(path, e))?;
    if !meta.file_type().is_file() {
        return Err(AuditError::KeyInvalid {
            path: path.to_path_buf(),
            reason: "not a regular file".into(),
        });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(AuditError::KeyPermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if meta.uid() != euid {
        return Err(AuditError::KeyOwner {
            path: path.to_path_buf(),
            owner: meta.uid(),
        });
    }
    Ok(())
}

/// Loads the key at `path`, creating it (0600, 32 random bytes) if absent.
/// Creation is atomic: the key is written to a private temporary file and
/// hard-linked into place, so a concurrent opener never sees a half-written key
/// and two openers never end up with different keys.
pub(crate) fn load_or_create(path: &Path) -> Result<Key, AuditError> {
    match load(path) {
        Err(AuditError::KeyMissing { .. }) => {}
        other => return other,
    }
    let mut raw = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut raw))
        .map_err(|e| AuditError::io(Path::new("/dev/urandom"), e))?;
    let key = Key(raw);
    raw.fill(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{KEY_FILE}.tmp.{}.{}",
        std::process::id(),
        to_hex(&key.0[..4])
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        let mut text = to_hex(&key.0);
        text.push('\n');
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::hard_link(&tmp, path)
    })();
    let _ = fs::remove_file(&tmp);
    match result {
        Ok(()) => {
            crate::writer::sync_dir(dir);
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load(path),
        Err(e) => Err(AuditError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_key_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(KEY_FILE);
        let k1 = load_or_create(&p).unwrap();
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let k2 = load_or_create(&p).unwrap();
        assert_eq!(k1.0, k2.0);
        assert_ne!(k1.0, [0u8; 32]);
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn group_readable_key_is_refused_with_chmod_hint() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(KEY_FILE);
        load_or_create(&p).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        let err = load(&p).unwrap_err();
        assert!(matches!(
            err,
            AuditError::KeyPermissions { mode: 0o640, .. }
        ));
        assert!(
            err.to_string()
                .contains(&format!("chmod 600 {}", p.display()))
        );
    }

    #[test]
    fn malformed_key_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(KEY_FILE);
        fs::write(&p, "not hex\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(load(&p), Err(AuditError::KeyInvalid { .. })));
    }

    #[test]
    fn symlinked_key_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.key");
        load_or_create(&real).unwrap();
        let link = dir.path().join(KEY_FILE);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(load(&link).is_err());
    }
}

//! # interlock-audit
//!
//! The append-only, keyed, hash-chained audit log of everything the model
//! asked for and everything that ran, and its verification. This crate owns:
//!
//! - the on-disk format: JSONL records `{seq, ts, session, type, payload, prev, hash}`
//!   in `audit-000001.jsonl`, `audit-000002.jsonl`, ... under interlock's state
//!   dir (which the sandbox hides), rotated by size, one chain across all files
//!   and all sessions;
//! - the HMAC-SHA256 key `audit.key` (0600, created on first use, refused if
//!   group or others can read it) and the chain: `hash` = HMAC(key, canonical
//!   record without `hash`), `prev` = previous record's `hash`, the first
//!   record's `prev` = HMAC(key, "interlock-audit genesis v1");
//! - the writer, [`AuditLog`]: crash- and concurrency-safe appends (`flock` on
//!   `audit.lock`, one `O_APPEND` write per line, partial lines left by a
//!   killed writer are terminated and acknowledged by the next writer);
//! - [`verify`], which names the first bad record and the kind of damage
//!   ([`Damage`]): edited, deleted, inserted, reordered, wrong key, broken link,
//!   corrupt — and reports a crash's partial last line as a [`TruncatedTail`],
//!   not as tampering;
//! - [`read`], [`Filter`] and [`format_timeline`] for `audit show` / `audit export`.
//!
//! It does not redact: payloads arrive already redacted by the caller.
//!
//! ## Files under the state dir
//!
//! | file | mode | content |
//! |---|---|---|
//! | `audit.key` | 0600 | 64 hex digits + newline (32 random bytes) |
//! | `audit.lock` | 0600 | empty; `flock`ed by writers around each append |
//! | `audit-000001.jsonl`, ... | 0600 | one canonical JSON record per line |
//!
//! The dir is created 0700. Files are opened with `O_NOFOLLOW`. A new file is
//! started when the current one has reached the rotation size; its first
//! record's `prev` is the last hash of the previous file.
//!
//! ## Crash recovery
//!
//! Each record is one `write(2)` of a whole line, so a writer killed with
//! `kill -9` leaves at worst one partial last line. `verify` reports such a
//! line as [`VerifyReport::truncated_tail`], not as damage. The next writer to
//! take the lock terminates the partial line with a newline and, in the same
//! write, appends an authenticated [`RECOVERY_EVENT`] record holding the partial
//! line's file, offset, length and SHA-256; the chain continues from the last
//! whole record. `verify` then lists the line in [`VerifyReport::recovered`].
//! An unparseable line *not* acknowledged that way (or changed after being
//! acknowledged) is [`Damage::Corrupt`].
//!
//! ## Limits
//!
//! - Removing whole records from the *end* of the log is undetectable by a
//!   chain alone (ship records off the machine with `audit export` for that).
//! - Anyone holding the key can rewrite the whole chain; the key's protection is
//!   its 0600 mode and the sandbox hiding the state dir.
//! - `verify` does not take the lock, so a record being written at that moment
//!   can show up as a truncated tail.
//! - A key replaced in the middle of a log shows up as `edited` at the first
//!   record written with the new key ([`AuditLog::open`] refuses to create a key
//!   while log files exist, to keep this from happening by accident).
//!
//! ```no_run
//! # fn main() -> Result<(), interlock_audit::AuditError> {
//! use std::path::Path;
//! let dir = Path::new("/home/me/.local/state/interlock");
//! let mut log = interlock_audit::AuditLog::open(dir, "session-1234")?;
//! log.append("session.start", serde_json::json!({"version": "0.1.0"}))?;
//! log.sync()?;
//! let report = interlock_audit::verify(dir, None)?;
//! assert!(report.is_ok(), "{report}");
//! # Ok(()) }
//! ```

use std::io;
use std::path::{Path, PathBuf};

mod hmac;
mod key;
mod record;
mod show;
mod time;
mod verify;
mod writer;

pub use key::KEY_FILE;
pub use record::Record;
pub use show::{Filter, format_timeline, read, summarize};
pub use time::{now_rfc3339, parse_since, rfc3339_utc};
pub use verify::{Damage, TruncatedTail, VerifyReport, verify};
pub use writer::{
    AuditLog, DEFAULT_MAX_BYTES, LOCK_FILE, RECOVERY_EVENT, log_file_name, log_files,
};

/// Errors from opening, writing, reading or verifying the log. Damage found by
/// [`verify`] is not an error; it is reported in [`VerifyReport::problem`].
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log: {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "refusing to use audit key {path}: mode {mode:04o} lets other users read or change it; run `chmod 600 {path}`"
    )]
    KeyPermissions { path: PathBuf, mode: u32 },
    #[error(
        "refusing to use audit key {path}: it is owned by uid {owner}, not by the current user"
    )]
    KeyOwner { path: PathBuf, owner: u32 },
    #[error("audit key {path} is unusable: {reason}")]
    KeyInvalid { path: PathBuf, reason: String },
    #[error("audit key {path} not found (it is created by the first session that writes the log)")]
    KeyMissing { path: PathBuf },
    #[error(
        "the audit log in {dir} exists but its key {path} is missing; restore the key, or move the old audit-*.jsonl files aside to start a new chain"
    )]
    KeyLost { path: PathBuf, dir: PathBuf },
}

impl AuditError {
    pub(crate) fn io(path: &Path, source: io::Error) -> AuditError {
        AuditError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

//! The writer: one [`AuditLog`] per session, many sessions per state dir.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::hmac::{hmac_sha256, sha256, to_hex};
use crate::key::{self, KEY_FILE, Key};
use crate::record::{Record, canonical_unsigned, seal};
use crate::{AuditError, time};

/// Rotation threshold used unless [`AuditLog::with_rotation`] says otherwise.
pub const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Lock file serialising writers (flock) inside the state dir.
pub const LOCK_FILE: &str = "audit.lock";
/// Event type of the record a writer adds after finding a partial last line
/// left by a crash. Its payload is `{"file", "offset", "bytes", "sha256"}`
/// describing that partial line, which `verify` then reports as a recovered
/// truncated tail rather than as damage.
pub const RECOVERY_EVENT: &str = "audit.truncated_tail";

const GENESIS_LABEL: &[u8] = b"interlock-audit genesis v1";

/// The `prev` of the very first record: HMAC(key, "interlock-audit genesis v1").
/// Keyed, so the first record also tells whether the verifier holds the right key.
pub(crate) fn genesis(key: &Key) -> String {
    to_hex(&hmac_sha256(&key.0, GENESIS_LABEL))
}

/// `audit-000001.jsonl`, `audit-000002.jsonl`, ...
pub fn log_file_name(index: u32) -> String {
    format!("audit-{index:06}.jsonl")
}

/// Parses a log file name back to its index.
pub(crate) fn parse_log_file_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("audit-")?.strip_suffix(".jsonl")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&i| i > 0)
}

/// The log files in `dir`, oldest first (by index).
pub fn log_files(dir: &Path) -> Result<Vec<PathBuf>, AuditError> {
    Ok(indexed_log_files(dir)?
        .into_iter()
        .map(|(_, p)| p)
        .collect())
}

pub(crate) fn indexed_log_files(dir: &Path) -> Result<Vec<(u32, PathBuf)>, AuditError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| AuditError::io(dir, e))? {
        let entry = entry.map_err(|e| AuditError::io(dir, e))?;
        if let Some(i) = entry.file_name().to_str().and_then(parse_log_file_name) {
            out.push((i, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Best-effort fsync of a directory so a new file's name is durable.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

struct FlockGuard(RawFd);

impl FlockGuard {
    fn lock(file: &File, path: &Path) -> Result<FlockGuard, AuditError> {
        let fd = file.as_raw_fd();
        loop {
            // SAFETY: `fd` is an open descriptor owned by `file`, which outlives the guard.
            if unsafe { libc::flock(fd, libc::LOCK_EX) } == 0 {
                return Ok(FlockGuard(fd));
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(AuditError::io(path, err));
            }
        }
    }
}

impl Drop for FlockGuard {
    fn drop(&mut self) {
        // SAFETY: the descriptor is still open (see `lock`); unlocking cannot misbehave.
        unsafe { libc::flock(self.0, libc::LOCK_UN) };
    }
}

/// What the writer knows about the end of the chain.
struct Current {
    index: u32,
    path: PathBuf,
    file: File,
    /// File length after our last look; another writer changing it invalidates us.
    len: u64,
    last_seq: u64,
    last_hash: String,
}

/// Appends records to the audit log under a state dir. One per session; any
/// number of sessions (threads or processes) may write to the same dir at
/// once: every append takes an exclusive `flock` on `audit.lock`, re-reads the
/// chain's tail if someone else wrote since, and writes one whole line with a
/// single `O_APPEND` write, so lines never interleave and the chain never forks.
pub struct AuditLog {
    dir: PathBuf,
    session: String,
    key: Key,
    max_bytes: u64,
    lock: File,
    lock_path: PathBuf,
    cur: Option<Current>,
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // Best effort: a session that ends should leave its records on disk.
        if let Some(cur) = &self.cur {
            let _ = cur.file.sync_data();
        }
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .field("session", &self.session)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens the log under `dir` (interlock's state dir, which the sandbox
    /// hides), creating the dir (0700), the key `dir/audit.key` (0600, 32 random
    /// bytes) and the first log file (0600) as needed. Refuses a key file that
    /// group or others can access, or that another user owns.
    ///
    /// If the last log file ends in a partial line (a writer was killed
    /// mid-write), the line is terminated and an [`RECOVERY_EVENT`] record
    /// describing it is appended, so the chain continues cleanly and `verify`
    /// reports the partial line as a recovered truncated tail.
    pub fn open(dir: &Path, session_id: &str) -> Result<AuditLog, AuditError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| AuditError::io(dir, e))?;
        let key_path = dir.join(KEY_FILE);
        if !key_path.exists()
            && log_files(dir)?
                .iter()
                .any(|f| fs::metadata(f).is_ok_and(|m| m.len() > 0))
        {
            // A new key would silently start a second chain that can never
            // verify against the old one.
            return Err(AuditError::KeyLost {
                path: key_path,
                dir: dir.to_path_buf(),
            });
        }
        let key = key::load_or_create(&key_path)?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&lock_path)
            .map_err(|e| AuditError::io(&lock_path, e))?;
        let mut log = AuditLog {
            dir: dir.to_path_buf(),
            session: session_id.to_string(),
            key,
            max_bytes: DEFAULT_MAX_BYTES,
            lock,
            lock_path,
            cur: None,
        };
        let _guard = FlockGuard::lock(&log.lock, &log.lock_path)?;
        log.refresh()?;
        Ok(log)
    }

    /// Sets the size after which the next append starts a new file
    /// (`audit-000002.jsonl`, ...). The chain continues across files.
    pub fn with_rotation(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes.max(1);
        self
    }

    /// Appends one record `{seq, ts, session, type, payload, prev, hash}`.
    /// `payload` must already be redacted. Not synced to disk until [`sync`](Self::sync).
    pub fn append(&mut self, event_type: &str, payload: Value) -> Result<(), AuditError> {
        let _guard = FlockGuard::lock(&self.lock, &self.lock_path)?;
        self.refresh()?;
        self.rotate_if_needed()?;
        let result = self.write_record(event_type, &payload, &[]);
        if result.is_err() {
            // A failed write may have left a partial line: rescan next time.
            self.cur = None;
        }
        result
    }

    /// Flushes the current file to disk (`fdatasync`). Call at turn boundaries.
    pub fn sync(&mut self) -> Result<(), AuditError> {
        if let Some(cur) = &self.cur {
            cur.file
                .sync_data()
                .map_err(|e| AuditError::io(&cur.path, e))?;
        }
        Ok(())
    }

    /// The state dir this log writes to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// This writer's session id.
    pub fn session(&self) -> &str {
        &self.session
    }

    /// Sequence number of the last record this writer knows of (0 for an empty log).
    pub fn last_seq(&self) -> u64 {
        self.cur.as_ref().map_or(0, |c| c.last_seq)
    }

    /// The file the next record will probably go to.
    pub fn current_file(&self) -> Option<&Path> {
        self.cur.as_ref().map(|c| c.path.as_path())
    }

    /// Makes `self.cur` describe the true end of the chain. Caller holds the lock.
    fn refresh(&mut self) -> Result<(), AuditError> {
        if let Some(cur) = &self.cur {
            let next_exists = self.dir.join(log_file_name(cur.index + 1)).exists();
            let len = cur
                .file
                .metadata()
                .map_err(|e| AuditError::io(&cur.path, e))?
                .len();
            if !next_exists && len == cur.len {
                return Ok(());
            }
        }
        self.cur = None;
        let files = indexed_log_files(&self.dir)?;
        let (index, path) = files
            .last()
            .cloned()
            .unwrap_or_else(|| (1, self.dir.join(log_file_name(1))));
        let file = open_log_file(&path, &self.dir)?;
        let len = file.metadata().map_err(|e| AuditError::io(&path, e))?.len();
        let tail = scan_tail(&file, &path, len)?;
        let (last_seq, last_hash) = match tail.last {
            Some(rec) => (rec.seq, rec.hash),
            None => self.tail_of_earlier_files(&files, index)?,
        };
        self.cur = Some(Current {
            index,
            path,
            file,
            len,
            last_seq,
            last_hash,
        });
        if tail.unterminated_record {
            self.write_raw(b"\n")?;
        } else if let Some((offset, bytes)) = tail.partial {
            let cur = self.cur.as_ref().expect("set above");
            let name = cur
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let payload = json!({
                "file": name,
                "offset": offset,
                "bytes": bytes.len(),
                "sha256": to_hex(&sha256(&bytes)),
            });
            let result = self.write_record(RECOVERY_EVENT, &payload, b"\n");
            if result.is_err() {
                self.cur = None;
            }
            result?;
        }
        Ok(())
    }

    /// Last record in files before `index`, or the genesis value.
    fn tail_of_earlier_files(
        &self,
        files: &[(u32, PathBuf)],
        index: u32,
    ) -> Result<(u64, String), AuditError> {
        for (_, path) in files.iter().rev().filter(|(i, _)| *i < index) {
            let f = File::open(path).map_err(|e| AuditError::io(path, e))?;
            let len = f.metadata().map_err(|e| AuditError::io(path, e))?.len();
            if let Some(rec) = scan_tail(&f, path, len)?.last {
                return Ok((rec.seq, rec.hash));
            }
        }
        Ok((0, genesis(&self.key)))
    }

    fn rotate_if_needed(&mut self) -> Result<(), AuditError> {
        let cur = self.cur.as_mut().expect("refreshed");
        if cur.len < self.max_bytes {
            return Ok(());
        }
        cur.file
            .sync_data()
            .map_err(|e| AuditError::io(&cur.path, e))?;
        let index = cur.index + 1;
        let path = self.dir.join(log_file_name(index));
        let file = open_log_file(&path, &self.dir)?;
        let len = file.metadata().map_err(|e| AuditError::io(&path, e))?.len();
        cur.index = index;
        cur.path = path;
        cur.file = file;
        cur.len = len;
        Ok(())
    }

    /// Builds, signs and writes one record (preceded by `prefix`) in one write.
    fn write_record(
        &mut self,
        event_type: &str,
        payload: &Value,
        prefix: &[u8],
    ) -> Result<(), AuditError> {
        let cur = self.cur.as_ref().expect("refreshed");
        let seq = cur.last_seq + 1;
        let mut line = canonical_unsigned(
            seq,
            &time::now_rfc3339(),
            &self.session,
            event_type,
            payload,
            &cur.last_hash,
        );
        let hash = to_hex(&hmac_sha256(&self.key.0, &line));
        seal(&mut line, &hash);
        line.push(b'\n');
        let mut buf = Vec::with_capacity(prefix.len() + line.len());
        buf.extend_from_slice(prefix);
        buf.extend_from_slice(&line);
        self.write_raw(&buf)?;
        let cur = self.cur.as_mut().expect("refreshed");
        cur.last_seq = seq;
        cur.last_hash = hash;
        Ok(())
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), AuditError> {
        let cur = self.cur.as_mut().expect("refreshed");
        (&cur.file)
            .write_all(bytes)
            .map_err(|e| AuditError::io(&cur.path, e))?;
        cur.len = cur
            .file
            .metadata()
            .map_err(|e| AuditError::io(&cur.path, e))?
            .len();
        Ok(())
    }
}

fn open_log_file(path: &Path, dir: &Path) -> Result<File, AuditError> {
    let existed = path.exists();
    let f = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| AuditError::io(path, e))?;
    if !existed {
        sync_dir(dir);
    }
    Ok(f)
}

struct Tail {
    /// Last line that parses as a record.
    last: Option<Record>,
    /// The file's last line parses as a record but lacks its newline.
    unterminated_record: bool,
    /// The file ends in a partial (unparseable, unterminated) line: offset, bytes.
    partial: Option<(u64, Vec<u8>)>,
}

/// Reads `file` backwards from `len` to find the last record and whether the
/// file ends in a partial line. Unparseable complete lines are skipped (they
/// are damage for `verify` to report; the chain continues from the last record).
fn scan_tail(file: &File, path: &Path, len: u64) -> Result<Tail, AuditError> {
    let mut tail = Tail {
        last: None,
        unterminated_record: false,
        partial: None,
    };
    if len == 0 {
        return Ok(tail);
    }
    let mut last_byte = [0u8; 1];
    file.read_exact_at(&mut last_byte, len - 1)
        .map_err(|e| AuditError::io(path, e))?;
    let terminated = last_byte[0] == b'\n';
    let end = if terminated { len - 1 } else { len };
    let mut first = true;
    for_each_line_backwards(file, end, |offset, line| {
        let parsed = serde_json::from_slice::<Record>(line).ok();
        let is_first = std::mem::replace(&mut first, false);
        match parsed {
            Some(rec) => {
                tail.unterminated_record = is_first && !terminated;
                tail.last = Some(rec);
                true
            }
            None => {
                if is_first && !terminated {
                    tail.partial = Some((offset, line.to_vec()));
                }
                false
            }
        }
    })
    .map_err(|e| AuditError::io(path, e))?;
    Ok(tail)
}

/// Calls `visit(offset, line)` for each line of `file[..end]`, last first,
/// until it returns true. `end` excludes the final newline, if any.
fn for_each_line_backwards(
    file: &File,
    end: u64,
    mut visit: impl FnMut(u64, &[u8]) -> bool,
) -> io::Result<()> {
    const CHUNK: u64 = 64 * 1024;
    let mut pos = end; // `acc` holds file[pos..line_end]
    let mut acc: Vec<u8> = Vec::new();
    loop {
        if let Some(i) = acc.iter().rposition(|&b| b == b'\n') {
            if visit(pos + i as u64 + 1, &acc[i + 1..]) {
                return Ok(());
            }
            acc.truncate(i);
            continue;
        }
        if pos == 0 {
            visit(0, &acc);
            return Ok(());
        }
        let n = CHUNK.min(pos);
        pos -= n;
        let mut chunk = vec![0u8; n as usize];
        file.read_exact_at(&mut chunk, pos)?;
        chunk.extend_from_slice(&acc);
        acc = chunk;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        assert_eq!(log_file_name(1), "audit-000001.jsonl");
        assert_eq!(parse_log_file_name("audit-000001.jsonl"), Some(1));
        assert_eq!(parse_log_file_name("audit-1234567.jsonl"), Some(1_234_567));
        assert_eq!(parse_log_file_name("audit-000000.jsonl"), None);
        assert_eq!(parse_log_file_name("audit-01.jsonl"), None);
        assert_eq!(parse_log_file_name("audit.key"), None);
    }

    #[test]
    fn backwards_lines_cross_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let long = "x".repeat(150_000);
        fs::write(&p, format!("a\n{long}\nbc")).unwrap();
        let f = File::open(&p).unwrap();
        let len = f.metadata().unwrap().len();
        let mut seen = Vec::new();
        for_each_line_backwards(&f, len, |off, line| {
            seen.push((off, line.len()));
            false
        })
        .unwrap();
        assert_eq!(seen, vec![(150_003, 2), (2, 150_000), (0, 1)]);
    }

    #[test]
    fn audit_log_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<AuditLog>();
    }
}

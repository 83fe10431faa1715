//! Verification of the keyed hash chain and classification of damage.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::AuditError;
use crate::hmac::{ct_eq, from_hex32, hmac_sha256, sha256, to_hex};
use crate::key::{self, KEY_FILE, Key};
use crate::record::Record;
use crate::writer::{RECOVERY_EVENT, genesis, indexed_log_files, parse_log_file_name};

/// The first thing wrong with a log, if anything. `line` is 1-based within `file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// The record's content no longer matches its HMAC, while its neighbours
    /// still link to it (the record was changed after it was written).
    Edited {
        file: PathBuf,
        line: usize,
        seq: u64,
    },
    /// An authentic record whose seq skips ahead, and the missing seqs appear
    /// nowhere later: records `expected_seq..found_seq` were removed.
    Deleted {
        file: PathBuf,
        line: usize,
        expected_seq: u64,
        found_seq: u64,
    },
    /// A record that is not part of the keyed chain: a forged line the next
    /// authentic record skips over, or a replayed copy of an earlier record.
    Inserted {
        file: PathBuf,
        line: usize,
        seq: u64,
    },
    /// An authentic record out of place: seq `expected_seq` belongs here and
    /// does appear elsewhere in the log.
    Reordered {
        file: PathBuf,
        line: usize,
        expected_seq: u64,
        found_seq: u64,
    },
    /// No record verifies under the key given, and the first record's `prev`
    /// is not this key's genesis value: the log was written with another key.
    WrongKey {
        file: PathBuf,
        line: usize,
        seq: u64,
    },
    /// An authentic record in the right place by seq whose `prev` is not the
    /// previous record's hash (chains spliced together, or a forked chain).
    BrokenLink {
        file: PathBuf,
        line: usize,
        seq: u64,
    },
    /// A line that is not a record (not JSON, missing or unknown fields, empty),
    /// other than a crash's partial last line.
    Corrupt {
        file: PathBuf,
        line: usize,
        reason: String,
    },
}

impl Damage {
    /// Short name of the kind of damage: `edited`, `deleted`, `inserted`,
    /// `reordered`, `wrong key`, `broken link`, `corrupt`.
    pub fn kind(&self) -> &'static str {
        match self {
            Damage::Edited { .. } => "edited",
            Damage::Deleted { .. } => "deleted",
            Damage::Inserted { .. } => "inserted",
            Damage::Reordered { .. } => "reordered",
            Damage::WrongKey { .. } => "wrong key",
            Damage::BrokenLink { .. } => "broken link",
            Damage::Corrupt { .. } => "corrupt",
        }
    }

    /// The file holding the first bad line.
    pub fn file(&self) -> &Path {
        match self {
            Damage::Edited { file, .. }
            | Damage::Deleted { file, .. }
            | Damage::Inserted { file, .. }
            | Damage::Reordered { file, .. }
            | Damage::WrongKey { file, .. }
            | Damage::BrokenLink { file, .. }
            | Damage::Corrupt { file, .. } => file,
        }
    }

    /// The 1-based line number of the first bad line within [`file`](Self::file).
    pub fn line(&self) -> usize {
        match self {
            Damage::Edited { line, .. }
            | Damage::Deleted { line, .. }
            | Damage::Inserted { line, .. }
            | Damage::Reordered { line, .. }
            | Damage::WrongKey { line, .. }
            | Damage::BrokenLink { line, .. }
            | Damage::Corrupt { line, .. } => *line,
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = format!("line {} of {}", self.line(), self.file().display());
        match self {
            Damage::Edited { seq, .. } => write!(
                f,
                "edited: record seq {seq} at {at} no longer matches its HMAC"
            ),
            Damage::Deleted {
                expected_seq,
                found_seq,
                ..
            } => {
                let missing = if found_seq - expected_seq == 1 {
                    format!("record seq {expected_seq} is")
                } else {
                    format!("records seq {expected_seq}..={} are", found_seq - 1)
                };
                write!(
                    f,
                    "deleted: {missing} missing before record seq {found_seq} at {at}"
                )
            }
            Damage::Inserted { seq, .. } => write!(
                f,
                "inserted: record claiming seq {seq} at {at} is not part of the keyed chain"
            ),
            Damage::Reordered {
                expected_seq,
                found_seq,
                ..
            } => write!(
                f,
                "reordered: record seq {found_seq} at {at} is where seq {expected_seq} belongs"
            ),
            Damage::WrongKey { seq, .. } => write!(
                f,
                "wrong key: no record verifies under this key (first record seq {seq} at {at})"
            ),
            Damage::BrokenLink { seq, .. } => write!(
                f,
                "broken link: record seq {seq} at {at} is authentic but does not follow the record before it"
            ),
            Damage::Corrupt { reason, .. } => write!(f, "corrupt: {at} is not a record: {reason}"),
        }
    }
}

/// A partial line left by a writer killed mid-write. Not part of the chain
/// and not tampering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruncatedTail {
    pub file: PathBuf,
    /// 1-based line number of the partial line.
    pub line: usize,
    /// Byte offset of the partial line in `file`.
    pub offset: u64,
    /// Length of the partial line.
    pub bytes: u64,
    /// Seq of the last intact record before it (0 if none).
    pub after_seq: u64,
}

impl fmt::Display for TruncatedTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "truncated tail: partial line ({} bytes) at line {} of {} after seq {} \
             (a writer stopped mid-write; not part of the chain)",
            self.bytes,
            self.line,
            self.file.display(),
            self.after_seq
        )
    }
}

/// Outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// Records verified intact (up to the first problem, if any).
    pub records: u64,
    /// Log files examined.
    pub files: usize,
    /// The first damage found; `None` means the chain is intact.
    pub problem: Option<Damage>,
    /// The log currently ends in a partial line (a writer was killed and no
    /// session has run since). Reported, not an error.
    pub truncated_tail: Option<TruncatedTail>,
    /// Earlier partial lines that a later session found, terminated and
    /// acknowledged with an authenticated `audit.truncated_tail` record.
    pub recovered: Vec<TruncatedTail>,
    /// Seq of the first record checked. 1 when the log starts at its genesis;
    /// otherwise (a single rotated file, or old files removed) the chain is
    /// checked from this record on and earlier deletions cannot be seen.
    pub first_seq: Option<u64>,
    /// Seq of the last intact record.
    pub last_seq: Option<u64>,
}

impl VerifyReport {
    /// True when no damage was found (truncated tails are not damage).
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }

    /// Warnings to show even when the log is intact: truncated tails, and a
    /// chain checked from somewhere other than its genesis.
    pub fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self.recovered.iter().map(|t| t.to_string()).collect();
        notes.extend(self.truncated_tail.iter().map(|t| t.to_string()));
        if let Some(first) = self.first_seq.filter(|&s| s != 1) {
            notes.push(format!(
                "chain checked from seq {first}: the log's start (genesis) was not examined"
            ));
        }
        notes
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            Some(d) => write!(f, "{d}")?,
            None => write!(
                f,
                "ok: {} records in {} file{} intact",
                self.records,
                self.files,
                if self.files == 1 { "" } else { "s" }
            )?,
        }
        for note in self.notes() {
            write!(f, "\nwarning: {note}")?;
        }
        Ok(())
    }
}

struct Recovery {
    file: String,
    offset: u64,
    bytes: u64,
    sha256: String,
}

enum Kind {
    Rec {
        seq: u64,
        prev: [u8; 32],
        hash: [u8; 32],
        authentic: bool,
        recovery: Option<Recovery>,
    },
    Bad {
        reason: String,
        terminated: bool,
        bytes: u64,
        sha256: [u8; 32],
    },
}

struct Entry {
    file: usize,
    line: usize,
    offset: u64,
    kind: Kind,
}

/// A hash field as 32 bytes; non-hex values map to a digest of themselves so
/// they still compare equal only to identical text.
fn hash32(s: &str) -> [u8; 32] {
    from_hex32(s).unwrap_or_else(|| {
        let mut tagged = b"non-hex:".to_vec();
        tagged.extend_from_slice(s.as_bytes());
        sha256(&tagged)
    })
}

/// Resolves `path_or_dir` to the log files to check, in chain order.
fn files_for(path_or_dir: &Path) -> Result<(Vec<PathBuf>, bool), AuditError> {
    let meta = std::fs::metadata(path_or_dir).map_err(|e| AuditError::io(path_or_dir, e))?;
    if meta.is_dir() {
        let files = indexed_log_files(path_or_dir)?;
        let from_genesis = files.first().is_none_or(|(i, _)| *i == 1);
        Ok((files.into_iter().map(|(_, p)| p).collect(), from_genesis))
    } else {
        let from_genesis = path_or_dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(parse_log_file_name)
            == Some(1);
        Ok((vec![path_or_dir.to_path_buf()], from_genesis))
    }
}

fn default_key_path(path_or_dir: &Path) -> PathBuf {
    if path_or_dir.is_dir() {
        path_or_dir.join(KEY_FILE)
    } else {
        path_or_dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join(KEY_FILE)
    }
}

fn parse_entries(files: &[PathBuf], key: &Key) -> Result<Vec<Entry>, AuditError> {
    let mut entries = Vec::new();
    for (fi, path) in files.iter().enumerate() {
        let f = File::open(path).map_err(|e| AuditError::io(path, e))?;
        let mut r = BufReader::with_capacity(256 * 1024, f);
        let mut buf = Vec::new();
        let mut offset = 0u64;
        let mut line = 0usize;
        loop {
            buf.clear();
            let n = r
                .read_until(b'\n', &mut buf)
                .map_err(|e| AuditError::io(path, e))?;
            if n == 0 {
                break;
            }
            line += 1;
            let terminated = buf.last() == Some(&b'\n');
            if terminated {
                buf.pop();
            }
            let kind = classify_line(&buf, terminated, key);
            entries.push(Entry {
                file: fi,
                line,
                offset,
                kind,
            });
            offset += n as u64;
        }
    }
    Ok(entries)
}

fn classify_line(line: &[u8], terminated: bool, key: &Key) -> Kind {
    let bad = |reason: String| Kind::Bad {
        reason,
        terminated,
        bytes: line.len() as u64,
        sha256: sha256(line),
    };
    if line.is_empty() {
        return bad("empty line".into());
    }
    let rec: Record = match serde_json::from_slice(line) {
        Ok(r) => r,
        Err(e) => return bad(e.to_string()),
    };
    let hash = hash32(&rec.hash);
    let mac = hmac_sha256(&key.0, &rec.signed_bytes());
    let authentic = ct_eq(&mac, &hash);
    let recovery = (rec.event_type == RECOVERY_EVENT)
        .then(|| {
            let p = &rec.payload;
            Some(Recovery {
                file: p.get("file")?.as_str()?.to_string(),
                offset: p.get("offset")?.as_u64()?,
                bytes: p.get("bytes")?.as_u64()?,
                sha256: p.get("sha256")?.as_str()?.to_string(),
            })
        })
        .flatten();
    Kind::Rec {
        seq: rec.seq,
        prev: hash32(&rec.prev),
        hash,
        authentic,
        recovery,
    }
}

/// Checks the chain in one log file, or in every log file of a state dir
/// (oldest first; the chain continues across rotated files). The key defaults
/// to `audit.key` beside the log(s); like the writer, `verify` refuses a key
/// file that group or others can read.
///
/// Stops at the first damage and reports it in [`VerifyReport::problem`].
/// A partial last line is reported in [`VerifyReport::truncated_tail`] and
/// is not damage. Deleting records from the very end of the log cannot be
/// detected by a hash chain alone.
pub fn verify(path_or_dir: &Path, key_path: Option<&Path>) -> Result<VerifyReport, AuditError> {
    let (files, from_genesis) = files_for(path_or_dir)?;
    let key_path = key_path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_key_path(path_or_dir));
    let key = key::load(&key_path)?;
    let entries = parse_entries(&files, &key)?;
    let mut report = VerifyReport {
        files: files.len(),
        ..VerifyReport::default()
    };
    let genesis = hash32(&genesis(&key));
    let file_of = |e: &Entry| files[e.file].clone();
    let file_name = |e: &Entry| {
        files[e.file]
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };

    // Wrong key: nothing verifies, and the first record does not start from
    // this key's genesis value either.
    let any_authentic = entries.iter().any(|e| {
        matches!(
            e.kind,
            Kind::Rec {
                authentic: true,
                ..
            }
        )
    });
    if !any_authentic
        && let Some((e, seq, prev)) = entries.iter().find_map(|e| match &e.kind {
            Kind::Rec { seq, prev, .. } => Some((e, *seq, *prev)),
            Kind::Bad { .. } => None,
        })
        && !(from_genesis && ct_eq(&prev, &genesis))
    {
        report.problem = Some(Damage::WrongKey {
            file: file_of(e),
            line: e.line,
            seq,
        });
        return Ok(report);
    }

    let (mut expected, mut prev_hash) = if from_genesis {
        (Some(1u64), genesis)
    } else {
        (None, [0u8; 32])
    };
    let mut last_seq = 0u64;
    for (i, e) in entries.iter().enumerate() {
        match &e.kind {
            Kind::Bad {
                reason,
                terminated,
                bytes,
                sha256,
            } => {
                let tail = TruncatedTail {
                    file: file_of(e),
                    line: e.line,
                    offset: e.offset,
                    bytes: *bytes,
                    after_seq: last_seq,
                };
                if i + 1 == entries.len() && !terminated {
                    report.truncated_tail = Some(tail);
                    break;
                }
                let acknowledged = match entries.get(i + 1).map(|n| &n.kind) {
                    Some(Kind::Rec {
                        authentic: true,
                        recovery: Some(r),
                        ..
                    }) => {
                        r.file == file_name(e)
                            && r.offset == e.offset
                            && r.bytes == *bytes
                            && r.sha256 == to_hex(sha256)
                    }
                    _ => false,
                };
                if acknowledged {
                    report.recovered.push(tail);
                    continue;
                }
                report.problem = Some(Damage::Corrupt {
                    file: file_of(e),
                    line: e.line,
                    reason: reason.clone(),
                });
                break;
            }
            Kind::Rec {
                seq,
                prev,
                hash,
                authentic,
                ..
            } => {
                let seq = *seq;
                let exp = *expected.get_or_insert_with(|| {
                    prev_hash = *prev;
                    report.first_seq = Some(seq);
                    seq
                });
                report.first_seq.get_or_insert(exp);
                let damage = if *authentic {
                    let links = ct_eq(prev, &prev_hash);
                    if seq == exp && links {
                        report.records += 1;
                        expected = Some(exp + 1);
                        prev_hash = *hash;
                        last_seq = seq;
                        report.last_seq = Some(seq);
                        continue;
                    }
                    let authentic_seq_at = |range: &[Entry], s: u64| {
                        range.iter().any(|x| {
                            matches!(x.kind, Kind::Rec { seq: xs, authentic: true, .. } if xs == s)
                        })
                    };
                    if seq == exp {
                        Damage::BrokenLink {
                            file: file_of(e),
                            line: e.line,
                            seq,
                        }
                    } else if seq > exp {
                        if authentic_seq_at(&entries[i + 1..], exp) {
                            Damage::Reordered {
                                file: file_of(e),
                                line: e.line,
                                expected_seq: exp,
                                found_seq: seq,
                            }
                        } else {
                            Damage::Deleted {
                                file: file_of(e),
                                line: e.line,
                                expected_seq: exp,
                                found_seq: seq,
                            }
                        }
                    } else if authentic_seq_at(&entries[..i], seq) {
                        Damage::Inserted {
                            file: file_of(e),
                            line: e.line,
                            seq,
                        }
                    } else {
                        Damage::Reordered {
                            file: file_of(e),
                            line: e.line,
                            expected_seq: exp,
                            found_seq: seq,
                        }
                    }
                } else {
                    // Not authentic. If the next record is authentic and links
                    // straight to our predecessor, this line was slipped in;
                    // otherwise it is a written record changed afterwards.
                    let skipped_over = matches!(
                        entries.get(i + 1).map(|n| &n.kind),
                        Some(Kind::Rec { authentic: true, prev: np, .. }) if ct_eq(np, &prev_hash)
                    );
                    if skipped_over {
                        Damage::Inserted {
                            file: file_of(e),
                            line: e.line,
                            seq,
                        }
                    } else {
                        Damage::Edited {
                            file: file_of(e),
                            line: e.line,
                            seq,
                        }
                    }
                };
                report.problem = Some(damage);
                break;
            }
        }
    }
    Ok(report)
}

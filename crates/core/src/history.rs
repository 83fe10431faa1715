//! Conversation history: one append-only JSONL file per conversation.
//!
//! Each message is appended as it happens (one `write` per line, `O_APPEND`),
//! and the file is fsynced at turn boundaries, so `kill -9` loses at most the
//! turn in flight. A torn last line is skipped on load. `%undo` appends a
//! `truncate` record instead of rewriting the file. Files are private (0600)
//! in a private directory (0700).

use interlock_protocol::Message;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// One line of a history file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Meta {
        id: String,
        created: String,
        model: String,
        workspace: String,
        version: String,
        /// Where the model was reached, so `--resume` continues with the
        /// same server (absent in files from older versions).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_base: Option<String>,
        /// `openai` or `anthropic`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider: Option<String>,
        /// `tools` or `markdown`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tool_mode: Option<String>,
    },
    Message {
        message: Message,
    },
    /// Keep only the first `len` messages (written by `%undo`).
    Truncate {
        len: usize,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no conversation with id {0:?} (see `interlock history`)")]
    NotFound(String),
    #[error("no earlier conversation to resume")]
    Empty,
    #[error("{path} is not a conversation file: {message}")]
    Invalid { path: PathBuf, message: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> HistoryError + '_ {
    move |source| HistoryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Appends records to one conversation's file.
#[derive(Debug)]
pub struct HistoryWriter {
    id: String,
    path: PathBuf,
    file: File,
}

impl HistoryWriter {
    /// Starts a new conversation file under `dir`, recording only the model.
    pub fn create(dir: &Path, model: &str, workspace: &Path) -> Result<Self, HistoryError> {
        Self::create_with(dir, model, workspace, None)
    }

    /// Starts a new conversation file under `dir` whose header records the
    /// model, endpoint, provider and tool mode of `settings`, so that
    /// `--resume` continues it the way it was held.
    pub fn create_for(
        dir: &Path,
        settings: &crate::config::Settings,
    ) -> Result<Self, HistoryError> {
        Self::create_with(
            dir,
            &settings.model,
            &settings.workspace,
            Some(Origin {
                api_base: settings.api_base.clone(),
                provider: settings.provider.clone(),
                tool_mode: settings.tool_mode.as_str().to_string(),
            }),
        )
    }

    fn create_with(
        dir: &Path,
        model: &str,
        workspace: &Path,
        origin: Option<Origin>,
    ) -> Result<Self, HistoryError> {
        ensure_private_dir(dir)?;
        let (stamp, created) = now_stamps();
        let id = format!("{stamp}-{}", random_suffix());
        let path = dir.join(format!("{id}.jsonl"));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut w = HistoryWriter { id, path, file };
        w.append(&Record::Meta {
            id: w.id.clone(),
            created,
            model: model.to_string(),
            workspace: workspace.display().to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            api_base: origin.as_ref().map(|o| o.api_base.clone()),
            provider: origin.as_ref().map(|o| o.provider.clone()),
            tool_mode: origin.map(|o| o.tool_mode),
        })?;
        w.sync()?;
        Ok(w)
    }

    /// Continues an existing conversation file.
    pub fn reopen(dir: &Path, id: &str) -> Result<Self, HistoryError> {
        let path = dir.join(format!("{id}.jsonl"));
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut w = HistoryWriter {
            id: id.to_string(),
            path,
            file,
        };
        // A torn line from a killed process must not glue onto the next record.
        let len = w.file.metadata().map_err(io_err(&w.path))?.len();
        if len > 0 {
            use std::os::unix::fs::FileExt;
            let mut last = [0u8; 1];
            File::open(&w.path)
                .and_then(|f| f.read_exact_at(&mut last, len - 1))
                .map_err(io_err(&w.path))?;
            if last[0] != b'\n' {
                w.file.write_all(b"\n").map_err(io_err(&w.path))?;
            }
        }
        Ok(w)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one line in a single write.
    pub fn append(&mut self, record: &Record) -> Result<(), HistoryError> {
        let mut line = serde_json::to_string(record).expect("record serialises");
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(io_err(&self.path))
    }

    pub fn message(&mut self, message: &Message) -> Result<(), HistoryError> {
        self.append(&Record::Message {
            message: message.clone(),
        })
    }

    /// Flushes to disk (turn boundaries).
    pub fn sync(&mut self) -> Result<(), HistoryError> {
        self.file.sync_data().map_err(io_err(&self.path))
    }
}

/// How a conversation reached its model (stored in its header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub api_base: String,
    pub provider: String,
    pub tool_mode: String,
}

/// A conversation read back from disk.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub id: String,
    pub created: String,
    pub model: String,
    pub workspace: String,
    /// Endpoint, provider and tool mode; None for files written before
    /// they were recorded.
    pub origin: Option<Origin>,
    pub messages: Vec<Message>,
    /// Lines that could not be read (a torn last line after a crash, typically).
    pub skipped_lines: usize,
}

/// Reads a conversation file, tolerating a torn or corrupt line, and repairs
/// tool calls left without results so the conversation can be sent again.
pub fn load(path: &Path) -> Result<Conversation, HistoryError> {
    let text = std::fs::read(path).map_err(io_err(path))?;
    let text = String::from_utf8_lossy(&text);
    let mut conv = Conversation {
        id: String::new(),
        created: String::new(),
        model: String::new(),
        workspace: String::new(),
        origin: None,
        messages: Vec::new(),
        skipped_lines: 0,
    };
    let mut saw_meta = false;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Record>(line) {
            Ok(Record::Meta {
                id,
                created,
                model,
                workspace,
                api_base,
                provider,
                tool_mode,
                ..
            }) => {
                saw_meta = true;
                conv.id = id;
                conv.created = created;
                conv.model = model;
                conv.workspace = workspace;
                conv.origin = match (api_base, provider, tool_mode) {
                    (Some(api_base), Some(provider), Some(tool_mode)) => Some(Origin {
                        api_base,
                        provider,
                        tool_mode,
                    }),
                    _ => None,
                };
            }
            Ok(Record::Message { message }) => conv.messages.push(message),
            Ok(Record::Truncate { len }) => conv.messages.truncate(len),
            Err(_) => conv.skipped_lines += 1,
        }
    }
    if !saw_meta {
        return Err(HistoryError::Invalid {
            path: path.to_path_buf(),
            message: "no header record".into(),
        });
    }
    repair_dangling_tool_calls(&mut conv.messages);
    Ok(conv)
}

/// Every assistant tool call needs a tool result before the next message, or
/// providers reject the conversation. A crash between the two leaves a gap;
/// fill it with a result that says what happened.
pub fn repair_dangling_tool_calls(messages: &mut Vec<Message>) {
    let mut i = 0;
    while i < messages.len() {
        if let Message::Assistant { tool_calls, .. } = &messages[i]
            && !tool_calls.is_empty()
        {
            let ids: Vec<String> = tool_calls.iter().map(|c| c.id.clone()).collect();
            let mut j = i + 1;
            let mut answered = Vec::new();
            while let Some(Message::Tool { tool_call_id, .. }) = messages.get(j) {
                answered.push(tool_call_id.clone());
                j += 1;
            }
            for id in ids.into_iter().filter(|id| !answered.contains(id)) {
                messages.insert(
                    j,
                    Message::Tool {
                        tool_call_id: id,
                        content: "Not run: the session ended before this code ran.".into(),
                    },
                );
                j += 1;
            }
            i = j;
        } else {
            i += 1;
        }
    }
}

/// A line of `interlock history`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub id: String,
    pub created: String,
    pub model: String,
    pub messages: usize,
    /// The first user message, shortened.
    pub title: String,
}

/// Lists conversations, newest first.
pub fn list(dir: &Path) -> Result<Vec<Summary>, HistoryError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        let Ok(conv) = load(&path) else { continue };
        let title = conv
            .messages
            .iter()
            .find_map(|m| match m {
                Message::User { content } => Some(content.lines().next().unwrap_or("").to_string()),
                _ => None,
            })
            .unwrap_or_default();
        let title: String = if title.chars().count() > 60 {
            title.chars().take(59).chain(['…']).collect()
        } else {
            title
        };
        out.push(Summary {
            id: conv.id,
            created: conv.created,
            model: conv.model,
            messages: conv.messages.len(),
            title,
        });
    }
    // Ids start with a UTC timestamp, so they sort by creation time.
    out.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(out)
}

/// Finds a conversation file by id (or the newest when `id` is None).
pub fn find(dir: &Path, id: Option<&str>) -> Result<PathBuf, HistoryError> {
    match id {
        Some(id) => {
            if id.contains('/') || id.contains("..") {
                return Err(HistoryError::NotFound(id.to_string()));
            }
            let p = dir.join(format!("{id}.jsonl"));
            if p.is_file() {
                Ok(p)
            } else {
                Err(HistoryError::NotFound(id.to_string()))
            }
        }
        None => {
            let newest = list(dir)?.into_iter().next().ok_or(HistoryError::Empty)?;
            Ok(dir.join(format!("{}.jsonl", newest.id)))
        }
    }
}

/// Turns an age such as `30d`, `12h`, `2w` or `90m` (or `45s`) into a
/// duration. None for anything else, and for zero.
pub fn parse_age(text: &str) -> Option<std::time::Duration> {
    let t = text.trim();
    let unit = t.chars().last()?;
    let mult: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    let n: u64 = t[..t.len() - 1].parse().ok()?;
    if n == 0 {
        return None;
    }
    Some(std::time::Duration::from_secs(n.checked_mul(mult)?))
}

/// The ids of every conversation file in `dir` (readable or not), newest
/// first.
pub fn ids(dir: &Path) -> Result<Vec<String>, HistoryError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut out: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".jsonl").map(str::to_string)
        })
        .collect();
    out.sort_by(|a, b| b.cmp(a));
    Ok(out)
}

/// The conversations last written to more than `age` before `now` (by the
/// file's modification time: a conversation resumed yesterday is not old).
pub fn older_than(
    dir: &Path,
    age: std::time::Duration,
    now: SystemTime,
) -> Result<Vec<String>, HistoryError> {
    let cutoff = now.checked_sub(age).unwrap_or(UNIX_EPOCH);
    Ok(ids(dir)?
        .into_iter()
        .filter(|id| {
            std::fs::symlink_metadata(dir.join(format!("{id}.jsonl")))
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < cutoff)
        })
        .collect())
}

/// Deletes conversation `id` from `dir` and, when `audit_dir` is given,
/// records in the audit log that it was deleted: the id, who or what asked
/// (`by`), and the record's own time. Never any of its content.
pub fn delete(
    dir: &Path,
    id: &str,
    audit_dir: Option<&Path>,
    by: &str,
) -> Result<(), HistoryError> {
    let path = find(dir, Some(id))?;
    std::fs::remove_file(&path).map_err(io_err(&path))?;
    if let Some(audit) = audit_dir {
        let mut log = interlock_audit::AuditLog::open(audit, id).map_err(|e| HistoryError::Io {
            path: audit.to_path_buf(),
            source: std::io::Error::other(format!("the audit log: {e}")),
        })?;
        log.append("history_deleted", serde_json::json!({ "id": id, "by": by }))
            .and_then(|()| log.sync())
            .map_err(|e| HistoryError::Io {
                path: audit.to_path_buf(),
                source: std::io::Error::other(format!("the audit log: {e}")),
            })?;
    }
    Ok(())
}

fn ensure_private_dir(dir: &Path) -> Result<(), HistoryError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err(dir))
}

/// `(compact id stamp, RFC 3339 time)` for now, in UTC.
fn now_stamps() -> (String, String) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, mo, d, h, mi, s) = civil(secs);
    (
        format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z"),
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
    )
}

/// Seconds since the epoch to UTC calendar fields (days-from-civil inverse).
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    format!("{:06x}", h.finish() & 0xff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use interlock_protocol::ToolCall;
    use std::os::unix::fs::PermissionsExt;

    fn user(s: &str) -> Message {
        Message::User { content: s.into() }
    }

    #[test]
    fn ages_read_as_people_write_them() {
        use std::time::Duration;
        assert_eq!(parse_age("30d"), Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_age(" 12h "), Some(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_age("2w"), Some(Duration::from_secs(14 * 86_400)));
        for bad in ["", "d", "0d", "30", "30x", "-1d", "1.5d"] {
            assert_eq!(parse_age(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_deleted_conversation_is_gone_and_the_audit_log_says_so_without_content() {
        let dir = tempfile::tempdir().unwrap();
        let hdir = dir.path().join("h");
        let state = dir.path().join("state");
        let mut old = HistoryWriter::create(&hdir, "m", Path::new("/w")).unwrap();
        old.message(&user("my secret plans")).unwrap();
        old.sync().unwrap();
        let old_id = old.id().to_string();
        // A session's own records come first, as in real use.
        let mut log = interlock_audit::AuditLog::open(&state, &old_id).unwrap();
        log.append("session_start", serde_json::json!({"model": "m"}))
            .unwrap();
        log.sync().unwrap();
        drop(log);
        // Make it old.
        let past = SystemTime::now() - std::time::Duration::from_secs(40 * 86_400);
        File::options()
            .write(true)
            .open(old.path())
            .unwrap()
            .set_modified(past)
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let mut new = HistoryWriter::create(&hdir, "m", Path::new("/w")).unwrap();
        new.message(&user("today")).unwrap();
        new.sync().unwrap();

        let aged = parse_age("30d").unwrap();
        assert_eq!(
            older_than(&hdir, aged, SystemTime::now()).unwrap(),
            vec![old_id.clone()]
        );
        delete(&hdir, &old_id, Some(&state), "test").unwrap();
        assert!(!old.path().exists());
        assert_eq!(ids(&hdir).unwrap(), vec![new.id().to_string()]);
        assert!(matches!(
            delete(&hdir, &old_id, Some(&state), "test"),
            Err(HistoryError::NotFound(_))
        ));

        let records = interlock_audit::read(&state).unwrap();
        let last = records.last().unwrap();
        assert_eq!(last.event_type, "history_deleted");
        assert_eq!(last.session, old_id);
        assert_eq!(last.payload["id"], old_id.as_str());
        let all = serde_json::to_string(&last.payload).unwrap();
        assert!(!all.contains("secret plans"), "{all}");
        let report = interlock_audit::verify(&state, None).unwrap();
        assert!(report.is_ok(), "{:?}", report.notes());
    }

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(1_796_083_200 + 3661), (2026, 12, 1, 1, 1, 1));
    }

    #[test]
    fn write_then_load_round_trips_and_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let hdir = dir.path().join("h");
        let mut w = HistoryWriter::create(&hdir, "m", Path::new("/w")).unwrap();
        w.message(&user("hello")).unwrap();
        w.message(&Message::Assistant {
            content: "hi".into(),
            tool_calls: vec![],
        })
        .unwrap();
        w.sync().unwrap();
        let mode = std::fs::metadata(w.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(&hdir).unwrap().permissions().mode() & 0o777;
        assert_eq!(dmode, 0o700);
        let c = load(w.path()).unwrap();
        assert_eq!(c.messages.len(), 2);
        assert_eq!(c.model, "m");
        let l = list(&hdir).unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].title, "hello");
        assert_eq!(find(&hdir, None).unwrap(), w.path());
    }

    #[test]
    fn the_header_records_how_the_model_was_reached() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = crate::config::Settings::resolve(
            &crate::config::Overrides::default(),
            &crate::config::EnvLayer::default(),
            None,
            dir.path(),
        )
        .unwrap();
        settings.model = "my-model".into();
        settings.api_base = "http://127.0.0.1:8080/v1".into();
        settings.provider = "anthropic".into();
        settings.tool_mode = crate::config::ToolMode::Markdown;
        let w = HistoryWriter::create_for(dir.path(), &settings).unwrap();
        let c = load(w.path()).unwrap();
        assert_eq!(c.model, "my-model");
        assert_eq!(
            c.origin,
            Some(Origin {
                api_base: "http://127.0.0.1:8080/v1".into(),
                provider: "anthropic".into(),
                tool_mode: "markdown".into(),
            })
        );
        // Files from before the header grew still load.
        let old = dir.path().join("old.jsonl");
        std::fs::write(
            &old,
            r#"{"kind":"meta","id":"old","created":"x","model":"m","workspace":"/w","version":"0"}"#,
        )
        .unwrap();
        assert_eq!(load(&old).unwrap().origin, None);
    }

    #[test]
    fn torn_last_line_is_skipped_and_reopen_continues_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = HistoryWriter::create(dir.path(), "m", Path::new("/w")).unwrap();
        w.message(&user("one")).unwrap();
        let path = w.path().to_path_buf();
        let id = w.id().to_string();
        drop(w);
        // Simulate kill -9 in the middle of a write.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"kind":"message","message":{"role":"us"#)
            .unwrap();
        drop(f);
        let c = load(&path).unwrap();
        assert_eq!(c.messages, vec![user("one")]);
        assert_eq!(c.skipped_lines, 1);
        let mut w = HistoryWriter::reopen(dir.path(), &id).unwrap();
        w.message(&user("two")).unwrap();
        let c = load(&path).unwrap();
        assert_eq!(c.messages, vec![user("one"), user("two")]);
    }

    #[test]
    fn truncate_records_undo() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = HistoryWriter::create(dir.path(), "m", Path::new("/w")).unwrap();
        w.message(&user("a")).unwrap();
        w.message(&user("b")).unwrap();
        w.append(&Record::Truncate { len: 1 }).unwrap();
        w.message(&user("c")).unwrap();
        assert_eq!(load(w.path()).unwrap().messages, vec![user("a"), user("c")]);
    }

    #[test]
    fn dangling_tool_calls_get_results() {
        let call = |id: &str| ToolCall {
            id: id.into(),
            name: "execute".into(),
            arguments: "{}".into(),
        };
        let mut m = vec![
            user("x"),
            Message::Assistant {
                content: String::new(),
                tool_calls: vec![call("a"), call("b")],
            },
            Message::Tool {
                tool_call_id: "a".into(),
                content: "ok".into(),
            },
        ];
        repair_dangling_tool_calls(&mut m);
        assert_eq!(m.len(), 4);
        assert!(matches!(&m[3], Message::Tool { tool_call_id, .. } if tool_call_id == "b"));
    }

    #[test]
    fn ids_cannot_escape_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            find(dir.path(), Some("../etc/passwd")),
            Err(HistoryError::NotFound(_))
        ));
    }
}

//! Reading records back for `audit show` and `audit export`.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::Value;

use crate::AuditError;
use crate::record::Record;
use crate::writer::indexed_log_files;

/// All records in one log file, or in every log file of a state dir (oldest
/// first). Lenient: lines that are not records (a crash's partial line,
/// corruption) are skipped — use [`verify`](crate::verify) to judge integrity.
pub fn read(path_or_dir: &Path) -> Result<Vec<Record>, AuditError> {
    let files = if path_or_dir.is_dir() {
        indexed_log_files(path_or_dir)?
            .into_iter()
            .map(|(_, p)| p)
            .collect()
    } else {
        vec![path_or_dir.to_path_buf()]
    };
    let mut out = Vec::new();
    for path in files {
        let f = File::open(&path).map_err(|e| AuditError::io(&path, e))?;
        let mut r = BufReader::new(f);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = r
                .read_until(b'\n', &mut buf)
                .map_err(|e| AuditError::io(&path, e))?;
            if n == 0 {
                break;
            }
            if let Ok(rec) = serde_json::from_slice::<Record>(&buf) {
                out.push(rec);
            }
        }
    }
    Ok(out)
}

/// Selection for `audit show`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Keep records whose session id equals or starts with this.
    pub session: Option<String>,
    /// Keep records with `ts >= since`; see [`parse_since`](crate::parse_since)
    /// for turning user input into this form.
    pub since: Option<String>,
}

impl Filter {
    pub fn matches(&self, r: &Record) -> bool {
        self.session
            .as_deref()
            .is_none_or(|s| r.session.starts_with(s))
            && self.since.as_deref().is_none_or(|t| r.ts.as_str() >= t)
    }

    /// The records this filter keeps, in order.
    pub fn apply<'a>(&self, records: &'a [Record]) -> Vec<&'a Record> {
        records.iter().filter(|r| self.matches(r)).collect()
    }
}

const SUMMARY_WIDTH: usize = 100;
const VALUE_WIDTH: usize = 48;

/// Readable timeline, one line per record:
/// `2025-01-02 03:04:05  1a2b3c4d  #42  code.proposed  language=python risk="low"`.
/// Control and bidi characters from payloads are escaped, so a hostile log
/// cannot drive the terminal.
pub fn format_timeline(records: &[Record]) -> String {
    let type_width = records
        .iter()
        .map(|r| r.event_type.chars().count())
        .max()
        .unwrap_or(0)
        .min(24);
    let mut out = String::new();
    for r in records {
        let ts = r.ts.get(..19).unwrap_or(&r.ts).replacen('T', " ", 1);
        let session: String = r.session.chars().take(8).collect();
        out.push_str(&format!(
            "{}  {:<8}  #{:<5} {:<type_width$}  {}\n",
            sanitize(&ts),
            sanitize(&session),
            r.seq,
            sanitize(&r.event_type),
            summarize(&r.payload),
        ));
    }
    out
}

/// A one-line summary of a payload.
pub fn summarize(payload: &Value) -> String {
    let text = match payload {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            keys.iter()
                .map(|k| format!("{}={}", sanitize(k), brief(&map[k.as_str()])))
                .collect::<Vec<_>>()
                .join(" ")
        }
        other => brief(other),
    };
    clip(&text, SUMMARY_WIDTH)
}

fn brief(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let s = sanitize(s);
            if s.is_empty() || s.contains([' ', '"', '=']) {
                format!("\"{}\"", clip(&s.replace('"', "\\\""), VALUE_WIDTH))
            } else {
                clip(&s, VALUE_WIDTH)
            }
        }
        Value::Array(a) => format!("[{} items]", a.len()),
        Value::Object(m) => format!("{{{} keys}}", m.len()),
        other => other.to_string(),
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Escapes control characters (C0, DEL, C1) and bidi overrides.
fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
        if c.is_control() || bidi {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(seq: u64, session: &str, ts: &str, ty: &str, payload: Value) -> Record {
        Record {
            seq,
            ts: ts.into(),
            session: session.into(),
            event_type: ty.into(),
            payload,
            prev: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn timeline_lines() {
        let rs = vec![
            rec(
                1,
                "0123456789abcdef",
                "2025-01-02T03:04:05.678Z",
                "session.start",
                json!({"model": "gpt-x", "version": "0.1.0"}),
            ),
            rec(
                2,
                "0123456789abcdef",
                "2025-01-02T03:04:06.000Z",
                "exec.end",
                json!({"exit": 0, "output": "a\u{1b}[2Jb", "limits": [], "x": "two words"}),
            ),
        ];
        let t = format_timeline(&rs);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "2025-01-02 03:04:05  01234567  #1     session.start  model=gpt-x version=0.1.0"
        );
        assert_eq!(
            lines[1],
            "2025-01-02 03:04:06  01234567  #2     exec.end       exit=0 limits=[0 items] output=a\\u{1b}[2Jb x=\"two words\""
        );
        assert!(!t.contains('\u{1b}'));
    }

    #[test]
    fn long_values_are_clipped() {
        let s = summarize(&json!({"code": "x".repeat(500)}));
        assert!(s.chars().count() <= SUMMARY_WIDTH);
        assert!(s.ends_with('…'));
        assert_eq!(summarize(&json!("plain")), "plain");
        assert_eq!(summarize(&json!(null)), "null");
    }

    #[test]
    fn filter_by_session_prefix_and_time() {
        let rs = vec![
            rec(1, "aaaa1111", "2025-01-01T00:00:00.000Z", "a", json!({})),
            rec(2, "bbbb2222", "2025-01-02T00:00:00.000Z", "b", json!({})),
            rec(3, "aaaa1111", "2025-01-03T00:00:00.000Z", "c", json!({})),
        ];
        let f = Filter {
            session: Some("aaaa".into()),
            since: Some("2025-01-02".into()),
        };
        let kept: Vec<u64> = f.apply(&rs).iter().map(|r| r.seq).collect();
        assert_eq!(kept, vec![3]);
        assert_eq!(Filter::default().apply(&rs).len(), 3);
    }
}

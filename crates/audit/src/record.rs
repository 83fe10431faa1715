//! The record type and its canonical serialisation.
//!
//! The HMAC of a record covers the bytes produced by [`Record::signed_bytes`]:
//! a compact JSON object whose keys come in the fixed order
//! `seq, ts, session, type, payload, prev`, with every object *inside* `payload`
//! written with its keys sorted by byte value, no insignificant whitespace,
//! strings escaped the way `serde_json` escapes them and numbers printed the
//! way `serde_json` prints them. This does not depend on whether some other
//! crate in the build enables `serde_json/preserve_order`, so the writer and
//! `verify` always agree. A record's line on disk is exactly these bytes with
//! `,"hash":"<64 hex>"` added before the closing brace, plus a newline.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Global sequence number: 1 for the first record ever written under this
    /// state dir, then +1 per record across sessions and rotated files.
    pub seq: u64,
    /// RFC 3339 UTC timestamp with milliseconds, e.g. `2025-01-02T03:04:05.678Z`.
    pub ts: String,
    /// Session id of the writer.
    pub session: String,
    /// Event type, e.g. `session.start`, `code.proposed`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Event data, already redacted by the caller.
    pub payload: Value,
    /// `hash` of the previous record (the keyed genesis value for the first).
    pub prev: String,
    /// Lowercase hex HMAC-SHA256 over [`Record::signed_bytes`].
    pub hash: String,
}

impl Record {
    /// The canonical bytes the HMAC covers: everything except `hash`.
    pub fn signed_bytes(&self) -> Vec<u8> {
        canonical_unsigned(
            self.seq,
            &self.ts,
            &self.session,
            &self.event_type,
            &self.payload,
            &self.prev,
        )
    }

    /// The record as one canonical JSON line (no trailing newline) — the
    /// exact form the writer puts on disk, and what `audit export` emits.
    pub fn to_json_line(&self) -> String {
        let mut bytes = self.signed_bytes();
        seal(&mut bytes, &self.hash);
        // Only valid UTF-8 goes in: JSON text built from `String`s.
        String::from_utf8(bytes).unwrap_or_default()
    }
}

/// Canonical serialisation of a record without its `hash`.
pub(crate) fn canonical_unsigned(
    seq: u64,
    ts: &str,
    session: &str,
    event_type: &str,
    payload: &Value,
    prev: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(b"{\"seq\":");
    out.extend_from_slice(seq.to_string().as_bytes());
    out.extend_from_slice(b",\"ts\":");
    write_str(&mut out, ts);
    out.extend_from_slice(b",\"session\":");
    write_str(&mut out, session);
    out.extend_from_slice(b",\"type\":");
    write_str(&mut out, event_type);
    out.extend_from_slice(b",\"payload\":");
    write_canonical(&mut out, payload);
    out.extend_from_slice(b",\"prev\":");
    write_str(&mut out, prev);
    out.push(b'}');
    out
}

/// Turns canonical unsigned bytes into the full line body by inserting `hash`.
pub(crate) fn seal(unsigned: &mut Vec<u8>, hash: &str) {
    debug_assert_eq!(unsigned.last(), Some(&b'}'));
    unsigned.pop();
    unsigned.extend_from_slice(b",\"hash\":");
    write_str(unsigned, hash);
    unsigned.push(b'}');
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // Serialising a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Writes `v` as compact JSON with object keys sorted by byte value.
pub(crate) fn write_canonical(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, val)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_canonical(out, val);
            }
            out.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: &Value) -> String {
        let mut out = Vec::new();
        write_canonical(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn object_keys_are_sorted_at_every_depth() {
        let v: Value =
            serde_json::from_str(r#"{"b":1,"a":{"z":true,"y":[{"d":null,"c":"x"}]}}"#).unwrap();
        assert_eq!(
            canon(&v),
            r#"{"a":{"y":[{"c":"x","d":null}],"z":true},"b":1}"#
        );
    }

    #[test]
    fn insertion_order_does_not_matter() {
        let mut m1 = serde_json::Map::new();
        m1.insert("zeta".into(), json!(1));
        m1.insert("alpha".into(), json!(2));
        let mut m2 = serde_json::Map::new();
        m2.insert("alpha".into(), json!(2));
        m2.insert("zeta".into(), json!(1));
        assert_eq!(canon(&Value::Object(m1)), canon(&Value::Object(m2)));
    }

    #[test]
    fn strings_numbers_and_escapes_are_stable() {
        let v =
            json!({"s": "line\nbreak \"quoted\" \u{1b}[31m é", "f": 1.5, "n": -3, "big": u64::MAX});
        let c = canon(&v);
        assert_eq!(
            c,
            r#"{"big":18446744073709551615,"f":1.5,"n":-3,"s":"line\nbreak \"quoted\" \u001b[31m é"}"#
        );
        assert!(
            !c.contains('\n'),
            "a canonical line never contains a raw newline"
        );
        // Parsing and re-serialising gives the same bytes.
        let back: Value = serde_json::from_str(&c).unwrap();
        assert_eq!(canon(&back), c);
    }

    #[test]
    fn record_line_layout_and_round_trip() {
        let r = Record {
            seq: 7,
            ts: "2025-01-02T03:04:05.678Z".into(),
            session: "s1".into(),
            event_type: "code.proposed".into(),
            payload: json!({"lang": "python", "code": "print(1)"}),
            prev: "00".repeat(32),
            hash: "ab".repeat(32),
        };
        assert_eq!(
            String::from_utf8(r.signed_bytes()).unwrap(),
            format!(
                r#"{{"seq":7,"ts":"2025-01-02T03:04:05.678Z","session":"s1","type":"code.proposed","payload":{{"code":"print(1)","lang":"python"}},"prev":"{}"}}"#,
                "00".repeat(32)
            )
        );
        let line = r.to_json_line();
        assert!(line.ends_with(&format!(r#","hash":"{}"}}"#, "ab".repeat(32))));
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.signed_bytes(), r.signed_bytes());
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let line = r#"{"seq":1,"ts":"t","session":"s","type":"x","payload":null,"prev":"p","hash":"h","extra":1}"#;
        assert!(serde_json::from_str::<Record>(line).is_err());
    }
}

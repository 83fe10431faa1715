//! Tamper with a log every way issue 6 lists and check `verify` names it.

use std::fs;
use std::path::{Path, PathBuf};

use interlock_audit::{AuditLog, Damage, Record, verify};
use serde_json::json;
use sha2::{Digest, Sha256};

const N: u64 = 10;

fn make_log(n: u64) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let mut log = AuditLog::open(&dir, "sess-aaaa").unwrap();
    for i in 1..=n {
        log.append("test.event", json!({"n": i, "text": format!("hello {i}")}))
            .unwrap();
    }
    log.sync().unwrap();
    let file = dir.join("audit-000001.jsonl");
    (tmp, file)
}

fn lines(file: &Path) -> Vec<String> {
    fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(file: &Path, lines: &[String]) {
    let mut s = lines.join("\n");
    s.push('\n');
    fs::write(file, s).unwrap();
}

fn dir_of(file: &Path) -> &Path {
    file.parent().unwrap()
}

fn problem(file: &Path) -> Damage {
    let report = verify(dir_of(file), None).unwrap();
    let d = report
        .problem
        .clone()
        .unwrap_or_else(|| panic!("no damage: {report}"));
    // The single-file form finds the same thing.
    assert_eq!(verify(file, None).unwrap().problem, Some(d.clone()));
    d
}

#[test]
fn intact_log_verifies() {
    let (_t, file) = make_log(N);
    let r = verify(dir_of(&file), None).unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!((r.records, r.files), (N, 1));
    assert_eq!((r.first_seq, r.last_seq), (Some(1), Some(N)));
    assert!(r.notes().is_empty());
    assert_eq!(r.to_string(), "ok: 10 records in 1 file intact");
    let recs = interlock_audit::read(dir_of(&file)).unwrap();
    assert_eq!(recs.len() as u64, N);
    // Lines on disk are exactly the canonical form.
    for (line, rec) in lines(&file).iter().zip(&recs) {
        assert_eq!(line, &rec.to_json_line());
    }
}

#[test]
fn edited_payload_byte() {
    let (_t, file) = make_log(N);
    let mut ls = lines(&file);
    assert!(ls[4].contains("hello 5"));
    ls[4] = ls[4].replace("hello 5", "hellO 5");
    write_lines(&file, &ls);
    let d = problem(&file);
    assert_eq!(
        d,
        Damage::Edited {
            file: file.clone(),
            line: 5,
            seq: 5
        }
    );
    let msg = d.to_string();
    assert!(
        msg.starts_with("edited:") && msg.contains("seq 5") && msg.contains("line 5"),
        "{msg}"
    );
}

#[test]
fn edited_last_record() {
    let (_t, file) = make_log(N);
    let mut ls = lines(&file);
    ls[9] = ls[9].replace("\"n\":10", "\"n\":11");
    write_lines(&file, &ls);
    assert_eq!(
        problem(&file),
        Damage::Edited {
            file: file.clone(),
            line: 10,
            seq: 10
        }
    );
}

#[test]
fn edited_type_field() {
    let (_t, file) = make_log(N);
    let mut ls = lines(&file);
    ls[2] = ls[2].replace("test.event", "test.other");
    write_lines(&file, &ls);
    assert!(matches!(
        problem(&file),
        Damage::Edited {
            line: 3,
            seq: 3,
            ..
        }
    ));
}

#[test]
fn deleted_middle_line() {
    let (_t, file) = make_log(N);
    let mut ls = lines(&file);
    ls.remove(3); // seq 4
    write_lines(&file, &ls);
    let d = problem(&file);
    assert_eq!(
        d,
        Damage::Deleted {
            file: file.clone(),
            line: 4,
            expected_seq: 4,
            found_seq: 5
        }
    );
    assert!(
        d.to_string()
            .starts_with("deleted: record seq 4 is missing"),
        "{d}"
    );
}

#[test]
fn deleted_several_and_first_lines() {
    let (_t, file) = make_log(N);
    let mut ls = lines(&file);
    ls.drain(0..3);
    write_lines(&file, &ls);
    let d = problem(&file);
    assert_eq!(
        d,
        Damage::Deleted {
            file: file.clone(),
            line: 1,
            expected_seq: 1,
            found_seq: 4
        }
    );
    assert!(d.to_string().contains("seq 1..=3 are missing"), "{d}");
}

#[test]
fn inserted_forged_line_with_plain_sha256() {
    let (_t, file) = make_log(N);
    let mut ls = lines(&file);
    let prev: Record = serde_json::from_str(&ls[2]).unwrap(); // seq 3
    let mut forged = Record {
        seq: 4,
        ts: prev.ts.clone(),
        session: prev.session.clone(),
        event_type: "exec.end".into(),
        payload: json!({"exit": 0, "note": "nothing to see"}),
        prev: prev.hash.clone(),
        hash: String::new(),
    };
    forged.hash = hex(&Sha256::digest(forged.signed_bytes()));
    ls.insert(3, forged.to_json_line());
    write_lines(&file, &ls);
    let d = problem(&file);
    assert_eq!(
        d,
        Damage::Inserted {
            file: file.clone(),
            line: 4,
            seq: 4
        }
    );
    assert!(d.to_string().starts_with("inserted:"), "{d}");
}

#[test]
fn inserted_replayed_copy() {
    let (_t, file) = make_log(N);
    let mut ls = lines(&file);
    let copy = ls[1].clone(); // seq 2, authentic
    ls.insert(6, copy);
    write_lines(&file, &ls);
    assert_eq!(
        problem(&file),
        Damage::Inserted {
            file: file.clone(),
            line: 7,
            seq: 2
        }
    );
}

#[test]
fn reordered_swapped_lines() {
    let (_t, file) = make_log(N);
    let mut ls = lines(&file);
    ls.swap(5, 6); // seq 6 and 7
    write_lines(&file, &ls);
    let d = problem(&file);
    assert_eq!(
        d,
        Damage::Reordered {
            file: file.clone(),
            line: 6,
            expected_seq: 6,
            found_seq: 7
        }
    );
    assert!(d.to_string().starts_with("reordered:"), "{d}");
}

#[test]
fn truncated_tail_is_reported_not_damage() {
    let (_t, file) = make_log(N);
    let text = fs::read_to_string(&file).unwrap();
    let last_start = text[..text.len() - 1].rfind('\n').unwrap() + 1;
    let cut = last_start + (text.len() - last_start) / 2;
    fs::write(&file, &text[..cut]).unwrap();
    let r = verify(dir_of(&file), None).unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.records, N - 1);
    let tail = r.truncated_tail.clone().expect("truncated tail");
    assert_eq!((tail.line, tail.after_seq), (10, 9));
    assert_eq!(tail.offset, last_start as u64);
    assert_eq!(tail.bytes, (cut - last_start) as u64);
    assert_eq!(r.notes().len(), 1);
    assert!(r.to_string().contains("warning: truncated tail"), "{r}");
    // `read` skips the partial line.
    assert_eq!(interlock_audit::read(&file).unwrap().len() as u64, N - 1);
}

#[test]
fn wrong_key() {
    let (_t, file) = make_log(N);
    let other = tempfile::tempdir().unwrap();
    AuditLog::open(other.path(), "x").unwrap();
    let other_key = other.path().join("audit.key");
    let r = verify(dir_of(&file), Some(&other_key)).unwrap();
    let d = r.problem.clone().expect("wrong key");
    assert_eq!(
        d,
        Damage::WrongKey {
            file: file.clone(),
            line: 1,
            seq: 1
        }
    );
    assert!(d.to_string().starts_with("wrong key:"), "{d}");
    assert_eq!(r.records, 0);
}

#[test]
fn single_record_edited_is_not_mistaken_for_wrong_key() {
    let (_t, file) = make_log(1);
    let mut ls = lines(&file);
    ls[0] = ls[0].replace("hello 1", "hello 2");
    write_lines(&file, &ls);
    // The first record's prev still matches this key's genesis value.
    assert!(matches!(
        problem(&file),
        Damage::Edited {
            line: 1,
            seq: 1,
            ..
        }
    ));
}

#[test]
fn garbage_line_is_corrupt() {
    let (_t, file) = make_log(N);
    let mut ls = lines(&file);
    ls[2] = "rm -rf / # not json".into();
    write_lines(&file, &ls);
    let d = problem(&file);
    assert!(matches!(d, Damage::Corrupt { line: 3, .. }), "{d}");
    assert!(d.to_string().starts_with("corrupt:"), "{d}");
}

#[test]
fn extra_field_is_corrupt() {
    let (_t, file) = make_log(N);
    let mut ls = lines(&file);
    ls[2] = ls[2].replacen('{', "{\"approved\":true,", 1);
    write_lines(&file, &ls);
    assert!(matches!(problem(&file), Damage::Corrupt { line: 3, .. }));
}

#[test]
fn chain_from_another_log_with_same_key_is_a_broken_link() {
    // Two state dirs sharing one key: splice record 5 of the second into the first.
    let (_t, file) = make_log(N);
    let dir = dir_of(&file);
    let other = tempfile::tempdir().unwrap();
    fs::copy(dir.join("audit.key"), other.path().join("audit.key")).unwrap();
    let mut log2 = AuditLog::open(other.path(), "sess-bbbb").unwrap();
    for i in 1..=5 {
        log2.append("other", json!({ "i": i })).unwrap();
    }
    let theirs = lines(&other.path().join("audit-000001.jsonl"));
    let mut ls = lines(&file);
    ls.truncate(4);
    ls.push(theirs[4].clone()); // authentic seq 5, but links to their seq 4
    write_lines(&file, &ls);
    assert_eq!(
        problem(&file),
        Damage::BrokenLink {
            file: file.clone(),
            line: 5,
            seq: 5
        }
    );
}

#[test]
fn first_damage_wins() {
    let (_t, file) = make_log(N);
    let mut ls = lines(&file);
    ls[7] = ls[7].replace("hello 8", "HELLO 8");
    ls.remove(2);
    write_lines(&file, &ls);
    assert!(matches!(problem(&file), Damage::Deleted { line: 3, .. }));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

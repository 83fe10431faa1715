//! Crashes, concurrent writers, rotation and key/file permissions.
//!
//! Child processes are this test binary re-executed with `AUDIT_CHILD_DIR`
//! set, running only the `child_writer` test, which then appends records.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use interlock_audit::{AuditError, AuditLog, Damage, RECOVERY_EVENT, Record, read, verify};
use serde_json::json;

const CHILD_DIR: &str = "AUDIT_CHILD_DIR";
const CHILD_COUNT: &str = "AUDIT_CHILD_COUNT"; // absent: until killed (or 2000 records)
const CHILD_PAYLOAD: &str = "AUDIT_CHILD_PAYLOAD"; // bytes of filler per record
const CHILD_ROTATE: &str = "AUDIT_CHILD_ROTATE";
const CHILD_TEAR: &str = "AUDIT_CHILD_TEAR"; // after COUNT records, write half a line and hang

/// Not a real test: the body of a child process (no-op in a normal run).
#[test]
fn child_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let count: u64 = std::env::var(CHILD_COUNT)
        .ok()
        .map_or(2000, |v| v.parse().unwrap());
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    let filler = "f".repeat(
        std::env::var(CHILD_PAYLOAD)
            .ok()
            .map_or(16, |v| v.parse().unwrap()),
    );
    let session = format!("child-{}", std::process::id());
    let mut log = AuditLog::open(Path::new(&dir), &session).unwrap();
    if let Ok(max) = std::env::var(CHILD_ROTATE) {
        log = log.with_rotation(max.parse().unwrap());
    }
    let mut i = 0u64;
    // Stop on our own if the test that started us has gone away.
    // SAFETY: getppid has no preconditions.
    while i < count && unsafe { libc::getppid() } == parent {
        i += 1;
        log.append("child.tick", json!({"i": i, "filler": filler}))
            .unwrap();
    }
    log.sync().unwrap();
    if std::env::var_os(CHILD_TEAR).is_some() {
        // Stand-in for a write(2) cut short by the kill: the first half of a
        // record, then wait to be killed.
        let file = log.current_file().unwrap().to_path_buf();
        let mut f = fs::OpenOptions::new().append(true).open(file).unwrap();
        f.write_all(br#"{"seq":999,"ts":"2025-01-01T00:00:00.000Z","session":"torn","ty"#)
            .unwrap();
        f.sync_all().unwrap();
        // SAFETY: getppid has no preconditions.
        while unsafe { libc::getppid() } == parent {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A child process that is SIGKILLed if the test panics before waiting on it.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_child(dir: &Path, envs: &[(&str, String)]) -> ChildGuard {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_writer", "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    ChildGuard(cmd.spawn().unwrap())
}

fn state_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    (tmp, dir)
}

fn newline_count(dir: &Path) -> usize {
    interlock_audit::log_files(dir)
        .unwrap_or_default()
        .iter()
        .map(|f| fs::read(f).unwrap().iter().filter(|&&b| b == b'\n').count())
        .sum()
}

fn assert_dense_chain(records: &[Record]) {
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1, "seq out of order at index {i}");
    }
    for w in records.windows(2) {
        assert_eq!(w[1].prev, w[0].hash, "chain broken after seq {}", w[0].seq);
    }
}

#[test]
fn kill_dash_nine_then_resume() {
    let (_t, dir) = state_dir();
    AuditLog::open(&dir, "init").unwrap();
    let mut saw_partial = false;
    for round in 0..3 {
        // Big records make a kill in the middle of a write(2) plausible.
        let mut child = spawn_child(&dir, &[(CHILD_PAYLOAD, (64 * 1024).to_string())]);
        let start = Instant::now();
        let before = newline_count(&dir);
        while newline_count(&dir) < before + 5 {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "child made no progress"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        child.0.kill().unwrap(); // SIGKILL
        child.0.wait().unwrap();

        let crashed = verify(&dir, None).unwrap();
        assert!(crashed.is_ok(), "round {round}: {crashed}");
        saw_partial |= crashed.truncated_tail.is_some();

        let mut log = AuditLog::open(&dir, &format!("resume-{round}")).unwrap();
        log.append("session.resume", json!({ "round": round }))
            .unwrap();
        log.sync().unwrap();
        drop(log);

        let r = verify(&dir, None).unwrap();
        assert!(r.is_ok(), "round {round}: {r}");
        assert!(r.truncated_tail.is_none(), "{r}");
        let records = read(&dir).unwrap();
        assert_dense_chain(&records);
        assert_eq!(r.records, records.len() as u64);
        assert_eq!(records.last().unwrap().event_type, "session.resume");
    }
    eprintln!("kill -9 left a partial line at least once: {saw_partial}");
}

#[test]
fn kill_dash_nine_mid_line_then_resume() {
    let (_t, dir) = state_dir();
    AuditLog::open(&dir, "init").unwrap();
    let mut child = spawn_child(
        &dir,
        &[
            (CHILD_COUNT, "20".to_string()),
            (CHILD_TEAR, "1".to_string()),
        ],
    );
    let file = dir.join("audit-000001.jsonl");
    let start = Instant::now();
    while fs::read(&file).unwrap().last().is_none_or(|&b| b == b'\n') {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "child never tore a line"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();

    let crashed = verify(&dir, None).unwrap();
    assert!(crashed.is_ok(), "{crashed}");
    assert_eq!(crashed.records, 20);
    assert_eq!(
        crashed.truncated_tail.as_ref().map(|t| t.after_seq),
        Some(20)
    );

    let mut log = AuditLog::open(&dir, "resume").unwrap();
    log.append("session.resume", json!({})).unwrap();
    drop(log);
    let r = verify(&dir, None).unwrap();
    assert!(r.is_ok() && r.truncated_tail.is_none(), "{r}");
    assert_eq!((r.records, r.recovered.len()), (22, 1));
    let records = read(&dir).unwrap();
    assert_dense_chain(&records);
    assert_eq!(records[20].event_type, RECOVERY_EVENT);
}

#[test]
fn partial_line_is_recovered_by_next_session() {
    let (_t, dir) = state_dir();
    let mut log = AuditLog::open(&dir, "first").unwrap();
    for i in 0..5 {
        log.append("e", json!({ "i": i })).unwrap();
    }
    drop(log);
    // What a writer killed mid-write leaves: the first half of a line.
    let file = dir.join("audit-000001.jsonl");
    let whole = fs::read(&file).unwrap();
    let partial = br#"{"seq":6,"ts":"2025-01-01T00:00:00.000Z","session":"first","type":"e","payl"#;
    fs::write(&file, [whole.as_slice(), partial].concat()).unwrap();

    let r = verify(&dir, None).unwrap();
    assert!(
        r.is_ok() && r.truncated_tail.is_some() && r.records == 5,
        "{r}"
    );

    // The next session terminates the line and acknowledges it.
    let mut log = AuditLog::open(&dir, "second").unwrap();
    assert_eq!(log.last_seq(), 6, "recovery record takes seq 6");
    log.append("after", json!({})).unwrap();
    drop(log);

    let r = verify(&dir, None).unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.records, 7);
    assert!(r.truncated_tail.is_none());
    assert_eq!(r.recovered.len(), 1);
    let t = &r.recovered[0];
    assert_eq!(
        (t.line, t.offset, t.bytes, t.after_seq),
        (6, whole.len() as u64, partial.len() as u64, 5)
    );
    assert!(r.to_string().contains("warning: truncated tail"), "{r}");

    let records = read(&dir).unwrap();
    assert_dense_chain(&records);
    let rec = &records[5];
    assert_eq!(
        (rec.event_type.as_str(), rec.session.as_str()),
        (RECOVERY_EVENT, "second")
    );
    assert_eq!(rec.payload["offset"], json!(whole.len()));
    assert_eq!(records[6].event_type, "after");

    // The acknowledgement covers those exact bytes: changing the partial line
    // afterwards is damage, not a truncated tail.
    let text = fs::read_to_string(&file).unwrap();
    fs::write(&file, text.replacen("\"payl\n", "\"payX\n", 1)).unwrap();
    let r = verify(&dir, None).unwrap();
    assert!(
        matches!(r.problem, Some(Damage::Corrupt { line: 6, .. })),
        "{r}"
    );
}

#[test]
fn unterminated_whole_record_is_just_terminated() {
    let (_t, dir) = state_dir();
    let mut log = AuditLog::open(&dir, "a").unwrap();
    log.append("e", json!(1)).unwrap();
    log.append("e", json!(2)).unwrap();
    drop(log);
    let file = dir.join("audit-000001.jsonl");
    let mut bytes = fs::read(&file).unwrap();
    assert_eq!(bytes.pop(), Some(b'\n'));
    fs::write(&file, &bytes).unwrap();
    let mut log = AuditLog::open(&dir, "b").unwrap();
    log.append("e", json!(3)).unwrap();
    drop(log);
    let r = verify(&dir, None).unwrap();
    assert!(r.is_ok() && r.notes().is_empty(), "{r}");
    assert_eq!(r.records, 3);
}

#[test]
fn sessions_continue_one_chain() {
    let (_t, dir) = state_dir();
    for s in 0..3 {
        let mut log = AuditLog::open(&dir, &format!("s{s}")).unwrap();
        for i in 0..4 {
            log.append("e", json!({ "s": s, "i": i })).unwrap();
        }
        assert_eq!(log.last_seq(), (s + 1) * 4);
    }
    let r = verify(&dir, None).unwrap();
    assert!(r.is_ok() && r.records == 12, "{r}");
    assert_dense_chain(&read(&dir).unwrap());
}

#[test]
fn concurrent_threads_make_one_chain() {
    let (_t, dir) = state_dir();
    AuditLog::open(&dir, "init").unwrap();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let mut log = AuditLog::open(&dir, &format!("thread-{t}")).unwrap();
                for i in 0..100 {
                    log.append("tick", json!({ "t": t, "i": i, "pad": "x".repeat(300) }))
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let r = verify(&dir, None).unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.records, 400);
    // Every line is a whole record.
    let text = fs::read_to_string(dir.join("audit-000001.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 400);
    for line in text.lines() {
        serde_json::from_str::<Record>(line).unwrap();
    }
    let records = read(&dir).unwrap();
    assert_dense_chain(&records);
    for t in 0..4 {
        let mine: Vec<i64> = records
            .iter()
            .filter(|r| r.session == format!("thread-{t}"))
            .map(|r| r.payload["i"].as_i64().unwrap())
            .collect();
        assert_eq!(
            mine,
            (0..100).collect::<Vec<_>>(),
            "thread {t} lost or reordered records"
        );
    }
}

#[test]
fn concurrent_processes_make_one_chain_across_rotation() {
    let (_t, dir) = state_dir();
    AuditLog::open(&dir, "init").unwrap();
    let envs = [
        (CHILD_COUNT, "150".to_string()),
        (CHILD_PAYLOAD, "2000".to_string()),
        (CHILD_ROTATE, (64 * 1024).to_string()),
    ];
    let mut children: Vec<ChildGuard> = (0..3).map(|_| spawn_child(&dir, &envs)).collect();
    for c in &mut children {
        assert!(c.0.wait().unwrap().success());
    }
    let r = verify(&dir, None).unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.records, 450);
    assert!(r.files > 3, "expected rotation, got {} files", r.files);
    let records = read(&dir).unwrap();
    assert_dense_chain(&records);
    let sessions: std::collections::BTreeSet<&str> =
        records.iter().map(|r| r.session.as_str()).collect();
    assert_eq!(sessions.len(), 3);
}

#[test]
fn rotation_keeps_the_chain_across_files() {
    let (_t, dir) = state_dir();
    let mut log = AuditLog::open(&dir, "rot").unwrap().with_rotation(1024);
    for i in 0..60 {
        log.append("e", json!({ "i": i, "pad": "p".repeat(40) }))
            .unwrap();
    }
    drop(log);
    let files = interlock_audit::log_files(&dir).unwrap();
    assert!(files.len() > 3, "{files:?}");
    for f in &files[..files.len() - 1] {
        let len = fs::metadata(f).unwrap().len();
        assert!(
            (1024..1024 + 200).contains(&len),
            "{} is {len} bytes",
            f.display()
        );
    }
    let r = verify(&dir, None).unwrap();
    assert!(
        r.is_ok() && r.records == 60 && r.files == files.len(),
        "{r}"
    );
    assert_dense_chain(&read(&dir).unwrap());

    // A later session continues in the newest file.
    let mut log = AuditLog::open(&dir, "rot2").unwrap().with_rotation(1024);
    log.append("e", json!({"after": true})).unwrap();
    assert_eq!(log.last_seq(), 61);
    drop(log);
    assert!(verify(&dir, None).unwrap().is_ok());

    // A single later file verifies on its own, anchored at its first record.
    let second = verify(&files[1], None).unwrap();
    assert!(second.is_ok(), "{second}");
    assert_ne!(second.first_seq, Some(1));
    assert!(
        second.notes().iter().any(|n| n.contains("genesis")),
        "{second}"
    );

    // Removing a middle file is a deletion at the first record of the next.
    fs::remove_file(&files[1]).unwrap();
    match verify(&dir, None).unwrap().problem {
        Some(Damage::Deleted { file, line: 1, .. }) => assert_eq!(file, files[2]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn key_file_readable_by_others_is_refused() {
    let (_t, dir) = state_dir();
    let mut log = AuditLog::open(&dir, "k").unwrap();
    log.append("e", json!({})).unwrap();
    drop(log);
    let key = dir.join("audit.key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let err = AuditLog::open(&dir, "k2").unwrap_err();
    assert!(
        matches!(err, AuditError::KeyPermissions { mode: 0o644, .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("chmod 600 {}", key.display())),
        "{msg}"
    );
    assert!(matches!(
        verify(&dir, None),
        Err(AuditError::KeyPermissions { .. })
    ));
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    AuditLog::open(&dir, "k3").unwrap();
}

#[test]
fn missing_key_with_existing_log_is_refused() {
    let (_t, dir) = state_dir();
    AuditLog::open(&dir, "a")
        .unwrap()
        .append("e", json!({}))
        .unwrap();
    fs::remove_file(dir.join("audit.key")).unwrap();
    let err = AuditLog::open(&dir, "b").unwrap_err();
    assert!(matches!(err, AuditError::KeyLost { .. }), "{err}");
    assert!(!dir.join("audit.key").exists(), "no new key was made");
}

#[test]
fn files_are_private() {
    let (_t, dir) = state_dir();
    AuditLog::open(&dir, "p")
        .unwrap()
        .append("e", json!({}))
        .unwrap();
    let mode = |p: PathBuf| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir.clone()), 0o700);
    assert_eq!(mode(dir.join("audit.key")), 0o600);
    assert_eq!(mode(dir.join("audit-000001.jsonl")), 0o600);
    assert_eq!(mode(dir.join("audit.lock")), 0o600);
}

#[test]
fn empty_and_missing() {
    let (_t, dir) = state_dir();
    AuditLog::open(&dir, "e").unwrap();
    let r = verify(&dir, None).unwrap();
    assert!(r.is_ok() && r.records == 0, "{r}");
    assert!(read(&dir).unwrap().is_empty());
    assert!(matches!(
        verify(&dir.join("nope"), None),
        Err(AuditError::Io { .. })
    ));
    let bare = tempfile::tempdir().unwrap();
    assert!(matches!(
        verify(bare.path(), None),
        Err(AuditError::KeyMissing { .. })
    ));
}

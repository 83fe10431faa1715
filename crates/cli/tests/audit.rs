//! The audit log end to end: what a session records, `audit verify` on an
//! intact and a tampered log, a killed session, and sandboxed code that tries
//! to read or rewrite the log.

mod common;

use common::*;
use interlock_testkit::{Reply, ScriptedServer};
use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn export(env: &Env) -> Vec<Value> {
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["audit", "export"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSONL"))
        .collect()
}

fn verify(env: &Env) -> (i32, String) {
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["audit", "verify"]);
    let out = run(c);
    (
        code(&out),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out)),
    )
}

fn log_file(env: &Env) -> std::path::PathBuf {
    env.home().join("state").join("audit-000001.jsonl")
}

#[test]
fn a_session_is_recorded_in_order_and_verifies() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "python", "print(6 * 7)"),
        Reply::text_stream("42"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.env("OPENAI_API_KEY", "sk-audit-NeverInTheLog-0123456789");
    c.args(["exec", "--auto-run", "--json", "compute"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let records = export(&env);
    let types: Vec<&str> = records
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    let expected = [
        "session_start",
        "session_started",
        "user_message",
        "model_request",
        "model_response",
        "code_proposed",
        "decision",
        "execution_started",
        "execution_output",
        "execution_finished",
        "tool_result",
        "model_request",
        "model_response",
        "assistant_message",
        "turn_finished",
    ];
    let mut it = types.iter();
    for want in expected {
        assert!(
            it.any(|t| *t == want),
            "{want} missing or out of order in {types:?}"
        );
    }
    let decision = records.iter().find(|r| r["type"] == "decision").unwrap();
    assert_eq!(decision["payload"]["by"], "auto");
    let start = &records[0]["payload"];
    assert!(start["executor"].as_str().unwrap().starts_with("sandbox"));
    assert!(start["context"]["sandbox_plan"].is_object());
    let all = serde_json::to_string(&records).unwrap();
    assert!(
        !all.contains("NeverInTheLog"),
        "the API key reached the audit log"
    );

    let (status, text) = verify(&env);
    assert_eq!(status, 0, "{text}");
}

#[test]
fn an_edited_record_is_named_by_verify() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![Reply::text_stream("hello there")]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "say hello"]);
    assert_eq!(code(&run(c)), 0);
    let path = log_file(&env);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("say hello"));
    std::fs::write(&path, text.replace("say hello", "say HELLO")).unwrap();
    let (status, out) = verify(&env);
    assert_eq!(status, 1, "{out}");
    assert!(out.contains("edited"), "{out}");
}

#[test]
fn a_killed_session_leaves_a_log_that_verifies_and_continues() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "shell", "echo started; sleep 60"),
        Reply::text_stream("after resume"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "sleep"])
        .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    // Wait until the block runs (the log has its execution_started record).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log_file(&env)).unwrap_or_default();
        if text.contains("execution_started") {
            break;
        }
        assert!(Instant::now() < deadline, "the block never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let (status, text) = verify(&env);
    assert_eq!(status, 0, "{text}");
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "--resume", "continue"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let (status, text) = verify(&env);
    assert_eq!(status, 0, "{text}");
    let sessions: std::collections::BTreeSet<String> = export(&env)
        .iter()
        .map(|r| r["session"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sessions.len(), 1, "resume continues the same session id");
}

#[test]
fn sandboxed_code_cannot_read_or_rewrite_the_log() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![Reply::text_stream("first")]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "AUDIT-MARKER-777"]);
    assert_eq!(code(&run(c)), 0);
    let state = env.home().join("state");
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream(
            "c1",
            "shell",
            &format!(
                "cat {s}/audit-000001.jsonl {s}/audit.key; echo x > {s}/audit-000001.jsonl; echo END",
                s = state.display()
            ),
        ),
        Reply::text_stream("done"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "attack the log"]);
    let out = run(c);
    let shown = output_text(&events(&out));
    assert!(shown.contains("END"), "{shown}");
    assert!(!shown.contains("AUDIT-MARKER-777"), "{shown}");
    let key = std::fs::read_to_string(state.join("audit.key")).unwrap();
    assert!(!shown.contains(key.trim()), "the key leaked");
    let (status, text) = verify(&env);
    assert_eq!(status, 0, "{text}");
}

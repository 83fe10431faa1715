//! What `interlock exec` says when nobody can be asked: the reason a block
//! was not run is the real one, and the way out it names works. (The
//! terminal side of approval — fresh answers only — is in interactive.rs.)

mod common;

use common::*;
use interlock_testkit::{Reply, ScriptedServer};
use serde_json::Value;

fn tool_messages(req: &Value) -> Vec<String> {
    req["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or("").to_string())
        .collect()
}

/// A block rated medium: it downloads (the guard says so) and then leaves a
/// marker. Without network the download fails and the marker is still made.
fn medium_block(env: &Env) -> (String, std::path::PathBuf) {
    let marker = env.ws().join("ran");
    let code = format!(
        "curl -s https://example.invalid/x || true\ntouch {}",
        marker.display()
    );
    (code, marker)
}

#[test]
fn auto_run_without_a_terminal_names_the_risk_and_the_way_out() {
    let env = Env::new();
    let (block, marker) = medium_block(&env);
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "shell", &block),
        Reply::text_stream("Understood."),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "fetch it"]);
    let out = run(c);
    assert_eq!(code(&out), 4, "declined code exits 4; {}", stderr(&out));
    assert!(!marker.exists(), "the block must not run");
    let ev = events(&out);
    let risk = of_type(&ev, "risk_assessed");
    assert_eq!(risk[0]["risk"], "medium", "the test block is rated medium");
    let d = of_type(&ev, "decision");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["approved"], false);
    assert_eq!(d[0]["by"], "policy");
    let reason = d[0]["reason"].as_str().unwrap();
    assert!(
        !reason.contains("--auto-run was not given"),
        "--auto-run was given: {reason}"
    );
    assert!(reason.contains("risk (medium)"), "{reason}");
    assert!(reason.contains("low or lower"), "{reason}");
    assert!(reason.contains("no terminal"), "{reason}");
    assert!(reason.contains("--auto-run-max-risk medium"), "{reason}");
    // The model is told the same, so it does not repeat a false reason.
    let told = tool_messages(&srv.chat_requests()[1].body);
    assert!(told[0].contains(reason), "{told:?}");

    // The way out it names works.
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "shell", &block),
        Reply::text_stream("Done."),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--auto-run",
        "--auto-run-max-risk",
        "medium",
        "--json",
        "fetch it",
    ]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(marker.exists(), "--auto-run-max-risk medium runs it");
}

#[test]
fn without_auto_run_and_without_a_terminal_the_reason_says_so() {
    let env = Env::new();
    let (block, marker) = medium_block(&env);
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "shell", &block),
        Reply::text_stream("Understood."),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "fetch it"]);
    let out = run(c);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(!marker.exists());
    // The terminal front end (stdout not a terminal here) shows the reason
    // and what --auto-run would do, on stderr with the rest of the progress.
    let shown = stderr(&out);
    assert!(
        shown.contains("not run: no terminal to ask for approval and --auto-run was not given"),
        "{shown}"
    );
    assert!(
        shown.contains("--auto-run runs blocks rated low or lower without asking"),
        "{shown}"
    );
}

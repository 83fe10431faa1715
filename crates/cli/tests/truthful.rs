//! Truthful endings: a turn that ran no code but whose answer claims work, or
//! holds code interlock does not run, says so (a `notice` in `--json`), instead
//! of ending silently. The real binary against the scripted server.

mod common;

use common::*;
use interlock_testkit::{Reply, ScriptedServer};
use serde_json::Value;

fn notices(ev: &[Value]) -> Vec<String> {
    of_type(ev, "notice")
        .iter()
        .map(|n| n["message"].as_str().unwrap_or("").to_string())
        .collect()
}

fn exec(script: Vec<Reply>) -> (std::process::Output, Vec<Value>, Env) {
    let env = Env::new();
    let srv = ScriptedServer::start_background(script);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "create hello.txt"]);
    let out = run(c);
    let ev = events(&out);
    (out, ev, env)
}

#[test]
fn a_claim_with_no_code_run_is_called_out() {
    let (out, ev, env) = exec(vec![Reply::text_stream(
        "Done! The file hello.txt has been created with the text hello.",
    )]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!env.ws().join("hello.txt").exists());
    let n = notices(&ev);
    assert!(
        n.iter()
            .any(|m| m.contains("no code ran in this turn") && m.contains("has been created")),
        "{n:?}"
    );
}

#[test]
fn code_in_an_untagged_fence_is_said_not_to_have_run() {
    let (_, ev, _) = exec(vec![Reply::text_stream(
        "Run this:\n```\necho hello > hello.txt\n```\n",
    )]);
    let n = notices(&ev);
    assert!(
        n.iter()
            .any(|m| m.contains("no code ran in this turn") && m.contains("untagged")),
        "{n:?}"
    );
}

#[test]
fn answers_after_real_runs_or_without_claims_are_left_alone() {
    let (_, ev, env) = exec(vec![
        Reply::tool_call_stream("c1", "shell", "echo hello > hello.txt"),
        Reply::text_stream("I created hello.txt."),
    ]);
    assert!(env.ws().join("hello.txt").exists());
    assert!(
        !notices(&ev).iter().any(|m| m.contains("no code ran")),
        "{:?}",
        notices(&ev)
    );
    let (_, ev, _) = exec(vec![Reply::text_stream("The answer is 42.")]);
    assert!(
        !notices(&ev).iter().any(|m| m.contains("no code ran")),
        "{:?}",
        notices(&ev)
    );
}

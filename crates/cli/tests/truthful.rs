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

#[test]
fn a_bare_command_gets_one_request_for_a_tagged_block_which_then_runs() {
    // Qwen2.5-Coder-1.5B on llama-cpp-python, asked to list the .log files,
    // answered with this line and nothing else.
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::text_stream("ls -l *.log"),
        Reply::text_stream("```shell\nls *.log\n```"),
        Reply::text_stream("a.log"),
    ]);
    write(&env.ws().join("a.log"), "x\n");
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "list the .log files"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = events(&out);
    assert_eq!(output_text(&ev), "a.log\n");
    // The bare line itself never ran: one block ran, the tagged one.
    assert_eq!(of_type(&ev, "code_proposed").len(), 1);
    assert_eq!(of_type(&ev, "code_proposed")[0]["code"], "ls *.log\n");
    let reqs = srv.chat_requests();
    assert_eq!(reqs.len(), 3);
    let asked = reqs[1].body["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        asked.starts_with("[from interlock, not the user] Nothing ran"),
        "{asked}"
    );
    assert!(
        notices(&ev)
            .iter()
            .any(|m| m.contains("no code ran in this turn") && m.contains("ls -l *.log")),
        "{:?}",
        notices(&ev)
    );
}

#[test]
fn the_request_for_a_tagged_block_is_made_once_per_turn() {
    let (out, ev, _) = exec(vec![
        Reply::text_stream("```\necho hello > hello.txt\n```"),
        Reply::text_stream("echo hello > hello.txt"),
        Reply::text_stream("never asked"),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(of_type(&ev, "execution_started").is_empty());
    let asked: Vec<String> = notices(&ev)
        .into_iter()
        .filter(|m| m.contains("asking the model once"))
        .collect();
    assert_eq!(asked.len(), 1, "{:?}", notices(&ev));
    let texts: Vec<&str> = of_type(&ev, "assistant_message")
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(!texts.contains(&"never asked"), "{texts:?}");
}

#[test]
fn sentences_and_plain_answers_are_not_taken_for_commands() {
    for answer in ["Sort the list by name.", "The file has 17 lines.", "ls"] {
        let (_, ev, _) = exec(vec![
            Reply::text_stream(answer),
            Reply::text_stream("never asked"),
        ]);
        assert!(
            !notices(&ev)
                .iter()
                .any(|m| m.contains("asking the model once")),
            "{answer}: {:?}",
            notices(&ev)
        );
    }
}

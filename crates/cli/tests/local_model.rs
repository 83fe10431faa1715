//! `interlock exec` against a real (tiny) local model: SmolLM2-135M-Instruct
//! served by llama-cpp-python's OpenAI-compatible server, as started by
//! `.ci/local-model.sh`, which prints the URL to put in
//! `INTERLOCK_LOCAL_MODEL_URL`. Without that variable the tests say so and
//! pass without doing anything.
//!
//! The model's words are not asserted (temperature 0 and a fixed server seed
//! make them repeatable, but not meaningful to pin): only behaviour is — the
//! reply streams, every proposed block goes through a decision, approved
//! blocks run inside the sandbox, the event stream is valid NDJSON and the
//! session ends with `turn_finished` and an expected exit status.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One run at a time: a llama.cpp-style server computes one reply at a time,
/// and llama-cpp-python's by default ends the reply it is streaming when
/// another request arrives.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const URL_VAR: &str = "INTERLOCK_LOCAL_MODEL_URL";
/// The prompt of the issue. SmolLM2-135M answers it with prose and an
/// unclosed fence, so no code is proposed: the streaming path.
const PROMPT: &str = "print the number 42 using python";
/// A prompt it answers with a closed python fence (greedy decoding makes
/// this repeatable): the approval and sandbox path.
const CODE_PROMPT: &str = "Write a python code block that prints 42.";
/// A run of the tiny model on 2 cores takes seconds; anything near this
/// means something hangs.
const LIMIT: Duration = Duration::from_secs(300);

fn model_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(u) if !u.trim().is_empty() => Some(u.trim().to_string()),
        _ => {
            eprintln!("skipped: {URL_VAR} is not set (start a model with .ci/local-model.sh)");
            None
        }
    }
}

/// Runs with a deadline, killing the child if it is exceeded.
fn run_limited(mut c: Command) -> Output {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn interlock");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("collect output");
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect output");
            panic!(
                "interlock did not finish within {LIMIT:?}; stderr: {}",
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn exec(url: &str, prompt: &str, auto_run: bool) -> (Output, Vec<Value>) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let env = Env::new();
    let mut c = env.cmd(url);
    c.args([
        "exec",
        "--json",
        "--model",
        "smollm2",
        "--temperature",
        "0",
        "--tool-mode",
        "markdown",
        "--max-turns",
        "2",
    ]);
    if auto_run {
        c.arg("--auto-run");
    }
    c.arg(prompt);
    let started = Instant::now();
    let out = run_limited(c);
    eprintln!(
        "{prompt:?} auto_run={auto_run}: exit {} in {:.1} s",
        code(&out),
        started.elapsed().as_secs_f64()
    );
    let ev = events(&out);
    for e in &ev {
        eprintln!("  {e}");
    }
    (out, ev)
}

fn ids(events: &[Value], kind: &str) -> BTreeSet<String> {
    of_type(events, kind)
        .iter()
        .map(|e| e["block_id"].as_str().unwrap_or("").to_string())
        .collect()
}

/// What holds whatever the model says.
fn common_checks(out: &Output, ev: &[Value]) {
    assert!(!ev.is_empty(), "no events; stderr: {}", stderr(out));
    assert_eq!(ev[0]["type"], "session_started");
    assert!(
        !of_type(ev, "assistant_delta").is_empty(),
        "the reply did not stream"
    );
    assert_eq!(
        ev.last().unwrap()["type"],
        "turn_finished",
        "the session did not end with turn_finished"
    );
    assert!(
        of_type(ev, "error").is_empty(),
        "error events: {:?}",
        of_type(ev, "error")
    );
    // Every proposed block got exactly one decision.
    let proposed = ids(ev, "code_proposed");
    let decided = ids(ev, "decision");
    assert_eq!(proposed, decided, "every proposed block needs a decision");
    assert_eq!(of_type(ev, "decision").len(), proposed.len());
}

/// Without a terminal and without `--auto-run` nothing may run.
fn check_declined(out: &Output, ev: &[Value]) {
    common_checks(out, ev);
    let proposed = !of_type(ev, "code_proposed").is_empty();
    assert!(
        of_type(ev, "decision")
            .iter()
            .all(|d| d["approved"] == false && d["by"] == "policy"),
        "nothing may be approved without a terminal"
    );
    assert!(of_type(ev, "execution_started").is_empty());
    // 4: declined; 5: the model kept proposing until --max-turns.
    let expected: &[i32] = if proposed { &[4, 5] } else { &[0] };
    assert!(
        expected.contains(&code(out)),
        "exit {} (code proposed: {proposed}); stderr: {}",
        code(out),
        stderr(out)
    );
}

/// With `--auto-run`, approved blocks run inside the sandbox, start to finish.
fn check_auto_run(out: &Output, ev: &[Value]) {
    common_checks(out, ev);
    let executor = ev[0]["executor"].as_str().unwrap_or("");
    assert!(
        executor.starts_with("sandbox"),
        "code must run sandboxed, executor is {executor:?}"
    );
    let approved: BTreeSet<String> = of_type(ev, "decision")
        .iter()
        .filter(|d| d["approved"] == true)
        .map(|d| d["block_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids(ev, "execution_started"), approved);
    assert_eq!(ids(ev, "execution_finished"), approved);
    // 0: finished; 4: a block was declined (risk above the auto-run limit);
    // 5: the tiny model kept proposing code until --max-turns.
    assert!(
        [0, 4, 5].contains(&code(out)),
        "exit {}; stderr: {}",
        code(out),
        stderr(out)
    );
}

#[test]
fn local_model_reply_streams_and_the_session_ends_cleanly() {
    let Some(url) = model_url() else { return };
    let (out, ev) = exec(&url, PROMPT, false);
    check_declined(&out, &ev);
}

#[test]
fn local_model_reply_with_auto_run() {
    let Some(url) = model_url() else { return };
    let (out, ev) = exec(&url, PROMPT, true);
    check_auto_run(&out, &ev);
}

#[test]
fn local_model_code_is_declined_without_auto_run() {
    let Some(url) = model_url() else { return };
    let (out, ev) = exec(&url, CODE_PROMPT, false);
    assert!(
        !of_type(&ev, "code_proposed").is_empty(),
        "the model proposed no code block for {CODE_PROMPT:?}"
    );
    check_declined(&out, &ev);
}

#[test]
fn local_model_code_runs_in_the_sandbox_with_auto_run() {
    let Some(url) = model_url() else { return };
    let (out, ev) = exec(&url, CODE_PROMPT, true);
    check_auto_run(&out, &ev);
    assert!(
        !of_type(&ev, "execution_finished").is_empty(),
        "the model's code block did not run"
    );
    assert!(
        of_type(&ev, "execution_finished")
            .iter()
            .all(|f| f["status"] == "ok"),
        "{:?}",
        of_type(&ev, "execution_finished")
    );
}

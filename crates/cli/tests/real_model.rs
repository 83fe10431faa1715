//! The CI smoke subset of the real-model suite (bench/realmodel): five
//! everyday tasks given to Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) on
//! llama-cpp-python with `--chat_format chatml-function-calling`, as started
//! by `.ci/qwen-model.sh`, which prints the URL to put in
//! `INTERLOCK_QWEN_URL`.
//!
//! interlock runs with default settings (tool mode, sandbox, guard) plus
//! `--auto-run` and `--temperature 0` (the server's seed is fixed too), so
//! the runs repeat. Each task is judged by its effect on the workspace or by
//! what the code printed, never by the model's prose, and code must have
//! actually run (`execution_finished` events).
//!
//! Without the variable the test says so and passes, except under `CI=true`,
//! where a missing model is a failure: CI must not go green having skipped it.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const URL_VAR: &str = "INTERLOCK_QWEN_URL";
/// A task takes one to three minutes on a loaded 2-core machine; anything
/// near this means something hangs.
const LIMIT: Duration = Duration::from_secs(600);

fn model_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(u) if !u.trim().is_empty() => Some(u.trim().to_string()),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "{URL_VAR} is not set under CI=true: start the model with `bash .ci/qwen-model.sh` (as .ci/run does)"
            );
            eprintln!("skipped: {URL_VAR} is not set (start a model with .ci/qwen-model.sh)");
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
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn read(ws: &Path, name: &str) -> String {
    std::fs::read_to_string(ws.join(name)).unwrap_or_default()
}

/// `n` as a whole number in `text` (not part of a longer number).
fn has_number(text: &str, n: u64) -> bool {
    let s = n.to_string();
    text.match_indices(&s).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + s.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

struct Task {
    id: &'static str,
    prompt: &'static str,
    files: &'static [(&'static str, &'static str)],
    /// Decides from the workspace and from what the code printed.
    judge: fn(&Path, &str) -> bool,
}

/// The same five tasks as `SMOKE` in bench/realmodel/tasks.py.
const TASKS: &[Task] = &[
    Task {
        id: "py_hello_file",
        prompt: "Create a file named hello.txt containing exactly the text: Hello, world",
        files: &[],
        judge: |ws, _| read(ws, "hello.txt").trim() == "Hello, world",
    },
    Task {
        id: "sh_backup_copy",
        prompt: "Make a directory named backup and copy report.txt into it.",
        files: &[("report.txt", "quarterly numbers\n")],
        judge: |ws, _| read(ws, "backup/report.txt") == "quarterly numbers\n",
    },
    Task {
        id: "sh_list_logs",
        prompt: "List the .log files in the current directory.",
        files: &[("a.log", "x\n"), ("b.txt", "y\n"), ("c.log", "z\n")],
        judge: |_, out| out.contains("a.log") && out.contains("c.log"),
    },
    Task {
        id: "node_pow",
        prompt: "Use Node.js to compute 2 to the power of 20 and print the result.",
        files: &[],
        judge: |_, out| has_number(out, 1_048_576),
    },
    Task {
        id: "py_json_filter",
        prompt: "users.json is a list of users with fields name and active. Write the names of the active users to active.txt, one per line.",
        files: &[(
            "users.json",
            r#"[{"name": "alice", "active": true}, {"name": "bob", "active": false}, {"name": "carol", "active": true}, {"name": "dave", "active": false}, {"name": "erin", "active": true}]"#,
        )],
        judge: |ws, _| {
            let mut got: Vec<String> = read(ws, "active.txt")
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect();
            got.sort();
            got == ["alice", "carol", "erin"]
        },
    },
];

/// One task in a fresh workspace: (done, blocks run, events).
fn attempt(url: &str, task: &Task) -> (bool, usize, Vec<Value>) {
    let env = Env::new();
    for (name, text) in task.files {
        write(&env.ws().join(name), text);
    }
    let mut c = env.cmd(url);
    c.args([
        "exec",
        "--json",
        "--auto-run",
        "--model",
        "qwen",
        "--temperature",
        "0",
        task.prompt,
    ]);
    let started = Instant::now();
    let out = run_limited(c);
    let ev = events(&out);
    let ran = of_type(&ev, "execution_finished").len();
    let done = (task.judge)(&env.ws(), &output_text(&ev));
    eprintln!(
        "{}: done={done} blocks run={ran} exit={} in {:.0} s",
        task.id,
        code(&out),
        started.elapsed().as_secs_f64()
    );
    if !done {
        for e in ev.iter().filter(|e| e["type"] != "assistant_delta") {
            eprintln!("  {e}");
        }
    }
    // Whatever the model did, the session ends cleanly.
    assert_eq!(
        ev.last().map(|e| e["type"].clone()),
        Some(Value::from("turn_finished")),
        "{}: no turn_finished; stderr: {}",
        task.id,
        stderr(&out)
    );
    (done, ran, ev)
}

/// Recorded on a loaded 2-core VM (2026-12-06, see BENCHMARKS.md): all five
/// done, code ran in all five, 663 s for the five. The bar: at least four
/// done, and code ran in every task counted as done.
#[test]
fn real_model_gets_everyday_tasks_done_with_default_settings() {
    let Some(url) = model_url() else { return };
    let mut done = 0;
    let mut done_without_code = Vec::new();
    let mut missed = Vec::new();
    for task in TASKS {
        let (ok, ran, _) = attempt(&url, task);
        done += usize::from(ok);
        if ok && ran == 0 {
            done_without_code.push(task.id);
        }
        if !ok {
            missed.push((task.id, ran));
        }
    }
    eprintln!(
        "done {done} of {}; missed (task, blocks run): {missed:?}",
        TASKS.len()
    );
    // A task counts only when code ran: an answer from the model's prose is
    // the failure this suite exists for. The one miss allowed may be of either
    // kind (wrong code, or none): the same seed gave a run without code once
    // in three CI runs on one task (py_json_filter).
    assert!(
        done_without_code.is_empty(),
        "done with no code run: {done_without_code:?}"
    );
    assert!(
        done >= TASKS.len() - 1,
        "only {done} of {} tasks done",
        TASKS.len()
    );
}

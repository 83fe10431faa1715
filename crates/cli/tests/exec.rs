//! `interlock exec` end to end: the real binary, a real HTTP server speaking
//! the OpenAI streaming format, real python3/bash/node.

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
        .map(|m| unwrap_untrusted(m["content"].as_str().unwrap_or("")))
        .collect()
}

#[test]
fn approved_code_runs_and_its_output_goes_back_to_the_model() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("call_1", "python", "x = 41\nprint(x + 1)"),
        Reply::tool_call_stream("call_2", "python", "x * 2"),
        Reply::text_stream("The answer is 42."),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "what is 41+1"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    let ev = events(&out);
    let kinds: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds[0], "session_started");
    assert!(kinds.contains(&"code_proposed"));
    assert_eq!(*kinds.last().unwrap(), "turn_finished");
    let decisions = of_type(&ev, "decision");
    assert_eq!(decisions.len(), 2);
    assert!(
        decisions
            .iter()
            .all(|d| d["approved"] == true && d["by"] == "auto")
    );
    let finished = of_type(&ev, "execution_finished");
    assert!(finished.iter().all(|f| f["status"] == "ok"), "{finished:?}");
    // The expression statement shows its value, and state persisted (x == 41).
    assert_eq!(output_text(&ev), "42\n82\n");

    let reqs = srv.chat_requests();
    assert_eq!(reqs.len(), 3);
    let tools = &reqs[0].body["tools"];
    assert_eq!(tools[0]["function"]["name"], "execute");
    let results = tool_messages(&reqs[2].body);
    assert_eq!(results, vec!["42\n".to_string(), "82\n".to_string()]);
    let ids: Vec<&Value> = reqs[2].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| &m["tool_call_id"])
        .collect();
    assert_eq!(ids, vec!["call_1", "call_2"]);
}

#[test]
fn without_a_terminal_code_is_declined_and_the_model_is_told() {
    let env = Env::new();
    let marker = env.ws().join("ran");
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "shell", &format!("touch {}", marker.display())),
        Reply::text_stream("ok, I will not."),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "make a file"]);
    let out = run(c);
    assert_eq!(
        code(&out),
        4,
        "declined code exits 4; stderr: {}",
        stderr(&out)
    );
    assert!(!marker.exists(), "declined code must not run");
    let ev = events(&out);
    let d = of_type(&ev, "decision");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["approved"], false);
    assert_eq!(d[0]["by"], "policy");
    assert!(of_type(&ev, "execution_started").is_empty());
    let reqs = srv.chat_requests();
    let told = tool_messages(&reqs[1].body);
    assert!(told[0].starts_with("Not run"), "{told:?}");
}

#[test]
fn markdown_mode_runs_tagged_fences_only() {
    let env = Env::new();
    let text = "Here:\n```\nprint('untagged')\n```\n```python\nprint('tagged')\n```\n";
    let srv = ScriptedServer::start_background(vec![
        Reply::text_stream(text),
        Reply::text_stream("done"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--auto-run",
        "--json",
        "--tool-mode",
        "markdown",
        "go",
    ]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = events(&out);
    assert_eq!(output_text(&ev), "tagged\n");
    assert_eq!(of_type(&ev, "code_proposed").len(), 1);
    let reqs = srv.chat_requests();
    assert!(
        reqs[0].body.get("tools").is_none(),
        "markdown mode sends no tools"
    );
    let last = reqs[1].body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["role"], "user");
    assert!(last["content"].as_str().unwrap().contains("tagged"));
}

#[test]
fn secrets_in_interlocks_environment_never_reach_the_code() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "shell", "env"),
        Reply::text_stream("done"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.env("OPENAI_API_KEY", "sk-test-DoNotLeak1234567890")
        .env("GITHUB_TOKEN", "ghp_DoNotLeakEither")
        .env("MY_PASSWORD", "hunter2hunter2");
    c.args(["exec", "--auto-run", "--json", "show env"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = events(&out);
    let shown = output_text(&ev);
    assert!(shown.contains("PATH="), "env ran: {shown}");
    for secret in ["DoNotLeak", "hunter2", "OPENAI_API_KEY", "GITHUB_TOKEN"] {
        assert!(
            !shown.contains(secret),
            "{secret} leaked into the code's environment"
        );
    }
    let reqs = srv.chat_requests();
    assert_eq!(
        reqs[0].header("authorization"),
        Some("Bearer sk-test-DoNotLeak1234567890")
    );
    // The key is never printed by interlock itself.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("DoNotLeak"));
    assert!(!stderr(&out).contains("DoNotLeak"));
}

#[test]
fn a_server_error_exits_3_with_the_providers_message() {
    let env = Env::new();
    // 400 is not retried: the provider's message is shown at once.
    let srv = ScriptedServer::start_background(vec![Reply::http_error(400, "model not found")]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "hi"]);
    let out = run(c);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let ev = events(&out);
    let errs = of_type(&ev, "error");
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0]["message"]
            .as_str()
            .unwrap()
            .contains("model not found")
    );
    assert_eq!(srv.chat_requests().len(), 1);
}

#[test]
fn a_failing_server_is_retried_and_the_user_is_told() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::http_error(500, "overloaded"),
        Reply::text_stream("fine now"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "hi"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = events(&out);
    let notices = of_type(&ev, "notice");
    assert!(
        notices
            .iter()
            .any(|n| n["message"].as_str().unwrap().contains("overloaded")),
        "{notices:?}"
    );
    assert_eq!(srv.chat_requests().len(), 2);
    assert_eq!(of_type(&ev, "assistant_message")[0]["text"], "fine now");
}

#[test]
fn an_unreachable_server_exits_3_with_a_clear_message() {
    let env = Env::new();
    // Port 9 (discard) on loopback: nothing listens.
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["exec", "hi"]);
    let out = run(c);
    assert_eq!(code(&out), 3);
    assert!(
        stderr(&out).contains("127.0.0.1:9")
            || String::from_utf8_lossy(&out.stdout).contains("127.0.0.1:9")
    );
}

#[test]
fn invalid_tool_arguments_are_reported_to_the_model() {
    let env = Env::new();
    let bad = Reply::Sse {
        chunks: vec![
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"execute\",\"arguments\":\"{\\\"language\\\": \\\"python\\\", \\\"co\"}}]}}]}\n\n".to_string(),
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n".to_string(),
        ],
        delay_ms: 0,
    };
    let srv = ScriptedServer::start_background(vec![bad, Reply::text_stream("sorry")]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "x"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let reqs = srv.chat_requests();
    let told = tool_messages(&reqs[1].body);
    assert!(told[0].starts_with("Error: invalid call"), "{told:?}");
}

#[test]
fn max_turns_stops_the_loop_with_exit_5() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "shell", "echo 1"),
        Reply::tool_call_stream("c2", "shell", "echo 2"),
        Reply::tool_call_stream("c3", "shell", "echo 3"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "--max-turns", "2", "loop"]);
    let out = run(c);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert_eq!(srv.chat_requests().len(), 2);
    assert_eq!(output_text(&events(&out)), "1\n2\n");
}

#[test]
fn long_output_is_capped_head_and_tail_for_the_model() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "python", "print('HEAD' + 'x' * 100000 + 'TAIL')"),
        Reply::text_stream("done"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--auto-run",
        "--json",
        "--max-output",
        "1000",
        "big",
    ]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let told = tool_messages(&srv.chat_requests()[1].body);
    assert!(told[0].starts_with("HEAD"));
    assert!(told[0].trim_end().ends_with("TAIL"));
    assert!(told[0].contains("cut by interlock"));
    assert!(told[0].chars().count() < 1200, "{}", told[0].len());
}

#[test]
fn the_prompt_can_come_from_stdin() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![Reply::text_stream("hello")]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "-"])
        .stdin(std::process::Stdio::piped());
    let mut child = c.stdout(std::process::Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"count the files\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0);
    let reqs = srv.chat_requests();
    let msgs = reqs[0].body["messages"].as_array().unwrap();
    assert_eq!(msgs[0]["role"], "system");
    assert_eq!(msgs[1]["content"], "count the files\n");
}

#[test]
fn history_is_written_and_resume_continues_it() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::text_stream("first answer"),
        Reply::text_stream("second answer"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "remember the word banana"]);
    assert_eq!(code(&run(c)), 0);

    let mut c = env.cmd(&srv.base_url());
    c.args(["history", "--json"]);
    let out = run(c);
    let list = String::from_utf8(out.stdout).unwrap();
    let first: Value = serde_json::from_str(list.lines().next().unwrap()).unwrap();
    assert_eq!(first["title"], "remember the word banana");
    assert_eq!(first["messages"], 2);

    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "--resume", "what was the word?"]);
    assert_eq!(code(&run(c)), 0);
    let reqs = srv.chat_requests();
    let msgs = reqs[1].body["messages"].as_array().unwrap();
    let contents: Vec<&str> = msgs
        .iter()
        .map(|m| m["content"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        &contents[1..],
        &[
            "remember the word banana",
            "first answer",
            "what was the word?"
        ]
    );
}

#[test]
fn config_errors_exit_2_and_name_the_key_and_file() {
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    let cfg = env.home().join("config.toml");
    write(&cfg, "model = \"m\"\nauto_runn = true\n");
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["exec", "hi"]);
    let out = run(c);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("auto_runn"), "{err}");
    assert!(err.contains(&cfg.display().to_string()), "{err}");
}

#[test]
fn config_show_masks_the_key() {
    let env = Env::new();
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.env("OPENAI_API_KEY", "sk-visible-ShouldNotShow");
    c.args(["config", "show"]);
    let out = run(c);
    assert_eq!(code(&out), 0);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("ShouldNotShow"));
    assert!(text.contains("api_key = \"********\""));
    assert!(
        text.contains("api_base = \"http://127.0.0.1:9/v1\"  # flag"),
        "{text}"
    );
}

#[test]
fn version_completions_and_man_page_work() {
    let env = Env::new();
    let out = run({
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_interlock"));
        c.arg("--version");
        c
    });
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("interlock "));
    for args in [&["completions", "bash"][..], &["man"][..]] {
        let mut c = env.cmd("http://127.0.0.1:9/v1");
        c.args(args);
        let out = run(c);
        assert_eq!(code(&out), 0);
        assert!(out.stdout.len() > 500, "{args:?}");
    }
}

#[test]
fn interactive_chat_refuses_without_a_terminal() {
    let env = Env::new();
    let out = run(env.cmd("http://127.0.0.1:9/v1"));
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("interlock exec"));
}

#[test]
fn context_window_leaves_old_output_out_of_requests() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "python", "print('x' * 20000)"),
        Reply::text_stream("done"),
        Reply::text_stream("second answer"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--auto-run",
        "--json",
        "--max-output",
        "20000",
        "big",
    ]);
    assert_eq!(code(&run(c)), 0);
    assert!(srv.chat_requests()[1].body_text.len() > 20000);
    // The next message in the same conversation, with a small window: the old
    // output is shortened in the request (the history keeps it).
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--json",
        "--resume",
        "--context-window",
        "1024",
        "next",
    ]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = events(&out);
    assert!(
        of_type(&ev, "notice")
            .iter()
            .any(|n| n["message"].as_str().unwrap().contains("--context-window")),
        "a trim is announced"
    );
    let third = &srv.chat_requests()[2];
    assert!(third.body_text.len() < 8000, "{}", third.body_text.len());
    assert!(third.body_text.contains("next"));
}

#[test]
fn max_budget_stops_before_the_request_that_would_pass_it() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![Reply::text_stream("hi")]);
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--json",
        "--model",
        "gpt-4o-mini",
        "--max-budget",
        "0.0000001",
        "hi",
    ]);
    let out = run(c);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(srv.chat_requests().is_empty(), "no request was sent");
    let ev = events(&out);
    assert!(
        of_type(&ev, "notice")
            .iter()
            .any(|n| n["message"].as_str().unwrap().contains("--max-budget"))
    );
    // A generous budget lets the request through.
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--json",
        "--model",
        "gpt-4o-mini",
        "--max-budget",
        "5",
        "hi",
    ]);
    assert_eq!(code(&run(c)), 0);
    assert_eq!(srv.chat_requests().len(), 1);
}

#[test]
fn server_failures_mid_task_run_the_code_once_and_keep_history_valid() {
    let env = Env::new();
    let cut = Reply::Cut {
        chunks: vec![
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"partial answer\"}}]}\n\n"
                .to_string(),
        ],
    };
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "shell", "echo ran >> count.txt"),
        Reply::http_error(500, "hiccup"),
        cut,
        Reply::text_stream("resumed fine"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "count"]);
    let out = run(c);
    // 500 is retried; the retry's stream is cut after visible text: kept, marked, exit 3.
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let ev = events(&out);
    assert_eq!(
        of_type(&ev, "assistant_message")[0]["text"],
        "partial answer"
    );
    let count = std::fs::read_to_string(env.ws().join("count.txt")).unwrap();
    assert_eq!(count, "ran\n", "the code ran exactly once");

    // The history is valid: the conversation resumes and the model sees the
    // tool result and the cut-off reply.
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "--resume", "go on"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let reqs = srv.chat_requests();
    let last = reqs.last().unwrap().body["messages"].to_string();
    assert!(last.contains("ran"), "{last}");
    assert!(last.contains("reply cut off"), "{last}");
    assert_eq!(
        std::fs::read_to_string(env.ws().join("count.txt")).unwrap(),
        "ran\n"
    );
}

#[test]
fn local_finds_a_server_on_a_well_known_port() {
    let env = Env::new();
    // LM Studio's port; skipped when something else already uses it.
    let srv = match interlock_testkit::BackgroundServer::start(
        vec![Reply::text_stream("local hello")],
        interlock_testkit::ServerOptions {
            port: 1234,
            ..Default::default()
        },
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skipping: port 1234 is busy ({e})");
            return;
        }
    };
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_interlock"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.dir.path().join("home"))
        .env("INTERLOCK_HOME", env.home())
        .arg("--workspace")
        .arg(env.ws())
        .args(["exec", "--local", "--json", "hi"])
        .stdin(std::process::Stdio::null());
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = events(&out);
    assert_eq!(of_type(&ev, "assistant_message")[0]["text"], "local hello");
    let started = of_type(&ev, "session_started")[0];
    assert_eq!(started["model"], "scripted-model");
    assert!(
        of_type(&ev, "notice")
            .iter()
            .any(|n| n["message"].as_str().unwrap().contains("127.0.0.1:1234")),
        "the user is told what --local found"
    );
    drop(srv);
}

#[test]
fn user_prices_from_config_drive_the_budget() {
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    write(
        &env.home().join("config.toml"),
        "[prices]\n\"pricey-model\" = [1000000.0, 1000000.0]\n\"free-model\" = [0.0, 0.0]\n",
    );
    let srv = ScriptedServer::start_background(vec![Reply::text_stream("hi")]);
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--json",
        "--model",
        "pricey-model",
        "--max-budget",
        "1",
        "hi",
    ]);
    assert_eq!(code(&run(c)), 5);
    assert!(srv.chat_requests().is_empty());
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--json",
        "--model",
        "free-model",
        "--max-budget",
        "0.01",
        "hi",
    ]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(srv.chat_requests().len(), 1);
}

/// Every `content` of every message in a request body.
fn contents(req: &Value) -> Vec<Value> {
    req["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.get("content").cloned().unwrap_or(Value::Null))
        .collect()
}

fn last_message(req: &Value) -> Value {
    req["messages"].as_array().unwrap().last().unwrap().clone()
}

#[test]
fn tool_requests_say_tool_choice_auto_and_never_send_null_content() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("call_1", "python", "print(1)"),
        Reply::text_stream("done"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "go"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let reqs = srv.chat_requests();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(r.body["tool_choice"], "auto", "{}", r.body);
    }
    // The assistant turn that made the call: content "" (llama-cpp-python
    // answers null with HTTP 500), and no null anywhere.
    let assistant = reqs[1].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "assistant")
        .unwrap()
        .clone();
    assert_eq!(assistant["content"], "", "{assistant}");
    assert_eq!(assistant["tool_calls"][0]["id"], "call_1");
    assert!(
        contents(&reqs[1].body).iter().all(Value::is_string),
        "{}",
        reqs[1].body["messages"]
    );
}

#[test]
fn in_tools_mode_a_reply_with_only_a_fenced_python_block_runs_it() {
    let env = Env::new();
    let text = "I will write the file.\n```\nprint('untagged')\n```\n```python\nopen('hello.txt', 'w').write('hi\\n')\nprint(6 * 7)\n```\n";
    let srv = ScriptedServer::start_background(vec![
        Reply::text_stream(text),
        Reply::text_stream("The file is written."),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "write hi to hello.txt"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = events(&out);
    assert_eq!(ev[0]["tool_mode"], "tools");
    let proposed = of_type(&ev, "code_proposed");
    assert_eq!(proposed.len(), 1, "untagged fences never run: {proposed:?}");
    assert_eq!(proposed[0]["language"], "python");
    let d = of_type(&ev, "decision");
    assert_eq!(d[0]["approved"], true);
    assert_eq!(d[0]["by"], "auto");
    assert_eq!(output_text(&ev), "42\n");
    assert_eq!(
        std::fs::read_to_string(env.ws().join("hello.txt")).unwrap(),
        "hi\n"
    );
    // The output reaches the model as a user message marked as the result.
    let reqs = srv.chat_requests();
    assert_eq!(reqs.len(), 2);
    let last = last_message(&reqs[1].body);
    assert_eq!(last["role"], "user");
    let content = last["content"].as_str().unwrap();
    assert!(
        content.starts_with("Result of your python code block:") && content.contains("42"),
        "{content}"
    );
    assert!(tool_messages(&reqs[1].body).is_empty());
}

#[test]
fn in_tools_mode_tool_calls_written_as_text_run() {
    let env = Env::new();
    // llama-cpp-python's chatml-function-calling shape, and the Hermes/Qwen one.
    let srv = ScriptedServer::start_background(vec![
        Reply::text_stream(
            "functions.execute:\n{\"language\": \"shell\", \"code\": \"echo one > one.txt; echo ran one\"}",
        ),
        Reply::text_stream(
            "<tool_call>\n{\"name\": \"execute\", \"arguments\": {\"language\": \"python\", \"code\": \"print(open('one.txt').read().strip() + ' two')\"}}\n</tool_call>",
        ),
        Reply::text_stream("done"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "go"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = events(&out);
    assert_eq!(output_text(&ev), "ran one\none two\n");
    let reqs = srv.chat_requests();
    assert_eq!(reqs.len(), 3);
    let last = last_message(&reqs[2].body);
    assert_eq!(last["role"], "user");
    assert!(last["content"].as_str().unwrap().contains("one two"));
}

#[test]
fn a_500_that_rejects_the_request_is_one_clear_error_not_three_retries() {
    // The second is how llama-cpp-python answered `"content": null` (it
    // names the tool message type, which must not turn tools off either).
    for message in [
        "can only concatenate str (not \"NoneType\") to str",
        "7 validation errors: {'loc': ('body', 'messages', 1, 'ChatCompletionRequestToolMessage', 'role'), 'msg': \"Input should be 'tool'\"} {'loc': ('body', 'messages', 1, 'ChatCompletionRequestAssistantMessage', 'content'), 'msg': 'Input should be a valid string', 'input': None}",
    ] {
        rejected_once(message);
    }
}

fn rejected_once(message: &str) {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::http_error(500, message),
        Reply::text_stream("never sent"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "hi"]);
    let out = run(c);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(srv.chat_requests().len(), 1, "the same body was sent again");
    let ev = events(&out);
    let retries: Vec<&Value> = of_type(&ev, "notice")
        .into_iter()
        .filter(|n| n["message"].as_str().unwrap().contains("retry"))
        .collect();
    assert!(retries.is_empty(), "{retries:?}");
    let errs = of_type(&ev, "error");
    assert_eq!(errs.len(), 1);
    assert!(errs[0]["message"].as_str().unwrap().contains("HTTP 500"));
    assert!(
        errs[0]["message"]
            .as_str()
            .unwrap()
            .contains(&message[..20])
    );
}

#[test]
fn a_server_that_refuses_tools_is_asked_without_them_for_the_session() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        // What Ollama answers for a model without tool support.
        Reply::http_error(
            400,
            "registry.ollama.ai/library/gemma:2b does not support tools",
        ),
        Reply::text_stream("```python\nprint('from a fence')\n```\n"),
        Reply::text_stream("done"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "go"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = events(&out);
    assert_eq!(output_text(&ev), "from a fence\n");
    let reqs = srv.chat_requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs[0].body.get("tools").is_some());
    for r in &reqs[1..] {
        assert!(r.body.get("tools").is_none(), "{}", r.body);
        assert!(r.body.get("tool_choice").is_none(), "{}", r.body);
    }
    let said: Vec<&Value> = of_type(&ev, "notice")
        .into_iter()
        .filter(|n| n["message"].as_str().unwrap().contains("tool"))
        .collect();
    assert_eq!(said.len(), 1, "said once: {said:?}");
}

#[test]
fn a_server_that_cannot_stream_tool_calls_is_asked_without_streaming() {
    // llama-cpp-python's chatml-function-calling, streamed, tool_choice auto:
    // the literal start of a call as text, or this error.
    for first in [
        Reply::text_stream("functions.execute:"),
        Reply::http_error(500, "Automatic streaming tool choice is not supported"),
    ] {
        cannot_stream_tool_calls(first);
    }
}

fn cannot_stream_tool_calls(first: Reply) {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        first,
        Reply::tool_call("python", "print('not streamed')"),
        Reply::text("done"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "go"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = events(&out);
    assert_eq!(output_text(&ev), "not streamed\n");
    let reqs = srv.chat_requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].body["stream"], true);
    for r in &reqs[1..] {
        assert!(r.body.get("stream").is_none(), "{}", r.body);
        assert!(r.body.get("tools").is_some(), "{}", r.body);
    }
    // The literal text is not part of the conversation sent back.
    assert!(
        !reqs[2].body["messages"]
            .to_string()
            .contains("functions.execute"),
        "{}",
        reqs[2].body["messages"]
    );
    let said: Vec<&Value> = of_type(&ev, "notice")
        .into_iter()
        .filter(|n| n["message"].as_str().unwrap().contains("stream"))
        .collect();
    assert_eq!(said.len(), 1, "said once: {said:?}");
}

#[test]
fn a_dangerous_fenced_block_is_rated_and_refused_exactly_like_the_same_tool_call() {
    let code_text = "rm -rf ~\n";
    let run_with = |first: Reply| {
        let env = Env::new();
        let srv = ScriptedServer::start_background(vec![first, Reply::text_stream("ok")]);
        let mut c = env.cmd(&srv.base_url());
        c.args(["exec", "--auto-run", "--json", "clean up"]);
        let out = run(c);
        let ev = events(&out);
        let told = last_message(&srv.chat_requests()[1].body)["content"]
            .as_str()
            .unwrap()
            .to_string();
        (code(&out), ev, told)
    };
    let (exit_call, ev_call, told_call) =
        run_with(Reply::tool_call_stream("c1", "shell", code_text));
    let (exit_fence, ev_fence, told_fence) =
        run_with(Reply::text_stream(&format!("```sh\n{code_text}```\n")));
    assert_eq!(exit_call, 4);
    assert_eq!(exit_fence, exit_call);
    for ev in [&ev_call, &ev_fence] {
        assert!(of_type(ev, "execution_started").is_empty());
    }
    let strip = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("block_id");
        v
    };
    assert_eq!(of_type(&ev_call, "risk_assessed").len(), 1);
    assert_eq!(
        of_type(&ev_call, "risk_assessed")
            .iter()
            .map(|e| strip(e))
            .collect::<Vec<_>>(),
        of_type(&ev_fence, "risk_assessed")
            .iter()
            .map(|e| strip(e))
            .collect::<Vec<_>>()
    );
    assert_eq!(of_type(&ev_fence, "risk_assessed")[0]["risk"], "critical");
    assert_eq!(
        of_type(&ev_call, "decision")
            .iter()
            .map(|e| strip(e))
            .collect::<Vec<_>>(),
        of_type(&ev_fence, "decision")
            .iter()
            .map(|e| strip(e))
            .collect::<Vec<_>>()
    );
    assert_eq!(of_type(&ev_fence, "decision")[0]["approved"], false);
    assert!(told_call.contains("critical") && told_fence.contains("critical"));
}

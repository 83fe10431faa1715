//! What llama-cpp-python 0.3.36 with `--chat_format chatml-function-calling`
//! really answers when offered the `execute` tool under `tool_choice: "auto"`,
//! replayed by the scripted server (shapes recorded with a logging proxy in
//! front of Qwen2.5-Coder-1.5B-Instruct; see bench/realmodel).
//!
//! That server first lets the model pick "message" or "functions.execute"
//! with a grammar, then:
//! - picked a message: the message itself is held to a grammar that allows
//!   only `functions.execute:` or the end, so it comes back empty (or as that
//!   fragment), streamed or not;
//! - picked the function, streamed: it raises "Automatic streaming tool
//!   choice is not supported" after sending the headers, so the stream is
//!   HTTP 200 with a `: ping` comment and no data;
//! - picked the function, not streamed: a proper tool call.
//!
//! interlock must get code run on it with default settings: stop streaming
//! tool calls after an empty stream, and ask without tools after an empty
//! (or fragment-only) answer that was not streamed. Each step said once.

mod common;

use common::*;
use interlock_testkit::{Reply, ScriptedServer};
use serde_json::Value;

/// The streamed answer when the model picked the function: headers, a
/// keep-alive comment, then the end of the body without one `data:` event.
fn empty_stream() -> Reply {
    Reply::Sse {
        chunks: vec![": ping - 2026-12-06 12:12:36.981603+00:00\r\n\r\n".into()],
        delay_ms: 0,
    }
}

/// The streamed answer when the model picked a message: a role chunk, an
/// empty content chunk, `finish_reason: "stop"`.
fn empty_message_stream() -> Reply {
    Reply::text_stream("")
}

fn notices(ev: &[Value]) -> Vec<String> {
    of_type(ev, "notice")
        .iter()
        .map(|n| n["message"].as_str().unwrap_or("").to_string())
        .collect()
}

fn exec(
    srv: &interlock_testkit::BackgroundServer,
    env: &Env,
) -> (std::process::Output, Vec<Value>) {
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--auto-run", "--json", "go"]);
    let out = run(c);
    let ev = events(&out);
    (out, ev)
}

#[test]
fn a_message_pick_that_comes_back_empty_ends_in_fenced_code_that_runs() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        empty_message_stream(),
        Reply::text_json(""),
        Reply::fenced("python", "print(6 * 7)"),
        Reply::text_stream("It printed 42."),
    ]);
    let (out, ev) = exec(&srv, &env);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(output_text(&ev), "42\n", "{ev:?}");
    let reqs = srv.chat_requests();
    assert_eq!(reqs.len(), 4, "{:?}", notices(&ev));
    // Streamed with tools, then not streamed with tools, then without tools.
    assert_eq!(reqs[0].body["stream"], true);
    assert!(reqs[0].body.get("tools").is_some());
    assert_eq!(reqs[0].body["tool_choice"], "auto");
    assert!(reqs[1].body.get("stream").is_none(), "{}", reqs[1].body);
    assert!(reqs[1].body.get("tools").is_some());
    for r in &reqs[2..] {
        assert!(r.body.get("tools").is_none(), "{}", r.body);
        assert!(r.body.get("tool_choice").is_none(), "{}", r.body);
    }
    // From then on the system prompt asks for fenced blocks, not calls.
    let system = |i: usize| {
        reqs[i].body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(system(0).contains("`execute` tool"), "{}", system(0));
    for i in 2..4 {
        assert!(!system(i).contains("`execute` tool"), "{}", system(i));
        assert!(system(i).contains("```python"), "{}", system(i));
    }
    // The empty answers are not part of the conversation sent back.
    let msgs = reqs[2].body["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    // The result says in words that the block ran: told only "(no output)",
    // the model answered "The user declined the code."
    let result = reqs[3].body["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        result.starts_with("Result of your python code block: it ran; its output follows.\n"),
        "{result}"
    );
    let said = notices(&ev);
    assert_eq!(said.len(), 2, "each change said once: {said:?}");
    assert!(said[0].contains("without streaming"), "{said:?}");
    assert!(said[1].contains("fenced blocks"), "{said:?}");
}

#[test]
fn a_function_pick_streamed_is_an_empty_stream_then_the_call_runs_unstreamed() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        empty_stream(),
        Reply::tool_calls_json(vec![(
            "call__0_execute_cmpl-1",
            "shell",
            "echo ran > ran.txt; echo ok",
        )]),
        // The final answer is a message pick again: the fragment, unstreamed.
        Reply::text_json("functions.execute:"),
        Reply::text_stream("Done: ran.txt holds ran."),
    ]);
    let (out, ev) = exec(&srv, &env);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(output_text(&ev), "ok\n");
    assert_eq!(
        std::fs::read_to_string(env.ws().join("ran.txt")).unwrap(),
        "ran\n"
    );
    let reqs = srv.chat_requests();
    assert_eq!(
        reqs.len(),
        4,
        "the empty stream was sent again: {:?}",
        notices(&ev)
    );
    assert!(
        notices(&ev).iter().all(|n| !n.contains("retry")),
        "{:?}",
        notices(&ev)
    );
    assert_eq!(reqs[0].body["stream"], true);
    assert!(reqs[1].body.get("stream").is_none());
    assert!(reqs[2].body.get("tools").is_some());
    assert!(reqs[3].body.get("tools").is_none(), "{}", reqs[3].body);
    // The call and its result stay in the conversation, with "content": ""
    // on the assistant turn (this server rejects null).
    let msgs = reqs[3].body["messages"].as_array().unwrap();
    let asst = msgs.iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(asst["content"], "");
    assert!(msgs.iter().any(|m| m["role"] == "tool"));
    assert!(
        !reqs[3].body["messages"]
            .to_string()
            .contains("functions.execute:")
    );
    let last = of_type(&ev, "assistant_message");
    assert_eq!(
        last.last().unwrap()["text"],
        "Done: ran.txt holds ran.",
        "{last:?}"
    );
}

#[test]
fn without_tools_offered_an_empty_stream_is_still_retried_as_a_cut_stream() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![empty_stream(), Reply::text_stream("hello")]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "--tool-mode", "markdown", "hi"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = events(&out);
    assert_eq!(srv.chat_requests().len(), 2);
    assert!(
        notices(&ev).iter().any(|n| n.contains("retry")),
        "{:?}",
        notices(&ev)
    );
    assert!(notices(&ev).iter().all(|n| !n.contains("fenced blocks")));
}

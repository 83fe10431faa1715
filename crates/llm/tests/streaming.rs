//! Streaming and non-streaming chats against the scripted server, over HTTP.

mod common;

use common::*;
use interlock_llm::{StreamDelta, parse_execute_arguments};
use interlock_protocol::Usage;
use interlock_testkit::{Reply, USAGE_COMPLETION_TOKENS, USAGE_PROMPT_TOKENS, execute_arguments};
use serde_json::json;

const AWKWARD_CODE: &str =
    "import os\nprint(\"héllo, \\\"wörld\\\" 🦀\")\n\tpath = 'C:\\\\temp'\n# done\n";

fn expected_usage() -> Option<Usage> {
    Some(Usage {
        prompt_tokens: USAGE_PROMPT_TOKENS,
        completion_tokens: USAGE_COMPLETION_TOKENS,
    })
}

#[tokio::test]
async fn text_streams_as_deltas_and_assembles() {
    let text = "Hello, wörld! Here are a few words 🦀 streamed in pieces.";
    let out = stream(Reply::text_stream(text)).await;
    let r = out.ok();
    assert_eq!(r.text, text);
    assert_eq!(out.text_deltas(), text);
    assert!(out.deltas.len() > 5, "{:?}", out.deltas);
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert!(r.tool_calls.is_empty());
    assert_eq!(r.usage, expected_usage());
}

#[tokio::test]
async fn one_tool_call_split_across_many_awkward_chunks() {
    let out = stream(Reply::tool_call_stream("call_abc", "python", AWKWARD_CODE)).await;
    let r = out.ok();
    let args = execute_arguments("python", AWKWARD_CODE);
    let frags = out.argument_fragments(0);
    assert!(frags.len() >= 10, "only {} fragments", frags.len());
    assert!(
        frags.iter().any(|f| f.ends_with('\\')),
        "no mid-escape split"
    );
    assert!(
        !frags
            .iter()
            .any(|f| f.contains("language") || f.contains("\"code\"")),
        "no mid-key split"
    );
    assert_eq!(frags.concat(), args);
    assert_eq!(
        out.deltas.first(),
        Some(&StreamDelta::ToolCallStarted {
            index: 0,
            id: "call_abc".into(),
            name: "execute".into()
        })
    );
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.tool_calls[0].id, "call_abc");
    assert_eq!(r.tool_calls[0].name, "execute");
    assert_eq!(r.tool_calls[0].arguments, args);
    assert_eq!(
        parse_execute_arguments(&r.tool_calls[0].arguments).unwrap(),
        ("python".to_string(), AWKWARD_CODE.to_string())
    );
    assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(r.usage, expected_usage());
    assert_eq!(r.text, "");
}

#[tokio::test]
async fn hand_split_arguments_with_crlf_and_keepalives() {
    // Split mid-key, between `\` and `n`, between `\` and `"`, with CRLF line
    // endings, comments, blank keep-alive lines and a CR/LF pair cut in two.
    let parts = [
        "{\"lan",
        "guage\":\"sh",
        "ell\",\"co",
        "de\":\"echo \\",
        "\"hi\\",
        "\"\\",
        "n",
        "ls\"}",
    ];
    let mut chunks = vec![": keep-alive\r\n\r\n".to_string()];
    chunks.push(
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "c9", "type": "function",
                                   "function": {"name": "execute", "arguments": ""}}]}),
            None,
        )
        .replace('\n', "\r\n"),
    );
    for (i, p) in parts.iter().enumerate() {
        let ev = chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}),
            None,
        )
        .replace('\n', "\r\n");
        if i % 2 == 0 {
            // cut the event between its final \r and \n
            let (a, b) = ev.split_at(ev.len() - 1);
            chunks.push(a.to_string());
            chunks.push(b.to_string());
        } else {
            chunks.push(ev);
        }
        chunks.push(": ping\r\n\r\n\r\n".into());
    }
    chunks.push(chunk(json!({}), Some("tool_calls")).replace('\n', "\r\n"));
    chunks.push("data: [DONE]\r\n\r\n".into());
    let out = stream(Reply::Sse {
        chunks,
        delay_ms: 0,
    })
    .await;
    let r = out.ok();
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.tool_calls[0].arguments, parts.concat());
    assert_eq!(
        parse_execute_arguments(&r.tool_calls[0].arguments).unwrap(),
        ("shell".to_string(), "echo \"hi\"\nls".to_string())
    );
}

#[tokio::test]
async fn two_tool_calls_in_one_reply_interleaved() {
    let out = stream(Reply::tool_calls_stream(vec![
        ("call_a", "python", "x = 1\nprint(x)"),
        ("call_b", "shell", "echo \"$HOME\" | wc -c"),
    ]))
    .await;
    let r = out.ok();
    assert_eq!(r.tool_calls.len(), 2);
    assert_eq!(r.tool_calls[0].id, "call_a");
    assert_eq!(r.tool_calls[1].id, "call_b");
    assert_eq!(
        parse_execute_arguments(&r.tool_calls[0].arguments).unwrap(),
        ("python".into(), "x = 1\nprint(x)".into())
    );
    assert_eq!(
        parse_execute_arguments(&r.tool_calls[1].arguments).unwrap(),
        ("shell".into(), "echo \"$HOME\" | wc -c".into())
    );
    let started: Vec<_> = out
        .deltas
        .iter()
        .filter_map(|d| match d {
            StreamDelta::ToolCallStarted { index, id, name } => {
                Some((*index, id.as_str(), name.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        started,
        vec![(0, "call_a", "execute"), (1, "call_b", "execute")]
    );
    // Fragments really were interleaved.
    let order: Vec<usize> = out
        .deltas
        .iter()
        .filter_map(|d| match d {
            StreamDelta::ToolCallArguments { index, .. } => Some(*index),
            _ => None,
        })
        .collect();
    assert!(
        order.windows(2).any(|w| w[0] != w[1]) && order.windows(3).any(|w| w[0] == 1 && w[1] == 0)
    );
}

#[tokio::test]
async fn usage_arrives_in_a_final_chunk_without_choices() {
    let chunks = vec![
        chunk(json!({"role": "assistant", "content": "ok"}), None),
        chunk(json!({}), Some("stop")),
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}\n\n".into(),
        "data: [DONE]\n\n".into(),
    ];
    let out = stream(Reply::Sse {
        chunks,
        delay_ms: 0,
    })
    .await;
    assert_eq!(
        out.ok().usage,
        Some(Usage {
            prompt_tokens: 5,
            completion_tokens: 3
        })
    );
}

#[tokio::test]
async fn missing_done_is_fine_when_a_finish_reason_came() {
    let chunks = vec![
        chunk(json!({"content": "partial "}), None),
        chunk(json!({"content": "answer"}), Some("length")),
    ];
    let out = stream(Reply::Sse {
        chunks,
        delay_ms: 0,
    })
    .await;
    let r = out.ok();
    assert_eq!(r.text, "partial answer");
    assert_eq!(r.finish_reason.as_deref(), Some("length"));
    assert_eq!(r.usage, None);
}

#[tokio::test]
async fn slow_but_steady_stream_is_not_an_idle_timeout() {
    let mut reply = Reply::text_stream("a b c");
    if let Reply::Sse { delay_ms, .. } = &mut reply {
        *delay_ms = 50;
    }
    let out = chat_with(reply, true, |c| {
        c.idle_timeout = std::time::Duration::from_millis(1000)
    })
    .await;
    assert_eq!(out.ok().text, "a b c");
}

#[tokio::test]
async fn non_streaming_text_and_tool_calls() {
    let out = chat_with(Reply::text_json("plain answer"), false, |_| {}).await;
    let r = out.ok();
    assert_eq!(r.text, "plain answer");
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert_eq!(r.usage, expected_usage());
    let body = &out.srv.chat_requests()[0].body;
    assert!(body.get("stream").is_none_or(|s| s == false), "{body}");
    assert!(body.get("stream_options").is_none());

    let out = chat_with(
        Reply::tool_calls_json(vec![("c1", "python", AWKWARD_CODE), ("c2", "shell", "ls")]),
        false,
        |_| {},
    )
    .await;
    let r = out.ok();
    assert_eq!(r.text, "");
    assert_eq!(r.tool_calls.len(), 2);
    assert_eq!(
        r.tool_calls[0].arguments,
        execute_arguments("python", AWKWARD_CODE)
    );
    assert_eq!(r.tool_calls[1].id, "c2");
    assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
}

#[tokio::test]
async fn adaptive_shorthands_follow_the_stream_flag() {
    let out = chat_with(Reply::tool_call("python", "print(1)"), false, |_| {}).await;
    assert_eq!(out.ok().tool_calls[0].id, "call_1_0");
    let out = chat_with(Reply::text("hi there"), true, |_| {}).await;
    assert_eq!(out.text_deltas(), "hi there");
}

#[tokio::test]
async fn server_that_ignores_stream_true_is_accepted() {
    let out = stream(Reply::text_json("not streamed")).await;
    assert_eq!(out.ok().text, "not streamed");
    assert_eq!(out.text_deltas(), "not streamed");
}

#[tokio::test]
async fn fenced_reply_is_plain_text() {
    let out = stream(Reply::fenced("python", "print(2)")).await;
    assert!(out.ok().text.contains("```python\nprint(2)\n```"));
    assert!(out.ok().tool_calls.is_empty());
}

#[tokio::test]
async fn exhausted_script_answers_with_a_marker_text() {
    let out = stream(Reply::text("first")).await;
    let client = interlock_llm::OpenAiClient::new(config(&out.srv)).unwrap();
    let messages = user("again");
    let req = interlock_llm::ChatRequest {
        messages: &messages,
        offer_tools: false,
        stream: true,
    };
    let r = client
        .chat(
            &req,
            &tokio_util::sync::CancellationToken::new(),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(r.text, interlock_testkit::EXHAUSTED_TEXT);
}

#[tokio::test]
async fn list_models_reads_ids() {
    let srv = interlock_testkit::ScriptedServer::start(vec![]).await;
    let client = interlock_llm::OpenAiClient::new(config(&srv)).unwrap();
    let models = client.list_models().await.unwrap();
    assert_eq!(models, vec!["scripted-model", "scripted-model-2"]);
    let reqs = srv.requests();
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/v1/models");
}

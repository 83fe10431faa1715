//! What the client sends: body, headers, tools, messages.

mod common;

use common::*;
use interlock_llm::{ChatRequest, OpenAiClient, execute_tool_schema};
use interlock_protocol::{Message, ToolCall};
use interlock_testkit::{Reply, ScriptedServer};
use secrecy::SecretString;
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn conversation() -> Vec<Message> {
    vec![
        Message::System {
            content: "sys".into(),
        },
        Message::User {
            content: "count files".into(),
        },
        Message::Assistant {
            content: String::new(),
            tool_calls: vec![ToolCall {
                id: "call_1".into(),
                name: "execute".into(),
                arguments: "{\"language\":\"shell\",\"code\":\"ls | wc -l\"}".into(),
            }],
        },
        Message::Tool {
            tool_call_id: "call_1".into(),
            content: "12\n".into(),
        },
        Message::Assistant {
            content: "There are 12.".into(),
            tool_calls: vec![],
        },
        Message::User {
            content: "thanks".into(),
        },
    ]
}

async fn send(
    srv: &ScriptedServer,
    offer_tools: bool,
    stream: bool,
    tweak: impl FnOnce(&mut interlock_llm::ClientConfig),
) {
    let mut cfg = config(srv);
    tweak(&mut cfg);
    let client = OpenAiClient::new(cfg).unwrap();
    let messages = conversation();
    let req = ChatRequest {
        messages: &messages,
        offer_tools,
        stream,
    };
    client
        .chat(&req, &CancellationToken::new(), &mut |_| {})
        .await
        .unwrap();
}

#[tokio::test]
async fn streaming_body_has_tools_messages_and_stream_options() {
    let srv = ScriptedServer::start(vec![Reply::text_stream("ok")]).await;
    send(&srv, true, true, |c| {
        c.api_key = Some(SecretString::from("sk-abc"));
        c.temperature = Some(0.2);
        c.max_tokens = Some(500);
        c.seed = Some(7);
    })
    .await;
    let reqs = srv.chat_requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.header("authorization"), Some("Bearer sk-abc"));
    assert_eq!(
        r.header("user-agent"),
        Some(concat!("interlock/", env!("CARGO_PKG_VERSION")))
    );
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let b = &r.body;
    assert_eq!(b["model"], "scripted-model");
    assert_eq!(b["stream"], true);
    assert_eq!(b["stream_options"], json!({"include_usage": true}));
    assert_eq!(b["tools"], json!([execute_tool_schema()]));
    assert_eq!(
        b["tool_choice"], "auto",
        "some servers drop tools without it"
    );
    assert_eq!(b["temperature"], json!(0.2));
    assert_eq!(b["max_tokens"], 500);
    assert_eq!(b["seed"], 7);
    assert_eq!(
        b["messages"],
        json!([
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "count files"},
            // "", never null: llama-cpp-python rejects null with HTTP 500.
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {
                    "name": "execute",
                    "arguments": "{\"language\":\"shell\",\"code\":\"ls | wc -l\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "12\n"},
            {"role": "assistant", "content": "There are 12."},
            {"role": "user", "content": "thanks"},
        ])
    );
}

#[tokio::test]
async fn no_tools_no_key_no_sampling_options_unless_set() {
    let srv = ScriptedServer::start(vec![Reply::text_json("ok")]).await;
    send(&srv, false, false, |_| {}).await;
    let r = &srv.chat_requests()[0];
    assert_eq!(r.header("authorization"), None);
    let b = r.body.as_object().unwrap();
    for absent in [
        "tools",
        "tool_choice",
        "stream_options",
        "temperature",
        "max_tokens",
        "seed",
    ] {
        assert!(!b.contains_key(absent), "{absent} should be absent: {b:?}");
    }
}

#[tokio::test]
async fn base_url_with_trailing_slash_and_bare_path() {
    let srv = ScriptedServer::start(vec![Reply::text_stream("ok")]).await;
    send(&srv, false, true, |c| c.api_base.push('/')).await;
    // Servers without the /v1 prefix work too.
    let base = srv.base_url().trim_end_matches("/v1").to_string();
    send(&srv, false, true, |c| c.api_base = base).await;
    let paths: Vec<String> = srv.chat_requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/v1/chat/completions", "/chat/completions"]);
}

#[test]
fn background_server_serves_blocking_callers() {
    let srv = ScriptedServer::start_background(vec![Reply::text("from a thread")]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = OpenAiClient::new(interlock_llm::ClientConfig::new(srv.base_url(), "m")).unwrap();
    let messages = user("hi");
    let req = ChatRequest {
        messages: &messages,
        offer_tools: false,
        stream: true,
    };
    let r = rt
        .block_on(client.chat(&req, &CancellationToken::new(), &mut |_| {}))
        .unwrap();
    assert_eq!(r.text, "from a thread");
    assert_eq!(srv.chat_requests().len(), 1);
    drop(srv); // must not hang
}

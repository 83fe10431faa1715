//! Shared helpers for the HTTP tests: a client pointed at a scripted server.
#![allow(dead_code)]

use interlock_llm::{ChatRequest, ChatResponse, ClientConfig, LlmError, OpenAiClient, StreamDelta};
use interlock_protocol::Message;
use interlock_testkit::{Reply, ScriptedServer};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub fn config(srv: &ScriptedServer) -> ClientConfig {
    let mut cfg = ClientConfig::new(srv.base_url(), "scripted-model");
    cfg.connect_timeout = Duration::from_secs(5);
    cfg.request_timeout = Duration::from_secs(10);
    cfg.idle_timeout = Duration::from_secs(10);
    cfg
}

pub fn user(text: &str) -> Vec<Message> {
    vec![
        Message::System {
            content: "You are a test.".into(),
        },
        Message::User {
            content: text.into(),
        },
    ]
}

pub struct Outcome {
    pub deltas: Vec<StreamDelta>,
    pub result: Result<ChatResponse, LlmError>,
    pub srv: ScriptedServer,
}

impl Outcome {
    pub fn ok(&self) -> &ChatResponse {
        match &self.result {
            Ok(r) => r,
            Err(e) => panic!("expected success, got {e:?}"),
        }
    }
    pub fn err(&self) -> &LlmError {
        match &self.result {
            Ok(r) => panic!("expected an error, got {r:?}"),
            Err(e) => e,
        }
    }
    pub fn text_deltas(&self) -> String {
        self.deltas
            .iter()
            .filter_map(|d| match d {
                StreamDelta::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }
    pub fn argument_fragments(&self, index: usize) -> Vec<String> {
        self.deltas
            .iter()
            .filter_map(|d| match d {
                StreamDelta::ToolCallArguments { index: i, fragment } if *i == index => {
                    Some(fragment.clone())
                }
                _ => None,
            })
            .collect()
    }
}

/// Plays one reply and runs one chat against it.
pub async fn chat_with(
    reply: Reply,
    stream: bool,
    tweak: impl FnOnce(&mut ClientConfig),
) -> Outcome {
    let srv = ScriptedServer::start(vec![reply]).await;
    let mut cfg = config(&srv);
    tweak(&mut cfg);
    let client = OpenAiClient::new(cfg).expect("client");
    let messages = user("hello");
    let req = ChatRequest {
        messages: &messages,
        offer_tools: true,
        stream,
    };
    let mut deltas = Vec::new();
    let cancel = CancellationToken::new();
    let result = client.chat(&req, &cancel, &mut |d| deltas.push(d)).await;
    Outcome {
        deltas,
        result,
        srv,
    }
}

pub async fn stream(reply: Reply) -> Outcome {
    chat_with(reply, true, |_| {}).await
}

/// SSE `data:` line for a chunk with this delta and finish reason.
pub fn chunk(delta: serde_json::Value, finish: Option<&str>) -> String {
    let c = serde_json::json!({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    format!("data: {c}\n\n")
}

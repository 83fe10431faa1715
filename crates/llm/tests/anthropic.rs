//! The Anthropic Messages adapter against the scripted server's
//! `POST /v1/messages`, over HTTP.

mod common;

use common::{config, user};
use interlock_llm::{
    ANTHROPIC_VERSION, AnthropicClient, ChatRequest, ChatResponse, Client, ClientConfig, LlmError,
    Provider, RetryPolicy, StreamDelta, infer_provider, parse_execute_arguments,
};
use interlock_protocol::{Message, ToolCall, Usage};
use interlock_testkit::{
    Reply, ScriptedServer, USAGE_COMPLETION_TOKENS, USAGE_PROMPT_TOKENS, execute_arguments,
};
use secrecy::SecretString;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const KEY: &str = "sk-ant-test-SECRET-0123456789";
const AWKWARD_CODE: &str =
    "import os\nprint(\"héllo, \\\"wörld\\\" 🦀\")\n\tpath = 'C:\\\\temp'\n# done\n";

struct Out {
    deltas: Vec<StreamDelta>,
    result: Result<ChatResponse, LlmError>,
    srv: ScriptedServer,
}

impl Out {
    fn ok(&self) -> &ChatResponse {
        self.result.as_ref().expect("success")
    }
    fn err(&self) -> &LlmError {
        self.result.as_ref().expect_err("an error")
    }
    fn text(&self) -> String {
        self.deltas
            .iter()
            .filter_map(|d| match d {
                StreamDelta::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }
    fn fragments(&self, index: usize) -> Vec<String> {
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

fn fast() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(10),
        jitter: 0.0,
        ..RetryPolicy::default()
    }
}

async fn chat(
    script: Vec<Reply>,
    stream: bool,
    messages: &[Message],
    tweak: impl FnOnce(&mut ClientConfig),
) -> Out {
    let srv = ScriptedServer::start(script).await;
    let mut cfg = config(&srv);
    cfg.model = "claude-test".into();
    cfg.api_key = Some(SecretString::from(KEY));
    tweak(&mut cfg);
    let client = AnthropicClient::new(cfg).unwrap().with_retry_policy(fast());
    let req = ChatRequest {
        messages,
        offer_tools: true,
        stream,
    };
    let mut deltas = Vec::new();
    let result = client
        .chat(&req, &CancellationToken::new(), &mut |d| deltas.push(d))
        .await;
    Out {
        deltas,
        result,
        srv,
    }
}

fn expected_usage() -> Option<Usage> {
    Some(Usage {
        prompt_tokens: USAGE_PROMPT_TOKENS,
        completion_tokens: USAGE_COMPLETION_TOKENS,
    })
}

#[tokio::test]
async fn text_streams_with_headers_system_and_usage() {
    let text = "Hello, wörld! A few words 🦀 streamed in pieces.";
    let out = chat(vec![Reply::anthropic_text(text)], true, &user("hi"), |_| {}).await;
    let r = out.ok();
    assert_eq!(r.text, text);
    assert_eq!(out.text(), text);
    assert!(out.deltas.len() > 5);
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert_eq!(r.usage, expected_usage());
    assert!(r.tool_calls.is_empty());

    let reqs = out.srv.chat_requests();
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.header("x-api-key"), Some(KEY));
    assert_eq!(req.header("anthropic-version"), Some(ANTHROPIC_VERSION));
    assert_eq!(req.header("authorization"), None);
    assert_eq!(req.body["model"], "claude-test");
    assert_eq!(req.body["system"], "You are a test.");
    assert_eq!(req.body["stream"], true);
    assert!(req.body["max_tokens"].as_u64().unwrap() > 0);
    assert_eq!(req.body["messages"][0]["role"], "user");
    assert_eq!(req.body["messages"][0]["content"][0]["text"], "hi");
    assert_eq!(req.body["tools"][0]["name"], "execute");
}

#[tokio::test]
async fn two_tool_use_blocks_with_input_json_split_awkwardly() {
    let out = chat(
        vec![Reply::anthropic_tool_uses(
            "Running it.",
            vec![
                ("toolu_a", "python", AWKWARD_CODE),
                ("toolu_b", "shell", "ls -la 'é'"),
            ],
        )],
        true,
        &user("go"),
        |_| {},
    )
    .await;
    let r = out.ok();
    assert_eq!(r.text, "Running it.");
    assert_eq!(r.tool_calls.len(), 2);
    assert_eq!(r.tool_calls[0].id, "toolu_a");
    assert_eq!(r.tool_calls[1].id, "toolu_b");
    assert!(r.tool_calls.iter().all(|c| c.name == "execute"));
    let args0 = execute_arguments("python", AWKWARD_CODE);
    assert_eq!(r.tool_calls[0].arguments, args0);
    assert_eq!(
        parse_execute_arguments(&r.tool_calls[0].arguments).unwrap(),
        ("python".to_string(), AWKWARD_CODE.to_string())
    );
    assert_eq!(
        parse_execute_arguments(&r.tool_calls[1].arguments).unwrap(),
        ("shell".to_string(), "ls -la 'é'".to_string())
    );
    let frags = out.fragments(0);
    assert!(frags.len() >= 10, "{frags:?}");
    assert!(
        frags.iter().any(|f| f.ends_with('\\')),
        "no mid-escape split"
    );
    assert_eq!(frags.concat(), args0);
    let starts: Vec<(usize, String)> = out
        .deltas
        .iter()
        .filter_map(|d| match d {
            StreamDelta::ToolCallStarted { index, id, name } => {
                assert_eq!(name, "execute");
                Some((*index, id.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        starts,
        vec![(0, "toolu_a".to_string()), (1, "toolu_b".to_string())]
    );
    assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(r.usage, expected_usage());
}

#[tokio::test]
async fn shorthand_replies_are_served_in_anthropic_form() {
    for stream in [true, false] {
        let out = chat(
            vec![Reply::tool_call("python", "print(42)")],
            stream,
            &user("x"),
            |_| {},
        )
        .await;
        let r = out.ok();
        assert_eq!(r.tool_calls.len(), 1, "stream={stream}");
        assert_eq!(r.tool_calls[0].id, "toolu_1_0");
        assert_eq!(
            parse_execute_arguments(&r.tool_calls[0].arguments).unwrap(),
            ("python".to_string(), "print(42)".to_string())
        );
        assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(r.usage, expected_usage());
        let out = chat(vec![Reply::text("plain")], stream, &user("x"), |_| {}).await;
        assert_eq!(out.ok().text, "plain");
        assert_eq!(out.text(), "plain");
    }
}

#[tokio::test]
async fn history_with_tool_results_is_sent_as_anthropic_blocks() {
    let call = ToolCall {
        id: "toolu_9".into(),
        name: "execute".into(),
        arguments: execute_arguments("python", "1+1"),
    };
    let messages = vec![
        Message::System {
            content: "sys".into(),
        },
        Message::User {
            content: "add".into(),
        },
        Message::Assistant {
            content: String::new(),
            tool_calls: vec![call],
        },
        Message::Tool {
            tool_call_id: "toolu_9".into(),
            content: "2\n".into(),
        },
    ];
    let out = chat(vec![Reply::text("It is 2.")], true, &messages, |_| {}).await;
    assert_eq!(out.ok().text, "It is 2.");
    let body = &out.srv.chat_requests()[0].body;
    let m = body["messages"].as_array().unwrap();
    assert_eq!(m.len(), 3);
    assert_eq!(m[1]["content"][0]["type"], "tool_use");
    assert_eq!(m[1]["content"][0]["input"]["code"], "1+1");
    assert_eq!(m[2]["role"], "user");
    assert_eq!(m[2]["content"][0]["type"], "tool_result");
    assert_eq!(m[2]["content"][0]["tool_use_id"], "toolu_9");
    assert_eq!(m[2]["content"][0]["content"], "2\n");
}

#[tokio::test]
async fn error_event_after_text_is_an_api_error_with_the_text_delivered() {
    let out = chat(
        vec![
            Reply::anthropic_stream_error("Half an ans", "overloaded_error", "Overloaded"),
            Reply::text("not requested"),
        ],
        true,
        &user("x"),
        |_| {},
    )
    .await;
    match out.err() {
        LlmError::Api { message, code } => {
            assert_eq!(message, "Overloaded");
            assert_eq!(code.as_deref(), Some("overloaded_error"));
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(out.text(), "Half an ans");
    assert_eq!(out.srv.chat_requests().len(), 1);
}

#[tokio::test]
async fn overloaded_before_any_text_is_retried() {
    let out = chat(
        vec![
            Reply::anthropic_stream_error("", "overloaded_error", "Overloaded"),
            Reply::anthropic_http_error(529, "overloaded_error", "Overloaded"),
            Reply::anthropic_text("finally"),
        ],
        true,
        &user("x"),
        |_| {},
    )
    .await;
    assert_eq!(out.ok().text, "finally");
    assert_eq!(out.srv.chat_requests().len(), 3);
    let retries = out
        .deltas
        .iter()
        .filter(|d| matches!(d, StreamDelta::Retrying { .. }))
        .count();
    assert_eq!(retries, 2);
}

#[tokio::test]
async fn invalid_request_error_is_not_retried_and_shows_the_message() {
    let out = chat(
        vec![Reply::anthropic_http_error(
            400,
            "invalid_request_error",
            "messages: roles must alternate",
        )],
        true,
        &user("x"),
        |_| {},
    )
    .await;
    match out.err() {
        LlmError::Http { status, message } => {
            assert_eq!(*status, 400);
            assert_eq!(message, "messages: roles must alternate");
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(out.srv.chat_requests().len(), 1);
}

#[tokio::test]
async fn cut_after_text_is_interrupted() {
    let events = interlock_testkit::anthropic::stream_events("Some text that", &[]);
    // Everything up to the last text delta, then the connection drops.
    let upto = events
        .iter()
        .rposition(|e| e.contains("text_delta"))
        .unwrap();
    let out = chat(
        vec![Reply::Cut {
            chunks: events[..=upto].to_vec(),
        }],
        true,
        &user("x"),
        |_| {},
    )
    .await;
    match out.err() {
        LlmError::Interrupted { partial, cause } => {
            assert_eq!(partial.text, "Some text that");
            assert!(cause.is_retryable());
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(out.srv.chat_requests().len(), 1);
}

#[tokio::test]
async fn echoed_key_never_appears_in_errors() {
    let out = chat(
        vec![Reply::EchoHeaders { status: 401 }],
        true,
        &user("x"),
        |_| {},
    )
    .await;
    for shown in [out.err().to_string(), format!("{:?}", out.err())] {
        assert!(!shown.contains("SECRET"), "key leaked: {shown}");
    }
    let client = AnthropicClient::new(ClientConfig {
        api_key: Some(SecretString::from(KEY)),
        ..ClientConfig::new("https://api.anthropic.com/v1", "claude-x")
    })
    .unwrap();
    assert!(!format!("{client:?}").contains("SECRET"));
}

#[tokio::test]
async fn provider_neutral_client_picks_and_drives_either_adapter() {
    let srv =
        ScriptedServer::start(vec![Reply::text("from claude"), Reply::text("from gpt")]).await;
    let mut cfg = config(&srv);
    cfg.model = "claude-3-5-haiku".into();
    let p = infer_provider(&cfg.api_base, &cfg.model);
    assert_eq!(p, Provider::Anthropic);
    let client = Client::new(p, cfg.clone()).unwrap();
    assert_eq!(client.provider(), Provider::Anthropic);
    let messages = user("hi");
    let req = ChatRequest {
        messages: &messages,
        offer_tools: false,
        stream: true,
    };
    let never = CancellationToken::new();
    let r = client.chat(&req, &never, &mut |_| {}).await.unwrap();
    assert_eq!(r.text, "from claude");
    assert_eq!(
        client.list_models().await.unwrap(),
        vec!["scripted-model", "scripted-model-2"]
    );

    cfg.model = "gpt-4o-mini".into();
    let client = Client::new(infer_provider(&cfg.api_base, &cfg.model), cfg).unwrap();
    assert_eq!(client.provider(), Provider::OpenAi);
    let r = client.chat(&req, &never, &mut |_| {}).await.unwrap();
    assert_eq!(r.text, "from gpt");
    let paths: Vec<String> = srv.chat_requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/v1/messages", "/v1/chat/completions"]);
}

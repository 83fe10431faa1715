//! Errors, timeouts, cancellation and key hygiene, over HTTP.

mod common;

use common::*;
use interlock_llm::{ChatRequest, LlmError, OpenAiClient, StreamDelta};
use interlock_testkit::{Reply, ScriptedServer};
use secrecy::SecretString;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const KEY: &str = "sk-test-SECRET-0123456789abcdef";

fn short_idle(c: &mut interlock_llm::ClientConfig) {
    c.idle_timeout = Duration::from_millis(300);
}

#[tokio::test]
async fn error_object_mid_stream_is_an_api_error() {
    let out = stream(Reply::stream_error(
        "half an ans",
        "The server had an error",
    ))
    .await;
    match out.err() {
        LlmError::Api { message, code } => {
            assert_eq!(message, "The server had an error");
            assert_eq!(code.as_deref(), Some("test_error"));
        }
        e => panic!("wrong error {e:?}"),
    }
    // What arrived before the error was still delivered.
    assert_eq!(out.text_deltas(), "half an ans");
}

#[tokio::test]
async fn stream_without_done_or_finish_reason_ended_early() {
    let chunks = vec![chunk(json!({"content": "and then"}), None)];
    let out = stream(Reply::Sse {
        chunks,
        delay_ms: 0,
    })
    .await;
    // Text was already delivered, so the cut is reported with what arrived.
    match out.err() {
        LlmError::Interrupted { partial, cause } => {
            assert_eq!(partial.text, "and then");
            assert!(cause.to_string().contains("stream ended early"), "{cause}");
            assert!(cause.is_retryable());
        }
        e => panic!("wrong error {e:?}"),
    }
    assert!(!out.err().is_retryable());
}

#[tokio::test]
async fn stream_ending_early_before_any_text_is_retryable() {
    let chunks = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    let out = stream(Reply::Sse {
        chunks,
        delay_ms: 0,
    })
    .await;
    match out.err() {
        LlmError::Protocol(m) => assert!(m.contains("stream ended early"), "{m}"),
        e => panic!("wrong error {e:?}"),
    }
    assert!(out.err().is_retryable());
}

#[tokio::test]
async fn malformed_chunk_is_a_protocol_error() {
    let chunks = vec!["data: {\"choices\": [oops\n\n".to_string()];
    let out = stream(Reply::Sse {
        chunks,
        delay_ms: 0,
    })
    .await;
    assert!(
        matches!(out.err(), LlmError::Protocol(_)),
        "{:?}",
        out.err()
    );
}

#[tokio::test]
async fn http_500_carries_the_provider_message() {
    let out = stream(Reply::http_error(500, "The model is overloaded, try later")).await;
    match out.err() {
        LlmError::Http { status, message } => {
            assert_eq!(*status, 500);
            assert_eq!(message, "The model is overloaded, try later");
        }
        e => panic!("wrong error {e:?}"),
    }
    assert!(out.err().is_retryable());
    let shown = out.err().to_string();
    assert!(
        shown.contains("500") && shown.contains("overloaded"),
        "{shown}"
    );
}

#[tokio::test]
async fn http_error_without_json_uses_the_status_reason() {
    let out = chat_with(
        Reply::Json {
            status: 404,
            body: json!(null),
        },
        false,
        |_| {},
    )
    .await;
    match out.err() {
        LlmError::Http {
            status: 404,
            message,
        } => assert!(!message.is_empty()),
        e => panic!("wrong error {e:?}"),
    }
}

#[tokio::test]
async fn unauthorized_echo_never_reveals_the_key() {
    for stream_flag in [true, false] {
        let out = chat_with(Reply::EchoHeaders { status: 401 }, stream_flag, |c| {
            c.api_key = Some(SecretString::from(KEY));
        })
        .await;
        // The key was sent...
        let req = &out.srv.chat_requests()[0];
        assert_eq!(
            req.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        // ...but appears nowhere in the error.
        let e = out.err();
        assert!(matches!(e, LlmError::Http { status: 401, .. }), "{e:?}");
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(!shown.contains(KEY), "key leaked: {shown}");
            assert!(!shown.contains("SECRET"), "key leaked: {shown}");
            assert!(shown.contains("[REDACTED]"), "{shown}");
        }
    }
}

#[tokio::test]
async fn key_echoed_in_an_api_error_is_redacted() {
    let out = chat_with(
        Reply::stream_error("", &format!("bad key {KEY} (Bearer {KEY})")),
        true,
        |c| c.api_key = Some(SecretString::from(KEY)),
    )
    .await;
    let shown = format!("{} {:?}", out.err(), out.err());
    assert!(!shown.contains("SECRET"), "{shown}");
}

#[tokio::test]
async fn client_debug_hides_the_key() {
    let srv = ScriptedServer::start(vec![]).await;
    let mut cfg = config(&srv);
    cfg.api_key = Some(SecretString::from(KEY));
    let shown = format!("{cfg:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    let client = OpenAiClient::new(cfg).unwrap();
    let shown = format!("{client:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
}

#[tokio::test]
async fn hang_before_headers_is_an_idle_timeout() {
    let out = chat_with(Reply::Hang, true, short_idle).await;
    assert!(
        matches!(out.err(), LlmError::Timeout { .. }),
        "{:?}",
        out.err()
    );
}

#[tokio::test]
async fn silence_mid_stream_is_an_idle_timeout() {
    let out = chat_with(
        Reply::Stall {
            chunks: vec![chunk(json!({"content": "thinking"}), None)],
        },
        true,
        short_idle,
    )
    .await;
    match out.err() {
        LlmError::Interrupted { partial, cause } => match &**cause {
            LlmError::Timeout { stage, .. } => {
                assert!(stage.contains("stream"), "{stage}");
                assert_eq!(partial.text, "thinking");
            }
            e => panic!("wrong cause {e:?}"),
        },
        e => panic!("wrong error {e:?}"),
    }
    assert_eq!(out.text_deltas(), "thinking");
}

#[tokio::test]
async fn slow_chunks_trip_the_idle_timeout() {
    let chunks = vec![
        chunk(json!({"content": "a"}), None),
        chunk(json!({"content": "b"}), Some("stop")),
    ];
    let out = chat_with(
        Reply::Sse {
            chunks,
            delay_ms: 3000,
        },
        true,
        short_idle,
    )
    .await;
    assert!(
        matches!(out.err(), LlmError::Interrupted { cause, .. } if matches!(**cause, LlmError::Timeout { .. })),
        "{:?}",
        out.err()
    );
}

#[tokio::test]
async fn non_streaming_request_timeout() {
    let out = chat_with(Reply::Hang, false, |c| {
        c.request_timeout = Duration::from_millis(300)
    })
    .await;
    assert!(
        matches!(out.err(), LlmError::Timeout { .. }),
        "{:?}",
        out.err()
    );
}

#[tokio::test]
async fn cancel_ends_a_hanging_request_promptly() {
    let srv = ScriptedServer::start(vec![Reply::Hang]).await;
    let client = OpenAiClient::new(config(&srv)).unwrap(); // idle timeout 10 s
    let messages = user("wait");
    let req = ChatRequest {
        messages: &messages,
        offer_tools: true,
        stream: true,
    };
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let r = client.chat(&req, &cancel, &mut |_| {}).await;
    assert!(matches!(r, Err(LlmError::Cancelled)), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn cancel_mid_stream_from_the_delta_callback() {
    let srv = ScriptedServer::start(vec![Reply::Sse {
        chunks: vec![
            chunk(json!({"content": "one"}), None),
            chunk(json!({"content": "two"}), None),
            chunk(json!({}), Some("stop")),
        ],
        delay_ms: 200,
    }])
    .await;
    let client = OpenAiClient::new(config(&srv)).unwrap();
    let messages = user("go");
    let req = ChatRequest {
        messages: &messages,
        offer_tools: false,
        stream: true,
    };
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    let mut seen = Vec::new();
    let r = client
        .chat(&req, &cancel, &mut |d| {
            seen.push(d);
            c2.cancel();
        })
        .await;
    assert!(matches!(r, Err(LlmError::Cancelled)), "{r:?}");
    assert_eq!(seen, vec![StreamDelta::Text("one".into())]);
}

#[tokio::test]
async fn connection_cut_mid_stream_is_a_network_error() {
    let out = stream(Reply::Cut {
        chunks: vec![chunk(json!({"content": "par"}), None)],
    })
    .await;
    match out.err() {
        LlmError::Interrupted { partial, cause } => {
            assert_eq!(partial.text, "par");
            assert!(matches!(**cause, LlmError::Connect { .. }), "{cause:?}");
            assert!(cause.is_retryable());
        }
        e => panic!("wrong error {e:?}"),
    }
    assert_eq!(out.text_deltas(), "par");
}

#[tokio::test]
async fn connection_closed_without_response() {
    let out = stream(Reply::Close).await;
    assert!(
        matches!(out.err(), LlmError::Connect { .. }),
        "{:?}",
        out.err()
    );
}

#[tokio::test]
async fn refused_connection_names_the_endpoint_only() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = interlock_llm::ClientConfig::new(format!("http://127.0.0.1:{port}/v1"), "m");
    cfg.api_key = Some(SecretString::from(KEY));
    let client = OpenAiClient::new(cfg).unwrap();
    let messages = user("hi");
    let req = ChatRequest {
        messages: &messages,
        offer_tools: false,
        stream: true,
    };
    let e = client
        .chat(&req, &CancellationToken::new(), &mut |_| {})
        .await
        .unwrap_err();
    match &e {
        LlmError::Connect { endpoint, .. } => {
            assert_eq!(endpoint, &format!("http://127.0.0.1:{port}"))
        }
        e => panic!("wrong error {e:?}"),
    }
    assert!(!e.to_string().contains("SECRET"));
    assert!(e.is_retryable());
}

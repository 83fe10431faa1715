//! The retry loop over HTTP: rate limits, server errors, resets, cut streams,
//! malformed data, silence and cancellation. Each test asserts how many
//! requests the server saw, the result, and the retry notices delivered.

mod common;

use common::*;
use interlock_llm::{
    ArgumentsError, ChatRequest, ChatResponse, LlmError, OpenAiClient, RetryPolicy, StreamDelta,
    parse_execute_arguments,
};
use interlock_testkit::{Reply, ScriptedServer};
use secrecy::SecretString;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const KEY: &str = "sk-test-SECRET-0123456789abcdef";

/// Tiny, deterministic waits: 20, 40, 80 ms.
fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        max_elapsed: Duration::from_secs(20),
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(500),
        jitter: 0.0,
    }
}

struct Run {
    deltas: Vec<StreamDelta>,
    result: Result<ChatResponse, LlmError>,
    srv: ScriptedServer,
    elapsed: Duration,
}

impl Run {
    fn retries(&self) -> Vec<(u32, Duration, String)> {
        self.deltas
            .iter()
            .filter_map(|d| match d {
                StreamDelta::Retrying {
                    attempt,
                    delay,
                    reason,
                    max_attempts,
                } => {
                    assert_eq!(*max_attempts, 4);
                    Some((*attempt, *delay, reason.clone()))
                }
                _ => None,
            })
            .collect()
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
    fn requests(&self) -> usize {
        self.srv.chat_requests().len()
    }
    fn ok(&self) -> &ChatResponse {
        self.result.as_ref().expect("success")
    }
    fn err(&self) -> &LlmError {
        self.result.as_ref().expect_err("an error")
    }
}

async fn run_with(
    script: Vec<Reply>,
    stream: bool,
    policy: RetryPolicy,
    tweak: impl FnOnce(&mut interlock_llm::ClientConfig),
) -> Run {
    let srv = ScriptedServer::start(script).await;
    let mut cfg = config(&srv);
    tweak(&mut cfg);
    let client = OpenAiClient::new(cfg).unwrap().with_retry_policy(policy);
    let messages = user("hello");
    let req = ChatRequest {
        messages: &messages,
        offer_tools: true,
        stream,
    };
    let mut deltas = Vec::new();
    let started = Instant::now();
    let result = client
        .chat(&req, &CancellationToken::new(), &mut |d| deltas.push(d))
        .await;
    Run {
        deltas,
        result,
        srv,
        elapsed: started.elapsed(),
    }
}

async fn run(script: Vec<Reply>) -> Run {
    run_with(script, true, fast(), |_| {}).await
}

#[tokio::test]
async fn rate_limited_with_retry_after_seconds_waits_that_long() {
    let r = run(vec![Reply::rate_limited(Some("1")), Reply::text("ok")]).await;
    assert_eq!(r.ok().text, "ok");
    assert_eq!(r.requests(), 2);
    let retries = r.retries();
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert_eq!(retries[0].0, 2);
    assert_eq!(retries[0].1, Duration::from_secs(1), "Retry-After honoured");
    assert!(retries[0].2.contains("429"), "{}", retries[0].2);
    assert!(r.elapsed >= Duration::from_millis(950), "{:?}", r.elapsed);
}

#[tokio::test]
async fn rate_limited_with_retry_after_date_in_the_past_retries_at_once() {
    let r = run(vec![
        Reply::rate_limited(Some("Sun, 06 Nov 1994 08:49:37 GMT")),
        Reply::text("ok"),
    ])
    .await;
    assert_eq!(r.ok().text, "ok");
    assert_eq!(r.requests(), 2);
    assert_eq!(r.retries()[0].1, Duration::ZERO);
}

#[tokio::test]
async fn rate_limited_without_retry_after_backs_off() {
    let r = run(vec![Reply::rate_limited(None), Reply::text("ok")]).await;
    assert_eq!(r.ok().text, "ok");
    assert_eq!(r.requests(), 2);
    assert_eq!(r.retries()[0].1, Duration::from_millis(20));
}

#[tokio::test]
async fn rate_limit_reset_header_is_honoured() {
    let limited = Reply::Custom {
        status: 429,
        headers: vec![
            ("x-ratelimit-reset-tokens".into(), "150ms".into()),
            ("x-ratelimit-remaining-tokens".into(), "0".into()),
        ],
        body: json!({"error": {"message": "tokens per minute exceeded"}}),
    };
    let r = run(vec![limited, Reply::text("ok")]).await;
    assert_eq!(r.ok().text, "ok");
    assert_eq!(r.retries()[0].1, Duration::from_millis(150));
}

#[tokio::test]
async fn retry_after_beyond_the_time_budget_gives_up_at_once() {
    let r = run(vec![Reply::rate_limited(Some("3600")), Reply::text("ok")]).await;
    assert!(
        matches!(r.err(), LlmError::Http { status: 429, .. }),
        "{:?}",
        r.err()
    );
    assert_eq!(r.requests(), 1);
    assert!(r.retries().is_empty());
    assert!(r.elapsed < Duration::from_secs(5));
}

#[tokio::test]
async fn server_error_then_success() {
    for stream in [true, false] {
        let r = run_with(
            vec![Reply::http_error(500, "boom"), Reply::text("fine")],
            stream,
            fast(),
            |_| {},
        )
        .await;
        assert_eq!(r.ok().text, "fine");
        assert_eq!(r.requests(), 2);
        let retries = r.retries();
        assert_eq!(retries.len(), 1);
        assert!(retries[0].2.contains("500") && retries[0].2.contains("boom"));
    }
}

#[tokio::test]
async fn persistent_server_errors_stop_after_max_attempts_with_growing_waits() {
    let r = run(vec![
        Reply::http_error(500, "one"),
        Reply::http_error(502, "two"),
        Reply::http_error(503, "three"),
        Reply::http_error(504, "four"),
        Reply::text("never reached"),
    ])
    .await;
    match r.err() {
        LlmError::Http { status, message } => {
            assert_eq!(*status, 504);
            assert_eq!(message, "four");
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(r.requests(), 4);
    assert_eq!(r.srv.remaining(), 1);
    let waits: Vec<(u32, Duration)> = r.retries().into_iter().map(|(a, d, _)| (a, d)).collect();
    assert_eq!(
        waits,
        vec![
            (2, Duration::from_millis(20)),
            (3, Duration::from_millis(40)),
            (4, Duration::from_millis(80)),
        ]
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let r = run(vec![
        Reply::http_error(400, "bad request"),
        Reply::text("x"),
    ])
    .await;
    assert!(matches!(r.err(), LlmError::Http { status: 400, .. }));
    assert_eq!(r.requests(), 1);
    assert!(r.retries().is_empty());
}

#[tokio::test]
async fn a_500_that_rejects_the_request_shape_is_not_retried() {
    // What llama-cpp-python answers to `"content": null`: the exception text.
    let r = run(vec![
        Reply::http_error(500, "can only concatenate str (not \"NoneType\") to str"),
        Reply::text("never reached"),
    ])
    .await;
    assert!(
        matches!(r.err(), LlmError::Http { status: 500, message } if message.contains("NoneType")),
        "{:?}",
        r.err()
    );
    assert!(r.err().is_request_rejected());
    assert_eq!(r.requests(), 1, "the same body must not be sent again");
    assert!(r.retries().is_empty());
}

#[tokio::test]
async fn connection_reset_is_retried() {
    let r = run(vec![Reply::Close, Reply::text("after reset")]).await;
    assert_eq!(r.ok().text, "after reset");
    assert_eq!(r.requests(), 2);
    assert!(
        r.retries()[0].2.contains("network error"),
        "{:?}",
        r.retries()
    );
}

#[tokio::test]
async fn stream_cut_before_visible_text_is_retried() {
    let r = run(vec![
        Reply::Cut {
            chunks: vec![chunk(json!({"role": "assistant", "content": ""}), None)],
        },
        Reply::text("whole answer"),
    ])
    .await;
    assert_eq!(r.ok().text, "whole answer");
    assert_eq!(r.text(), "whole answer", "nothing shown twice");
    assert_eq!(r.requests(), 2);
    assert_eq!(r.retries().len(), 1);
}

#[tokio::test]
async fn stream_cut_after_visible_text_is_interrupted_with_the_partial_answer() {
    let r = run(vec![
        Reply::Cut {
            chunks: vec![
                chunk(json!({"role": "assistant", "content": ""}), None),
                chunk(json!({"content": "Hello, wor"}), None),
            ],
        },
        Reply::text("not requested"),
    ])
    .await;
    match r.err() {
        LlmError::Interrupted { partial, cause } => {
            assert_eq!(partial.text, "Hello, wor");
            assert!(partial.finish_reason.is_none());
            assert!(matches!(**cause, LlmError::Connect { .. }), "{cause:?}");
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(r.err().kind(), "interrupted");
    assert!(!r.err().is_retryable());
    assert!(r.err().to_string().contains("cut off"), "{}", r.err());
    assert_eq!(r.requests(), 1);
    assert!(r.retries().is_empty());
    assert_eq!(r.text(), "Hello, wor");
}

#[tokio::test]
async fn stream_ending_early_after_a_tool_call_began_is_interrupted() {
    // No [DONE], no finish_reason: the stream just ends.
    let r = run(vec![Reply::Sse {
        chunks: vec![chunk(
            json!({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "execute", "arguments": "{\"lang"}}]}),
            None,
        )],
        delay_ms: 0,
    }])
    .await;
    match r.err() {
        LlmError::Interrupted { partial, cause } => {
            assert_eq!(partial.tool_calls.len(), 1);
            assert_eq!(partial.tool_calls[0].id, "c1");
            assert_eq!(partial.tool_calls[0].arguments, "{\"lang");
            assert!(cause.to_string().contains("stream ended early"));
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(r.requests(), 1);
}

#[tokio::test]
async fn silence_after_text_is_interrupted_not_retried() {
    let r = run_with(
        vec![Reply::Stall {
            chunks: vec![chunk(json!({"content": "thinking"}), None)],
        }],
        true,
        fast(),
        |c| c.idle_timeout = Duration::from_millis(200),
    )
    .await;
    match r.err() {
        LlmError::Interrupted { partial, cause } => {
            assert_eq!(partial.text, "thinking");
            assert!(matches!(**cause, LlmError::Timeout { .. }));
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(r.requests(), 1);
}

#[tokio::test]
async fn malformed_chunk_is_a_protocol_error_and_not_retried() {
    // Before any text...
    let r = run(vec![
        Reply::Sse {
            chunks: vec!["data: {\"choices\": [oops\n\n".into()],
            delay_ms: 0,
        },
        Reply::text("x"),
    ])
    .await;
    match r.err() {
        LlmError::Protocol(m) => assert!(m.contains("cannot parse a response chunk"), "{m}"),
        e => panic!("{e:?}"),
    }
    assert_eq!(r.requests(), 1);
    // ...and after some.
    let r = run(vec![
        Reply::Sse {
            chunks: vec![
                chunk(json!({"content": "partial"}), None),
                "data: {not json}\n\n".into(),
            ],
            delay_ms: 0,
        },
        Reply::text("x"),
    ])
    .await;
    assert!(matches!(r.err(), LlmError::Protocol(_)), "{:?}", r.err());
    assert_eq!(r.text(), "partial");
    assert_eq!(r.requests(), 1);
    assert!(r.retries().is_empty());
}

#[tokio::test]
async fn malformed_tool_arguments_arrive_verbatim_and_are_reported_by_the_parser() {
    let bad_args = "{\"language\": \"python\", \"co";
    let r = run(vec![
        Reply::Sse {
            chunks: vec![
                chunk(
                    json!({"tool_calls": [{"index": 0, "id": "c1", "type": "function",
                    "function": {"name": "execute", "arguments": bad_args}}]}),
                    None,
                ),
                chunk(json!({}), Some("tool_calls")),
                "data: [DONE]\n\n".into(),
            ],
            delay_ms: 0,
        },
        Reply::text("x"),
    ])
    .await;
    let resp = r.ok();
    assert_eq!(resp.tool_calls[0].arguments, bad_args);
    let e = parse_execute_arguments(&resp.tool_calls[0].arguments).unwrap_err();
    assert!(matches!(e, ArgumentsError::InvalidJson(_)), "{e:?}");
    assert!(e.to_string().contains("not valid JSON"));
    assert_eq!(r.requests(), 1);
}

#[tokio::test]
async fn server_that_never_answers_times_out_retries_then_fails_clearly() {
    let r = run_with(
        vec![Reply::Hang, Reply::Hang, Reply::Hang, Reply::Hang],
        true,
        fast(),
        |c| c.idle_timeout = Duration::from_millis(150),
    )
    .await;
    match r.err() {
        LlmError::Timeout { stage, after } => {
            assert_eq!(*stage, "waiting for the response");
            assert_eq!(*after, Duration::from_millis(150));
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(
        r.err().to_string(),
        "timed out waiting for the response (limit 150 ms)"
    );
    assert_eq!(r.requests(), 4);
    let retries = r.retries();
    assert_eq!(retries.len(), 3);
    assert!(retries.iter().all(|(_, _, why)| why.contains("timed out")));
    // 4 × 150 ms idle + 20 + 40 + 80 ms of waits, well under a few seconds.
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
}

#[tokio::test]
async fn total_time_budget_bounds_the_retries() {
    let policy = RetryPolicy {
        max_elapsed: Duration::from_millis(500),
        initial_backoff: Duration::from_millis(300),
        max_attempts: 10,
        ..fast()
    };
    // 300 ms wait fits; the next (600 ms) would end past 500 ms: stop.
    let script = (0..10).map(|_| Reply::http_error(503, "busy")).collect();
    let r = run_with(script, true, policy, |_| {}).await;
    assert!(matches!(r.err(), LlmError::Http { status: 503, .. }));
    assert_eq!(r.requests(), 2);
    assert!(r.elapsed < Duration::from_secs(2));
}

#[tokio::test]
async fn cancel_during_a_backoff_wait_is_immediate() {
    let srv = ScriptedServer::start(vec![Reply::http_error(500, "x"), Reply::text("late")]).await;
    let policy = RetryPolicy {
        initial_backoff: Duration::from_secs(30),
        max_backoff: Duration::from_secs(30),
        max_elapsed: Duration::from_secs(120),
        ..fast()
    };
    let client = OpenAiClient::new(config(&srv))
        .unwrap()
        .with_retry_policy(policy);
    let messages = user("hi");
    let req = ChatRequest {
        messages: &messages,
        offer_tools: false,
        stream: true,
    };
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let mut notices = 0;
    let started = Instant::now();
    let r = client
        .chat(&req, &cancel, &mut |d| {
            if matches!(d, StreamDelta::Retrying { .. }) {
                notices += 1;
                // The user presses Ctrl-C while the wait is announced.
                let t = trigger.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    t.cancel();
                });
            }
        })
        .await;
    assert!(matches!(r, Err(LlmError::Cancelled)), "{r:?}");
    assert_eq!(notices, 1);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(srv.chat_requests().len(), 1);
}

#[tokio::test]
async fn retry_notices_and_errors_never_contain_the_key_or_headers() {
    let r = run_with(
        vec![
            Reply::EchoHeaders { status: 503 },
            Reply::EchoHeaders { status: 503 },
            Reply::EchoHeaders { status: 503 },
            Reply::EchoHeaders { status: 503 },
        ],
        true,
        fast(),
        |c| c.api_key = Some(SecretString::from(KEY)),
    )
    .await;
    assert_eq!(r.requests(), 4);
    let mut shown: Vec<String> = r.retries().into_iter().map(|(_, _, why)| why).collect();
    shown.push(r.err().to_string());
    shown.push(format!("{:?}", r.err()));
    for s in shown {
        assert!(!s.contains("SECRET"), "key leaked: {s}");
    }
}

#[tokio::test]
async fn default_adapter_policy_is_a_single_attempt() {
    let out = chat_with(Reply::http_error(503, "busy"), true, |_| {}).await;
    assert!(matches!(out.err(), LlmError::Http { status: 503, .. }));
    assert_eq!(out.srv.chat_requests().len(), 1);
}

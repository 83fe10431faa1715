//! What the scripted server answers: the [`Reply`] enum and builders for the
//! replies tests need most often.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Prompt token count reported by every generated usage chunk.
pub const USAGE_PROMPT_TOKENS: u64 = 42;
/// Completion token count reported by every generated usage chunk.
pub const USAGE_COMPLETION_TOKENS: u64 = 7;
/// Model name the server reports in generated chunks and `/v1/models`.
pub const MODEL_NAME: &str = "scripted-model";
/// Text streamed when a chat request arrives after the script ran out.
pub const EXHAUSTED_TEXT: &str = "(script exhausted)";

/// One tool call in a `tool_call`/`tool_calls` shorthand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallSpec {
    /// The call id; generated (`call_<n>`) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub language: String,
    pub code: String,
}

/// One scripted answer to one chat request.
///
/// In JSON (the binary's script file) variants are externally tagged in
/// snake_case: `"hang"`, `{"text": "hi"}`,
/// `{"tool_call": {"language": "python", "code": "print(1)"}}`,
/// `{"sse": {"chunks": ["data: ...\n\n"], "delay_ms": 10}}`,
/// `{"json": {"status": 500, "body": {...}}}`, `{"error": {"status": 429, "message": "slow down"}}`.
///
/// The shorthand variants ([`Reply::Text`], [`Reply::ToolCall`], [`Reply::ToolCalls`],
/// [`Reply::Fenced`]) answer with SSE when the request asked for `"stream": true` and
/// with a plain JSON completion otherwise. The raw variants are sent exactly as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// `200 text/event-stream`; each chunk is written and flushed separately
    /// (as one HTTP/1.1 chunk), with `delay_ms` between chunks.
    Sse {
        chunks: Vec<String>,
        #[serde(default)]
        delay_ms: u64,
    },
    /// Like [`Reply::Sse`] but with raw byte chunks, so a write may end in the
    /// middle of a multi-byte UTF-8 character.
    SseBytes {
        chunks: Vec<Vec<u8>>,
        #[serde(default)]
        delay_ms: u64,
    },
    /// A plain (non-streaming) JSON response with any status.
    Json {
        #[serde(default = "ok_status")]
        status: u16,
        body: Value,
    },
    /// A plain JSON response with any status and extra response headers
    /// (e.g. `Retry-After`, rate-limit headers).
    Custom {
        #[serde(default = "ok_status")]
        status: u16,
        #[serde(default)]
        headers: Vec<(String, String)>,
        body: Value,
    },
    /// Read the request and never answer (the connection stays open).
    Hang,
    /// Read the request and close the connection without any response.
    Close,
    /// Send the SSE headers and these chunks, then drop the connection without
    /// finishing the chunked body.
    Cut { chunks: Vec<String> },
    /// Send the SSE headers and these chunks, then go silent with the
    /// connection open.
    Stall { chunks: Vec<String> },
    /// Answer with `status` and an OpenAI-style error whose message echoes every
    /// request header, like a careless proxy would.
    EchoHeaders { status: u16 },
    /// Shorthand: an assistant text reply.
    Text(String),
    /// Shorthand: one `execute` tool call.
    ToolCall(ToolCallSpec),
    /// Shorthand: several `execute` tool calls in one reply.
    ToolCalls(Vec<ToolCallSpec>),
    /// Shorthand: text containing a markdown code fence.
    Fenced { language: String, code: String },
    /// Shorthand: an HTTP error with an OpenAI-style error body.
    Error {
        #[serde(default = "server_error_status")]
        status: u16,
        message: String,
    },
}

fn ok_status() -> u16 {
    200
}

fn server_error_status() -> u16 {
    500
}

impl Reply {
    /// A streamed assistant text, split into several `delta.content` chunks,
    /// followed by `finish_reason: "stop"`, a usage chunk and `[DONE]`.
    pub fn text_stream(text: &str) -> Reply {
        let mut events = vec![role_event()];
        for piece in split_chars(text, &[3, 1, 5, 2, 8]) {
            events.push(chunk_event(json!({ "content": piece }), None));
        }
        events.extend(finish_events("stop"));
        Reply::Sse {
            chunks: events,
            delay_ms: 0,
        }
    }

    /// A streamed `execute` tool call whose `arguments` are split at awkward
    /// places: inside keys, between a backslash and the character it escapes,
    /// around multi-byte characters; some SSE events are additionally split
    /// across writes, including inside a multi-byte UTF-8 character.
    pub fn tool_call_stream(id: &str, language: &str, code: &str) -> Reply {
        Reply::tool_calls_stream(vec![(id, language, code)])
    }

    /// Several streamed `execute` tool calls in one reply, their fragments
    /// interleaved by index. Later fragments of the second and following calls
    /// repeat `id`/`name` as empty strings, as some servers do.
    pub fn tool_calls_stream(calls: Vec<(&str, &str, &str)>) -> Reply {
        let frags: Vec<Vec<String>> = calls
            .iter()
            .map(|(_, lang, code)| awkward_fragments(&execute_arguments(lang, code)))
            .collect();
        let mut events = vec![role_event()];
        // Headers: call 0 announces with empty arguments, the others carry
        // their first fragment along with id and name.
        let mut next: Vec<usize> = vec![0; calls.len()];
        for (i, (id, _, _)) in calls.iter().enumerate() {
            let first = if i == 0 {
                String::new()
            } else {
                next[i] = 1;
                frags[i].first().cloned().unwrap_or_default()
            };
            events.push(tool_event(
                i,
                json!({"index": i, "id": id, "type": "function",
                       "function": {"name": "execute", "arguments": first}}),
            ));
        }
        let mut k = 0usize;
        loop {
            let mut any = false;
            for i in 0..calls.len() {
                let Some(frag) = frags[i].get(next[i]) else {
                    continue;
                };
                next[i] += 1;
                any = true;
                let call = if i > 0 && k % 2 == 1 {
                    json!({"index": i, "id": "", "type": "function",
                           "function": {"name": "", "arguments": frag}})
                } else {
                    json!({"index": i, "function": {"arguments": frag}})
                };
                events.push(tool_event(i, call));
            }
            if !any {
                break;
            }
            k += 1;
        }
        events.extend(finish_events("tool_calls"));
        Reply::SseBytes {
            chunks: split_writes(&events),
            delay_ms: 0,
        }
    }

    /// A streamed text reply containing the code in a markdown fence.
    pub fn fenced(language: &str, code: &str) -> Reply {
        Reply::text_stream(&fenced_text(language, code))
    }

    /// Adaptive shorthand for a text reply (SSE or JSON, as the request asks).
    pub fn text(text: &str) -> Reply {
        Reply::Text(text.to_string())
    }

    /// Adaptive shorthand for one tool call (SSE or JSON, as the request asks).
    pub fn tool_call(language: &str, code: &str) -> Reply {
        Reply::ToolCall(ToolCallSpec {
            id: None,
            language: language.into(),
            code: code.into(),
        })
    }

    /// A non-streaming completion with assistant text.
    pub fn text_json(text: &str) -> Reply {
        Reply::Json {
            status: 200,
            body: completion_body(json!({"role": "assistant", "content": text}), "stop"),
        }
    }

    /// A non-streaming completion with `execute` tool calls.
    pub fn tool_calls_json(calls: Vec<(&str, &str, &str)>) -> Reply {
        let tool_calls: Vec<Value> = calls
            .iter()
            .map(|(id, lang, code)| {
                json!({"id": id, "type": "function",
                       "function": {"name": "execute", "arguments": execute_arguments(lang, code)}})
            })
            .collect();
        Reply::Json {
            status: 200,
            body: completion_body(
                json!({"role": "assistant", "content": null, "tool_calls": tool_calls}),
                "tool_calls",
            ),
        }
    }

    /// An HTTP error with an OpenAI-style `{"error": {...}}` body.
    pub fn http_error(status: u16, message: &str) -> Reply {
        Reply::Json {
            status,
            body: error_body(message),
        }
    }

    /// HTTP 429 with an OpenAI-style error body and, when given, a
    /// `Retry-After` header (seconds or an HTTP date, verbatim).
    pub fn rate_limited(retry_after: Option<&str>) -> Reply {
        Reply::Custom {
            status: 429,
            headers: retry_after
                .map(|v| vec![("Retry-After".to_string(), v.to_string())])
                .unwrap_or_default(),
            body: error_body("Rate limit reached for requests"),
        }
    }

    /// A stream that sends some text, then an `{"error": {...}}` object.
    pub fn stream_error(partial_text: &str, message: &str) -> Reply {
        let mut chunks = vec![role_event()];
        if !partial_text.is_empty() {
            chunks.push(chunk_event(json!({"content": partial_text}), None));
        }
        chunks.push(format!(
            "data: {}\n\n",
            json!({"error": {"message": message, "type": "server_error", "code": "test_error"}})
        ));
        Reply::Sse {
            chunks,
            delay_ms: 0,
        }
    }

    /// Turns a shorthand into the raw reply actually sent, in the Anthropic
    /// Messages format (the server uses this for `POST /v1/messages`).
    pub fn resolve_anthropic(&self, streaming: bool, seq: usize) -> Reply {
        let calls = |specs: &[ToolCallSpec]| -> Vec<(String, String, String)> {
            specs
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let id = c.id.clone().unwrap_or_else(|| format!("toolu_{seq}_{i}"));
                    (id, c.language.clone(), c.code.clone())
                })
                .collect()
        };
        let reply = |text: &str, calls: Vec<(String, String, String)>| {
            let borrowed: Vec<(&str, &str, &str)> = calls
                .iter()
                .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
                .collect();
            if streaming {
                crate::anthropic::stream(text, &borrowed)
            } else {
                crate::anthropic::message_json(text, &borrowed)
            }
        };
        match self {
            Reply::Text(t) => reply(t, vec![]),
            Reply::Fenced { language, code } => reply(&fenced_text(language, code), vec![]),
            Reply::ToolCall(spec) => reply("", calls(std::slice::from_ref(spec))),
            Reply::ToolCalls(specs) => reply("", calls(specs)),
            Reply::Error { status, message } => {
                crate::anthropic::http_error(*status, "api_error", message)
            }
            other => other.clone(),
        }
    }

    /// Turns a shorthand into the raw reply actually sent. `seq` numbers the
    /// chat request (from 1) and is used for generated tool-call ids.
    pub fn resolve(&self, streaming: bool, seq: usize) -> Reply {
        let ids = |calls: &[ToolCallSpec]| -> Vec<(String, String, String)> {
            calls
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let id = c.id.clone().unwrap_or_else(|| format!("call_{seq}_{i}"));
                    (id, c.language.clone(), c.code.clone())
                })
                .collect()
        };
        let calls_reply = |calls: Vec<(String, String, String)>| {
            let borrowed: Vec<(&str, &str, &str)> = calls
                .iter()
                .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
                .collect();
            if streaming {
                Reply::tool_calls_stream(borrowed)
            } else {
                Reply::tool_calls_json(borrowed)
            }
        };
        match self {
            Reply::Text(t) if streaming => Reply::text_stream(t),
            Reply::Text(t) => Reply::text_json(t),
            Reply::Fenced { language, code } if streaming => Reply::fenced(language, code),
            Reply::Fenced { language, code } => Reply::text_json(&fenced_text(language, code)),
            Reply::ToolCall(spec) => calls_reply(ids(std::slice::from_ref(spec))),
            Reply::ToolCalls(specs) => calls_reply(ids(specs)),
            Reply::Error { status, message } => Reply::http_error(*status, message),
            other => other.clone(),
        }
    }
}

/// The `arguments` JSON text of an `execute` call, keys in the usual order.
pub fn execute_arguments(language: &str, code: &str) -> String {
    format!(
        "{{\"language\":{},\"code\":{}}}",
        Value::String(language.into()),
        Value::String(code.into())
    )
}

pub(crate) fn fenced_text(language: &str, code: &str) -> String {
    format!("Here is the code:\n\n```{language}\n{code}\n```\n")
}

/// Splits `s` into fragments at awkward places: inside the first key, inside
/// `"code"`, right after every backslash (between an escape's two halves),
/// around every multi-byte character, and every few bytes otherwise. Splits
/// only fall on UTF-8 character boundaries, so every fragment is a valid
/// string; concatenated they give back `s`.
pub fn awkward_fragments(s: &str) -> Vec<String> {
    let bytes = s.as_bytes();
    let mut cuts: Vec<usize> = vec![1, 6];
    if let Some(p) = s.find("\"code\"") {
        cuts.push(p + 3);
    }
    let steps = [4usize, 3, 5, 2];
    let mut pos = 0;
    let mut k = 0;
    while pos < bytes.len() {
        pos += steps[k % steps.len()];
        k += 1;
        cuts.push(pos);
    }
    for (i, c) in s.char_indices() {
        if i > 0 && bytes[i - 1] == b'\\' {
            cuts.push(i);
        }
        if c.len_utf8() > 1 {
            cuts.push(i);
            cuts.push(i + c.len_utf8());
        }
    }
    cuts.retain(|&c| c > 0 && c < bytes.len() && s.is_char_boundary(c));
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for c in cuts {
        out.push(s[start..c].to_string());
        start = c;
    }
    out.push(s[start..].to_string());
    out
}

/// Splits a text into pieces of the given character counts, cycling.
pub(crate) fn split_chars(text: &str, sizes: &[usize]) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut k = 0;
    while i < chars.len() {
        let n = sizes[k % sizes.len()].min(chars.len() - i);
        out.push(chars[i..i + n].iter().collect());
        i += n;
        k += 1;
    }
    out
}

/// Turns whole SSE events into writes: some events are split in two (inside
/// a multi-byte character when there is one, else mid-JSON or between the two
/// final newlines), some are coalesced with the previous write.
pub(crate) fn split_writes(events: &[String]) -> Vec<Vec<u8>> {
    let mut writes: Vec<Vec<u8>> = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        let b = ev.as_bytes();
        match i % 5 {
            1 | 3 if b.len() > 4 => {
                let cut = match b.iter().position(|&x| x >= 0x80) {
                    Some(p) => p + 1, // inside the multi-byte character
                    None if i % 5 == 1 => b.len() / 2,
                    None => b.len() - 1, // between "\n" and "\n"
                };
                writes.push(b[..cut].to_vec());
                writes.push(b[cut..].to_vec());
            }
            4 if !writes.is_empty() => writes.last_mut().unwrap().extend_from_slice(b),
            _ => writes.push(b.to_vec()),
        }
    }
    writes
}

fn chunk_json(choices: Value) -> Value {
    json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL_NAME,
        "choices": choices,
    })
}

fn chunk_event(delta: Value, finish: Option<&str>) -> String {
    let c = chunk_json(json!([{"index": 0, "delta": delta, "finish_reason": finish}]));
    format!("data: {c}\n\n")
}

fn role_event() -> String {
    chunk_event(json!({"role": "assistant", "content": ""}), None)
}

fn tool_event(_index: usize, call: Value) -> String {
    chunk_event(json!({ "tool_calls": [call] }), None)
}

fn usage_json() -> Value {
    json!({
        "prompt_tokens": USAGE_PROMPT_TOKENS,
        "completion_tokens": USAGE_COMPLETION_TOKENS,
        "total_tokens": USAGE_PROMPT_TOKENS + USAGE_COMPLETION_TOKENS,
    })
}

fn finish_events(reason: &str) -> Vec<String> {
    let mut usage = chunk_json(json!([]));
    usage["usage"] = usage_json();
    vec![
        chunk_event(json!({}), Some(reason)),
        format!("data: {usage}\n\n"),
        "data: [DONE]\n\n".to_string(),
    ]
}

fn completion_body(message: Value, finish: &str) -> Value {
    json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL_NAME,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage_json(),
    })
}

pub(crate) fn error_body(message: &str) -> Value {
    json!({"error": {"message": message, "type": "invalid_request_error", "code": null}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_reassemble_and_split_escapes() {
        let args = execute_arguments("python", "print(\"héllo\")\nx = '🦀'\\n");
        let frags = awkward_fragments(&args);
        assert!(frags.len() >= 10, "{frags:?}");
        assert_eq!(frags.concat(), args);
        assert!(frags.iter().any(|f| f.ends_with('\\')), "{frags:?}");
        assert!(
            !frags
                .iter()
                .any(|f| f.contains("language") || f.contains("\"code\"")),
            "{frags:?}"
        );
    }

    #[test]
    fn tool_call_stream_writes_split_inside_a_character() {
        let Reply::SseBytes { chunks, .. } = Reply::tool_call_stream("c1", "python", "print('é')")
        else {
            panic!("expected bytes");
        };
        assert!(chunks.iter().any(|c| std::str::from_utf8(c).is_err()));
        let all: Vec<u8> = chunks.concat();
        assert!(
            String::from_utf8(all)
                .unwrap()
                .ends_with("data: [DONE]\n\n")
        );
    }

    #[test]
    fn script_shorthands_deserialise() {
        let script: Vec<Reply> = serde_json::from_str(
            r#"[{"text":"hi"}, {"tool_call":{"language":"python","code":"print(1)"}}, "hang",
                {"sse":{"chunks":["data: [DONE]\n\n"]}}, {"error":{"message":"nope","status":429}},
                {"json":{"body":{}}}]"#,
        )
        .unwrap();
        assert_eq!(script[0], Reply::Text("hi".into()));
        assert_eq!(script[2], Reply::Hang);
        assert_eq!(
            script[5],
            Reply::Json {
                status: 200,
                body: json!({})
            }
        );
        assert!(matches!(script[1].resolve(true, 1), Reply::SseBytes { .. }));
        assert!(matches!(
            script[1].resolve(false, 1),
            Reply::Json { status: 200, .. }
        ));
    }
}

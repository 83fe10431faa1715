//! Replies in the Anthropic Messages format, for `POST /v1/messages`.
//!
//! Streams follow the documented event sequence: `message_start` (with input
//! usage), `ping`, per content block `content_block_start` /
//! `content_block_delta` (`text_delta` or `input_json_delta`) /
//! `content_block_stop`, then `message_delta` (stop reason, output usage) and
//! `message_stop`. Tool input JSON is split at the same awkward places as the
//! OpenAI tool-call builders, and SSE writes are split inside events.

use crate::reply::{
    MODEL_NAME, Reply, USAGE_COMPLETION_TOKENS, USAGE_PROMPT_TOKENS, awkward_fragments,
    execute_arguments, split_chars, split_writes,
};
use serde_json::{Value, json};

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn message_start() -> String {
    event(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": "msg_scripted", "type": "message", "role": "assistant", "model": MODEL_NAME,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": USAGE_PROMPT_TOKENS, "output_tokens": 1}}}),
    )
}

fn text_block(index: usize, text: &str) -> Vec<String> {
    let mut out = vec![event(
        "content_block_start",
        json!({"type": "content_block_start", "index": index,
               "content_block": {"type": "text", "text": ""}}),
    )];
    for piece in split_chars(text, &[4, 1, 6, 3]) {
        out.push(event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index,
                   "delta": {"type": "text_delta", "text": piece}}),
        ));
    }
    out.push(event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": index}),
    ));
    out
}

fn tool_block(index: usize, id: &str, name: &str, input_json: &str) -> Vec<String> {
    let mut out = vec![event(
        "content_block_start",
        json!({"type": "content_block_start", "index": index,
               "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
    )];
    // Anthropic starts every tool input with an empty fragment.
    let mut frags = vec![String::new()];
    frags.extend(awkward_fragments(input_json));
    for f in frags {
        out.push(event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index,
                   "delta": {"type": "input_json_delta", "partial_json": f}}),
        ));
    }
    out.push(event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": index}),
    ));
    out
}

fn message_end(stop_reason: &str) -> Vec<String> {
    vec![
        event(
            "message_delta",
            json!({"type": "message_delta",
                   "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                   "usage": {"output_tokens": USAGE_COMPLETION_TOKENS}}),
        ),
        event("message_stop", json!({"type": "message_stop"})),
    ]
}

/// The events of a streamed answer with optional text and `execute` tool
/// uses `(id, language, code)`, as whole SSE events.
pub fn stream_events(text: &str, calls: &[(&str, &str, &str)]) -> Vec<String> {
    let mut events = vec![message_start(), event("ping", json!({"type": "ping"}))];
    let mut index = 0;
    if !text.is_empty() {
        events.extend(text_block(index, text));
        index += 1;
    }
    for (id, lang, code) in calls {
        events.extend(tool_block(
            index,
            id,
            "execute",
            &execute_arguments(lang, code),
        ));
        index += 1;
    }
    events.extend(message_end(if calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    }));
    events
}

/// A streamed answer, writes split at awkward places.
pub fn stream(text: &str, calls: &[(&str, &str, &str)]) -> Reply {
    Reply::SseBytes {
        chunks: split_writes(&stream_events(text, calls)),
        delay_ms: 0,
    }
}

/// A non-streaming `message` object.
pub fn message_json(text: &str, calls: &[(&str, &str, &str)]) -> Reply {
    let mut content = Vec::new();
    if !text.is_empty() {
        content.push(json!({"type": "text", "text": text}));
    }
    for (id, lang, code) in calls {
        content.push(json!({"type": "tool_use", "id": id, "name": "execute",
                            "input": {"language": lang, "code": code}}));
    }
    Reply::Json {
        status: 200,
        body: json!({
            "id": "msg_scripted", "type": "message", "role": "assistant", "model": MODEL_NAME,
            "content": content,
            "stop_reason": if calls.is_empty() { "end_turn" } else { "tool_use" },
            "stop_sequence": null,
            "usage": {"input_tokens": USAGE_PROMPT_TOKENS, "output_tokens": USAGE_COMPLETION_TOKENS},
        }),
    }
}

/// An Anthropic error body: `{"type":"error","error":{"type":..,"message":..}}`.
pub fn error_json(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

/// An HTTP error in the Anthropic format.
pub fn http_error(status: u16, kind: &str, message: &str) -> Reply {
    Reply::Json {
        status,
        body: error_json(kind, message),
    }
}

/// A stream that starts a text block with `partial_text` (if any), then sends
/// an `error` event (`kind` e.g. `overloaded_error`) and ends.
pub fn stream_error(partial_text: &str, kind: &str, message: &str) -> Reply {
    let mut chunks = vec![message_start()];
    if !partial_text.is_empty() {
        chunks.push(event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
                   "content_block": {"type": "text", "text": ""}}),
        ));
        chunks.push(event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": partial_text}}),
        ));
    }
    chunks.push(event("error", error_json(kind, message)));
    Reply::Sse {
        chunks,
        delay_ms: 0,
    }
}

impl Reply {
    /// Anthropic format: a streamed text answer.
    pub fn anthropic_text(text: &str) -> Reply {
        stream(text, &[])
    }

    /// Anthropic format: streamed text (may be empty) then `tool_use` blocks
    /// `(id, language, code)` whose `input_json_delta`s split at awkward places.
    pub fn anthropic_tool_uses(text: &str, calls: Vec<(&str, &str, &str)>) -> Reply {
        stream(text, &calls)
    }

    /// Anthropic format: partial text, then an `error` event.
    pub fn anthropic_stream_error(partial_text: &str, kind: &str, message: &str) -> Reply {
        stream_error(partial_text, kind, message)
    }

    /// Anthropic format: an HTTP error with an Anthropic error body.
    pub fn anthropic_http_error(status: u16, kind: &str, message: &str) -> Reply {
        http_error(status, kind, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_is_well_formed() {
        let events = stream_events(
            "hé",
            &[("t1", "python", "print('é')\n"), ("t2", "shell", "ls")],
        );
        assert!(events[0].starts_with("event: message_start\n"));
        assert!(events.last().unwrap().starts_with("event: message_stop\n"));
        let mut inputs = ["", "", ""].map(String::from);
        for e in &events {
            let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            let v: Value = serde_json::from_str(data).unwrap();
            if v["delta"]["type"] == "input_json_delta" {
                let i = v["index"].as_u64().unwrap() as usize;
                inputs[i].push_str(v["delta"]["partial_json"].as_str().unwrap());
            }
        }
        assert_eq!(inputs[1], execute_arguments("python", "print('é')\n"));
        assert_eq!(inputs[2], execute_arguments("shell", "ls"));
    }
}

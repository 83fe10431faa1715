//! The OpenAI wire format: request bodies out, completions and stream chunks
//! in, and the [`Assembler`] that turns chunks into deltas and a response.
//!
//! Parsing is lenient on purpose: every field is optional, `null` is the same
//! as absent, and the quirks of OpenAI-compatible servers (tool-call chunks
//! without `index`, repeated or empty `id`/`name`, arguments sent as an
//! object, content as an array of parts) are accepted.

use crate::error::{EMPTY_STREAM, LlmError, STREAM_ENDED_EARLY};
use crate::{ChatRequest, ChatResponse, ClientConfig, StreamDelta, execute_tool_schema};
use interlock_protocol::{EXECUTE_TOOL, Message, ToolCall, Usage};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The JSON body of a chat-completions request.
pub(crate) fn request_body(cfg: &ClientConfig, req: &ChatRequest<'_>) -> Value {
    let messages: Vec<Value> = req.messages.iter().map(message_json).collect();
    let mut body = json!({ "model": cfg.model, "messages": messages });
    if req.offer_tools {
        body["tools"] = json!([execute_tool_schema()]);
        // OpenAI's default, but not every compatible server's: llama-cpp-python
        // leaves the tools out of the prompt when `tool_choice` is missing.
        body["tool_choice"] = json!("auto");
    }
    if req.stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({ "include_usage": true });
    }
    if let Some(t) = cfg.temperature {
        // Through f64 via its shortest decimal form, so 0.2f32 is sent as 0.2.
        let t: f64 = t.to_string().parse().unwrap_or(t as f64);
        body["temperature"] = json!(t);
    }
    if let Some(m) = cfg.max_tokens {
        body["max_tokens"] = json!(m);
    }
    if let Some(s) = cfg.seed {
        body["seed"] = json!(s);
    }
    body
}

fn message_json(m: &Message) -> Value {
    match m {
        Message::System { content } => json!({"role": "system", "content": content}),
        Message::User { content } => json!({"role": "user", "content": content}),
        Message::Assistant {
            content,
            tool_calls,
        } => {
            if tool_calls.is_empty() {
                return json!({"role": "assistant", "content": content});
            }
            let calls: Vec<Value> = tool_calls
                .iter()
                .map(|c| {
                    json!({"id": c.id, "type": "function",
                           "function": {"name": c.name, "arguments": c.arguments}})
                })
                .collect();
            // Always a string, even when empty: OpenAI, Ollama, vLLM and
            // llama.cpp accept "", but llama-cpp-python answers `null`
            // with HTTP 500.
            json!({"role": "assistant", "content": content, "tool_calls": calls})
        }
        Message::Tool {
            tool_call_id,
            content,
        } => json!({"role": "tool", "tool_call_id": tool_call_id, "content": content}),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

impl WireUsage {
    fn to_usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens.unwrap_or(0),
            completion_tokens: self.completion_tokens.unwrap_or(0),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct WireToolCall {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<WireFunction>,
}

#[derive(Debug, Default, Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Debug, Default, Deserialize)]
struct WireChoice {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    delta: Option<WireMessage>,
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

/// A stream chunk or a whole completion: the same shape, `delta` vs `message`.
#[derive(Debug, Default, Deserialize)]
struct WireCompletion {
    #[serde(default)]
    choices: Option<Vec<WireChoice>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

/// Text of a `content` that is a string, or an array of `{"type":"text","text":..}` parts.
fn content_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str).or(p.as_str()))
            .collect(),
        _ => String::new(),
    }
}

/// Arguments as text: a string verbatim, an object re-serialised.
fn arguments_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// An `{"error": ...}` value as an [`LlmError::Api`] (message not yet scrubbed).
pub(crate) fn api_error(err: &Value) -> LlmError {
    let message = match err {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| err.to_string()),
        other => other.to_string(),
    };
    let code = err.get("code").and_then(|c| match c {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    });
    LlmError::Api { message, code }
}

/// The human message in an HTTP error body, if it has a recognisable one.
pub(crate) fn error_body_message(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let pick = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o
                .get("message")
                .or_else(|| o.get("detail"))
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => None,
        }
    };
    let v = match &v {
        Value::Array(a) => a.first()?.clone(), // some gateways wrap errors in a list
        _ => v,
    };
    v.get("error")
        .and_then(pick)
        .or_else(|| v.get("message").and_then(Value::as_str).map(str::to_string))
        .or_else(|| v.get("detail").and_then(pick))
}

#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
    started: bool,
}

/// Accumulates a response from stream chunks (or one whole completion).
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    text: String,
    calls: BTreeMap<usize, PartialCall>,
    last_index: Option<usize>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    done: bool,
    /// Whether any `data:` arrived at all (keep-alive comments do not count).
    seen_data: bool,
}

impl Assembler {
    /// Whether `[DONE]` was seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Whether the response is complete enough to accept without `[DONE]`.
    pub fn has_finished(&self) -> bool {
        self.done || self.finish_reason.is_some()
    }

    /// Handles one SSE event's data.
    pub fn on_event(
        &mut self,
        event: Option<&str>,
        data: &str,
        emit: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<(), LlmError> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(());
        }
        self.seen_data = true;
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: WireCompletion = match serde_json::from_str::<Value>(data) {
            Ok(v) => {
                if event == Some("error") && v.get("error").is_none() {
                    return Err(api_error(&v));
                }
                serde_json::from_value(v).map_err(|e| bad_chunk(&e, data))?
            }
            Err(e) => {
                // A server that omits the blank line between events makes us
                // see several `data:` lines as one event; take them one by one.
                if data.contains('\n') {
                    for line in data.lines() {
                        self.on_event(event, line, emit)?;
                    }
                    return Ok(());
                }
                if event == Some("error") {
                    return Err(LlmError::Api {
                        message: data.to_string(),
                        code: None,
                    });
                }
                return Err(bad_chunk(&e, data));
            }
        };
        self.apply(chunk, true, emit)
    }

    /// Handles a whole non-streaming completion body; emits its content as
    /// deltas too (used when a server ignores `stream: true`).
    pub fn on_completion(
        &mut self,
        body: &str,
        emit: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<(), LlmError> {
        let c: WireCompletion =
            serde_json::from_str(body).map_err(|e| bad_chunk(&e, body.trim()))?;
        if c.choices.as_ref().is_none_or(|c| c.is_empty()) && c.error.is_none() {
            return Err(LlmError::Protocol(
                "the response has no choices (and no error)".into(),
            ));
        }
        self.apply(c, false, emit)?;
        self.done = true;
        Ok(())
    }

    fn apply(
        &mut self,
        chunk: WireCompletion,
        streaming: bool,
        emit: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<(), LlmError> {
        if let Some(err) = &chunk.error
            && !err.is_null()
        {
            return Err(api_error(err));
        }
        if let Some(u) = &chunk.usage {
            self.usage = Some(u.to_usage());
        }
        for choice in chunk.choices.unwrap_or_default() {
            if choice.index.unwrap_or(0) != 0 {
                continue; // we never ask for n > 1
            }
            let msg = if streaming {
                choice.delta.or(choice.message)
            } else {
                choice.message.or(choice.delta)
            };
            if let Some(msg) = msg {
                if let Some(content) = &msg.content {
                    let t = content_text(content);
                    if !t.is_empty() {
                        self.text.push_str(&t);
                        emit(StreamDelta::Text(t));
                    }
                }
                for (pos, call) in msg.tool_calls.unwrap_or_default().into_iter().enumerate() {
                    let index = if streaming { None } else { Some(pos) };
                    self.apply_tool_call(call, index, emit);
                }
            }
            if let Some(r) = choice.finish_reason
                && !r.is_empty()
            {
                self.finish_reason = Some(r);
            }
        }
        Ok(())
    }

    fn apply_tool_call(
        &mut self,
        call: WireToolCall,
        forced_index: Option<usize>,
        emit: &mut (dyn FnMut(StreamDelta) + Send),
    ) {
        let id = call.id.filter(|s| !s.is_empty());
        let index = forced_index.or(call.index).unwrap_or_else(|| {
            // No index: a new call when it brings an id we have not seen,
            // otherwise a continuation of the last one.
            match (&id, self.last_index) {
                (Some(id), Some(last)) if self.calls.values().all(|c| &c.id != id) => {
                    self.calls.keys().next_back().map_or(last + 1, |k| k + 1)
                }
                (_, Some(last)) => last,
                (_, None) => 0,
            }
        });
        self.last_index = Some(index);
        let (name, args) = match call.function {
            Some(f) => (
                f.name.filter(|s| !s.is_empty()),
                arguments_text(f.arguments.as_ref()),
            ),
            None => (None, String::new()),
        };
        let p = self.calls.entry(index).or_default();
        if let Some(id) = id
            && p.id.is_empty()
        {
            p.id = id;
        }
        if let Some(name) = name
            && p.name.is_empty()
        {
            p.name = name;
        }
        if !p.started && (!p.name.is_empty() || !args.is_empty()) {
            p.started = true;
            emit(StreamDelta::ToolCallStarted {
                index,
                id: p.id.clone(),
                name: p.name.clone(),
            });
        }
        if !args.is_empty() {
            p.arguments.push_str(&args);
            emit(StreamDelta::ToolCallArguments {
                index,
                fragment: args,
            });
        }
    }

    /// The response so far. `Err` when the stream ended without `[DONE]` or a
    /// finish reason.
    pub fn finish(self) -> Result<ChatResponse, LlmError> {
        if !self.has_finished() {
            if !self.seen_data {
                return Err(LlmError::Protocol(format!(
                    "{STREAM_ENDED_EARLY}: {EMPTY_STREAM}"
                )));
            }
            return Err(LlmError::Protocol(STREAM_ENDED_EARLY.into()));
        }
        let tool_calls = self
            .calls
            .into_iter()
            .filter(|(_, c)| c.started || !c.id.is_empty())
            .map(|(i, c)| ToolCall {
                id: if c.id.is_empty() {
                    format!("call_{i}")
                } else {
                    c.id
                },
                // Only one tool is offered; a server that drops the name means it.
                name: if c.name.is_empty() {
                    EXECUTE_TOOL.to_string()
                } else {
                    c.name
                },
                arguments: c.arguments,
            })
            .collect();
        Ok(ChatResponse {
            text: self.text,
            tool_calls,
            finish_reason: self.finish_reason,
            usage: self.usage,
        })
    }
}

impl crate::transport::SseSink for Assembler {
    fn on_event(
        &mut self,
        event: Option<&str>,
        data: &str,
        emit: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<(), LlmError> {
        Assembler::on_event(self, event, data, emit)
    }
    fn is_done(&self) -> bool {
        Assembler::is_done(self)
    }
    fn has_finished(&self) -> bool {
        Assembler::has_finished(self)
    }
    fn finish(self) -> Result<ChatResponse, LlmError> {
        Assembler::finish(self)
    }
}

pub(crate) fn bad_chunk(e: &serde_json::Error, data: &str) -> LlmError {
    let mut snippet: String = data.chars().take(120).collect();
    if snippet.len() < data.len() {
        snippet.push('…');
    }
    LlmError::Protocol(format!("cannot parse a response chunk ({e}): {snippet}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(events: &[&str]) -> (Vec<StreamDelta>, Result<ChatResponse, LlmError>) {
        let mut asm = Assembler::default();
        let mut deltas = Vec::new();
        let mut emit = |d| deltas.push(d);
        for e in events {
            if let Err(err) = asm.on_event(None, e, &mut emit) {
                return (deltas, Err(err));
            }
        }
        (deltas, asm.finish())
    }

    /// Property: wherever the arguments text is cut into fragments, and
    /// wherever the SSE bytes are cut into reads, the same (language, code)
    /// comes out. Deterministic pseudo-random cases (no proptest dependency).
    #[test]
    fn random_splits_always_reassemble() {
        use crate::sse::SseParser;
        let code = "print(\"a\\tb\")\nx = 'é🦀\\\\'\r\n\u{7}end \"q\"";
        let args = json!({"language": "python", "code": code}).to_string();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..300 {
            // Cut the arguments at random character boundaries.
            let mut cuts: Vec<usize> = (0..rand(12))
                .map(|_| rand(args.len()))
                .filter(|&c| args.is_char_boundary(c))
                .collect();
            cuts.sort_unstable();
            cuts.dedup();
            let mut sse = String::from(
                "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"execute\"}}]}}]}\n\n",
            );
            let mut start = 0;
            for end in cuts.into_iter().chain([args.len()]) {
                let frag = &args[start..end];
                start = end;
                let ev = json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                    {"index": 0, "function": {"arguments": frag}}]}}]});
                sse.push_str(&format!("data: {ev}\r\n\r\n"));
            }
            sse.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n");
            // Cut the bytes at random places, characters included.
            let bytes = sse.as_bytes();
            let mut reads: Vec<usize> = (0..rand(20)).map(|_| rand(bytes.len())).collect();
            reads.sort_unstable();
            let mut parser = SseParser::default();
            let mut asm = Assembler::default();
            let mut events = Vec::new();
            let mut from = 0;
            for to in reads.into_iter().chain([bytes.len()]) {
                parser.feed(&bytes[from..to], &mut events).unwrap();
                from = to;
            }
            parser.finish(&mut events).unwrap();
            for ev in events {
                asm.on_event(ev.event.as_deref(), &ev.data, &mut |_| {})
                    .unwrap();
            }
            let r = asm.finish().unwrap();
            assert_eq!(r.tool_calls[0].arguments, args);
            assert_eq!(
                crate::parse_execute_arguments(&r.tool_calls[0].arguments).unwrap(),
                ("python".to_string(), code.to_string())
            );
        }
    }

    #[test]
    fn tool_calls_without_index_are_told_apart_by_id() {
        let (deltas, r) = run(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"execute","arguments":"{\"x\""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":":1}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"execute","arguments":{"y":2}}}]}}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
        ]);
        let r = r.unwrap();
        assert_eq!(r.tool_calls.len(), 2);
        assert_eq!(r.tool_calls[0].arguments, "{\"x\":1}");
        assert_eq!(r.tool_calls[1].id, "b");
        assert_eq!(r.tool_calls[1].arguments, "{\"y\":2}");
        assert_eq!(
            deltas
                .iter()
                .filter(|d| matches!(d, StreamDelta::ToolCallStarted { .. }))
                .count(),
            2
        );
    }

    #[test]
    fn missing_name_defaults_to_execute_and_content_parts_are_joined() {
        let (_, r) = run(&[
            r#"{"choices":[{"delta":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}"#,
            "[DONE]",
        ]);
        let r = r.unwrap();
        assert_eq!(r.text, "ab");
        assert_eq!(r.tool_calls[0].name, "execute");
        assert_eq!(r.tool_calls[0].id, "call_0");
    }

    #[test]
    fn error_event_and_glued_lines() {
        let mut asm = Assembler::default();
        let mut emit = |_| {};
        let e = asm
            .on_event(Some("error"), r#"{"message":"overloaded"}"#, &mut emit)
            .unwrap_err();
        assert!(matches!(e, LlmError::Api { ref message, .. } if message == "overloaded"));
        let mut asm = Assembler::default();
        asm.on_event(
            None,
            "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n{\"choices\":[{\"delta\":{\"content\":\"y\"},\"finish_reason\":\"stop\"}]}",
            &mut emit,
        )
        .unwrap();
        assert_eq!(asm.finish().unwrap().text, "xy");
    }

    #[test]
    fn http_error_messages_are_found() {
        assert_eq!(
            error_body_message(r#"{"error":{"message":"m1","type":"x"}}"#).as_deref(),
            Some("m1")
        );
        assert_eq!(
            error_body_message(r#"{"error":"m2"}"#).as_deref(),
            Some("m2")
        );
        assert_eq!(
            error_body_message(r#"{"detail":"m3"}"#).as_deref(),
            Some("m3")
        );
        assert_eq!(
            error_body_message(r#"[{"error":{"message":"m4"}}]"#).as_deref(),
            Some("m4")
        );
        assert_eq!(error_body_message("<html>"), None);
    }
}

//! The Anthropic Messages adapter (`POST {api_base}/messages`).
//!
//! Mapping from interlock's provider-neutral [`Message`]s:
//! * `System` messages become the top-level `system` string (joined by blank
//!   lines when there are several);
//! * `User` → a `user` message with a text block;
//! * `Assistant` → an `assistant` message with a text block (if any text) and
//!   one `tool_use` block per tool call, its `input` the parsed arguments (an
//!   object; arguments that are not a JSON object are sent as
//!   `{"invalid_arguments": "<verbatim>"}` so the history stays valid and the
//!   model still sees what it sent);
//! * `Tool` → a `user` message with a `tool_result` block;
//! * consecutive messages of the same role are merged into one (Anthropic
//!   requires alternation), blank text blocks are dropped.
//!
//! Streams: `message_start` (input usage), `content_block_start` (text or
//! `tool_use`), `content_block_delta` (`text_delta`, `input_json_delta`),
//! `message_delta` (stop reason, output usage), `message_stop`, `ping` and
//! `error` events. Tool calls are numbered from 0 in the order their blocks
//! start; their arguments are the concatenated `partial_json`. Stop reasons
//! are reported in OpenAI's vocabulary (`end_turn` → `stop`, `tool_use` →
//! `tool_calls`, `max_tokens` → `length`). `seed` is not sent (the API has
//! none); `max_tokens` is required by the API and defaults to 4096.

use crate::error::{LlmError, STREAM_ENDED_EARLY};
use crate::retry::{self, Attempt, RetryPolicy};
use crate::transport::{Failure, MAX_BODY, SseSink, Stage, Transport, is_json};
use crate::wire::{bad_chunk, error_body_message};
use crate::{ChatRequest, ChatResponse, ClientConfig, StreamDelta, execute_tool_schema};
use interlock_protocol::{EXECUTE_TOOL, Message, ToolCall, Usage};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use tokio_util::sync::CancellationToken;

/// The `anthropic-version` header sent with every request.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// `max_tokens` when the configuration sets none (the API requires one).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// A client for the Anthropic Messages API (or a server imitating it).
pub struct AnthropicClient {
    t: Transport,
    messages_url: String,
    models_url: String,
    /// `x-api-key`, marked sensitive.
    key: Option<HeaderValue>,
    retry: RetryPolicy,
}

impl fmt::Debug for AnthropicClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicClient")
            .field("endpoint", &self.t.endpoint)
            .field("model", &self.t.cfg.model)
            .field("authenticated", &self.key.is_some())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl AnthropicClient {
    /// Validates the configuration. `api_base` is e.g.
    /// `https://api.anthropic.com/v1` (a bare host gets `/v1` appended; a
    /// full `.../messages` URL is accepted). The key (the caller reads
    /// `ANTHROPIC_API_KEY`) is sent as `x-api-key`. One attempt per `chat`
    /// until [`AnthropicClient::with_retry_policy`].
    pub fn new(mut cfg: ClientConfig) -> Result<Self, LlmError> {
        if let Ok(url) = reqwest::Url::parse(cfg.api_base.trim())
            && matches!(url.path(), "" | "/")
        {
            cfg.api_base = format!("{}/v1", cfg.api_base.trim().trim_end_matches('/'));
        }
        let t = Transport::new(cfg, &["/messages", "/models"])?;
        let key = t.key_header("")?;
        Ok(AnthropicClient {
            messages_url: format!("{}/messages", t.base),
            models_url: format!("{}/models", t.base),
            key,
            t,
            retry: RetryPolicy::none(),
        })
    }

    /// Sets how failed requests are retried by [`AnthropicClient::chat`].
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    pub fn config(&self) -> &ClientConfig {
        &self.t.cfg
    }

    /// Names another model in the requests that follow (same server, key and
    /// timeouts).
    pub fn set_model(&mut self, model: &str) {
        self.t.cfg.model = model.to_string();
    }

    /// The JSON body `chat` would send for this request.
    pub fn request_body(&self, req: &ChatRequest<'_>) -> Value {
        request_body(&self.t.cfg, req)
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(k) = &self.key {
            h.insert(HeaderName::from_static("x-api-key"), k.clone());
        }
        h.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
        h
    }

    /// Same contract as [`crate::OpenAiClient::chat`]: retries per the
    /// policy, deltas as they arrive, [`StreamDelta::Retrying`] before each
    /// retry, [`LlmError::Interrupted`] for a cut after visible output.
    pub async fn chat(
        &self,
        req: &ChatRequest<'_>,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<ChatResponse, LlmError> {
        retry::run(self, &self.retry, req, cancel, on_delta).await
    }

    /// Exactly one attempt, whatever the retry policy.
    pub async fn chat_once(
        &self,
        req: &ChatRequest<'_>,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<ChatResponse, LlmError> {
        self.attempt(req, cancel, on_delta)
            .await
            .map_err(|f| f.error)
    }

    /// The model ids the endpoint lists (`GET {api_base}/models`).
    pub async fn list_models(&self) -> Result<Vec<String>, LlmError> {
        self.t
            .list_models(&self.models_url, self.headers(), error_body_message)
            .await
    }

    async fn attempt_inner(
        &self,
        req: &ChatRequest<'_>,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<ChatResponse, Failure> {
        let t = &self.t;
        let body = self.request_body(req);
        let mut builder = t
            .http
            .post(&self.messages_url)
            .headers(self.headers())
            .json(&body);
        if req.stream {
            builder = builder.header(reqwest::header::ACCEPT, "text/event-stream");
            let idle = t.cfg.idle_timeout;
            let resp = t
                .guard(cancel, idle, "waiting for the response", builder.send())
                .await?
                .map_err(|e| t.transport_error(e, Stage::Headers))?;
            let resp = t
                .check_status(resp, cancel, idle, error_body_message)
                .await?;
            if is_json(&resp) {
                let text = t.read_limited(resp, cancel, idle, MAX_BODY).await?;
                return Ok(parse_message(&text, on_delta).map_err(|e| t.scrub_error(e))?);
            }
            Ok(
                t.read_sse(resp, cancel, StreamAssembler::default(), on_delta)
                    .await?,
            )
        } else {
            let timeout = t.cfg.request_timeout;
            let work = async {
                let resp = builder
                    .send()
                    .await
                    .map_err(|e| t.transport_error(e, Stage::Headers))?;
                let resp = t
                    .check_status(resp, cancel, timeout, error_body_message)
                    .await?;
                let text = t.read_limited(resp, cancel, timeout, MAX_BODY).await?;
                Ok(parse_message(&text, on_delta).map_err(|e| t.scrub_error(e))?)
            };
            t.guard(cancel, timeout, "waiting for the response", work)
                .await?
        }
    }
}

impl Attempt for AnthropicClient {
    async fn attempt(
        &self,
        req: &ChatRequest<'_>,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<ChatResponse, Failure> {
        self.attempt_inner(req, cancel, on_delta).await
    }
}

/// The `execute` tool in Anthropic's form (`name`, `description`,
/// `input_schema`).
pub fn anthropic_tool_schema() -> Value {
    let f = &execute_tool_schema()["function"];
    json!({
        "name": f["name"],
        "description": f["description"],
        "input_schema": f["parameters"],
    })
}

/// The JSON body of a Messages request.
pub(crate) fn request_body(cfg: &ClientConfig, req: &ChatRequest<'_>) -> Value {
    let mut system: Vec<&str> = Vec::new();
    let mut messages: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut push = |role: &'static str, blocks: Vec<Value>| {
        if blocks.is_empty() {
            return;
        }
        match messages.last_mut() {
            Some((r, existing)) if *r == role => existing.extend(blocks),
            _ => messages.push((role, blocks)),
        }
    };
    let text_block = |t: &str| -> Option<Value> {
        (!t.trim().is_empty()).then(|| json!({"type": "text", "text": t}))
    };
    for m in req.messages {
        match m {
            Message::System { content } => {
                if !content.trim().is_empty() {
                    system.push(content);
                }
            }
            Message::User { content } => push("user", text_block(content).into_iter().collect()),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut blocks: Vec<Value> = text_block(content).into_iter().collect();
                for c in tool_calls {
                    blocks.push(json!({
                        "type": "tool_use",
                        "id": c.id,
                        "name": c.name,
                        "input": tool_input(&c.arguments),
                    }));
                }
                push("assistant", blocks);
            }
            Message::Tool {
                tool_call_id,
                content,
            } => {
                let content = if content.is_empty() {
                    "(no output)"
                } else {
                    content
                };
                push(
                    "user",
                    vec![
                        json!({"type": "tool_result", "tool_use_id": tool_call_id, "content": content}),
                    ],
                );
            }
        }
    }
    let messages: Vec<Value> = messages
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    let mut body = json!({
        "model": cfg.model,
        "max_tokens": cfg.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "messages": messages,
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    if req.offer_tools {
        body["tools"] = json!([anthropic_tool_schema()]);
    }
    if req.stream {
        body["stream"] = json!(true);
    }
    if let Some(t) = cfg.temperature {
        let t: f64 = t.to_string().parse().unwrap_or(t as f64);
        body["temperature"] = json!(t);
    }
    body
}

/// A tool call's arguments as a `tool_use` input object.
fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ if arguments.trim().is_empty() => json!({}),
        _ => match crate::parse_execute_arguments(arguments) {
            Ok((language, code)) => json!({"language": language, "code": code}),
            Err(_) => json!({"invalid_arguments": arguments}),
        },
    }
}

fn finish_reason(stop_reason: &str) -> String {
    match stop_reason {
        "end_turn" | "stop_sequence" => "stop",
        "tool_use" => "tool_calls",
        "max_tokens" => "length",
        other => other,
    }
    .to_string()
}

/// An Anthropic `error` object as [`LlmError::Api`] (code = the error type).
fn api_error(v: &Value) -> LlmError {
    let err = v.get("error").unwrap_or(v);
    LlmError::Api {
        message: err
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| err.to_string()),
        code: err.get("type").and_then(Value::as_str).map(str::to_string),
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Tokens {
    input: u64,
    output: u64,
    seen: bool,
}

impl Tokens {
    /// Reads a `usage` object; absent fields keep their value.
    fn update(&mut self, u: &Value) {
        if !u.is_object() {
            return;
        }
        self.seen = true;
        let n = |k: &str| u.get(k).and_then(Value::as_u64);
        let input = [
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ]
        .iter()
        .filter_map(|k| n(k))
        .reduce(|a, b| a + b);
        if let Some(i) = input {
            self.input = i;
        }
        if let Some(o) = n("output_tokens") {
            self.output = o;
        }
    }
    fn usage(&self) -> Option<Usage> {
        self.seen.then_some(Usage {
            prompt_tokens: self.input,
            completion_tokens: self.output,
        })
    }
}

#[derive(Debug)]
enum Block {
    Text,
    Tool(usize),
    Other,
}

#[derive(Debug, Default)]
struct PartialUse {
    id: String,
    name: String,
    json: String,
    start_input: Option<Value>,
}

/// Accumulates a streamed Messages response.
#[derive(Debug, Default)]
pub(crate) struct StreamAssembler {
    text: String,
    blocks: BTreeMap<u64, Block>,
    calls: Vec<PartialUse>,
    stop_reason: Option<String>,
    tokens: Tokens,
    done: bool,
}

impl StreamAssembler {
    fn start_tool(
        &mut self,
        index: u64,
        id: &str,
        name: &str,
        input: Option<&Value>,
        emit: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> usize {
        let ordinal = self.calls.len();
        self.calls.push(PartialUse {
            id: id.to_string(),
            name: name.to_string(),
            json: String::new(),
            start_input: input
                .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
                .cloned(),
        });
        self.blocks.insert(index, Block::Tool(ordinal));
        emit(StreamDelta::ToolCallStarted {
            index: ordinal,
            id: id.to_string(),
            name: name.to_string(),
        });
        ordinal
    }

    fn text(&mut self, t: &str, emit: &mut (dyn FnMut(StreamDelta) + Send)) {
        if !t.is_empty() {
            self.text.push_str(t);
            emit(StreamDelta::Text(t.to_string()));
        }
    }
}

impl SseSink for StreamAssembler {
    fn on_event(
        &mut self,
        event: Option<&str>,
        data: &str,
        emit: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<(), LlmError> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(());
        }
        let v: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(e) if event == Some("error") => {
                let _ = e;
                return Err(LlmError::Api {
                    message: data.to_string(),
                    code: None,
                });
            }
            Err(e) => return Err(bad_chunk(&e, data)),
        };
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .or(event)
            .unwrap_or("");
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        match kind {
            "message_start" => {
                if let Some(u) = v.get("message").and_then(|m| m.get("usage")) {
                    self.tokens.update(u);
                }
            }
            "content_block_start" => {
                let cb = v.get("content_block").cloned().unwrap_or(Value::Null);
                match cb.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        self.blocks.insert(index, Block::Text);
                        let t = cb.get("text").and_then(Value::as_str).unwrap_or("");
                        self.text(t, emit);
                    }
                    Some("tool_use") => {
                        let s = |k: &str| cb.get(k).and_then(Value::as_str).unwrap_or("");
                        self.start_tool(index, s("id"), s("name"), cb.get("input"), emit);
                    }
                    _ => {
                        self.blocks.insert(index, Block::Other);
                    }
                }
            }
            "content_block_delta" => {
                let delta = v.get("delta").cloned().unwrap_or(Value::Null);
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        let t = delta.get("text").and_then(Value::as_str).unwrap_or("");
                        self.text(t, emit);
                    }
                    Some("input_json_delta") => {
                        let frag = delta
                            .get("partial_json")
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        let ordinal = match self.blocks.get(&index) {
                            Some(Block::Tool(o)) => *o,
                            // A delta without its block start: a tool of unknown id.
                            _ => self.start_tool(index, "", "", None, emit),
                        };
                        if !frag.is_empty() {
                            self.calls[ordinal].json.push_str(frag);
                            emit(StreamDelta::ToolCallArguments {
                                index: ordinal,
                                fragment: frag.to_string(),
                            });
                        }
                    }
                    _ => {} // thinking, signatures, citations: not shown
                }
            }
            "message_delta" => {
                if let Some(r) = v
                    .get("delta")
                    .and_then(|d| d.get("stop_reason"))
                    .and_then(Value::as_str)
                {
                    self.stop_reason = Some(r.to_string());
                }
                if let Some(u) = v.get("usage") {
                    self.tokens.update(u);
                }
            }
            "message_stop" => self.done = true,
            "error" => return Err(api_error(&v)),
            _ => {} // ping, content_block_stop, future event types
        }
        Ok(())
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn has_finished(&self) -> bool {
        self.done || self.stop_reason.is_some()
    }

    fn finish(self) -> Result<ChatResponse, LlmError> {
        if !self.has_finished() {
            return Err(LlmError::Protocol(STREAM_ENDED_EARLY.into()));
        }
        let tool_calls = self
            .calls
            .into_iter()
            .enumerate()
            .map(|(i, c)| ToolCall {
                id: if c.id.is_empty() {
                    format!("toolu_{i}")
                } else {
                    c.id
                },
                name: if c.name.is_empty() {
                    EXECUTE_TOOL.to_string()
                } else {
                    c.name
                },
                arguments: if !c.json.is_empty() {
                    c.json
                } else {
                    c.start_input
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "{}".into())
                },
            })
            .collect();
        Ok(ChatResponse {
            text: self.text,
            tool_calls,
            finish_reason: self.stop_reason.as_deref().map(finish_reason),
            usage: self.tokens.usage(),
        })
    }
}

/// Parses a whole (non-streaming) `message`; emits its content as deltas.
fn parse_message(
    body: &str,
    emit: &mut (dyn FnMut(StreamDelta) + Send),
) -> Result<ChatResponse, LlmError> {
    let v: Value = serde_json::from_str(body).map_err(|e| bad_chunk(&e, body.trim()))?;
    if v.get("type").and_then(Value::as_str) == Some("error") {
        return Err(api_error(&v));
    }
    let content = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| LlmError::Protocol("the response has no content (and no error)".into()))?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in content {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                let t = block.get("text").and_then(Value::as_str).unwrap_or("");
                if !t.is_empty() {
                    text.push_str(t);
                    emit(StreamDelta::Text(t.to_string()));
                }
            }
            Some("tool_use") => {
                let s = |k: &str| block.get(k).and_then(Value::as_str).unwrap_or("");
                let index = tool_calls.len();
                let call = ToolCall {
                    id: if s("id").is_empty() {
                        format!("toolu_{index}")
                    } else {
                        s("id").to_string()
                    },
                    name: if s("name").is_empty() {
                        EXECUTE_TOOL.to_string()
                    } else {
                        s("name").to_string()
                    },
                    arguments: block
                        .get("input")
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "{}".into()),
                };
                emit(StreamDelta::ToolCallStarted {
                    index,
                    id: call.id.clone(),
                    name: call.name.clone(),
                });
                emit(StreamDelta::ToolCallArguments {
                    index,
                    fragment: call.arguments.clone(),
                });
                tool_calls.push(call);
            }
            _ => {}
        }
    }
    let mut tokens = Tokens::default();
    if let Some(u) = v.get("usage") {
        tokens.update(u);
    }
    Ok(ChatResponse {
        text,
        tool_calls,
        finish_reason: v
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(finish_reason),
        usage: tokens.usage(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ClientConfig {
        ClientConfig::new("https://api.anthropic.com/v1", "claude-test")
    }

    fn body(messages: &[Message], tools: bool) -> Value {
        request_body(
            &cfg(),
            &ChatRequest {
                messages,
                offer_tools: tools,
                stream: true,
            },
        )
    }

    #[test]
    fn system_goes_top_level_and_roles_alternate() {
        let call = ToolCall {
            id: "toolu_1".into(),
            name: "execute".into(),
            arguments: r#"{"language":"python","code":"print(1)"}"#.into(),
        };
        let msgs = vec![
            Message::System {
                content: "Be brief.".into(),
            },
            Message::User {
                content: "first".into(),
            },
            Message::User {
                content: "second".into(),
            },
            Message::Assistant {
                content: "Running it.".into(),
                tool_calls: vec![call],
            },
            Message::Tool {
                tool_call_id: "toolu_1".into(),
                content: "1\n".into(),
            },
            Message::User {
                content: "and now?".into(),
            },
        ];
        let b = body(&msgs, true);
        assert_eq!(b["system"], "Be brief.");
        assert_eq!(b["max_tokens"], DEFAULT_MAX_TOKENS);
        assert_eq!(b["stream"], true);
        assert_eq!(b["tools"][0]["name"], "execute");
        assert_eq!(
            b["tools"][0]["input_schema"]["required"],
            json!(["language", "code"])
        );
        let m = b["messages"].as_array().unwrap();
        let roles: Vec<&str> = m.iter().map(|m| m["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["user", "assistant", "user"]);
        assert_eq!(m[0]["content"].as_array().unwrap().len(), 2);
        assert_eq!(m[1]["content"][1]["type"], "tool_use");
        assert_eq!(
            m[1]["content"][1]["input"],
            json!({"language": "python", "code": "print(1)"})
        );
        assert_eq!(m[2]["content"][0]["type"], "tool_result");
        assert_eq!(m[2]["content"][0]["tool_use_id"], "toolu_1");
        assert_eq!(
            m[2]["content"][1],
            json!({"type": "text", "text": "and now?"})
        );
        assert!(b.get("seed").is_none());
    }

    #[test]
    fn invalid_arguments_stay_an_object() {
        assert_eq!(tool_input("{\"la"), json!({"invalid_arguments": "{\"la"}));
        assert_eq!(tool_input(""), json!({}));
        assert_eq!(
            tool_input("{\"language\":\"python\",\"code\":\"a\nb\"}"),
            json!({"language": "python", "code": "a\nb"})
        );
    }

    #[test]
    fn bare_host_gets_v1() {
        let c = AnthropicClient::new(ClientConfig::new("https://api.anthropic.com", "m")).unwrap();
        assert_eq!(c.messages_url, "https://api.anthropic.com/v1/messages");
        let c =
            AnthropicClient::new(ClientConfig::new("http://127.0.0.1:9/v1/messages", "m")).unwrap();
        assert_eq!(c.messages_url, "http://127.0.0.1:9/v1/messages");
        assert_eq!(c.models_url, "http://127.0.0.1:9/v1/models");
    }

    #[test]
    fn stream_without_stop_ended_early() {
        let mut a = StreamAssembler::default();
        a.on_event(
            None,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}"#,
            &mut |_| {},
        )
        .unwrap();
        let e = a.finish().unwrap_err();
        assert!(e.is_retryable(), "{e}");
    }
}

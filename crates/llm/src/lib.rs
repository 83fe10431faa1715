//! Provider adapters: OpenAI-compatible chat completions and Anthropic Messages.
//!
//! This crate owns everything between interlock's provider-neutral
//! [`Message`]s and a model server speaking the OpenAI chat-completions API
//! (OpenAI itself, and Ollama, LM Studio, llama.cpp, vLLM, ... which copy it)
//! or the Anthropic Messages API ([`AnthropicClient`]; [`Client`] holds
//! either, [`infer_provider`] picks one):
//!
//! * the request body (messages in OpenAI form, the single `execute` tool,
//!   sampling options) — see [`OpenAiClient::request_body`];
//! * HTTP over reqwest with rustls (ring provider), connect / request / idle
//!   timeouts and cancellation;
//! * Server-Sent-Events parsing and the assembly of streamed text and
//!   tool-call fragments into one [`ChatResponse`];
//! * turning provider failures into an [`LlmError`] that is safe to show: the
//!   API key is never part of a message, a `Debug` output or a log line.
//!
//! It does not decide anything about the conversation (that is `core`).
//!
//! ## Retries and partial answers
//! `chat` runs attempts under a [`RetryPolicy`] (module `retry` explains what
//! is retried and how long it waits; the adapters' own constructors default
//! to a single attempt for compatibility, [`Client::new`] to
//! [`RetryPolicy::default`]: 4 attempts within 90 s). Each retry is announced
//! to the caller as [`StreamDelta::Retrying`] before the wait. A retry only
//! happens while nothing has been delivered; a response cut off after some of
//! it was delivered ends as [`LlmError::Interrupted`], an `Err` that carries
//! the partial [`ChatResponse`], so a caller that treats every `Err` as a
//! failed turn stays correct, and one that wants to keep the partial text can.
//!
//! The SSE parser is a small hand-written one rather than `eventsource-stream`:
//! it splits lines on bytes and decodes UTF-8 only for complete lines (so a
//! multi-byte character cut across network reads is never an issue), accepts
//! CR, LF and CRLF, tolerates a final event without its blank line, and lets
//! the read loop own the idle timeout and cancellation directly.

mod anthropic;
mod args;
mod client;
mod context;
mod error;
mod local;
mod provider;
mod retry;
mod sse;
mod transport;
mod wire;

pub use anthropic::{
    ANTHROPIC_VERSION, AnthropicClient, DEFAULT_MAX_TOKENS, anthropic_tool_schema,
};
pub use args::{ArgumentsError, parse_execute_arguments, parse_json_lenient};
pub use client::OpenAiClient;
pub use context::{
    Trimmed, cost_usd, estimate_tokens, estimate_total, price_per_million, trim_to_window,
};
pub use error::LlmError;
pub use local::{DEFAULT_LOCAL_PORTS, LocalServer, discover_local, no_local_server_message};
pub use provider::{Client, Provider, infer_provider};
pub use retry::RetryPolicy;

use interlock_protocol::{Language, Message, ToolCall, Usage};
use secrecy::SecretString;
use std::fmt;
use std::time::Duration;

/// How to reach a provider and which model to ask.
#[derive(Clone)]
pub struct ClientConfig {
    /// Base URL up to and including the version, e.g. `https://api.openai.com/v1`
    /// or `http://localhost:11434/v1`.
    pub api_base: String,
    /// Sent as `Authorization: Bearer ...` when set.
    pub api_key: Option<SecretString>,
    pub model: String,
    /// Maximum time to establish the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Maximum time for a whole non-streaming request (and for `list_models`).
    pub request_timeout: Duration,
    /// Maximum silence while streaming: before the response headers arrive and
    /// between any two reads of the body.
    pub idle_timeout: Duration,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub seed: Option<u64>,
}

impl ClientConfig {
    /// A configuration with no key and default timeouts (connect 10 s,
    /// request 300 s, idle 120 s).
    pub fn new(api_base: impl Into<String>, model: impl Into<String>) -> Self {
        ClientConfig {
            api_base: api_base.into(),
            api_key: None,
            model: model.into(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(120),
            temperature: None,
            max_tokens: None,
            seed: None,
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("api_base", &self.api_base)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("model", &self.model)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("temperature", &self.temperature)
            .field("max_tokens", &self.max_tokens)
            .field("seed", &self.seed)
            .finish()
    }
}

/// One chat request.
#[derive(Debug, Clone, Copy)]
pub struct ChatRequest<'a> {
    pub messages: &'a [Message],
    /// Offer the `execute` tool to the model.
    pub offer_tools: bool,
    /// Ask for a streamed (SSE) response.
    pub stream: bool,
}

/// A piece of a streamed response, delivered as it arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamDelta {
    /// More assistant text.
    Text(String),
    /// The model started a tool call (sent once per call, before its arguments).
    ToolCallStarted {
        index: usize,
        id: String,
        name: String,
    },
    /// More of a tool call's JSON arguments text; fragments may split anything.
    ToolCallArguments { index: usize, fragment: String },
    /// The last attempt failed before anything was delivered; attempt number
    /// `attempt` (2 for the first retry) of at most `max_attempts` starts
    /// after `delay`. `reason` is the failure, safe to show (no key, no
    /// headers). Show it to the user; it is not part of the answer.
    Retrying {
        attempt: u32,
        max_attempts: u32,
        delay: Duration,
        reason: String,
    },
}

/// A complete response, streamed or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatResponse {
    /// The assistant text (possibly empty when the model only called tools).
    pub text: String,
    /// Tool calls in index order, arguments verbatim.
    pub tool_calls: Vec<ToolCall>,
    /// `stop`, `tool_calls`, `length`, ... as reported.
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
}

/// The `execute` tool as an entry of the request's `tools` array:
/// `{"type": "function", "function": {"name": "execute", "parameters": {...}}}`
/// with required string parameters `language` (python / shell / javascript)
/// and `code`.
pub fn execute_tool_schema() -> serde_json::Value {
    let languages: Vec<&str> = Language::ALL.iter().map(|l| l.as_str()).collect();
    serde_json::json!({
        "type": "function",
        "function": {
            "name": interlock_protocol::EXECUTE_TOOL,
            "description": format!(
                "Run code on the user's machine in a persistent session (variables, imports and the \
                 working directory are kept between calls) and return its output. The user may \
                 review and approve each call before it runs. Languages: {}.",
                languages.join(", ")
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "language": {
                        "type": "string",
                        "enum": languages,
                        "description": "The language of the code: python, shell (bash) or javascript (Node.js)."
                    },
                    "code": {
                        "type": "string",
                        "description": "The code to run."
                    }
                },
                "required": ["language", "code"],
                "additionalProperties": false
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_hides_the_key() {
        let mut cfg = ClientConfig::new("http://localhost/v1", "m");
        cfg.api_key = Some(SecretString::from("sk-very-secret-1234"));
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("sk-very-secret"), "{dbg}");
        assert!(dbg.contains("[REDACTED]"));
    }

    #[test]
    fn schema_names_the_execute_tool() {
        let s = execute_tool_schema();
        assert_eq!(s["type"], "function");
        assert_eq!(s["function"]["name"], "execute");
        let req = &s["function"]["parameters"]["required"];
        assert_eq!(req, &serde_json::json!(["language", "code"]));
        assert_eq!(
            s["function"]["parameters"]["properties"]["code"]["type"],
            "string"
        );
        let desc = s["function"]["description"].as_str().unwrap();
        for l in ["python", "shell", "javascript"] {
            assert!(desc.contains(l));
        }
    }
}

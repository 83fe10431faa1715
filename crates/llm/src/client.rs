//! The OpenAI-compatible adapter: one attempt per [`OpenAiClient::chat_once`],
//! wrapped in the retry loop by [`OpenAiClient::chat`].

use crate::error::LlmError;
use crate::retry::{self, Attempt, RetryPolicy};
use crate::sse::SseParser;
use crate::transport::{Failure, MAX_BODY, Stage, Transport, is_json};
use crate::wire::{Assembler, error_body_message, request_body};
use crate::{ChatRequest, ChatResponse, ClientConfig, StreamDelta};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use std::fmt;
use tokio_util::sync::CancellationToken;

/// A client for one OpenAI-compatible endpoint and model. Cheap to share by
/// reference; holds a connection pool.
pub struct OpenAiClient {
    t: Transport,
    chat_url: String,
    models_url: String,
    /// The prepared `Authorization` value, marked sensitive.
    auth: Option<HeaderValue>,
    retry: RetryPolicy,
}

impl fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("endpoint", &self.t.endpoint)
            .field("model", &self.t.cfg.model)
            .field("authenticated", &self.auth.is_some())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl OpenAiClient {
    /// Validates the configuration and builds the HTTP client (rustls with the
    /// ring provider, installed process-wide if no provider is yet).
    ///
    /// The client makes **one attempt** per `chat` (as it always did) until a
    /// retry policy is set with [`OpenAiClient::with_retry_policy`];
    /// [`crate::Client::new`] sets [`RetryPolicy::default`].
    pub fn new(cfg: ClientConfig) -> Result<Self, LlmError> {
        let t = Transport::new(cfg, &["/chat/completions", "/models"])?;
        let auth = t.key_header("Bearer ")?;
        Ok(OpenAiClient {
            chat_url: format!("{}/chat/completions", t.base),
            models_url: format!("{}/models", t.base),
            auth,
            t,
            retry: RetryPolicy::none(),
        })
    }

    /// Sets how failed requests are retried by [`OpenAiClient::chat`].
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
    pub fn request_body(&self, req: &ChatRequest<'_>) -> serde_json::Value {
        request_body(&self.t.cfg, req)
    }

    /// Sends the request, retrying as the client's [`RetryPolicy`] allows
    /// (see the crate docs for what is retried). With `stream: true`, calls
    /// `on_delta` for every delta as it arrives, and before each retry with
    /// [`StreamDelta::Retrying`]; either way returns the assembled response.
    ///
    /// Streaming waits at most `idle_timeout` for the response headers and
    /// between reads; non-streaming waits at most `request_timeout` in all.
    /// Cancelling the token ends the call promptly with [`LlmError::Cancelled`],
    /// also during a wait between attempts.
    /// A server that ignores `stream: true` and answers with plain JSON is
    /// accepted (its content is delivered as deltas in one go).
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

    async fn attempt_inner(
        &self,
        req: &ChatRequest<'_>,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<ChatResponse, Failure> {
        let t = &self.t;
        let body = self.request_body(req);
        let mut builder = t.http.post(&self.chat_url).json(&body);
        if let Some(auth) = &self.auth {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
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
                return Ok(self.parse_completion(&text, on_delta)?);
            }
            Ok(self.read_stream(resp, cancel, on_delta).await?)
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
                if text.trim_start().starts_with("data:") {
                    // A server that streams although we did not ask.
                    let mut asm = Assembler::default();
                    let mut parser = SseParser::default();
                    let mut events = Vec::new();
                    parser
                        .feed(text.as_bytes(), &mut events)
                        .and_then(|_| parser.finish(&mut events))
                        .map_err(LlmError::Protocol)?;
                    for ev in events {
                        asm.on_event(ev.event.as_deref(), &ev.data, on_delta)
                            .map_err(|e| t.scrub_error(e))?;
                    }
                    return Ok(asm.finish()?);
                }
                Ok(self.parse_completion(&text, on_delta)?)
            };
            t.guard(cancel, timeout, "waiting for the response", work)
                .await?
        }
    }

    /// The model ids the endpoint lists (`GET {api_base}/models`).
    pub async fn list_models(&self) -> Result<Vec<String>, LlmError> {
        let mut headers = HeaderMap::new();
        if let Some(auth) = &self.auth {
            headers.insert(AUTHORIZATION, auth.clone());
        }
        self.t
            .list_models(&self.models_url, headers, error_body_message)
            .await
    }

    fn parse_completion(
        &self,
        text: &str,
        on_delta: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let mut asm = Assembler::default();
        asm.on_completion(text, on_delta)
            .map_err(|e| self.t.scrub_error(e))?;
        asm.finish()
    }

    async fn read_stream(
        &self,
        resp: reqwest::Response,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<ChatResponse, LlmError> {
        self.t
            .read_sse(resp, cancel, Assembler::default(), on_delta)
            .await
    }
}

impl Attempt for OpenAiClient {
    async fn attempt(
        &self,
        req: &ChatRequest<'_>,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<ChatResponse, Failure> {
        self.attempt_inner(req, cancel, on_delta).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn debug_never_shows_the_key() {
        let mut cfg = ClientConfig::new("https://api.example.com/v1/", "m");
        cfg.api_key = Some(SecretString::from("sk-live-0123456789"));
        let c = OpenAiClient::new(cfg).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("sk-live"), "{dbg}");
        assert_eq!(c.chat_url, "https://api.example.com/v1/chat/completions");
        assert_eq!(c.t.endpoint, "https://api.example.com");
    }

    #[test]
    fn bad_configuration_is_refused() {
        let e = OpenAiClient::new(ClientConfig::new("ftp://x/v1", "m")).unwrap_err();
        assert!(matches!(e, LlmError::Config(_)), "{e}");
        let e = OpenAiClient::new(ClientConfig::new("not a url", "m")).unwrap_err();
        assert!(matches!(e, LlmError::Config(_)), "{e}");
        let mut cfg = ClientConfig::new("http://h/v1", "m");
        cfg.api_key = Some(SecretString::from("sk-bad\nkey-secret"));
        let e = OpenAiClient::new(cfg).unwrap_err();
        assert!(!e.to_string().contains("key-secret"), "{e}");
        let e = OpenAiClient::new(ClientConfig::new("http://u:p@h/v1", "m")).unwrap_err();
        assert!(matches!(e, LlmError::Config(_)), "{e}");
    }

    #[test]
    fn full_endpoint_urls_are_accepted_as_base() {
        let c = OpenAiClient::new(ClientConfig::new(
            "http://localhost:11434/v1/chat/completions",
            "m",
        ))
        .unwrap();
        assert_eq!(c.chat_url, "http://localhost:11434/v1/chat/completions");
        assert_eq!(c.models_url, "http://localhost:11434/v1/models");
        assert_eq!(c.t.endpoint, "http://localhost:11434");
    }
}

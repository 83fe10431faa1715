//! The HTTP client: one attempt per call, timeouts, cancellation, and safe
//! error messages.

use crate::error::{LlmError, scrub};
use crate::sse::SseParser;
use crate::wire::{Assembler, error_body_message, request_body};
use crate::{ChatRequest, ChatResponse, ClientConfig, StreamDelta};
use futures_util::StreamExt;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::ExposeSecret;
use std::fmt;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Most bytes of an error body that are read.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Most bytes of a non-streaming response body.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// A client for one OpenAI-compatible endpoint and model. Cheap to share by
/// reference; holds a connection pool.
pub struct OpenAiClient {
    http: reqwest::Client,
    cfg: ClientConfig,
    chat_url: String,
    models_url: String,
    /// `scheme://host[:port]`, what errors name.
    endpoint: String,
    /// The prepared `Authorization` value, marked sensitive.
    auth: Option<HeaderValue>,
}

impl fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("endpoint", &self.endpoint)
            .field("model", &self.cfg.model)
            .field("authenticated", &self.auth.is_some())
            .finish_non_exhaustive()
    }
}

enum Stage {
    Headers,
    Body,
}

impl OpenAiClient {
    /// Validates the configuration and builds the HTTP client (rustls with the
    /// ring provider, installed process-wide if no provider is yet).
    pub fn new(cfg: ClientConfig) -> Result<Self, LlmError> {
        let _ = rustls::crypto::ring::default_provider().install_default();

        let mut base = cfg.api_base.trim().trim_end_matches('/').to_string();
        for suffix in ["/chat/completions", "/models"] {
            if let Some(stripped) = base.strip_suffix(suffix) {
                base = stripped.to_string();
            }
        }
        let url = reqwest::Url::parse(&base)
            .map_err(|e| LlmError::Config(format!("api_base {:?} is not a URL: {e}", base)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(LlmError::Config(format!(
                "api_base must be an http:// or https:// URL, got scheme {:?}",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(LlmError::Config(
                "api_base must not contain credentials; set the API key instead".into(),
            ));
        }
        let endpoint = match url.port() {
            Some(p) => format!("{}://{}:{p}", url.scheme(), url.host_str().unwrap_or("")),
            None => format!("{}://{}", url.scheme(), url.host_str().unwrap_or("")),
        };
        if cfg.model.trim().is_empty() {
            return Err(LlmError::Config("no model name given".into()));
        }
        let auth = match &cfg.api_key {
            Some(key) if !key.expose_secret().is_empty() => {
                let mut v = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
                    .map_err(|_| {
                        LlmError::Config(
                            "the API key contains characters not allowed in an HTTP header".into(),
                        )
                    })?;
                v.set_sensitive(true);
                Some(v)
            }
            _ => None,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("interlock/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LlmError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(OpenAiClient {
            http,
            chat_url: format!("{base}/chat/completions"),
            models_url: format!("{base}/models"),
            endpoint,
            auth,
            cfg,
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// The JSON body `chat` would send for this request.
    pub fn request_body(&self, req: &ChatRequest<'_>) -> serde_json::Value {
        request_body(&self.cfg, req)
    }

    /// Sends the request once. With `stream: true`, calls `on_delta` for every
    /// delta as it arrives; either way returns the assembled response.
    ///
    /// Streaming waits at most `idle_timeout` for the response headers and
    /// between reads; non-streaming waits at most `request_timeout` in all.
    /// Cancelling the token ends the call promptly with [`LlmError::Cancelled`].
    /// A server that ignores `stream: true` and answers with plain JSON is
    /// accepted (its content is delivered as deltas in one go).
    pub async fn chat(
        &self,
        req: &ChatRequest<'_>,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let body = self.request_body(req);
        let mut builder = self.http.post(&self.chat_url).json(&body);
        if let Some(auth) = &self.auth {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        if req.stream {
            builder = builder.header(reqwest::header::ACCEPT, "text/event-stream");
            let idle = self.cfg.idle_timeout;
            let resp = self
                .guard(cancel, idle, "waiting for the response", builder.send())
                .await?
                .map_err(|e| self.transport_error(e, Stage::Headers))?;
            let resp = self.check_status(resp, cancel, idle).await?;
            if is_json(&resp) {
                let text = self.read_body(resp, cancel, idle).await?;
                return self.parse_completion(&text, on_delta);
            }
            self.read_stream(resp, cancel, on_delta).await
        } else {
            let timeout = self.cfg.request_timeout;
            let work = async {
                let resp = builder
                    .send()
                    .await
                    .map_err(|e| self.transport_error(e, Stage::Headers))?;
                let resp = self.check_status(resp, cancel, timeout).await?;
                let text = self.read_body(resp, cancel, timeout).await?;
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
                            .map_err(|e| self.scrub_error(e))?;
                    }
                    return asm.finish();
                }
                self.parse_completion(&text, on_delta)
            };
            self.guard(cancel, timeout, "waiting for the response", work)
                .await?
        }
    }

    /// The model ids the endpoint lists (`GET {api_base}/models`).
    pub async fn list_models(&self) -> Result<Vec<String>, LlmError> {
        let mut builder = self.http.get(&self.models_url);
        if let Some(auth) = &self.auth {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        let never = CancellationToken::new();
        let timeout = self.cfg.request_timeout;
        let work = async {
            let resp = builder
                .send()
                .await
                .map_err(|e| self.transport_error(e, Stage::Headers))?;
            let resp = self.check_status(resp, &never, timeout).await?;
            let text = self.read_body(resp, &never, timeout).await?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| LlmError::Protocol(format!("cannot parse the model list: {e}")))?;
            let list = v
                .get("data")
                .or_else(|| v.get("models"))
                .and_then(|d| d.as_array())
                .ok_or_else(|| LlmError::Protocol("the model list has no \"data\" array".into()))?;
            Ok(list
                .iter()
                .filter_map(|m| {
                    m.get("id")
                        .or_else(|| m.get("name"))
                        .and_then(|i| i.as_str())
                        .map(str::to_string)
                })
                .collect())
        };
        self.guard(&never, timeout, "listing models", work).await?
    }

    /// Runs `fut` unless cancelled or out of time.
    async fn guard<T>(
        &self,
        cancel: &CancellationToken,
        limit: Duration,
        stage: &'static str,
        fut: impl Future<Output = T>,
    ) -> Result<T, LlmError> {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(LlmError::Cancelled),
            r = tokio::time::timeout(limit, fut) => r.map_err(|_| LlmError::Timeout { stage, after: limit }),
        }
    }

    /// Turns a non-success response into [`LlmError::Http`].
    async fn check_status(
        &self,
        resp: reqwest::Response,
        cancel: &CancellationToken,
        limit: Duration,
    ) -> Result<reqwest::Response, LlmError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = self
            .read_limited(resp, cancel, limit, MAX_ERROR_BODY)
            .await
            .unwrap_or_default();
        let message = error_body_message(&body)
            .filter(|m| !m.trim().is_empty())
            .or_else(|| {
                let t = body.trim();
                (!t.is_empty() && !t.starts_with('<')).then(|| t.to_string())
            })
            .unwrap_or_else(|| {
                status
                    .canonical_reason()
                    .unwrap_or("no error message")
                    .to_string()
            });
        Err(LlmError::Http {
            status: status.as_u16(),
            message: self.scrub(&message),
        })
    }

    async fn read_body(
        &self,
        resp: reqwest::Response,
        cancel: &CancellationToken,
        limit: Duration,
    ) -> Result<String, LlmError> {
        self.read_limited(resp, cancel, limit, MAX_BODY).await
    }

    /// Reads a body up to `max` bytes, each read within `limit`.
    async fn read_limited(
        &self,
        resp: reqwest::Response,
        cancel: &CancellationToken,
        limit: Duration,
        max: usize,
    ) -> Result<String, LlmError> {
        let mut stream = resp.bytes_stream();
        let mut buf = Vec::new();
        while let Some(chunk) = self
            .guard(cancel, limit, "reading the response", stream.next())
            .await?
        {
            let chunk = chunk.map_err(|e| self.transport_error(e, Stage::Body))?;
            buf.extend_from_slice(&chunk);
            if buf.len() >= max {
                buf.truncate(max);
                break;
            }
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    fn parse_completion(
        &self,
        text: &str,
        on_delta: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let mut asm = Assembler::default();
        asm.on_completion(text, on_delta)
            .map_err(|e| self.scrub_error(e))?;
        asm.finish()
    }

    async fn read_stream(
        &self,
        resp: reqwest::Response,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let idle = self.cfg.idle_timeout;
        let mut stream = resp.bytes_stream();
        let mut parser = SseParser::default();
        let mut asm = Assembler::default();
        let mut events = Vec::new();
        loop {
            let next = self
                .guard(cancel, idle, "waiting for stream data", stream.next())
                .await?;
            let ended = next.is_none();
            match next {
                None => {
                    parser.finish(&mut events).map_err(LlmError::Protocol)?;
                }
                Some(Err(e)) => {
                    if asm.has_finished() {
                        break; // everything needed arrived; ignore a messy close
                    }
                    return Err(self.transport_error(e, Stage::Body));
                }
                Some(Ok(bytes)) => {
                    parser
                        .feed(&bytes, &mut events)
                        .map_err(LlmError::Protocol)?;
                }
            }
            for ev in events.drain(..) {
                asm.on_event(ev.event.as_deref(), &ev.data, on_delta)
                    .map_err(|e| self.scrub_error(e))?;
                if asm.is_done() {
                    break;
                }
            }
            if asm.is_done() || ended {
                break;
            }
        }
        asm.finish()
    }

    fn scrub(&self, text: &str) -> String {
        scrub(text, self.cfg.api_key.as_ref().map(|k| k.expose_secret()))
    }

    /// Scrubs provider text inside an error.
    fn scrub_error(&self, e: LlmError) -> LlmError {
        match e {
            LlmError::Api { message, code } => LlmError::Api {
                message: self.scrub(&message),
                code: code.map(|c| self.scrub(&c)),
            },
            LlmError::Protocol(m) => LlmError::Protocol(self.scrub(&m)),
            other => other,
        }
    }

    /// Maps a reqwest failure without its URL, with its cause chain.
    fn transport_error(&self, e: reqwest::Error, stage: Stage) -> LlmError {
        if e.is_timeout() && e.is_connect() {
            return LlmError::Timeout {
                stage: "connecting",
                after: self.cfg.connect_timeout,
            };
        }
        let mut parts: Vec<String> = Vec::new();
        if matches!(stage, Stage::Body) {
            parts.push("connection lost while reading the response".into());
        }
        let e = e.without_url();
        let mut cur: Option<&dyn std::error::Error> = Some(&e);
        while let Some(err) = cur {
            let s = err.to_string();
            if !s.is_empty() && parts.last() != Some(&s) {
                parts.push(s);
            }
            cur = err.source();
        }
        LlmError::Connect {
            endpoint: self.endpoint.clone(),
            message: self.scrub(&parts.join(": ")),
        }
    }
}

fn is_json(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"))
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
        assert_eq!(c.endpoint, "https://api.example.com");
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
        assert_eq!(c.endpoint, "http://localhost:11434");
    }
}

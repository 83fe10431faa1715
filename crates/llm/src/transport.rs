//! HTTP plumbing shared by the provider adapters: base-URL validation,
//! timeouts and cancellation around every await, bounded body reads, and
//! error mapping that never carries the key, the URL's query or headers.

use crate::error::{LlmError, scrub};
use crate::retry::retry_hint;
use crate::sse::SseParser;
use crate::{ChatResponse, ClientConfig, StreamDelta};
use futures_util::StreamExt;
use secrecy::ExposeSecret;
use std::future::Future;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// Most bytes of an error body that are read.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Most bytes of a non-streaming response body.
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;

/// One failed attempt: the error, and how long the server asked us to wait
/// before trying again (`Retry-After` and rate-limit reset headers).
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: LlmError,
    pub retry_after: Option<Duration>,
}

impl From<LlmError> for Failure {
    fn from(error: LlmError) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}

pub(crate) enum Stage {
    Headers,
    Body,
}

/// The HTTP client and what every request of one adapter shares.
pub(crate) struct Transport {
    pub http: reqwest::Client,
    /// The normalised base URL (no trailing slash, no endpoint suffix).
    pub base: String,
    /// `scheme://host[:port]`, what errors name.
    pub endpoint: String,
    pub cfg: ClientConfig,
}

impl Transport {
    /// Validates the configuration and builds the HTTP client (rustls with
    /// the ring provider, installed process-wide if no provider is yet).
    /// `suffixes` are endpoint paths stripped from the end of `api_base`, so
    /// a full endpoint URL is accepted as the base.
    pub fn new(cfg: ClientConfig, suffixes: &[&str]) -> Result<Self, LlmError> {
        let _ = rustls::crypto::ring::default_provider().install_default();

        let mut base = cfg.api_base.trim().trim_end_matches('/').to_string();
        for suffix in suffixes {
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
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("interlock/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LlmError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Transport {
            http,
            base,
            endpoint,
            cfg,
        })
    }

    /// A sensitive header value holding `prefix` + the key, if a key is set.
    pub fn key_header(
        &self,
        prefix: &str,
    ) -> Result<Option<reqwest::header::HeaderValue>, LlmError> {
        match &self.cfg.api_key {
            Some(key) if !key.expose_secret().is_empty() => {
                let mut v = reqwest::header::HeaderValue::from_str(&format!(
                    "{prefix}{}",
                    key.expose_secret()
                ))
                .map_err(|_| {
                    LlmError::Config(
                        "the API key contains characters not allowed in an HTTP header".into(),
                    )
                })?;
                v.set_sensitive(true);
                Ok(Some(v))
            }
            _ => Ok(None),
        }
    }

    /// Runs `fut` unless cancelled or out of time.
    pub async fn guard<T>(
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

    /// Turns a non-success response into [`LlmError::Http`], with the wait
    /// the server asked for when it is a 429 or 503.
    pub async fn check_status(
        &self,
        resp: reqwest::Response,
        cancel: &CancellationToken,
        limit: Duration,
        body_message: fn(&str) -> Option<String>,
    ) -> Result<reqwest::Response, Failure> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let retry_after = if matches!(status.as_u16(), 429 | 503 | 529) {
            retry_hint(resp.headers(), SystemTime::now())
        } else {
            None
        };
        let body = match self.read_limited(resp, cancel, limit, MAX_ERROR_BODY).await {
            Err(LlmError::Cancelled) => return Err(LlmError::Cancelled.into()),
            r => r.unwrap_or_default(),
        };
        let message = body_message(&body)
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
        Err(Failure {
            error: LlmError::Http {
                status: status.as_u16(),
                message: self.scrub(&message),
            },
            retry_after,
        })
    }

    /// Reads a body up to `max` bytes, each read within `limit`.
    pub async fn read_limited(
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

    pub fn scrub(&self, text: &str) -> String {
        scrub(text, self.cfg.api_key.as_ref().map(|k| k.expose_secret()))
    }

    /// Scrubs provider text inside an error.
    pub fn scrub_error(&self, e: LlmError) -> LlmError {
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
    pub fn transport_error(&self, e: reqwest::Error, stage: Stage) -> LlmError {
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

    /// `GET url` with these headers; the `data` (or `models`) array's ids.
    pub async fn list_models(
        &self,
        url: &str,
        headers: reqwest::header::HeaderMap,
        body_message: fn(&str) -> Option<String>,
    ) -> Result<Vec<String>, LlmError> {
        let builder = self.http.get(url).headers(headers);
        let never = CancellationToken::new();
        let timeout = self.cfg.request_timeout;
        let work = async {
            let resp = builder
                .send()
                .await
                .map_err(|e| self.transport_error(e, Stage::Headers))?;
            let resp = self
                .check_status(resp, &never, timeout, body_message)
                .await
                .map_err(|f| f.error)?;
            let text = self.read_limited(resp, &never, timeout, MAX_BODY).await?;
            parse_model_list(&text)
        };
        self.guard(&never, timeout, "listing models", work).await?
    }
}

/// What turns SSE events into deltas and a response (one per wire format).
pub(crate) trait SseSink {
    fn on_event(
        &mut self,
        event: Option<&str>,
        data: &str,
        emit: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<(), LlmError>;
    /// The end marker was seen: stop reading.
    fn is_done(&self) -> bool;
    /// Complete enough to accept if the connection now closes messily.
    fn has_finished(&self) -> bool;
    fn finish(self) -> Result<ChatResponse, LlmError>;
}

impl Transport {
    /// Reads an SSE body into `sink`, each read within the idle timeout.
    pub async fn read_sse<S: SseSink>(
        &self,
        resp: reqwest::Response,
        cancel: &CancellationToken,
        mut sink: S,
        on_delta: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let idle = self.cfg.idle_timeout;
        let mut stream = resp.bytes_stream();
        let mut parser = SseParser::default();
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
                    if sink.has_finished() {
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
                sink.on_event(ev.event.as_deref(), &ev.data, on_delta)
                    .map_err(|e| self.scrub_error(e))?;
                if sink.is_done() {
                    break;
                }
            }
            if sink.is_done() || ended {
                break;
            }
        }
        sink.finish()
    }
}

/// The model ids of a `/models` answer (`{"data": [{"id": ..}]}`, or Ollama's
/// `{"models": [{"name": ..}]}`).
pub(crate) fn parse_model_list(text: &str) -> Result<Vec<String>, LlmError> {
    let v: serde_json::Value = serde_json::from_str(text)
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
}

/// Whether the response says it is JSON.
pub(crate) fn is_json(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"))
}

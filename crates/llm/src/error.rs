//! The error type, and the scrubbing applied to every text that goes into it.

use crate::ChatResponse;
use std::time::Duration;

/// Why a request to the provider failed. Every message is safe to display:
/// it never contains the API key (exact occurrences and `Bearer` tokens are
/// replaced by `[REDACTED]`), request headers or terminal control characters.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The client could not be built (bad base URL, unusable key, TLS setup).
    #[error("invalid LLM client configuration: {0}")]
    Config(String),
    /// The provider could not be reached, or the connection broke.
    #[error("{}", connect_message(endpoint, message))]
    Connect { endpoint: String, message: String },
    /// Nothing arrived in time. `stage` says what was being waited for.
    #[error("timed out {stage} (limit {})", fmt_duration(*after))]
    Timeout {
        stage: &'static str,
        after: Duration,
    },
    /// The provider answered with a non-success HTTP status; `message` is the
    /// provider's own error message when it sent one (truncated).
    #[error("provider returned HTTP {status}: {message}")]
    Http { status: u16, message: String },
    /// An error object in an otherwise successful response or stream.
    #[error("provider error: {message}{}", code.as_ref().map(|c| format!(" (code {c})")).unwrap_or_default())]
    Api {
        message: String,
        code: Option<String>,
    },
    /// The response could not be understood.
    #[error("malformed response from provider: {0}")]
    Protocol(String),
    /// The cancellation token fired.
    #[error("request cancelled")]
    Cancelled,
    /// The response was cut off (connection lost, idle timeout, stream ended
    /// early) *after* part of it had already been delivered as deltas, so it
    /// was not retried. `partial` holds what arrived, assembled from those
    /// deltas: the text shown so far and any tool calls begun (their
    /// arguments may be incomplete: never execute them). `finish_reason` and
    /// `usage` are `None`. `cause` is the underlying failure.
    ///
    /// A caller that keeps history should record `partial.text` (marked as
    /// cut off) so the conversation matches what the user saw, and end the
    /// turn with a message saying the answer was interrupted.
    #[error("the response was cut off after part of it arrived: {cause}")]
    Interrupted {
        partial: ChatResponse,
        cause: Box<LlmError>,
    },
}

impl LlmError {
    /// A short stable name for the kind of error (for events and logs).
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::Config(_) => "config",
            LlmError::Connect { .. } => "connect",
            LlmError::Timeout { .. } => "timeout",
            LlmError::Http { .. } => "http",
            LlmError::Api { .. } => "api",
            LlmError::Protocol(_) => "protocol",
            LlmError::Cancelled => "cancelled",
            LlmError::Interrupted { .. } => "interrupted",
        }
    }

    /// Whether trying the same request again may succeed: network failures,
    /// timeouts, HTTP 408/409/429/5xx (and Anthropic's 529), streams cut
    /// short, and in-stream error events that say the provider is overloaded
    /// (`overloaded_error`, `rate_limit_error`, `api_error`, `server_error`).
    /// [`LlmError::Interrupted`] is not: something was already shown, and
    /// neither is a request the server rejected for its shape
    /// ([`LlmError::is_request_rejected`]): the same body fails the same way.
    pub fn is_retryable(&self) -> bool {
        if self.is_request_rejected() {
            return false;
        }
        match self {
            LlmError::Connect { .. } | LlmError::Timeout { .. } => true,
            LlmError::Http { status, .. } => {
                matches!(status, 408 | 409 | 429) || (500..600).contains(status)
            }
            LlmError::Protocol(m) => m.starts_with(STREAM_ENDED_EARLY),
            LlmError::Api { code, .. } => matches!(
                code.as_deref(),
                Some("overloaded_error" | "rate_limit_error" | "api_error" | "server_error")
            ),
            LlmError::Config(_) | LlmError::Cancelled | LlmError::Interrupted { .. } => false,
        }
    }

    /// Whether the server refused the request itself rather than failed to
    /// answer it: HTTP 400 or 422, or an HTTP 500 whose message reads like a
    /// validation or type error (servers written in Python answer a body
    /// they cannot handle, such as `"content": null`, with a 500 carrying the
    /// exception text). Such an error is not transient.
    pub fn is_request_rejected(&self) -> bool {
        match self {
            LlmError::Http {
                status: 400 | 422, ..
            } => true,
            LlmError::Http {
                status: 500,
                message,
            } => looks_like_request_error(message),
            _ => false,
        }
    }

    /// Whether a streamed response ended before carrying any data: HTTP 200
    /// and then nothing. llama-cpp-python answers so when the model picks a
    /// tool call under `tool_choice: "auto"` with streaming (it raises
    /// "Automatic streaming tool choice is not supported" after sending the
    /// headers), so with tools offered it is a reason to stop streaming them,
    /// not to send the same request again.
    pub fn is_empty_stream(&self) -> bool {
        matches!(self, LlmError::Protocol(m) if m.starts_with(STREAM_ENDED_EARLY) && m.ends_with(EMPTY_STREAM))
    }

    /// Whether the server's address refused the connection: nothing is
    /// listening there (the server is not running, or runs on another port).
    pub fn is_connection_refused(&self) -> bool {
        matches!(self, LlmError::Connect { message, .. } if is_refusal(message))
    }

    /// Whether this is the response being cut off (as opposed to refused or
    /// misunderstood): a lost connection, a timeout, or a stream that ended
    /// before its end marker.
    pub(crate) fn is_cut(&self) -> bool {
        match self {
            LlmError::Connect { .. } | LlmError::Timeout { .. } => true,
            LlmError::Protocol(m) => m.starts_with(STREAM_ENDED_EARLY),
            _ => false,
        }
    }
}

/// Words of an error message that mean the request was not understood,
/// as opposed to the server being busy or broken for a while.
fn looks_like_request_error(message: &str) -> bool {
    const MARKERS: &[&str] = &[
        "validation",
        "nonetype",
        "typeerror",
        "keyerror",
        "valueerror",
        "attributeerror",
        "not subscriptable",
        "can only concatenate",
        "unsupported operand",
        "input should be",
        "field required",
        "missing required",
        "unexpected keyword",
        "not supported",
        "unsupported",
        "jinja",
        "chat template",
        "invalid request",
        "invalid_request",
        "must be a string",
        "must be of type",
        "cannot be null",
    ];
    let m = message.to_ascii_lowercase();
    MARKERS.iter().any(|k| m.contains(k))
}

pub(crate) const STREAM_ENDED_EARLY: &str = "stream ended early";
/// Why a stream ended early, when not one `data:` event came before the end.
pub(crate) const EMPTY_STREAM: &str = "the server closed it before sending any data";

/// The operating system's words for `ECONNREFUSED`, as the transport reports them.
fn is_refusal(message: &str) -> bool {
    message.to_ascii_lowercase().contains("connection refused")
}

/// One sentence saying which server could not be reached and the likely
/// reason, instead of the transport's chain of wrapped errors.
fn connect_message(endpoint: &str, message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    if is_refusal(message) {
        format!(
            "cannot connect to the model server at {endpoint}: connection refused, so no server is \
             running there (or it listens on another port)"
        )
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        format!(
            "cannot reach the model server at {endpoint}: its host name does not resolve \
             (no network, or a typo in the URL)"
        )
    } else {
        format!("network error talking to the model server at {endpoint}: {message}")
    }
}

fn fmt_duration(d: Duration) -> String {
    if d.as_millis() < 10_000 && d.subsec_millis() != 0 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} s", d.as_secs())
    }
}

/// Longest provider message kept in an error, in characters.
const MAX_MESSAGE_CHARS: usize = 400;

/// Makes provider-supplied text safe for an error: removes the key and any
/// bearer token, flattens control characters, truncates.
pub(crate) fn scrub(text: &str, key: Option<&str>) -> String {
    let mut s = text.to_string();
    if let Some(k) = key
        && k.len() >= 4
    {
        s = s.replace(k, "[REDACTED]");
    }
    s = redact_bearer(&s);
    let mut out = String::with_capacity(s.len().min(MAX_MESSAGE_CHARS + 4));
    let mut n = 0;
    let mut last_space = false;
    for c in s.trim().chars() {
        if n == MAX_MESSAGE_CHARS {
            out.push('…');
            break;
        }
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
        n += 1;
    }
    out
}

/// Replaces the token after every `Bearer ` (any case) with `[REDACTED]`.
fn redact_bearer(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(p) = lower[i..].find("bearer ") {
        let start = i + p + "bearer ".len();
        out.push_str(&s[i..start]);
        let rest = &s[start..];
        let tok_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-._~+/=".contains(c)))
            .unwrap_or(rest.len());
        if tok_len > 0 && !rest.starts_with("[REDACTED]") {
            out.push_str("[REDACTED]");
        } else {
            out.push_str(&rest[..tok_len]);
        }
        i = start + tok_len;
    }
    out.push_str(&s[i..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_key_and_bearer_tokens() {
        let s = scrub(
            "bad key sk-abc123XYZ; authorization: Bearer sk-other.tok=, BEARER zzz",
            Some("sk-abc123XYZ"),
        );
        assert!(!s.contains("sk-abc123XYZ"), "{s}");
        assert!(!s.contains("sk-other"), "{s}");
        assert!(!s.contains("zzz"), "{s}");
        assert_eq!(s.matches("[REDACTED]").count(), 3, "{s}");
    }

    #[test]
    fn scrub_flattens_controls_and_truncates() {
        let s = scrub("a\n\x1b[2Jb", None);
        assert_eq!(s, "a [2Jb");
        let long = "x".repeat(1000);
        let s = scrub(&long, None);
        assert_eq!(s.chars().count(), MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn request_shape_errors_are_not_retried() {
        let http = |status, message: &str| LlmError::Http {
            status,
            message: message.to_string(),
        };
        let shape = http(500, "can only concatenate str (not \"NoneType\") to str");
        assert!(shape.is_request_rejected());
        assert!(!shape.is_retryable());
        assert!(!http(500, "1 validation error: Input should be a valid string").is_retryable());
        assert!(http(422, "unprocessable").is_request_rejected());
        // A busy or broken server is still retried.
        assert!(http(500, "overloaded").is_retryable());
        assert!(!http(500, "overloaded").is_request_rejected());
        assert!(http(503, "not supported").is_retryable());
    }

    #[test]
    fn a_refused_connection_says_no_server_runs_there() {
        let e = LlmError::Connect {
            endpoint: "http://127.0.0.1:9".into(),
            message: "error sending request: client error (Connect): tcp connect error: \
                      Connection refused (os error 111)"
                .into(),
        };
        assert!(e.is_connection_refused());
        let shown = e.to_string();
        assert!(shown.contains("http://127.0.0.1:9"), "{shown}");
        assert!(shown.contains("no server is running there"), "{shown}");
        assert!(!shown.contains("tcp connect error"), "{shown}");
        let reset = LlmError::Connect {
            endpoint: "https://example.com".into(),
            message: "connection reset by peer".into(),
        };
        assert!(!reset.is_connection_refused());
    }

    #[test]
    fn display_mentions_what_timed_out() {
        let e = LlmError::Timeout {
            stage: "waiting for stream data",
            after: Duration::from_millis(300),
        };
        assert_eq!(
            e.to_string(),
            "timed out waiting for stream data (limit 300 ms)"
        );
        assert!(e.is_retryable());
        assert!(!LlmError::Cancelled.is_retryable());
        assert!(
            LlmError::Http {
                status: 503,
                message: String::new()
            }
            .is_retryable()
        );
    }
}

//! The retry loop around one attempt, and reading how long a server asks us
//! to wait.
//!
//! What is retried: HTTP 408/409/429/5xx/529, network failures, timeouts,
//! streams that end before their end marker, and in-stream "overloaded"
//! error events — but only while nothing has been delivered to the caller
//! (see [`LlmError::is_retryable`]). Once a delta was delivered, a cut-off
//! response ends as [`LlmError::Interrupted`] carrying what arrived, and any
//! other error is returned as it is. Malformed chunks ([`LlmError::Protocol`])
//! are never retried: a server that sends broken JSON once will likely again.
//!
//! The wait before a retry is, in order of preference: the server's
//! `retry-after-ms`, `Retry-After` (seconds or an HTTP date), the rate-limit
//! reset headers (`x-ratelimit-reset-{requests,tokens}` as OpenAI and most
//! compatible servers send them — a Go-style duration like `6m0s`, seconds or
//! a Unix time — and Anthropic's `anthropic-ratelimit-*-reset` RFC 3339
//! times), read on 429/503/529 only; otherwise exponential backoff with
//! jitter. A wait that would end past [`RetryPolicy::max_elapsed`] is not
//! started: the error is returned at once.

use crate::error::LlmError;
use crate::transport::Failure;
use crate::{ChatRequest, ChatResponse, StreamDelta};
use interlock_protocol::ToolCall;
use reqwest::header::HeaderMap;
use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// When and how often a failed request is tried again.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 means never retry. Default 4.
    pub max_attempts: u32,
    /// No retry is started (and no wait begun) that would end later than this
    /// after the first attempt started. A stream in progress is never cut for
    /// it: the per-read idle timeout bounds that. Default 90 s.
    pub max_elapsed: Duration,
    /// The wait before the first retry when the server gives no hint;
    /// doubled for each further retry. Default 1 s.
    pub initial_backoff: Duration,
    /// The longest computed wait (a server's `Retry-After` may be longer, up
    /// to `max_elapsed`). Default 20 s.
    pub max_backoff: Duration,
    /// Random reduction of computed waits, 0.0 ..= 1.0: each wait is
    /// multiplied by a factor drawn from `[1 - jitter, 1]`. Default 0.5.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            max_elapsed: Duration::from_secs(90),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
            jitter: 0.5,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The computed wait after failed attempt number `attempt` (from 1).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let jitter = self.jitter.clamp(0.0, 1.0);
        base.mul_f64(1.0 - jitter * random_unit())
    }
}

/// A uniformly distributed number in `[0, 1)`, from the standard library's
/// randomly seeded hasher (no `rand` dependency; quality is ample for jitter).
fn random_unit() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// One attempt of a chat request, as each adapter makes it.
pub(crate) trait Attempt: Sync {
    fn attempt(
        &self,
        req: &ChatRequest<'_>,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> impl Future<Output = Result<ChatResponse, Failure>> + Send;
}

/// Runs attempts until one succeeds or the policy says stop; reports every
/// retry through `on_delta` as [`StreamDelta::Retrying`] before waiting.
pub(crate) async fn run<A: Attempt>(
    adapter: &A,
    policy: &RetryPolicy,
    req: &ChatRequest<'_>,
    cancel: &CancellationToken,
    on_delta: &mut (dyn FnMut(StreamDelta) + Send),
) -> Result<ChatResponse, LlmError> {
    let started = Instant::now();
    let mut attempt: u32 = 1;
    loop {
        let mut partial = Partial::default();
        let result = {
            let mut observe = |d: StreamDelta| {
                partial.observe(&d);
                on_delta(d);
            };
            adapter.attempt(req, cancel, &mut observe).await
        };
        let Failure { error, retry_after } = match result {
            Ok(r) => return Ok(r),
            Err(f) => f,
        };
        if cancel.is_cancelled() || matches!(error, LlmError::Cancelled) {
            return Err(LlmError::Cancelled);
        }
        if partial.shown {
            if error.is_cut() {
                return Err(LlmError::Interrupted {
                    partial: partial.finish(),
                    cause: Box::new(error),
                });
            }
            return Err(error);
        }
        // A refused connection is retryable in principle, but nothing listens
        // there now: retrying within seconds only repeats the refusal and
        // buries the one useful message (start the server, or another URL).
        // A streamed request with tools that ends before any data is how
        // llama-cpp-python says it cannot stream tool calls: the same body
        // fails the same way, and the caller adapts (stops streaming them).
        if !error.is_retryable()
            || error.is_connection_refused()
            || (req.offer_tools && req.stream && error.is_empty_stream())
            || attempt >= policy.max_attempts.max(1)
        {
            return Err(error);
        }
        let delay = retry_after.unwrap_or_else(|| policy.backoff(attempt));
        if started.elapsed().saturating_add(delay) > policy.max_elapsed {
            return Err(error);
        }
        attempt += 1;
        on_delta(StreamDelta::Retrying {
            attempt,
            max_attempts: policy.max_attempts,
            delay,
            reason: error.to_string(),
        });
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(LlmError::Cancelled),
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// What an attempt delivered, kept to build [`LlmError::Interrupted`].
#[derive(Default)]
struct Partial {
    shown: bool,
    text: String,
    calls: BTreeMap<usize, ToolCall>,
}

impl Partial {
    fn observe(&mut self, d: &StreamDelta) {
        match d {
            StreamDelta::Text(t) => {
                if !t.is_empty() {
                    self.shown = true;
                    self.text.push_str(t);
                }
            }
            StreamDelta::ToolCallStarted { index, id, name } => {
                self.shown = true;
                let c = self.calls.entry(*index).or_insert_with(|| ToolCall {
                    id: String::new(),
                    name: String::new(),
                    arguments: String::new(),
                });
                c.id.clone_from(id);
                c.name.clone_from(name);
            }
            StreamDelta::ToolCallArguments { index, fragment } => {
                self.shown = true;
                self.calls
                    .entry(*index)
                    .or_insert_with(|| ToolCall {
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    })
                    .arguments
                    .push_str(fragment);
            }
            StreamDelta::Retrying { .. } => {}
        }
    }

    fn finish(self) -> ChatResponse {
        ChatResponse {
            text: self.text,
            tool_calls: self.calls.into_values().collect(),
            finish_reason: None,
            usage: None,
        }
    }
}

/// How long the server asks us to wait, from the response headers.
pub(crate) fn retry_hint(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let get = |name: &str| -> Option<&str> {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    if let Some(v) = get("retry-after") {
        if let Ok(secs) = v.parse::<f64>() {
            if secs.is_finite() && secs >= 0.0 {
                return Some(Duration::from_secs_f64(secs.min(1e7)));
            }
        } else if let Some(at) = parse_http_date(v) {
            return Some(until(at, now));
        }
    }
    // Rate-limit reset headers: prefer the limits reported as used up.
    let mut exhausted: Option<Duration> = None;
    let mut any: Option<Duration> = None;
    for kind in ["requests", "tokens", "input-tokens", "output-tokens"] {
        let pairs = [
            (
                format!("x-ratelimit-reset-{kind}"),
                format!("x-ratelimit-remaining-{kind}"),
            ),
            (
                format!("anthropic-ratelimit-{kind}-reset"),
                format!("anthropic-ratelimit-{kind}-remaining"),
            ),
        ];
        for (reset, remaining) in pairs {
            let Some(d) = get(&reset).and_then(|v| parse_reset(v, now)) else {
                continue;
            };
            any = any.max(Some(d));
            if get(&remaining) == Some("0") {
                exhausted = exhausted.max(Some(d));
            }
        }
    }
    if let Some(d) = get("x-ratelimit-reset").and_then(|v| parse_reset(v, now)) {
        any = any.max(Some(d));
    }
    exhausted.or(any)
}

fn until(at: SystemTime, now: SystemTime) -> Duration {
    at.duration_since(now).unwrap_or(Duration::ZERO)
}

/// A rate-limit reset value: a Go-style duration (`1s`, `6m0s`, `250ms`),
/// plain seconds, a Unix time in seconds or milliseconds, an RFC 3339 time or
/// an HTTP date.
fn parse_reset(v: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(n) = v.parse::<f64>() {
        if !n.is_finite() || n < 0.0 {
            return None;
        }
        let now_secs = now.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
        return Some(if n > 1e12 {
            Duration::from_secs_f64((n / 1000.0 - now_secs).max(0.0))
        } else if n > 1e9 {
            Duration::from_secs_f64((n - now_secs).max(0.0))
        } else {
            Duration::from_secs_f64(n)
        });
    }
    if let Some(d) = parse_go_duration(v) {
        return Some(d);
    }
    parse_rfc3339(v)
        .or_else(|| parse_http_date(v))
        .map(|at| until(at, now))
}

/// `1h2m3.5s`, `250ms`, `10us`: a sequence of number + unit.
fn parse_go_duration(s: &str) -> Option<Duration> {
    let mut rest = s;
    let mut total = 0.0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * scale;
    }
    (total.is_finite() && total < 1e7).then(|| Duration::from_secs_f64(total))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn to_system_time(days: i64, secs_of_day: f64) -> Option<SystemTime> {
    let t = days as f64 * 86_400.0 + secs_of_day;
    (t >= 0.0 && t.is_finite()).then(|| UNIX_EPOCH + Duration::from_secs_f64(t))
}

fn hms(s: &str) -> Option<f64> {
    let mut it = s.split(':');
    let h: u32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let sec: f64 = it.next()?.parse().ok()?;
    if it.next().is_some() || h > 23 || m > 59 || !(0.0..61.0).contains(&sec) {
        return None;
    }
    Some(f64::from(h) * 3600.0 + f64::from(m) * 60.0 + sec)
}

/// IMF-fixdate, the HTTP date form: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) fn parse_http_date(s: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, zone] = parts.as_slice() else {
        return None;
    };
    if !matches!(*zone, "GMT" | "UTC" | "+0000") {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? as u32 + 1;
    let day: u32 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let year: i64 = year.parse().ok()?;
    to_system_time(days_from_civil(year, month, day), hms(time)?)
}

/// `2026-11-01T12:00:30Z`, `2026-11-01T12:00:30.5+01:00`.
fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let (date, rest) = s.split_once(['T', 't', ' '])?;
    let mut d = date.split('-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: u32 = d.next()?.parse().ok().filter(|m| (1..=12).contains(m))?;
    let day: u32 = d.next()?.parse().ok().filter(|d| (1..=31).contains(d))?;
    let (time, offset) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0.0)
    } else {
        let p = rest.rfind(['+', '-'])?;
        let (t, off) = rest.split_at(p);
        let sign = if off.starts_with('-') { -1.0 } else { 1.0 };
        let (oh, om) = off[1..].split_once(':')?;
        let oh: f64 = oh.parse().ok()?;
        let om: f64 = om.parse().ok()?;
        (t, sign * (oh * 3600.0 + om * 60.0))
    };
    to_system_time(days_from_civil(year, month, day), hms(time)? - offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.insert(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn http_dates_and_rfc3339() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(at(784_111_777))
        );
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 CET"), None);
        assert_eq!(parse_http_date("soon"), None);
        assert_eq!(parse_rfc3339("1994-11-06T08:49:37Z"), Some(at(784_111_777)));
        assert_eq!(
            parse_rfc3339("1994-11-06T09:49:37+01:00"),
            Some(at(784_111_777))
        );
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn retry_after_seconds_date_and_ms() {
        let now = at(784_111_777);
        assert_eq!(
            retry_hint(&headers(&[("retry-after", "7")]), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_hint(
                &headers(&[("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT")]),
                now
            ),
            Some(Duration::from_secs(30))
        );
        // A date in the past means "now".
        assert_eq!(
            retry_hint(
                &headers(&[("retry-after", "Sun, 06 Nov 1994 08:00:00 GMT")]),
                now
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_hint(
                &headers(&[("retry-after", "3"), ("retry-after-ms", "1500")]),
                now
            ),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(retry_hint(&headers(&[("retry-after", "later")]), now), None);
        assert_eq!(retry_hint(&HeaderMap::new(), now), None);
    }

    #[test]
    fn rate_limit_reset_headers() {
        let now = at(1_800_000_000);
        // OpenAI: Go durations; the exhausted limit wins over a longer one.
        let h = headers(&[
            ("x-ratelimit-reset-requests", "6m0s"),
            ("x-ratelimit-remaining-requests", "12"),
            ("x-ratelimit-reset-tokens", "1.5s"),
            ("x-ratelimit-remaining-tokens", "0"),
        ]);
        assert_eq!(retry_hint(&h, now), Some(Duration::from_millis(1500)));
        // Nothing marked exhausted: the longest.
        let h = headers(&[
            ("x-ratelimit-reset-requests", "250ms"),
            ("x-ratelimit-reset-tokens", "1m2s"),
        ]);
        assert_eq!(retry_hint(&h, now), Some(Duration::from_secs(62)));
        // Anthropic: RFC 3339 times.
        let h = headers(&[
            ("anthropic-ratelimit-requests-reset", "2027-01-15T08:00:05Z"),
            ("anthropic-ratelimit-requests-remaining", "0"),
        ]);
        assert_eq!(retry_hint(&h, now), Some(Duration::from_secs(5)));
        // Plain seconds and Unix times.
        assert_eq!(
            retry_hint(&headers(&[("x-ratelimit-reset", "2")]), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_hint(&headers(&[("x-ratelimit-reset", "1800000009")]), now),
            Some(Duration::from_secs(9))
        );
        assert_eq!(parse_go_duration("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_go_duration("5x"), None);
        assert_eq!(parse_go_duration(""), None);
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(3), Duration::from_millis(350));
        assert_eq!(p.backoff(40), Duration::from_millis(350));
        let p = RetryPolicy { jitter: 0.5, ..p };
        let waits: Vec<Duration> = (0..50).map(|_| p.backoff(2)).collect();
        assert!(
            waits
                .iter()
                .all(|w| *w >= Duration::from_millis(100) && *w <= Duration::from_millis(200)),
            "{waits:?}"
        );
        assert!(waits.iter().any(|w| *w != waits[0]), "no jitter: {waits:?}");
    }
}

//! Server-side limits: what a client may ask for, and how fast.

use interlock_guard::analysis::Risk;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Limits the server enforces whatever a client asks.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Sessions held at once.
    pub max_sessions: usize,
    /// A session nobody has used for this long is closed.
    pub idle_timeout: Duration,
    /// Messages per minute per token (a burst of this many, refilled evenly).
    pub messages_per_minute: u32,
    /// The highest risk a session may auto-run; `None`: no session may
    /// turn auto-run on.
    pub auto_run_max_risk: Option<Risk>,
    /// Sessions may ask for the full network.
    pub allow_full_network: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_sessions: 32,
            idle_timeout: Duration::from_secs(30 * 60),
            messages_per_minute: 30,
            auto_run_max_risk: None,
            allow_full_network: false,
        }
    }
}

/// A token bucket per key (the token's id).
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: HashMap<String, (f64, Instant)>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute: per_minute.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Takes one unit for `key` at `now`; `Err(wait)` when the bucket is
    /// empty, with how long until one unit is back.
    pub fn take(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        let cap = f64::from(self.per_minute);
        let rate = cap / 60.0;
        let (level, at) = self.buckets.entry(key.to_string()).or_insert((cap, now));
        let elapsed = now.saturating_duration_since(*at).as_secs_f64();
        *level = (*level + elapsed * rate).min(cap);
        *at = now;
        if *level >= 1.0 {
            *level -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *level) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_until_refilled() {
        let mut r = RateLimiter::new(3);
        let t = Instant::now();
        for _ in 0..3 {
            assert!(r.take("a", t).is_ok());
        }
        let wait = r.take("a", t).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20));
        // Other tokens have their own bucket.
        assert!(r.take("b", t).is_ok());
        assert!(r.take("a", t + Duration::from_secs(20)).is_ok());
    }
}

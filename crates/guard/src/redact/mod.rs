//! Secret detection and redaction.
//!
//! Everything interlock sends to the model, writes to the history or the audit
//! log, or emits as a `--json` event passes through a [`Redactor`] first.
//! Secrets are replaced by placeholders such as `[REDACTED:github_token#2]`
//! that are stable within a conversation ([`Placeholders`]), so the model can
//! still reason about "the same key" without ever seeing it.
//!
//! Two kinds of detection run together:
//!
//! - **Pattern detectors** for the common credential formats (see [`KINDS`]):
//!   provider API keys with a recognisable prefix, JWTs, private key blocks,
//!   passwords in URLs, `password=` / `token:` style assignments and an
//!   entropy-based generic detector for random-looking tokens. Each detector
//!   validates its candidate (length, character variety, entropy, not an
//!   obvious placeholder such as `sk-xxxx` or the documented AWS example keys),
//!   and the generic detector stays away from hashes, UUIDs, lockfile
//!   integrity values, base64 images, wrapped base64 data (a line of base64
//!   next to a full-width base64 line) and base64 of plain text. Keyword
//!   rules cover assignments in shell, env, YAML, JSON, TOML, ini and source
//!   code, XML elements and attributes, and command lines (`curl -u`,
//!   `--password`, `mysql -p…`, `sshpass -p`, `docker login -p`); they leave
//!   code references (`X25519.secret_length`, `get_token()`), names of ids
//!   (`credentialsId`), templates (`${DB_PASSWORD}`) and placeholders alone.
//! - **Exact values** ([`Redactor::add_known_secret`], [`Redactor::from_env`]):
//!   every secret interlock knows (the API key in use, values of environment
//!   variables whose names look secret, stored keys) is redacted wherever it
//!   appears, whatever its format.
//!
//! [`StreamRedactor`] applies the same detection to text that arrives in
//! chunks, holding back just enough of the tail that a secret split across
//! chunks is still caught.
//!
//! How it runs: one Aho-Corasick pass finds literal anchors (provider
//! prefixes, `password`/`token`/`key` names, `://`, `-----BEGIN`, ...) and the
//! known values together; each anchor hit is confirmed by its rule on a small
//! window (a rule's regex is compiled the first time one of its anchors is
//! seen, so a short input compiles few or none); one more pass over
//! whitespace-separated "tokens" feeds the generic detector and recognises
//! Discord bot tokens, which have no prefix. Overlaps are resolved by priority
//! (known value > private key > provider format > context rule > generic),
//! then length.
//!
//! What is redacted: the secret value only (`password=[REDACTED:password#1]`,
//! `postgres://app:[REDACTED:url_password#1]@db`), except private key blocks,
//! JWTs and Slack webhook URLs, which are replaced whole.
//!
//! Known limits: the generic detector only looks at tokens of 20–160
//! characters that mix upper case, lower case and digits, so a short or
//! single-case random secret with no telling name next to it is not caught
//! (known values are, whatever their shape); a quoted password containing
//! spaces is caught in one-shot redaction but a stream may release its first
//! words before the closing quote arrives; a stream holds back at most 16 KiB
//! of whitespace-free text and 64 KiB of an unterminated private key; a random
//! secret alone on the line right after wrapped base64 data is taken for the
//! data's last line.

mod rules;
mod stream;

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};

use aho_corasick::AhoCorasick;

pub use stream::StreamRedactor;

/// Every kind a [`SecretFinding`] can have (the detector names).
pub const KINDS: &[&str] = &[
    "known_secret",
    "private_key",
    "openai_key",
    "anthropic_key",
    "aws_access_key_id",
    "aws_secret_key",
    "github_token",
    "github_pat",
    "gitlab_token",
    "slack_token",
    "slack_webhook",
    "stripe_key",
    "google_api_key",
    "twilio_key",
    "sendgrid_key",
    "npm_token",
    "pypi_token",
    "huggingface_token",
    "aws_bedrock_key",
    "discord_token",
    "discord_webhook",
    "sonar_token",
    "snyk_token",
    "age_secret_key",
    "digitalocean_token",
    "doppler_token",
    "shopify_token",
    "brevo_key",
    "grafana_token",
    "linear_key",
    "planetscale_token",
    "pulumi_token",
    "rubygems_key",
    "sentry_token",
    "vault_token",
    "docker_pat",
    "groq_key",
    "xai_key",
    "replicate_token",
    "perplexity_key",
    "google_oauth_token",
    "google_oauth_secret",
    "atlassian_token",
    "square_token",
    "databricks_token",
    "postman_key",
    "newrelic_key",
    "terraform_token",
    "langsmith_key",
    "heroku_key",
    "nuget_key",
    "azure_client_secret",
    "mailchimp_key",
    "telegram_bot_token",
    "dynatrace_token",
    "figma_token",
    "onepassword_token",
    "openrouter_key",
    "teams_webhook",
    "sourcegraph_token",
    "tavily_key",
    "azure_devops_pat",
    "provider_token",
    "jwt",
    "url_password",
    "auth_header",
    "basic_auth",
    "password",
    "secret",
    "high_entropy",
];

/// Known secrets shorter than this are ignored: they would redact ordinary words.
pub const MIN_KNOWN_SECRET_LEN: usize = 8;

/// One detected secret: its detector and its byte range in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct SecretFinding {
    /// The detector that found it, one of [`KINDS`].
    pub kind: &'static str,
    /// Byte offset of the first byte of the secret in the input.
    pub start: usize,
    /// Byte offset one past the last byte of the secret in the input.
    pub end: usize,
}

/// The result of [`Redactor::redact`]: the text with every secret replaced by
/// its placeholder, and where the secrets were (offsets into the *input*).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    pub findings: Vec<SecretFinding>,
}

/// A candidate secret found by one detector, before overlap resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cand {
    pub start: usize,
    pub end: usize,
    pub kind: &'static str,
    /// Higher wins when two candidates overlap.
    pub prio: u8,
    /// For known secrets: index into the known names (placeholder label).
    pub known: Option<u32>,
}

/// Detects and redacts secrets. Cheap to clone (the compiled detectors are
/// shared); `Send + Sync`.
#[derive(Clone)]
pub struct Redactor {
    known: Arc<Known>,
}

#[derive(Clone, Default)]
struct Known {
    /// Placeholder label per known name (sanitised).
    labels: Vec<Arc<str>>,
    /// (label index, value) for every value variant we look for.
    values: Vec<(u32, String)>,
    /// The anchors plus the known values (see `rules::Rules::automaton_with`).
    ac: Option<AhoCorasick>,
    /// Values containing whitespace: a stream must hold back a tail that is a
    /// prefix of one of these (the whitespace-free ones are covered by the
    /// trailing-token hold-back).
    spaced: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the known values themselves.
        f.debug_struct("Redactor")
            .field("known_secrets", &self.known.labels)
            .finish()
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    /// A redactor with every pattern detector and no known secrets.
    pub fn new() -> Redactor {
        // Build the anchor automaton now; rule regexes compile on first use.
        let _ = rules::rules();
        Redactor {
            known: Arc::new(Known::default()),
        }
    }

    /// [`Redactor::new`] plus, as known secrets, the values of the environment
    /// variables whose names look secret (see [`is_secret_env_name`]).
    pub fn from_env(vars: impl Iterator<Item = (String, String)>) -> Redactor {
        let mut r = Redactor::new();
        for (name, value) in vars {
            if is_secret_env_name(&name) && !looks_like_path(&value) {
                r.add_known_secret(&name, &value);
            }
        }
        r
    }

    /// Redacts `value` wherever it appears, whatever its format; `name` becomes
    /// the placeholder label (`[REDACTED:OPENAI_API_KEY#1]`). Leading and
    /// trailing whitespace is ignored; values shorter than
    /// [`MIN_KNOWN_SECRET_LEN`] are ignored. The JSON-escaped and
    /// percent-encoded forms of the value are redacted too.
    pub fn add_known_secret(&mut self, name: &str, value: &str) {
        let value = value.trim();
        if value.len() < MIN_KNOWN_SECRET_LEN {
            return;
        }
        let known = Arc::make_mut(&mut self.known);
        let label: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        let label = if label.is_empty() {
            "known_secret".to_owned()
        } else {
            label
        };
        let idx = match known.labels.iter().position(|l| **l == *label) {
            Some(i) => i as u32,
            None => {
                known.labels.push(label.into());
                (known.labels.len() - 1) as u32
            }
        };
        let mut variants = vec![value.to_owned()];
        let json = serde_json::to_string(value).unwrap_or_default();
        let json = json.trim_matches('"');
        if json != value {
            variants.push(json.to_owned());
        }
        let pct = percent_encode(value);
        if pct != value {
            variants.push(pct);
        }
        for v in variants {
            if !known.values.iter().any(|(_, x)| *x == v) {
                if v.bytes().any(|b| b.is_ascii_whitespace()) {
                    known.spaced.push(v.clone());
                }
                known.values.push((idx, v));
            }
        }
        known.ac = rules::rules().automaton_with(known.values.iter().map(|(_, v)| v.as_str()));
    }

    /// How many known values (including encoded variants) are redacted.
    pub fn known_secret_count(&self) -> usize {
        self.known.values.len()
    }

    /// Redacts `text`, numbering placeholders afresh (`#1` for the first secret
    /// of each kind). Use [`Redactor::redact_with`] to keep numbering stable
    /// over a conversation.
    pub fn redact(&self, text: &str) -> Redacted {
        self.redact_with(text, &Placeholders::new())
    }

    /// Redacts `text`, taking placeholders from (and recording new ones in)
    /// `placeholders`: the same secret value always gets the same placeholder.
    pub fn redact_with(&self, text: &str, placeholders: &Placeholders) -> Redacted {
        let cands = self.candidates(text);
        if cands.is_empty() {
            return Redacted {
                text: text.to_owned(),
                findings: Vec::new(),
            };
        }
        let mut out = String::with_capacity(text.len());
        let mut findings = Vec::with_capacity(cands.len());
        let mut ph = placeholders.lock();
        let mut pos = 0;
        for c in &cands {
            out.push_str(&text[pos..c.start]);
            out.push_str(&ph.get(self.label(c), &text[c.start..c.end]));
            pos = c.end;
            findings.push(SecretFinding {
                kind: c.kind,
                start: c.start,
                end: c.end,
            });
        }
        out.push_str(&text[pos..]);
        Redacted {
            text: out,
            findings,
        }
    }

    /// Where the secrets in `text` are, without redacting (sorted, disjoint).
    pub fn find(&self, text: &str) -> Vec<SecretFinding> {
        self.candidates(text)
            .into_iter()
            .map(|c| SecretFinding {
                kind: c.kind,
                start: c.start,
                end: c.end,
            })
            .collect()
    }

    /// Whether `text` contains anything this redactor would redact.
    pub fn contains_secret(&self, text: &str) -> bool {
        !self.candidates(text).is_empty()
    }

    pub(crate) fn label(&self, c: &Cand) -> &str {
        match c.known {
            Some(i) => &self.known.labels[i as usize],
            None => c.kind,
        }
    }

    /// All detectors, overlaps resolved (priority, then length), sorted by start.
    pub(crate) fn candidates(&self, text: &str) -> Vec<Cand> {
        let mut cands = Vec::new();
        rules::rules().scan(text, &mut cands, self.known.ac.as_ref(), &self.known.values);
        resolve(cands, text)
    }

    /// Known values containing whitespace (for the stream hold-back).
    pub(crate) fn spaced_known(&self) -> &[String] {
        &self.known.spaced
    }
}

/// Keeps the highest-priority (then longest, then leftmost) candidate of every
/// overlapping group; returns them sorted by start.
fn resolve(mut cands: Vec<Cand>, text: &str) -> Vec<Cand> {
    if cands.len() <= 1 {
        return cands;
    }
    cands.sort_by(|a, b| {
        b.prio
            .cmp(&a.prio)
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
    });
    let mut kept: Vec<Cand> = Vec::with_capacity(cands.len());
    // `kept` sorted by start, disjoint.
    for c in cands {
        let i = kept.partition_point(|k| k.start < c.start);
        let overlaps_prev = i > 0 && kept[i - 1].end > c.start;
        let overlaps_next = i < kept.len() && kept[i].start < c.end;
        if !overlaps_prev && !overlaps_next {
            debug_assert!(text.is_char_boundary(c.start) && text.is_char_boundary(c.end));
            kept.insert(i, c);
        }
    }
    kept
}

/// Stable placeholders within one conversation: the same secret value always
/// maps to the same `[REDACTED:kind#n]`.
///
/// A cheap handle: clones share the same numbering (so a stream redactor and
/// one-shot redactions in the same conversation agree). Only a keyed hash of
/// each secret is kept, never the secret itself.
#[derive(Clone, Default)]
pub struct Placeholders {
    inner: Arc<Mutex<PhInner>>,
}

#[derive(Default)]
pub(crate) struct PhInner {
    hasher: std::collections::hash_map::RandomState,
    by_value: HashMap<u64, Arc<str>>,
    counters: HashMap<String, u32>,
}

impl PhInner {
    pub(crate) fn get(&mut self, label: &str, value: &str) -> Arc<str> {
        let h = self.hasher.hash_one(value);
        if let Some(p) = self.by_value.get(&h) {
            return p.clone();
        }
        let n = self.counters.entry(label.to_owned()).or_insert(0);
        *n += 1;
        let p: Arc<str> = format!("[REDACTED:{label}#{n}]").into();
        self.by_value.insert(h, p.clone());
        p
    }
}

impl fmt::Debug for Placeholders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Placeholders")
            .field("distinct_secrets", &self.len())
            .finish()
    }
}

impl Placeholders {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many distinct secrets have been given a placeholder.
    pub fn len(&self) -> usize {
        self.lock().by_value.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, PhInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl From<&Placeholders> for Placeholders {
    fn from(p: &Placeholders) -> Self {
        p.clone()
    }
}

impl From<&mut Placeholders> for Placeholders {
    fn from(p: &mut Placeholders) -> Self {
        p.clone()
    }
}

/// Whether an environment variable's *name* says its value is a secret:
/// `*_KEY`, `*_TOKEN`, `*_SECRET`, `*PASSWORD*`, `*PASSWD*`, `*PASSPHRASE*`,
/// `*CREDENTIAL*`, `*API_KEY*`, `*APIKEY*`, `*PRIVATE_KEY*`, `*_PAT`,
/// `*AUTH_TOKEN*`, `*_DSN`, `DATABASE_URL`, cloud credentials (`AWS_*`,
/// `AZURE_*`, `GOOGLE_*`, `GCP_*` whose names mention a key, secret, token,
/// session or credential), but not names that point at a file or path
/// (`*_FILE`, `*_PATH`, `*_DIR`) nor the usual non-secret cloud settings
/// (`AWS_REGION`, `AWS_PROFILE`, ...).
pub fn is_secret_env_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let n = n.as_str();
    if n.is_empty() {
        return false;
    }
    for suffix in [
        "_FILE", "_PATH", "_DIR", "_ID_FILE", "_SOCK", "_HOST", "_PORT",
    ] {
        if n.ends_with(suffix) {
            return false;
        }
    }
    const NOT_SECRET: &[&str] = &[
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_DEFAULT_OUTPUT",
        "AWS_PAGER",
        "AWS_CA_BUNDLE",
        "AWS_ENDPOINT_URL",
        "AWS_SDK_LOAD_CONFIG",
        "AWS_ACCESS_KEY_ID", // an identifier; the pattern detector still catches AKIA ids
        "GOOGLE_APPLICATION_CREDENTIALS", // a file path
        "GPG_TTY",
        "SSH_AUTH_SOCK",
        "SSH_AGENT_PID",
        "TOKENIZERS_PARALLELISM",
        "KEYTIMEOUT",
    ];
    if NOT_SECRET.contains(&n) {
        return false;
    }
    for needle in [
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "CREDENTIAL",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "SECRET",
        "AUTH_TOKEN",
        "ACCESS_TOKEN",
        "REFRESH_TOKEN",
        "SESSION_TOKEN",
        "ACCESS_KEY",
    ] {
        if n.contains(needle) {
            return true;
        }
    }
    for suffix in ["_KEY", "_TOKEN", "_PAT", "_DSN", "_PASS", "_PWD"] {
        if n.ends_with(suffix) {
            return true;
        }
    }
    if n == "DATABASE_URL" || n.ends_with("_DATABASE_URL") || n == "REDIS_URL" {
        return true;
    }
    for cloud in ["AWS_", "AZURE_", "GOOGLE_", "GCP_", "GCLOUD_"] {
        if n.starts_with(cloud)
            && ["KEY", "SECRET", "TOKEN", "SESSION", "CREDENTIAL"]
                .iter()
                .any(|w| n.contains(w))
        {
            return true;
        }
    }
    false
}

/// `/etc/x/key.pem`-like values: a secret-named variable pointing at a file.
fn looks_like_path(v: &str) -> bool {
    (v.starts_with('/') || v.starts_with("~/"))
        && v[1..].contains('/')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-' | b'~'))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<Redactor>();
        assert::<Placeholders>();
        assert::<StreamRedactor<'static>>();
    }

    #[test]
    fn env_names() {
        for n in [
            "OPENAI_API_KEY",
            "GITHUB_TOKEN",
            "DB_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "MY_SECRET",
            "DATABASE_URL",
            "GOOGLE_APPLICATION_CREDENTIALS_JSON",
            "HF_TOKEN",
            "NPM_TOKEN",
            "PGPASSWORD",
        ] {
            assert!(is_secret_env_name(n), "{n}");
        }
        for n in [
            "PATH",
            "HOME",
            "AWS_REGION",
            "AWS_PROFILE",
            "TERM",
            "SSH_AUTH_SOCK",
            "GOOGLE_APPLICATION_CREDENTIALS_FILE",
            "SSH_KEY_PATH",
            "KEYBOARD",
            "LANG",
        ] {
            assert!(!is_secret_env_name(n), "{n}");
        }
    }
}

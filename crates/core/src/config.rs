//! Configuration: a strict TOML file, named profiles, and the precedence rules
//! that turn flags, environment, profile, file and defaults into [`Settings`].
//!
//! Config is data. Nothing read here is executed or templated into code, unknown
//! keys and wrong types are errors naming the key and the file, and secrets are
//! refused outright (they belong in the environment, not in a TOML file).

use interlock_guard::analysis::{Risk, Rules};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default model when nothing else names one.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";
/// Default OpenAI-compatible endpoint.
pub const DEFAULT_API_BASE: &str = "https://api.openai.com/v1";
/// Default endpoint when the provider is Anthropic.
pub const DEFAULT_ANTHROPIC_API_BASE: &str = "https://api.anthropic.com/v1";

/// How code reaches interlock from the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ToolMode {
    /// The model calls the `execute` tool (function calling).
    #[default]
    Tools,
    /// No tool schema is sent; tagged markdown fences in the reply are run.
    Markdown,
}

impl ToolMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolMode::Tools => "tools",
            ToolMode::Markdown => "markdown",
        }
    }
}

impl std::str::FromStr for ToolMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tools" => Ok(ToolMode::Tools),
            "markdown" => Ok(ToolMode::Markdown),
            other => Err(format!(
                "unknown tool mode {other:?} (expected tools or markdown)"
            )),
        }
    }
}

/// How code is isolated. `off` needs an explicit, separate opt-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxSetting {
    /// Nothing on the host is writable, only a private temp dir.
    ReadOnly,
    /// The workspace and a private temp dir are writable.
    #[default]
    WorkspaceWrite,
    /// No sandbox at all (requires `dangerously_disable_sandbox`).
    Off,
}

impl SandboxSetting {
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxSetting::ReadOnly => "read-only",
            SandboxSetting::WorkspaceWrite => "workspace-write",
            SandboxSetting::Off => "off",
        }
    }
}

/// What sandboxed code may reach over the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkSetting {
    /// Nothing: no sockets but `socketpair`, its own empty network namespace.
    #[default]
    None,
    /// The host's network, unfiltered: code can send what it can read anywhere.
    Full,
}

impl NetworkSetting {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkSetting::None => "none",
            NetworkSetting::Full => "full",
        }
    }
}

/// Resource limits for sandboxed code; `None` keeps interlock's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LimitSettings {
    pub memory_bytes: Option<u64>,
    pub cpu_seconds: Option<u64>,
    pub processes: Option<u64>,
    pub file_size_bytes: Option<u64>,
    pub open_files: Option<u64>,
}

/// How the guard's rating turns into decisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardSettings {
    /// `--auto-run` (and "always this session") run blocks up to this risk
    /// without asking; riskier ones are asked about.
    pub auto_run_max_risk: Risk,
    /// Critical blocks are refused without asking (override: `--allow-critical`).
    pub refuse_critical: bool,
    /// After untrusted content (program output, file contents) has entered the
    /// conversation, auto-approval skips blocks that delete, use the network,
    /// touch git or change anything outside the workspace.
    pub untrusted_narrows_auto_run: bool,
    pub rules: Rules,
}

/// Parses a size such as `512M`, `4G`, `1048576` (bytes), `64K`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("{s:?}: unknown size suffix (use K, M, G or T)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size (examples: 512M, 4G, 1048576)"))?;
    n.checked_mul(mult)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("{s:?} is out of range"))
}

/// The keys a config file or a profile may set. Every field is optional so a
/// profile can override just what it names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub model: Option<String>,
    pub api_base: Option<String>,
    pub provider: Option<String>,
    pub tool_mode: Option<ToolMode>,
    pub auto_run: Option<bool>,
    pub max_turns: Option<u32>,
    pub max_output: Option<usize>,
    /// Per-run timeout in seconds.
    pub timeout: Option<u64>,
    pub workspace: Option<PathBuf>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub sandbox: Option<SandboxSetting>,
    /// Required (and only honoured) together with `sandbox = "off"`.
    pub dangerously_disable_sandbox: Option<bool>,
    /// Network access for sandboxed code: "none" (default) or "full".
    pub network: Option<NetworkSetting>,
    /// Hosts sandboxed code may reach through interlock's proxy (host, `*.suffix`, `HOST:PORT`,
    /// IP address, or a preset: pypi, npm, crates, github). Adds up across layers.
    pub allow_net: Option<Vec<String>>,
    /// Extra paths hidden from sandboxed code.
    pub hide: Option<Vec<PathBuf>>,
    /// Paths in home directories that sandboxed code may read (home is otherwise invisible).
    pub read: Option<Vec<PathBuf>>,
    /// Allow a system directory (`/`, `/etc`, `/usr/local/bin`, ...) as the writable workspace.
    pub dangerously_allow_system_workspace: Option<bool>,
    /// Memory per process, e.g. "4G".
    pub limit_memory: Option<String>,
    /// CPU seconds per process.
    pub limit_cpu: Option<u64>,
    /// Processes in the sandbox.
    pub limit_procs: Option<u64>,
    /// Largest file a process may write, e.g. "1G".
    pub limit_fsize: Option<String>,
    /// Open files per process.
    pub limit_nofile: Option<u64>,
    /// Highest risk `--auto-run` runs without asking (none, low, medium, high).
    pub auto_run_max_risk: Option<Risk>,
    /// Refuse critical blocks outright instead of asking (default true).
    pub refuse_critical: Option<bool>,
    /// Once program output or file contents have entered the conversation,
    /// `--auto-run` asks about blocks that delete, touch the network, git or
    /// anything outside the workspace (default true).
    pub untrusted_narrows_auto_run: Option<bool>,
    /// Command prefixes whose own findings are dropped (not critical ones).
    pub allow_commands: Option<Vec<String>>,
    /// Command prefixes that are always critical.
    pub deny_commands: Option<Vec<String>>,
    /// Paths whose use is always critical.
    pub deny_paths: Option<Vec<PathBuf>>,
    /// The model's context window in tokens; older turns are trimmed to fit.
    pub context_window: Option<usize>,
    /// Stop before a request would take the conversation's cost past this (USD).
    pub max_budget: Option<f64>,
}

/// A whole config file: top-level keys plus `[profiles.NAME]` tables.
///
/// The top-level keys repeat [`Layer`]'s fields instead of using
/// `#[serde(flatten)]`, because flattening loses the line/column of errors and
/// the list of expected keys in "unknown field" messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub model: Option<String>,
    pub api_base: Option<String>,
    pub provider: Option<String>,
    pub tool_mode: Option<ToolMode>,
    pub auto_run: Option<bool>,
    pub max_turns: Option<u32>,
    pub max_output: Option<usize>,
    pub timeout: Option<u64>,
    pub workspace: Option<PathBuf>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub sandbox: Option<SandboxSetting>,
    pub dangerously_disable_sandbox: Option<bool>,
    pub network: Option<NetworkSetting>,
    pub allow_net: Option<Vec<String>>,
    pub hide: Option<Vec<PathBuf>>,
    pub read: Option<Vec<PathBuf>>,
    pub dangerously_allow_system_workspace: Option<bool>,
    pub limit_memory: Option<String>,
    pub limit_cpu: Option<u64>,
    pub limit_procs: Option<u64>,
    pub limit_fsize: Option<String>,
    pub limit_nofile: Option<u64>,
    pub auto_run_max_risk: Option<Risk>,
    pub refuse_critical: Option<bool>,
    pub untrusted_narrows_auto_run: Option<bool>,
    pub allow_commands: Option<Vec<String>>,
    pub deny_commands: Option<Vec<String>>,
    pub deny_paths: Option<Vec<PathBuf>>,
    pub context_window: Option<usize>,
    pub max_budget: Option<f64>,
    /// Profile used when `--profile` is not given.
    pub default_profile: Option<String>,
    /// Conversations not written to for this long (e.g. "30d") are deleted
    /// when interlock starts.
    pub history_retention: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Layer>,
    /// USD per million tokens, `[input, output]`, for models the built-in
    /// table does not know (or to override it).
    #[serde(default)]
    pub prices: BTreeMap<String, [f64; 2]>,
}

/// A configuration problem, always naming the file or the setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "{path}: `{key}` is not allowed in a config file; keep API keys out of files that may be shared or committed — set OPENAI_API_KEY in the environment instead"
    )]
    SecretInFile { path: PathBuf, key: String },
    #[error("profile {name:?} is not defined{}", known_profiles(.known))]
    UnknownProfile { name: String, known: Vec<String> },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    #[error(
        "cannot find a home directory for interlock's files; set INTERLOCK_HOME to a directory"
    )]
    NoHome,
}

fn known_profiles(known: &[String]) -> String {
    if known.is_empty() {
        " (the config file defines no profiles)".to_string()
    } else {
        format!(" (defined: {})", known.join(", "))
    }
}

/// Keys that look like credentials and are therefore refused anywhere in a file.
const SECRET_KEYS: &[&str] = &["api_key", "apikey", "token", "secret", "password"];

impl ConfigFile {
    /// The top-level settings as a layer.
    pub fn base(&self) -> Layer {
        Layer {
            model: self.model.clone(),
            api_base: self.api_base.clone(),
            provider: self.provider.clone(),
            tool_mode: self.tool_mode,
            auto_run: self.auto_run,
            max_turns: self.max_turns,
            max_output: self.max_output,
            timeout: self.timeout,
            workspace: self.workspace.clone(),
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            sandbox: self.sandbox,
            dangerously_disable_sandbox: self.dangerously_disable_sandbox,
            network: self.network,
            allow_net: self.allow_net.clone(),
            hide: self.hide.clone(),
            read: self.read.clone(),
            dangerously_allow_system_workspace: self.dangerously_allow_system_workspace,
            limit_memory: self.limit_memory.clone(),
            limit_cpu: self.limit_cpu,
            limit_procs: self.limit_procs,
            limit_fsize: self.limit_fsize.clone(),
            limit_nofile: self.limit_nofile,
            auto_run_max_risk: self.auto_run_max_risk,
            refuse_critical: self.refuse_critical,
            untrusted_narrows_auto_run: self.untrusted_narrows_auto_run,
            allow_commands: self.allow_commands.clone(),
            deny_commands: self.deny_commands.clone(),
            deny_paths: self.deny_paths.clone(),
            context_window: self.context_window,
            max_budget: self.max_budget,
        }
    }

    /// Parses and validates config text. `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        // Look for secret-looking keys first so the user gets the specific reason,
        // not a generic "unknown field".
        if let Ok(value) = text.parse::<toml::Table>()
            && let Some(key) = find_secret_key(&value, "")
        {
            return Err(ConfigError::SecretInFile {
                path: path.to_path_buf(),
                key,
            });
        }
        let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        file.base().validate("")?;
        for (name, layer) in &file.profiles {
            layer.validate(&format!("profiles.{name}."))?;
        }
        for (model, [input, output]) in &file.prices {
            if !(input.is_finite() && output.is_finite() && *input >= 0.0 && *output >= 0.0) {
                return Err(ConfigError::Invalid {
                    key: format!("prices.{model}"),
                    message: "prices must be two non-negative numbers: [input, output] USD per million tokens".into(),
                });
            }
        }
        if let Some(p) = &file.default_profile
            && !file.profiles.contains_key(p)
        {
            return Err(ConfigError::UnknownProfile {
                name: p.clone(),
                known: file.profiles.keys().cloned().collect(),
            });
        }
        Ok(file)
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        ConfigFile::parse(&text, path)
    }
}

fn find_secret_key(table: &toml::Table, prefix: &str) -> Option<String> {
    for (k, v) in table {
        if SECRET_KEYS.contains(&k.to_ascii_lowercase().as_str()) {
            return Some(format!("{prefix}{k}"));
        }
        if let toml::Value::Table(t) = v
            && let Some(found) = find_secret_key(t, &format!("{prefix}{k}."))
        {
            return Some(found);
        }
    }
    None
}

impl Layer {
    fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| ConfigError::Invalid {
            key: format!("{prefix}{key}"),
            message: message.to_string(),
        };
        if let Some(m) = &self.model
            && m.trim().is_empty()
        {
            return Err(bad("model", "must not be empty"));
        }
        if let Some(b) = &self.api_base {
            validate_api_base(b).map_err(|m| bad("api_base", &m))?;
        }
        if let Some(p) = &self.provider
            && p != "openai"
            && p != "anthropic"
        {
            return Err(bad(
                "provider",
                "must be \"openai\" (OpenAI and every compatible server) or \"anthropic\"",
            ));
        }
        if self.max_turns == Some(0) {
            return Err(bad("max_turns", "must be at least 1"));
        }
        if let Some(n) = self.max_output
            && n < 200
        {
            return Err(bad("max_output", "must be at least 200 characters"));
        }
        if self.timeout == Some(0) {
            return Err(bad("timeout", "must be at least 1 second"));
        }
        if let Some(t) = self.temperature
            && !(0.0..=2.0).contains(&t)
        {
            return Err(bad("temperature", "must be between 0 and 2"));
        }
        if let Some(w) = &self.workspace {
            validate_workspace(w).map_err(|m| bad("workspace", &m))?;
        }
        for (key, v) in [
            ("limit_memory", &self.limit_memory),
            ("limit_fsize", &self.limit_fsize),
        ] {
            if let Some(v) = v {
                parse_size(v).map_err(|m| bad(key, &m))?;
            }
        }
        for (key, v) in [
            ("limit_cpu", self.limit_cpu),
            ("limit_procs", self.limit_procs),
            ("limit_nofile", self.limit_nofile),
        ] {
            if v == Some(0) {
                return Err(bad(key, "must be at least 1"));
            }
        }
        if let Some(w) = self.context_window
            && w < 512
        {
            return Err(bad("context_window", "must be at least 512 tokens"));
        }
        if let Some(b) = self.max_budget
            && !(b > 0.0 && b.is_finite())
        {
            return Err(bad("max_budget", "must be a positive amount in USD"));
        }
        if self.auto_run_max_risk == Some(Risk::Critical) {
            return Err(bad(
                "auto_run_max_risk",
                "critical blocks are never run without asking; use high at most",
            ));
        }
        if let Some(entries) = &self.allow_net
            && let Err(e) = interlock_netproxy::AllowList::parse(entries)
        {
            return Err(bad("allow_net", &e.to_string()));
        }
        for (key, paths) in [("hide", &self.hide), ("read", &self.read)] {
            for p in paths.iter().flatten() {
                if !p.is_absolute() {
                    return Err(bad(
                        key,
                        &format!("{} must be an absolute path", p.display()),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn validate_api_base(b: &str) -> Result<(), String> {
    let rest = b
        .strip_prefix("http://")
        .or_else(|| b.strip_prefix("https://"))
        .ok_or_else(|| format!("{b:?} must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("{b:?} has no host"));
    }
    if b.contains(char::is_whitespace) {
        return Err(format!("{b:?} contains whitespace"));
    }
    Ok(())
}

fn validate_workspace(w: &Path) -> Result<(), String> {
    match std::fs::metadata(w) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!("{} is not a directory", w.display())),
        Err(e) => Err(format!("{}: {e}", w.display())),
    }
}

/// Where interlock keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    pub config_file: PathBuf,
    pub history_dir: PathBuf,
    pub state_dir: PathBuf,
}

impl Dirs {
    /// `INTERLOCK_HOME` puts everything under one directory; otherwise the XDG
    /// config, data and state directories are used.
    pub fn discover(interlock_home: Option<&Path>) -> Result<Dirs, ConfigError> {
        if let Some(home) = interlock_home {
            return Ok(Dirs {
                config_file: home.join("config.toml"),
                history_dir: home.join("history"),
                state_dir: home.join("state"),
            });
        }
        use etcetera::BaseStrategy;
        let base = etcetera::choose_base_strategy().map_err(|_| ConfigError::NoHome)?;
        let data = base.data_dir().join("interlock");
        Ok(Dirs {
            config_file: base.config_dir().join("interlock").join("config.toml"),
            history_dir: data.join("history"),
            state_dir: base
                .state_dir()
                .map(|d| d.join("interlock"))
                .unwrap_or_else(|| data.join("state")),
        })
    }
}

/// Values that come from command-line flags (highest precedence).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub layer: Layer,
    pub profile: Option<String>,
}

/// Values read from the environment (between flags and files).
#[derive(Debug, Clone, Default)]
pub struct EnvLayer {
    /// `OPENAI_BASE_URL`.
    pub api_base: Option<String>,
    /// `INTERLOCK_MODEL`.
    pub model: Option<String>,
}

impl EnvLayer {
    /// Reads the variables interlock understands from a lookup function.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> EnvLayer {
        let non_empty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        EnvLayer {
            api_base: non_empty("OPENAI_BASE_URL"),
            model: non_empty("INTERLOCK_MODEL"),
        }
    }
}

/// The effective configuration after applying every layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub model: String,
    pub api_base: String,
    pub provider: String,
    pub tool_mode: ToolMode,
    pub auto_run: bool,
    pub max_turns: u32,
    pub max_output: usize,
    #[serde(serialize_with = "secs")]
    pub timeout: Duration,
    pub workspace: PathBuf,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub sandbox: SandboxSetting,
    pub dangerously_disable_sandbox: bool,
    /// Network access for sandboxed code.
    pub network: NetworkSetting,
    /// Hosts reachable through the proxy (every layer's list, combined); with `network = "none"`
    /// a non-empty list turns the proxy on.
    pub allow_net: Vec<String>,
    /// Extra hidden paths: every layer's list, combined.
    pub hide: Vec<PathBuf>,
    /// Paths in home directories sandboxed code may read: every layer's list, combined.
    pub read: Vec<PathBuf>,
    /// A system directory may be the writable workspace (explicit, warned about).
    pub dangerously_allow_system_workspace: bool,
    pub limits: LimitSettings,
    /// How the guard's risk rating is applied.
    pub guard: GuardSettings,
    /// Trim old turns to fit this many tokens (None: send everything).
    pub context_window: Option<usize>,
    /// Stop before the conversation's cost would pass this (USD).
    pub max_budget: Option<f64>,
    /// User prices (USD per million tokens, input and output) by model.
    pub prices: BTreeMap<String, [f64; 2]>,
    /// Delete conversations not written to for this long (an age such as
    /// "30d", checked by [`crate::history::parse_age`]), at start.
    pub history_retention: Option<String>,
    /// The profile that was applied, if any.
    pub profile: Option<String>,
    /// Where each value came from, for `config show`.
    #[serde(skip)]
    pub sources: BTreeMap<&'static str, Source>,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// Which layer supplied a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    Profile,
    File,
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "flag",
            Source::Env => "environment",
            Source::Profile => "profile",
            Source::File => "config file",
            Source::Default => "default",
        })
    }
}

impl Settings {
    /// Cost in USD of `usage` for the configured model: the user's price
    /// table first, then the built-in one.
    pub fn cost_usd(&self, usage: &interlock_protocol::Usage) -> Option<f64> {
        match self.prices.get(&self.model) {
            Some([input, output]) => Some(
                (usage.prompt_tokens as f64 * input + usage.completion_tokens as f64 * output)
                    / 1_000_000.0,
            ),
            None => interlock_llm::cost_usd(&self.model, usage),
        }
    }

    /// Applies precedence flag > env > profile > config file > default.
    ///
    /// `cwd` is the default workspace. Pure: reads nothing but its arguments
    /// (and checks that a workspace directory exists).
    pub fn resolve(
        flags: &Overrides,
        env: &EnvLayer,
        file: Option<&ConfigFile>,
        cwd: &Path,
    ) -> Result<Settings, ConfigError> {
        flags.layer.validate("--")?;
        let empty = ConfigFile::default();
        let file = file.unwrap_or(&empty);
        let profile_name = flags
            .profile
            .clone()
            .or_else(|| file.default_profile.clone());
        let profile = match &profile_name {
            Some(name) => Some(file.profiles.get(name).cloned().ok_or_else(|| {
                ConfigError::UnknownProfile {
                    name: name.clone(),
                    known: file.profiles.keys().cloned().collect(),
                }
            })?),
            None => None,
        };
        let env_layer = Layer {
            model: env.model.clone(),
            api_base: env.api_base.clone(),
            ..Layer::default()
        };
        if let Some(b) = &env_layer.api_base {
            validate_api_base(b).map_err(|m| ConfigError::Invalid {
                key: "OPENAI_BASE_URL".into(),
                message: m,
            })?;
        }
        let profile_layer = profile.clone().unwrap_or_default();
        let file_layer = file.base();
        let layers: [(&Layer, Source); 4] = [
            (&flags.layer, Source::Flag),
            (&env_layer, Source::Env),
            (&profile_layer, Source::Profile),
            (&file_layer, Source::File),
        ];
        let mut sources = BTreeMap::new();
        macro_rules! pick {
            ($field:ident) => {{
                let mut found = None;
                for (layer, src) in &layers {
                    if layer.$field.is_some() {
                        sources.insert(stringify!($field), *src);
                        found = layer.$field.clone();
                        break;
                    }
                }
                if found.is_none() {
                    sources.insert(stringify!($field), Source::Default);
                }
                found
            }};
        }
        let merged = Layer {
            model: pick!(model),
            api_base: pick!(api_base),
            provider: pick!(provider),
            tool_mode: pick!(tool_mode),
            auto_run: pick!(auto_run),
            max_turns: pick!(max_turns),
            max_output: pick!(max_output),
            timeout: pick!(timeout),
            workspace: pick!(workspace),
            temperature: pick!(temperature),
            max_tokens: pick!(max_tokens),
            sandbox: pick!(sandbox),
            dangerously_disable_sandbox: pick!(dangerously_disable_sandbox),
            network: pick!(network),
            allow_net: None,
            hide: None,
            read: None,
            dangerously_allow_system_workspace: pick!(dangerously_allow_system_workspace),
            limit_memory: pick!(limit_memory),
            limit_cpu: pick!(limit_cpu),
            limit_procs: pick!(limit_procs),
            limit_fsize: pick!(limit_fsize),
            limit_nofile: pick!(limit_nofile),
            auto_run_max_risk: pick!(auto_run_max_risk),
            refuse_critical: pick!(refuse_critical),
            untrusted_narrows_auto_run: pick!(untrusted_narrows_auto_run),
            allow_commands: None,
            deny_commands: None,
            deny_paths: None,
            context_window: pick!(context_window),
            max_budget: pick!(max_budget),
        };
        // Rules add up across layers, like hidden paths.
        let mut rules = Rules::default();
        for (layer, _) in &layers {
            for c in layer.allow_commands.iter().flatten() {
                if !rules.allow_commands.contains(c) {
                    rules.allow_commands.push(c.clone());
                }
            }
            for c in layer.deny_commands.iter().flatten() {
                if !rules.deny_commands.contains(c) {
                    rules.deny_commands.push(c.clone());
                }
            }
            for p in layer.deny_paths.iter().flatten() {
                if !rules.deny_paths.contains(p) {
                    rules.deny_paths.push(p.clone());
                }
            }
        }
        // Hidden paths add up across layers: a profile cannot un-hide what the file hides.
        let mut hide = Vec::new();
        for (layer, _) in &layers {
            for p in layer.hide.iter().flatten() {
                if !hide.contains(p) {
                    hide.push(p.clone());
                }
            }
        }
        let mut allow_net: Vec<String> = Vec::new();
        for (layer, _) in &layers {
            for h in layer.allow_net.iter().flatten() {
                if !allow_net.contains(h) {
                    allow_net.push(h.clone());
                }
            }
        }
        let mut read = Vec::new();
        for (layer, _) in &layers {
            for p in layer.read.iter().flatten() {
                if !read.contains(p) {
                    read.push(p.clone());
                }
            }
        }
        let size = |key: &str, v: &Option<String>| -> Result<Option<u64>, ConfigError> {
            v.as_deref()
                .map(parse_size)
                .transpose()
                .map_err(|m| ConfigError::Invalid {
                    key: key.to_string(),
                    message: m,
                })
        };
        let limits = LimitSettings {
            memory_bytes: size("limit_memory", &merged.limit_memory)?,
            cpu_seconds: merged.limit_cpu,
            processes: merged.limit_procs,
            file_size_bytes: size("limit_fsize", &merged.limit_fsize)?,
            open_files: merged.limit_nofile,
        };
        // The provider is inferred from the base URL or model name when not given,
        // and an Anthropic provider gets Anthropic's endpoint by default.
        let model = merged
            .model
            .clone()
            .unwrap_or_else(|| DEFAULT_MODEL.to_string());
        let provider = merged.provider.clone().unwrap_or_else(|| {
            interlock_llm::infer_provider(merged.api_base.as_deref().unwrap_or(""), &model)
                .as_str()
                .to_string()
        });
        let api_base = merged
            .api_base
            .clone()
            .unwrap_or_else(|| {
                if provider == "anthropic" {
                    DEFAULT_ANTHROPIC_API_BASE.to_string()
                } else {
                    DEFAULT_API_BASE.to_string()
                }
            })
            .trim_end_matches('/')
            .to_string();
        let workspace = match merged.workspace {
            Some(w) if w.is_absolute() => w,
            Some(w) => cwd.join(w),
            None => cwd.to_path_buf(),
        };
        let workspace = workspace.canonicalize().map_err(|e| ConfigError::Invalid {
            key: "workspace".into(),
            message: format!("{}: {e}", workspace.display()),
        })?;
        Ok(Settings {
            model: model.clone(),
            api_base: api_base.clone(),
            provider,
            tool_mode: merged.tool_mode.unwrap_or_default(),
            auto_run: merged.auto_run.unwrap_or(false),
            max_turns: merged.max_turns.unwrap_or(20),
            max_output: merged.max_output.unwrap_or(4000),
            timeout: Duration::from_secs(merged.timeout.unwrap_or(120)),
            workspace,
            temperature: merged.temperature,
            max_tokens: merged.max_tokens,
            sandbox: merged.sandbox.unwrap_or_default(),
            dangerously_disable_sandbox: merged.dangerously_disable_sandbox.unwrap_or(false),
            network: merged.network.unwrap_or_default(),
            allow_net,
            hide,
            read,
            dangerously_allow_system_workspace: merged
                .dangerously_allow_system_workspace
                .unwrap_or(false),
            limits,
            guard: GuardSettings {
                auto_run_max_risk: merged.auto_run_max_risk.unwrap_or(Risk::Low),
                refuse_critical: merged.refuse_critical.unwrap_or(true),
                untrusted_narrows_auto_run: merged.untrusted_narrows_auto_run.unwrap_or(true),
                rules,
            },
            context_window: merged.context_window,
            max_budget: merged.max_budget,
            prices: file.prices.clone(),
            history_retention: match &file.history_retention {
                Some(t) if crate::history::parse_age(t).is_none() => {
                    return Err(ConfigError::Invalid {
                        key: "history_retention".into(),
                        message: format!("{t:?} is not an age (examples: 30d, 12h, 2w)"),
                    });
                }
                other => other.clone(),
            },
            profile: profile_name,
            sources,
        })
    }

    /// A TOML rendering of the effective settings with the source of each value,
    /// for `interlock config show`. Holds no secrets by construction; `api_key`
    /// is shown only as set / not set by the caller.
    pub fn to_annotated_toml(&self) -> String {
        let value = toml::Value::try_from(self).expect("settings serialise");
        let mut out = String::new();
        if let toml::Value::Table(t) = value {
            for (k, v) in t {
                let src = self
                    .sources
                    .get(k.as_str())
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "derived".into());
                out.push_str(&format!("{k} = {v}  # {src}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("/home/u/.config/interlock/config.toml")
    }

    #[test]
    fn unknown_key_is_an_error_naming_key_and_file() {
        let err = ConfigFile::parse("modle = \"x\"\n", &p()).unwrap_err();
        insta::assert_snapshot!(err.to_string(), @r#"
        invalid config file /home/u/.config/interlock/config.toml: TOML parse error at line 1, column 1
          |
        1 | modle = "x"
          | ^^^^^
        unknown field `modle`, expected one of `model`, `api_base`, `provider`, `tool_mode`, `auto_run`, `max_turns`, `max_output`, `timeout`, `workspace`, `temperature`, `max_tokens`, `sandbox`, `dangerously_disable_sandbox`, `network`, `allow_net`, `hide`, `read`, `dangerously_allow_system_workspace`, `limit_memory`, `limit_cpu`, `limit_procs`, `limit_fsize`, `limit_nofile`, `auto_run_max_risk`, `refuse_critical`, `untrusted_narrows_auto_run`, `allow_commands`, `deny_commands`, `deny_paths`, `context_window`, `max_budget`, `default_profile`, `history_retention`, `profiles`, `prices`
        "#);
    }

    #[test]
    fn wrong_type_is_an_error_naming_key_and_file() {
        let err = ConfigFile::parse("max_turns = \"many\"\n", &p()).unwrap_err();
        insta::assert_snapshot!(err.to_string(), @r#"
        invalid config file /home/u/.config/interlock/config.toml: TOML parse error at line 1, column 13
          |
        1 | max_turns = "many"
          |             ^^^^^^
        invalid type: string "many", expected u32
        "#);
    }

    #[test]
    fn unknown_key_in_profile_is_an_error() {
        let err = ConfigFile::parse("[profiles.local]\nmodel = \"m\"\nautorun = true\n", &p())
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `autorun`"), "{err}");
    }

    #[test]
    fn api_keys_are_refused_in_files() {
        let err = ConfigFile::parse("[profiles.x]\napi_key = \"sk-abc\"\n", &p()).unwrap_err();
        insta::assert_snapshot!(err.to_string(), @"/home/u/.config/interlock/config.toml: `profiles.x.api_key` is not allowed in a config file; keep API keys out of files that may be shared or committed — set OPENAI_API_KEY in the environment instead");
        assert!(!err.to_string().contains("sk-abc"));
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = ConfigFile::parse("api_base = \"ftp://x\"\n", &p()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "api_base: \"ftp://x\" must start with http:// or https://"
        );
        let err = ConfigFile::parse("workspace = \"/definitely/not/here\"\n", &p()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("workspace: /definitely/not/here"),
            "{err}"
        );
        let err = ConfigFile::parse("[profiles.a]\nmax_turns = 0\n", &p()).unwrap_err();
        assert_eq!(err.to_string(), "profiles.a.max_turns: must be at least 1");
    }

    #[test]
    fn precedence_is_flag_env_profile_file_default() {
        let file = ConfigFile::parse(
            r#"
model = "file-model"
api_base = "http://file/v1"
max_turns = 7
timeout = 9
[profiles.local]
model = "profile-model"
api_base = "http://profile/v1"
"#,
            &p(),
        )
        .unwrap();
        let cwd = std::env::temp_dir();
        let env = EnvLayer {
            api_base: Some("http://env/v1".into()),
            model: None,
        };
        let flags = Overrides {
            layer: Layer {
                timeout: Some(3),
                ..Layer::default()
            },
            profile: Some("local".into()),
        };
        let s = Settings::resolve(&flags, &env, Some(&file), &cwd).unwrap();
        assert_eq!(s.timeout, Duration::from_secs(3));
        assert_eq!(s.sources["timeout"], Source::Flag);
        assert_eq!(s.api_base, "http://env/v1");
        assert_eq!(s.sources["api_base"], Source::Env);
        assert_eq!(s.model, "profile-model");
        assert_eq!(s.sources["model"], Source::Profile);
        assert_eq!(s.max_turns, 7);
        assert_eq!(s.sources["max_turns"], Source::File);
        assert_eq!(s.max_output, 4000);
        assert_eq!(s.sources["max_output"], Source::Default);
        assert_eq!(s.workspace, cwd.canonicalize().unwrap());
    }

    #[test]
    fn unknown_profile_lists_known_ones() {
        let file = ConfigFile::parse("[profiles.a]\n[profiles.b]\n", &p()).unwrap();
        let flags = Overrides {
            profile: Some("c".into()),
            ..Overrides::default()
        };
        let err = Settings::resolve(&flags, &EnvLayer::default(), Some(&file), Path::new("/"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "profile \"c\" is not defined (defined: a, b)"
        );
    }

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("4g"), Ok(4 << 30));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert!(parse_size("4X").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn sandbox_settings_and_hidden_paths_combine() {
        let file = ConfigFile::parse(
            "sandbox = \"read-only\"\nhide = [\"/srv/a\"]\nlimit_memory = \"1G\"\n[profiles.p]\nhide = [\"/srv/b\"]\n",
            &p(),
        )
        .unwrap();
        let flags = Overrides {
            profile: Some("p".into()),
            ..Overrides::default()
        };
        let s =
            Settings::resolve(&flags, &EnvLayer::default(), Some(&file), Path::new("/")).unwrap();
        assert_eq!(s.sandbox, SandboxSetting::ReadOnly);
        assert_eq!(
            s.hide,
            vec![PathBuf::from("/srv/b"), PathBuf::from("/srv/a")]
        );
        assert_eq!(s.limits.memory_bytes, Some(1 << 30));
        assert!(!s.dangerously_disable_sandbox);
        assert_eq!(s.network, NetworkSetting::None);
        let file = ConfigFile::parse("network = \"full\"\n", &p()).unwrap();
        let s = Settings::resolve(
            &Overrides::default(),
            &EnvLayer::default(),
            Some(&file),
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(s.network, NetworkSetting::Full);
        let err = ConfigFile::parse("network = \"some\"\n", &p()).unwrap_err();
        assert!(err.to_string().contains("unknown variant `some`"), "{err}");
        let err = ConfigFile::parse("sandbox = \"none\"\n", &p()).unwrap_err();
        assert!(err.to_string().contains("unknown variant `none`"), "{err}");
        let err = ConfigFile::parse("allow_net = [\"*.org\"]\n", &p()).unwrap_err();
        assert!(err.to_string().contains("allow_net"), "{err}");
        assert!(ConfigFile::parse("allow_net = [\"pypi\", \"a.org:8443\"]\n", &p()).is_ok());
        let err = ConfigFile::parse("hide = [\"relative\"]\n", &p()).unwrap_err();
        assert_eq!(err.to_string(), "hide: relative must be an absolute path");
    }

    #[test]
    fn guard_settings_default_safe_and_rules_combine() {
        let s = Settings::resolve(
            &Overrides::default(),
            &EnvLayer::default(),
            None,
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(s.guard.auto_run_max_risk, Risk::Low);
        assert!(s.guard.refuse_critical);
        let file = ConfigFile::parse(
            "deny_commands = [\"git push\"]\nauto_run_max_risk = \"medium\"\n[profiles.p]\ndeny_commands = [\"docker\"]\n",
            &p(),
        )
        .unwrap();
        let flags = Overrides {
            profile: Some("p".into()),
            ..Overrides::default()
        };
        let s =
            Settings::resolve(&flags, &EnvLayer::default(), Some(&file), Path::new("/")).unwrap();
        assert_eq!(
            s.guard.rules.deny_commands,
            vec!["docker".to_string(), "git push".to_string()]
        );
        assert_eq!(s.guard.auto_run_max_risk, Risk::Medium);
        let err = ConfigFile::parse("auto_run_max_risk = \"critical\"\n", &p()).unwrap_err();
        assert!(err.to_string().starts_with("auto_run_max_risk:"), "{err}");
    }

    #[test]
    fn interlock_home_holds_everything() {
        let d = Dirs::discover(Some(Path::new("/x"))).unwrap();
        assert_eq!(d.config_file, PathBuf::from("/x/config.toml"));
        assert!(d.history_dir.starts_with("/x"));
        assert!(d.state_dir.starts_with("/x"));
    }

    #[test]
    fn env_layer_ignores_empty_values() {
        let e = EnvLayer::from_lookup(|k| match k {
            "OPENAI_BASE_URL" => Some("  ".into()),
            "INTERLOCK_MODEL" => Some("m".into()),
            _ => None,
        });
        assert_eq!(e.api_base, None);
        assert_eq!(e.model.as_deref(), Some("m"));
    }
}

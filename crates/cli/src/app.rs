//! Turning command-line options into a configured [`Agent`], and the error
//! type that carries an exit status to `main`.

use crate::flags::{NetworkArg, SandboxArg, SharedOpts, ToolModeArg};
use interlock_core::config::Layer;
use interlock_core::{
    Agent, ConfigFile, Dirs, EnvLayer, Executor, NetworkSetting, Overrides, SandboxSetting,
    Settings, ToolMode,
};
use interlock_kernels::{KernelConfig, Kernels};
use interlock_llm::{Client, ClientConfig, Provider};
use secrecy::SecretString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Exit statuses (documented in `--help`).
pub mod exit {
    pub const OK: i32 = 0;
    pub const INTERNAL: i32 = 1;
    pub const CONFIG: i32 = 2;
    pub const MODEL: i32 = 3;
    pub const DECLINED: i32 = 4;
    pub const MAX_TURNS: i32 = 5;
    pub const INTERRUPTED: i32 = 130;
}

/// An error that knows which exit status it deserves.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn config(e: impl fmt::Display) -> Failure {
        Failure {
            code: exit::CONFIG,
            message: e.to_string(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Where the API key came from (never the key itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Flag,
    Env,
    /// `interlock auth set`.
    Stored,
    None,
}

/// Everything resolved from flags, environment and files.
pub struct Loaded {
    pub settings: Settings,
    /// What `--local` found, to tell the user.
    pub local_note: Option<String>,
    pub interlock_home: Option<PathBuf>,
    pub dirs: Dirs,
    pub config_path: PathBuf,
    pub config_found: bool,
    pub api_key: Option<SecretString>,
    pub key_source: KeySource,
}

/// Reads config and environment and applies precedence.
pub fn load(opts: &SharedOpts) -> Result<Loaded, Failure> {
    let home = std::env::var_os("INTERLOCK_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    let dirs = Dirs::discover(home.as_deref()).map_err(Failure::config)?;
    let config_path = opts
        .config
        .clone()
        .unwrap_or_else(|| dirs.config_file.clone());
    if config_path.exists() {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(&config_path)
            && meta.permissions().mode() & 0o022 != 0
        {
            return Err(Failure::config(format!(
                "{} can be changed by other users (mode {:o}); run `chmod go-w {}`",
                config_path.display(),
                meta.permissions().mode() & 0o777,
                config_path.display()
            )));
        }
    }
    let (file, found) = if opts.config.is_some() || config_path.exists() {
        (
            Some(ConfigFile::load(&config_path).map_err(Failure::config)?),
            true,
        )
    } else {
        (None, false)
    };
    let mut local_note = None;
    let local = if opts.local {
        let (base, model, note) = find_local(opts.model.as_deref())?;
        local_note = note;
        Some((base, model))
    } else {
        None
    };
    let flags = Overrides {
        layer: Layer {
            model: opts.model.clone(),
            api_base: opts.api_base.clone(),
            provider: opts.provider.map(|p| {
                match p {
                    crate::flags::Provider::Openai => "openai",
                    crate::flags::Provider::Anthropic => "anthropic",
                }
                .to_string()
            }),
            tool_mode: opts.tool_mode.map(|m| match m {
                ToolModeArg::Tools => ToolMode::Tools,
                ToolModeArg::Markdown => ToolMode::Markdown,
            }),
            auto_run: opts.auto_run.then_some(true),
            max_turns: opts.max_turns,
            max_output: opts.max_output,
            timeout: opts.timeout,
            workspace: opts.workspace.clone(),
            temperature: opts.temperature,
            max_tokens: opts.max_tokens,
            sandbox: opts.sandbox.map(|m| match m {
                SandboxArg::ReadOnly => SandboxSetting::ReadOnly,
                SandboxArg::WorkspaceWrite => SandboxSetting::WorkspaceWrite,
                SandboxArg::Off => SandboxSetting::Off,
            }),
            dangerously_disable_sandbox: opts.dangerously_disable_sandbox.then_some(true),
            network: opts.network.map(|n| match n {
                NetworkArg::None => NetworkSetting::None,
                NetworkArg::Full => NetworkSetting::Full,
            }),
            allow_net: (!opts.allow_net.is_empty()).then(|| opts.allow_net.clone()),
            hide: (!opts.hide.is_empty()).then(|| absolute(&opts.hide)),
            read: (!opts.read.is_empty()).then(|| absolute(&opts.read)),
            dangerously_allow_system_workspace: opts
                .dangerously_allow_system_workspace
                .then_some(true),
            limit_memory: opts.limit_memory.clone(),
            limit_cpu: opts.limit_cpu,
            limit_procs: opts.limit_procs,
            limit_fsize: opts.limit_fsize.clone(),
            limit_nofile: opts.limit_nofile,
            auto_run_max_risk: opts
                .auto_run_max_risk
                .as_deref()
                .and_then(interlock_guard::analysis::Risk::from_name),
            refuse_critical: opts.allow_critical.then_some(false),
            untrusted_narrows_auto_run: None,
            allow_commands: None,
            deny_commands: None,
            deny_paths: None,
            context_window: opts.context_window,
            max_budget: opts.max_budget,
        },
        profile: opts.profile.clone(),
    };
    let mut flags = flags;
    if !opts.local
        && let Some(id) = opts.resume.as_deref()
    {
        resumed_origin(&dirs, id, &mut flags.layer);
    }
    if let Some((base, model)) = local {
        flags.layer.api_base = Some(base);
        flags.layer.model = Some(model);
        flags.layer.provider = Some("openai".to_string());
    }
    let env = EnvLayer::from_lookup(|k| std::env::var(k).ok());
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::config(format!("cannot read the current directory: {e}")))?;
    let settings = Settings::resolve(&flags, &env, file.as_ref(), &cwd).map_err(Failure::config)?;
    let key_var = if settings.provider == "anthropic" {
        "ANTHROPIC_API_KEY"
    } else {
        "OPENAI_API_KEY"
    };
    let (api_key, key_source) = match (&opts.api_key, std::env::var(key_var)) {
        (Some(k), _) => (Some(SecretString::from(k.clone())), KeySource::Flag),
        (None, Ok(k)) if !k.trim().is_empty() => (
            Some(SecretString::from(k.trim().to_string())),
            KeySource::Env,
        ),
        _ => match crate::keys::load(&dirs.state_dir, &settings.provider)? {
            Some(k) => (Some(k), KeySource::Stored),
            None => (None, KeySource::None),
        },
    };
    Ok(Loaded {
        settings,
        local_note,
        interlock_home: home,
        dirs,
        config_path,
        config_found: found,
        api_key,
        key_source,
    })
}

/// `--resume`: the conversation goes on with its own model, endpoint,
/// provider and tool mode, unless a flag says otherwise. A conversation that
/// cannot be found is reported later, when it is opened.
fn resumed_origin(dirs: &Dirs, id: &str, layer: &mut Layer) {
    let id = (!id.is_empty()).then_some(id);
    let Ok(path) = interlock_core::history::find(&dirs.history_dir, id) else {
        return;
    };
    let Ok(conv) = interlock_core::history::load(&path) else {
        return;
    };
    // Older files name the model but not its server: keep today's settings
    // for them rather than pair the model with the wrong endpoint.
    let Some(origin) = conv.origin else { return };
    if layer.model.is_none() && !conv.model.is_empty() {
        layer.model = Some(conv.model);
    }
    if layer.api_base.is_none() {
        layer.api_base = Some(origin.api_base);
    }
    if layer.provider.is_none() {
        layer.provider = Some(origin.provider);
    }
    if layer.tool_mode.is_none() {
        layer.tool_mode = origin.tool_mode.parse().ok();
    }
}

fn absolute(paths: &[PathBuf]) -> Vec<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    paths
        .iter()
        .map(|p| {
            if p.is_absolute() {
                p.clone()
            } else {
                cwd.join(p)
            }
        })
        .collect()
}

/// The user's home directory (whose credential stores are hidden).
pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// interlock's own files, hidden from sandboxed code: the directories in use
/// and, always, the default ones too (keys stored by `interlock auth set`, the
/// audit key and older history stay there when `INTERLOCK_HOME` or XDG
/// variables point elsewhere for this run).
pub fn interlock_dirs(loaded: &Loaded) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(home) = &loaded.interlock_home {
        out.push(home.clone());
    }
    let mut add = |d: &interlock_core::config::Dirs| {
        for p in [
            d.config_file.parent(),
            d.history_dir.parent(),
            Some(d.state_dir.as_path()),
        ]
        .into_iter()
        .flatten()
        {
            if !out.iter().any(|o: &PathBuf| o == p) {
                out.push(p.to_path_buf());
            }
        }
    };
    if loaded.interlock_home.is_none() {
        add(&loaded.dirs);
    }
    if let Ok(defaults) = interlock_core::config::Dirs::discover(None) {
        add(&defaults);
    }
    // The XDG defaults under the home directory, whatever XDG_* say now.
    let home = home_dir();
    for d in [
        ".config/interlock",
        ".local/share/interlock",
        ".local/state/interlock",
    ] {
        let p = home.join(d);
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// `--local`: the first model server answering on loopback, and a model
/// (the one asked for, or the server's first).
fn find_local(wanted: Option<&str>) -> Result<(String, String, Option<String>), Failure> {
    let ports = interlock_llm::DEFAULT_LOCAL_PORTS;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::config(format!("cannot start the async runtime: {e}")))?;
    let servers = rt.block_on(interlock_llm::discover_local(&ports));
    let Some(server) = servers.into_iter().next() else {
        return Err(Failure::config(interlock_llm::no_local_server_message(
            &ports,
        )));
    };
    let model = match wanted {
        Some(m) => m.to_string(),
        None => server.models.first().cloned().ok_or_else(|| {
            Failure::config(format!(
                "the {} server at {} lists no models; load one or pass --model",
                server.kind, server.base_url
            ))
        })?,
    };
    let note = format!(
        "--local: using {} at {} with model {model}{}",
        server.kind,
        server.base_url,
        if server.models.len() > 1 {
            format!(" (also available: {})", server.models[1..].join(", "))
        } else {
            String::new()
        }
    );
    Ok((server.base_url, model, Some(note)))
}

/// The redactor for everything leaving interlock: every pattern detector,
/// plus the exact values of secret-looking environment variables and the API
/// key in use.
pub fn redactor(loaded: &Loaded) -> interlock_guard::redact::Redactor {
    use secrecy::ExposeSecret;
    let mut r = interlock_guard::redact::Redactor::from_env(std::env::vars());
    if let Some(key) = &loaded.api_key {
        r.add_known_secret("api_key", key.expose_secret());
    }
    r
}

/// Chooses the executor (the sandbox unless explicitly turned off), failing
/// closed when the sandbox cannot be set up.
pub fn executor(loaded: &Loaded) -> Result<Executor, Failure> {
    executor_for(loaded, &interlock_sandbox::probe())
}

/// [`executor`] with another sandbox mode (`%sandbox MODE` in the chat).
pub fn executor_in_mode(loaded: &Loaded, mode: SandboxSetting) -> Result<Executor, Failure> {
    let mut settings = loaded.settings.clone();
    settings.sandbox = mode;
    choose(loaded, &settings, &interlock_sandbox::probe())
}

/// [`executor`] for a kernel already probed.
pub fn executor_for(
    loaded: &Loaded,
    support: &interlock_sandbox::Support,
) -> Result<Executor, Failure> {
    choose(loaded, &loaded.settings, support)
}

fn choose(
    loaded: &Loaded,
    settings: &Settings,
    support: &interlock_sandbox::Support,
) -> Result<Executor, Failure> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    interlock_core::executor::choose(
        settings,
        &home_dir(),
        &interlock_dirs(loaded),
        &path,
        support,
    )
    .map_err(Failure::config)
}

/// Builds the model client, language sessions and agent. The returned
/// [`Executor`] must live as long as the agent.
pub fn build_agent(loaded: &Loaded, no_history: bool) -> Result<(Agent, Executor), Failure> {
    let executor = executor(loaded)?;
    if !executor.sandboxed && loaded.settings.auto_run {
        confirm_unsandboxed_auto_run()?;
    }
    assemble(loaded, &loaded.settings, executor, no_history)
}

/// The model client, language sessions and agent for settings `s` and an
/// executor already chosen for them.
fn assemble(
    loaded: &Loaded,
    s: &Settings,
    executor: Executor,
    no_history: bool,
) -> Result<(Agent, Executor), Failure> {
    let provider = match s.provider.as_str() {
        "anthropic" => Provider::Anthropic,
        _ => Provider::OpenAi,
    };
    let client = Client::new(
        provider,
        ClientConfig {
            api_base: s.api_base.clone(),
            api_key: loaded.api_key.clone(),
            model: s.model.clone(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(120),
            temperature: s.temperature,
            max_tokens: s.max_tokens,
            seed: None,
        },
    )
    .map_err(|e| Failure {
        code: exit::MODEL,
        message: format!("cannot set up the model client: {e}"),
    })?;
    executor.on_network_event(crate::sandbox_cmd::net_event_sink(
        &loaded.dirs.state_dir,
        &format!("net-{}", std::process::id()),
    ));
    let kernels = Kernels::new(
        KernelConfig {
            workspace: s.workspace.clone(),
            timeout: s.timeout,
            ..KernelConfig::default()
        },
        executor.backend.clone(),
    );
    let history_dir = (!no_history).then(|| loaded.dirs.history_dir.clone());
    let context = serde_json::json!({
        "sandboxed": executor.sandboxed,
        "sandbox_plan": executor.plan,
        "warnings": executor.warnings,
    });
    let agent = Agent::new(
        client,
        kernels,
        s.clone(),
        executor.backend.name(),
        executor.sandboxed,
        history_dir,
    )
    .with_audit(loaded.dirs.state_dir.clone(), context)
    .with_redactor(std::sync::Arc::new(redactor(loaded)));
    Ok((agent, executor))
}

/// `--auto-run` with the sandbox off runs whatever the model writes with the
/// user's full rights: ask once more, and refuse when nobody can answer.
fn confirm_unsandboxed_auto_run() -> Result<(), Failure> {
    use std::io::{IsTerminal, Write};
    let refuse = || {
        Failure::config(
            "--auto-run with the sandbox off must be confirmed at a terminal; refusing to run model-written code unsandboxed and unreviewed",
        )
    };
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(refuse());
    }
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "WARNING: the sandbox is off AND --auto-run is on: code the model writes will run with all of your rights, without asking."
    );
    // Only a line typed after the question is shown counts.
    let line = crate::approve::read_fresh_line("Type \"run unsandboxed\" to continue: ")
        .map_err(|_| refuse())?;
    if line.trim() == "run unsandboxed" {
        Ok(())
    } else {
        Err(refuse())
    }
}

/// Resolves `--resume[=ID]` to a history file.
pub fn resume_path(loaded: &Loaded, resume: Option<&str>) -> Result<Option<PathBuf>, Failure> {
    match resume {
        None => Ok(None),
        Some(id) => {
            let id = (!id.is_empty()).then_some(id);
            interlock_core::history::find(&loaded.dirs.history_dir, id)
                .map(Some)
                .map_err(Failure::config)
        }
    }
}

/// The warnings every session starts with: what is not protected.
pub fn startup_warnings(loaded: &Loaded, executor: &Executor) -> Vec<String> {
    let mut w = executor.warnings.clone();
    if !loaded.settings.guard.refuse_critical {
        w.push(
            "--allow-critical: blocks rated critical are asked about instead of refused."
                .to_string(),
        );
    }
    if loaded.key_source == KeySource::Flag {
        w.push("--api-key exposes the key in process lists and shell history; set OPENAI_API_KEY instead.".to_string());
    }
    if needs_a_key(loaded) {
        w.push(first_run_message(&loaded.settings.api_base));
    }
    if loaded.api_key.is_none() && loaded.settings.provider == "anthropic" {
        w.push("no API key: set ANTHROPIC_API_KEY.".to_string());
    }
    w
}

fn is_openai(base: &str) -> bool {
    base.contains("api.openai.com")
}

/// OpenAI's own endpoint and no key: every request would be refused, so
/// none is sent.
pub fn needs_a_key(loaded: &Loaded) -> bool {
    loaded.api_key.is_none() && is_openai(&loaded.settings.api_base)
}

/// The first-run screen: the ways to get a model, with commands to copy.
pub fn first_run_message(api_base: &str) -> String {
    format!(
        "no API key for {api_base}, so nothing is sent there. To get going, pick one:
  - an OpenAI key:   export OPENAI_API_KEY=sk-...   (or store it: interlock auth set openai)
  - a model on this machine, e.g. with Ollama (https://ollama.com):
        ollama serve &
        ollama pull llama3.1
        interlock --local
    (--local finds Ollama, LM Studio, llama.cpp or vLLM running on this machine)
  - any OpenAI-compatible server:   interlock --api-base http://HOST:PORT/v1 --model NAME"
    )
}

/// What to do when the model server's address refused the connection.
pub fn connection_refused_hint(api_base: &str) -> String {
    format!(
        "is the model server at {api_base} running? Start it, or use --local to find one running \
         on this machine, or --api-base URL to point at another one"
    )
}

/// Reads the whole of stdin as a prompt (`exec -`).
pub fn read_stdin_prompt() -> Result<String, Failure> {
    use std::io::Read;
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| Failure::config(format!("cannot read the prompt from stdin: {e}")))?;
    if s.trim().is_empty() {
        return Err(Failure::config("the prompt read from stdin is empty"));
    }
    Ok(s)
}

/// `interlock serve`: checks the address and settings, loads (or creates)
/// the token, then serves until SIGINT/SIGTERM. Each session is built like
/// the chat's agent, with its own workspace and the sandbox always on.
pub fn serve(
    opts: &SharedOpts,
    listen: std::net::SocketAddr,
    rotate_token: bool,
    insecure_listen: bool,
) -> Result<i32, Failure> {
    use std::io::Write;
    let loaded = load(opts)?;
    let warning =
        interlock_serve::check_listen(listen, insecure_listen).map_err(Failure::config)?;
    if loaded.settings.sandbox == SandboxSetting::Off {
        return Err(Failure::config(
            "interlock serve always runs sessions in the sandbox; drop --sandbox off / --dangerously-disable-sandbox",
        ));
    }
    let root = if opts.workspace.is_some() {
        loaded.settings.workspace.clone()
    } else {
        loaded.settings.workspace.join("interlock-sessions")
    };
    if let Some(d) = interlock_dirs(&loaded).iter().find(|d| root.starts_with(d)) {
        return Err(Failure::config(format!(
            "the sessions' workspace root {} is inside interlock's own directory {}, which sandboxed code may not see; pass --workspace DIR elsewhere",
            root.display(),
            d.display()
        )));
    }
    if let Some(r) = interlock_sandbox::DEFAULT_READABLE_SYSTEM
        .iter()
        .find(|r| root.starts_with(r))
    {
        return Err(Failure::config(format!(
            "the sessions' workspace root {} is under the system directory {r}; pass --workspace DIR elsewhere (e.g. under /srv or /var/lib)",
            root.display()
        )));
    }
    // Fail closed now, not at the first session: the sandbox must plan here.
    let support = interlock_sandbox::probe();
    {
        let mut probe_settings = loaded.settings.clone();
        probe_settings.workspace = root.join("probe");
        choose_session(&loaded, probe_settings, &root, &support)?;
    }
    let token = interlock_serve::Token::load_or_create(&loaded.dirs.state_dir, rotate_token)
        .map_err(Failure::config)?;
    let s = &loaded.settings;
    let cfg = interlock_serve::Config {
        listen,
        state_dir: loaded.dirs.state_dir.clone(),
        workspaces_root: root,
        extra_origins: Vec::new(),
        limits: interlock_serve::Limits {
            auto_run_max_risk: s.auto_run.then_some(s.guard.auto_run_max_risk),
            allow_full_network: s.network == NetworkSetting::Full,
            ..interlock_serve::Limits::default()
        },
        default_sandbox: s.sandbox,
    };
    let mut err = std::io::stderr();
    if let Some(w) = warning {
        let _ = writeln!(err, "interlock: WARNING: {w}");
    }
    if needs_a_key(&loaded) {
        let _ = writeln!(
            err,
            "interlock: WARNING: {}",
            first_run_message(&s.api_base)
        );
    }
    if token.created {
        let _ = writeln!(
            err,
            "interlock serve: token (shown once; kept in {}): {}",
            token.path.display(),
            token.expose()
        );
    } else {
        let _ = writeln!(
            err,
            "interlock serve: the token is in {} (--rotate-token makes a new one)",
            token.path.display()
        );
    }
    let loaded = std::sync::Arc::new(loaded);
    let root_for_sessions = cfg.workspaces_root.clone();
    let factory: interlock_serve::Factory = std::sync::Arc::new(move |spec| {
        let mut settings = loaded.settings.clone();
        settings.workspace = spec.workspace.clone();
        settings.sandbox = spec.sandbox;
        settings.dangerously_disable_sandbox = false;
        settings.auto_run = spec.auto_run;
        settings.guard.auto_run_max_risk = spec.auto_run_max_risk;
        settings.network = spec.network;
        let (settings, executor) = choose_session(&loaded, settings, &root_for_sessions, &support)
            .map_err(|f| f.message)?;
        let warnings = executor.warnings.clone();
        let (agent, executor) =
            assemble(&loaded, &settings, executor, false).map_err(|f| f.message)?;
        Ok(interlock_serve::Built {
            agent,
            keep: Box::new(executor),
            warnings,
        })
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure {
            code: exit::INTERNAL,
            message: format!("cannot start the async runtime: {e}"),
        })?;
    let ready = |addr: std::net::SocketAddr| {
        let _ = writeln!(
            std::io::stderr(),
            "interlock serve: listening on http://{addr} (API: /api/sessions, /openapi.json; Ctrl-C stops)"
        );
    };
    match rt.block_on(interlock_serve::run(cfg, token, factory, ready)) {
        Ok(()) => Ok(exit::OK),
        Err(e @ interlock_serve::ServeError::Bind { .. }) => Err(Failure::config(e)),
        Err(e) => Err(Failure {
            code: exit::INTERNAL,
            message: e.to_string(),
        }),
    }
}

/// The executor for one served session. Sessions' workspaces are siblings
/// under `root`, so `root` is given to the sandbox as the home directory:
/// homes are default-deny (an empty cover through which only the workspace
/// shows), so a session's code sees its own workspace and nothing else of
/// the root. The user's real home stays covered: `/home` and `/root` always
/// are; a home elsewhere is hidden (or, when it holds the root, its
/// credential stores are).
fn choose_session(
    loaded: &Loaded,
    mut settings: Settings,
    root: &std::path::Path,
    support: &interlock_sandbox::Support,
) -> Result<(Settings, Executor), Failure> {
    let real_home = home_dir();
    let covered = interlock_sandbox::denied_roots(root)
        .iter()
        .any(|d| real_home.starts_with(d));
    if !covered {
        if root.starts_with(&real_home) {
            settings.hide.extend(
                interlock_sandbox::DEFAULT_HIDDEN_IN_HOME
                    .iter()
                    .map(|p| real_home.join(p)),
            );
        } else {
            settings.hide.push(real_home);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let executor =
        interlock_core::executor::choose(&settings, root, &interlock_dirs(loaded), &path, support)
            .map_err(Failure::config)?;
    Ok((settings, executor))
}

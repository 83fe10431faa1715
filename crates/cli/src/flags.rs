//! Every flag and subcommand of `interlock`, defined once. `--help`, the man
//! page (`interlock man`) and shell completions (`interlock completions SHELL`)
//! are all generated from these definitions.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Exit status:
  0    success
  1    unexpected internal error
  2    usage or configuration error
  3    the model or its server failed (unreachable, HTTP error, bad stream)
  4    code was proposed but not run (declined, or no terminal to ask)
  5    stopped at --max-turns or --max-budget before the model finished
  130  interrupted with Ctrl-C

Environment:
  OPENAI_API_KEY    API key for the OpenAI-compatible server (preferred over --api-key)
  ANTHROPIC_API_KEY API key when the provider is anthropic
  OPENAI_BASE_URL   default for --api-base
  INTERLOCK_MODEL   default for --model
  INTERLOCK_HOME    keep config, history and state under this directory (hidden from sandboxed code)
  EDITOR, VISUAL    editor used by [e]dit at the approval prompt";

/// Let a language model write code and run it on your machine, asking first.
#[derive(Debug, Parser)]
#[command(
    name = "interlock",
    version,
    about,
    long_about = "Let a language model write code and run it on your machine, asking first.\n\n\
Without a subcommand, starts an interactive chat. The model proposes Python, shell or\n\
JavaScript; each block is shown with its language and runs only after you approve it,\n\
in a warm session whose variables and working directory persist between blocks.",
    after_help = AFTER_HELP,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub opts: SharedOpts,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every subcommand understands.
#[derive(Debug, Args, Default)]
pub struct SharedOpts {
    /// Model name, e.g. gpt-4o-mini or llama3.1
    #[arg(long, global = true, help_heading = "Model", value_name = "NAME")]
    pub model: Option<String>,

    /// Base URL of an OpenAI-compatible API [env: OPENAI_BASE_URL]
    #[arg(long, global = true, help_heading = "Model", value_name = "URL")]
    pub api_base: Option<String>,

    /// API key. Discouraged: visible in process lists and shell history; use OPENAI_API_KEY
    #[arg(
        long,
        global = true,
        help_heading = "Model",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,

    /// Model provider [default: inferred from --api-base and --model]
    #[arg(long, global = true, help_heading = "Model", value_enum)]
    pub provider: Option<Provider>,

    /// How the model proposes code: `tools` (function calling) or `markdown` (fenced blocks)
    #[arg(long, global = true, help_heading = "Model", value_enum)]
    pub tool_mode: Option<ToolModeArg>,

    /// Run proposed code without asking
    #[arg(long, global = true, help_heading = "Session")]
    pub auto_run: bool,

    /// Directory the code works in [default: the current directory]
    #[arg(long, global = true, help_heading = "Session", value_name = "DIR")]
    pub workspace: Option<PathBuf>,

    /// Print one JSON event per line instead of the terminal UI
    #[arg(long, global = true, help_heading = "Session")]
    pub json: bool,

    /// Read configuration from FILE instead of the default location
    #[arg(long, global = true, help_heading = "Session", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Apply the named [profiles.NAME] table of the config file
    #[arg(long, global = true, help_heading = "Session", value_name = "NAME")]
    pub profile: Option<String>,

    /// Stop after this many model turns per message [default: 20]
    #[arg(long, global = true, help_heading = "Session", value_name = "N")]
    pub max_turns: Option<u32>,

    /// Characters of code output returned to the model (head and tail kept) [default: 4000]
    #[arg(long, global = true, help_heading = "Session", value_name = "CHARS")]
    pub max_output: Option<usize>,

    /// Seconds a block may run before it is interrupted [default: 120]; with `sandbox`, seconds the command may run [default: no limit]
    #[arg(long, global = true, help_heading = "Session", value_name = "SECS")]
    pub timeout: Option<u64>,

    /// Sampling temperature sent to the model
    #[arg(long, global = true, help_heading = "Model", value_name = "T")]
    pub temperature: Option<f32>,

    /// Maximum tokens per model reply
    #[arg(long, global = true, help_heading = "Model", value_name = "N")]
    pub max_tokens: Option<u32>,

    /// Continue the latest conversation, or `--resume=ID` a given one (see `interlock history`)
    #[arg(long, global = true, help_heading = "Session", value_name = "ID", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub resume: Option<String>,

    /// Do not write this conversation to the history
    #[arg(long, global = true, help_heading = "Session")]
    pub no_history: bool,

    /// How code is isolated: read-only, workspace-write (default) or off
    #[arg(
        long,
        global = true,
        help_heading = "Sandbox",
        value_enum,
        value_name = "MODE"
    )]
    pub sandbox: Option<SandboxArg>,

    /// Allow `--sandbox off`: approved code then runs with all of your user's rights
    #[arg(long, global = true, help_heading = "Sandbox")]
    pub dangerously_disable_sandbox: bool,

    /// Also hide PATH from sandboxed code (repeatable)
    #[arg(long, global = true, help_heading = "Sandbox", value_name = "PATH")]
    pub hide: Vec<PathBuf>,

    /// Let sandboxed code read PATH in a home directory, which it otherwise cannot see (repeatable)
    #[arg(long, global = true, help_heading = "Sandbox", value_name = "PATH")]
    pub read: Vec<PathBuf>,

    /// Allow a system directory (/, /etc, /usr/local/bin, ...) as the writable workspace
    #[arg(long, global = true, help_heading = "Sandbox")]
    pub dangerously_allow_system_workspace: bool,

    /// Memory per sandboxed process, e.g. 2G [default: 4G]
    #[arg(long, global = true, help_heading = "Sandbox", value_name = "SIZE")]
    pub limit_memory: Option<String>,

    /// CPU seconds per sandboxed process [default: unlimited; the timeout bounds each block]
    #[arg(long, global = true, help_heading = "Sandbox", value_name = "SECS")]
    pub limit_cpu: Option<u64>,

    /// Processes in the sandbox [default: 1024]
    #[arg(long, global = true, help_heading = "Sandbox", value_name = "N")]
    pub limit_procs: Option<u64>,

    /// Largest file sandboxed code may write, e.g. 1G [default: 4G]
    #[arg(long, global = true, help_heading = "Sandbox", value_name = "SIZE")]
    pub limit_fsize: Option<String>,

    /// Open files per sandboxed process [default: 4096]
    #[arg(long, global = true, help_heading = "Sandbox", value_name = "N")]
    pub limit_nofile: Option<u64>,

    /// Highest risk --auto-run runs without asking: none, low (default), medium or high
    #[arg(long, global = true, help_heading = "Guard", value_name = "RISK", value_parser = ["none", "low", "medium", "high"])]
    pub auto_run_max_risk: Option<String>,

    /// Ask about blocks rated critical instead of refusing them
    #[arg(long, global = true, help_heading = "Guard")]
    pub allow_critical: bool,

    /// Use a model server running on this machine (Ollama, LM Studio, llama.cpp, vLLM)
    #[arg(long, global = true, help_heading = "Model")]
    pub local: bool,

    /// The model's context window in tokens: older turns are left out of requests to fit
    #[arg(long, global = true, help_heading = "Model", value_name = "TOKENS")]
    pub context_window: Option<usize>,

    /// Network for sandboxed code: none (default) or full (it can then send what it reads anywhere)
    #[arg(
        long,
        global = true,
        help_heading = "Sandbox",
        value_enum,
        value_name = "NET"
    )]
    pub network: Option<NetworkArg>,

    /// Let sandboxed code reach HOST through interlock's filtering proxy (repeatable): a name,
    /// *.example.org, HOST:PORT, an IP address, or a preset (pypi, npm, crates, github)
    #[arg(
        long,
        global = true,
        help_heading = "Sandbox",
        value_name = "HOST",
        action = clap::ArgAction::Append
    )]
    pub allow_net: Vec<String>,

    /// Stop before a request could take this conversation's cost past USD (known models only)
    #[arg(long, global = true, help_heading = "Model", value_name = "USD")]
    pub max_budget: Option<f64>,

    /// Colours for a dark or light terminal background [default: from COLORFGBG, else dark]
    #[arg(
        long,
        global = true,
        help_heading = "Session",
        value_enum,
        value_name = "BACKGROUND"
    )]
    pub theme: Option<crate::markdown::Background>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SandboxArg {
    /// Nothing on the host is writable, only a private temp dir
    ReadOnly,
    /// The workspace and a private temp dir are writable
    WorkspaceWrite,
    /// No isolation at all (needs --dangerously-disable-sandbox)
    Off,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum NetworkArg {
    /// No network: no sockets, an empty network namespace
    None,
    /// The host's network, unfiltered (warned about at every start)
    Full,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Provider {
    /// OpenAI and every server speaking its chat-completions API (Ollama, LM Studio, llama.cpp, vLLM)
    Openai,
    /// Anthropic's Messages API (key from ANTHROPIC_API_KEY)
    Anthropic,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ToolModeArg {
    Tools,
    Markdown,
}

/// `interlock history delete`: what to delete.
#[derive(Debug, Subcommand)]
pub enum HistoryAction {
    /// Delete conversations: one by ID, --all, or --older-than AGE (the audit log records each deletion, not its content)
    Delete {
        /// The conversation to delete (see `interlock history`)
        #[arg(required_unless_present_any = ["all", "older_than"], conflicts_with_all = ["all", "older_than"])]
        id: Option<String>,
        /// Every conversation, and the typed-line history of the chat
        #[arg(long, conflicts_with = "older_than")]
        all: bool,
        /// Conversations not written to for this long, e.g. 30d, 12h, 2w
        #[arg(long, value_name = "AGE")]
        older_than: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one task and exit (PROMPT `-` reads it from stdin)
    Exec {
        /// What to do, in plain language
        #[arg(value_name = "PROMPT")]
        prompt: String,
    },
    /// Run any command in the same sandbox code from the model runs in
    ///
    /// The exit status is the command's (128+N when it was killed by signal N,
    /// 124 when --timeout stopped it, 125 when the sandbox could not be set up).
    /// Without --timeout the command may run as long as it likes; with it,
    /// everything the command started is killed after that many seconds.
    Sandbox {
        /// Print the effective policy and what this kernel supports, then exit
        #[arg(long)]
        explain: bool,
        /// Give the command your real terminal instead of a pseudo-terminal of its own whose
        /// output is sanitized: it can then write your clipboard, set the title, hide text,
        /// make the terminal type answers into your shell and leave its modes changed
        #[arg(long)]
        raw_tty: bool,
        /// The command and its arguments, after `--`
        #[arg(last = true, value_name = "CMD")]
        command: Vec<std::ffi::OsString>,
    },
    /// Rate the risk of code without running it
    ///
    /// Exit status: 0 none or low, 1 medium, 2 high, 3 critical, 4 usage or input error
    /// (an unreadable file, an unknown language, or code that does not parse; code that
    /// does not parse but rates high or critical keeps 2 or 3).
    Check {
        /// python, shell or javascript [default: guessed from the extension or shebang]
        #[arg(long, value_name = "L")]
        language: Option<String>,
        /// The file to check, or - for stdin
        #[arg(value_name = "FILE", default_value = "-")]
        file: PathBuf,
    },
    /// Print the input as the model would see it (secrets redacted)
    Redact {
        /// The file to redact, or - for stdin
        #[arg(value_name = "FILE", default_value = "-")]
        file: PathBuf,
    },
    /// Store, remove or inspect API keys (kept 0600 under interlock's state directory)
    Auth {
        #[command(subcommand)]
        action: AuthAction,
    },
    /// Check, read or export the tamper-evident audit log
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// List saved conversations, newest first; `history delete` removes them
    History {
        #[command(subcommand)]
        action: Option<HistoryAction>,
    },
    /// Inspect configuration
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    Man,
    /// Serve sandboxed sessions over HTTP, Server-Sent Events and WebSocket
    ///
    /// Every request needs `Authorization: Bearer TOKEN`. The token is created on
    /// the first start (kept 0600 as serve-token in interlock's state directory) and
    /// printed once on stderr. Each session gets its own workspace under --workspace
    /// (default: ./interlock-sessions), the sandbox and its own language sessions.
    /// Exit status: 0 after SIGINT/SIGTERM, 2 for a configuration error (such as a
    /// non-loopback --listen without --insecure-listen), 1 when the server fails.
    Serve {
        /// Address to listen on (loopback only unless --insecure-listen)
        #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8765")]
        listen: std::net::SocketAddr,
        /// Replace the token with a new one (clients using the old one are refused)
        #[arg(long)]
        rotate_token: bool,
        /// Allow a non-loopback --listen: without TLS, the token and all traffic travel in clear text
        #[arg(long)]
        insecure_listen: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuthAction {
    /// Read a key (without echo) and store it for PROVIDER (openai or anthropic)
    Set {
        #[arg(value_name = "PROVIDER")]
        name: String,
    },
    /// Delete the stored key for PROVIDER
    Remove {
        #[arg(value_name = "PROVIDER")]
        name: String,
    },
    /// Where each provider's key would come from (never prints keys)
    Status,
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Verify the hash chain: exit 0 when intact, 1 naming the first damaged record, 2 on errors
    Verify {
        /// A log file or directory [default: interlock's state directory]
        path: Option<PathBuf>,
    },
    /// Print a readable timeline
    Show {
        /// Only this session (id or prefix)
        #[arg(long, value_name = "ID")]
        session: Option<String>,
        /// Only records since T (2026-11-30, 2026-11-30T10:00Z, 90m, 2d)
        #[arg(long, value_name = "T")]
        since: Option<String>,
    },
    /// Print every record as JSONL, for shipping to a log system
    Export,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration and where each value came from (secrets masked)
    Show,
    /// Print the path of the config file that would be read
    Path,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn resume_takes_an_optional_id() {
        let c = Cli::try_parse_from(["interlock", "--resume"]).unwrap();
        assert_eq!(c.opts.resume.as_deref(), Some(""));
        let c = Cli::try_parse_from(["interlock", "--resume=abc"]).unwrap();
        assert_eq!(c.opts.resume.as_deref(), Some("abc"));
        let c = Cli::try_parse_from(["interlock", "--resume", "exec", "hi", "--json"]).unwrap();
        assert_eq!(c.opts.resume.as_deref(), Some(""));
        assert!(c.opts.json);
        assert!(matches!(c.command, Some(Command::Exec { .. })));
    }
}

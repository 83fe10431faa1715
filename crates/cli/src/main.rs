//! `interlock`: let a language model write code and run it on your machine,
//! asking first. `main` parses flags and hands off to one entry point per
//! subcommand; exit statuses are listed in [`app::exit`] and in `--help`.

mod app;
mod approve;
mod chat;
mod diff;
mod flags;
mod keys;
mod markdown;
mod pty;
mod sandbox_cmd;
mod sanitize;
mod ui;

use app::{Failure, exit};
use clap::{CommandFactory, Parser};
use flags::{AuditAction, AuthAction, Cli, Command, ConfigAction};
use std::io::Write;

fn main() {
    // interlock re-executes itself as its own sandbox helper. This must come
    // before anything else starts (threads, the async runtime).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args
        .get(1)
        .is_some_and(|a| a == interlock_sandbox::HELPER_ARG)
    {
        interlock_sandbox::helper_main(&args);
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and usage text may go to `| head`.
            default_sigpipe();
            // `interlock check` reserves 1-3 for risk levels: its usage errors are 4.
            let is_check = args.iter().skip(1).any(|a| a == "check");
            let failed = e.use_stderr();
            let _ = e.print();
            std::process::exit(match (failed, is_check) {
                (false, _) => exit::OK,
                (true, true) => 4,
                (true, false) => exit::CONFIG,
            });
        }
    };
    let code = match run(cli) {
        Ok(code) => code,
        Err(f) => {
            let _ = writeln!(
                std::io::stderr(),
                "interlock: {}",
                sanitize::sanitize(&f.message)
            );
            f.code
        }
    };
    std::process::exit(code);
}

/// Lets a closed stdout end this process quietly, as it ends `cat` or `ls`
/// (`interlock completions bash | head -1`), instead of a write error that
/// panics or is reported.
///
/// Only for subcommands that print and exit: the chat, `exec` and `sandbox`
/// talk to kernels and helpers over pipes, where a peer that went away must
/// be an error to handle, not a silent death.
fn default_sigpipe() {
    // SAFETY: installs the default disposition; no handler code runs.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        )
    };
}

/// Dispatches to the subcommand.
fn run(cli: Cli) -> Result<i32, Failure> {
    match &cli.command {
        None | Some(Command::Exec { .. }) | Some(Command::Serve { .. }) => {}
        Some(Command::Sandbox { explain, .. }) => {
            if *explain {
                default_sigpipe();
            }
        }
        Some(_) => default_sigpipe(),
    }
    match cli.command {
        None => chat::interactive(&cli.opts),
        Some(Command::Exec { ref prompt }) => chat::exec(&cli.opts, prompt),
        Some(Command::Sandbox {
            explain,
            raw_tty,
            ref command,
        }) => sandbox_cmd::run(&cli.opts, explain, raw_tty, command),
        Some(Command::Check {
            ref language,
            ref file,
        }) => check(&cli.opts, language.as_deref(), file),
        Some(Command::Audit { action }) => audit(&cli.opts, action),
        Some(Command::Redact { ref file }) => redact(&cli.opts, file),
        Some(Command::Auth { action }) => {
            let loaded = app::load(&cli.opts)?;
            let state = &loaded.dirs.state_dir;
            match action {
                AuthAction::Set { name } => keys::set(state, &name),
                AuthAction::Remove { name } => keys::remove(state, &name),
                AuthAction::Status => keys::status(state),
            }
        }
        Some(Command::History { action: None }) => history(&cli.opts),
        Some(Command::History {
            action: Some(action),
        }) => chat::history_delete(&cli.opts, action),
        Some(Command::Serve {
            listen,
            rotate_token,
            insecure_listen,
        }) => app::serve(&cli.opts, listen, rotate_token, insecure_listen),
        Some(Command::Config { action }) => config(&cli.opts, action),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "interlock",
                &mut std::io::stdout(),
            );
            Ok(exit::OK)
        }
        Some(Command::Man) => {
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .map_err(|e| Failure {
                    code: exit::INTERNAL,
                    message: format!("cannot write the man page: {e}"),
                })?;
            Ok(exit::OK)
        }
    }
}

/// `interlock history`: lists conversations, newest first.
fn history(opts: &flags::SharedOpts) -> Result<i32, Failure> {
    let loaded = app::load(opts)?;
    let list = interlock_core::history::list(&loaded.dirs.history_dir).map_err(|e| Failure {
        code: exit::INTERNAL,
        message: e.to_string(),
    })?;
    let mut out = std::io::stdout().lock();
    if opts.json {
        for s in &list {
            let _ = writeln!(out, "{}", serde_json::to_string(s).expect("json"));
        }
    } else if list.is_empty() {
        let _ = writeln!(out, "no conversations yet");
    } else {
        for s in &list {
            let _ = writeln!(
                out,
                "{}  {:>3} msgs  {}  {}",
                s.id,
                s.messages,
                sanitize::sanitize(&s.model),
                sanitize::sanitize(&s.title)
            );
        }
        let _ = writeln!(out, "\ncontinue one with: interlock --resume=ID");
    }
    Ok(exit::OK)
}

/// `interlock check`: the guard's report on a file, without running it.
/// Exit status: 0 none/low, 1 medium, 2 high, 3 critical, 4 usage or input
/// error, including code that does not parse (unless it rates high or critical).
fn check(
    opts: &flags::SharedOpts,
    language: Option<&str>,
    file: &std::path::Path,
) -> Result<i32, Failure> {
    use interlock_guard::analysis::{self, Risk};
    let usage = |message: String| Failure { code: 4, message };
    let code = if file == std::path::Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| usage(format!("cannot read stdin: {e}")))?;
        s
    } else {
        let bytes = std::fs::read(file).map_err(|e| usage(format!("{}: {e}", file.display())))?;
        String::from_utf8_lossy(&bytes).into_owned()
    };
    // The rules from config apply; a broken config is a usage error here.
    let rules = app::load(opts)
        .map(|l| l.settings.guard.rules)
        .map_err(|f| usage(f.message))?;
    let path = (file != std::path::Path::new("-")).then_some(file);
    let report = match language {
        Some(l) => {
            let lang = interlock_protocol::Language::from_alias(l).ok_or_else(|| {
                usage(format!(
                    "unknown language {l:?} (python, shell or javascript)"
                ))
            })?;
            analysis::analyze_with(lang, &code, &rules)
        }
        None => match analysis::guess_language(path, &code) {
            Some(lang) => analysis::analyze_with(lang, &code, &rules),
            None => {
                return Err(usage(
                    "cannot tell the language from the file name or a shebang; pass --language python|shell|javascript".into(),
                ));
            }
        },
    };
    let mut out = std::io::stdout().lock();
    if opts.json {
        let _ = writeln!(out, "{}", serde_json::to_string(&report).expect("json"));
    } else {
        let _ = writeln!(out, "risk: {} ({})", report.risk, report.language);
        for f in &report.findings {
            let _ = writeln!(
                out,
                "  {:<8} line {}:{}  {}  [{}]",
                f.risk.as_str(),
                f.span.start_line,
                f.span.start_col,
                sanitize::sanitize(&f.message),
                f.rule
            );
        }
    }
    // Code that does not parse is an input error (4) — unless what could be
    // parsed is high or critical: adding a syntax error to a dangerous block
    // must not turn "dangerous" into something a script might treat as a mere
    // usage problem.
    let unparsed = report
        .findings
        .iter()
        .any(|f| f.rule == "input.parse-error" || f.rule == "input.unparsable");
    Ok(match report.risk {
        Risk::High => 2,
        Risk::Critical => 3,
        _ if unparsed => {
            let _ = writeln!(
                std::io::stderr(),
                "interlock: the code does not parse, so the report may be incomplete (exit status 4)"
            );
            4
        }
        Risk::None | Risk::Low => 0,
        Risk::Medium => 1,
    })
}

/// `interlock redact [FILE|-]`: the input as the model would see it.
fn redact(opts: &flags::SharedOpts, file: &std::path::Path) -> Result<i32, Failure> {
    let loaded = app::load(opts)?;
    let text = if file == std::path::Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| Failure::config(format!("cannot read stdin: {e}")))?;
        s
    } else {
        let bytes =
            std::fs::read(file).map_err(|e| Failure::config(format!("{}: {e}", file.display())))?;
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let redactor = app::redactor(&loaded);
    let out = redactor.redact_with(&text, &interlock_guard::redact::Placeholders::new());
    let _ = std::io::stdout().lock().write_all(out.text.as_bytes());
    Ok(exit::OK)
}

/// `interlock audit verify|show|export`.
fn audit(opts: &flags::SharedOpts, action: AuditAction) -> Result<i32, Failure> {
    let loaded = app::load(opts)?;
    let state = loaded.dirs.state_dir.clone();
    let io = |e: interlock_audit::AuditError| Failure {
        code: 2,
        message: e.to_string(),
    };
    let mut out = std::io::stdout().lock();
    match action {
        AuditAction::Verify { path } => {
            let path = path.unwrap_or_else(|| state.clone());
            let key = state.join(interlock_audit::KEY_FILE);
            let key = key.exists().then_some(key);
            let report = interlock_audit::verify(&path, key.as_deref()).map_err(io)?;
            for note in report.notes() {
                let _ = writeln!(
                    std::io::stderr(),
                    "interlock: note: {}",
                    sanitize::sanitize(&note)
                );
            }
            let _ = writeln!(out, "{}", sanitize::sanitize(&report.to_string()));
            Ok(if report.is_ok() { exit::OK } else { 1 })
        }
        AuditAction::Show { session, since } => {
            let since = match since {
                Some(t) => Some(
                    interlock_audit::parse_since(&t, std::time::SystemTime::now()).ok_or_else(
                        || Failure::config(format!("--since {t:?}: use a date like 2026-11-30, a time like 2026-11-30T10:00Z, or an age like 90m or 2d")),
                    )?,
                ),
                None => None,
            };
            let filter = interlock_audit::Filter { session, since };
            let all = interlock_audit::read(&state).map_err(io)?;
            let records: Vec<interlock_audit::Record> =
                filter.apply(&all).into_iter().cloned().collect();
            if opts.json {
                for r in &records {
                    let _ = writeln!(out, "{}", r.to_json_line());
                }
            } else {
                let _ = write!(out, "{}", interlock_audit::format_timeline(&records));
            }
            Ok(exit::OK)
        }
        AuditAction::Export => {
            for r in interlock_audit::read(&state).map_err(io)? {
                let _ = writeln!(out, "{}", r.to_json_line());
            }
            Ok(exit::OK)
        }
    }
}

/// `interlock config show|path`.
fn config(opts: &flags::SharedOpts, action: ConfigAction) -> Result<i32, Failure> {
    let loaded = app::load(opts)?;
    let mut out = std::io::stdout().lock();
    match action {
        ConfigAction::Path => {
            let _ = writeln!(out, "{}", loaded.config_path.display());
        }
        ConfigAction::Show => {
            let _ = writeln!(
                out,
                "# config file: {} ({})",
                loaded.config_path.display(),
                if loaded.config_found {
                    "read"
                } else {
                    "not present"
                }
            );
            let _ = writeln!(out, "# history: {}", loaded.dirs.history_dir.display());
            let _ = write!(out, "{}", loaded.settings.to_annotated_toml());
            let key = match loaded.key_source {
                app::KeySource::Flag => "\"********\"  # flag --api-key (discouraged)",
                app::KeySource::Env => {
                    "\"********\"  # environment (OPENAI_API_KEY or ANTHROPIC_API_KEY)"
                }
                app::KeySource::Stored => "\"********\"  # stored with `interlock auth set`",
                app::KeySource::None => "\"\"  # not set",
            };
            let _ = writeln!(out, "api_key = {key}");
        }
    }
    Ok(exit::OK)
}

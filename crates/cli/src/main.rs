//! `interlock`: let a language model write code and run it on your machine,
//! asking first. `main` parses flags and hands off to one entry point per
//! subcommand; exit statuses are listed in [`app::exit`] and in `--help`.

mod app;
mod approve;
mod chat;
mod flags;
mod markdown;
mod sandbox_cmd;
mod sanitize;
mod ui;

use app::{Failure, exit};
use clap::{CommandFactory, Parser};
use flags::{Cli, Command, ConfigAction};
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
    let cli = Cli::parse();
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

/// Dispatches to the subcommand.
fn run(cli: Cli) -> Result<i32, Failure> {
    match cli.command {
        None => chat::interactive(&cli.opts),
        Some(Command::Exec { ref prompt }) => chat::exec(&cli.opts, prompt),
        Some(Command::Sandbox {
            explain,
            ref command,
        }) => sandbox_cmd::run(&cli.opts, explain, command),
        Some(Command::History) => history(&cli.opts),
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
                app::KeySource::Env => "\"********\"  # environment OPENAI_API_KEY",
                app::KeySource::None => "\"\"  # not set",
            };
            let _ = writeln!(out, "api_key = {key}");
        }
    }
    Ok(exit::OK)
}

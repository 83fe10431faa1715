//! `interlock sandbox [--explain] -- CMD [ARGS...]`: run any command under the
//! same policy as model-written code.

use crate::app::{self, Failure, exit};
use crate::flags::SharedOpts;
use crate::pty;
use crate::sanitize::sanitize;
use interlock_kernels::scrubbed_env;
use interlock_sandbox::Outcome;
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

/// Runs the command (or explains the policy) and returns the command's exit
/// status: its code, 128+N when killed by signal N, 125 when the sandbox could
/// not be set up.
pub fn run(
    opts: &SharedOpts,
    explain: bool,
    raw_tty: bool,
    command: &[OsString],
) -> Result<i32, Failure> {
    let loaded = app::load(opts)?;
    let off = || {
        Failure::config(
            "`interlock sandbox` always runs the command sandboxed; --sandbox off makes no sense here",
        )
    };
    if loaded.settings.sandbox == interlock_core::config::SandboxSetting::Off {
        return Err(off());
    }
    if explain {
        // Built here only: running the command builds its own (in
        // `executor_for`), and building one walks the workspace for `.git`.
        let Some(mut policy) = interlock_core::executor::policy(
            &loaded.settings,
            &app::home_dir(),
            &app::interlock_dirs(&loaded),
            &std::env::var_os("PATH").unwrap_or_default(),
        ) else {
            return Err(off());
        };
        // Only the flag: the configured `timeout` is per chat block, and a command
        // started by hand (an interactive shell, a build) may rightly run for long.
        policy.timeout_seconds = opts.timeout;
        let support = interlock_sandbox::probe();
        let text = interlock_sandbox::explain(&policy, &support);
        print!("{text}");
        if !text.ends_with('\n') {
            println!();
        }
        return Ok(exit::OK);
    }
    let Some((program, args)) = command.split_first() else {
        return Err(Failure::config(
            "nothing to run: give the command after `--`, e.g. `interlock sandbox -- python3 script.py`",
        ));
    };
    // The command starts in the current directory when it is inside the
    // workspace; elsewhere it might not exist in the sandbox (a private /tmp
    // covers the host's), so it starts in the workspace.
    let workspace = &loaded.settings.workspace;
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|d| d.canonicalize().ok())
        .filter(|d| d.starts_with(workspace))
        .unwrap_or_else(|| workspace.clone());
    let env = scrubbed_env(std::env::vars_os());
    // This process supervises the sandbox itself (no helper re-exec, no probe
    // child): a one-shot command pays for one sandbox start and nothing else.
    // It is still single-threaded here, which `run_here` requires.
    let support = interlock_sandbox::probe_quick();
    let executor = app::executor_for(&loaded, &support)?;
    // The git tripwire: repositories the command creates may hold hooks or
    // settings git would run later, outside the sandbox. Armed before the
    // command starts; checked (asking the host's git) after it ends, in this
    // process, which `run_here` leaves in the host's namespaces.
    let mut tripwire = interlock_core::tripwire::GitTripwire::new(workspace);
    // At a terminal the command gets a pty of its own (see pty.rs); the guard
    // puts the user's terminal back however this function is left.
    let tty = terminal(raw_tty)?;
    let ctty = tty.is_some();
    let outcome = match start(&executor, opts.timeout, &cwd, program, args, &env, ctty)? {
        Ok(outcome) => outcome,
        Err(interlock_sandbox::NamespacesUnavailable(why)) => {
            // Namespaces looked available but the kernel refused one: nothing
            // ran. Take the weaker Landlock-only sandbox, loudly.
            let full = interlock_sandbox::probe();
            let reason = full
                .user_namespaces_reason
                .clone()
                .unwrap_or_else(|| format!("creating a user namespace failed: {why}"));
            let support = full.without_user_namespaces(&reason);
            let fallback = app::executor_for(&loaded, &support)?;
            match start(&fallback, opts.timeout, &cwd, program, args, &env, ctty)? {
                Ok(outcome) => outcome,
                Err(interlock_sandbox::NamespacesUnavailable(why)) => {
                    return Err(Failure {
                        code: 125,
                        message: format!("cannot set up the sandbox: {why}"),
                    });
                }
            }
        }
    };
    // The terminal comes back first: the tripwire may print and ask.
    if let Some(tty) = tty {
        tty.finish();
    }
    warn(&mut tripwire);
    Ok(match outcome {
        Outcome::Exited(code) => code,
        Outcome::Signaled(sig) => {
            let _ = writeln!(
                std::io::stderr(),
                "interlock: the command was killed by signal {sig}"
            );
            128 + sig
        }
        Outcome::TimedOut => {
            let _ = writeln!(
                std::io::stderr(),
                "interlock: the command ran longer than --timeout {} s; everything it started was killed",
                opts.timeout.unwrap_or_default()
            );
            interlock_sandbox::TIMED_OUT
        }
    })
}

/// The command's own pty when a standard descriptor is a terminal, unless
/// `--raw-tty` asked for the real one (said aloud: it undoes a protection).
fn terminal(raw_tty: bool) -> Result<Option<pty::Pty>, Failure> {
    if raw_tty {
        let _ = writeln!(
            std::io::stderr(),
            "interlock: warning: --raw-tty: the command gets your real terminal: it can write your clipboard (OSC 52), set the window title, hide or rewrite what is on screen, make the terminal answer queries as if you had typed them (into your shell once it exits) and leave the terminal's modes changed (e.g. echo off)"
        );
        return Ok(None);
    }
    if !pty::at_terminal() {
        return Ok(None);
    }
    pty::Pty::start().map(Some).map_err(|e| Failure {
        code: 125,
        message: format!("{e} (--raw-tty runs the command on your terminal instead)"),
    })
}

/// Prints the executor's warnings and runs the command under its plan.
#[allow(clippy::too_many_arguments)]
fn start(
    executor: &interlock_core::executor::Executor,
    timeout_seconds: Option<u64>,
    cwd: &Path,
    program: &OsString,
    args: &[OsString],
    env: &[(OsString, OsString)],
    controlling_tty: bool,
) -> Result<Result<Outcome, interlock_sandbox::NamespacesUnavailable>, Failure> {
    for w in &executor.warnings {
        let _ = writeln!(std::io::stderr(), "interlock: warning: {}", sanitize(w));
    }
    let Some(plan) = &executor.plan else {
        return Err(Failure::config(
            "`interlock sandbox` always runs the command sandboxed",
        ));
    };
    let plan = interlock_sandbox::Plan {
        timeout_seconds,
        controlling_tty,
        ..plan.clone()
    };
    let mut argv = Vec::with_capacity(args.len() + 1);
    argv.push(program.clone());
    argv.extend(args.iter().cloned());
    Ok(interlock_sandbox::run_here(&plan, cwd, program, &argv, env))
}

fn warn(tripwire: &mut interlock_core::tripwire::GitTripwire) {
    use std::io::IsTerminal;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    tripwire.warn(&mut std::io::stderr(), interactive);
}

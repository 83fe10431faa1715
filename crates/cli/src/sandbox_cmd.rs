//! `interlock sandbox [--explain] -- CMD [ARGS...]`: run any command under the
//! same policy as model-written code.

use crate::app::{self, Failure, exit};
use crate::flags::SharedOpts;
use crate::sanitize::sanitize;
use interlock_kernels::{LaunchSpec, scrubbed_env};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;

/// Runs the command (or explains the policy) and returns the command's exit
/// status: its code, 128+N when killed by signal N, 125 when the sandbox could
/// not be set up.
pub fn run(opts: &SharedOpts, explain: bool, command: &[OsString]) -> Result<i32, Failure> {
    let loaded = app::load(opts)?;
    let Some(policy) = interlock_core::executor::policy(
        &loaded.settings,
        &app::home_dir(),
        &app::interlock_dirs(&loaded),
    ) else {
        return Err(Failure::config(
            "`interlock sandbox` always runs the command sandboxed; --sandbox off makes no sense here",
        ));
    };
    if explain {
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
    let executor = app::executor(&loaded)?;
    for w in &executor.warnings {
        let _ = writeln!(std::io::stderr(), "interlock: warning: {}", sanitize(w));
    }
    // The command starts in the current directory when it is inside the
    // workspace; elsewhere it might not exist in the sandbox (a private /tmp
    // covers the host's), so it starts in the workspace.
    let workspace = &loaded.settings.workspace;
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|d| d.canonicalize().ok())
        .filter(|d| d.starts_with(workspace))
        .unwrap_or_else(|| workspace.clone());
    let spec = LaunchSpec {
        program: PathBuf::from(program),
        args: args.to_vec(),
        env: scrubbed_env(std::env::vars_os()),
        cwd,
    };
    let mut cmd = executor.backend.command(&spec).map_err(|e| Failure {
        code: exit::INTERNAL,
        message: format!("cannot prepare the sandbox: {e}"),
    })?;
    ignore_interrupts();
    let status = cmd.status().map_err(|e| Failure {
        code: 125,
        message: format!("cannot start the sandbox helper: {e}"),
    })?;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => {
            let _ = writeln!(
                std::io::stderr(),
                "interlock: the command was killed by signal {sig}"
            );
            128 + sig
        }
        _ => exit::INTERNAL,
    })
}

extern "C" fn on_interrupt(_: libc::c_int) {}

/// Ctrl-C at the terminal reaches the sandbox helper (same process group),
/// which forwards it to the command; interlock itself must stay alive to
/// report the command's status. A no-op handler, not SIG_IGN, so the child
/// does not inherit "ignored".
fn ignore_interrupts() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(on_interrupt),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGTERM] {
        // SAFETY: the handler does nothing, so it is async-signal-safe; no
        // other code in this process depends on these signals' disposition.
        let _ = unsafe { sigaction(sig, &action) };
    }
}

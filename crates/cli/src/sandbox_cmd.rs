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
    let mut env = scrubbed_env(std::env::vars_os());
    // With --allow-net the command's only way out is the proxy: point every tool at it.
    // (The same rule as `executor::policy`: an allowlist only with the network off.)
    let entries = &loaded.settings.allow_net;
    let net = if loaded.settings.network == interlock_core::config::NetworkSetting::None
        && !entries.is_empty()
    {
        for (k, v) in interlock_sandbox::proxy_env(interlock_sandbox::PROXY_PORT) {
            env.push((k.into(), v.into()));
        }
        Some(NetProxyHelper::start(entries, &loaded.dirs.state_dir)?)
    } else {
        None
    };
    let proxy_fd = net.as_ref().map(NetProxyHelper::sandbox_fd);
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
    let outcome = match start(
        &executor,
        opts.timeout,
        &cwd,
        program,
        args,
        &env,
        ctty,
        proxy_fd,
    )? {
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
            match start(
                &fallback,
                opts.timeout,
                &cwd,
                program,
                args,
                &env,
                ctty,
                proxy_fd,
            )? {
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
    if let Some(net) = net {
        net.finish();
    }
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
    proxy_fd: Option<std::os::fd::RawFd>,
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
        proxy: plan
            .proxy
            .clone()
            .map(|p| interlock_sandbox::ProxyPlan { fd: proxy_fd, ..p }),
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

/// The network proxy of one `interlock sandbox --allow-net` command, served by a process forked
/// before the sandbox starts (afterwards this process is in the sandbox's user namespace, and it
/// must stay single-threaded for `run_here`). The sandbox's init sends it the listening socket of
/// the sandbox's own loopback; every refusal is a line on stderr and a `net.denied` audit record,
/// every connection a `net.connected` and `net.closed` record (hosts, bytes).
struct NetProxyHelper {
    /// The sandbox's end of the channel; closed once the command has ended.
    theirs: std::os::fd::OwnedFd,
    /// Closed to tell the proxy to stop.
    stop: std::fs::File,
    pid: nix::unistd::Pid,
}

impl NetProxyHelper {
    fn start(entries: &[String], state_dir: &Path) -> Result<NetProxyHelper, Failure> {
        use nix::unistd::{ForkResult, fork, pipe2};
        let list = interlock_netproxy::AllowList::parse(entries)
            .map_err(|e| Failure::config(e.to_string()))?;
        let io = |e: std::io::Error| Failure {
            code: 125,
            message: format!("cannot start the network proxy: {e}"),
        };
        let (chan, theirs) = interlock_sandbox::proxy_channel().map_err(io)?;
        let (r, w) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| io(e.into()))?;
        // SAFETY: this process is single-threaded here (run_here requires it), so the child may
        // run any code, including starting threads of its own.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                drop(theirs);
                drop(w);
                let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
                // The user's Ctrl-C is for the command; the proxy serves until it has ended.
                for sig in [nix::sys::signal::SIGINT, nix::sys::signal::SIGQUIT] {
                    // SAFETY: installs SIG_IGN, no handler code runs.
                    let _ = unsafe {
                        nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::SigIgn)
                    };
                }
                serve_proxy(chan, list, state_dir, r);
                std::process::exit(0)
            }
            Ok(ForkResult::Parent { child }) => Ok(NetProxyHelper {
                theirs,
                stop: std::fs::File::from(w),
                pid: child,
            }),
            Err(e) => Err(io(e.into())),
        }
    }

    fn sandbox_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.theirs.as_raw_fd()
    }

    /// Stop the proxy and wait for it, so its last lines are out before the exit status.
    fn finish(self) {
        drop(self.theirs);
        drop(self.stop);
        let _ = nix::sys::wait::waitpid(self.pid, None);
    }
}

/// The proxy process: wait for the sandbox's listener, serve it until `stop` reaches EOF.
fn serve_proxy(
    chan: interlock_sandbox::ProxyChannel,
    list: interlock_netproxy::AllowList,
    state_dir: &Path,
    stop: std::os::fd::OwnedFd,
) {
    use std::io::Read;
    let Ok(listener) = chan.receive() else {
        return;
    };
    let session = format!("sandbox-{}", std::process::id());
    let sink = net_event_sink(state_dir, &session);
    let caps = interlock_netproxy::Caps::default();
    let proxy = interlock_netproxy::Proxy::new(list, caps).on_event(sink);
    let Ok(handle) = proxy.spawn(listener) else {
        return;
    };
    let mut b = [0u8; 1];
    let _ = std::fs::File::from(stop).read(&mut b);
    drop(handle);
}

/// Where the proxy's events go: a line on stderr for every refusal, and an audit record for every
/// event (`net.denied`, `net.connected`, `net.failed`, `net.closed`) in the audit session
/// `session` under `state_dir`.
pub(crate) fn net_event_sink(state_dir: &Path, session: &str) -> interlock_netproxy::EventSink {
    use interlock_netproxy::Event;
    use std::sync::{Arc, Mutex};
    let audit = Mutex::new(interlock_audit::AuditLog::open(state_dir, session).ok());
    Arc::new(move |e: Event| {
        let (kind, payload) = match &e {
            Event::Denied { host, port, reason } => {
                let _ = writeln!(
                    std::io::stderr(),
                    "interlock: network: blocked {}: {}",
                    sanitize(&format!("{host}:{port}")),
                    reason
                );
                let code = reason.code();
                let why = reason.to_string();
                let p =
                    serde_json::json!({"host": host, "port": port, "code": code, "reason": why});
                ("net.denied", p)
            }
            Event::Connected { host, port, addr } => {
                let addr = addr.to_string();
                let p = serde_json::json!({"host": host, "port": port, "addr": addr});
                ("net.connected", p)
            }
            Event::Failed { host, port, error } => {
                let p = serde_json::json!({"host": host, "port": port, "error": error});
                ("net.failed", p)
            }
            Event::Closed {
                host,
                port,
                sent,
                received,
            } => {
                let p = serde_json::json!({
                    "host": host, "port": port, "sent": sent, "received": received
                });
                ("net.closed", p)
            }
        };
        if let Ok(mut a) = audit.lock()
            && let Some(log) = a.as_mut()
        {
            let _ = log.append(kind, payload);
        }
    })
}

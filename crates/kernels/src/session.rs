//! One warm interpreter process and the run loop that talks to it.
//!
//! The driver script gets four pipes: stdout (fd 1), stderr (fd 2), requests (fd 3,
//! `<nonce>\n<code>\0`) and replies (fd 4, `\n<nonce> <status> <code>\n`). A run ends
//! only when a reply carrying this run's nonce arrives on fd 4, the process exits, or it
//! is killed; stdout/stderr are never parsed.

use crate::backend::{Backend, LaunchSpec};
use crate::capture::Sink;
use crate::{KernelConfig, KernelError};
use interlock_protocol::{Language, OutputStream};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::process::Child;
use tokio_util::sync::CancellationToken;

const PYTHON_DRIVER: &str = include_str!("drivers/python.py");
const SHELL_DRIVER: &str = include_str!("drivers/shell.sh");
const NODE_DRIVER: &str = include_str!("drivers/node.js");

/// At most this much already-buffered output is read per stream after a run ends (a
/// pipe holds 64 KiB by default; the bound stops a background `yes` from stalling us).
const DRAIN_LIMIT: usize = 4 << 20;

/// The interpreter program looked up on PATH for a language.
pub(crate) fn program_name(language: Language) -> &'static str {
    match language {
        Language::Python => "python3",
        Language::Shell => "bash",
        Language::Javascript => "node",
    }
}

/// Finds an executable file called `name` in the current process's PATH.
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Why a run was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    Timeout,
    Cancel,
}

/// How a run ended.
#[derive(Debug)]
pub(crate) enum End {
    /// The driver reported completion; the session lives on.
    Done {
        status: String,
        code: i32,
        interrupted: Option<Why>,
    },
    /// The interpreter exited; the session is gone.
    Exited {
        status: ExitStatus,
        interrupted: Option<Why>,
    },
    /// It ignored the interrupt and was killed; the session is gone.
    Killed(Why),
}

pub(crate) struct Session {
    child: Child,
    pgid: Pid,
    /// Set once the leader has been reaped and its group killed: never signal again.
    finished: bool,
    requests: pipe::Sender,
    replies: pipe::Receiver,
    stdout: pipe::Receiver,
    stderr: pipe::Receiver,
    reply_buf: Vec<u8>,
    out_buf: Box<[u8]>,
    err_buf: Box<[u8]>,
}

fn pipe_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

/// Duplicates `fd` to a number >= 10 (close-on-exec), so that the child can `dup2` it
/// onto 3 or 4 without clobbering its sibling.
fn high_fd(fd: OwnedFd) -> io::Result<OwnedFd> {
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a valid open fd has no memory-safety conditions.
    let raw = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Runs in the forked child before exec: new session and process group, control pipes
/// on fds 3 and 4, every other inherited descriptor (>= 5) marked close-on-exec so
/// nothing the parent process itself inherited (a jobserver pipe, a log file) reaches
/// the code, and default dispositions for the signals we use to stop code.
fn child_setup(requests: RawFd, replies: RawFd) -> io::Result<()> {
    // SAFETY: only async-signal-safe calls (setsid, dup2, close_range, fcntl, signal)
    // on descriptors of the child; nothing allocates or takes locks.
    unsafe {
        if libc::setsid() < 0 || libc::dup2(requests, 3) < 0 || libc::dup2(replies, 4) < 0 {
            return Err(io::Error::last_os_error());
        }
        // CLOEXEC rather than close: std's own exec-error pipe must stay open until exec.
        let flags = libc::CLOSE_RANGE_CLOEXEC as libc::c_long;
        if libc::syscall(
            libc::SYS_close_range,
            5 as libc::c_long,
            libc::c_long::from(u32::MAX),
            flags,
        ) != 0
        {
            for fd in 5..4096 {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
        for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGPIPE] {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
    Ok(())
}

/// The environment for an interpreter: scrubbed parent env, driver settings, then the
/// caller's vetted additions (later entries replace earlier ones).
fn launch_env(language: Language, config: &KernelConfig) -> Vec<(OsString, OsString)> {
    let mut env = crate::env::scrubbed_env(std::env::vars_os());
    let mut set = |k: &str, v: &str| {
        env.retain(|(name, _)| name != k);
        env.push((k.into(), v.into()));
    };
    if language == Language::Python {
        set("PYTHONUNBUFFERED", "1");
        set("PYTHONIOENCODING", "utf-8:backslashreplace");
        set("MPLBACKEND", "Agg"); // plots go to files, never windows
    }
    set("PAGER", "cat");
    for (k, v) in &config.extra_env {
        set(k, v);
    }
    env
}

fn launch_args(language: Language) -> Vec<OsString> {
    let args: &[&str] = match language {
        Language::Python => &["-u", "-c", PYTHON_DRIVER],
        Language::Shell => &["--noprofile", "--norc", "-c", SHELL_DRIVER, "bash"],
        Language::Javascript => &["-e", NODE_DRIVER],
    };
    args.iter().map(OsString::from).collect()
}

fn random_nonce() -> String {
    let mut bytes = [0u8; 16];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into the valid buffer.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if n != bytes.len() as isize {
        use std::hash::{BuildHasher, RandomState};
        let a = RandomState::new().hash_one(std::time::SystemTime::now());
        let b = RandomState::new().hash_one(std::process::id());
        bytes[..8].copy_from_slice(&a.to_le_bytes());
        bytes[8..].copy_from_slice(&b.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Pulls complete lines out of `buf` and returns the first reply carrying `nonce`.
/// Anything else (garbage, forged or stale replies) is discarded.
fn parse_reply(buf: &mut Vec<u8>, nonce: &str) -> Option<(String, i32)> {
    while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = buf.drain(..=pos).collect();
        let Some(rest) = line[..pos]
            .strip_prefix(nonce.as_bytes())
            .and_then(|r| r.strip_prefix(b" "))
        else {
            continue;
        };
        let rest = String::from_utf8_lossy(rest);
        let mut words = rest.split(' ');
        let status = words.next().unwrap_or_default().to_string();
        let code = words.next().and_then(|c| c.parse().ok()).unwrap_or(0);
        return Some((status, code));
    }
    if buf.len() > 64 << 10 {
        buf.clear(); // a long line without newline is not ours
    }
    None
}

fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// Reads what is already buffered in a non-blocking pipe, bypassing tokio's readiness
/// cache (the data is there even if the reactor has not seen the event yet).
fn drain(fd: RawFd, buf: &mut [u8], mut push: impl FnMut(&[u8])) {
    let mut total = 0;
    while total < DRAIN_LIMIT {
        // SAFETY: `fd` is an open pipe we own and `buf` is a valid writable buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            push(&buf[..n as usize]);
            total += n as usize;
        } else if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        } else {
            break; // EOF or EAGAIN
        }
    }
}

impl Session {
    /// Starts the interpreter for `language` with its driver.
    pub(crate) fn start(
        language: Language,
        config: &KernelConfig,
        backend: &dyn Backend,
    ) -> Result<Session, KernelError> {
        let name = program_name(language);
        let program = find_program(name).ok_or(KernelError::InterpreterNotFound {
            language,
            program: name.to_string(),
        })?;
        let spawn_err = |source: io::Error| KernelError::Spawn {
            language,
            program: program.clone(),
            source,
        };
        if !Path::new(&config.workspace).is_dir() {
            return Err(spawn_err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "workspace {} is not a directory",
                    config.workspace.display()
                ),
            )));
        }
        let spec = LaunchSpec {
            program: program.clone(),
            args: launch_args(language),
            env: launch_env(language, config),
            cwd: config.workspace.clone(),
        };
        let mut cmd = backend.command(&spec).map_err(spawn_err)?;

        let (req_r, req_w) = pipe_pair().map_err(spawn_err)?;
        let (rep_r, rep_w) = pipe_pair().map_err(spawn_err)?;
        let (out_r, out_w) = pipe_pair().map_err(spawn_err)?;
        let (err_r, err_w) = pipe_pair().map_err(spawn_err)?;
        let child_req = high_fd(req_r).map_err(spawn_err)?;
        let child_rep = high_fd(rep_w).map_err(spawn_err)?;
        let (fd3, fd4) = (child_req.as_raw_fd(), child_rep.as_raw_fd());
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out_w))
            .stderr(Stdio::from(err_w));
        // SAFETY: `child_setup` only makes async-signal-safe calls, as required between
        // fork and exec; fd3/fd4 stay open in the parent until after spawn.
        unsafe {
            cmd.pre_exec(move || child_setup(fd3, fd4));
        }
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.kill_on_drop(true);
        let child = cmd.spawn().map_err(spawn_err)?;
        // Close the child's ends here so EOF and EPIPE work.
        drop(cmd);
        drop(child_req);
        drop(child_rep);
        let pid = child
            .id()
            .ok_or_else(|| spawn_err(io::Error::other("no pid")))?;

        Ok(Session {
            child,
            pgid: Pid::from_raw(pid as i32),
            finished: false,
            requests: pipe::Sender::from_owned_fd(req_w).map_err(spawn_err)?,
            replies: pipe::Receiver::from_owned_fd(rep_r).map_err(spawn_err)?,
            stdout: pipe::Receiver::from_owned_fd(out_r).map_err(spawn_err)?,
            stderr: pipe::Receiver::from_owned_fd(err_r).map_err(spawn_err)?,
            reply_buf: Vec::new(),
            out_buf: vec![0; 64 << 10].into_boxed_slice(),
            err_buf: vec![0; 64 << 10].into_boxed_slice(),
        })
    }

    /// If the interpreter exited while idle, its exit status (the session is then dead).
    pub(crate) fn exited_while_idle(&mut self) -> Option<ExitStatus> {
        let status = self.child.try_wait().ok().flatten()?;
        self.kill_group();
        self.finished = true;
        Some(status)
    }

    fn signal(&self, sig: Signal) {
        if !self.finished {
            let _ = killpg(self.pgid, sig);
        }
    }

    fn kill_group(&self) {
        self.signal(Signal::SIGKILL);
    }

    /// Reads stdout/stderr output that is already buffered.
    fn drain_output(&mut self, mut sink: Option<&mut Sink<'_>>) {
        let (out, err) = (self.stdout.as_raw_fd(), self.stderr.as_raw_fd());
        drain(out, &mut self.out_buf, |b| {
            if let Some(s) = sink.as_mut() {
                s.push(OutputStream::Stdout, b)
            }
        });
        drain(err, &mut self.err_buf, |b| {
            if let Some(s) = sink.as_mut() {
                s.push(OutputStream::Stderr, b)
            }
        });
    }

    /// Runs one block. On `Exited`/`Killed` the session is dead and must be dropped.
    pub(crate) async fn run(
        &mut self,
        code: &str,
        config: &KernelConfig,
        cancel: &CancellationToken,
        sink: &mut Sink<'_>,
    ) -> Result<End, KernelError> {
        // Output written by background processes between runs belongs to no block.
        self.drain_output(None);
        let mut scratch = [0u8; 512];
        drain(self.replies.as_raw_fd(), &mut scratch, |_| {});
        self.reply_buf.clear();

        let nonce = random_nonce();
        let mut request = Vec::with_capacity(nonce.len() + code.len() + 2);
        request.extend_from_slice(nonce.as_bytes());
        request.push(b'\n');
        request.extend_from_slice(code.as_bytes());
        request.push(0);
        if let Err(e) = self.requests.write_all(&request).await {
            // A dead driver shows up as EPIPE; the loop below then sees the exit.
            if e.kind() != io::ErrorKind::BrokenPipe {
                return Err(e.into());
            }
        }

        let deadline = tokio::time::sleep(config.timeout);
        tokio::pin!(deadline);
        let mut interrupted: Option<Why> = None;
        let (mut out_open, mut err_open, mut rep_open) = (true, true, true);
        let end = loop {
            tokio::select! {
                biased;
                r = self.stdout.read(&mut self.out_buf), if out_open => match r {
                    Ok(0) => out_open = false,
                    Ok(n) => sink.push(OutputStream::Stdout, &self.out_buf[..n]),
                    Err(e) if transient(&e) => {}
                    Err(e) => return Err(e.into()),
                },
                r = self.stderr.read(&mut self.err_buf), if err_open => match r {
                    Ok(0) => err_open = false,
                    Ok(n) => sink.push(OutputStream::Stderr, &self.err_buf[..n]),
                    Err(e) if transient(&e) => {}
                    Err(e) => return Err(e.into()),
                },
                r = self.replies.read(&mut scratch), if rep_open => match r {
                    Ok(0) => rep_open = false,
                    Ok(n) => {
                        self.reply_buf.extend_from_slice(&scratch[..n]);
                        if let Some((status, code)) = parse_reply(&mut self.reply_buf, &nonce) {
                            break End::Done { status, code, interrupted };
                        }
                    }
                    Err(e) if transient(&e) => {}
                    Err(e) => return Err(e.into()),
                },
                status = self.child.wait() => {
                    let status = status?;
                    self.kill_group(); // leftovers of the dead session
                    self.finished = true;
                    break End::Exited { status, interrupted };
                }
                _ = cancel.cancelled(), if interrupted.is_none() => {
                    self.signal(Signal::SIGINT);
                    interrupted = Some(Why::Cancel);
                    deadline.as_mut().reset(tokio::time::Instant::now() + config.interrupt_grace);
                }
                _ = &mut deadline => match interrupted {
                    None => {
                        self.signal(Signal::SIGINT);
                        interrupted = Some(Why::Timeout);
                        deadline.as_mut().reset(tokio::time::Instant::now() + config.interrupt_grace);
                    }
                    Some(why) => {
                        self.kill_group();
                        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
                        self.finished = true;
                        break End::Killed(why);
                    }
                },
            }
        };
        // The driver flushes before replying, so the rest of the block's output is
        // already in the pipes: take it now so it is neither lost nor leaked.
        self.drain_output(Some(sink));
        Ok(end)
    }

    /// Kills the process group and waits (briefly) for the interpreter to be reaped.
    pub(crate) async fn shutdown(mut self) {
        self.kill_group();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        self.finished = true;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Kill the whole group: background processes started by the code go too.
        self.kill_group();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_needs_the_exact_nonce_on_its_own_line() {
        let mut buf = b"junk\nabc ok 0\nnonce1x ok 0\nfake nonce1 ok 0\n".to_vec();
        assert_eq!(parse_reply(&mut buf, "nonce1"), None);
        buf.extend_from_slice(b"garbage without newline");
        buf.extend_from_slice(b"\nnonce1 error 7\n");
        assert_eq!(parse_reply(&mut buf, "nonce1"), Some(("error".into(), 7)));
    }

    #[test]
    fn reply_may_arrive_in_pieces() {
        let mut buf = b"\nnon".to_vec();
        assert_eq!(parse_reply(&mut buf, "nonce"), None);
        buf.extend_from_slice(b"ce ok 3");
        assert_eq!(parse_reply(&mut buf, "nonce"), None);
        buf.extend_from_slice(b"\n");
        assert_eq!(parse_reply(&mut buf, "nonce"), Some(("ok".into(), 3)));
    }

    #[test]
    fn nonces_are_fresh_and_hex() {
        let (a, b) = (random_nonce(), random_nonce());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}

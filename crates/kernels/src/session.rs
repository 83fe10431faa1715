//! One warm interpreter process and the run loop that talks to it.
//!
//! # The control channel
//! The driver script gets stdout (fd 1) and stderr (fd 2) pipes, a request pipe (fd 3)
//! and a reply socket (fd 4; a socket, because a pipe's write end can be reopened for
//! reading through `/proc/self/fd`, which would let code read the replies). Requests are
//! NUL-terminated records: first the session key (random, sent before any code can run),
//! then per run a probe `A<id>` and, only after it was acknowledged, the code `C<code>`
//! (and `I` when the run is interrupted). Replies are lines:
//! `A <id> <key>` acknowledges the probe, `R <id> <status> <code> <key>` ends the run.
//!
//! The key never travels on the request pipe after start-up and nothing in a block's own
//! scope names it (each driver keeps it out of variables the code can list), so code that
//! finds the descriptors cannot answer for the driver. The protocol is strict: any other
//! byte on the reply socket — a reply nobody asked for, a wrong key, an unknown id,
//! anything between runs — means the session was tampered with, and it is killed. The
//! code is only delivered after the acknowledgement, so a session that cannot
//! acknowledge (its main thread is still busy with an earlier block that faked its end,
//! or something stole the probe) never sees the code; the caller then runs the block in
//! a fresh session. A timeout always ends the session, whatever the channel says.
//! stdout/stderr are never parsed.

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
use tokio::net::UnixStream;
use tokio::net::unix::pipe;
use tokio::process::Child;
use tokio_util::sync::CancellationToken;

const PYTHON_DRIVER: &str = include_str!("drivers/python.py");
const SHELL_DRIVER: &str = include_str!("drivers/shell.sh");
const NODE_DRIVER: &str = include_str!("drivers/node.js");

/// At most this much already-buffered output is read per stream after a run ends (a
/// pipe holds 64 KiB by default; the bound stops a background `yes` from stalling us).
const DRAIN_LIMIT: usize = 4 << 20;

/// A reply line longer than this is not the driver's (its lines are under 200 bytes).
const MAX_REPLY_LINE: usize = 4096;

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
    /// It was killed: on timeout always, on cancel when it did not report back within
    /// the grace period; the session is gone.
    Killed(Why),
    /// The session did not take the block: the code was never delivered, so running it
    /// in a fresh session runs it exactly once. The session is gone.
    Refused(String),
    /// The control channel carried something the driver never sends after the code was
    /// delivered (a forged or stray reply); the session was killed.
    Tampered(String),
}

pub(crate) struct Session {
    child: Child,
    pgid: Pid,
    /// Set once the leader has been reaped and its group killed: never signal again.
    finished: bool,
    requests: pipe::Sender,
    replies: UnixStream,
    /// The session key: proves that a reply comes from the driver.
    key: String,
    stdout: pipe::Receiver,
    stderr: pipe::Receiver,
    reply_buf: Vec<u8>,
    out_buf: Box<[u8]>,
    err_buf: Box<[u8]>,
}

fn pipe_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

/// The reply channel: (ours, the driver's). Both close-on-exec here.
fn socket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    // std creates both ends with SOCK_CLOEXEC.
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    Ok((ours.into(), theirs.into()))
}

/// Writes all of `data` to a blocking or non-blocking fd that has room for it (used once,
/// for the key, into an empty pipe).
fn write_now(fd: &OwnedFd, data: &[u8]) -> io::Result<()> {
    let mut done = 0;
    while done < data.len() {
        match nix::unistd::write(fd, &data[done..]) {
            Ok(n) => done += n,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
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

/// `2 * N` random hex digits (`N` bytes from the kernel's random source).
fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into the valid buffer.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if n != bytes.len() as isize {
        use std::hash::{BuildHasher, RandomState};
        // getrandom cannot fail for small buffers on Linux >= 3.17; this only guards odd
        // kernels. RandomState is itself seeded from the OS.
        for chunk in bytes.chunks_mut(8) {
            let v = RandomState::new().hash_one(std::time::SystemTime::now());
            chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the reply socket said.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// Nothing complete yet.
    Pending,
    /// The expected line, with its words after the id (e.g. `["ok", "0"]`).
    Expected(Vec<String>),
    /// Anything else: the session was tampered with.
    Forged,
}

/// Takes the next non-empty line out of `buf` and checks it is exactly
/// `<kind> <id> <words...> <key>`, with `words` words in between.
fn next_line(buf: &mut Vec<u8>, kind: &str, id: &str, key: &str, words: usize) -> Line {
    loop {
        let Some(pos) = buf.iter().position(|&b| b == b'\n') else {
            return if buf.len() > MAX_REPLY_LINE {
                Line::Forged
            } else {
                Line::Pending
            };
        };
        let line: Vec<u8> = buf.drain(..=pos).collect();
        let line = &line[..pos];
        if line.is_empty() {
            continue; // the driver starts each reply on a fresh line
        }
        let Ok(line) = std::str::from_utf8(line) else {
            return Line::Forged;
        };
        let parts: Vec<&str> = line.split(' ').collect();
        let ok = parts.len() == words + 3
            && parts[0] == kind
            && parts[1] == id
            && parts[words + 2] == key;
        return if ok {
            Line::Expected(parts[2..words + 2].iter().map(|w| w.to_string()).collect())
        } else {
            Line::Forged
        };
    }
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
        let (rep_r, rep_w) = socket_pair().map_err(spawn_err)?;
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
        // The key goes first, before the driver can run any code; the pipe is empty, so
        // this does not block.
        let key = random_hex::<32>();
        let mut first = key.clone().into_bytes();
        first.push(0);
        write_now(&req_w, &first).map_err(spawn_err)?;
        let replies = std::os::unix::net::UnixStream::from(rep_r);
        replies.set_nonblocking(true).map_err(spawn_err)?;

        Ok(Session {
            child,
            pgid: Pid::from_raw(pid as i32),
            finished: false,
            requests: pipe::Sender::from_owned_fd(req_w).map_err(spawn_err)?,
            replies: UnixStream::from_std(replies).map_err(spawn_err)?,
            key,
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

    /// Kills the group and waits (briefly) for the interpreter to be reaped.
    async fn kill_now(&mut self) {
        self.kill_group();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        self.finished = true;
    }

    /// Writes one request record; a dead driver (EPIPE) shows up in the loops as an exit.
    async fn send(&mut self, kind: u8, body: &[u8]) -> Result<(), KernelError> {
        let mut record = Vec::with_capacity(body.len() + 2);
        record.push(kind);
        record.extend_from_slice(body);
        record.push(0);
        match self.requests.write_all(&record).await {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Runs one block. On anything but `Done` the session is dead and must be dropped.
    pub(crate) async fn run(
        &mut self,
        code: &str,
        config: &KernelConfig,
        cancel: &CancellationToken,
        sink: &mut Sink<'_>,
    ) -> Result<End, KernelError> {
        // Output written by background processes between runs belongs to no block.
        self.drain_output(None);
        // The driver writes nothing between runs: anything here was forged.
        let mut scratch = [0u8; 512];
        let mut stray = !self.reply_buf.is_empty();
        drain(self.replies.as_raw_fd(), &mut scratch, |_| stray = true);
        if stray {
            self.kill_now().await;
            return Ok(End::Refused(
                "something in it wrote to interlock's control channel between blocks".into(),
            ));
        }

        let id = random_hex::<16>();
        self.send(b'A', id.as_bytes()).await?;
        if let Some(refused) = self.accept(&id, config, cancel).await? {
            return Ok(refused);
        }
        self.send(b'C', code.as_bytes()).await?;

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
                        match next_line(&mut self.reply_buf, "R", &id, &self.key, 2) {
                            Line::Pending => {}
                            Line::Forged => {
                                self.kill_now().await;
                                break End::Tampered(
                                    "the block wrote to interlock's control channel (a forged or stray reply)".into(),
                                );
                            }
                            Line::Expected(_) if interrupted == Some(Why::Timeout) => {
                                // Whatever the channel says, a timed-out block's session ends.
                                self.drain_output(Some(sink));
                                self.kill_now().await;
                                break End::Killed(Why::Timeout);
                            }
                            Line::Expected(words) => {
                                let code = words[1].parse().unwrap_or(0);
                                break End::Done { status: words[0].clone(), code, interrupted };
                            }
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
                    self.interrupt().await?;
                    interrupted = Some(Why::Cancel);
                    deadline.as_mut().reset(tokio::time::Instant::now() + config.interrupt_grace);
                }
                _ = &mut deadline => match interrupted {
                    None => {
                        // SIGINT first so the block's output shows where it was; the
                        // session is killed either way once the grace period ends or the
                        // driver reports back.
                        self.interrupt().await?;
                        interrupted = Some(Why::Timeout);
                        deadline.as_mut().reset(tokio::time::Instant::now() + config.interrupt_grace);
                    }
                    Some(why) => {
                        self.kill_now().await;
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

    /// Interrupts the running block: an `I` record (node ends an awaited run on it,
    /// so `process.emit('SIGINT')` from the code cannot end its own run) and SIGINT.
    async fn interrupt(&mut self) -> Result<(), KernelError> {
        self.send(b'I', b"").await?;
        self.signal(Signal::SIGINT);
        Ok(())
    }

    /// Waits for the driver to acknowledge probe `id` with the key. `Some` when the
    /// session did not (it is then dead and the code was never sent).
    async fn accept(
        &mut self,
        id: &str,
        config: &KernelConfig,
        cancel: &CancellationToken,
    ) -> Result<Option<End>, KernelError> {
        let mut scratch = [0u8; 512];
        let (mut out_open, mut err_open) = (true, true);
        let deadline = tokio::time::sleep(config.timeout);
        tokio::pin!(deadline);
        let why = loop {
            tokio::select! {
                biased;
                r = self.replies.read(&mut scratch) => match r {
                    Ok(0) => break "it closed interlock's control channel".to_string(),
                    Ok(n) => {
                        self.reply_buf.extend_from_slice(&scratch[..n]);
                        match next_line(&mut self.reply_buf, "A", id, &self.key, 0) {
                            Line::Pending => {}
                            Line::Expected(_) if self.reply_buf.is_empty() => return Ok(None),
                            _ => break "it answered interlock with a reply it did not ask for".to_string(),
                        }
                    }
                    Err(e) if transient(&e) => {}
                    Err(e) => return Err(e.into()),
                },
                // Keep the output pipes flowing (background output belongs to no block).
                r = self.stdout.read(&mut self.out_buf), if out_open => match r {
                    Ok(0) => out_open = false,
                    Err(e) if !transient(&e) => return Err(e.into()),
                    _ => {}
                },
                r = self.stderr.read(&mut self.err_buf), if err_open => match r {
                    Ok(0) => err_open = false,
                    Err(e) if !transient(&e) => return Err(e.into()),
                    _ => {}
                },
                status = self.child.wait() => {
                    break format!("it had exited ({})", crate::describe_exit(status?));
                }
                _ = cancel.cancelled() => {
                    self.kill_now().await;
                    return Ok(Some(End::Killed(Why::Cancel)));
                }
                _ = &mut deadline => break format!(
                    "it did not take the block within {} (code from an earlier block may still be running in it)",
                    crate::seconds(config.timeout)
                ),
            }
        };
        self.kill_now().await;
        Ok(Some(End::Refused(why)))
    }

    /// Kills the process group and waits (briefly) for the interpreter to be reaped.
    pub(crate) async fn shutdown(mut self) {
        self.kill_now().await;
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
    fn only_the_exact_reply_is_accepted() {
        let good = |buf: &[u8]| next_line(&mut buf.to_vec(), "R", "id1", "k3y", 2);
        assert_eq!(
            good(b"\nR id1 ok 0 k3y\n"),
            Line::Expected(vec!["ok".into(), "0".into()])
        );
        for bad in [
            &b"junk\n"[..],
            b"R id1 ok 0 wrong\n",
            b"R id2 ok 0 k3y\n",
            b"A id1 k3y\n",
            b"R id1 ok 0 k3y extra\n",
            b"R id1 ok k3y\n",
            b" R id1 ok 0 k3y\n",
            b"\xffR id1 ok 0 k3y\n",
        ] {
            assert_eq!(
                good(bad),
                Line::Forged,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn reply_may_arrive_in_pieces() {
        let mut buf = b"\nR i".to_vec();
        assert_eq!(next_line(&mut buf, "R", "id", "k", 2), Line::Pending);
        buf.extend_from_slice(b"d error 3 k");
        assert_eq!(next_line(&mut buf, "R", "id", "k", 2), Line::Pending);
        buf.extend_from_slice(b"\n");
        assert_eq!(
            next_line(&mut buf, "R", "id", "k", 2),
            Line::Expected(vec!["error".into(), "3".into()])
        );
    }

    #[test]
    fn an_endless_line_is_forged() {
        let mut buf = vec![b'x'; MAX_REPLY_LINE + 1];
        assert_eq!(next_line(&mut buf, "R", "id", "k", 2), Line::Forged);
    }

    #[test]
    fn ids_are_fresh_and_hex() {
        let (a, b) = (random_hex::<16>(), random_hex::<16>());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}

//! A pseudo-terminal of its own for `interlock sandbox -- CMD` at a terminal.
//!
//! Handing the user's terminal to a sandboxed program lets it act outside the
//! sandbox through the terminal itself: write the clipboard (OSC 52), set the
//! title, hide or rewrite what is on screen, make the terminal answer a device
//! query into the input (typed into the user's shell once the program is gone)
//! and leave modes such as `-echo` behind. So the program gets a fresh pty:
//!
//! ```text
//! user's terminal ──raw bytes──▶ pump ──▶ pty master ══ pty slave = CMD's 0/1/2
//! user's terminal ◀─sanitized── pump ◀── pty master
//! ```
//!
//! The pump is a forked process (the sandbox is supervised in-process and must
//! be started while this process is single-threaded). Output passes the chat's
//! streaming sanitizer: colours pass, every other escape is shown as text, so
//! the terminal never acts on one nor answers a query. The user's terminal is
//! in raw mode (keys, Ctrl-C included, go to the pty, whose line discipline
//! signals the program) and its modes are restored by [`Pty::finish`] and, if
//! interlock dies first, by the pump, which sees the end of its pipe to us.

use interlock_guard::sanitize::Sanitizer;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, SpecialCharacterIndices, Termios};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// How long the pump keeps reading after the command ended while something
/// (a daemon left behind in the Landlock-only fallback) still holds the pty.
const DRAIN_QUIET_MS: u16 = 250;

/// True when any of stdin, stdout and stderr is a terminal: then the command
/// gets a pty instead.
pub fn at_terminal() -> bool {
    (0..3).any(is_tty)
}

fn is_tty(fd: RawFd) -> bool {
    nix::unistd::isatty(borrow(fd)).unwrap_or(false)
}

/// Borrows one of the standard descriptors 0–2.
fn borrow(fd: RawFd) -> BorrowedFd<'static> {
    debug_assert!((0..3).contains(&fd));
    // SAFETY: 0–2 are never closed by this program, only replaced with dup2,
    // so the number stays a valid descriptor for the process's lifetime (a
    // descriptor the parent left closed only makes calls fail with EBADF).
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// A command's pty while it runs: undone by [`Pty::finish`] (or on drop).
pub struct Pty {
    pump: Option<Pid>,
    /// Closed to tell the pump the command is over.
    done: Option<OwnedFd>,
    /// The original descriptors 0–2 that were terminals, to put back.
    saved: Vec<(RawFd, OwnedFd)>,
    /// The user's terminal modes before raw mode (stdin's terminal).
    termios: Option<Termios>,
}

impl Pty {
    /// Opens a pty with the user's window size, puts stdin's terminal in raw
    /// mode, starts the pump and makes the pty slave this process's fd 0, 1
    /// and 2 wherever those were terminals (pipes and files stay as they are),
    /// so the sandbox's program inherits it.
    ///
    /// Must be called while this process is single-threaded: it forks.
    pub fn start() -> Result<Pty, String> {
        let ttys: Vec<RawFd> = (0..3).filter(|fd| is_tty(*fd)).collect();
        let input = ttys.contains(&0);
        let output = [1, 2].into_iter().find(|fd| ttys.contains(fd));
        let size = ttys.iter().rev().find_map(|fd| window_size(*fd));
        let pair = nix::pty::openpty(size.as_ref(), None)
            .map_err(|e| format!("cannot open a pseudo-terminal for the command: {e}"))?;
        for fd in [&pair.master, &pair.slave] {
            set_cloexec(fd.as_fd());
        }
        // ^Z would stop the program inside the sandbox with nobody left to
        // continue it: on this pty it is an ordinary byte.
        if let Ok(mut t) = termios::tcgetattr(&pair.slave) {
            t.control_chars[SpecialCharacterIndices::VSUSP as usize] = 0;
            let _ = termios::tcsetattr(&pair.slave, SetArg::TCSANOW, &t);
        }
        let (done_r, done_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| format!("cannot create a pipe: {e}"))?;
        let mut pty = Pty {
            pump: None,
            done: Some(done_w),
            saved: Vec::new(),
            termios: None,
        };
        if input {
            let saved = termios::tcgetattr(std::io::stdin())
                .map_err(|e| format!("cannot read the terminal's modes: {e}"))?;
            let mut raw = saved.clone();
            termios::cfmakeraw(&mut raw);
            // Output processing stays: the sanitizer prints `\n` line ends.
            raw.output_flags = saved.output_flags;
            termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, &raw)
                .map_err(|e| format!("cannot put the terminal in raw mode: {e}"))?;
            pty.termios = Some(saved);
        }
        // SAFETY: the caller guarantees this process is single-threaded (the
        // sandbox's `run_here` needs the same), so the child may run any code.
        match unsafe { nix::unistd::fork() } {
            Err(e) => return Err(format!("cannot start the terminal pump: {e}")),
            Ok(ForkResult::Child) => {
                drop(pair.slave);
                drop(pty.done.take());
                let termios = pty.termios.take();
                drop(pty);
                pump(pair.master, input, output, done_r);
                if let Some(t) = termios {
                    let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, &t);
                }
                std::process::exit(0);
            }
            Ok(ForkResult::Parent { child }) => pty.pump = Some(child),
        }
        drop(pair.master);
        drop(done_r);
        for fd in ttys {
            let copy = nix::fcntl::fcntl(borrow(fd), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(10))
                .map_err(|e| format!("cannot save descriptor {fd}: {e}"))?;
            let copy = owned(copy);
            let r = match fd {
                0 => nix::unistd::dup2_stdin(&pair.slave),
                1 => nix::unistd::dup2_stdout(&pair.slave),
                _ => nix::unistd::dup2_stderr(&pair.slave),
            };
            pty.saved.push((fd, copy));
            r.map_err(|e| format!("cannot give the command its terminal: {e}"))?;
        }
        Ok(pty)
    }

    /// Puts the original descriptors back (the pump then sees the pty's end
    /// once the command's processes are gone), waits for the pump to show the
    /// rest of the output and restores the terminal's modes.
    pub fn finish(mut self) {
        self.end();
    }

    fn end(&mut self) {
        for (fd, copy) in self.saved.drain(..) {
            let _ = match fd {
                0 => nix::unistd::dup2_stdin(&copy),
                1 => nix::unistd::dup2_stdout(&copy),
                _ => nix::unistd::dup2_stderr(&copy),
            };
        }
        drop(self.done.take());
        if let Some(pid) = self.pump.take() {
            while let Err(Errno::EINTR) = waitpid(pid, None) {}
        }
        if let Some(t) = self.termios.take() {
            let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, &t);
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.end();
    }
}

fn owned(fd: RawFd) -> OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: `fd` was just returned by F_DUPFD_CLOEXEC and nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn set_cloexec(fd: BorrowedFd<'_>) {
    let _ = nix::fcntl::fcntl(
        fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
}

fn window_size(fd: RawFd) -> Option<nix::pty::Winsize> {
    let mut ws = nix::pty::Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `struct winsize` through the pointer, which
    // points at a live, properly sized value.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws as *mut nix::pty::Winsize) };
    (r == 0 && ws.ws_row > 0 && ws.ws_col > 0).then_some(ws)
}

fn set_window_size(master: BorrowedFd<'_>, ws: &nix::pty::Winsize) {
    // SAFETY: TIOCSWINSZ reads one `struct winsize` through the pointer, which
    // points at a live, properly sized value.
    let _ = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCSWINSZ,
            ws as *const nix::pty::Winsize,
        )
    };
}

/// The pump: user input → master, master → sanitizer → the user's terminal,
/// window size changes → master, until the pty ends (EIO once no slave is
/// open) after `done` hung up.
fn pump(master: OwnedFd, input: bool, output: Option<RawFd>, done: OwnedFd) {
    // Ctrl-C on a terminal not in raw mode (stdin redirected) reaches the
    // whole process group; the supervisor forwards it, the pump ignores it.
    let mut block = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGWINCH,
        Signal::SIGTERM,
    ] {
        block.add(s);
    }
    let _ = block.thread_block();
    let mut winch_set = SigSet::empty();
    winch_set.add(Signal::SIGWINCH);
    let winch =
        SignalFd::with_flags(&winch_set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC).ok();
    let _ = nix::fcntl::fcntl(
        &master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    let mut out = output.map(borrow);
    let size_from = output.unwrap_or(0);
    let mut sanitizer = Sanitizer::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut input_open = input;
    let mut draining = false;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut want = PollFlags::POLLIN;
        if !pending.is_empty() && !draining {
            want |= PollFlags::POLLOUT;
        }
        let read_input = input_open && pending.is_empty() && !draining;
        let stdin = std::io::stdin();
        // Only what is waited for is polled: a hung-up descriptor would
        // otherwise report POLLHUP on every round.
        let mut fds = vec![PollFd::new(master.as_fd(), want)];
        let i_at = read_input.then_some(fds.len());
        if read_input {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        let d_at = (!draining).then_some(fds.len());
        if !draining {
            fds.push(PollFd::new(done.as_fd(), PollFlags::POLLIN));
        }
        let w_at = winch.is_some().then_some(fds.len());
        if let Some(w) = &winch {
            fds.push(PollFd::new(w.as_fd(), PollFlags::POLLIN));
        }
        let timeout = if draining {
            PollTimeout::from(DRAIN_QUIET_MS)
        } else {
            PollTimeout::NONE
        };
        match poll(&mut fds, timeout) {
            Ok(0) => break,
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
        let ev = |at: Option<usize>| {
            at.and_then(|i| fds.get(i))
                .and_then(|f| f.revents())
                .unwrap_or(PollFlags::empty())
        };
        let (m, i, d, w) = (ev(Some(0)), ev(i_at), ev(d_at), ev(w_at));
        drop(fds);
        if !m.is_empty() {
            if m.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
                match nix::unistd::read(&master, &mut buf) {
                    // EIO: no slave is open any more, everything was read.
                    Ok(0) | Err(Errno::EIO) => break,
                    Ok(n) => {
                        let text = sanitizer.push(&buf[..n]);
                        show(&mut out, text.as_bytes());
                    }
                    Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
                    Err(_) => break,
                }
            }
            if m.contains(PollFlags::POLLOUT) && !pending.is_empty() {
                match nix::unistd::write(&master, &pending) {
                    Ok(n) => {
                        pending.drain(..n);
                    }
                    Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
                    Err(_) => pending.clear(),
                }
            }
        }
        if read_input && !i.is_empty() {
            match nix::unistd::read(std::io::stdin(), &mut buf) {
                Ok(0) => input_open = false,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
                Err(_) => input_open = false,
            }
        }
        if !d.is_empty() {
            // The command is over: show what is left, read no more keys.
            draining = true;
        }
        if !w.is_empty()
            && let Some(sfd) = &winch
        {
            while let Ok(Some(_)) = sfd.read_signal() {}
            if let Some(ws) = window_size(size_from) {
                set_window_size(master.as_fd(), &ws);
            }
        }
    }
    let tail = sanitizer.finish();
    show(&mut out, tail.as_bytes());
}

/// Writes all of `bytes` to the user's terminal; after a write error (the
/// terminal is gone) output is dropped so the command never blocks on it.
fn show(out: &mut Option<BorrowedFd<'static>>, mut bytes: &[u8]) {
    while let Some(fd) = *out {
        if bytes.is_empty() {
            return;
        }
        match nix::unistd::write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                let mut p = [PollFd::new(fd, PollFlags::POLLOUT)];
                let _ = poll(&mut p, PollTimeout::NONE);
            }
            Err(_) => *out = None,
        }
    }
}

//! The proxy endpoint inside the sandbox (network mode [`crate::NetworkMode::Allowlist`]).
//!
//! The sandbox keeps its own, empty network namespace. Its init brings that namespace's loopback
//! up, binds a TCP listener on `127.0.0.1:`[`PROXY_PORT`] inside it and hands the listening socket
//! out over a unix socket it inherited ([`ProxyPlan::fd`], `SCM_RIGHTS`), before any sandboxed
//! program runs. The caller, outside in the host's namespace, accepts on it and serves the
//! filtering proxy. The program can reach that port and nothing else: there is no other interface
//! and no route.

use std::io;
use std::io::IoSlice;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};
use serde::{Deserialize, Serialize};

/// The port the proxy listens on inside the sandbox's network namespace (its own namespace, so
/// it clashes with nothing on the host).
pub const PROXY_PORT: u16 = 3128;

/// The proxy part of a plan: where the listener is bound, and how it is sent out, both filled in
/// by the caller at run time (`None` in a plan that was only computed): an inherited fd
/// ([`proxy_channel`]), or a unix socket path in a private directory ([`proxy_rendezvous`]) for
/// callers whose spawn closes inherited fds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyPlan {
    pub port: u16,
    #[serde(default)]
    pub fd: Option<RawFd>,
    #[serde(default)]
    pub socket: Option<std::path::PathBuf>,
}

/// The caller's end of the channel the sandbox sends its listener over.
#[derive(Debug)]
pub struct ProxyChannel {
    ours: OwnedFd,
    /// For a rendezvous: the listening unix socket's path, removed once used.
    path: Option<std::path::PathBuf>,
}

impl Drop for ProxyChannel {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A listening unix socket at `dir/proxy.sock` (`dir` must be private to this user) for the
/// sandbox to connect to and send its listener over; put the path in [`ProxyPlan::socket`].
pub fn proxy_rendezvous(dir: &std::path::Path) -> io::Result<(ProxyChannel, std::path::PathBuf)> {
    let path = dir.join("proxy.sock");
    let l = std::os::unix::net::UnixListener::bind(&path)?;
    Ok((
        ProxyChannel {
            ours: OwnedFd::from(l),
            path: Some(path.clone()),
        },
        path,
    ))
}

/// A socket pair for the listener: the caller keeps the [`ProxyChannel`] and puts the other end's
/// number in [`ProxyPlan::fd`]. Both ends are close-on-exec; [`inheritable`] clears that on the
/// sandbox's end for a caller that starts the helper with `exec` ([`crate::command`]).
pub fn proxy_channel() -> io::Result<(ProxyChannel, OwnedFd)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    Ok((
        ProxyChannel {
            ours: a,
            path: None,
        },
        b,
    ))
}

/// Let `fd` survive `exec` (the helper must inherit its end of the channel).
pub fn inheritable(fd: &OwnedFd) -> io::Result<()> {
    use nix::fcntl::{F_GETFD, F_SETFD, FdFlag, fcntl};
    let flags = FdFlag::from_bits_truncate(fcntl(fd, F_GETFD)?);
    fcntl(fd, F_SETFD(flags - FdFlag::FD_CLOEXEC))?;
    Ok(())
}

impl ProxyChannel {
    /// Wait up to `timeout` for the sandbox to send its listener (or to close its end); false
    /// on timeout.
    pub fn wait(&self, timeout: std::time::Duration) -> bool {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        let mut fds = [PollFd::new(self.ours.as_fd(), PollFlags::POLLIN)];
        let ms = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        matches!(poll(&mut fds, ms), Ok(n) if n > 0)
    }

    /// Wait for the sandbox's listener. Fails when the sandbox ended (or failed) without sending
    /// one: every copy of its end must be closed by then, so the caller drops its own copy as
    /// soon as the sandbox has started.
    pub fn receive(self) -> io::Result<TcpListener> {
        if self.path.is_some() {
            let l = std::os::unix::net::UnixListener::from(self.ours.try_clone()?);
            let (stream, _) = l.accept()?;
            let chan = ProxyChannel {
                ours: OwnedFd::from(stream),
                path: None,
            };
            return chan.receive();
        }
        let mut byte = [0u8; 1];
        let mut iov = [io::IoSliceMut::new(&mut byte)];
        let mut space = nix::cmsg_space!(RawFd);
        let msg = recvmsg::<()>(
            self.ours.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )?;
        for c in msg.cmsgs()? {
            if let ControlMessageOwned::ScmRights(fds) = c
                && let Some(&fd) = fds.first()
            {
                // The kernel just created these fds for us: nothing else owns them.
                for extra in &fds[1..] {
                    drop(crate::sys::take_fd(*extra));
                }
                return Ok(TcpListener::from(crate::sys::take_fd(fd)));
            }
        }
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the sandbox ended before it opened its proxy port",
        ))
    }
}

/// In the sandbox's init, right after the network namespace exists: bring loopback up, listen on
/// `127.0.0.1:port` and send the listener over the inherited `fd`, then close both.
pub(crate) fn open_proxy_port(plan: &ProxyPlan) -> io::Result<()> {
    let chan = match (plan.fd, &plan.socket) {
        // The caller put this fd in the plan for us: no other object in this process owns it.
        (Some(fd), _) => crate::sys::take_fd(fd),
        (None, Some(path)) => OwnedFd::from(std::os::unix::net::UnixStream::connect(path)?),
        (None, None) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "network allowlist without a proxy channel (the caller must create one)",
            ));
        }
    };
    crate::sys::loopback_up()?;
    let listener = TcpListener::bind(("127.0.0.1", plan.port))?;
    let fds = [listener.as_raw_fd()];
    sendmsg::<()>(
        chan.as_raw_fd(),
        &[IoSlice::new(b"L")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )?;
    Ok(())
}

/// The environment that points programs at the proxy: the standard variables most tools read
/// (curl, wget, pip, Python, git, cargo, npm, Node's `undici`-based fetch via `NODE_USE_ENV_PROXY`),
/// in both cases; `NO_PROXY` lists nothing, so every name goes through the proxy.
pub fn proxy_env(port: u16) -> Vec<(String, String)> {
    let url = format!("http://127.0.0.1:{port}");
    let mut v = Vec::new();
    for k in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "npm_config_proxy",
        "npm_config_https_proxy",
        "PIP_PROXY",
        "CARGO_HTTP_PROXY",
    ] {
        v.push((k.to_string(), url.clone()));
    }
    v.push(("NO_PROXY".into(), String::new()));
    v.push(("no_proxy".into(), String::new()));
    v.push(("NODE_USE_ENV_PROXY".into(), "1".into()));
    v
}

/// The seccomp rules for `socket(2)` in allowlist mode: a call matching them is refused, which is
/// every family but `AF_INET` and `AF_INET6` (the domain is an `int`: the low 32 bits compare).
pub(crate) fn inet_only_socket_rules() -> Vec<seccompiler::SeccompRule> {
    use seccompiler::{SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule};
    let ne = |v: i32| {
        SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, v as u64)
            .expect("valid seccomp condition")
    };
    vec![SeccompRule::new(vec![ne(libc::AF_INET), ne(libc::AF_INET6)]).expect("valid seccomp rule")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_env_points_every_tool_at_the_port() {
        let env = proxy_env(3128);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("HTTPS_PROXY"), Some("http://127.0.0.1:3128"));
        assert_eq!(get("https_proxy"), Some("http://127.0.0.1:3128"));
        assert_eq!(get("npm_config_https_proxy"), Some("http://127.0.0.1:3128"));
        assert_eq!(get("NO_PROXY"), Some(""));
    }
}

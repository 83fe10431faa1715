//! Enforcement: the helper that performs a [`Plan`] and execs the program.
//!
//! Process structure in namespace mode:
//!
//! ```text
//! caller ── helper P (host pid ns) ── init C (pid 1 in the new pid ns) ── program G (pid 2, new session)
//! ```
//!
//! P creates the cgroup (if any), forks C into new user and pid namespaces (P itself stays in the
//! host's), forwards signals to C, and exits with
//! the program's status (dying by the same signal when the program was killed). C builds the mount tree,
//! forks G, forwards signals to G's process group, reaps orphans and reports G's wait status to P
//! through a pipe. When C exits the kernel kills everything left in the pid namespace; when P dies C gets
//! SIGKILL (`PR_SET_PDEATHSIG`), and P itself gets SIGKILL when the process that spawned it dies.
//! C leaves P's process group, so a SIGINT sent to the caller's process group reaches the program
//! exactly once (via P → C → G's group). In the Landlock-only fallback there is no C: P forks G.
//!
//! Any failure before exec makes the helper exit with status 125 and a message naming the step on
//! stderr; the program is never run unsandboxed. 126/127 mean the program could not be executed /
//! was not found.

use std::collections::HashMap;
use std::ffi::{CString, OsStr, OsString};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};
use nix::sched::CloneFlags;
use nix::sys::resource::{Resource as NixResource, setrlimit};
use nix::sys::signal::{SigSet, Signal, kill, raise};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::plan::{
    CgroupPlan, FsAccess, Isolation, LandlockPlan, MountOp, Namespace, Plan, Resource,
};
use crate::sys::{self, Forked};

/// The argument that selects helper mode (`argv[1]`).
pub const HELPER_ARG: &str = "__sandbox-exec";
/// Exit status of the helper when the sandbox could not be set up.
pub const SETUP_FAILED: i32 = 125;

/// Exit status of a sandbox stopped by its timeout ([`Plan::timeout_seconds`]), as timeout(1) uses.
pub const TIMED_OUT: i32 = 124;

/// The Landlock ABI whose access rights this crate requests and was tested with.
const LANDLOCK_ABI: ABI = ABI::V7;

#[derive(Serialize, Deserialize)]
struct Request {
    plan: Plan,
    cwd: PathBuf,
    parent_pid: Option<i32>,
}

/// Build the command that runs `program args…` inside the sandbox described by `plan`:
/// `helper_exe __sandbox-exec <request JSON> -- program args…`, with exactly `env` as environment
/// and `cwd` as working directory (resolved inside the sandbox).
///
/// The helper preserves fds 0–4 for the program and makes every other inherited fd close-on-exec.
/// It kills the sandbox when the spawning process dies (`PR_SET_PDEATHSIG`); note that Linux ties the
/// death signal to the spawning *thread*, so spawn from a thread that lives as long as the session.
pub fn command(
    plan: &Plan,
    program: &Path,
    args: &[OsString],
    env: &[(OsString, OsString)],
    cwd: &Path,
    helper_exe: &Path,
) -> Command {
    let req = Request {
        plan: plan.clone(),
        cwd: cwd.to_path_buf(),
        parent_pid: Some(std::process::id() as i32),
    };
    let json = serde_json::to_string(&req).expect("plan serializes");
    let mut cmd = Command::new(helper_exe);
    cmd.arg(HELPER_ARG)
        .arg(json)
        .arg("--")
        .arg(program)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(cwd);
    cmd
}

/// The request argument the helper expects, without a parent-pid check (for tools and benchmarks
/// that invoke the helper from a shell; [`command`] adds the check).
pub fn helper_request(plan: &Plan, cwd: &Path) -> String {
    serde_json::to_string(&Request {
        plan: plan.clone(),
        cwd: cwd.to_path_buf(),
        parent_pid: None,
    })
    .expect("plan serializes")
}

fn fail(step: &str, msg: impl std::fmt::Display) -> ! {
    let _ = writeln!(
        std::io::stderr(),
        "interlock-sandbox: {step} failed: {msg}; the program was not run"
    );
    std::process::exit(SETUP_FAILED)
}

/// Entry point of the helper. `args` is the whole argv (`argv[0]`, `__sandbox-exec`, request,
/// `--`, program, args…). Performs the plan and execs the program; never returns.
///
/// Must be called before the process starts any thread (it forks and continues running Rust code in
/// the children).
pub fn helper_main(args: &[OsString]) -> ! {
    let Some(pos) = args.iter().position(|a| a == HELPER_ARG) else {
        fail(
            "argument parsing",
            format!("expected {HELPER_ARG} <plan> -- program [args…]"),
        )
    };
    let rest = &args[pos + 1..];
    if rest.len() < 3 || rest[1] != "--" {
        fail(
            "argument parsing",
            format!("expected {HELPER_ARG} <plan> -- program [args…]"),
        );
    }
    let req: Request = match serde_json::from_slice(rest[0].as_bytes()) {
        Ok(r) => r,
        Err(e) => fail("reading the sandbox plan", e),
    };
    let program = rest[2].clone();
    let argv: Vec<OsString> = rest[2..].to_vec();
    let started = Started::Helper {
        parent_pid: req.parent_pid,
    };
    match run(&req.plan, &req.cwd, &program, &argv, None, started) {
        Ok(outcome) => exit_like(outcome),
        Err(NamespacesUnavailable(e)) => fail(
            "creating namespaces (unshare)",
            format!(
                "{e}; unprivileged user namespaces may be disabled, see `interlock sandbox --explain`"
            ),
        ),
    }
}

/// How the sandboxed program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this status.
    Exited(i32),
    /// It was killed by this signal.
    Signaled(i32),
    /// It ran past the plan's timeout, and everything in the sandbox was killed.
    TimedOut,
}

/// The user namespace could not be created (the text says why). Nothing was started and this
/// process is unchanged apart from fds >= 5 being close-on-exec, so the caller may fall back to a
/// plan without namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacesUnavailable(pub String);

/// Who runs the supervisor.
#[derive(Clone, Copy)]
enum Started {
    /// A helper process spawned by [`command`]: it dies with its spawner.
    Helper { parent_pid: Option<i32> },
    /// The calling process itself ([`run_here`]): it keeps its own lifetime and fds 3 and 4.
    InProcess,
}

/// Run `program argv[1..]` inside the sandbox described by `plan`, supervised by this process
/// itself rather than by a re-executed helper: one exec fewer, which is most of the start-up cost
/// of a one-shot command such as `interlock sandbox -- CMD`. The program gets exactly `env` and
/// starts in `cwd`; only fds 0–2 are passed on (the program's copies of everything else are closed
/// on exec).
///
/// Returns how the program ended. If the user namespace cannot be created, returns
/// [`NamespacesUnavailable`] without having started anything. Any other setup failure prints the
/// failed step and exits this process with [`SETUP_FAILED`], as the helper does: the program is
/// never run unsandboxed.
///
/// Must be called while this process is single-threaded: it forks and keeps running Rust code in
/// the children. Signals the program should see (SIGINT, SIGTERM, …) are forwarded to it while it
/// runs.
pub fn run_here(
    plan: &Plan,
    cwd: &Path,
    program: &OsStr,
    argv: &[OsString],
    env: &[(OsString, OsString)],
) -> Result<Outcome, NamespacesUnavailable> {
    run(plan, cwd, program, argv, Some(env), Started::InProcess)
}

/// Signals forwarded from the helper to the program.
const FORWARDED: &[Signal] = &[
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
];

fn supervised_set() -> SigSet {
    let mut s = SigSet::empty();
    for sig in FORWARDED {
        s.add(*sig);
    }
    s.add(Signal::SIGCHLD);
    s
}

fn run(
    plan: &Plan,
    cwd: &Path,
    program: &OsStr,
    argv: &[OsString],
    env: Option<&[(OsString, OsString)]>,
    started: Started,
) -> Result<Outcome, NamespacesUnavailable> {
    if let Err(e) = sys::cloexec_from(5) {
        fail("marking inherited file descriptors close-on-exec", e);
    }
    let in_process = matches!(started, Started::InProcess);
    // The program inherits stdin, stdout and stderr, and a helper's fds 3 and 4 (the kernels'
    // control pipes); nothing else. A one-shot command's caller may hold anything at 3 and 4 (a
    // directory fd would let the program read past every mount), so they are not passed on.
    let keep_below: u32 = if in_process { 3 } else { 5 };
    if let Started::Helper { parent_pid } = started {
        // The helper itself never dumps core.
        let _ = setrlimit(NixResource::RLIMIT_CORE, 0, 0);
        if plan.die_with_parent {
            if let Err(e) = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL) {
                fail("PR_SET_PDEATHSIG", e);
            }
            if let Some(ppid) = parent_pid
                && nix::unistd::getppid().as_raw() != ppid
            {
                fail(
                    "parent check",
                    "the process that started the sandbox is gone",
                );
            }
        }
    }
    // The cgroup is created now but only the sandbox's first process joins it (see `Go`): the
    // supervisor never moves, so it never has to move back, and the slow part of joining a cgroup
    // (an RCU grace period on cgroup v1) overlaps with building the sandbox.
    let cgroup = match &plan.cgroup {
        Some(c) => match CgroupGuard::create(c) {
            Ok(g) => Some(g),
            Err(e) => fail("cgroup setup", e),
        },
        None => None,
    };
    let mut mask = supervised_set();
    if plan.timeout_seconds.is_some() {
        mask.add(Signal::SIGALRM);
    }
    let old_mask = match mask.thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK) {
        Ok(m) => m,
        Err(e) => fail("blocking signals", e),
    };

    match plan.isolation {
        Isolation::Namespaces => {
            // The ids must be read before the new user namespace exists (inside it they read as
            // the overflow id until the maps are written).
            let uid = nix::unistd::geteuid();
            let gid = nix::unistd::getegid();
            // C is created inside the new user and pid namespaces (clone flags, not unshare), so P
            // stays in the host's: it keeps the host's mount namespace (it must remove the cgroup
            // afterwards) and can still start processes once the sandbox is gone (the caller's git
            // tripwire runs git then). The other namespaces are created by C.
            let (outer, inner) = clone_flags(&plan.namespaces);
            let (status_r, status_w) = pipe();
            let (alive_r, alive_w) = pipe();
            let go = Go::new(cgroup.as_ref());
            match sys::fork_into(outer.bits()) {
                Err(e @ (nix::errno::Errno::EAGAIN | nix::errno::Errno::ENOMEM)) => fail("fork", e),
                Err(e) => {
                    // Nothing has started: undo what this process changed and let the caller
                    // decide.
                    drop(cgroup);
                    let _ = old_mask.thread_set_mask();
                    Err(NamespacesUnavailable(e.to_string()))
                }
                Ok(Forked::Child) => {
                    if plan.identity_map {
                        let w = |p: &str, s: String| std::fs::write(p, s);
                        if let Err(e) = w("/proc/self/setgroups", "deny".into())
                            .and_then(|_| w("/proc/self/uid_map", format!("{uid} {uid} 1")))
                            .and_then(|_| w("/proc/self/gid_map", format!("{gid} {gid} 1")))
                        {
                            fail("writing the user namespace id maps", e);
                        }
                    }
                    drop(status_r);
                    drop(alive_w);
                    let go = go.child();
                    init_main(
                        plan, inner, cwd, program, argv, env, status_w, alive_r, go, keep_below,
                    )
                }
                Ok(Forked::Parent(pid)) => {
                    drop(status_w);
                    drop(alive_r);
                    go.parent(cgroup.as_ref(), pid);
                    if !in_process {
                        close_program_fds();
                    }
                    let st = supervise(Pid::from_raw(pid), &mask, false, plan.timeout_seconds);
                    let reported = read_status(status_r);
                    drop(alive_w);
                    drop(cgroup);
                    let _ = old_mask.thread_set_mask();
                    Ok(match (st, reported) {
                        (Supervised::TimedOut, _) => Outcome::TimedOut,
                        (_, Some(raw)) => outcome_of_raw(raw),
                        (Supervised::Ended(st), None) => outcome_of(st),
                    })
                }
            }
        }
        Isolation::LandlockOnly => {
            let parent = nix::unistd::getpid();
            // Without a pid namespace, a timeout must find what left the process group: as a
            // subreaper this process inherits every orphan below it.
            let reaper = plan.timeout_seconds.is_some()
                && nix::sys::prctl::set_child_subreaper(true).is_ok();
            let go = Go::new(cgroup.as_ref());
            match sys::fork() {
                Err(e) => fail("fork", e),
                Ok(Forked::Child) => {
                    go.child().wait();
                    program_main(plan, cwd, program, argv, env, Some(parent), keep_below)
                }
                Ok(Forked::Parent(pid)) => {
                    go.parent(cgroup.as_ref(), pid);
                    if !in_process {
                        close_program_fds();
                    }
                    let st = supervise(Pid::from_raw(pid), &mask, true, plan.timeout_seconds);
                    if reaper {
                        if matches!(st, Supervised::TimedOut) {
                            kill_orphans();
                        }
                        let _ = nix::sys::prctl::set_child_subreaper(false);
                    }
                    drop(cgroup);
                    let _ = old_mask.thread_set_mask();
                    Ok(match st {
                        Supervised::TimedOut => Outcome::TimedOut,
                        Supervised::Ended(st) => outcome_of(st),
                    })
                }
            }
        }
    }
}

/// The "you may start the program" signal from the supervisor to the sandbox's first process, sent
/// once that process has been moved into the sandbox's cgroup. Without a cgroup there is nothing to
/// wait for. On cgroup v1 the child joins by itself instead (see [`GoWait::wait`]).
struct Go {
    pipe: Option<(OwnedFd, OwnedFd)>,
    join_self: Vec<PathBuf>,
}

/// The child's end of [`Go`].
struct GoWait(Option<OwnedFd>, Vec<(PathBuf, std::fs::File)>);

impl Go {
    fn new(cgroup: Option<&CgroupGuard>) -> Go {
        match cgroup {
            Some(c) if c.v1 => Go {
                pipe: None,
                join_self: c.dirs.clone(),
            },
            Some(_) => Go {
                pipe: Some(pipe()),
                join_self: Vec::new(),
            },
            None => Go {
                pipe: None,
                join_self: Vec::new(),
            },
        }
    }

    /// In the child, right after the fork: on cgroup v1, open each cgroup's `tasks` now, while the
    /// host's cgroup tree is still reachable (see [`GoWait::wait`]).
    fn child(self) -> GoWait {
        let tasks = self
            .join_self
            .into_iter()
            .map(|dir| {
                // Above the program's fds 3 and 4, as the pipes are.
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(dir.join("tasks"))
                    .and_then(|f| sys::dup_high(&OwnedFd::from(f), 10));
                match f {
                    Ok(f) => (dir, std::fs::File::from(f)),
                    Err(e) => fail(
                        "cgroup setup",
                        format!("moving the sandbox into {}: {e}", dir.display()),
                    ),
                }
            })
            .collect();
        GoWait(self.pipe.map(|(r, _w)| r), tasks)
    }

    /// Move `pid` into the cgroup, then let it go. On failure the child sees EOF and gives up.
    fn parent(self, cgroup: Option<&CgroupGuard>, pid: libc::pid_t) {
        let Some((_r, w)) = self.pipe else { return };
        let Some(cg) = cgroup else { return };
        if let Err(e) = cg.add(pid) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            fail("cgroup setup", e);
        }
        let mut f = std::fs::File::from(w);
        let _ = f.write_all(b"g");
    }
}

impl GoWait {
    /// Block until the supervisor says go; exit (the program never runs) if it gave up.
    ///
    /// On cgroup v1 this process moves itself instead, writing `0` (itself) to each cgroup's
    /// `tasks`: it is single-threaded, so its one thread is the whole process. The kernel skips the
    /// global lock for that case, where moving another process by pid (`cgroup.procs`) waits for
    /// an RCU grace period (measured 4–40 ms on a busy host). Joining here, after the sandbox's
    /// namespaces and mounts are built, leaves their kernel memory charged where it was before.
    fn wait(self) {
        for (dir, mut f) in self.1 {
            if let Err(e) = f.write_all(b"0") {
                fail(
                    "cgroup setup",
                    format!("moving the sandbox into {}: {e}", dir.display()),
                );
            }
        }
        let Some(r) = self.0 else { return };
        let mut f = std::fs::File::from(r);
        let mut b = [0u8; 1];
        if f.read_exact(&mut b).is_err() {
            std::process::exit(SETUP_FAILED);
        }
    }
}

/// A close-on-exec pipe whose ends are moved to fds >= 10, so they can never be confused with the
/// program's fds 3 and 4 (which may be unused when the caller passes none).
/// Split the plan's namespaces into those P creates (user, pid) and those C creates (the rest).
fn clone_flags(namespaces: &[Namespace]) -> (CloneFlags, CloneFlags) {
    let (mut outer, mut inner) = (CloneFlags::empty(), CloneFlags::empty());
    for ns in namespaces {
        match ns {
            Namespace::User => outer |= CloneFlags::CLONE_NEWUSER,
            Namespace::Pid => outer |= CloneFlags::CLONE_NEWPID,
            Namespace::Mount => inner |= CloneFlags::CLONE_NEWNS,
            Namespace::Ipc => inner |= CloneFlags::CLONE_NEWIPC,
            Namespace::Uts => inner |= CloneFlags::CLONE_NEWUTS,
            Namespace::Net => inner |= CloneFlags::CLONE_NEWNET,
        }
    }
    (outer, inner)
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let (r, w) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => fail("pipe", e),
    };
    let high = |fd: OwnedFd| -> OwnedFd {
        match sys::dup_high(&fd, 10) {
            Ok(n) => n,
            Err(e) => fail("pipe", e),
        }
    };
    (high(r), high(w))
}

/// The supervisors keep stdin/stdout/stderr (for their own messages) but not the control pipes 3 and
/// 4, so the caller sees EOF on them as soon as the program closes its copies.
fn close_program_fds() {
    sys::close_raw(3);
    sys::close_raw(4);
}

/// After a timeout in the Landlock-only fallback: kills, round after round, every process
/// re-parented to this subreaper (a `setsid` daemon, its children once it dies) until none is
/// left. Bounded, in case something keeps forking faster than it is killed.
fn kill_orphans() {
    let me = nix::unistd::getpid().as_raw();
    for _ in 0..10_000 {
        let children = sys::children_of(me);
        if children.is_empty() {
            return;
        }
        for c in &children {
            let _ = kill(Pid::from_raw(*c), Signal::SIGKILL);
        }
        for c in &children {
            let _ = waitpid(Pid::from_raw(*c), None);
        }
    }
}

/// How supervision ended.
enum Supervised {
    /// The sandbox's first process ended with this status.
    Ended(WaitStatus),
    /// The timeout passed; the sandbox was killed and its first process reaped.
    TimedOut,
}

/// Waits for `child`, forwarding signals to it (to its process group when `group`). With a
/// timeout, SIGALRM (blocked in `mask`) ends the wait: the child is killed — as the pid
/// namespace's init that takes everything in the sandbox with it; in the Landlock-only fallback
/// its process group is killed too.
fn supervise(child: Pid, mask: &SigSet, group: bool, timeout_seconds: Option<u64>) -> Supervised {
    if let Some(secs) = timeout_seconds {
        // alarm(2) takes an unsigned int; anything larger is "forever" in practice.
        nix::unistd::alarm::set(u32::try_from(secs).unwrap_or(u32::MAX).max(1));
    }
    let ended = loop {
        let sig = match mask.wait() {
            Ok(s) => s,
            Err(_) => continue,
        };
        if sig == Signal::SIGCHLD {
            match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => continue,
                Ok(st @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    break Supervised::Ended(st);
                }
                Ok(_) => continue,
                Err(e) => fail("waiting for the sandbox", e),
            }
        }
        if sig == Signal::SIGALRM && timeout_seconds.is_some() {
            // The child leads its process group, so a group kill includes it.
            forward(child, Signal::SIGKILL, group);
            loop {
                match waitpid(child, None) {
                    Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) => break,
                    Err(nix::errno::Errno::EINTR) | Ok(_) => continue,
                    Err(_) => break,
                }
            }
            break Supervised::TimedOut;
        }
        forward(child, sig, group);
    };
    if timeout_seconds.is_some() {
        // A pending alarm must not fire after the mask is restored: its default action kills.
        nix::unistd::alarm::cancel();
        // Consume a SIGALRM that arrived while the child was ending.
        sys::take_pending(libc::SIGALRM);
    }
    ended
}

fn forward(child: Pid, sig: Signal, group: bool) {
    if group && kill(Pid::from_raw(-child.as_raw()), sig).is_ok() {
        return;
    }
    let _ = kill(child, sig);
}

fn read_status(r: OwnedFd) -> Option<i32> {
    let mut f = std::fs::File::from(r);
    let mut buf = [0u8; 4];
    f.read_exact(&mut buf).ok()?;
    Some(i32::from_le_bytes(buf))
}

fn outcome_of_raw(raw: i32) -> Outcome {
    if libc::WIFSIGNALED(raw) {
        Outcome::Signaled(libc::WTERMSIG(raw))
    } else {
        Outcome::Exited(libc::WEXITSTATUS(raw))
    }
}

fn outcome_of(st: WaitStatus) -> Outcome {
    match st {
        WaitStatus::Exited(_, code) => Outcome::Exited(code),
        WaitStatus::Signaled(_, sig, _) => Outcome::Signaled(sig as i32),
        _ => Outcome::Exited(SETUP_FAILED),
    }
}

fn exit_like(outcome: Outcome) -> ! {
    match outcome {
        Outcome::Exited(code) => std::process::exit(code),
        Outcome::Signaled(sig) => die_by(sig),
        Outcome::TimedOut => std::process::exit(TIMED_OUT),
    }
}

/// Terminate this process with signal `sig`, so the caller sees the same wait status as the program's.
fn die_by(sig: i32) -> ! {
    if let Ok(s) = Signal::try_from(sig) {
        sys::reset_signal_dispositions();
        let mut set = SigSet::empty();
        set.add(s);
        let _ = set.thread_unblock();
        let _ = raise(s);
    }
    std::process::exit(128 + sig)
}

/// pid 1 of the new pid namespace: build the mount tree, start the program, reap, forward, report.
#[allow(clippy::too_many_arguments)]
fn init_main(
    plan: &Plan,
    inner: CloneFlags,
    cwd: &Path,
    program: &OsStr,
    argv: &[OsString],
    env: Option<&[(OsString, OsString)]>,
    status_w: OwnedFd,
    alive_r: OwnedFd,
    go: GoWait,
    keep_below: u32,
) -> ! {
    if plan.die_with_parent {
        if let Err(e) = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL) {
            fail("PR_SET_PDEATHSIG", e);
        }
        if sys::pipe_hung_up(&alive_r) {
            std::process::exit(SETUP_FAILED);
        }
    }
    // Leave the caller's process group: group signals reach P, which forwards them once.
    let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    if let Err(e) = nix::sched::unshare(inner) {
        fail("creating mount/ipc/uts/net namespaces (unshare)", e);
    }
    if let Some(proxy) = &plan.proxy
        && let Err(e) = crate::net::open_proxy_port(proxy)
    {
        fail("opening the network proxy's port in the sandbox", e);
    }
    // Before the fresh read-only /proc replaces the host's: the sysctl acts on the writer's pid
    // namespace, ours, as its init.
    if let Some(max) = plan.pid_max
        && let Err(e) = std::fs::write("/proc/sys/kernel/pid_max", max.to_string())
    {
        fail("limiting the sandbox's processes (kernel.pid_max)", e);
    }
    if let Err((step, e)) = build_mount_tree(&plan.mounts) {
        fail(&step, e);
    }
    if let Some(h) = &plan.hostname
        && let Err(e) = nix::unistd::sethostname(h)
    {
        fail("sethostname", e);
    }
    // Only now can processes multiply: from here on everything must be inside the cgroup.
    go.wait();
    let mask = supervised_set();
    match sys::fork() {
        Err(e) => fail("fork", e),
        Ok(Forked::Child) => {
            drop(status_w);
            drop(alive_r);
            program_main(plan, cwd, program, argv, env, None, keep_below)
        }
        Ok(Forked::Parent(pid)) => {
            close_program_fds();
            let g = Pid::from_raw(pid);
            loop {
                let sig = match mask.wait() {
                    Ok(s) => s,
                    Err(_) => continue,
                };
                if sig != Signal::SIGCHLD {
                    forward(g, sig, true);
                    continue;
                }
                // Reap everything; orphans are re-parented to us.
                loop {
                    match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                        Ok(WaitStatus::StillAlive) | Err(_) => break,
                        Ok(st) if st.pid() == Some(g) => {
                            let raw = match st {
                                WaitStatus::Exited(_, c) => (c & 0xff) << 8,
                                WaitStatus::Signaled(_, s, _) => s as i32,
                                _ => continue,
                            };
                            let mut f = std::fs::File::from(status_w);
                            let _ = f.write_all(&raw.to_le_bytes());
                            // Exiting kills whatever is left in the pid namespace.
                            std::process::exit(0);
                        }
                        Ok(_) => {}
                    }
                }
            }
        }
    }
}

type StepResult = Result<(), (String, String)>;

fn step<T, E: std::fmt::Display>(
    what: impl Fn() -> String,
    r: Result<T, E>,
) -> Result<T, (String, String)> {
    r.map_err(|e| (what(), e.to_string()))
}

fn canonical(p: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(p).ok()
}

/// Creates `c` as a directory if nothing is there (a bind below the private `/tmp` needs its mount
/// point recreated on the fresh tmpfs).
fn ensure_mount_point(c: &Path) -> StepResult {
    if std::fs::symlink_metadata(c).is_err() {
        step(
            || format!("creating mount point {}", c.display()),
            std::fs::create_dir_all(c),
        )?;
    }
    Ok(())
}

/// Perform the mount operations (in the new mount namespace, as pid 1 of the new pid namespace).
fn build_mount_tree(ops: &[MountOp]) -> StepResult {
    use nix::mount::{MsFlags, mount};
    // Phase 1, in the host's tree: clone the sources of binds before the root changes.
    let mut sources: HashMap<usize, (PathBuf, OwnedFd)> = HashMap::new();
    let mut devices: Vec<(String, OwnedFd)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match op {
            MountOp::MakePrivate => step(
                || "making the mount tree private".into(),
                mount(
                    None::<&str>,
                    "/",
                    None::<&str>,
                    MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                    None::<&str>,
                ),
            )?,
            MountOp::BindReadOnlyUnderTmp { path } => {
                // Optional: a readable root that does not exist grants nothing.
                let Some(c) = canonical(path) else { continue };
                let fd = step(
                    || format!("cloning mount of {}", c.display()),
                    sys::clone_tree(&c, true),
                )?;
                sources.insert(i, (c, fd));
            }
            MountOp::BindWritable { path } | MountOp::BindTmp { source: path } => {
                let c = step(
                    || format!("resolving writable path {}", path.display()),
                    std::fs::canonicalize(path),
                )?;
                let fd = step(
                    || format!("cloning mount of {}", c.display()),
                    sys::clone_tree(&c, true),
                )?;
                sources.insert(i, (c, fd));
            }
            MountOp::MinimalDev { devices: devs, .. } => {
                for d in devs {
                    let p = Path::new("/dev").join(d);
                    let fd = step(
                        || format!("cloning {}", p.display()),
                        sys::clone_tree(&p, false),
                    )?;
                    devices.push((d.clone(), fd));
                }
            }
            _ => {}
        }
    }
    // Phase 2: the read-only root.
    if ops.contains(&MountOp::ReadOnlyRoot) {
        let root = step(
            || "cloning the root mount tree".into(),
            sys::clone_tree(Path::new("/"), true),
        )?;
        step(
            || "making the root tree read-only".into(),
            sys::mount_setattr(
                Some(&root),
                Path::new(""),
                sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
                true,
            ),
        )?;
        step(
            || "attaching the new root".into(),
            sys::move_mount(&root, Path::new("/tmp")),
        )?;
        step(
            || "entering the new root".into(),
            std::env::set_current_dir("/tmp"),
        )?;
        step(|| "pivot_root".into(), sys::pivot_root_here())?;
    }
    // Phase 3, in the new root.
    let nosuid_nodev = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    for (i, op) in ops.iter().enumerate() {
        match op {
            MountOp::MakePrivate | MountOp::ReadOnlyRoot => {}
            MountOp::MinimalDev { shm_bytes, .. } => {
                let what = || "building /dev".to_string();
                step(
                    what,
                    mount(
                        Some("tmpfs"),
                        "/dev",
                        Some("tmpfs"),
                        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
                        Some("mode=0755,size=65536"),
                    ),
                )?;
                for (d, fd) in &devices {
                    let p = Path::new("/dev").join(d);
                    step(what, std::fs::File::create(&p))?;
                    step(
                        || format!("binding {}", p.display()),
                        sys::move_mount(fd, &p),
                    )?;
                }
                step(what, std::os::unix::fs::symlink("/proc/self/fd", "/dev/fd"))?;
                for (i, n) in ["stdin", "stdout", "stderr"].iter().enumerate() {
                    step(
                        what,
                        std::os::unix::fs::symlink(
                            format!("/proc/self/fd/{i}"),
                            format!("/dev/{n}"),
                        ),
                    )?;
                }
                step(what, std::fs::write("/dev/.empty", b""))?;
                step(what, std::fs::create_dir("/dev/shm"))?;
                step(
                    || "mounting /dev/shm".into(),
                    mount(
                        Some("tmpfs"),
                        "/dev/shm",
                        Some("tmpfs"),
                        nosuid_nodev | MsFlags::MS_NOEXEC,
                        Some(format!("mode=1777,size={shm_bytes}").as_str()),
                    ),
                )?;
                step(
                    || "making /dev read-only".into(),
                    sys::mount_setattr(None, Path::new("/dev"), sys::MOUNT_ATTR_RDONLY, false),
                )?;
            }
            MountOp::FreshProc => step(
                || "mounting /proc".into(),
                mount(
                    Some("proc"),
                    "/proc",
                    Some("proc"),
                    nosuid_nodev | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY,
                    None::<&str>,
                ),
            )?,
            MountOp::TmpfsTmp { size_bytes } => step(
                || "mounting the private /tmp".into(),
                mount(
                    Some("tmpfs"),
                    "/tmp",
                    Some("tmpfs"),
                    nosuid_nodev,
                    Some(format!("mode=1777,size={size_bytes}").as_str()),
                ),
            )?,
            MountOp::BindTmp { .. } => {
                let (_, fd) = &sources[&i];
                step(
                    || "binding the private /tmp".into(),
                    sys::move_mount(fd, Path::new("/tmp")),
                )?;
                step(
                    || "securing the private /tmp".into(),
                    sys::mount_setattr(
                        None,
                        Path::new("/tmp"),
                        sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
                        true,
                    ),
                )?;
            }
            MountOp::BindReadOnlyUnderTmp { .. } => {
                let Some((c, fd)) = sources.get(&i) else {
                    continue;
                };
                ensure_mount_point(c)?;
                step(
                    || format!("making {} read-only", c.display()),
                    sys::mount_setattr(
                        Some(fd),
                        Path::new(""),
                        sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
                        true,
                    ),
                )?;
                step(
                    || format!("binding {} read-only", c.display()),
                    sys::move_mount(fd, c),
                )?;
            }
            MountOp::BindWritable { .. } => {
                let (c, fd) = &sources[&i];
                // A writable root under /tmp sits below the private tmpfs now: recreate its mount point.
                ensure_mount_point(c)?;
                step(
                    || format!("binding writable {}", c.display()),
                    sys::move_mount(fd, c),
                )?;
                step(
                    || format!("securing writable {}", c.display()),
                    sys::mount_setattr(
                        None,
                        c,
                        sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
                        true,
                    ),
                )?;
            }
            MountOp::Pin { path } => {
                let Some(c) = canonical(path) else { continue };
                let fd = step(
                    || format!("pinning {}", c.display()),
                    sys::clone_tree(&c, true),
                )?;
                step(
                    || format!("pinning {}", c.display()),
                    sys::move_mount(&fd, &c),
                )?;
            }
            MountOp::BindReadOnly { path } => {
                let Some(c) = canonical(path) else { continue };
                let fd = step(
                    || format!("cloning {}", c.display()),
                    sys::clone_tree(&c, true),
                )?;
                step(
                    || format!("making {} read-only", c.display()),
                    sys::mount_setattr(Some(&fd), Path::new(""), sys::MOUNT_ATTR_RDONLY, true),
                )?;
                step(
                    || format!("binding {} read-only", c.display()),
                    sys::move_mount(&fd, &c),
                )?;
            }
            MountOp::DenyDir { path, keep } => deny_dir(path, keep)?,
            MountOp::Hide { path } => {
                // Most listed paths do not exist: one stat (which follows symlinks, as resolving
                // does) rules them out before resolving the rest component by component.
                let Ok(meta) = std::fs::metadata(path) else {
                    continue;
                };
                // Resolve symlinks: hiding a symlink hides what it points to.
                let Some(c) = canonical(path) else { continue };
                if meta.is_dir() {
                    step(
                        || format!("hiding {}", c.display()),
                        mount(
                            Some("tmpfs"),
                            &c,
                            Some("tmpfs"),
                            nosuid_nodev | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY,
                            Some("mode=0755,size=4096,nr_inodes=1"),
                        ),
                    )?;
                } else {
                    let fd = step(
                        || format!("hiding {}", c.display()),
                        sys::clone_tree(Path::new("/dev/.empty"), false),
                    )?;
                    step(
                        || format!("hiding {}", c.display()),
                        sys::mount_setattr(
                            Some(&fd),
                            Path::new(""),
                            sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
                            false,
                        ),
                    )?;
                    step(
                        || format!("hiding {}", c.display()),
                        sys::move_mount(&fd, &c),
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// [`MountOp::DenyDir`]: clone what stays visible below `path` as it looks now, cover `path` with
/// an empty tmpfs, put the clones back at their own paths and make the tmpfs read-only. A kept
/// path is resolved first, so a symlink to somewhere else keeps nothing here.
fn deny_dir(path: &Path, keep: &[PathBuf]) -> StepResult {
    use nix::mount::{MsFlags, mount};
    let Some(d) = canonical(path) else {
        return Ok(());
    };
    if !d.is_dir() {
        return Ok(());
    }
    let mut clones: Vec<(PathBuf, bool, OwnedFd)> = Vec::new();
    for k in keep {
        let Some(c) = canonical(k) else { continue };
        if !c.starts_with(&d) || c == d || clones.iter().any(|(p, _, _)| c.starts_with(p)) {
            continue;
        }
        let is_dir = c.is_dir();
        let fd = step(
            || format!("keeping {} visible", c.display()),
            sys::clone_tree(&c, true),
        )?;
        clones.push((c, is_dir, fd));
    }
    step(
        || format!("hiding the contents of {}", d.display()),
        mount(
            Some("tmpfs"),
            &d,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("mode=0755,size=1048576,nr_inodes=65536"),
        ),
    )?;
    for (c, is_dir, fd) in &clones {
        let what = || format!("keeping {} visible", c.display());
        if *is_dir {
            step(what, std::fs::create_dir_all(c))?;
        } else {
            if let Some(parent) = c.parent() {
                step(what, std::fs::create_dir_all(parent))?;
            }
            step(what, std::fs::File::create(c))?;
        }
        step(what, sys::move_mount(fd, c))?;
    }
    step(
        || format!("hiding the contents of {}", d.display()),
        sys::mount_setattr(None, &d, sys::MOUNT_ATTR_RDONLY, false),
    )
}

/// The final child: restrict itself and exec the program. `fallback_parent` is the supervisor's pid
/// in the Landlock-only mode (checked after PR_SET_PDEATHSIG). Every fd from `keep_below` up is
/// closed on exec.
fn program_main(
    plan: &Plan,
    cwd: &Path,
    program: &OsStr,
    argv: &[OsString],
    env: Option<&[(OsString, OsString)]>,
    fallback_parent: Option<Pid>,
    keep_below: u32,
) -> ! {
    if let Err(e) = sys::cloexec_from(keep_below) {
        fail("marking inherited file descriptors close-on-exec", e);
    }
    sys::reset_signal_dispositions();
    let _ = SigSet::all().thread_unblock();
    if plan.die_with_parent {
        if let Err(e) = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL) {
            fail("PR_SET_PDEATHSIG", e);
        }
        if let Some(p) = fallback_parent
            && nix::unistd::getppid() != p
        {
            std::process::exit(SETUP_FAILED);
        }
    }
    if plan.new_session
        && let Err(e) = nix::unistd::setsid()
    {
        fail("setsid", e);
    }
    if plan.controlling_tty
        && nix::unistd::isatty(std::io::stdin()).unwrap_or(false)
        && let Err(e) = sys::set_controlling_tty(0)
    {
        fail(
            "making the command's pseudo-terminal its controlling terminal (TIOCSCTTY)",
            format!("{e}; without it Ctrl-C could not interrupt the command (try --raw-tty)"),
        );
    }
    if let Err(e) = std::env::set_current_dir(cwd) {
        fail(
            "changing to the working directory",
            format!(
                "{}: {e} (is it hidden or outside the sandbox?)",
                cwd.display()
            ),
        );
    }
    for r in &plan.rlimits {
        let res = match r.resource {
            Resource::Core => NixResource::RLIMIT_CORE,
            Resource::Data => NixResource::RLIMIT_DATA,
            Resource::Cpu => NixResource::RLIMIT_CPU,
            Resource::Nproc => NixResource::RLIMIT_NPROC,
            Resource::Fsize => NixResource::RLIMIT_FSIZE,
            Resource::Nofile => NixResource::RLIMIT_NOFILE,
        };
        // Never raise a limit: only lower it (raising the hard limit needs privileges anyway).
        let (_, hard) = nix::sys::resource::getrlimit(res).unwrap_or((u64::MAX, u64::MAX));
        let v = r.value.min(hard);
        if let Err(e) = setrlimit(res, v, v) {
            fail(&format!("setting rlimit {:?}", r.resource), e);
        }
    }
    if plan.no_new_privs
        && let Err(e) = nix::sys::prctl::set_no_new_privs()
    {
        fail("PR_SET_NO_NEW_PRIVS", e);
    }
    if plan.drop_capabilities
        && let Err(e) = sys::drop_all_capabilities()
    {
        fail("dropping capabilities", e);
    }
    if let Err(e) = apply_landlock(&plan.landlock) {
        fail("Landlock", e);
    }
    if let Err(e) = sys::install_seccomp(&crate::seccomp::prelude_filter(&plan.seccomp))
        .and_then(|_| crate::seccomp::main_filter(&plan.seccomp))
        .and_then(|f| sys::install_seccomp(&f))
    {
        fail("installing the seccomp filter", e);
    }
    exec(program, argv, env)
}

/// Exec the program with `env` (this process's environment when `None`).
fn exec(program: &OsStr, argv: &[OsString], env: Option<&[(OsString, OsString)]>) -> ! {
    let vars: Vec<(OsString, OsString)> = match env {
        Some(e) => e.to_vec(),
        None => std::env::vars_os().collect(),
    };
    let path_var = vars
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone());
    let path = resolve_program(program, path_var);
    let c = |s: &OsStr| CString::new(s.as_bytes()).unwrap_or_default();
    let cpath = c(path.as_os_str());
    let cargv: Vec<CString> = argv.iter().map(|a| c(a)).collect();
    let cenv: Vec<CString> = vars
        .into_iter()
        .map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).unwrap_or_default()
        })
        .collect();
    let err = match nix::unistd::execve(&cpath, &cargv, &cenv) {
        Err(e) => e,
        Ok(never) => match never {},
    };
    let _ = writeln!(
        std::io::stderr(),
        "interlock-sandbox: cannot execute {}: {err}",
        program.to_string_lossy()
    );
    std::process::exit(if err == nix::errno::Errno::ENOENT {
        127
    } else {
        126
    })
}

use std::os::unix::ffi::OsStringExt;

fn resolve_program(program: &OsStr, path: Option<OsString>) -> PathBuf {
    if program.as_bytes().contains(&b'/') {
        return PathBuf::from(program);
    }
    let path = path.unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    for dir in std::env::split_paths(&path) {
        let cand = dir.join(program);
        if let Ok(m) = std::fs::metadata(&cand)
            && m.is_file()
        {
            return cand;
        }
    }
    PathBuf::from(program)
}

fn fs_access(a: FsAccess) -> BitFlags<AccessFs> {
    match a {
        FsAccess::Read => AccessFs::from_read(LANDLOCK_ABI),
        FsAccess::ReadWrite => AccessFs::from_all(LANDLOCK_ABI),
        FsAccess::Device => {
            AccessFs::from_read(LANDLOCK_ABI)
                | AccessFs::WriteFile
                | AccessFs::Truncate
                | AccessFs::IoctlDev
        }
    }
}

/// Expand a rule with exceptions into rules that grant nothing on the excepted paths: directories on
/// the way get `ReadDir` only, their other entries the full access. Symlinks are skipped (never
/// followed), so a link planted in a writable directory cannot widen the rule.
fn expand(
    path: &Path,
    access: BitFlags<AccessFs>,
    except: &[PathBuf],
    out: &mut Vec<(PathBuf, BitFlags<AccessFs>)>,
) {
    if except.iter().any(|e| e == path) {
        return;
    }
    if except.is_empty() {
        out.push((path.to_path_buf(), access));
        return;
    }
    out.push((
        path.to_path_buf(),
        BitFlags::from(AccessFs::ReadDir) & access,
    ));
    let Ok(rd) = std::fs::read_dir(path) else {
        return;
    };
    for ent in rd.flatten() {
        let child = ent.path();
        let Ok(ft) = ent.file_type() else { continue };
        if ft.is_symlink() {
            continue;
        }
        let sub: Vec<PathBuf> = except
            .iter()
            .filter(|e| e.starts_with(&child))
            .cloned()
            .collect();
        expand(&child, access, &sub, out);
    }
}

fn apply_landlock(l: &LandlockPlan) -> Result<(), String> {
    let e = |e: landlock::RulesetError| e.to_string();
    // Best effort everywhere (older kernels get the subset they support); when Landlock is the only
    // wall, the status is checked below and anything short of enforcement is fatal.
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(LANDLOCK_ABI))
        .map_err(e)?;
    if l.deny_tcp {
        ruleset = ruleset
            .set_compatibility(CompatLevel::BestEffort)
            .handle_access(AccessNet::from_all(LANDLOCK_ABI))
            .map_err(e)?;
    }
    let mut scopes = BitFlags::<Scope>::empty();
    if l.scope_abstract_unix {
        scopes |= Scope::AbstractUnixSocket;
    }
    if l.scope_signals {
        scopes |= Scope::Signal;
    }
    if !scopes.is_empty() {
        ruleset = ruleset
            .set_compatibility(CompatLevel::BestEffort)
            .scope(scopes)
            .map_err(e)?;
    }
    let mut created = ruleset.create().map_err(e)?;
    let mut rules = Vec::new();
    for r in &l.rules {
        expand(&r.path, fs_access(r.access), &r.except, &mut rules);
    }
    for (path, access) in rules {
        let Ok(fd) = PathFd::new(&path) else { continue }; // missing paths grant nothing
        let is_dir = std::fs::metadata(&path)
            .map(|m| m.is_dir())
            .unwrap_or(false);
        let access = if is_dir {
            access
        } else {
            access & AccessFs::from_file(LANDLOCK_ABI)
        };
        if access.is_empty() {
            continue;
        }
        created = created
            .set_compatibility(CompatLevel::BestEffort)
            .add_rule(PathBeneath::new(fd, access))
            .map_err(e)?;
    }
    let status = created.restrict_self().map_err(e)?;
    if l.required && status.ruleset == RulesetStatus::NotEnforced {
        return Err(
            "the kernel did not enforce the Landlock ruleset, and it is the only filesystem \
                    restriction in this mode"
                .into(),
        );
    }
    Ok(())
}

/// Removes the cgroups of sandbox helpers that no longer exist. A helper that
/// is SIGKILLed (the kernels kill a session's process group) cannot remove its
/// own; without this sweep they pile up, and a reused pid would collide.
/// `rmdir` of a cgroup that still has tasks fails, so live sandboxes are safe.
fn remove_stale_cgroups(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("interlock-sandbox-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

/// The cgroups created for one sandbox (the supervisor itself never joins them); whatever is left
/// in them is killed and they are removed on drop.
struct CgroupGuard {
    dirs: Vec<PathBuf>,
    /// cgroup v1: the sandbox's first process joins by itself (see [`GoWait::wait`]).
    v1: bool,
}

impl CgroupGuard {
    fn create(c: &CgroupPlan) -> Result<CgroupGuard, String> {
        let name = format!("interlock-sandbox-{}", std::process::id());
        let mut guard = CgroupGuard {
            dirs: Vec::new(),
            v1: c.version != "v2",
        };
        let mut settings: Vec<(PathBuf, &str, u64)> = Vec::new();
        if let (Some(p), Some(v)) = (&c.pids_parent, c.pids_max) {
            settings.push((p.clone(), "pids.max", v));
        }
        if let (Some(p), Some(v)) = (&c.memory_parent, c.memory_max) {
            let file = if c.version == "v2" {
                "memory.max"
            } else {
                "memory.limit_in_bytes"
            };
            settings.push((p.clone(), file, v));
        }
        // On v2 both limits live under the same parent: sweep each parent once.
        let mut parents: Vec<&PathBuf> = settings.iter().map(|(p, _, _)| p).collect();
        parents.dedup();
        for parent in parents {
            remove_stale_cgroups(parent);
        }
        for (parent, file, value) in settings {
            let dir = parent.join(&name);
            if !guard.dirs.contains(&dir) {
                std::fs::create_dir(&dir)
                    .map_err(|e| format!("creating {}: {e}", dir.display()))?;
                guard.dirs.push(dir.clone());
            }
            std::fs::write(dir.join(file), value.to_string())
                .map_err(|e| format!("writing {}/{file}: {e}", dir.display()))?;
        }
        Ok(guard)
    }

    /// Move process `pid` (the sandbox's first process, before it can fork) into every cgroup.
    fn add(&self, pid: libc::pid_t) -> Result<(), String> {
        for dir in &self.dirs {
            std::fs::write(dir.join("cgroup.procs"), pid.to_string())
                .map_err(|e| format!("moving the sandbox into {}: {e}", dir.display()))?;
        }
        Ok(())
    }
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        let me = std::process::id().to_string();
        for dir in &self.dirs {
            // Whatever the program left behind (in the fallback there is no pid namespace to end
            // it) is killed, so the cgroup can go.
            for _ in 0..3 {
                let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                if procs.trim().is_empty() {
                    break;
                }
                for pid in procs.lines().filter(|p| *p != me) {
                    if let Ok(pid) = pid.trim().parse::<i32>() {
                        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                    }
                }
            }
            // Killed tasks may take a moment to leave (up to ~1 s after a fork bomb). A helper that is
            // itself SIGKILLed leaves an empty cgroup behind.
            for i in 0..60 {
                if std::fs::remove_dir(dir).is_ok() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(if i < 10 {
                    2
                } else {
                    20
                }));
            }
        }
    }
}

//! The pure translation of a [`Policy`] into the exact steps the kernel will be asked to perform.
//!
//! Nothing here touches the system: [`plan`] is a function of its two arguments, so every security
//! property that can be decided up front is unit-tested on the [`Plan`] value. Paths are used as given;
//! the helper resolves symlinks at run time, immediately before mounting (so a hidden symlink hides its
//! target, and a symlink inside the workspace that points into a hidden directory leads to the empty
//! mount).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::SandboxError;
use crate::policy::{NetworkMode, Policy, PrivateTmp, SandboxMode};
use crate::support::Support;

/// How the sandbox isolates the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// User, mount, pid, ipc, uts (and network) namespaces, plus Landlock and seccomp.
    Namespaces,
    /// Degraded: Landlock (read allowlist, write allowlist) and seccomp only.
    LandlockOnly,
}

/// A namespace to unshare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Namespace {
    User,
    Mount,
    Pid,
    Ipc,
    Uts,
    Net,
}

/// One mount operation, performed in order inside the new mount namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum MountOp {
    /// Stop mount propagation between the host and the sandbox (`MS_REC|MS_PRIVATE` on `/`).
    MakePrivate,
    /// Clone the host's whole mount tree (`open_tree(OPEN_TREE_CLONE|AT_RECURSIVE)`), make every mount
    /// in it read-only, nosuid and nodev (`mount_setattr(AT_RECURSIVE)`), and make it the root
    /// (`pivot_root`), detaching the old root. Sources of later binds are cloned before this step.
    ReadOnlyRoot,
    /// A fresh, read-only tmpfs at `/dev` holding only these device nodes (bind-mounted from the host),
    /// the `/dev/fd`, `/dev/std{in,out,err}` symlinks and a writable `/dev/shm` tmpfs of `shm_bytes`.
    MinimalDev {
        devices: Vec<String>,
        shm_bytes: u64,
    },
    /// A fresh read-only procfs for the new pid namespace at `/proc`.
    FreshProc,
    /// A fresh tmpfs of at most `size_bytes` at `/tmp`.
    TmpfsTmp { size_bytes: u64 },
    /// The caller's private tmp directory bind-mounted read-write at `/tmp`.
    BindTmp { source: PathBuf },
    /// Bind the host path read-write at the same path (writable root).
    BindWritable { path: PathBuf },
    /// A readable path under `/tmp`, which the private `/tmp` covers: bound again, read-only, at the
    /// same path (e.g. a read-only workspace in `/tmp`). Skipped when it does not exist.
    BindReadOnlyUnderTmp { path: PathBuf },
    /// Bind a directory onto itself so it cannot be renamed or removed (it becomes a mount point).
    Pin { path: PathBuf },
    /// Bind a path onto itself read-only.
    BindReadOnly { path: PathBuf },
    /// Cover the path (when it exists) with an empty read-only directory (tmpfs) or file.
    Hide { path: PathBuf },
    /// Default-deny a directory (a home): cover it with an empty read-only tmpfs in which only `keep`
    /// (paths below it) show through. Each kept path is cloned, with everything mounted on and below
    /// it, from the tree as it is just before this step, so a writable workspace stays writable and
    /// its read-only and hidden parts stay so; the others are read-only like the rest of the root.
    /// Comes after every other mount op for that reason.
    DenyDir { path: PathBuf, keep: Vec<PathBuf> },
}

/// Access granted by a Landlock rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FsAccess {
    /// Execute, read files, list directories.
    Read,
    /// Everything the Landlock ABI offers.
    ReadWrite,
    /// Read, write (no create/remove) and ioctl: for device files.
    Device,
}

/// One Landlock path rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandlockRule {
    pub path: PathBuf,
    pub access: FsAccess,
    /// Sub-paths excluded from this rule: at run time the rule is expanded into rules for the
    /// siblings along the way, so an excluded path gets no access at all (its parent directories get
    /// only `ReadDir`, so names are visible, contents are not).
    pub except: Vec<PathBuf>,
}

/// The Landlock part of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandlockPlan {
    /// If true the helper fails when Landlock cannot be enforced (fallback mode: it is the only wall).
    pub required: bool,
    pub rules: Vec<LandlockRule>,
    /// Handle TCP bind/connect with no port allowed (ABI >= 4).
    pub deny_tcp: bool,
    /// Scope abstract unix sockets and signals to the sandbox (ABI >= 6).
    pub scope_abstract_unix: bool,
    pub scope_signals: bool,
}

/// Which `socket(2)` calls the seccomp filter allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SocketPolicy {
    /// Any family (network `full`).
    Any,
    /// No `socket(2)` at all; `socketpair(2)` still works. Blocking `AF_UNIX` too is deliberate: a
    /// pathname unix socket on a read-only mount can still be connected to, and host sockets (docker,
    /// tmux, X11, the systemd user manager, ssh-agent) are ways out of any sandbox.
    None,
    /// Only `AF_INET` and `AF_INET6` (network allowlist): the sandbox's own network namespace has
    /// nothing but loopback, where the proxy listens. `AF_UNIX`, netlink, packet sockets stay
    /// refused, for the reasons above.
    Inet,
}

/// The seccomp part of the plan. The filter returns `EPERM` for what it denies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeccompPlan {
    /// Syscalls denied outright, by name.
    pub deny: Vec<String>,
    pub sockets: SocketPolicy,
    /// `ioctl(TIOCSTI)` and `ioctl(TIOCLINUX)` (terminal input injection).
    pub deny_tty_injection: bool,
    /// `personality(2)` with anything but a query or `PER_LINUX`.
    pub deny_personality: bool,
    /// `clone(2)` with any `CLONE_NEW*` flag; `clone3(2)` returns `ENOSYS` so libc falls back to clone.
    pub deny_namespace_clone: bool,
    /// Syscalls of the x32 ABI and of foreign architectures (i386 `int 0x80`) are refused.
    pub deny_foreign_abi: bool,
    /// Memory that `RLIMIT_DATA` does not count is refused: shared anonymous `mmap`, `memfd_create`
    /// and SysV `shmget`. Set when memory is limited and no memory cgroup bounds the sandbox as a
    /// whole (an unprivileged user's usual case), so that the limit holds per process. File-backed
    /// shared memory (POSIX `shm_open`, multiprocessing) lives in the size-limited `/dev/shm` and
    /// `/tmp` tmpfs.
    #[serde(default)]
    pub deny_unaccounted_memory: bool,
}

/// A resource limit (soft = hard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Resource {
    Core,
    Data,
    Cpu,
    Nproc,
    Fsize,
    Nofile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rlimit {
    pub resource: Resource,
    pub value: u64,
}

/// A cgroup created for the sandbox (by the helper, before any namespace) and removed after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupPlan {
    pub version: String,
    pub pids_parent: Option<PathBuf>,
    pub pids_max: Option<u64>,
    pub memory_parent: Option<PathBuf>,
    pub memory_max: Option<u64>,
}

/// The smallest `kernel.pid_max` Linux accepts (its reserved pids plus one).
pub const PID_MAX_MIN: u64 = 301;

/// Everything the helper will do, in order: cgroup, namespaces, uid/gid identity map, mounts,
/// hostname, then in the final child: new session, rlimits, no_new_privs, capability drop, Landlock,
/// seccomp, close inherited fds above 4, exec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub mode: SandboxMode,
    pub isolation: Isolation,
    pub namespaces: Vec<Namespace>,
    /// Map the caller's uid/gid to themselves inside the user namespace (files keep their owners).
    pub identity_map: bool,
    pub hostname: Option<String>,
    pub mounts: Vec<MountOp>,
    pub landlock: LandlockPlan,
    pub seccomp: SeccompPlan,
    pub rlimits: Vec<Rlimit>,
    /// `kernel.pid_max` of the sandbox's own pid namespace, set by its init before the mount tree:
    /// at most this many processes exist in the sandbox at once, whoever runs it (root is exempt
    /// from `RLIMIT_NPROC`). The kernel accepts nothing below [`PID_MAX_MIN`].
    #[serde(default)]
    pub pid_max: Option<u64>,
    pub cgroup: Option<CgroupPlan>,
    pub no_new_privs: bool,
    pub drop_capabilities: bool,
    pub new_session: bool,
    /// The sandbox is killed when the process that started the helper dies (`PR_SET_PDEATHSIG`).
    pub die_with_parent: bool,
    /// Human-readable notes about what is weaker than the policy asks (non-empty = degraded).
    pub notes: Vec<String>,
    /// Wall-clock seconds before the supervisor kills the whole sandbox ([`Policy::timeout_seconds`]).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// Make the program's stdin, when it is a terminal, its controlling terminal (right after
    /// `setsid`), so that terminal's line discipline turns Ctrl-C into SIGINT for it. Set only by a
    /// caller that gave the program a pseudo-terminal of its own, never the user's terminal.
    #[serde(default)]
    pub controlling_tty: bool,
    /// The proxy endpoint of a network allowlist (see [`crate::net`]); `None` otherwise.
    #[serde(default)]
    pub proxy: Option<crate::net::ProxyPlan>,
}

impl Plan {
    /// True when the plan enforces less than the policy asked for.
    pub fn degraded(&self) -> bool {
        !self.notes.is_empty()
    }
}

/// Device nodes in the sandbox's `/dev`. No `ptmx`/`pts`: interpreter sessions talk over pipes, and a
/// pseudo-terminal is not needed to run code; no block or other character devices.
/// `tty` is present because programs probe it, but after `setsid` the sandbox has no controlling
/// terminal, so opening it fails with `ENXIO`.
pub const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Syscalls the seccomp filter denies in every mode.
pub const DENIED_SYSCALLS: &[&str] = &[
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "mount_setattr",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "open_by_handle_at",
    "name_to_handle_at",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "syslog",
    "iopl",
    "ioperm",
];

/// Turn a policy into a plan for a kernel with `support`. Pure.
pub fn plan(policy: &Policy, support: &Support) -> Result<Plan, SandboxError> {
    for p in policy
        .readable_roots
        .iter()
        .chain(&policy.writable_roots)
        .chain(&policy.read_only_paths)
        .chain(&policy.hidden_paths)
        .chain(&policy.protected_roots)
        .chain(&policy.denied_roots)
    {
        if !p.is_absolute() {
            return Err(SandboxError::RelativePath(p.clone()));
        }
    }
    if let PrivateTmp::HostDir(d) = &policy.private_tmp
        && !d.is_absolute()
    {
        return Err(SandboxError::RelativePath(d.clone()));
    }
    for w in &policy.writable_roots {
        if let Some(h) = policy.hidden_paths.iter().find(|h| w.starts_with(h)) {
            return Err(SandboxError::WritableInsideHidden {
                writable: w.clone(),
                hidden: h.clone(),
            });
        }
    }
    if !support.seccomp {
        return Err(SandboxError::NoSeccomp);
    }
    if !matches!(support.arch.as_str(), "x86_64" | "aarch64") {
        return Err(SandboxError::UnsupportedArch(support.arch.clone()));
    }

    let isolation = if support.user_namespaces {
        Isolation::Namespaces
    } else if support.landlock_abi >= 1 {
        Isolation::LandlockOnly
    } else {
        return Err(SandboxError::Unsupported {
            missing: format!(
                "{}, and Landlock is not available (needs Linux >= 5.13 with lsm=landlock)",
                support
                    .user_namespaces_reason
                    .as_deref()
                    .unwrap_or("user namespaces are unavailable")
            ),
        });
    };

    let allowlist = matches!(policy.network, NetworkMode::Allowlist(_));
    if allowlist && isolation != Isolation::Namespaces {
        // Without its own network namespace the program could reach the host's network directly.
        return Err(SandboxError::AllowlistNeedsNamespaces);
    }
    let mut notes = Vec::new();
    let net_off = policy.network == NetworkMode::None;
    let abi = support.landlock_abi;
    let writable_roots: Vec<PathBuf> = match policy.mode {
        SandboxMode::ReadOnly => Vec::new(),
        SandboxMode::WorkspaceWrite => policy
            .writable_roots
            .iter()
            .filter(|w| {
                let Some(p) = policy.protected_roots.iter().find(|p| p.starts_with(w)) else {
                    return true;
                };
                let what = if p == *w {
                    format!("{} is your home directory", w.display())
                } else {
                    format!("{} contains your home directory {}", w.display(), p.display())
                };
                notes.push(format!(
                    "{what}, so code may not write there (files such as shell rc files and \
                     ~/.ssh/authorized_keys would run outside the sandbox later); it can write only to \
                     /tmp. Use a project directory as the workspace (--workspace DIR) to let code write files"
                ));
                false
            })
            .cloned()
            .collect(),
    };

    let mut namespaces = Vec::new();
    let mut mounts = Vec::new();
    let mut rules = Vec::new();
    match isolation {
        Isolation::Namespaces => {
            namespaces.extend([
                Namespace::User,
                Namespace::Mount,
                Namespace::Pid,
                Namespace::Ipc,
                Namespace::Uts,
            ]);
            if net_off || allowlist {
                namespaces.push(Namespace::Net);
            }
            let tmp_bytes = match &policy.private_tmp {
                PrivateTmp::Tmpfs { size_bytes } => *size_bytes,
                PrivateTmp::HostDir(_) => 1 << 30,
            };
            mounts.push(MountOp::MakePrivate);
            mounts.push(MountOp::ReadOnlyRoot);
            mounts.push(MountOp::MinimalDev {
                devices: DEVICES.iter().map(|s| s.to_string()).collect(),
                shm_bytes: tmp_bytes,
            });
            mounts.push(MountOp::FreshProc);
            mounts.push(match &policy.private_tmp {
                PrivateTmp::Tmpfs { size_bytes } => MountOp::TmpfsTmp {
                    size_bytes: *size_bytes,
                },
                PrivateTmp::HostDir(d) => MountOp::BindTmp { source: d.clone() },
            });
            for w in &writable_roots {
                mounts.push(MountOp::BindWritable { path: w.clone() });
            }
            // Readable paths the private /tmp would cover (a read-only workspace in /tmp) stay
            // visible, read-only.
            for r in &policy.readable_roots {
                if r.starts_with("/tmp") && !writable_roots.iter().any(|w| r.starts_with(w)) {
                    mounts.push(MountOp::BindReadOnlyUnderTmp { path: r.clone() });
                }
            }
            // Read-only paths inside writable roots: pin every directory between the root and the path
            // (so `.git` cannot be renamed away and replaced), then bind the path read-only.
            for ro in &policy.read_only_paths {
                if let Some(root) = writable_roots.iter().find(|w| ro.starts_with(w)) {
                    for anc in ancestors_between(root, ro) {
                        let op = MountOp::Pin { path: anc };
                        if !mounts.contains(&op) {
                            mounts.push(op);
                        }
                    }
                    mounts.push(MountOp::BindReadOnly { path: ro.clone() });
                }
                // Outside every writable root it is read-only already.
            }
            // A hidden path inside a writable root: pin the directories above it, or code could
            // rename one of them and find the file unhidden under its new name (and leave it
            // there, out of the next session's reach too).
            for h in &policy.hidden_paths {
                if let Some(root) = writable_roots.iter().find(|w| h.starts_with(w)) {
                    for anc in ancestors_between(root, h) {
                        let op = MountOp::Pin { path: anc };
                        if !mounts.contains(&op) {
                            mounts.push(op);
                        }
                    }
                }
            }
            // Hidden paths next, so they cover anything bound above, including writable roots.
            for h in &policy.hidden_paths {
                mounts.push(MountOp::Hide { path: h.clone() });
            }
            // Homes last: default-deny, with the workspace, toolchains and `--read` paths showing
            // through as the steps above left them.
            mounts.extend(deny_ops(policy, &writable_roots));

            // Landlock as a second wall: read everywhere (the mount tree already hides), write only to
            // the writable roots, the private tmp and /dev/shm; device access to /dev.
            rules.push(rule("/", FsAccess::Read));
            rules.push(rule("/dev", FsAccess::Device));
            rules.push(rule("/dev/shm", FsAccess::ReadWrite));
            rules.push(rule("/tmp", FsAccess::ReadWrite));
            for w in &writable_roots {
                rules.push(rule(w, FsAccess::ReadWrite));
            }
            if abi == 0 {
                notes.push(
                    "Landlock is unavailable: the mount namespace is the only filesystem wall"
                        .into(),
                );
            }
        }
        Isolation::LandlockOnly => {
            notes.push(format!(
                "{}; running with Landlock and seccomp only: reads are limited to system directories \
                 and the workspace, there are no pid/ipc/network namespaces, and the host's /proc \
                 (process list and command lines) stays visible",
                support
                    .user_namespaces_reason
                    .as_deref()
                    .unwrap_or("user namespaces are unavailable")
            ));
            // Read allowlist; hidden paths below a readable root are carved out of it.
            for r in &policy.readable_roots {
                let except: Vec<PathBuf> = policy
                    .hidden_paths
                    .iter()
                    .filter(|h| h.starts_with(r) && *h != r)
                    .cloned()
                    .collect();
                if policy.hidden_paths.iter().any(|h| r.starts_with(h)) {
                    continue; // the whole root is hidden
                }
                rules.push(LandlockRule {
                    path: r.clone(),
                    access: FsAccess::Read,
                    except,
                });
            }
            for d in DEVICES {
                rules.push(rule(Path::new("/dev").join(d), FsAccess::Device));
            }
            for w in &writable_roots {
                let except: Vec<PathBuf> = policy
                    .hidden_paths
                    .iter()
                    .filter(|h| h.starts_with(w))
                    .cloned()
                    .collect();
                rules.push(LandlockRule {
                    path: w.clone(),
                    access: FsAccess::ReadWrite,
                    except,
                });
            }
            if policy.mode == SandboxMode::WorkspaceWrite && !policy.read_only_paths.is_empty() {
                notes.push(format!(
                    "Landlock cannot make {} read-only inside a writable workspace; they are writable \
                     in this mode",
                    list(&policy.read_only_paths)
                ));
            }
            match &policy.private_tmp {
                PrivateTmp::HostDir(d) => rules.push(rule(d, FsAccess::ReadWrite)),
                PrivateTmp::Tmpfs { .. } => notes
                    .push("no private /tmp without a mount namespace: /tmp is not writable".into()),
            }
            if policy.limits.processes.is_some() && support.cgroup.is_none() {
                notes.push(
                    "process count is not limited: RLIMIT_NPROC would count all of your processes \
                     without a user namespace, and no cgroup is available"
                        .into(),
                );
            }
            if abi < 6 {
                notes.push(format!(
                    "Landlock ABI {abi} cannot scope signals and abstract unix sockets (needs ABI 6, \
                     Linux 6.12): sandboxed code can signal your other processes"
                ));
            }
        }
    }

    let seccomp = SeccompPlan {
        deny: DENIED_SYSCALLS.iter().map(|s| s.to_string()).collect(),
        sockets: if net_off {
            SocketPolicy::None
        } else if allowlist {
            SocketPolicy::Inet
        } else {
            SocketPolicy::Any
        },
        deny_tty_injection: true,
        deny_personality: true,
        deny_namespace_clone: true,
        deny_foreign_abi: true,
        deny_unaccounted_memory: false,
    };

    let l = &policy.limits;
    let mut rlimits = vec![Rlimit {
        resource: Resource::Core,
        value: 0,
    }];
    let mut push = |resource, v: Option<u64>| {
        if let Some(value) = v {
            rlimits.push(Rlimit { resource, value });
        }
    };
    push(Resource::Data, l.memory_bytes);
    push(Resource::Cpu, l.cpu_seconds);
    if isolation == Isolation::Namespaces {
        push(Resource::Nproc, l.processes);
    }
    push(Resource::Fsize, l.file_size_bytes);
    push(Resource::Nofile, l.open_files);

    // pids 1..pid_max-1 exist in the namespace, init (pid 1) included.
    let pid_max = l
        .processes
        .filter(|_| isolation == Isolation::Namespaces && support.pid_max_per_namespace)
        .map(|n| n.saturating_add(2).max(PID_MAX_MIN));

    let cgroup = support.cgroup.as_ref().and_then(|c| {
        let pids = c.pids_parent.clone().filter(|_| l.processes.is_some());
        let mem = c.memory_parent.clone().filter(|_| l.memory_bytes.is_some());
        (pids.is_some() || mem.is_some()).then(|| CgroupPlan {
            version: c.version.clone(),
            pids_max: pids.as_ref().and(l.processes),
            pids_parent: pids,
            memory_max: mem.as_ref().and(l.memory_bytes),
            memory_parent: mem,
        })
    });

    let mut seccomp = seccomp;
    seccomp.deny_unaccounted_memory =
        l.memory_bytes.is_some() && cgroup.as_ref().is_none_or(|c| c.memory_max.is_none());

    let pids_cgroup = cgroup.as_ref().is_some_and(|c| c.pids_max.is_some());
    if l.processes.is_some()
        && isolation == Isolation::Namespaces
        && support.root
        && pid_max.is_none()
        && !pids_cgroup
    {
        notes.push(
            "process count is not limited: the kernel exempts root from RLIMIT_NPROC, this kernel              has no per-namespace pid_max (Linux 6.14) and no pids cgroup is available; run as an              ordinary user"
                .into(),
        );
    }

    Ok(Plan {
        mode: policy.mode,
        isolation,
        namespaces,
        identity_map: isolation == Isolation::Namespaces,
        hostname: (isolation == Isolation::Namespaces).then(|| "interlock-sandbox".to_string()),
        mounts,
        landlock: LandlockPlan {
            required: isolation == Isolation::LandlockOnly,
            rules,
            deny_tcp: net_off,
            scope_abstract_unix: true,
            scope_signals: true,
        },
        seccomp,
        rlimits,
        pid_max,
        cgroup,
        no_new_privs: true,
        drop_capabilities: true,
        new_session: true,
        die_with_parent: true,
        notes,
        timeout_seconds: policy.timeout_seconds,
        controlling_tty: false,
        proxy: allowlist.then_some(crate::net::ProxyPlan {
            port: crate::net::PROXY_PORT,
            fd: None,
            socket: None,
        }),
    })
}

/// The [`MountOp::DenyDir`] steps: one per denied root that no readable or writable root contains
/// (a workspace of `/home` shows all of it, as asked), keeping the readable and writable roots
/// below it. A kept path inside another kept path comes with it.
fn deny_ops(policy: &Policy, writable_roots: &[PathBuf]) -> Vec<MountOp> {
    let visible: Vec<&PathBuf> = policy.readable_roots.iter().chain(writable_roots).collect();
    let mut ops = Vec::new();
    for d in &policy.denied_roots {
        if visible.iter().any(|v| d.starts_with(v)) {
            continue;
        }
        let mut keep: Vec<PathBuf> = visible
            .iter()
            .filter(|v| v.starts_with(d))
            .map(|v| (*v).clone())
            .collect();
        keep.sort();
        keep.dedup();
        let mut minimal: Vec<PathBuf> = Vec::new();
        for k in keep {
            if !minimal.iter().any(|m| k.starts_with(m)) {
                minimal.push(k);
            }
        }
        ops.push(MountOp::DenyDir {
            path: d.clone(),
            keep: minimal,
        });
    }
    ops
}

fn rule(path: impl Into<PathBuf>, access: FsAccess) -> LandlockRule {
    LandlockRule {
        path: path.into(),
        access,
        except: Vec::new(),
    }
}

/// Directories strictly between `root` and `path` (e.g. root `/w`, path `/w/.git/hooks` -> `/w/.git`).
fn ancestors_between(root: &Path, path: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = path
        .ancestors()
        .skip(1)
        .take_while(|a| a.starts_with(root) && *a != root)
        .map(Path::to_path_buf)
        .collect();
    v.reverse();
    v
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A human-readable description of the effective policy and of what this kernel supports, for
/// `interlock sandbox --explain`: grouped by topic, one path per line, sizes in KiB/MiB/GiB and
/// no line much longer than [`WIDTH`](explain) characters.
pub fn explain(policy: &Policy, support: &Support) -> String {
    use std::fmt::Write;
    /// Lines are wrapped to this many characters (long paths excepted).
    const WIDTH: usize = 100;

    /// `4 GiB`, `1.5 MiB`, `512 bytes`.
    fn size(bytes: u64) -> String {
        const UNITS: [(u64, &str); 4] = [
            (1 << 40, "TiB"),
            (1 << 30, "GiB"),
            (1 << 20, "MiB"),
            (1 << 10, "KiB"),
        ];
        for (unit, name) in UNITS {
            if bytes >= unit {
                return if bytes.is_multiple_of(unit) {
                    format!("{} {name}", bytes / unit)
                } else {
                    format!("{:.1} {name}", bytes as f64 / unit as f64)
                };
            }
        }
        format!("{bytes} bytes")
    }
    /// `label` then `items` separated by ", ", continued on indented lines at [`WIDTH`].
    fn wrapped(s: &mut String, indent: &str, label: &str, items: &[String]) {
        let mut line = format!("{indent}{label}");
        let cont = " ".repeat(indent.len() + 2);
        for (i, item) in items.iter().enumerate() {
            let piece = if i + 1 < items.len() {
                format!("{item},")
            } else {
                item.clone()
            };
            if line.len() + 1 + piece.len() > WIDTH && line.trim().len() > label.trim().len() {
                let _ = writeln!(s, "{line}");
                line = format!("{cont}{piece}");
            } else {
                if !line.ends_with(' ') && !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(&piece);
            }
        }
        let _ = writeln!(s, "{line}");
    }
    /// A heading line, then each path on a line of its own (or "(none)").
    fn paths(s: &mut String, heading: &str, paths: &[PathBuf]) {
        let _ = writeln!(s, "  {heading}:");
        if paths.is_empty() {
            let _ = writeln!(s, "    (none)");
        }
        for p in paths {
            let _ = writeln!(s, "    {}", p.display());
        }
    }
    fn yes_no(b: bool) -> &'static str {
        if b { "yes" } else { "no" }
    }

    let mut s = String::new();
    let planned = plan(policy, support);

    let _ = writeln!(s, "Kernel");
    let _ = writeln!(
        s,
        "  user namespaces: {}",
        if support.user_namespaces {
            "yes".to_string()
        } else {
            format!(
                "no ({})",
                support
                    .user_namespaces_reason
                    .as_deref()
                    .unwrap_or("reason unknown")
            )
        }
    );
    let _ = writeln!(
        s,
        "  Landlock: {}",
        if support.landlock_abi == 0 {
            "no".to_string()
        } else {
            format!("ABI {}", support.landlock_abi)
        }
    );
    let _ = writeln!(s, "  seccomp: {}", yes_no(support.seccomp));
    let _ = writeln!(
        s,
        "  per-namespace pid_max (Linux 6.14): {}",
        yes_no(support.pid_max_per_namespace)
    );
    let _ = writeln!(
        s,
        "  cgroups: {}; {}",
        support.cgroup_version,
        match &support.cgroup {
            Some(c) => {
                let mut ctl = Vec::new();
                if c.pids_parent.is_some() {
                    ctl.push("pids");
                }
                if c.memory_parent.is_some() {
                    ctl.push("memory");
                }
                format!("sandbox cgroups usable ({}: {})", c.version, ctl.join(", "))
            }
            None => "not delegated to this user: rlimits only".to_string(),
        }
    );
    let _ = writeln!(s, "  arch: {}", support.arch);

    let _ = writeln!(s, "\nIsolation");
    let _ = writeln!(
        s,
        "  mode: {}",
        match policy.mode {
            SandboxMode::ReadOnly =>
                "read-only (nothing on the host is writable, only a private /tmp)",
            SandboxMode::WorkspaceWrite =>
                "workspace-write (the workspace and a private /tmp are writable)",
        }
    );
    match &planned {
        Ok(p) => {
            let _ = writeln!(
                s,
                "  sandbox: {}",
                match p.isolation {
                    Isolation::Namespaces => "namespaces, Landlock and seccomp",
                    Isolation::LandlockOnly =>
                        "Landlock and seccomp only (DEGRADED: no namespaces)",
                }
            );
            if !p.namespaces.is_empty() {
                let names: Vec<&str> = p
                    .namespaces
                    .iter()
                    .map(|n| match n {
                        Namespace::User => "user",
                        Namespace::Mount => "mount",
                        Namespace::Pid => "pid",
                        Namespace::Ipc => "ipc",
                        Namespace::Uts => "uts",
                        Namespace::Net => "net",
                    })
                    .collect();
                let _ = writeln!(s, "  namespaces: {}", names.join(", "));
            }
        }
        Err(e) => {
            let _ = writeln!(s, "  No sandbox possible: {e}");
        }
    }

    let _ = writeln!(s, "\nFiles");
    let mut writable: Vec<String> = policy
        .writable_roots
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    writable.push(match &policy.private_tmp {
        PrivateTmp::Tmpfs { size_bytes } => format!(
            "/tmp (private to the sandbox, in memory, at most {}, gone when it ends)",
            size(*size_bytes)
        ),
        PrivateTmp::HostDir(d) => format!(
            "/tmp (private to the sandbox: the host directory {})",
            d.display()
        ),
    });
    let _ = writeln!(s, "  writable:");
    for w in &writable {
        let _ = writeln!(s, "    {w}");
    }
    if policy.mode == SandboxMode::WorkspaceWrite {
        paths(
            &mut s,
            "read-only inside writable (code there would run outside the sandbox)",
            &policy.read_only_paths,
        );
    }
    paths(
        &mut s,
        "home directories, not visible at all",
        &policy.denied_roots,
    );
    let mut shown: Vec<&PathBuf> = Vec::new();
    for p in policy.readable_roots.iter().chain(&policy.writable_roots) {
        if policy.denied_roots.iter().any(|d| p.starts_with(d)) && !shown.contains(&p) {
            shown.push(p);
        }
    }
    if !shown.is_empty() {
        let _ = writeln!(
            s,
            "  what shows through inside them (read-only unless writable above), and why:"
        );
        for p in shown {
            let why: Vec<&str> = policy
                .visible_because
                .iter()
                .filter(|(q, _)| q == p)
                .map(|(_, w)| w.as_str())
                .collect();
            let why = if why.is_empty() {
                String::new()
            } else {
                format!(" ({})", why.join(", "))
            };
            let exists = if p.exists() { "" } else { " [does not exist]" };
            let line = format!("    {}{why}{exists}", p.display());
            if line.len() > WIDTH {
                // The reason goes on a line of its own under the path.
                let _ = writeln!(s, "    {}\n     {why}{exists}", p.display());
            } else {
                let _ = writeln!(s, "{line}");
            }
        }
    }
    paths(
        &mut s,
        "hidden (credential stores, interlock's own files, --hide: an empty file or directory covers each)",
        &policy.hidden_paths,
    );
    match &planned {
        Ok(p) if p.isolation == Isolation::LandlockOnly => {
            let readable: Vec<PathBuf> = p
                .landlock
                .rules
                .iter()
                .filter(|r| r.access == FsAccess::Read)
                .map(|r| r.path.clone())
                .collect();
            paths(
                &mut s,
                "readable (allowlist; nothing else can be read)",
                &readable,
            );
        }
        Ok(_) => {
            let _ = writeln!(s, "  everything else: readable, not writable");
        }
        Err(_) => {}
    }

    let _ = writeln!(s, "\nNetwork");
    let _ = match &policy.network {
        NetworkMode::None => writeln!(
            s,
            "  none: no sockets (socketpair only), an empty network namespace"
        ),
        NetworkMode::Full => writeln!(
            s,
            "  full: the host's network, unfiltered (code can send what it reads anywhere)"
        ),
        NetworkMode::Allowlist(domains) => {
            let domains: Vec<String> = domains.to_vec();
            let _ = writeln!(
                s,
                "  allowlist: an empty network namespace whose only way out is interlock's proxy\n  \
                 (HTTP and HTTPS; names checked, then addresses: internal ones are refused)"
            );
            wrapped(&mut s, "  ", "hosts:", &domains);
            Ok(())
        }
    };

    let _ = writeln!(s, "\nLimits");
    let l = &policy.limits;
    let or_unlimited = |v: Option<u64>, f: &dyn Fn(u64) -> String| {
        v.map(f).unwrap_or_else(|| "unlimited".to_string())
    };
    let _ = writeln!(
        s,
        "  memory: {} per process",
        or_unlimited(l.memory_bytes, &size)
    );
    let _ = writeln!(
        s,
        "  CPU time: {}",
        or_unlimited(l.cpu_seconds, &|n| format!("{n} s per process"))
    );
    let _ = writeln!(
        s,
        "  processes: {}",
        or_unlimited(l.processes, &|n| n.to_string())
    );
    let _ = writeln!(
        s,
        "  largest file written: {}",
        or_unlimited(l.file_size_bytes, &size)
    );
    let _ = writeln!(
        s,
        "  open files: {} per process",
        or_unlimited(l.open_files, &|n| n.to_string())
    );
    if let Ok(p) = &planned {
        let rl: Vec<String> = p
            .rlimits
            .iter()
            .map(|r| {
                let (name, value) = match r.resource {
                    Resource::Core => (
                        "core dumps",
                        if r.value == 0 {
                            "off".to_string()
                        } else {
                            size(r.value)
                        },
                    ),
                    Resource::Data => ("data", size(r.value)),
                    Resource::Cpu => ("cpu", format!("{} s", r.value)),
                    Resource::Nproc => ("processes", r.value.to_string()),
                    Resource::Fsize => ("file size", size(r.value)),
                    Resource::Nofile => ("open files", r.value.to_string()),
                };
                format!("{name} {value}")
            })
            .collect();
        wrapped(&mut s, "  ", "rlimits:", &rl);
        if let Some(m) = p.pid_max {
            let _ = writeln!(s, "  pid_max of the sandbox's pid namespace: {m}");
        }
        if let Some(c) = &p.cgroup {
            let mut parts = Vec::new();
            if let Some(n) = c.pids_max {
                parts.push(format!("at most {n} processes"));
            }
            if let Some(m) = c.memory_max {
                parts.push(format!("at most {} of memory in all", size(m)));
            }
            let _ = writeln!(s, "  cgroup ({}): {}", c.version, parts.join(", "));
        }
    }

    let _ = writeln!(s, "\nTimeout");
    let _ = writeln!(
        s,
        "  timeout: {}",
        match policy.timeout_seconds {
            Some(n) => format!("{n} s, then everything in the sandbox is killed"),
            None => "none".to_string(),
        }
    );

    if let Ok(p) = &planned {
        let _ = writeln!(s, "\nSeccomp");
        wrapped(&mut s, "  ", "seccomp: deny", &p.seccomp.deny);
        let _ = writeln!(
            s,
            "  sockets: {}",
            match p.seccomp.sockets {
                SocketPolicy::Any => "any family",
                SocketPolicy::None => "none (socket(2) is refused; socketpair(2) works)",
                SocketPolicy::Inet =>
                    "IPv4/IPv6 only (the namespace has only loopback and the proxy)",
            }
        );
        let mut also = Vec::new();
        if p.seccomp.deny_tty_injection {
            also.push("terminal input injection (TIOCSTI, TIOCLINUX)".to_string());
        }
        if p.seccomp.deny_personality {
            also.push("personality changes".to_string());
        }
        if p.seccomp.deny_namespace_clone {
            also.push("new namespaces through clone".to_string());
        }
        if p.seccomp.deny_foreign_abi {
            also.push("x32 and foreign-architecture syscalls".to_string());
        }
        if p.seccomp.deny_unaccounted_memory {
            also.push(
                "memory the limit does not count (shared anonymous mmap, memfd_create, shmget)"
                    .to_string(),
            );
        }
        if !also.is_empty() {
            wrapped(&mut s, "  ", "also refused:", &also);
        }
        if !p.notes.is_empty() {
            let _ = writeln!(s, "\nWeaker than asked");
            for n in &p.notes {
                let words: Vec<String> = n.split_whitespace().map(str::to_string).collect();
                // One note, wrapped on word boundaries (no commas added).
                let mut line = String::from("  DEGRADED:");
                for w in words {
                    if line.len() + 1 + w.len() > WIDTH {
                        let _ = writeln!(s, "{line}");
                        line = format!("    {w}");
                    } else {
                        line.push(' ');
                        line.push_str(&w);
                    }
                }
                let _ = writeln!(s, "{line}");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Limits;

    fn ws() -> PathBuf {
        PathBuf::from("/home/u/proj")
    }
    fn pol(mode: SandboxMode) -> Policy {
        Policy::for_workspace(
            mode,
            &ws(),
            Path::new("/home/u"),
            &[PathBuf::from("/home/u/.config/interlock")],
            &[PathBuf::from("/srv/secret")],
        )
    }
    fn full() -> Support {
        Support::full()
    }
    fn fallback() -> Support {
        Support::full().without_user_namespaces("test: no userns")
    }
    fn idx(p: &Plan, op: &MountOp) -> usize {
        p.mounts
            .iter()
            .position(|m| m == op)
            .unwrap_or_else(|| panic!("{op:?} missing from {:#?}", p.mounts))
    }

    #[test]
    fn default_hidden_list_covers_credential_stores() {
        let p = pol(SandboxMode::WorkspaceWrite);
        for h in [
            ".ssh",
            ".aws",
            ".gnupg",
            ".config/gcloud",
            ".azure",
            ".kube",
            ".docker",
            ".netrc",
            ".git-credentials",
            ".password-store",
            ".mozilla",
            ".config/google-chrome",
            ".config/chromium",
            ".config/BraveSoftware",
            ".var/app",
        ] {
            assert!(
                p.hidden_paths.contains(&Path::new("/home/u").join(h)),
                "{h}"
            );
        }
        assert!(
            p.hidden_paths
                .contains(&PathBuf::from("/home/u/.config/interlock"))
        );
        assert!(p.hidden_paths.contains(&PathBuf::from("/srv/secret")));
        assert!(p.hidden_paths.contains(&PathBuf::from("/run/user")));
        assert!(p.hidden_paths.contains(&PathBuf::from("/etc/shadow")));
    }

    #[test]
    fn namespace_plan_unshares_everything_with_net_off() {
        let p = plan(&pol(SandboxMode::WorkspaceWrite), &full()).unwrap();
        assert_eq!(p.isolation, Isolation::Namespaces);
        for ns in [
            Namespace::User,
            Namespace::Mount,
            Namespace::Pid,
            Namespace::Ipc,
            Namespace::Uts,
            Namespace::Net,
        ] {
            assert!(p.namespaces.contains(&ns), "{ns:?}");
        }
        assert!(p.identity_map && p.no_new_privs && p.drop_capabilities && p.new_session);
        assert!(p.die_with_parent);
        assert!(!p.degraded(), "{:?}", p.notes);
    }

    #[test]
    fn network_none_blocks_sockets_tcp_and_unshares_net() {
        let p = plan(&pol(SandboxMode::WorkspaceWrite), &full()).unwrap();
        assert_eq!(p.seccomp.sockets, SocketPolicy::None);
        assert!(p.landlock.deny_tcp);
        assert!(p.namespaces.contains(&Namespace::Net));
    }

    #[test]
    fn network_full_keeps_host_network() {
        let mut pol = pol(SandboxMode::WorkspaceWrite);
        pol.network = NetworkMode::Full;
        let p = plan(&pol, &full()).unwrap();
        assert!(!p.namespaces.contains(&Namespace::Net));
        assert_eq!(p.seccomp.sockets, SocketPolicy::Any);
        assert!(!p.landlock.deny_tcp);
        // abstract unix sockets and signals stay scoped even with the network on
        assert!(p.landlock.scope_abstract_unix && p.landlock.scope_signals);
    }

    #[test]
    fn allowlist_keeps_an_empty_namespace_with_inet_sockets_and_a_proxy_port() {
        let mut pol = pol(SandboxMode::WorkspaceWrite);
        pol.network = NetworkMode::Allowlist(vec!["pypi.org".into()]);
        let p = plan(&pol, &full()).unwrap();
        assert!(p.namespaces.contains(&Namespace::Net));
        assert_eq!(p.seccomp.sockets, SocketPolicy::Inet);
        assert_eq!(
            p.proxy,
            Some(crate::net::ProxyPlan {
                port: crate::net::PROXY_PORT,
                fd: None,
                socket: None,
            })
        );
        let text = explain(&pol, &full());
        assert!(text.contains("only way out is interlock's proxy"), "{text}");
        assert!(text.contains("pypi.org"), "{text}");
        // Without namespaces there is no empty network namespace to hold the program: refuse.
        let e = plan(&pol, &fallback()).unwrap_err();
        assert_eq!(e, SandboxError::AllowlistNeedsNamespaces);
        // The other modes have no proxy.
        pol.network = NetworkMode::None;
        assert_eq!(plan(&pol, &full()).unwrap().proxy, None);
    }

    #[test]
    fn mount_order_root_dev_proc_tmp_writable_then_hidden() {
        let p = plan(&pol(SandboxMode::WorkspaceWrite), &full()).unwrap();
        let private = idx(&p, &MountOp::MakePrivate);
        let root = idx(&p, &MountOp::ReadOnlyRoot);
        let proc_ = idx(&p, &MountOp::FreshProc);
        let w = idx(&p, &MountOp::BindWritable { path: ws() });
        let h = idx(
            &p,
            &MountOp::Hide {
                path: "/home/u/.ssh".into(),
            },
        );
        assert!(private < root && root < proc_ && proc_ < w && w < h);
        assert_eq!(p.mounts[0], MountOp::MakePrivate);
        assert!(
            p.mounts
                .iter()
                .any(|m| matches!(m, MountOp::TmpfsTmp { .. }))
        );
    }

    #[test]
    fn workspace_containing_home_is_read_only_with_a_note() {
        let home = PathBuf::from("/home/u");
        for ws in [home.clone(), PathBuf::from("/home"), PathBuf::from("/")] {
            let pol = Policy::for_workspace(SandboxMode::WorkspaceWrite, &ws, &home, &[], &[]);
            for support in [full(), fallback()] {
                let p = plan(&pol, &support).unwrap();
                assert!(
                    !p.mounts
                        .iter()
                        .any(|m| matches!(m, MountOp::BindWritable { .. })),
                    "{ws:?}: {:?}",
                    p.mounts
                );
                assert!(
                    !p.landlock
                        .rules
                        .iter()
                        .any(|r| r.access == FsAccess::ReadWrite && home.starts_with(&r.path)),
                    "{ws:?}: a rule lets code write to home: {:?}",
                    p.landlock.rules
                );
                assert!(p.degraded());
                assert!(
                    p.notes
                        .iter()
                        .any(|n| n.contains("home directory") && n.contains("may not write")),
                    "{:?}",
                    p.notes
                );
            }
        }
        // a project directory inside home stays writable, without a note
        let p = plan(&pol(SandboxMode::WorkspaceWrite), &full()).unwrap();
        assert!(p.mounts.contains(&MountOp::BindWritable { path: ws() }));
        assert!(!p.degraded(), "{:?}", p.notes);
    }

    #[test]
    fn read_only_workspace_under_tmp_stays_visible() {
        let ws = PathBuf::from("/tmp/proj");
        let pol = Policy::for_workspace(SandboxMode::ReadOnly, &ws, Path::new("/home/u"), &[], &[]);
        let p = plan(&pol, &full()).unwrap();
        let tmp = p
            .mounts
            .iter()
            .position(|m| matches!(m, MountOp::TmpfsTmp { .. }))
            .unwrap();
        let bind = idx(&p, &MountOp::BindReadOnlyUnderTmp { path: ws.clone() });
        assert!(tmp < bind, "the bind must come after the private /tmp");
        // writable: the writable bind covers it, no second bind
        let pol = Policy::for_workspace(
            SandboxMode::WorkspaceWrite,
            &ws,
            Path::new("/home/u"),
            &[],
            &[],
        );
        let p = plan(&pol, &full()).unwrap();
        assert!(
            !p.mounts
                .iter()
                .any(|m| matches!(m, MountOp::BindReadOnlyUnderTmp { .. }))
        );
    }

    #[test]
    fn hidden_path_under_writable_root_is_still_hidden() {
        let home = PathBuf::from("/home/u");
        // workspace == $HOME: ~/.ssh lies inside the writable root (with home protection lifted,
        // which only a hand-built policy can do)
        let mut pol = Policy::for_workspace(SandboxMode::WorkspaceWrite, &home, &home, &[], &[]);
        pol.protected_roots.clear();
        let p = plan(&pol, &full()).unwrap();
        let w = idx(&p, &MountOp::BindWritable { path: home.clone() });
        let h = idx(
            &p,
            &MountOp::Hide {
                path: home.join(".ssh"),
            },
        );
        assert!(w < h, "hide must come after the writable bind");
        // and in the fallback it is carved out of the writable Landlock rule
        let p = plan(&pol, &fallback()).unwrap();
        let r = p
            .landlock
            .rules
            .iter()
            .find(|r| r.path == home && r.access == FsAccess::ReadWrite)
            .unwrap();
        assert!(r.except.contains(&home.join(".ssh")));
    }

    #[test]
    fn every_git_entry_is_read_only_and_the_directories_above_it_pinned() {
        let mut pol = pol(SandboxMode::WorkspaceWrite);
        pol.read_only_paths = vec![ws().join(".git"), ws().join("a/b/.git")];
        let p = plan(&pol, &full()).unwrap();
        let w = idx(&p, &MountOp::BindWritable { path: ws() });
        let pin_a = idx(
            &p,
            &MountOp::Pin {
                path: ws().join("a"),
            },
        );
        let pin_b = idx(
            &p,
            &MountOp::Pin {
                path: ws().join("a/b"),
            },
        );
        let git = idx(
            &p,
            &MountOp::BindReadOnly {
                path: ws().join(".git"),
            },
        );
        let nested = idx(
            &p,
            &MountOp::BindReadOnly {
                path: ws().join("a/b/.git"),
            },
        );
        assert!(w < pin_a && pin_a < pin_b && pin_b < nested && w < git);
        // `.git` is a mount point itself (so it cannot be renamed); nothing else is pinned.
        assert_eq!(
            p.mounts
                .iter()
                .filter(|m| matches!(m, MountOp::Pin { .. }))
                .count(),
            2
        );
    }

    #[test]
    fn homes_are_covered_last_keeping_only_the_workspace_and_readable_roots() {
        let mut pol = pol(SandboxMode::WorkspaceWrite);
        pol.add_readable(PathBuf::from("/home/u/.pyenv"), "toolchain");
        pol.add_readable(PathBuf::from("/home/u/.pyenv/versions"), "toolchain");
        pol.add_readable(PathBuf::from("/root/.cargo"), "toolchain");
        let p = plan(&pol, &full()).unwrap();
        let deny: Vec<&MountOp> = p
            .mounts
            .iter()
            .filter(|m| matches!(m, MountOp::DenyDir { .. }))
            .collect();
        assert_eq!(
            deny,
            vec![
                &MountOp::DenyDir {
                    path: "/home".into(),
                    keep: vec![
                        "/home/u/.local/lib".into(),
                        "/home/u/.nvm".into(),
                        "/home/u/.pyenv".into(),
                        ws(),
                    ],
                },
                &MountOp::DenyDir {
                    path: "/root".into(),
                    keep: vec!["/root/.cargo".into()],
                },
            ]
        );
        // After everything else, so the kept workspace carries its read-only and hidden parts.
        let first_deny = p
            .mounts
            .iter()
            .position(|m| matches!(m, MountOp::DenyDir { .. }))
            .unwrap();
        assert!(
            p.mounts[first_deny..]
                .iter()
                .all(|m| matches!(m, MountOp::DenyDir { .. }))
        );
        // A workspace that contains a home shows it, as asked.
        let mut pol = Policy::for_workspace(
            SandboxMode::ReadOnly,
            Path::new("/home"),
            Path::new("/home/u"),
            &[],
            &[],
        );
        pol.denied_roots = crate::policy::denied_roots(Path::new("/home/u"));
        let p = plan(&pol, &full()).unwrap();
        assert!(
            !p.mounts
                .iter()
                .any(|m| matches!(m, MountOp::DenyDir { path, .. } if path == Path::new("/home")))
        );
        assert!(
            p.mounts
                .iter()
                .any(|m| matches!(m, MountOp::DenyDir { path, .. } if path == Path::new("/root")))
        );
    }

    #[test]
    fn hidden_paths_inside_the_workspace_cannot_be_renamed_away() {
        let mut pol = pol(SandboxMode::WorkspaceWrite);
        pol.hidden_paths.push(ws().join("config/app/.env"));
        let p = plan(&pol, &full()).unwrap();
        let w = idx(&p, &MountOp::BindWritable { path: ws() });
        let pin1 = idx(
            &p,
            &MountOp::Pin {
                path: ws().join("config"),
            },
        );
        let pin2 = idx(
            &p,
            &MountOp::Pin {
                path: ws().join("config/app"),
            },
        );
        let hide = idx(
            &p,
            &MountOp::Hide {
                path: ws().join("config/app/.env"),
            },
        );
        assert!(w < pin1 && pin1 < pin2 && pin2 < hide);
    }

    #[test]
    fn read_only_mode_has_no_writable_roots() {
        let p = plan(&pol(SandboxMode::ReadOnly), &full()).unwrap();
        assert!(!p.mounts.iter().any(|m| matches!(
            m,
            MountOp::BindWritable { .. } | MountOp::BindReadOnly { .. } | MountOp::Pin { .. }
        )));
        let rw: Vec<_> = p
            .landlock
            .rules
            .iter()
            .filter(|r| r.access == FsAccess::ReadWrite)
            .map(|r| r.path.clone())
            .collect();
        assert_eq!(rw, vec![PathBuf::from("/dev/shm"), PathBuf::from("/tmp")]);
        // even if the policy lists writable roots, read-only mode ignores them
        let mut pol = pol(SandboxMode::ReadOnly);
        pol.writable_roots.push(ws());
        let p = plan(&pol, &full()).unwrap();
        assert!(
            !p.mounts
                .iter()
                .any(|m| matches!(m, MountOp::BindWritable { .. }))
        );
    }

    #[test]
    fn landlock_writes_only_to_writable_roots_in_namespace_mode() {
        let p = plan(&pol(SandboxMode::WorkspaceWrite), &full()).unwrap();
        let rw: Vec<_> = p
            .landlock
            .rules
            .iter()
            .filter(|r| r.access == FsAccess::ReadWrite)
            .map(|r| r.path.clone())
            .collect();
        assert_eq!(
            rw,
            vec![PathBuf::from("/dev/shm"), PathBuf::from("/tmp"), ws()]
        );
        assert!(
            p.landlock
                .rules
                .iter()
                .any(|r| r.path == Path::new("/") && r.access == FsAccess::Read)
        );
        assert!(!p.landlock.required);
    }

    #[test]
    fn fallback_without_userns_is_landlock_allowlist_and_degraded() {
        let p = plan(&pol(SandboxMode::WorkspaceWrite), &fallback()).unwrap();
        assert_eq!(p.isolation, Isolation::LandlockOnly);
        assert!(p.namespaces.is_empty() && p.mounts.is_empty());
        assert!(p.landlock.required);
        assert!(p.degraded());
        assert!(p.notes[0].contains("test: no userns"));
        assert!(p.notes[0].contains("Landlock and seccomp only"));
        // no rule for / or for $HOME: reads are an allowlist
        assert!(
            !p.landlock
                .rules
                .iter()
                .any(|r| r.path == Path::new("/") || r.path == Path::new("/home/u"))
        );
        assert!(
            p.landlock
                .rules
                .iter()
                .any(|r| r.path == Path::new("/usr") && r.access == FsAccess::Read)
        );
        assert!(
            p.landlock
                .rules
                .iter()
                .any(|r| r.path == ws() && r.access == FsAccess::ReadWrite)
        );
        // .git protection cannot be expressed: said so
        let mut pol2 = pol(SandboxMode::WorkspaceWrite);
        pol2.read_only_paths = vec![ws().join(".git")];
        let p2 = plan(&pol2, &fallback()).unwrap();
        assert!(p2.notes.iter().any(|n| n.contains(".git")));
        // RLIMIT_NPROC is not used without a user namespace
        assert!(!p.rlimits.iter().any(|r| r.resource == Resource::Nproc));
        assert_eq!(p.seccomp.sockets, SocketPolicy::None);
    }

    #[test]
    fn fallback_carves_hidden_paths_out_of_readable_roots() {
        let p = plan(&pol(SandboxMode::WorkspaceWrite), &fallback()).unwrap();
        let etc = p
            .landlock
            .rules
            .iter()
            .find(|r| r.path == Path::new("/etc"))
            .unwrap();
        assert!(etc.except.contains(&PathBuf::from("/etc/shadow")));
        assert!(
            etc.except
                .contains(&PathBuf::from("/etc/ssh/ssh_host_ed25519_key"))
        );
    }

    #[test]
    fn no_userns_and_no_landlock_fails_closed() {
        let mut s = fallback();
        s.landlock_abi = 0;
        let e = plan(&pol(SandboxMode::WorkspaceWrite), &s).unwrap_err();
        match &e {
            SandboxError::Unsupported { missing } => {
                assert!(missing.contains("test: no userns") && missing.contains("Landlock"))
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("Refusing to run code unsandboxed"));
    }

    #[test]
    fn no_seccomp_fails_closed() {
        let mut s = full();
        s.seccomp = false;
        assert_eq!(
            plan(&pol(SandboxMode::WorkspaceWrite), &s).unwrap_err(),
            SandboxError::NoSeccomp
        );
    }

    #[test]
    fn namespaces_without_landlock_are_degraded_but_allowed() {
        let mut s = full();
        s.landlock_abi = 0;
        let p = plan(&pol(SandboxMode::WorkspaceWrite), &s).unwrap();
        assert!(p.degraded());
        assert_eq!(p.isolation, Isolation::Namespaces);
    }

    #[test]
    fn seccomp_denies_the_dangerous_syscalls() {
        let p = plan(&pol(SandboxMode::WorkspaceWrite), &full()).unwrap();
        for s in [
            "ptrace",
            "process_vm_readv",
            "process_vm_writev",
            "io_uring_setup",
            "bpf",
            "perf_event_open",
            "keyctl",
            "add_key",
            "request_key",
            "kexec_load",
            "init_module",
            "finit_module",
            "delete_module",
            "mount",
            "umount2",
            "pivot_root",
            "unshare",
            "setns",
            "mount_setattr",
            "open_tree",
            "move_mount",
            "fsopen",
        ] {
            assert!(p.seccomp.deny.iter().any(|d| d == s), "{s}");
        }
        assert!(
            p.seccomp.deny_tty_injection
                && p.seccomp.deny_personality
                && p.seccomp.deny_namespace_clone
                && p.seccomp.deny_foreign_abi
        );
    }

    #[test]
    fn rlimits_follow_limits_and_core_is_zero() {
        let mut pol = pol(SandboxMode::WorkspaceWrite);
        pol.limits = Limits {
            memory_bytes: Some(1 << 28),
            cpu_seconds: Some(5),
            processes: Some(64),
            file_size_bytes: Some(1 << 20),
            open_files: None,
        };
        let p = plan(&pol, &full()).unwrap();
        let get = |r| p.rlimits.iter().find(|x| x.resource == r).map(|x| x.value);
        assert_eq!(get(Resource::Core), Some(0));
        assert_eq!(get(Resource::Data), Some(1 << 28));
        assert_eq!(get(Resource::Cpu), Some(5));
        assert_eq!(get(Resource::Nproc), Some(64));
        assert_eq!(get(Resource::Fsize), Some(1 << 20));
        assert_eq!(get(Resource::Nofile), None);
    }

    #[test]
    fn pid_namespace_caps_processes_where_the_kernel_allows_it() {
        let mut pol = pol(SandboxMode::WorkspaceWrite);
        // Default limit: init and the program's 1024 processes fit.
        assert_eq!(plan(&pol, &full()).unwrap().pid_max, Some(1026));
        // The kernel's floor.
        pol.limits.processes = Some(64);
        assert_eq!(plan(&pol, &full()).unwrap().pid_max, Some(PID_MAX_MIN));
        pol.limits.processes = None;
        assert_eq!(plan(&pol, &full()).unwrap().pid_max, None);
        pol.limits.processes = Some(2000);
        let mut old_kernel = full();
        old_kernel.pid_max_per_namespace = false;
        assert_eq!(plan(&pol, &old_kernel).unwrap().pid_max, None);
        // No pid namespace in the fallback: nothing to set.
        let fb = plan(&pol, &fallback()).unwrap();
        assert_eq!(fb.pid_max, None);
    }

    #[test]
    fn root_without_any_process_bound_is_told() {
        let pol = pol(SandboxMode::WorkspaceWrite);
        let mut s = full();
        s.root = true;
        // pid_max bounds root too: nothing to say.
        assert!(plan(&pol, &s).unwrap().notes.is_empty());
        s.pid_max_per_namespace = false;
        let p = plan(&pol, &s).unwrap();
        assert!(
            p.notes.iter().any(|n| n.contains("exempts root")),
            "{:?}",
            p.notes
        );
        // A pids cgroup bounds it.
        s.cgroup = Some(crate::support::CgroupSupport {
            version: "v2".into(),
            pids_parent: Some("/sys/fs/cgroup/x".into()),
            memory_parent: None,
        });
        assert!(plan(&pol, &s).unwrap().notes.is_empty());
        // An ordinary user is bounded by RLIMIT_NPROC in its own user namespace.
        s.cgroup = None;
        s.root = false;
        assert!(plan(&pol, &s).unwrap().notes.is_empty());
    }

    #[test]
    fn cgroup_used_when_support_offers_it() {
        let mut s = full();
        s.cgroup = Some(crate::support::CgroupSupport {
            version: "v1".into(),
            pids_parent: Some("/sys/fs/cgroup/pids/x".into()),
            memory_parent: None,
        });
        let p = plan(&pol(SandboxMode::WorkspaceWrite), &s).unwrap();
        let c = p.cgroup.unwrap();
        assert_eq!(c.pids_max, Some(1024));
        assert_eq!(c.memory_max, None);
        assert!(
            plan(&pol(SandboxMode::WorkspaceWrite), &full())
                .unwrap()
                .cgroup
                .is_none()
        );
    }

    #[test]
    fn relative_paths_and_writable_inside_hidden_are_rejected() {
        let mut p = pol(SandboxMode::WorkspaceWrite);
        p.hidden_paths.push("relative/x".into());
        assert!(matches!(
            plan(&p, &full()),
            Err(SandboxError::RelativePath(_))
        ));
        let mut p = pol(SandboxMode::WorkspaceWrite);
        p.writable_roots.push("/home/u/.ssh/work".into());
        assert!(matches!(
            plan(&p, &full()),
            Err(SandboxError::WritableInsideHidden { .. })
        ));
    }

    #[test]
    fn private_host_tmp_dir_is_bound_at_tmp_and_writable_in_fallback() {
        let mut pol = pol(SandboxMode::WorkspaceWrite);
        pol.private_tmp = PrivateTmp::HostDir("/var/tmp/il-1".into());
        let p = plan(&pol, &full()).unwrap();
        assert!(p.mounts.contains(&MountOp::BindTmp {
            source: "/var/tmp/il-1".into()
        }));
        let p = plan(&pol, &fallback()).unwrap();
        assert!(
            p.landlock
                .rules
                .iter()
                .any(|r| r.path == Path::new("/var/tmp/il-1") && r.access == FsAccess::ReadWrite)
        );
    }

    #[test]
    fn plan_and_policy_round_trip_through_json() {
        let pol = pol(SandboxMode::WorkspaceWrite);
        let s = serde_json::to_string(&pol).unwrap();
        assert_eq!(serde_json::from_str::<Policy>(&s).unwrap(), pol);
        let p = plan(&pol, &full()).unwrap();
        let s = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Plan>(&s).unwrap(), p);
    }

    #[test]
    fn explain_mentions_support_and_degradation() {
        let e = explain(&pol(SandboxMode::WorkspaceWrite), &fallback());
        assert!(e.contains("user namespaces: no (test: no userns)"));
        assert!(e.contains("Landlock: ABI 7"));
        assert!(e.contains("DEGRADED"));
        let mut s = fallback();
        s.landlock_abi = 0;
        assert!(explain(&pol(SandboxMode::WorkspaceWrite), &s).contains("No sandbox possible"));
    }
}

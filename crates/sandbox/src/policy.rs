//! The sandbox policy: plain, serializable data describing what sandboxed code may see and do.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How much of the workspace the sandboxed code may change. (`off` never reaches this crate.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxMode {
    /// Nothing on the host is writable; only the private temp dir.
    ReadOnly,
    /// The workspace (minus protected paths such as `.git/hooks`) and the private temp dir are writable.
    WorkspaceWrite,
}

/// What the sandboxed code may do on the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkMode {
    /// No network at all: own network namespace (loopback only, down), no `socket(2)` of any family
    /// (`socketpair(2)` still works), Landlock TCP rules where supported.
    None,
    /// The host network, unchanged.
    Full,
    /// Egress through a filtering proxy to these domains. Reserved: rejected by [`crate::plan`] until
    /// the proxy exists.
    Allowlist(Vec<String>),
}

/// Where the sandbox's private `/tmp` comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivateTmp {
    /// A fresh tmpfs of at most this many bytes at `/tmp` (namespace mode only; gone when the sandbox ends).
    Tmpfs { size_bytes: u64 },
    /// A host directory (created and owned by the caller), mounted at `/tmp` in namespace mode and
    /// writable at its own path in the Landlock-only fallback.
    HostDir(PathBuf),
}

/// Resource limits. `None` means "leave the inherited limit alone".
///
/// Memory is bounded with `RLIMIT_DATA`, not `RLIMIT_AS`: since Linux 4.7 `RLIMIT_DATA` counts the
/// private writable mappings a process actually commits to (heap, anonymous `mmap`), while `RLIMIT_AS`
/// also counts address space that is merely reserved. Node/V8 reserves several GiB of `PROT_NONE` address
/// space for its pointer-compression cage, Go and ASan do the same, and OpenBLAS/numpy threads reserve
/// large stacks; an `RLIMIT_AS` low enough to stop a memory bomb breaks them. Shared mappings (tmpfs,
/// memfd) are not counted by either; the private `/tmp` and `/dev/shm` are size-limited tmpfs, and a
/// cgroup memory limit is added where the host lets us create one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// `RLIMIT_DATA` per process (and cgroup `memory` limit for the whole sandbox when available).
    pub memory_bytes: Option<u64>,
    /// `RLIMIT_CPU` per process. Default: unlimited, because a warm interpreter session lives for hours
    /// and `RLIMIT_CPU` is cumulative over a process's life; runaway blocks are stopped by the per-run
    /// wall-clock timeout of the kernels instead.
    pub cpu_seconds: Option<u64>,
    /// `RLIMIT_NPROC` (counted per user namespace, so only the sandbox's own tasks count) and the cgroup
    /// `pids.max` when available.
    pub processes: Option<u64>,
    /// `RLIMIT_FSIZE`: the largest file a process may write. There is no total disk quota.
    pub file_size_bytes: Option<u64>,
    /// `RLIMIT_NOFILE`.
    pub open_files: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: Some(4 << 30),
            cpu_seconds: None,
            processes: Some(1024),
            file_size_bytes: Some(4 << 30),
            open_files: Some(4096),
        }
    }
}

/// The complete sandbox policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub mode: SandboxMode,
    /// Readable hierarchies in the Landlock-only fallback (in namespace mode the whole filesystem is
    /// readable, read-only, minus `hidden_paths`).
    pub readable_roots: Vec<PathBuf>,
    /// Writable hierarchies (the workspace in `workspace-write` mode).
    pub writable_roots: Vec<PathBuf>,
    /// Paths inside writable roots that stay read-only (`.git/hooks`, `.git/config`). Their parent
    /// directories inside the writable root are pinned so they cannot be renamed away.
    pub read_only_paths: Vec<PathBuf>,
    /// Paths that must be invisible: an empty read-only directory or file is mounted over them.
    pub hidden_paths: Vec<PathBuf>,
    /// Directories whose files run code outside the sandbox later: the home directory (shell rc
    /// files, `~/.ssh/authorized_keys`, autostart entries, user systemd units) — including ones that
    /// do not exist yet, which hiding cannot cover. A writable root that is one of them or contains
    /// one is made read-only, with a note saying so.
    #[serde(default)]
    pub protected_roots: Vec<PathBuf>,
    pub private_tmp: PrivateTmp,
    pub network: NetworkMode,
    pub limits: Limits,
    /// Wall-clock seconds the sandbox may run before everything in it is killed. `None` for chat
    /// sessions, whose sandbox lives as long as the session (each block has its own timeout in the
    /// kernels); `interlock sandbox --timeout` sets it for a one-shot command.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

/// Credential stores and other secrets under `$HOME` hidden by default.
pub const DEFAULT_HIDDEN_IN_HOME: &[&str] = &[
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
    ".config/gh",
    ".config/hub",
    ".npmrc",
    ".pypirc",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".local/share/keyrings",
    ".pki",
    ".vault-token",
    ".terraform.d/credentials.tfrc.json",
    // browser profiles
    ".mozilla",
    ".thunderbird",
    ".config/google-chrome",
    ".config/google-chrome-beta",
    ".config/chromium",
    ".config/BraveSoftware",
    ".config/microsoft-edge",
    ".config/vivaldi",
    ".config/opera",
    ".var/app",
    "snap/firefox",
    "snap/chromium",
];

/// Host paths hidden by default: other secrets readable by root, and sockets of host daemons through
/// which sandboxed code could run commands outside the sandbox (docker, systemd user manager, D-Bus,
/// terminal multiplexers...).
pub const DEFAULT_HIDDEN_SYSTEM: &[&str] = &[
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssh/ssh_host_rsa_key",
    "/etc/ssh/ssh_host_ecdsa_key",
    "/etc/ssh/ssh_host_ed25519_key",
    "/etc/ssh/ssh_host_dsa_key",
    "/run/user",
    "/run/dbus",
    "/run/docker.sock",
    "/run/docker",
    "/run/containerd",
    "/run/podman",
    "/run/libvirt",
    "/run/snapd.socket",
    "/run/snapd-snap.socket",
    "/run/screen",
    "/run/systemd/private",
    "/var/run/docker.sock",
];

/// Readable hierarchies for the Landlock-only fallback (missing ones are skipped at run time).
pub const DEFAULT_READABLE_SYSTEM: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/opt",
    "/proc",
    "/sys/devices/system/cpu",
    "/var/lib/locales",
];

/// Readable hierarchies under `$HOME` for the Landlock-only fallback (user-installed interpreters and
/// packages).
pub const DEFAULT_READABLE_IN_HOME: &[&str] = &[".local/lib", ".pyenv", ".nvm"];

impl Policy {
    /// The default policy for a workspace: everything read-only except the workspace (in
    /// `WorkspaceWrite` mode) and a private tmp; credential stores, browser profiles, interlock's own
    /// config/state/history (`interlock_dirs`) and `extra_hidden` hidden; `.git/hooks` and `.git/config`
    /// of the workspace read-only; no network. `home` is protected: a workspace that is `home` or
    /// contains it stays read-only (see [`Policy::protected_roots`]).
    ///
    /// Paths are taken as given (symlinks are resolved by the helper at run time, so a hidden symlink
    /// hides its target).
    pub fn for_workspace(
        mode: SandboxMode,
        workspace: &Path,
        home: &Path,
        interlock_dirs: &[PathBuf],
        extra_hidden: &[PathBuf],
    ) -> Policy {
        let mut readable_roots: Vec<PathBuf> =
            DEFAULT_READABLE_SYSTEM.iter().map(PathBuf::from).collect();
        readable_roots.extend(DEFAULT_READABLE_IN_HOME.iter().map(|p| home.join(p)));
        readable_roots.push(workspace.to_path_buf());

        let writable_roots = match mode {
            SandboxMode::ReadOnly => Vec::new(),
            SandboxMode::WorkspaceWrite => vec![workspace.to_path_buf()],
        };
        let read_only_paths = match mode {
            SandboxMode::ReadOnly => Vec::new(),
            SandboxMode::WorkspaceWrite => {
                let mut v = vec![workspace.join(".git/hooks"), workspace.join(".git/config")];
                v.extend(other_git_control_paths(workspace));
                v
            }
        };

        let mut hidden_paths: Vec<PathBuf> = DEFAULT_HIDDEN_IN_HOME
            .iter()
            .map(|p| home.join(p))
            .collect();
        hidden_paths.extend(DEFAULT_HIDDEN_SYSTEM.iter().map(PathBuf::from));
        hidden_paths.extend(interlock_dirs.iter().cloned());
        hidden_paths.extend(extra_hidden.iter().cloned());
        dedup(&mut hidden_paths);

        Policy {
            mode,
            readable_roots,
            writable_roots,
            read_only_paths,
            hidden_paths,
            protected_roots: vec![home.to_path_buf()],
            private_tmp: PrivateTmp::Tmpfs {
                size_bytes: 1 << 30,
            },
            network: NetworkMode::None,
            limits: Limits::default(),
            timeout_seconds: None,
        }
    }
}

/// How deep submodules nest inside `.git/modules` before we stop looking.
const MAX_SUBMODULE_DEPTH: usize = 4;

/// The git directories in the workspace that git takes hooks and config from when the user works
/// there: the workspace's own `.git`, those of repositories one directory down (`sub/.git`), and
/// the submodules' (`.git/modules/NAME`, nested). Only existing directories, sorted.
pub fn workspace_git_dirs(workspace: &Path) -> Vec<PathBuf> {
    let mut git_dirs = Vec::new();
    let own = workspace.join(".git");
    if own.is_dir() {
        git_dirs.push(own);
    }
    if let Ok(entries) = std::fs::read_dir(workspace) {
        for e in entries.flatten() {
            let git = e.path().join(".git");
            if e.file_type().is_ok_and(|t| t.is_dir()) && git.is_dir() {
                git_dirs.push(git);
            }
        }
    }
    let mut modules: Vec<(PathBuf, usize)> =
        git_dirs.iter().map(|g| (g.join("modules"), 0)).collect();
    while let Some((dir, depth)) = modules.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let sub = e.path();
            if sub.join("config").is_file() || sub.join("hooks").is_dir() {
                git_dirs.push(sub.clone());
                if depth + 1 < MAX_SUBMODULE_DEPTH {
                    modules.push((sub.join("modules"), depth + 1));
                }
            } else if depth + 1 < MAX_SUBMODULE_DEPTH {
                // Submodule names may contain slashes: `modules/libs/foo`.
                modules.push((sub, depth + 1));
            }
        }
    }
    git_dirs.sort();
    git_dirs
}

/// The hooks directories and config files of [`workspace_git_dirs`] other than the workspace's
/// own `.git` (always protected). Only existing paths: a read-only mount needs something to
/// cover. Repositories created later are the git tripwire's job.
pub fn other_git_control_paths(workspace: &Path) -> Vec<PathBuf> {
    let own = workspace.join(".git");
    let mut out = Vec::new();
    for g in workspace_git_dirs(workspace) {
        if g == own {
            continue;
        }
        // Missing ones too: the sandbox creates them empty before binding them read-only.
        out.push(g.join("hooks"));
        out.push(g.join("config"));
    }
    out.sort();
    out
}

fn dedup(v: &mut Vec<PathBuf>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|p| seen.insert(p.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submodules_and_repositories_one_level_down_keep_their_hooks_and_config() {
        let ws = tempfile::tempdir().unwrap();
        let w = ws.path();
        for d in [
            ".git/hooks",
            ".git/modules/a/hooks",
            ".git/modules/group/b/hooks",
            ".git/modules/a/modules/c/hooks",
            "sub/.git/hooks",
            "sub/.git/modules/d/hooks",
            "plain/dir",
        ] {
            std::fs::create_dir_all(w.join(d)).unwrap();
        }
        for f in [".git/modules/a/config", "sub/.git/config"] {
            std::fs::write(w.join(f), "[core]\n").unwrap();
        }
        let got = other_git_control_paths(w);
        let want: Vec<PathBuf> = [
            // Missing configs are listed too: the sandbox creates them empty.
            ".git/modules/a/config",
            ".git/modules/a/hooks",
            ".git/modules/a/modules/c/config",
            ".git/modules/a/modules/c/hooks",
            ".git/modules/group/b/config",
            ".git/modules/group/b/hooks",
            "sub/.git/config",
            "sub/.git/hooks",
            "sub/.git/modules/d/config",
            "sub/.git/modules/d/hooks",
        ]
        .iter()
        .map(|p| w.join(p))
        .collect();
        assert_eq!(got, want);
        let p = Policy::for_workspace(SandboxMode::WorkspaceWrite, w, Path::new("/h"), &[], &[]);
        assert!(p.read_only_paths.contains(&w.join("sub/.git/hooks")));
        assert!(p.read_only_paths.contains(&w.join(".git/hooks")));
        assert!(other_git_control_paths(&w.join("missing")).is_empty());
    }
}

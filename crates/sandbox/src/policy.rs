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
    /// Egress only through a filtering proxy that the caller serves (crate `interlock-netproxy`),
    /// to these entries (shown by `explain`; the proxy enforces them): an empty network namespace
    /// whose loopback holds the proxy's port, and `AF_INET`/`AF_INET6` sockets only. Needs namespaces.
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
    /// Directories whose contents sandboxed code does not see at all: home directories (`/home`,
    /// `/root` and the user's `$HOME`). Only the `readable_roots` and `writable_roots` below them show
    /// through (the workspace, the toolchains on `PATH`, what the user adds with `--read`). Because
    /// this is default-deny, a credential store is hidden whether or not any list names it, and
    /// also when it is created after the sandbox started. In namespace mode an empty read-only tmpfs
    /// covers each; the Landlock-only fallback never grants them (its reads are an allowlist).
    #[serde(default)]
    pub denied_roots: Vec<PathBuf>,
    /// Why each path below a denied root is visible, for `--explain` (plain text per path).
    #[serde(default)]
    pub visible_because: Vec<(PathBuf, String)>,
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
    // Home directories are denied as a whole (`Policy::denied_roots`); this list is the second
    // wall for when a home is visible anyway (it is the workspace, or `--read` names it).
    ".config/git/credentials",
    ".claude",
    ".claude.json",
    ".codex",
    ".cache/huggingface",
    ".huggingface",
    ".config/github-copilot",
    ".config/containers/auth.json",
    ".pgpass",
    ".my.cnf",
    ".s3cfg",
    ".config/rclone",
    ".m2/settings.xml",
    ".gradle/gradle.properties",
    ".ansible",
    ".env",
    ".bash_history",
    ".zsh_history",
    ".python_history",
    ".node_repl_history",
    ".psql_history",
    ".mysql_history",
    ".sqlite_history",
    ".local/share/fish",
    ".config/op",
    ".config/Bitwarden",
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
        let mut visible_because = Vec::new();
        for p in DEFAULT_READABLE_IN_HOME {
            readable_roots.push(home.join(p));
            visible_because.push((
                home.join(p),
                "user-installed interpreters and packages".into(),
            ));
        }
        readable_roots.push(workspace.to_path_buf());
        visible_because.push((workspace.to_path_buf(), "the workspace".into()));

        let writable_roots = match mode {
            SandboxMode::ReadOnly => Vec::new(),
            SandboxMode::WorkspaceWrite => vec![workspace.to_path_buf()],
        };
        let read_only_paths = match mode {
            SandboxMode::ReadOnly => Vec::new(),
            SandboxMode::WorkspaceWrite => git_control_paths(workspace),
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
            denied_roots: denied_roots(home),
            visible_because,
            private_tmp: PrivateTmp::Tmpfs {
                size_bytes: 1 << 30,
            },
            network: NetworkMode::None,
            limits: Limits::default(),
            timeout_seconds: None,
        }
    }
}

/// How deep below the workspace [`git_control_paths`] looks for repositories.
const MAX_GIT_SEARCH_DEPTH: usize = 8;
/// How many directory entries [`git_control_paths`] reads at most, so a huge workspace does not
/// delay the start of a session by much.
const MAX_GIT_SEARCH_ENTRIES: usize = 200_000;
/// Directories [`git_control_paths`] does not descend into: package caches and build output,
/// large and never where the user runs git.
const GIT_SEARCH_SKIP: &[&str] = &[
    "node_modules",
    "target",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".cache",
];

/// Every git control entry in the workspace, at any depth (bounded): each `.git` directory or
/// `.git` file (`gitdir:`) and each bare repository (a `*.git` directory with `HEAD` and
/// `objects`). The sandbox makes each of them read-only as a whole and pins the directories above
/// it, so code can neither change what git runs (config, hooks, `commondir`, `info`, worktrees,
/// submodules' configs) nor rename or replace the repository. Sorted; symlinks are not followed.
pub fn git_control_paths(workspace: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut budget = MAX_GIT_SEARCH_ENTRIES;
    let mut stack = vec![(workspace.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if budget == 0 {
                break;
            }
            budget -= 1;
            let name = e.file_name();
            let Ok(t) = e.file_type() else { continue };
            let path = e.path();
            if name == ".git" {
                if t.is_dir() || t.is_file() {
                    found.push(path);
                }
                continue;
            }
            if !t.is_dir() {
                continue;
            }
            let n = name.to_string_lossy();
            if n.ends_with(".git") && path.join("HEAD").is_file() && path.join("objects").is_dir() {
                found.push(path);
                continue;
            }
            if depth + 1 < MAX_GIT_SEARCH_DEPTH && !GIT_SEARCH_SKIP.contains(&n.as_ref()) {
                stack.push((path, depth + 1));
            }
        }
    }
    found.sort();
    found
}

/// The directories whose contents the sandbox denies by default: every home directory (`/home`,
/// `/root`) and the user's own `home` wherever it is. Sorted, none inside another.
pub fn denied_roots(home: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = vec![PathBuf::from("/home"), PathBuf::from("/root")];
    if home.is_absolute() && home.parent().is_some() {
        v.push(home.to_path_buf());
    }
    v.sort();
    let mut out: Vec<PathBuf> = Vec::new();
    for p in v {
        if !out.iter().any(|o| p.starts_with(o)) {
            out.push(p);
        }
    }
    out
}

/// The toolchains on `path_var` (a `PATH` value) that live below one of `denied`: what must stay
/// visible, read-only, for the user's interpreters and tools to work in the sandbox. For a `bin`,
/// `sbin` or `shims` directory that is its install prefix (`~/.pyenv/shims` → `~/.pyenv`,
/// `~/.cargo/bin` → `~/.cargo`, `~/.nvm/versions/node/v20/bin` → that version), except where the
/// prefix is a shared place (`~`, `~/.local`): then only the directory itself (and `~/.local/lib`
/// for `~/.local/bin`). `~/.cargo` brings `~/.rustup`, where its tools' toolchains live. A `PATH`
/// entry that is a home directory itself, or above one, is never revealed: that would undo the
/// default-deny. Pure: reads nothing.
pub fn toolchain_roots(path_var: &std::ffi::OsStr, denied: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut add = |p: PathBuf| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    for dir in std::env::split_paths(path_var) {
        if !dir.is_absolute() || dir.components().any(|c| c.as_os_str() == "..") {
            continue;
        }
        let Some(root) = denied.iter().find(|d| dir.starts_with(d) && dir != **d) else {
            continue;
        };
        // The home directory below a shared root such as /home (`/home/u`), or the root itself.
        let home = if root == Path::new("/home") {
            match dir
                .strip_prefix(root)
                .ok()
                .and_then(|r| r.components().next())
            {
                Some(first) => root.join(first),
                None => continue,
            }
        } else {
            root.clone()
        };
        if dir == home {
            continue;
        }
        let leaf = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let prefix = dir.parent().map(Path::to_path_buf);
        match prefix {
            Some(pre) if matches!(leaf, "bin" | "sbin" | "shims") && pre != home => {
                if pre == home.join(".local") {
                    add(dir.clone());
                    add(home.join(".local/lib"));
                } else {
                    if pre == home.join(".cargo") {
                        add(home.join(".rustup"));
                    }
                    add(pre);
                }
            }
            _ => add(dir.clone()),
        }
    }
    out
}

/// System directories that must not be the writable workspace: the root, the directories of the
/// system itself, and everything below the ones that only the system writes.
const SYSTEM_DIRS: &[&str] = &[
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media",
    "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/usr", "/var", "/snap",
];
const SYSTEM_TREES: &[&str] = &[
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
    "/var/lib",
    "/var/log",
    "/var/spool",
    "/var/mail",
    "/var/cache",
    "/var/backups",
    "/snap",
];

/// True when `dir` (canonical) is a system directory that code must not be allowed to write as its
/// workspace: `/`, `/etc`, `/usr/local/bin`, `/var/lib/…` and the like. Project directories under
/// `/opt`, `/srv`, `/var/www` or `/var/tmp` are not.
pub fn is_system_directory(dir: &Path) -> bool {
    SYSTEM_DIRS.iter().any(|d| dir == Path::new(d))
        || SYSTEM_TREES.iter().any(|t| dir.starts_with(t))
}

impl Policy {
    /// Make `path` readable (read-only) even where it lies in a denied root, noting why for
    /// `--explain`.
    pub fn add_readable(&mut self, path: PathBuf, why: &str) {
        if !self.readable_roots.contains(&path) {
            self.readable_roots.push(path.clone());
        }
        self.visible_because.push((path, why.to_string()));
    }
}

fn dedup(v: &mut Vec<PathBuf>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|p| seen.insert(p.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_repository_in_the_workspace_is_read_only_as_a_whole() {
        let ws = tempfile::tempdir().unwrap();
        let w = ws.path();
        for d in [
            ".git/hooks",
            ".git/modules/a/hooks",
            "sub/.git/hooks",
            "a/b/c/.git",
            "bare.git/objects",
            "node_modules/x/.git",
            "plain/dir",
            "notbare.git/objects",
        ] {
            std::fs::create_dir_all(w.join(d)).unwrap();
        }
        std::fs::write(w.join("bare.git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::create_dir_all(w.join("wt")).unwrap();
        std::fs::write(w.join("wt/.git"), "gitdir: ../.git/worktrees/wt\n").unwrap();
        let got = git_control_paths(w);
        let want: Vec<PathBuf> = [".git", "a/b/c/.git", "bare.git", "sub/.git", "wt/.git"]
            .iter()
            .map(|p| w.join(p))
            .collect();
        assert_eq!(got, want);
        let p = Policy::for_workspace(SandboxMode::WorkspaceWrite, w, Path::new("/h"), &[], &[]);
        assert_eq!(p.read_only_paths, want);
        assert!(git_control_paths(&w.join("missing")).is_empty());
    }

    #[test]
    fn homes_are_denied_and_only_toolchains_below_them_show_through() {
        assert_eq!(
            denied_roots(Path::new("/home/u")),
            vec![PathBuf::from("/home"), PathBuf::from("/root")]
        );
        assert_eq!(
            denied_roots(Path::new("/var/lib/svc")),
            vec![
                PathBuf::from("/home"),
                PathBuf::from("/root"),
                PathBuf::from("/var/lib/svc")
            ]
        );
        let denied = denied_roots(Path::new("/home/u"));
        let path = std::ffi::OsString::from(
            "/home/u/.cargo/bin:/root/.pyenv/shims:/root/.pyenv/bin:/home/u/.local/bin:\
             /home/u:/home:/home/u/bin:/home/u/.nvm/versions/node/v20.1.0/bin:/usr/bin:\
             relative/bin:/home/u/../../etc:/home/u/tools/go/bin",
        );
        let got = toolchain_roots(&path, &denied);
        let want: Vec<PathBuf> = [
            "/home/u/.rustup",
            "/home/u/.cargo",
            "/root/.pyenv",
            "/home/u/.local/bin",
            "/home/u/.local/lib",
            "/home/u/bin",
            "/home/u/.nvm/versions/node/v20.1.0",
            "/home/u/tools/go",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn system_directories_are_recognised_and_projects_are_not() {
        for d in [
            "/",
            "/etc",
            "/usr/local/bin",
            "/var/lib/dpkg",
            "/home",
            "/root",
            "/opt",
        ] {
            assert!(is_system_directory(Path::new(d)), "{d}");
        }
        for d in [
            "/home/u/proj",
            "/opt/app",
            "/srv/site",
            "/var/www/site",
            "/var/tmp/x",
            "/tmp/w",
        ] {
            assert!(!is_system_directory(Path::new(d)), "{d}");
        }
    }
}

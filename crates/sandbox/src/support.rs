//! What the running kernel offers for sandboxing.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The kernel features the sandbox can use. Build one with [`probe`], or by hand in tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Support {
    /// Unprivileged user namespaces (with mount namespaces and the new mount API) are usable.
    pub user_namespaces: bool,
    /// Why not, when `user_namespaces` is false.
    pub user_namespaces_reason: Option<String>,
    /// Landlock ABI version, 0 when Landlock is unavailable.
    pub landlock_abi: u32,
    /// seccomp filters are available.
    pub seccomp: bool,
    /// CPU architecture (`std::env::consts::ARCH`).
    pub arch: String,
    /// cgroup hierarchy this process may create a child cgroup in, if any.
    pub cgroup: Option<CgroupSupport>,
    /// cgroup version(s) mounted, for `--explain` ("v1", "v2", "hybrid", "none").
    pub cgroup_version: String,
    /// Each pid namespace has its own `kernel.pid_max` (Linux 6.14): a sandbox can cap how many
    /// processes it holds at once, whoever runs it.
    #[serde(default)]
    pub pid_max_per_namespace: bool,
    /// The caller is root (uid 0), whom the kernel exempts from `RLIMIT_NPROC`.
    #[serde(default)]
    pub root: bool,
}

/// Where sandbox cgroups can be created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupSupport {
    /// "v1" or "v2".
    pub version: String,
    /// Directory under which a child cgroup with `pids.max` can be created.
    pub pids_parent: Option<PathBuf>,
    /// Directory under which a child cgroup with a memory limit can be created.
    pub memory_parent: Option<PathBuf>,
}

impl Support {
    /// Everything this crate can use (for tests of [`crate::plan`]).
    pub fn full() -> Support {
        Support {
            user_namespaces: true,
            user_namespaces_reason: None,
            landlock_abi: 7,
            seccomp: true,
            arch: std::env::consts::ARCH.to_string(),
            cgroup: None,
            cgroup_version: "none".into(),
            pid_max_per_namespace: true,
            root: false,
        }
    }

    /// This support with user namespaces marked unavailable: [`crate::plan`] then produces the
    /// Landlock-only fallback. The only way to select the fallback is through `Support`, which is
    /// never read from the environment.
    pub fn without_user_namespaces(mut self, reason: &str) -> Support {
        self.user_namespaces = false;
        self.user_namespaces_reason = Some(reason.to_string());
        self
    }
}

/// Probe the running kernel. Cheap (well under a millisecond): reads a few sysctls, asks Landlock for
/// its ABI version, and forks one short-lived child that tries to create a user + mount namespace.
pub fn probe() -> Support {
    probe_with(probe_userns())
}

/// [`Support`] for this kernel, given the verdict on user namespaces.
fn probe_with(userns: Result<(), String>) -> Support {
    let (user_namespaces, user_namespaces_reason) = match userns {
        Ok(()) => (true, None),
        Err(reason) => (false, Some(reason)),
    };
    let (cgroup_version, cgroup) = probe_cgroup();
    Support {
        user_namespaces,
        user_namespaces_reason,
        landlock_abi: crate::sys::landlock_abi(),
        seccomp: crate::sys::seccomp_available(),
        arch: std::env::consts::ARCH.to_string(),
        cgroup,
        cgroup_version,
        pid_max_per_namespace: kernel_at_least(6, 14),
        root: nix::unistd::geteuid().is_root(),
    }
}

/// Whether the running kernel's release is at least `major.minor`.
fn kernel_at_least(major: u32, minor: u32) -> bool {
    nix::sys::utsname::uname()
        .ok()
        .and_then(|u| parse_release(&u.release().to_string_lossy()))
        .is_some_and(|v| v >= (major, minor))
}

/// `(major, minor)` of a kernel release string such as `6.18.44-generic`.
fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    Some((major, minor))
}

/// Probe the running kernel without starting a process: like [`probe`], except that user namespaces
/// are judged from the sysctls that disable or restrict them instead of by a child that tries one.
/// For one-shot commands, where a probe child would cost as much as the sandbox itself. The real
/// attempt happens when the sandbox starts: [`crate::run_here`] reports
/// [`crate::NamespacesUnavailable`] before starting anything, so the caller can fall back.
pub fn probe_quick() -> Support {
    probe_with(userns_sysctls())
}

/// The sysctls that switch user namespaces off; the full test when they may be restricted.
fn userns_sysctls() -> Result<(), String> {
    userns_switched_off()?;
    // AppArmor may restrict them per program: only a real attempt can tell.
    if read_trim("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return probe_userns();
    }
    Ok(())
}

const APPARMOR: &str = "user namespaces are restricted by AppArmor \
     (kernel.apparmor_restrict_unprivileged_userns=1): mounting inside one is denied";

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The sysctls that switch user namespaces off.
fn userns_switched_off() -> Result<(), String> {
    if read_trim("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return Err("user namespaces are disabled (user.max_user_namespaces=0)".into());
    }
    if read_trim("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Err(
            "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0)".into(),
        );
    }
    Ok(())
}

fn probe_userns() -> Result<(), String> {
    userns_switched_off()?;
    match crate::sys::probe_userns_child() {
        0 => Ok(()),
        1 => Err("unshare(CLONE_NEWUSER|CLONE_NEWNS) failed; unprivileged user namespaces are \
                  disabled or restricted (user.max_user_namespaces, kernel.unprivileged_userns_clone)"
            .into()),
        2 => Err("cannot write the user namespace's uid/gid map".into()),
        3 => {
            let apparmor =
                read_trim("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref()
                    == Some("1");
            if apparmor {
                Err(APPARMOR.into())
            } else {
                Err("mounting inside a user namespace is denied (an LSM restricts user namespaces)"
                    .into())
            }
        }
        4 => Err("the kernel lacks the new mount API (open_tree/mount_setattr, Linux >= 5.12)".into()),
        n => Err(format!("user namespace probe failed (code {n})")),
    }
}

fn probe_cgroup() -> (String, Option<CgroupSupport>) {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut v1: Vec<(PathBuf, Vec<String>)> = Vec::new();
    let mut v2: Option<PathBuf> = None;
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        match f[2] {
            "cgroup2" => v2 = Some(PathBuf::from(f[1])),
            "cgroup" => v1.push((
                PathBuf::from(f[1]),
                f[3].split(',').map(str::to_string).collect(),
            )),
            _ => {}
        }
    }
    let version = match (v1.is_empty(), v2.is_some()) {
        (true, false) => "none",
        (true, true) => "v2",
        (false, false) => "v1",
        (false, true) => "hybrid",
    }
    .to_string();

    // v1: a controller hierarchy is usable when our own cgroup directory in it is writable.
    let own_v1 = |controller: &str| -> Option<PathBuf> {
        let (mnt, _) = v1
            .iter()
            .find(|(_, opts)| opts.iter().any(|o| o == controller))?;
        let rel = own.lines().find_map(|l| {
            let mut it = l.splitn(3, ':');
            let (_, ctrls, path) = (it.next()?, it.next()?, it.next()?);
            ctrls
                .split(',')
                .any(|c| c == controller)
                .then(|| path.to_string())
        })?;
        let dir = mnt.join(rel.trim_start_matches('/'));
        writable_dir(&dir).then_some(dir)
    };
    let pids = own_v1("pids");
    let memory = own_v1("memory");
    if pids.is_some() || memory.is_some() {
        return (
            version,
            Some(CgroupSupport {
                version: "v1".into(),
                pids_parent: pids,
                memory_parent: memory,
            }),
        );
    }
    // v2: only the root of the hierarchy is exempt from the "no internal processes" rule, so a child
    // cgroup of our own (non-root) cgroup cannot hold us while controllers are enabled. Use the root
    // when it is writable (we are root) and already delegates pids/memory to its children.
    if let Some(root) = v2 {
        let ctl = std::fs::read_to_string(root.join("cgroup.subtree_control")).unwrap_or_default();
        if writable_dir(&root) {
            let has = |c: &str| ctl.split_whitespace().any(|x| x == c);
            let pids = has("pids").then(|| root.clone());
            let memory = has("memory").then(|| root.clone());
            if pids.is_some() || memory.is_some() {
                return (
                    version,
                    Some(CgroupSupport {
                        version: "v2".into(),
                        pids_parent: pids,
                        memory_parent: memory,
                    }),
                );
            }
        }
    }
    (version, None)
}

fn writable_dir(dir: &Path) -> bool {
    crate::sys::writable(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_releases_parse() {
        assert_eq!(parse_release("6.18.44-fc-v1045"), Some((6, 18)));
        assert_eq!(parse_release("6.14.0"), Some((6, 14)));
        assert_eq!(parse_release("5.15.0-91-generic"), Some((5, 15)));
        assert_eq!(parse_release("6.1-rc3"), Some((6, 1)));
        assert_eq!(parse_release("6.13+"), Some((6, 13)));
        assert_eq!(parse_release("garbage"), None);
        assert!(parse_release("6.13.9").unwrap() < (6, 14));
    }
}

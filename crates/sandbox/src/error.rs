use std::path::PathBuf;

/// Why a policy cannot be turned into a plan on this machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    /// Neither namespaces nor Landlock are usable: refusing to run (fail closed).
    #[error(
        "this kernel cannot sandbox code: {missing}. Refusing to run code unsandboxed; enable unprivileged \
         user namespaces or Landlock, or pass --dangerously-disable-sandbox if you accept the risk"
    )]
    Unsupported { missing: String },
    /// The network allowlist proxy does not exist yet.
    #[error(
        "network allowlists (--allow-net) are not supported yet; use no network (the default) or full network"
    )]
    AllowlistUnsupported,
    /// A path in the policy is not absolute.
    #[error("sandbox policy path {0:?} must be absolute")]
    RelativePath(PathBuf),
    /// A writable root lies inside a hidden path.
    #[error(
        "writable path {writable:?} lies inside hidden path {hidden:?}; choose another workspace or unhide it"
    )]
    WritableInsideHidden { writable: PathBuf, hidden: PathBuf },
    /// The seccomp filter is required and the kernel has none.
    #[error(
        "this kernel has no seccomp filter support (CONFIG_SECCOMP_FILTER); refusing to run code"
    )]
    NoSeccomp,
    /// Unsupported CPU architecture for the seccomp filter.
    #[error("the sandbox's seccomp filter does not support the {0} architecture")]
    UnsupportedArch(String),
}

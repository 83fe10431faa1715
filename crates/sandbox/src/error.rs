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
    /// A network allowlist needs the sandbox's own network namespace, which this kernel refuses.
    #[error(
        "network allowlists (--allow-net) need user namespaces, which this kernel does not allow \
         (the Landlock-only fallback cannot keep code off the host's network); drop --allow-net, or \
         enable unprivileged user namespaces"
    )]
    AllowlistNeedsNamespaces,
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

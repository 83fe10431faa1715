//! `interlock-sandbox` owns the sandbox that model-written code runs in: the [`Policy`] (plain data:
//! readable/writable roots, hidden paths, network mode, resource limits), [`probe`] (what the running
//! kernel offers), the pure function [`plan`] that turns a policy into the exact list of kernel steps
//! (namespaces, mounts, Landlock rules, seccomp filter, rlimits, capability drop), [`explain`] for
//! `interlock sandbox --explain`, and the Linux enforcement: [`command`] builds a
//! [`std::process::Command`] that re-executes a helper binary (`<exe> __sandbox-exec <plan> -- prog
//! args…`), and [`helper_main`] is that helper: it performs the plan and execs the program, failing
//! closed (exit status 125, message on stderr) if any step fails.
//!
//! Security properties decided up front are unit-tested on [`Plan`] values; the enforcement is tested
//! by real attacks in `tests/attacks.rs`. All `unsafe` code lives in the private `sys` module.

mod error;
mod exec;
mod net;
mod plan;
mod policy;
mod seccomp;
mod support;
mod sys;

pub use error::SandboxError;
pub use exec::{
    HELPER_ARG, NamespacesUnavailable, Outcome, SETUP_FAILED, TIMED_OUT, command, helper_main,
    helper_request, run_here,
};
pub use net::{
    PROXY_PORT, ProxyChannel, ProxyPlan, inheritable, proxy_channel, proxy_env, proxy_rendezvous,
};
pub use plan::{
    CgroupPlan, DENIED_SYSCALLS, DEVICES, FsAccess, Isolation, LandlockPlan, LandlockRule, MountOp,
    Namespace, Plan, Resource, Rlimit, SeccompPlan, SocketPolicy, explain, plan,
};
pub use policy::{
    DEFAULT_HIDDEN_IN_HOME, DEFAULT_HIDDEN_SYSTEM, DEFAULT_READABLE_IN_HOME,
    DEFAULT_READABLE_SYSTEM, Limits, NetworkMode, Policy, PrivateTmp, SandboxMode, denied_roots,
    git_control_paths, is_system_directory, toolchain_roots,
};
pub use support::{CgroupSupport, Support, probe, probe_quick};

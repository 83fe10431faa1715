//! The executor seam: every process interlock starts for code is built by a [`Backend`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

/// What to start. A backend turns this into a [`Command`]; the sandbox backend wraps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchSpec {
    /// Absolute path of the interpreter (resolved on `PATH` by the caller).
    pub program: PathBuf,
    /// Arguments after the program name.
    pub args: Vec<OsString>,
    /// The complete environment: the backend must not add the parent's environment.
    pub env: Vec<(OsString, OsString)>,
    /// Working directory the process starts in.
    pub cwd: PathBuf,
}

/// The executor seam: every process interlock starts for code goes through one backend.
///
/// The caller then sets stdin (`/dev/null`), stdout and stderr, puts the control channel
/// on fds 3 (request pipe) and 4 (reply socket), starts a new session (`setsid`) and marks every other inherited
/// descriptor (>= 5) close-on-exec. A backend that wraps the interpreter in a helper
/// must hand fds 0-4 through to it unchanged.
pub trait Backend: Send + Sync {
    /// Short name shown to the user, e.g. "direct (no sandbox)".
    fn name(&self) -> String;
    /// Build the command for a spec. Stdio and extra fds are set by the caller afterwards.
    fn command(&self, spec: &LaunchSpec) -> std::io::Result<Command>;
}

/// Runs the interpreter directly (no isolation) — the only backend until the sandbox lands.
#[derive(Debug, Clone, Copy, Default)]
pub struct DirectBackend;

impl Backend for DirectBackend {
    fn name(&self) -> String {
        "direct (no sandbox)".to_string()
    }

    fn command(&self, spec: &LaunchSpec) -> std::io::Result<Command> {
        let mut cmd = Command::new(&spec.program);
        cmd.args(&spec.args)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&spec.cwd);
        Ok(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_backend_uses_only_the_given_environment() {
        let spec = LaunchSpec {
            program: "/bin/true".into(),
            args: vec!["-x".into()],
            env: vec![("A".into(), "1".into())],
            cwd: "/".into(),
        };
        let cmd = DirectBackend.command(&spec).unwrap();
        assert_eq!(cmd.get_program(), "/bin/true");
        assert_eq!(cmd.get_args().collect::<Vec<_>>(), ["-x"]);
        let envs: Vec<_> = cmd.get_envs().collect();
        assert_eq!(
            envs,
            [(std::ffi::OsStr::new("A"), Some(std::ffi::OsStr::new("1")))]
        );
        assert_eq!(cmd.get_current_dir(), Some(std::path::Path::new("/")));
    }
}

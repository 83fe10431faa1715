//! Warm language sessions and the executor seam.
//!
//! This crate owns the persistent ("warm") interpreter sessions interlock runs code in
//! — python (`python3`), shell (`bash`) and javascript (`node`), found on `PATH` — and
//! the [`Backend`] seam through which every such process is started (the direct backend
//! today, the sandbox later). Variables, imports, functions and the shell's working
//! directory persist from one block to the next.
//!
//! # How a run works
//! Each interpreter runs a small driver script (see `src/drivers/`) in its own session
//! and process group, with stdin on `/dev/null`, stdout and stderr pipes, a request pipe
//! on fd 3 and a reply socket on fd 4. At start the session gets a random key; per run,
//! a probe with a fresh id must be acknowledged with that key before the code is sent,
//! and the run ends only with a reply carrying the id and the key (see `session.rs`).
//! Nothing printed on stdout or stderr can end a run. The drivers keep the key and the
//! control descriptors out of everything a block can list in its own language (no shell
//! variable, no Python global or frame local on its stack, no Node binding in its scope),
//! and processes the code starts never inherit them. Any other byte on the reply socket
//! means the session was tampered with: it is killed, and the run is an error. A session
//! that does not acknowledge the probe (an earlier block still holds it, or something
//! stole the probe) never receives the code: it is killed and the block runs in a fresh
//! session, with a note. Code *inside* the interpreter that inspects its memory (Python's
//! `gc`, a Node heap snapshot, `/proc/self/mem`) or subverts the shell itself (a bash
//! `DEBUG` trap with `extdebug`, disabled builtins) can still impersonate the driver; the
//! sandbox bounds what it can do.
//!
//! stdout and stderr are read in one loop in arrival order. When the reply arrives,
//! what is already buffered in the pipes is read too, so a block's trailing output is
//! never lost or shown with the next block. Output that background processes write
//! *between* blocks is discarded.
//!
//! # Stopping code
//! On timeout the session's process group gets SIGINT (so Python's traceback shows where
//! the code was), and once the driver reports back or [`KernelConfig::interrupt_grace`]
//! has passed the whole group is killed, whatever the control channel said: a block
//! cannot outlive its timeout in the session, and the next block starts a fresh one. On
//! cancel ([`CancellationToken`]) the group gets SIGINT too: python raises
//! `KeyboardInterrupt`, node's busy script is interrupted (`breakOnSigint`) or its
//! awaited promise is abandoned, bash's foreground command dies (best effort: a loop of
//! builtins keeps going). If the driver reports back within the grace period, the session
//! and its state are kept; otherwise the group is killed. [`RunOutcome::note`] says which
//! happened.
//!
//! # Crashes
//! If the interpreter exits during a block (`os._exit(3)`, `kill -9 $$`,
//! `process.exit(1)`, or `exit 3` in a shell block) the outcome is
//! [`ExecStatus::Crashed`] with the exit code and a note that state was lost — the note is
//! on the crash outcome itself. The next block transparently starts a fresh session. If
//! a session dies while idle (a background thread exited it), the next block's outcome
//! carries the note instead. Python's `sys.exit(n)` ends only the block, not the session.
//!
//! # Output limits
//! [`RunOutcome::output`] keeps at most [`KernelConfig::output_cap`] bytes (head and
//! tail around a marked cut). The `on_output` callback receives every chunk up to ten
//! times the cap; after that one notice chunk (on stderr) says the rest is not shown,
//! while the code keeps running and its output keeps being read (and counted).

mod backend;
mod capture;
mod env;
mod session;

pub use backend::{Backend, DirectBackend, LaunchSpec};
pub use capture::CapturedOutput;
pub use env::scrubbed_env;
pub use interlock_protocol::{ExecStatus, Language, OutputStream};
pub use tokio_util::sync::CancellationToken;

use session::{End, Session, Why};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settings for all sessions of one [`Kernels`].
#[derive(Debug, Clone)]
pub struct KernelConfig {
    /// Directory every session starts in (default: the current directory).
    pub workspace: PathBuf,
    /// Wall-clock limit per run (default 120 s).
    pub timeout: Duration,
    /// How long an interrupted run gets to stop before its session is killed (default 2 s).
    pub interrupt_grace: Duration,
    /// Bytes of output kept in [`RunOutcome::output`], head + tail (default 1 MiB).
    pub output_cap: usize,
    /// Explicit, already-vetted environment additions (default empty). They are added
    /// after [`scrubbed_env`] and are not filtered again.
    pub extra_env: Vec<(String, String)>,
}

impl Default for KernelConfig {
    fn default() -> Self {
        KernelConfig {
            workspace: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            timeout: Duration::from_secs(120),
            interrupt_grace: Duration::from_secs(2),
            output_cap: 1 << 20,
            extra_env: Vec::new(),
        }
    }
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub status: ExecStatus,
    /// Shell: the block's `$?`. Python: the `sys.exit()` code when the block called it.
    /// Crashes: the interpreter's exit code (`None` when killed by a signal).
    pub exit_code: Option<i32>,
    pub duration: Duration,
    pub output: CapturedOutput,
    /// Something the user should know, e.g. that the session was restarted and state lost.
    pub note: Option<String>,
}

/// Errors a user can act on. A block that fails, crashes or times out is *not* an error:
/// it is a [`RunOutcome`].
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error(
        "cannot run {language}: `{program}` was not found on PATH (install it, or use another language)"
    )]
    InterpreterNotFound { language: Language, program: String },
    #[error("could not start the {language} interpreter {}: {source}", program.display())]
    Spawn {
        language: Language,
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the code contains a NUL byte, which no interpreter accepts")]
    NulInCode,
    #[error("lost contact with the interpreter: {0}")]
    Io(#[from] std::io::Error),
}

/// Owns at most one warm session per [`Language`], each started lazily on first run.
/// Dropping it kills every session's process group (no orphan processes).
pub struct Kernels {
    config: KernelConfig,
    backend: Arc<dyn Backend>,
    sessions: HashMap<Language, Session>,
}

impl Kernels {
    pub fn new(config: KernelConfig, backend: Arc<dyn Backend>) -> Self {
        Kernels {
            config,
            backend,
            sessions: HashMap::new(),
        }
    }

    /// Languages whose interpreter is found on PATH (python3, bash, node).
    pub fn available() -> Vec<Language> {
        Language::ALL
            .into_iter()
            .filter(|&l| session::find_program(session::program_name(l)).is_some())
            .collect()
    }

    /// Run one block; calls `on_output` for each chunk as it arrives (in arrival order
    /// across stdout/stderr), up to ten times [`KernelConfig::output_cap`].
    pub async fn run(
        &mut self,
        language: Language,
        code: &str,
        cancel: &CancellationToken,
        on_output: &mut (dyn FnMut(OutputStream, &[u8]) + Send),
    ) -> Result<RunOutcome, KernelError> {
        if code.contains('\0') {
            return Err(KernelError::NulInCode);
        }
        let started = Instant::now();
        let mut sink = capture::Sink::new(self.config.output_cap, on_output);
        if cancel.is_cancelled() {
            return Ok(RunOutcome {
                status: ExecStatus::Interrupted,
                exit_code: None,
                duration: started.elapsed(),
                output: sink.capper.finish(),
                note: Some("cancelled before it started".into()),
            });
        }
        let mut notes = Vec::new();
        if let Some(status) = self
            .sessions
            .get_mut(&language)
            .and_then(Session::exited_while_idle)
        {
            self.sessions.remove(&language);
            notes.push(format!(
                "the {language} session had exited ({}) since the last block; this block ran in a fresh session and earlier state is gone",
                describe_exit(status)
            ));
        }
        let mut attempts = 0;
        let end = loop {
            attempts += 1;
            let session = match self.sessions.entry(language) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(Session::start(
                    language,
                    &self.config,
                    self.backend.as_ref(),
                )?),
            };
            let end = match session.run(code, &self.config, cancel, &mut sink).await {
                Ok(end) => end,
                Err(e) => {
                    self.sessions.remove(&language);
                    return Err(e);
                }
            };
            match end {
                // The code was never delivered, so a fresh session runs it exactly once.
                End::Refused(why) if attempts == 1 => {
                    self.sessions.remove(&language);
                    notes.push(format!(
                        "the {language} session was stopped because {why}; this block ran in a fresh session and earlier state is gone"
                    ));
                }
                end => break end,
            }
        };

        let timeout = seconds(self.config.timeout);
        let stopped = |why: Why| match why {
            Why::Timeout => (ExecStatus::TimedOut, format!("timed out after {timeout}")),
            Why::Cancel => (ExecStatus::Interrupted, "interrupted".to_string()),
        };
        let lost =
            format!("the next {language} block starts a fresh session and earlier state is gone");
        let (status, exit_code) = match end {
            End::Done {
                status,
                code,
                interrupted: None,
            } => match (language, status.as_str()) {
                (Language::Shell, _) if code == 0 => (ExecStatus::Ok, Some(0)),
                (Language::Shell, _) => (ExecStatus::Error, Some(code)),
                (_, "ok") => (ExecStatus::Ok, None),
                (_, "exit") if code == 0 => (ExecStatus::Ok, Some(0)),
                (_, "exit") => (ExecStatus::Error, Some(code)),
                _ => (ExecStatus::Error, None),
            },
            End::Done {
                code,
                interrupted: Some(why),
                ..
            } => {
                let (status, what) = stopped(why);
                notes.push(format!("{what}; the session and its state were kept"));
                let code = (language == Language::Shell).then_some(code);
                (status, code)
            }
            End::Exited {
                status,
                interrupted: None,
            } => {
                self.sessions.remove(&language);
                notes.push(format!(
                    "the {language} session crashed ({}); {lost}",
                    describe_exit(status)
                ));
                (ExecStatus::Crashed, status.code())
            }
            End::Exited {
                status,
                interrupted: Some(why),
            } => {
                self.sessions.remove(&language);
                let (st, what) = stopped(why);
                notes.push(format!(
                    "{what}; the {language} session exited ({}); {lost}",
                    describe_exit(status)
                ));
                (st, status.code())
            }
            End::Killed(Why::Timeout) => {
                self.sessions.remove(&language);
                let (st, what) = stopped(Why::Timeout);
                // A timeout always ends the session: code that outlives its block cannot
                // keep running in it, whatever it wrote to the control channel.
                notes.push(format!(
                    "{what}; the {language} session was killed (a timeout always ends the session); {lost}"
                ));
                (st, None)
            }
            End::Killed(why) => {
                self.sessions.remove(&language);
                let (st, what) = stopped(why);
                notes.push(format!(
                    "{what}; the {language} session did not stop on interrupt, so it was killed and restarted; {lost}"
                ));
                (st, None)
            }
            End::Refused(why) => {
                self.sessions.remove(&language);
                notes.push(format!(
                    "the fresh {language} session was stopped too because {why}; the block did not run"
                ));
                (ExecStatus::Error, None)
            }
            End::Tampered(why) => {
                self.sessions.remove(&language);
                notes.push(format!(
                    "{why}: an attempt to fake the end of the run or to take over the session, so the {language} session was killed; {lost}"
                ));
                (ExecStatus::Error, None)
            }
        };
        Ok(RunOutcome {
            status,
            exit_code,
            duration: started.elapsed(),
            output: sink.capper.finish(),
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        })
    }

    /// Kill all sessions and wait for their interpreters to exit (also done on drop).
    pub async fn shutdown(&mut self) {
        for (_, session) in self.sessions.drain() {
            session.shutdown().await;
        }
    }

    /// Drop one language's session and its state; the next block starts fresh.
    pub fn restart(&mut self, language: Language) {
        self.sessions.remove(&language);
    }

    /// Drop every session and its state (used by `%reset`).
    pub fn reset_all(&mut self) {
        self.sessions.clear();
    }

    /// Start every later session through `backend` (a changed sandbox policy). Running sessions
    /// were started under the old one, so they are shut down: their state is lost.
    pub async fn set_backend(&mut self, backend: Arc<dyn Backend>) {
        self.shutdown().await;
        self.backend = backend;
    }
}

/// "exit status 3" / "killed by SIGKILL".
fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => match nix::sys::signal::Signal::try_from(sig) {
            Ok(s) => format!("killed by {}", s.as_str()),
            Err(_) => format!("killed by signal {sig}"),
        },
        _ => "exited".to_string(),
    }
}

/// "120 s", "1.5 s".
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

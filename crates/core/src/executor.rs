//! Choosing how code runs: the sandbox by default, fail closed, and "off"
//! only when the user asked for it twice.
//!
//! The policy is built here from settings (pure), the sandbox crate turns it
//! into a plan, and [`SandboxBackend`] plugs that plan into the kernels'
//! `Backend` seam so every interpreter starts inside it.

use crate::config::{NetworkSetting, SandboxSetting, Settings};
use interlock_kernels::{Backend, DirectBackend, LaunchSpec};
use interlock_sandbox::{Limits, NetworkMode, Plan, Policy, PrivateTmp, SandboxMode, Support};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why code cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error(
        "the sandbox is turned off in the settings but --dangerously-disable-sandbox (or `dangerously_disable_sandbox = true`) was not given; interlock will not run code without a sandbox unless you ask for it explicitly"
    )]
    OffWithoutConsent,
    #[error(
        "cannot set up the sandbox, so no code will run: {0}\nRun `interlock sandbox --explain` to see what this kernel supports. To run code without any isolation (not recommended), pass --sandbox off --dangerously-disable-sandbox."
    )]
    Unsupported(String),
    #[error("cannot find interlock's own executable to start the sandbox: {0}")]
    NoHelper(std::io::Error),
    #[error("cannot create the sandbox's private temp dir: {0}")]
    TempDir(std::io::Error),
    #[error(
        "the workspace {0} is a system directory: code allowed to write there could change how this machine works. Use a project directory (cd into it, or --workspace DIR), --sandbox read-only, or, if you really mean it, --dangerously-allow-system-workspace"
    )]
    SystemWorkspace(PathBuf),
    /// An `--allow-net` entry that cannot be understood.
    #[error(transparent)]
    AllowNet(#[from] interlock_netproxy::EntryError),
}

/// The executor chosen for a session.
pub struct Executor {
    pub backend: Arc<dyn Backend>,
    /// True when a sandbox (even a degraded one) is in force.
    pub sandboxed: bool,
    /// What the user must be told at every start (degradation, sandbox off).
    pub warnings: Vec<String>,
    /// The sandbox plan in force (None when the sandbox is off), for the audit log.
    pub plan: Option<Plan>,
    /// Keeps the fallback mode's private temp dir alive for the session.
    _tmp: Option<tempfile::TempDir>,
    /// Where the network proxy's events go (`--allow-net`); see [`Executor::on_network_event`].
    net_sink: NetSink,
}

/// The receiver of the proxy's events, replaceable after the executor was chosen.
type NetSink = Arc<std::sync::Mutex<interlock_netproxy::EventSink>>;

fn default_net_sink() -> NetSink {
    // Until the caller says where events go, refusals at least reach stderr.
    Arc::new(std::sync::Mutex::new(Arc::new(|e| {
        if let interlock_netproxy::Event::Denied { host, port, reason } = e {
            eprintln!(
                "interlock: network: blocked {}:{port}: {reason}",
                host.escape_debug()
            );
        }
    })))
}

impl Executor {
    /// Send every event of the network proxy (`--allow-net`) of sessions started from now on to
    /// `sink`: the caller shows refusals to the user and writes the audit log. (Issue 18 seam:
    /// the chat Frontend's notice path is the next caller.)
    pub fn on_network_event(&self, sink: interlock_netproxy::EventSink) {
        if let Ok(mut s) = self.net_sink.lock() {
            *s = sink;
        }
    }
}

/// Builds the sandbox policy for these settings (pure).
///
/// `home` is the user's home (home directories are invisible to sandboxed code
/// apart from the workspace, the toolchains on `path_var` and `settings.read`),
/// `interlock_dirs` are every place interlock's own config/history/state may
/// live (all hidden), and `path_var` is the `PATH` the interpreters are found on.
pub fn policy(
    settings: &Settings,
    home: &Path,
    interlock_dirs: &[PathBuf],
    path_var: &std::ffi::OsStr,
) -> Option<Policy> {
    let mode = match settings.sandbox {
        SandboxSetting::Off => return None,
        SandboxSetting::ReadOnly => SandboxMode::ReadOnly,
        SandboxSetting::WorkspaceWrite => SandboxMode::WorkspaceWrite,
    };
    let mut p = Policy::for_workspace(
        mode,
        &settings.workspace,
        home,
        interlock_dirs,
        &settings.hide,
    );
    for t in interlock_sandbox::toolchain_roots(path_var, &p.denied_roots) {
        p.add_readable(t, "a toolchain on PATH");
    }
    for r in &settings.read {
        p.add_readable(r.clone(), "--read");
    }
    p.network = match settings.network {
        NetworkSetting::None if !settings.allow_net.is_empty() => {
            NetworkMode::Allowlist(settings.allow_net.clone())
        }
        NetworkSetting::None => NetworkMode::None,
        NetworkSetting::Full => NetworkMode::Full,
    };
    let d = Limits::default();
    let l = &settings.limits;
    p.limits = Limits {
        memory_bytes: l.memory_bytes.or(d.memory_bytes),
        cpu_seconds: l.cpu_seconds.or(d.cpu_seconds),
        processes: l.processes.or(d.processes),
        file_size_bytes: l.file_size_bytes.or(d.file_size_bytes),
        open_files: l.open_files.or(d.open_files),
    };
    Some(p)
}

/// Picks the executor: the sandbox planned for this kernel, or — only with
/// explicit consent — none. Never falls back silently.
pub fn choose(
    settings: &Settings,
    home: &Path,
    interlock_dirs: &[PathBuf],
    path_var: &std::ffi::OsStr,
    support: &Support,
) -> Result<Executor, ExecutorError> {
    let Some(mut policy) = policy(settings, home, interlock_dirs, path_var) else {
        if !settings.dangerously_disable_sandbox {
            return Err(ExecutorError::OffWithoutConsent);
        }
        return Ok(Executor {
            net_sink: default_net_sink(),
            backend: Arc::new(DirectBackend),
            sandboxed: false,
            warnings: vec![
                "the sandbox is OFF (--dangerously-disable-sandbox): approved code can read, change and send anything your user can.".to_string(),
            ],
            plan: None,
            _tmp: None,
        });
    };
    check_workspace(settings, home)?;
    let mut tmp = None;
    if !support.user_namespaces {
        // No mount namespace, so no private tmpfs: give the code its own host dir.
        let dir = tempfile::Builder::new()
            .prefix("interlock-sandbox-")
            .tempdir()
            .map_err(ExecutorError::TempDir)?;
        policy.private_tmp = PrivateTmp::HostDir(dir.path().to_path_buf());
        tmp = Some(dir);
    }
    let plan = interlock_sandbox::plan(&policy, support)
        .map_err(|e| ExecutorError::Unsupported(e.to_string()))?;
    let helper = std::env::current_exe().map_err(ExecutorError::NoHelper)?;
    let mut warnings = Vec::new();
    if plan.degraded() {
        warnings.push(format!(
            "the sandbox is running in a weaker mode: {}",
            plan.notes.join("; ")
        ));
    }
    if settings.sandbox == SandboxSetting::WorkspaceWrite
        && settings.dangerously_allow_system_workspace
        && interlock_sandbox::is_system_directory(&settings.workspace)
    {
        warnings.push(format!(
            "the workspace {} is a system directory and sandboxed code may write there \
             (--dangerously-allow-system-workspace)",
            settings.workspace.display()
        ));
    }
    if settings.network == NetworkSetting::Full {
        warnings.push(
            "sandboxed code has the full network (--network full): it can send anything it can \
             read, such as the workspace, to any host, and reach services on this machine's \
             loopback"
                .to_string(),
        );
    }
    let name = format!(
        "sandbox ({}, {}, {})",
        settings.sandbox.as_str(),
        if support.user_namespaces {
            "namespaces + Landlock + seccomp"
        } else {
            "Landlock + seccomp only"
        },
        match settings.network {
            NetworkSetting::None if !settings.allow_net.is_empty() => "network via proxy",
            NetworkSetting::None => "no network",
            NetworkSetting::Full => "full network",
        }
    );
    let net_sink = default_net_sink();
    let net = match &policy.network {
        NetworkMode::Allowlist(entries) => Some(NetAllow {
            list: interlock_netproxy::AllowList::parse(entries)?,
            sink: net_sink.clone(),
        }),
        _ => None,
    };
    Ok(Executor {
        net_sink,
        backend: Arc::new(SandboxBackend {
            plan: plan.clone(),
            helper,
            name,
            net,
        }),
        sandboxed: true,
        warnings,
        plan: Some(plan),
        _tmp: tmp,
    })
}

/// Refuses a system directory as the writable workspace unless the user said
/// `--dangerously-allow-system-workspace`. Read-only mode changes nothing, so it
/// is allowed anywhere; so is a project inside the user's own home, wherever
/// that home is (service accounts live in `/var/lib/NAME`).
pub fn check_workspace(settings: &Settings, home: &Path) -> Result<(), ExecutorError> {
    let in_own_home = home.parent().is_some()
        && settings.workspace.starts_with(home)
        && settings.workspace != home;
    if settings.sandbox == SandboxSetting::WorkspaceWrite
        && !settings.dangerously_allow_system_workspace
        && !in_own_home
        && interlock_sandbox::is_system_directory(&settings.workspace)
    {
        return Err(ExecutorError::SystemWorkspace(settings.workspace.clone()));
    }
    Ok(())
}

/// Starts every interpreter through the sandbox helper.
pub struct SandboxBackend {
    plan: Plan,
    helper: PathBuf,
    name: String,
    net: Option<NetAllow>,
}

/// The allowlist of a sandbox with `--allow-net`, and where its proxy's events go.
struct NetAllow {
    list: interlock_netproxy::AllowList,
    sink: NetSink,
}

/// How long a launched sandbox has to hand over its proxy listener.
const PROXY_HANDOVER: std::time::Duration = std::time::Duration::from_secs(60);

impl SandboxBackend {
    pub fn new(plan: Plan, helper: PathBuf, name: String) -> SandboxBackend {
        SandboxBackend {
            plan,
            helper,
            name,
            net: None,
        }
    }

    /// The helper command for a sandbox whose only way out is a proxy served here: a channel
    /// for its listener, a thread that receives it and serves the proxy for the sandbox's life.
    fn command_with_proxy(
        &self,
        net: &NetAllow,
        spec: &LaunchSpec,
    ) -> std::io::Result<std::process::Command> {
        // The kernels' spawn closes every inherited fd above 4, so the sandbox connects to a
        // unix socket in a directory private to this user instead.
        let dir = tempfile::Builder::new()
            .prefix("interlock-net-")
            .tempdir()?;
        let (chan, path) = interlock_sandbox::proxy_rendezvous(dir.path())?;
        let mut plan = self.plan.clone();
        let Some(p) = plan.proxy.as_mut() else {
            return Err(std::io::Error::other("allowlist without a proxy plan"));
        };
        p.socket = Some(path);
        let port = p.port;
        let mut cmd = interlock_sandbox::command(
            &plan,
            &spec.program,
            &spec.args,
            &spec.env,
            &spec.cwd,
            &self.helper,
        );
        for (k, v) in interlock_sandbox::proxy_env(port) {
            cmd.env(k, v);
        }
        let sink = net
            .sink
            .lock()
            .map(|s| s.clone())
            .map_err(|_| std::io::Error::other("network event sink poisoned"))?;
        let proxy =
            interlock_netproxy::Proxy::new(net.list.clone(), interlock_netproxy::Caps::default())
                .on_event(sink);
        std::thread::Builder::new()
            .name("interlock-netproxy-handover".into())
            .spawn(move || {
                // The sandbox connects as soon as it has its network namespace; one that
                // failed before that never does.
                let ready = chan.wait(PROXY_HANDOVER);
                let received = if ready { chan.receive().ok() } else { None };
                drop(dir);
                if let Some(listener) = received
                    && let Ok(handle) = proxy.spawn(listener)
                {
                    // The proxy serves as long as the session's sandbox may run; the listener
                    // keeps the sandbox's namespace, so it never reports the end by itself.
                    std::mem::forget(handle);
                }
            })?;
        Ok(cmd)
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }
}

impl Backend for SandboxBackend {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn command(&self, spec: &LaunchSpec) -> std::io::Result<std::process::Command> {
        if let Some(net) = &self.net {
            return self.command_with_proxy(net, spec);
        }
        Ok(interlock_sandbox::command(
            &self.plan,
            &spec.program,
            &spec.args,
            &spec.env,
            &spec.cwd,
            &self.helper,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EnvLayer, Overrides};
    use std::ffi::OsStr;

    fn settings(sandbox: SandboxSetting, consent: bool) -> Settings {
        let mut s = Settings::resolve(
            &Overrides::default(),
            &EnvLayer::default(),
            None,
            &std::env::temp_dir(),
        )
        .unwrap();
        s.sandbox = sandbox;
        s.dangerously_disable_sandbox = consent;
        s
    }

    #[test]
    fn allow_net_turns_the_proxy_on_unless_the_network_is_full() {
        let mut s = settings(SandboxSetting::WorkspaceWrite, false);
        s.allow_net = vec!["pypi".into(), "*.example.org".into()];
        let p = policy(&s, Path::new("/home/u"), &[], OsStr::new("")).unwrap();
        assert_eq!(
            p.network,
            NetworkMode::Allowlist(vec!["pypi".into(), "*.example.org".into()])
        );
        s.network = NetworkSetting::Full;
        let p = policy(&s, Path::new("/home/u"), &[], OsStr::new("")).unwrap();
        assert_eq!(p.network, NetworkMode::Full);
    }

    #[test]
    fn off_requires_consent() {
        let s = settings(SandboxSetting::Off, false);
        assert!(matches!(
            choose(
                &s,
                Path::new("/home/u"),
                &[],
                OsStr::new(""),
                &Support::full()
            ),
            Err(ExecutorError::OffWithoutConsent)
        ));
        let s = settings(SandboxSetting::Off, true);
        let e = choose(
            &s,
            Path::new("/home/u"),
            &[],
            OsStr::new(""),
            &Support::full(),
        )
        .unwrap();
        assert!(!e.sandboxed);
        assert!(e.warnings[0].contains("OFF"));
    }

    #[test]
    fn consent_alone_does_not_turn_the_sandbox_off() {
        let s = settings(SandboxSetting::WorkspaceWrite, true);
        let e = choose(
            &s,
            Path::new("/home/u"),
            &[],
            OsStr::new(""),
            &Support::full(),
        )
        .unwrap();
        assert!(e.sandboxed);
    }

    #[test]
    fn no_userns_and_no_landlock_refuses_to_run_code() {
        let s = settings(SandboxSetting::WorkspaceWrite, false);
        let mut support = Support::full().without_user_namespaces("test");
        support.landlock_abi = 0;
        match choose(&s, Path::new("/home/u"), &[], OsStr::new(""), &support) {
            Err(ExecutorError::Unsupported(m)) => assert!(!m.is_empty()),
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("must refuse"),
        }
    }

    #[test]
    fn full_network_is_planned_and_warned_about() {
        let mut s = settings(SandboxSetting::WorkspaceWrite, false);
        let e = choose(
            &s,
            Path::new("/home/u"),
            &[],
            OsStr::new(""),
            &Support::full(),
        )
        .unwrap();
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
        assert!(
            e.backend.name().ends_with("no network)"),
            "{}",
            e.backend.name()
        );
        s.network = NetworkSetting::Full;
        let p = policy(&s, Path::new("/home/u"), &[], OsStr::new("")).unwrap();
        assert_eq!(p.network, NetworkMode::Full);
        let e = choose(
            &s,
            Path::new("/home/u"),
            &[],
            OsStr::new(""),
            &Support::full(),
        )
        .unwrap();
        assert!(
            e.warnings.iter().any(|w| w.contains("--network full")),
            "{:?}",
            e.warnings
        );
        assert!(
            e.backend.name().ends_with("full network)"),
            "{}",
            e.backend.name()
        );
        let plan = e.plan.unwrap();
        assert!(!plan.namespaces.contains(&interlock_sandbox::Namespace::Net));
    }

    #[test]
    fn fallback_is_announced() {
        let s = settings(SandboxSetting::WorkspaceWrite, false);
        let support = Support::full().without_user_namespaces("test");
        let e = choose(&s, Path::new("/home/u"), &[], OsStr::new(""), &support).unwrap();
        assert!(e.sandboxed);
        assert!(
            e.warnings.iter().any(|w| w.contains("weaker")),
            "{:?}",
            e.warnings
        );
        assert!(e.backend.name().contains("Landlock + seccomp only"));
    }

    #[test]
    fn policy_hides_interlock_dirs_and_user_paths_and_applies_limits() {
        let mut s = settings(SandboxSetting::ReadOnly, false);
        s.hide = vec![PathBuf::from("/srv/secret")];
        s.limits.processes = Some(7);
        let p = policy(
            &s,
            Path::new("/home/u"),
            &[PathBuf::from("/home/u/.il")],
            OsStr::new(""),
        )
        .unwrap();
        assert!(p.hidden_paths.contains(&PathBuf::from("/home/u/.ssh")));
        assert!(p.hidden_paths.contains(&PathBuf::from("/home/u/.il")));
        assert!(p.hidden_paths.contains(&PathBuf::from("/srv/secret")));
        assert!(
            p.writable_roots.is_empty(),
            "read-only mode writes nothing on the host"
        );
        assert_eq!(p.limits.processes, Some(7));
        assert_eq!(p.limits.open_files, Limits::default().open_files);
    }

    #[test]
    fn homes_show_only_toolchains_and_read_paths() {
        let mut s = settings(SandboxSetting::WorkspaceWrite, false);
        s.read = vec![PathBuf::from("/home/u/.gitconfig")];
        let p = policy(
            &s,
            Path::new("/home/u"),
            &[],
            OsStr::new("/home/u/.cargo/bin:/usr/bin"),
        )
        .unwrap();
        assert_eq!(
            p.denied_roots,
            vec![PathBuf::from("/home"), PathBuf::from("/root")]
        );
        for r in ["/home/u/.cargo", "/home/u/.rustup", "/home/u/.gitconfig"] {
            assert!(p.readable_roots.contains(&PathBuf::from(r)), "{r}");
        }
        assert!(
            p.visible_because
                .iter()
                .any(|(p, why)| p == Path::new("/home/u/.gitconfig") && why == "--read")
        );
    }

    #[test]
    fn a_system_directory_is_no_writable_workspace_without_the_dangerous_flag() {
        let mut s = settings(SandboxSetting::WorkspaceWrite, false);
        for w in ["/", "/etc", "/usr/local/bin"] {
            s.workspace = PathBuf::from(w);
            match choose(
                &s,
                Path::new("/home/u"),
                &[],
                OsStr::new(""),
                &Support::full(),
            ) {
                Err(ExecutorError::SystemWorkspace(p)) => assert_eq!(p, Path::new(w)),
                Err(e) => panic!("wrong error: {e}"),
                Ok(_) => panic!("{w} must be refused"),
            }
        }
        s.dangerously_allow_system_workspace = true;
        assert!(
            choose(
                &s,
                Path::new("/home/u"),
                &[],
                OsStr::new(""),
                &Support::full()
            )
            .is_ok()
        );
        // A project in a service account's home under /var/lib is no system directory.
        s.dangerously_allow_system_workspace = false;
        s.workspace = PathBuf::from("/var/lib/jenkins/workspace/job");
        assert!(
            choose(
                &s,
                Path::new("/var/lib/jenkins"),
                &[],
                OsStr::new(""),
                &Support::full()
            )
            .is_ok()
        );
        assert!(matches!(
            choose(
                &s,
                Path::new("/home/u"),
                &[],
                OsStr::new(""),
                &Support::full()
            ),
            Err(ExecutorError::SystemWorkspace(_))
        ));
        s.workspace = PathBuf::from("/etc");
        s.sandbox = SandboxSetting::ReadOnly;
        assert!(
            choose(
                &s,
                Path::new("/home/u"),
                &[],
                OsStr::new(""),
                &Support::full()
            )
            .is_ok()
        );
    }
}

//! Warm round trips through a kernel running *inside* the sandbox, and the
//! cost of starting a sandbox: `cargo bench -p interlock-sandbox --bench sandboxed_roundtrip`.
//! Plain std timing (this is a bench, not a test); prints median and p90.

use interlock_kernels::{
    Backend, CancellationToken, ExecStatus, KernelConfig, Kernels, Language, LaunchSpec,
    OutputStream,
};
use interlock_sandbox::{Plan, Policy, SandboxMode};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const N: usize = 300;

struct Sandboxed {
    plan: Plan,
    helper: PathBuf,
}

impl Backend for Sandboxed {
    fn name(&self) -> String {
        "sandbox".into()
    }
    fn command(&self, spec: &LaunchSpec) -> std::io::Result<std::process::Command> {
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

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let n = times.len();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{label:<34} n={n} median {:.3} ms  p90 {:.3} ms",
        ms(times[n / 2]),
        ms(times[n * 9 / 10])
    );
}

fn main() {
    let ws = tempfile::tempdir().expect("workspace");
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let policy = Policy::for_workspace(SandboxMode::WorkspaceWrite, ws.path(), &home, &[], &[]);
    let support = interlock_sandbox::probe();
    let plan = interlock_sandbox::plan(&policy, &support).expect("plan");
    let helper = PathBuf::from(env!("CARGO_BIN_EXE_interlock-sandbox-exec"));

    // Cold: one whole sandbox per command.
    let mut cold = Vec::with_capacity(100);
    for _ in 0..100 {
        let start = Instant::now();
        let status = interlock_sandbox::command(
            &plan,
            std::path::Path::new("/bin/true"),
            &[],
            &[("PATH".into(), "/usr/bin:/bin".into())],
            ws.path(),
            &helper,
        )
        .status()
        .expect("spawn");
        cold.push(start.elapsed());
        assert!(status.success());
    }
    report("sandboxed /bin/true (cold)", cold);

    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async {
        let mut kernels = Kernels::new(
            KernelConfig {
                workspace: ws.path().to_path_buf(),
                ..KernelConfig::default()
            },
            Arc::new(Sandboxed {
                plan: plan.clone(),
                helper: helper.clone(),
            }),
        );
        let cancel = CancellationToken::new();
        let available = Kernels::available();
        for (language, code) in [
            (Language::Python, "print(1)"),
            (Language::Shell, "echo hi"),
            (Language::Javascript, "console.log(1)"),
        ] {
            if !available.contains(&language) {
                continue;
            }
            let mut sink = |_: OutputStream, _: &[u8]| {};
            for _ in 0..20 {
                kernels
                    .run(language, code, &cancel, &mut sink)
                    .await
                    .expect("run");
            }
            let mut times = Vec::with_capacity(N);
            for _ in 0..N {
                let start = Instant::now();
                let out = kernels
                    .run(language, code, &cancel, &mut sink)
                    .await
                    .expect("run");
                times.push(start.elapsed());
                assert_eq!(out.status, ExecStatus::Ok, "{out:?}");
            }
            report(&format!("sandboxed warm {language} {code}"), times);
        }
        kernels.shutdown().await;
    });
}

//! Sessions start lazily, restart on request, and never leave orphan processes.
mod common;
use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

async fn background_pid(k: &mut Kernels, language: Language) -> i32 {
    let block = match language {
        Language::Python => "import subprocess; print(subprocess.Popen(['sleep', '1000']).pid)",
        Language::Shell => "sleep 1000 & echo $!",
        Language::Javascript => {
            "console.log(require('child_process').spawn('sleep', ['1000']).pid)"
        }
    };
    let ran = run(k, language, block).await;
    let pid: i32 = ran.text().trim().parse().expect("pid");
    assert!(alive(pid));
    pid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_kernels_kills_background_processes() {
    for language in Language::ALL {
        if !have(language) {
            continue;
        }
        let (mut k, _dir) = kernels();
        let pid = background_pid(&mut k, language).await;
        drop(k);
        assert!(gone(pid).await, "{language}: sleep {pid} survived the drop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_and_restart_kill_background_processes() {
    if !have(Language::Python) || !have(Language::Shell) {
        return;
    }
    let (mut k, _dir) = kernels();
    let py = background_pid(&mut k, Language::Python).await;
    let sh = background_pid(&mut k, Language::Shell).await;
    k.restart(Language::Shell);
    assert!(gone(sh).await, "restart left sleep {sh} running");
    assert!(alive(py), "restart(shell) must not touch python");
    k.shutdown().await;
    assert!(gone(py).await, "shutdown left sleep {py} running");
    // Kernels stays usable after shutdown: sessions start again lazily.
    assert_eq!(run(&mut k, Language::Python, "1 + 1").await.text(), "2\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_and_reset_drop_state() {
    if !have(Language::Python) || !have(Language::Shell) {
        return;
    }
    let (mut k, _dir) = kernels();
    run(&mut k, Language::Python, "x = 1").await;
    run(&mut k, Language::Shell, "x=1").await;
    k.restart(Language::Python);
    assert_eq!(
        run(&mut k, Language::Python, "'x' in globals()")
            .await
            .text(),
        "False\n"
    );
    assert_eq!(
        run(&mut k, Language::Shell, "echo \"x=$x\"").await.text(),
        "x=1\n"
    );
    k.reset_all();
    assert_eq!(
        run(&mut k, Language::Shell, "echo \"x=$x\"").await.text(),
        "x=\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_actionable() {
    let (mut k, _dir) = kernels_with(|c| c.workspace = "/nonexistent/interlock-ws".into());
    let mut sink = |_: OutputStream, _: &[u8]| {};
    let err = k
        .run(
            Language::Shell,
            "true",
            &CancellationToken::new(),
            &mut sink,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, KernelError::Spawn { .. }), "{err:?}");
    assert!(
        err.to_string().contains("/nonexistent/interlock-ws"),
        "{err}"
    );
    let err = k
        .run(
            Language::Shell,
            "echo a\0b",
            &CancellationToken::new(),
            &mut sink,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, KernelError::NulInCode));
    let missing = KernelError::InterpreterNotFound {
        language: Language::Python,
        program: "python3".into(),
    };
    assert!(
        missing
            .to_string()
            .contains("`python3` was not found on PATH")
    );
}

/// Every process goes through the backend seam.
struct CountingBackend(AtomicUsize);

impl Backend for CountingBackend {
    fn name(&self) -> String {
        "counting".into()
    }
    fn command(&self, spec: &LaunchSpec) -> std::io::Result<std::process::Command> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let mut cmd = DirectBackend.command(spec)?;
        cmd.env("VIA_BACKEND", "1");
        Ok(cmd)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_start_lazily_through_the_backend() {
    if !have(Language::Shell) {
        return;
    }
    let backend = Arc::new(CountingBackend(AtomicUsize::new(0)));
    let dir = tempfile::tempdir().unwrap();
    let config = KernelConfig {
        workspace: dir.path().into(),
        ..KernelConfig::default()
    };
    let mut k = Kernels::new(config, backend.clone());
    assert_eq!(
        backend.0.load(Ordering::SeqCst),
        0,
        "no session before the first run"
    );
    for _ in 0..3 {
        assert_eq!(
            run(&mut k, Language::Shell, "echo $VIA_BACKEND")
                .await
                .text(),
            "1\n"
        );
    }
    assert_eq!(
        backend.0.load(Ordering::SeqCst),
        1,
        "one warm session reused"
    );
    assert_eq!(DirectBackend.name(), "direct (no sandbox)");
}

/// The core crate holds `Kernels` across awaits and may spawn runs on other threads.
#[test]
fn kernels_and_runs_are_send() {
    fn send<T: Send>(_: &T) {}
    fn send_sync<T: Send + Sync>() {}
    send_sync::<RunOutcome>();
    send_sync::<KernelError>();
    let (mut k, _dir) = kernels();
    send(&k);
    let cancel = CancellationToken::new();
    let mut sink = |_: OutputStream, _: &[u8]| {};
    let fut = k.run(Language::Shell, "true", &cancel, &mut sink);
    send(&fut);
}

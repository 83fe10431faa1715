//! Timeouts and cancellation: SIGINT first, then kill the process group.
mod common;
use common::*;
use std::time::Duration;

fn quick(c: &mut KernelConfig) {
    c.timeout = Duration::from_secs(1);
    c.interrupt_grace = Duration::from_millis(1500);
}

/// A timeout always ends the session (whatever the control channel says), after SIGINT
/// has shown where the code was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_busy_loop_times_out_and_restarts() {
    if !have(Language::Python) {
        return;
    }
    let (mut k, _dir) = kernels_with(quick);
    run(&mut k, Language::Python, "x = 41").await;
    let ran = run(&mut k, Language::Python, "while True: pass").await;
    assert_eq!(ran.status(), ExecStatus::TimedOut, "{ran:?}");
    assert!(ran.note().contains("timed out after 1 s"), "{}", ran.note());
    assert!(
        ran.note().contains("earlier state is gone"),
        "{}",
        ran.note()
    );
    assert!(ran.stderr().contains("KeyboardInterrupt"));
    let ran = run(&mut k, Language::Python, "'x' in globals()").await;
    assert_eq!(ran.text(), "False\n");
    assert_eq!(ran.outcome.note, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_ignoring_sigint_is_killed_and_restarted() {
    if !have(Language::Python) {
        return;
    }
    let (mut k, _dir) = kernels_with(|c| {
        c.timeout = Duration::from_secs(1);
        c.interrupt_grace = Duration::from_millis(500);
    });
    run(&mut k, Language::Python, "x = 1").await;
    let ran = run(
        &mut k,
        Language::Python,
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nprint('looping', flush=True)\nwhile True: pass",
    )
    .await;
    assert_eq!(ran.status(), ExecStatus::TimedOut, "{ran:?}");
    assert!(ran.text().contains("looping"));
    assert!(ran.note().contains("killed"), "{}", ran.note());
    assert!(
        ran.note().contains("earlier state is gone"),
        "{}",
        ran.note()
    );
    let ran = run(&mut k, Language::Python, "print('fresh'); 'x' in globals()").await;
    assert_eq!(ran.status(), ExecStatus::Ok);
    assert_eq!(ran.text(), "fresh\nFalse\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_sleep_times_out() {
    if !have(Language::Shell) {
        return;
    }
    let (mut k, _dir) = kernels_with(quick);
    run(&mut k, Language::Shell, "v=kept").await;
    let ran = run(&mut k, Language::Shell, "echo start; sleep 100; echo never").await;
    assert_eq!(ran.status(), ExecStatus::TimedOut, "{ran:?}");
    assert!(ran.text().starts_with("start\n"));
    assert!(ran.note().contains("timed out after 1 s"));
    // bash is interrupted best-effort: either the state survived or the note says so.
    let ran2 = run(&mut k, Language::Shell, "echo \"v=$v\"").await;
    if ran.note().contains("kept") {
        assert_eq!(ran2.text(), "v=kept\n");
    } else {
        assert!(
            ran.note().contains("earlier state is gone"),
            "{}",
            ran.note()
        );
        assert_eq!(ran2.text(), "v=\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_builtin_loop_is_killed() {
    if !have(Language::Shell) {
        return;
    }
    let (mut k, _dir) = kernels_with(|c| {
        c.timeout = Duration::from_secs(1);
        c.interrupt_grace = Duration::from_millis(300);
    });
    let ran = run(&mut k, Language::Shell, "while :; do :; done").await;
    assert_eq!(ran.status(), ExecStatus::TimedOut, "{ran:?}");
    assert_eq!(run(&mut k, Language::Shell, "echo ok").await.text(), "ok\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_busy_loop_times_out_and_restarts() {
    if !have(Language::Javascript) {
        return;
    }
    let (mut k, _dir) = kernels_with(quick);
    run(&mut k, Language::Javascript, "var kept = 7").await;
    let ran = run(&mut k, Language::Javascript, "while (true) {}").await;
    assert_eq!(ran.status(), ExecStatus::TimedOut, "{ran:?}");
    assert!(
        ran.note().contains("earlier state is gone"),
        "{}",
        ran.note()
    );
    assert_eq!(
        run(&mut k, Language::Javascript, "typeof kept")
            .await
            .text(),
        "'undefined'\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_pending_promise_times_out_and_restarts() {
    if !have(Language::Javascript) {
        return;
    }
    let (mut k, _dir) = kernels_with(quick);
    run(&mut k, Language::Javascript, "var kept = 7").await;
    let ran = run(
        &mut k,
        Language::Javascript,
        "new Promise((r) => setTimeout(() => { console.log('stale'); r(1); }, 1800))",
    )
    .await;
    assert_eq!(ran.status(), ExecStatus::TimedOut, "{ran:?}");
    assert!(
        ran.note().contains("earlier state is gone"),
        "{}",
        ran.note()
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // The abandoned promise's output does not show up as this block's result.
    assert_eq!(
        run(&mut k, Language::Javascript, "typeof kept")
            .await
            .text(),
        "'undefined'\n"
    );
}

async fn cancel_after(language: Language, setup: &str, block: &str, check: &str, want: &str) {
    if !have(language) {
        return;
    }
    let (mut k, _dir) = kernels();
    run(&mut k, language, setup).await;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        trigger.cancel();
    });
    let ran = run_with(&mut k, language, block, &cancel).await;
    assert_eq!(ran.status(), ExecStatus::Interrupted, "{language}: {ran:?}");
    assert!(ran.note().contains("kept"), "{language}: {}", ran.note());
    assert_eq!(
        run(&mut k, language, check).await.text(),
        want,
        "{language}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_interrupts_and_keeps_state() {
    cancel_after(
        Language::Python,
        "x = 5",
        "import time; time.sleep(100)",
        "x",
        "5\n",
    )
    .await;
    cancel_after(Language::Shell, "x=5", "sleep 100", "echo $x", "5\n").await;
    cancel_after(
        Language::Javascript,
        "var x = 5",
        "while (true) {}",
        "x",
        "5\n",
    )
    .await;
    cancel_after(
        Language::Javascript,
        "var y = 6",
        "new Promise(() => {})",
        "y",
        "6\n",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn already_cancelled_token_runs_nothing() {
    if !have(Language::Python) {
        return;
    }
    let (mut k, dir) = kernels();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let ran = run_with(&mut k, Language::Python, "open('ran', 'w')", &cancel).await;
    assert_eq!(ran.status(), ExecStatus::Interrupted);
    assert!(!dir.path().join("ran").exists());
}

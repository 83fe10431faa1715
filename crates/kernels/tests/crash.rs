//! A dying interpreter is reported as Crashed and replaced by a fresh session.
mod common;
use common::*;
use std::time::Duration;

async fn crash(
    language: Language,
    setup: &str,
    block: &str,
    exit_code: Option<i32>,
    cause: &str,
    check: &str,
    want: &str,
) {
    if !have(language) {
        return;
    }
    let (mut k, _dir) = kernels();
    run(&mut k, language, setup).await;
    let ran = run(&mut k, language, block).await;
    assert_eq!(ran.status(), ExecStatus::Crashed, "{language}: {ran:?}");
    assert_eq!(ran.outcome.exit_code, exit_code, "{language}");
    assert!(
        ran.text().contains("before"),
        "{language}: output lost: {ran:?}"
    );
    let note = ran.note();
    assert!(note.contains(cause), "{language}: {note}");
    assert!(
        note.contains("fresh session and earlier state is gone"),
        "{note}"
    );
    // The next block transparently gets a fresh session without the old state.
    let ran = run(&mut k, language, check).await;
    assert_eq!(ran.status(), ExecStatus::Ok, "{language}: {ran:?}");
    assert_eq!(ran.text(), want, "{language}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_os_exit_crashes() {
    crash(
        Language::Python,
        "x = 1",
        "import os; print('before', flush=True); os._exit(3)",
        Some(3),
        "the python session crashed (exit status 3)",
        "'x' in globals()",
        "False\n",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_kill_9_crashes() {
    crash(
        Language::Shell,
        "x=1",
        "echo before; kill -9 $$",
        None,
        "killed by SIGKILL",
        "echo \"x=$x\"",
        "x=\n",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_exit_ends_the_session() {
    crash(
        Language::Shell,
        "x=1",
        "echo before; exit 3",
        Some(3),
        "exit status 3",
        "echo \"x=$x\"",
        "x=\n",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_process_exit_crashes() {
    crash(
        Language::Javascript,
        "var x = 1",
        "console.log('before'); process.exit(1)",
        Some(1),
        "the javascript session crashed (exit status 1)",
        "typeof x",
        "'undefined'\n",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_dying_while_idle_is_noted_on_the_next_block() {
    if !have(Language::Python) {
        return;
    }
    let (mut k, _dir) = kernels();
    let ran = run(
        &mut k,
        Language::Python,
        "import os, threading, time\nthreading.Thread(target=lambda: (time.sleep(0.2), os._exit(5))).start()",
    )
    .await;
    assert_eq!(ran.status(), ExecStatus::Ok);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let ran = run(&mut k, Language::Python, "print('fresh')").await;
    assert_eq!(ran.status(), ExecStatus::Ok);
    assert_eq!(ran.text(), "fresh\n");
    assert!(
        ran.note().contains("had exited (exit status 5)"),
        "{}",
        ran.note()
    );
}

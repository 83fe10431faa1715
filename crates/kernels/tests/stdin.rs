//! Code never reads the terminal: stdin is /dev/null.
mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_input_raises_a_clear_eof_error() {
    if !have(Language::Python) {
        return;
    }
    let (mut k, _dir) = kernels();
    let ran = run(&mut k, Language::Python, "name = input('name? ')").await;
    assert_eq!(ran.status(), ExecStatus::Error);
    assert!(
        ran.stderr()
            .contains("EOFError: interlock: code cannot read input; stdin is not connected"),
        "{ran:?}"
    );
    let ran = run(&mut k, Language::Python, "import sys; sys.stdin.read()").await;
    assert_eq!(ran.text(), "''\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_read_gets_eof() {
    if !have(Language::Shell) {
        return;
    }
    let (mut k, _dir) = kernels();
    let ran = run(
        &mut k,
        Language::Shell,
        "read x; echo \"status=$? x=$x\"; cat; echo done",
    )
    .await;
    assert_eq!(ran.text(), "status=1 x=\ndone\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_stdin_is_empty() {
    if !have(Language::Javascript) {
        return;
    }
    let (mut k, _dir) = kernels();
    let ran = run(
        &mut k,
        Language::Javascript,
        "require('fs').readFileSync(0).length",
    )
    .await;
    assert_eq!(ran.text(), "0\n");
}

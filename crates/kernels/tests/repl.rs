//! REPL behaviour: state persists, the last expression is shown, errors are reported.
mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_behaves_like_the_repl() {
    if !have(Language::Python) {
        return;
    }
    let (mut k, dir) = kernels();
    let py = Language::Python;
    let ran = run(&mut k, py, "import math\nx = 40").await;
    assert_eq!((ran.status(), ran.text()), (ExecStatus::Ok, ""));
    assert_eq!(run(&mut k, py, "x + 2").await.text(), "42\n");
    assert_eq!(run(&mut k, py, "print('a')\nNone").await.text(), "a\n");
    assert_eq!(run(&mut k, py, "'s'").await.text(), "'s'\n");
    assert_eq!(run(&mut k, py, "round(math.pi, 2)").await.text(), "3.14\n");
    assert_eq!(
        run(&mut k, py, "def f(n):\n    return n * 2").await.text(),
        ""
    );
    assert_eq!(run(&mut k, py, "f(21)").await.text(), "42\n");
    let cwd = run(&mut k, py, "import os; os.getcwd()").await;
    let want = format!(
        "{:?}\n",
        dir.path().canonicalize().unwrap().display().to_string()
    );
    assert_eq!(cwd.text().replace('"', "'"), want.replace('"', "'"));

    // Exceptions: traceback on stderr, without the driver's frames.
    let ran = run(&mut k, py, "def g():\n    raise ValueError('bad')\ng()").await;
    assert_eq!(ran.status(), ExecStatus::Error);
    assert_eq!(ran.stdout(), "");
    let err = ran.stderr();
    assert!(
        err.starts_with("Traceback (most recent call last):\n"),
        "{err}"
    );
    assert!(err.contains("raise ValueError('bad')"), "{err}");
    assert!(err.ends_with("ValueError: bad\n"), "{err}");
    assert!(
        !err.contains("<string>") && !err.contains("_interlock"),
        "{err}"
    );

    let ran = run(&mut k, py, "x = (").await;
    assert_eq!(ran.status(), ExecStatus::Error);
    assert!(ran.stderr().contains("SyntaxError"), "{ran:?}");

    // sys.exit ends the block, not the session.
    let ran = run(&mut k, py, "import sys; sys.exit(4)").await;
    assert_eq!(
        (ran.status(), ran.outcome.exit_code),
        (ExecStatus::Error, Some(4))
    );
    let ran = run(&mut k, py, "import sys; sys.exit()").await;
    assert_eq!(
        (ran.status(), ran.outcome.exit_code),
        (ExecStatus::Ok, Some(0))
    );
    assert_eq!(run(&mut k, py, "x").await.text(), "40\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_behaves_like_the_repl() {
    if !have(Language::Javascript) {
        return;
    }
    let (mut k, dir) = kernels();
    let js = Language::Javascript;
    assert_eq!(run(&mut k, js, "let y = 2; y * 21").await.text(), "42\n");
    assert_eq!(run(&mut k, js, "y + 1").await.text(), "3\n");
    assert_eq!(
        run(&mut k, js, "function g() { return 'g' }").await.text(),
        ""
    );
    assert_eq!(run(&mut k, js, "g()").await.text(), "'g'\n");
    assert_eq!(run(&mut k, js, "undefined").await.text(), "");
    assert_eq!(
        run(&mut k, js, "({a: [1, 2]})").await.text(),
        "{ a: [ 1, 2 ] }\n"
    );
    assert_eq!(run(&mut k, js, "Promise.resolve(5)").await.text(), "5\n");
    let ran = run(
        &mut k,
        js,
        "(async () => { await new Promise((r) => setTimeout(r, 50)); return 'late' })()",
    )
    .await;
    assert_eq!(ran.text(), "'late'\n");
    let ran = run(
        &mut k,
        js,
        "const path = require('path'); path.basename(process.cwd())",
    )
    .await;
    let base = dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert_eq!(ran.text(), format!("'{base}'\n"));

    let ran = run(
        &mut k,
        js,
        "function boom() { throw new Error('boom') }\nboom()",
    )
    .await;
    assert_eq!(ran.status(), ExecStatus::Error);
    let err = ran.stderr();
    assert!(err.contains("Error: boom"), "{err}");
    assert!(err.contains("at boom"), "{err}");
    assert!(!err.contains("node:vm") && !err.contains("[eval]"), "{err}");
    let ran = run(&mut k, js, "Promise.reject(new Error('nope'))").await;
    assert_eq!(ran.status(), ExecStatus::Error);
    assert!(ran.stderr().contains("Error: nope"));
    let ran = run(&mut k, js, "throw 5").await;
    assert_eq!(ran.status(), ExecStatus::Error);
    assert!(ran.stderr().contains("Uncaught 5"));
    let ran = run(&mut k, js, "foo(").await;
    assert_eq!(ran.status(), ExecStatus::Error);
    assert!(ran.stderr().contains("SyntaxError"));
    assert_eq!(run(&mut k, js, "y").await.text(), "2\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_state_status_and_cwd_persist() {
    if !have(Language::Shell) {
        return;
    }
    let (mut k, dir) = kernels();
    let sh = Language::Shell;
    let root = dir.path().canonicalize().unwrap();
    assert_eq!(
        run(&mut k, sh, "pwd -P").await.text(),
        format!("{}\n", root.display())
    );
    let ran = run(
        &mut k,
        sh,
        "mkdir sub && cd sub; v=hello; f() { echo \"f:$1\"; }",
    )
    .await;
    assert_eq!(
        (ran.status(), ran.outcome.exit_code),
        (ExecStatus::Ok, Some(0))
    );
    let ran = run(&mut k, sh, "pwd -P; echo $v; f x").await;
    assert_eq!(ran.text(), format!("{}/sub\nhello\nf:x\n", root.display()));

    let ran = run(&mut k, sh, "false").await;
    assert_eq!(
        (ran.status(), ran.outcome.exit_code),
        (ExecStatus::Error, Some(1))
    );
    let ran = run(&mut k, sh, "echo out; (exit 7)").await;
    assert_eq!(
        (ran.status(), ran.outcome.exit_code),
        (ExecStatus::Error, Some(7))
    );
    assert_eq!(ran.text(), "out\n");
    let ran = run(&mut k, sh, "if then").await;
    assert_eq!(ran.status(), ExecStatus::Error);
    assert!(ran.stderr().contains("syntax error"), "{ran:?}");
    assert_eq!(run(&mut k, sh, "echo $v").await.text(), "hello\n");
}

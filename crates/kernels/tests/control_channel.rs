//! The end of a run is signalled on the control channel, never by output.
mod common;
use common::*;

const FAKES: &[&str] = &[
    "__INTERLOCK_DONE__",
    "00000000000000000000000000000000 ok 0",
    "deadbeefdeadbeefdeadbeefdeadbeef done 0",
    "{\"type\":\"done\",\"status\":\"ok\"}",
    "END_OF_OUTPUT",
    "%%DONE%%",
];

fn fake_lines() -> String {
    FAKES.iter().map(|f| format!("\n{f}\n")).collect()
}

async fn check(language: Language, block: &str, next: &str, next_expected: &str) {
    if !have(language) {
        return;
    }
    let (mut k, _dir) = kernels();
    let ran = run(&mut k, language, block).await;
    assert_eq!(ran.status(), ExecStatus::Ok, "{ran:?}");
    assert!(ran.text().contains("after-sleep"), "ended early: {ran:?}");
    for fake in FAKES {
        assert!(ran.stdout().contains(fake), "stdout lost a line: {ran:?}");
        assert!(ran.stderr().contains(fake), "stderr lost a line: {ran:?}");
    }
    let ran = run(&mut k, language, next).await;
    assert_eq!(
        ran.text(),
        next_expected,
        "output leaked into the next block"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_fake_markers_do_not_end_the_run() {
    let fakes = fake_lines();
    let block = format!(
        r#"import os, sys, stat, time
fakes = {fakes:?}
print(fakes, flush=True)
print(fakes, file=sys.stderr, flush=True)
# Even writing fake replies straight into every pipe the process holds must not count.
for name in os.listdir('/proc/self/fd'):
    fd = int(name)
    try:
        if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, fakes.encode())
    except OSError:
        pass
time.sleep(0.3)
print('after-sleep')
sys.stdout.write('trailing without newline')"#
    );
    check(Language::Python, &block, "print('next')", "next\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_fake_markers_do_not_end_the_run() {
    let fakes = fake_lines();
    let block = format!(
        "fakes='{fakes}'\nprintf '%s' \"$fakes\"\nprintf '%s' \"$fakes\" >&2\n\
         printf '%s' \"$fakes\" >&4 2>/dev/null\nprintf '%s' \"$fakes\" >&3 2>/dev/null\n\
         sleep 0.3\necho after-sleep\nprintf 'trailing without newline'"
    );
    check(Language::Shell, &block, "echo next", "next\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_fake_markers_do_not_end_the_run() {
    let fakes = fake_lines();
    let block = format!(
        r#"const fakes = {fakes:?};
process.stdout.write(fakes);
process.stderr.write(fakes);
// Writing into the pipes it holds must not count either (writing into the control socket
// is tampering: see takeover.rs).
for (const fd of [3, 4]) {{ try {{ if (require('fs').fstatSync(fd).isFIFO()) require('fs').writeSync(fd, fakes); }} catch {{}} }}
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
console.log('after-sleep');
process.stdout.write('trailing without newline');"#
    );
    check(
        Language::Javascript,
        &block,
        "console.log('next')",
        "next\n",
    )
    .await;
}

/// Output written just before the block ends (more than a pipe holds) is all captured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_output_is_neither_lost_nor_leaked() {
    let cases = [
        (
            Language::Python,
            "print('x' * 300000); print('LAST')",
            "print('next')",
        ),
        (
            Language::Shell,
            "head -c 300000 /dev/zero | tr '\\0' x; echo; echo LAST",
            "echo next",
        ),
        (
            Language::Javascript,
            "console.log('x'.repeat(300000)); console.log('LAST')",
            "console.log('next')",
        ),
    ];
    for (language, block, next) in cases {
        if !have(language) {
            continue;
        }
        let (mut k, _dir) = kernels();
        for _ in 0..3 {
            let ran = run(&mut k, language, block).await;
            assert_eq!(ran.outcome.output.total_bytes, 300006, "{language}");
            assert!(ran.text().ends_with("x\nLAST\n"), "{language}");
            let ran = run(&mut k, language, next).await;
            assert_eq!(ran.text(), "next\n", "{language}");
        }
    }
}

/// Processes started by the code see only stdin, stdout and stderr: never the control
/// pipes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_pipes_are_not_inherited_by_child_processes() {
    // `ls` lists its own descriptors: inherited ones plus the directory it reads.
    let probe = "exec ls -l /proc/self/fd";
    let cases = [
        (
            Language::Python,
            format!("import subprocess; _ = subprocess.run(['sh', '-c', {probe:?}])"),
        ),
        (Language::Shell, format!("sh -c '{probe}'")),
        (
            Language::Javascript,
            format!(
                "require('child_process').execFileSync('sh', ['-c', {probe:?}], {{stdio: 'inherit'}}); undefined"
            ),
        ),
    ];
    for (language, block) in cases {
        if !have(language) {
            continue;
        }
        let (mut k, _dir) = kernels();
        let ran = run(&mut k, language, &block).await;
        // stdout and stderr are pipes; the control pipe and socket must not be there.
        let pipes = ran.text().lines().filter(|l| l.contains("pipe:")).count();
        assert_eq!(pipes, 2, "{language}: {}", ran.text());
        assert!(
            !ran.text().contains("socket:"),
            "{language}: {}",
            ran.text()
        );
        assert!(ran.text().contains("/dev/null"), "stdin: {}", ran.text());
    }
}

//! stdout/stderr capture: interleaving, binary data, huge output.
mod common;
use common::*;

async fn interleaving(language: Language, block: &str) {
    if !have(language) {
        return;
    }
    let (mut k, _dir) = kernels();
    let ran = run(&mut k, language, block).await;
    assert_eq!(ran.status(), ExecStatus::Ok, "{ran:?}");
    assert_eq!(ran.text(), "out0\nerr0\nout1\nerr1\nout2\nerr2\n");
    assert_eq!(ran.stdout(), "out0\nout1\nout2\n");
    assert_eq!(ran.stderr(), "err0\nerr1\nerr2\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_interleaves_stdout_and_stderr() {
    interleaving(
        Language::Python,
        "import sys, time\nfor i in range(3):\n    print(f'out{i}')\n    time.sleep(0.05)\n    print(f'err{i}', file=sys.stderr)\n    time.sleep(0.05)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_interleaves_stdout_and_stderr() {
    interleaving(
        Language::Shell,
        "for i in 0 1 2; do echo out$i; sleep 0.05; echo err$i >&2; sleep 0.05; done",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_interleaves_stdout_and_stderr() {
    interleaving(
        Language::Javascript,
        "const nap = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);\n\
         for (let i = 0; i < 3; i++) { console.log('out' + i); nap(50); console.error('err' + i); nap(50); }\n\
         undefined",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_output_is_passed_through_and_captured_lossily() {
    let all: Vec<u8> = (0..=255u8).collect();
    let cases = [
        (
            Language::Python,
            "import sys; _ = sys.stdout.buffer.write(bytes(range(256)))",
        ),
        (
            Language::Shell,
            "python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' 2>/dev/null || \
             node -e 'process.stdout.write(Buffer.from([...Array(256).keys()]))'",
        ),
        (
            Language::Javascript,
            "process.stdout.write(Buffer.from([...Array(256).keys()])); undefined",
        ),
    ];
    for (language, block) in cases {
        if !have(language) {
            continue;
        }
        let (mut k, _dir) = kernels();
        let ran = run(&mut k, language, block).await;
        assert_eq!(ran.status(), ExecStatus::Ok, "{language}: {ran:?}");
        assert_eq!(ran.bytes(OutputStream::Stdout), all, "{language}");
        assert_eq!(ran.outcome.output.total_bytes, 256);
        assert!(ran.text().contains('\u{FFFD}'));
        // The session is unharmed.
        let probe = match language {
            Language::Python => "print('ok')",
            Language::Shell => "echo ok",
            Language::Javascript => "console.log('ok')",
        };
        assert_eq!(run(&mut k, language, probe).await.text(), "ok\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_output_is_capped_without_blocking_the_child() {
    const CAP: usize = 64 << 10;
    let cases = [
        (
            Language::Python,
            "import sys\nsys.stdout.write('HEAD')\nfor _ in range(50):\n    sys.stdout.write('a' * 1_000_000)\n_ = sys.stdout.write('TAIL')",
        ),
        (
            Language::Shell,
            "printf HEAD; head -c 50000000 /dev/zero | tr '\\0' a; printf TAIL",
        ),
        (
            Language::Javascript,
            "process.stdout.write('HEAD'); for (let i = 0; i < 50; i++) process.stdout.write('a'.repeat(1000000)); process.stdout.write('TAIL'); undefined",
        ),
    ];
    for (language, block) in cases {
        if !have(language) {
            continue;
        }
        let (mut k, _dir) = kernels_with(|c| c.output_cap = CAP);
        let ran = run(&mut k, language, block).await;
        assert_eq!(
            ran.status(),
            ExecStatus::Ok,
            "{language}: {:?}",
            ran.outcome.note
        );
        let out = &ran.outcome.output;
        assert_eq!(out.total_bytes, 50_000_008, "{language}");
        assert!(out.truncated);
        assert!(out.text.starts_with("HEADaaa"), "{language}");
        assert!(out.text.ends_with("aaaTAIL"), "{language}");
        assert!(
            out.text.contains("\n[... 49.9 MB cut ...]\n"),
            "{language}: {}",
            &out.text[CAP / 2 - 10..CAP / 2 + 40]
        );
        assert!(out.text.len() <= CAP + 64);
        // Forwarding stops at 10x the cap, with exactly one notice.
        let forwarded = ran.bytes(OutputStream::Stdout).len();
        assert_eq!(forwarded, 10 * CAP, "{language}");
        let notices = ran
            .chunks
            .iter()
            .filter(|(s, _)| *s == OutputStream::Stderr)
            .count();
        assert_eq!(notices, 1, "{language}");
        assert!(ran.stderr().contains("not shown"));
    }
}

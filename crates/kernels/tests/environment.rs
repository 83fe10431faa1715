//! Interpreters get an allowlisted environment: secrets never reach code.
//! One test per binary: it changes the process environment before any thread starts.
mod common;
use common::*;

#[test]
fn secrets_are_not_passed_to_code() {
    // SAFETY: this is the only test in this binary and it runs before any other thread
    // (the tokio runtime is built below), so nothing reads the environment concurrently.
    unsafe {
        std::env::set_var("OPENAI_API_KEY", "sk-test-should-never-leak");
        std::env::set_var("FOO_TOKEN", "tok-should-never-leak");
        std::env::set_var("LC_SECRET_TOKEN", "lc-should-never-leak");
        std::env::set_var("AWS_ACCESS_KEY_ID", "aws-should-never-leak");
        std::env::set_var("LC_TIME", "C");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (mut k, _dir) = kernels_with(|c| c.extra_env = vec![("EXTRA_OK".into(), "yes".into())]);
        let cases = [
            (Language::Python, "import os; print(dict(os.environ))"),
            (Language::Shell, "env"),
            (
                Language::Javascript,
                "console.log(JSON.stringify(process.env))",
            ),
        ];
        for (language, block) in cases {
            if !have(language) {
                continue;
            }
            let ran = run(&mut k, language, block).await;
            let text = ran.text();
            assert_eq!(ran.status(), ExecStatus::Ok);
            for leak in [
                "should-never-leak",
                "OPENAI_API_KEY",
                "FOO_TOKEN",
                "LC_SECRET_TOKEN",
                "AWS_",
            ] {
                assert!(!text.contains(leak), "{language} saw {leak}: {text}");
            }
            for needed in ["PATH", "EXTRA_OK", "LC_TIME"] {
                assert!(text.contains(needed), "{language} lacks {needed}: {text}");
            }
            if language == Language::Python {
                assert!(text.contains("'MPLBACKEND': 'Agg'"), "{text}");
            }
        }
    });
}

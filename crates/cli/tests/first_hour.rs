//! The first hour of a new user (issue 17): README examples that load, no
//! panics on a closed pipe, a readable `sandbox --explain`, `exec` output
//! split between stdout and stderr, clear connection errors, and wording.

mod common;

use common::*;
use std::path::PathBuf;

fn readme() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The bodies of every fenced block in `text` whose info string is `lang`.
fn fenced_blocks(text: &str, lang: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        match current.as_mut() {
            None if trimmed.starts_with("```") && trimmed[3..].trim() == lang => {
                current = Some(String::new());
            }
            Some(_) if trimmed.starts_with("```") => blocks.push(current.take().unwrap()),
            Some(body) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    assert!(
        current.is_none(),
        "unterminated ```{lang} block in README.md"
    );
    blocks
}

#[test]
fn every_toml_block_in_the_readme_loads_with_the_real_config_loader() {
    let blocks = fenced_blocks(&readme(), "toml");
    assert!(!blocks.is_empty(), "README.md has no ```toml block");
    for (i, block) in blocks.iter().enumerate() {
        let env = Env::new();
        let file = env.dir.path().join(format!("readme-{i}.toml"));
        write(&file, block);
        let mut c = env.cmd("http://127.0.0.1:9/v1");
        c.arg("--config").arg(&file).args(["config", "show"]);
        let out = run(c);
        assert_eq!(
            code(&out),
            0,
            "README.md ```toml block {i} does not load:\n{block}\nstderr: {}",
            stderr(&out)
        );
    }
}

/// Runs `args` with stdout a pipe its reader closes: before the program starts
/// (`closed_first`) or after one line, as `| head -1` does. Returns stderr.
fn into_closed_pipe(
    env: &Env,
    args: &[&str],
    stdin: Option<&std::path::Path>,
    closed_first: bool,
) -> String {
    use std::io::{BufRead, Read};
    use std::process::Stdio;
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(args)
        .env("RUST_BACKTRACE", "1")
        .stderr(Stdio::piped());
    if let Some(path) = stdin {
        c.stdin(std::fs::File::open(path).unwrap());
    }
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    c.stdout(Stdio::from(w));
    let mut reader = if closed_first {
        drop(r);
        None
    } else {
        Some(std::io::BufReader::new(std::fs::File::from(r)))
    };
    let mut child = c.spawn().unwrap();
    // The parent's copy of the write end is gone with `c`.
    drop(c);
    if let Some(reader) = reader.as_mut() {
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
    }
    drop(reader);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_ne!(
        status.code(),
        Some(101),
        "`interlock {}` panicked: {err}",
        args.join(" ")
    );
    err
}

#[test]
fn no_subcommand_panics_when_its_reader_goes_away() {
    let env = Env::new();
    let script = env.dir.path().join("small.py");
    write(&script, "print(1)\n");
    let text = env.dir.path().join("input.txt");
    write(&text, "line one\nline two\nline three\n");
    let mut cases: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec!["--version"],
        vec!["completions", "bash"],
        vec!["completions", "zsh"],
        vec!["completions", "fish"],
        vec!["man"],
        vec!["sandbox", "--explain"],
        vec!["check", script.to_str().unwrap()],
        vec!["config", "show"],
        vec!["config", "path"],
        vec!["history"],
        vec!["audit", "show"],
        vec!["auth", "status"],
    ];
    for sub in [
        "exec",
        "sandbox",
        "check",
        "redact",
        "auth",
        "audit",
        "history",
        "config",
        "completions",
        "man",
    ] {
        cases.push(vec![sub, "--help"]);
    }
    for sub in [
        "auth set",
        "auth remove",
        "auth status",
        "audit verify",
        "audit show",
        "audit export",
        "config show",
        "config path",
    ] {
        let mut v: Vec<&str> = sub.split(' ').collect();
        v.push("--help");
        cases.push(v);
    }
    for closed_first in [true, false] {
        for args in &cases {
            let err = into_closed_pipe(&env, args, None, closed_first);
            assert!(
                !err.contains("panicked") && !err.contains("backtrace"),
                "`interlock {}` into a closed pipe: {err}",
                args.join(" ")
            );
        }
        let err = into_closed_pipe(&env, &["redact"], Some(&text), closed_first);
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "`interlock redact` into a closed pipe: {err}"
        );
    }
}

#[test]
fn sandbox_explain_is_a_grouped_wrapped_report_without_debug_structures() {
    let env = Env::new();
    let home = env.dir.path().join("home");
    let gitconfig = home.join(".gitconfig");
    write(&gitconfig, "[user]\n");
    let extra = env.dir.path().join("extra-secret");
    write(&extra, "x");
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.arg("--read")
        .arg(&gitconfig)
        .arg("--hide")
        .arg(&extra)
        .args(["--limit-memory", "2G", "sandbox", "--explain"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    // Grouped: each topic has a heading line of its own, in this order.
    let headings: Vec<&str> = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(' '))
        .collect();
    for h in [
        "Kernel",
        "Isolation",
        "Files",
        "Network",
        "Limits",
        "Timeout",
        "Seccomp",
    ] {
        assert!(
            headings.contains(&h),
            "no {h:?} heading in {headings:?}:\n{text}"
        );
    }
    // Wrapped: long lists are one path per line or continued lines.
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "line of {} chars: {line}",
            line.chars().count()
        );
    }
    // Paths one per line: each hidden path stands alone on its line.
    assert!(
        text.lines()
            .any(|l| l.trim() == extra.display().to_string()),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.trim() == format!("{}/.ssh", home.display())),
        "{text}"
    );
    // What shows through a home directory says why.
    assert!(
        text.contains(&format!("{} (--read)", gitconfig.display())),
        "{text}"
    );
    // Plain words and human sizes, no Rust Debug output.
    for debug in [
        "WorkspaceWrite",
        "Tmpfs {",
        "Some(",
        "None",
        "Limits {",
        "Rlimit {",
        "CgroupPlan",
        "[User",
    ] {
        assert!(!text.contains(debug), "Debug output {debug:?} in:\n{text}");
    }
    for words in [
        "mode: workspace-write",
        "memory: 2 GiB per process",
        "largest file written: 4 GiB",
        "at most 1 GiB",
        "network namespace",
    ] {
        assert!(text.contains(words), "{words:?} missing from:\n{text}");
    }
}

/// `interlock exec … > out.txt` with `tool_mode`: the file holds the answer.
fn exec_into_file(tool_mode: &str, script: Vec<interlock_testkit::Reply>) -> (String, String) {
    let env = Env::new();
    let srv = interlock_testkit::ScriptedServer::start_background(script);
    let file = env.dir.path().join("out.txt");
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--auto-run",
        "--tool-mode",
        tool_mode,
        "what is 41+1",
    ])
    .stdout(std::fs::File::create(&file).unwrap());
    let out = run(c);
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    (std::fs::read_to_string(&file).unwrap(), stderr(&out))
}

#[test]
fn exec_writes_only_the_final_answer_to_stdout() {
    use interlock_testkit::Reply;
    let (answer, progress) = exec_into_file(
        "tools",
        vec![
            Reply::tool_call_stream("call_1", "python", "print('progress-' + 'marker')"),
            Reply::text_stream("The answer is 42."),
        ],
    );
    assert_eq!(answer.trim(), "The answer is 42.", "stdout: {answer:?}");
    // Banner, code, its output and the status went to stderr.
    for shown in ["model ", "python", "progress-marker", "done"] {
        assert!(
            progress.contains(shown),
            "{shown:?} not on stderr: {progress}"
        );
    }

    // In markdown mode the text around the code is a step, not the answer.
    let (answer, progress) = exec_into_file(
        "markdown",
        vec![
            Reply::text_stream("Let me compute it.\n```python\nprint(41 + 1)\n```\n"),
            Reply::text_stream("It is 42."),
        ],
    );
    assert_eq!(answer.trim(), "It is 42.", "stdout: {answer:?}");
    assert!(progress.contains("Let me compute it."), "{progress}");
}

#[test]
fn a_refused_connection_gets_one_clear_message_with_what_to_do() {
    let env = Env::new();
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}/v1");
    let mut c = env.cmd(&base);
    c.args(["exec", "hi"]);
    let out = run(c);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let err = stderr(&out);
    for words in [
        format!("127.0.0.1:{port}"),
        "no server is running there".to_string(),
        "--local".to_string(),
        "--api-base".to_string(),
    ] {
        assert!(err.contains(&words), "{words:?} missing from: {err}");
    }
    assert!(!err.contains("tcp connect error"), "{err}");
    assert!(
        !err.contains("retry"),
        "a refused connection is not retried: {err}"
    );
}

#[test]
fn without_a_key_for_openai_nothing_is_sent_and_the_first_run_screen_says_what_to_do() {
    let env = Env::new();
    let mut c = env.cmd("https://api.openai.com/v1");
    c.args(["exec", "hi"]);
    let out = run(c);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    for words in [
        "no API key",
        "export OPENAI_API_KEY=",
        "ollama serve",
        "interlock --local",
        "--api-base",
    ] {
        assert!(err.contains(words), "{words:?} missing from: {err}");
    }
    assert!(
        !err.contains("network error") && !err.contains("retry"),
        "{err}"
    );
}

#[test]
fn a_block_that_ran_for_seconds_says_so_in_seconds() {
    use interlock_testkit::Reply;
    // The block sleeps past one second, so its status is in seconds.
    let (_, progress) = exec_into_file(
        "tools",
        vec![
            Reply::tool_call_stream(
                "c1",
                "python",
                "import time\ntime.sleep(1.2)\nprint('slept')",
            ),
            Reply::text_stream("ok"),
        ],
    );
    let line = progress
        .lines()
        .find(|l| l.contains("done in "))
        .unwrap_or_else(|| panic!("no status line: {progress}"));
    let amount = line.split("done in ").nth(1).unwrap();
    assert!(amount.ends_with(" s") && !amount.ends_with(" ms"), "{line}");
    let number = amount.trim_end_matches(" s");
    assert!(
        number.parse::<f64>().is_ok_and(|n| n >= 1.0) && number.contains('.'),
        "{line}"
    );
}

#[test]
fn what_local_found_is_a_note_not_a_warning() {
    let env = Env::new();
    // LM Studio's port; skipped when something else already uses it.
    let srv = match interlock_testkit::BackgroundServer::start(
        vec![interlock_testkit::Reply::text_stream("local hello")],
        interlock_testkit::ServerOptions {
            port: 1234,
            ..Default::default()
        },
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skipping: port 1234 is busy ({e})");
            return;
        }
    };
    let mut c = std::process::Command::new(bin());
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.dir.path().join("home"))
        .env("INTERLOCK_HOME", env.home())
        .arg("--workspace")
        .arg(env.ws())
        .args(["exec", "--local", "hi"])
        .stdin(std::process::Stdio::null());
    let out = run(c);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("--local: using"))
        .unwrap_or_else(|| panic!("nothing says what --local found: {err}"));
    assert!(line.starts_with("note: "), "{line}");
    assert!(!err.contains("warning: --local"), "{err}");
    drop(srv);
}

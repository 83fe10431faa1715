//! The first hour at the terminal, continued (issue 17): markdown as a
//! person reads it, NO_COLOR, slash commands. Driven in tmux against the
//! scripted server, as a person would use it.

mod common;

use common::*;
use interlock_testkit::{Reply, ScriptedServer};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, command: &str) -> Tmux {
        let socket = format!("interlock-ux-{}-{name}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "100",
                "-y",
                "50",
                "-s",
                "t",
                command,
            ])
            .status()
            .expect("tmux runs");
        assert!(status.success());
        Tmux { socket }
    }

    /// The screen and scrollback, lines the terminal wrapped joined; with
    /// `escapes`, the colours and attributes of every cell as escape
    /// sequences too.
    fn capture(&self, escapes: bool) -> String {
        self.capture_with(if escapes { &["-J", "-e"] } else { &["-J"] })
    }

    /// The screen as it looks: lines the terminal wrapped stay apart.
    fn rows(&self) -> String {
        self.capture_with(&[])
    }

    fn capture_with(&self, extra: &[&str]) -> String {
        let mut args = vec![
            "-L",
            &self.socket,
            "capture-pane",
            "-p",
            "-t",
            "t",
            "-S",
            "-500",
        ];
        args.extend_from_slice(extra);
        let out = Command::new("tmux")
            .args(&args)
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.capture(false)
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["-L", &self.socket, "send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        assert!(Command::new("tmux").args(&args).status().unwrap().success());
    }

    /// Waits until the screen contains `text` (a generous bound that only
    /// keeps a broken build from hanging, not a timing assertion).
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {text:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn count(&self, text: &str) -> usize {
        self.screen().matches(text).count()
    }

    /// Answers the question on the screen with `key` as a person does:
    /// after it has been shown for a moment (keys that arrive while it is
    /// drawn are ignored by design, and it then says so: press again).
    fn answer(&self, key: &str, echo: &str) {
        let shown = format!("(default: no): {echo}");
        let before = self.count(&shown);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ignored = self.count(IGNORED);
            // Longer than the question's guard interval (approve.rs).
            std::thread::sleep(Duration::from_millis(600));
            self.keys(&[key]);
            loop {
                std::thread::sleep(Duration::from_millis(100));
                if self.count(&shown) > before {
                    return;
                }
                if self.count(IGNORED) > ignored {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the answer {key:?} was not taken; screen:\n{}",
                    self.screen()
                );
            }
        }
    }

    /// Waits until `text` is on the screen at least `n` times.
    fn wait_for_count(&self, text: &str, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.screen();
            if s.matches(text).count() >= n {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {n} × {text:?}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the last non-empty line is the bare chat prompt.
    fn wait_for_prompt(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.screen();
            if s.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::trim_end)
                == Some(">")
            {
                return;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for the prompt; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// What a question says when it ignored keys typed before it was shown.
const IGNORED: &str = "ignored keys typed before this question";

/// The chat in a clean environment; `extra_env` adds variables such as
/// `NO_COLOR=1`.
fn chat_command(env: &Env, base: &str, extra_env: &str, extra_args: &str) -> String {
    format!(
        "env -i PATH={path} HOME={home} INTERLOCK_HOME={il} TERM=xterm-256color LANG=C.UTF-8 {extra_env} {bin} --api-base {base} --workspace {ws} {extra_args}",
        path = std::env::var("PATH").unwrap(),
        home = env.dir.path().join("home").display(),
        il = env.home().display(),
        bin = env!("CARGO_BIN_EXE_interlock"),
        ws = env.ws().display(),
    )
}

fn skip() -> bool {
    if !have("tmux") {
        eprintln!("skipping: tmux is not installed");
        return true;
    }
    false
}

const MARKDOWN_REPLY: &str = "# Results\n\nThe **answer** is in `out.txt`, see [the docs](https://example.com/docs).\n\n| file | lines |\n|---|---:|\n| a.txt | 3 |\n| b.txt | 120 |\n\n> a quoted line\n";

/// SGR sequences other than a plain reset.
fn colour_escapes(s: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("\x1b[") {
        let tail = &rest[i + 2..];
        let end = tail
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(tail.len());
        let seq = &tail[..end];
        if tail[end..].starts_with('m') && !seq.is_empty() && seq != "0" && seq != "39" {
            found.push(seq.to_string());
        }
        rest = &tail[end.min(tail.len())..];
    }
    found
}

#[test]
fn no_color_turns_off_every_colour_including_the_prompt() {
    if skip() {
        return;
    }
    let env = Env::new();
    for (extra, want_colour) in [("", true), ("NO_COLOR=1", false)] {
        let srv = ScriptedServer::start_background(vec![Reply::text_stream(MARKDOWN_REPLY)]);
        let t = Tmux::start(
            if want_colour { "colour" } else { "nocolour" },
            &chat_command(&env, &srv.base_url(), extra, ""),
        );
        t.wait_for_prompt();
        t.keys(&["show me", "Enter"]);
        t.wait_for("a quoted line");
        t.wait_for_prompt();
        // The prompt line being typed on: the editor paints it too.
        t.keys(&["typed"]);
        t.wait_for("> typed");
        let s = t.capture(true);
        let found = colour_escapes(&s);
        if want_colour {
            assert!(!found.is_empty(), "colour is on without NO_COLOR:\n{s}");
        } else {
            assert!(found.is_empty(), "colour with NO_COLOR: {found:?}\n{s}");
        }
    }
}

#[test]
fn markdown_is_rendered_without_its_syntax() {
    if skip() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![Reply::text_stream(MARKDOWN_REPLY)]);
    let t = Tmux::start("render", &chat_command(&env, &srv.base_url(), "", ""));
    t.wait_for_prompt();
    t.keys(&["show me", "Enter"]);
    t.wait_for("a quoted line");
    let s = t.screen();
    let reply = &s[s.find("Results").expect("the heading")..];
    assert!(
        !reply.contains("# Results") && !reply.contains("**"),
        "{reply}"
    );
    assert!(
        reply.contains("the docs (https://example.com/docs)"),
        "{reply}"
    );
    assert!(
        reply.contains("file   lines\n─────  ─────\na.txt      3"),
        "{reply}"
    );
    assert!(reply.contains("b.txt    120"), "{reply}");
    assert!(!reply.contains('|'), "no raw pipes: {reply}");
    assert!(reply.contains("│ a quoted line"), "{reply}");
    assert!(!reply.contains("> a quoted"), "{reply}");
}

#[test]
fn long_prose_wraps_between_words_at_the_terminal_width() {
    if skip() {
        return;
    }
    let env = Env::new();
    let words: Vec<String> = (0..60).map(|i| format!("word{i:02}")).collect();
    let srv = ScriptedServer::start_background(vec![Reply::text_stream(&words.join(" "))]);
    let t = Tmux::start("wrap", &chat_command(&env, &srv.base_url(), "", ""));
    t.wait_for_prompt();
    t.keys(&["talk", "Enter"]);
    t.wait_for("word59");
    let s = t.rows();
    for w in &words {
        assert!(s.contains(w.as_str()), "{w} was broken across lines:\n{s}");
    }
}

#[test]
fn in_markdown_mode_the_code_is_shown_once_under_its_risk() {
    if skip() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::text_stream(
            "Deleting the cache:\n```python\nimport shutil\nshutil.rmtree('/tmp/cache-' + name)\n```\n",
        ),
        Reply::text_stream("Not run, fine."),
    ]);
    let t = Tmux::start(
        "once",
        &chat_command(&env, &srv.base_url(), "NO_COLOR=1", "--tool-mode markdown"),
    );
    t.wait_for_prompt();
    t.keys(&["clean the cache", "Enter"]);
    let s = t.wait_for("Run this code?");
    let code = "shutil.rmtree('/tmp/cache-' + name)";
    assert_eq!(s.matches(code).count(), 1, "shown once:\n{s}");
    let risk = s.rfind("risk: ").expect("a risk line");
    let at = s.find(code).unwrap();
    let question = s.rfind("Run this code?").unwrap();
    assert!(risk < at && at < question, "{s}");
    assert!(
        s.contains("[python code: shown below with its risk, before it runs]"),
        "{s}"
    );
}

fn git(ws: &std::path::Path, args: &[&str]) {
    let st = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(ws)
        .output()
        .expect("git runs");
    assert!(st.status.success(), "git {args:?}: {st:?}");
}

#[test]
fn diff_shows_workspace_changes_without_running_the_repositorys_programs() {
    if skip() || !have("git") {
        return;
    }
    let env = Env::new();
    let ws = env.ws();
    git(&ws, &["init", "-q"]);
    write(&ws.join("notes.txt"), "one\n");
    git(&ws, &["add", "notes.txt"]);
    git(&ws, &["commit", "-qm", "start"]);
    // What code in the sandbox could write: a filter driver and an
    // fsmonitor hook in the repository's config. /diff runs git on the
    // host, so neither may run.
    let marker = env.dir.path().join("ran");
    let script = env.dir.path().join("hook.sh");
    write(
        &script,
        &format!("#!/bin/sh\necho ran >> {}\ncat\n", marker.display()),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = ws.join(".git/config");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[filter \"tidy\"]\n\tclean = {s}\n\tsmudge = {s}\n[core]\n\tfsmonitor = {s}\n",
        s = script.display()
    ));
    write(&config, &text);
    write(&ws.join(".gitattributes"), "* filter=tidy\n");
    write(&ws.join("notes.txt"), "one\ntwo from the model\n");
    write(&ws.join("made.txt"), "new\n");

    let srv = ScriptedServer::start_background(vec![Reply::text_stream("SENT TO THE MODEL")]);
    let t = Tmux::start(
        "diff",
        &chat_command(&env, &srv.base_url(), "NO_COLOR=1", ""),
    );
    t.wait_for_prompt();
    t.keys(&["/diff", "Enter"]);
    let s = t.wait_for("new files git does not track yet");
    assert!(s.contains("+two from the model"), "{s}");
    assert!(s.contains("  made.txt"), "{s}");
    assert!(
        !marker.exists(),
        "/diff ran a program the repository names:\n{s}"
    );
    t.wait_for_prompt();
    t.keys(&["/clear", "Enter"]);
    t.wait_for("new conversation");
    t.wait_for_prompt();
    t.keys(&["/help", "Enter"]);
    t.wait_for("/diff");
    t.wait_for_prompt();
    // Typed out of habit from other tools: answered here, never sent.
    t.keys(&["/model other-model", "Enter"]);
    t.wait_for("the model is now other-model");
    assert!(
        srv.chat_requests().is_empty(),
        "a command reached the model"
    );
}

#[test]
fn diff_outside_git_lists_what_changed_since_the_conversation_started() {
    if skip() {
        return;
    }
    let env = Env::new();
    let ws = env.ws();
    write(&ws.join("before.txt"), "x");
    let srv = ScriptedServer::start_background(vec![]);
    let t = Tmux::start(
        "diffplain",
        &chat_command(&env, &srv.base_url(), "NO_COLOR=1", ""),
    );
    t.wait_for_prompt();
    write(&ws.join("after.txt"), "hello");
    std::fs::remove_file(ws.join("before.txt")).unwrap();
    t.keys(&["/diff", "Enter"]);
    let s = t.wait_for("removed  before.txt");
    assert!(s.contains("added    after.txt (5 bytes)"), "{s}");
}

#[test]
fn always_allow_this_command_covers_that_command_and_nothing_chained_to_it() {
    if skip() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "shell", "echo ux-rule first"),
        Reply::tool_call_stream("c2", "shell", "echo ux-rule first second"),
        Reply::tool_call_stream("c3", "shell", "echo ux-rule first; echo CHAINED"),
        Reply::text_stream("All done."),
    ]);
    let t = Tmux::start(
        "rule",
        &chat_command(&env, &srv.base_url(), "NO_COLOR=1", ""),
    );
    t.wait_for_prompt();
    t.keys(&["echo things", "Enter"]);
    t.wait_for("[c]ommand: always allow");
    // `c`, then no to the confirmation: asked again, no rule yet.
    t.answer("c", "always this command");
    t.wait_for("Allow `echo ux-rule first`, alone or with more words");
    t.answer("n", "no");
    t.wait_for_count("Run this code?", 2);
    t.answer("c", "always this command");
    t.wait_for_count("Allow `echo ux-rule first`", 2);
    t.answer("y", "yes");
    // The same command with one more word runs without a question.
    t.wait_for("runs without asking: it starts with");
    // Something chained to it is asked about.
    t.wait_for_count("Run this code?", 3);
    t.answer("n", "no");
    let s = t.wait_for("All done.");
    assert!(s.contains("ux-rule first second"), "{s}");
    assert_eq!(t.count("Run this code?"), 3, "{s}");
    assert!(!s.contains("\nCHAINED"), "the chained command ran:\n{s}");
}

/// The ids `interlock history --json` lists, newest first.
fn history_ids(env: &Env, base: &str) -> Vec<String> {
    let mut c = env.cmd(base);
    c.args(["history", "--json"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Where a conversation's file is, found by its name anywhere under
/// interlock's home.
fn history_file(env: &Env, id: &str) -> Option<std::path::PathBuf> {
    let mut stack = vec![env.home()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().and_then(|n| n.to_str()) == Some(&format!("{id}.jsonl")) {
                return Some(p);
            }
        }
    }
    None
}

fn audit_ok_and_records(env: &Env, base: &str) -> String {
    let mut c = env.cmd(base);
    c.args(["audit", "verify"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "audit verify: {}", stderr(&out));
    let mut c = env.cmd(base);
    c.args(["audit", "export"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn make_old(path: &std::path::Path, days: u64) {
    let past = std::time::SystemTime::now() - Duration::from_secs(days * 86_400);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(past)
        .unwrap();
}

#[test]
fn history_delete_by_id_age_and_all_leaves_a_record_not_the_content() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::text_stream("one"),
        Reply::text_stream("two"),
        Reply::text_stream("three"),
    ]);
    let base = srv.base_url();
    for word in ["alpha-secret", "bravo-secret", "charlie-secret"] {
        let mut c = env.cmd(&base);
        c.args(["exec", &format!("remember {word}")]);
        let out = run(c);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        std::thread::sleep(Duration::from_millis(1100));
    }
    let ids = history_ids(&env, &base);
    assert_eq!(ids.len(), 3, "{ids:?}");

    // One by id.
    let mut c = env.cmd(&base);
    c.args(["history", "delete", &ids[0]]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(history_file(&env, &ids[0]).is_none());
    assert_eq!(history_ids(&env, &base), ids[1..].to_vec());
    // An unknown id (or a path) is an error that deletes nothing.
    for bad in ["no-such-id", "../config"] {
        let mut c = env.cmd(&base);
        c.args(["history", "delete", bad]);
        let out = run(c);
        assert_eq!(code(&out), 2, "{bad}: {}", stderr(&out));
    }

    // By age: only the old one.
    make_old(&history_file(&env, &ids[2]).unwrap(), 40);
    let mut c = env.cmd(&base);
    c.args(["history", "delete", "--older-than", "30d"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(history_ids(&env, &base), vec![ids[1].clone()]);

    // All of them.
    let mut c = env.cmd(&base);
    c.args(["history", "delete", "--all"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(history_ids(&env, &base).is_empty());

    let records = audit_ok_and_records(&env, &base);
    let deletions: Vec<serde_json::Value> = records
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["type"] == "history_deleted")
        .collect();
    assert_eq!(deletions.len(), 3, "{records}");
    for (r, id) in deletions.iter().zip([&ids[0], &ids[2], &ids[1]]) {
        assert_eq!(r["payload"]["id"], id.as_str(), "{r}");
        assert!(!r.to_string().contains("-secret"), "{r}");
    }
}

#[test]
fn history_retention_deletes_old_conversations_at_start() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::text_stream("one"),
        Reply::text_stream("two"),
    ]);
    let base = srv.base_url();
    let mut c = env.cmd(&base);
    c.args(["exec", "an old conversation"]);
    assert_eq!(code(&run(c)), 0);
    let old = history_ids(&env, &base);
    make_old(&history_file(&env, &old[0]).unwrap(), 45);
    write(
        &env.home().join("config.toml"),
        "history_retention = \"30d\"\n",
    );
    std::thread::sleep(Duration::from_millis(1100));
    let mut c = env.cmd(&base);
    c.args(["exec", "a new one"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("deleted 1 conversation(s) not written to in 30d"),
        "{}",
        stderr(&out)
    );
    let now = history_ids(&env, &base);
    assert_eq!(now.len(), 1);
    assert_ne!(now[0], old[0]);
    let records = audit_ok_and_records(&env, &base);
    assert!(records.contains("\"history_deleted\""), "{records}");

    // A setting that is not an age is an error naming it.
    write(
        &env.home().join("config.toml"),
        "history_retention = \"soon\"\n",
    );
    let mut c = env.cmd(&base);
    c.args(["exec", "x"]);
    let out = run(c);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("history_retention"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn forget_deletes_this_conversation_from_disk() {
    if skip() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![Reply::text_stream("noted the plan")]);
    let t = Tmux::start(
        "forget",
        &chat_command(&env, &srv.base_url(), "NO_COLOR=1", ""),
    );
    t.wait_for_prompt();
    t.keys(&["my private plan", "Enter"]);
    t.wait_for("noted the plan");
    let ids = history_ids(&env, &srv.base_url());
    assert_eq!(ids.len(), 1);
    t.wait_for_prompt();
    t.keys(&["/forget", "Enter"]);
    t.wait_for("deleted conversation");
    assert!(history_file(&env, &ids[0]).is_none(), "{}", t.screen());
    let left = history_ids(&env, &srv.base_url());
    assert!(!left.contains(&ids[0]), "{left:?}");
    let records = audit_ok_and_records(&env, &srv.base_url());
    assert!(records.contains("chat /forget"), "{records}");
}

#[test]
fn code_the_stream_left_for_a_proposal_that_never_came_is_still_shown() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![Reply::stream_error(
        "Here it is:\n```python\nprint('LEFT' + 'OVER')\n```\n",
        "the server fell over",
    )]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["--tool-mode", "markdown", "exec", "go"]);
    let out = run(c);
    let err = stderr(&out);
    assert!(err.contains("the server fell over"), "{err}");
    assert!(err.contains("python (not run)"), "{err}");
    assert!(err.contains("print('LEFT' + 'OVER')"), "{err}");
}

#[test]
fn slash_model_switches_the_model_for_the_next_turns_and_is_audited() {
    if skip() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::text_stream("first answer"),
        Reply::text_stream("second answer"),
    ]);
    let t = Tmux::start(
        "model",
        &chat_command(&env, &srv.base_url(), "NO_COLOR=1", "--model first-model"),
    );
    t.wait_for_prompt();
    t.keys(&["hello", "Enter"]);
    t.wait_for("first answer");
    t.wait_for_prompt();
    t.keys(&["/model second-model", "Enter"]);
    t.wait_for("the model is now second-model");
    t.wait_for_prompt();
    t.keys(&["again", "Enter"]);
    t.wait_for("second answer");
    let models: Vec<String> = srv
        .chat_requests()
        .iter()
        .map(|r| r.body["model"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(models, ["first-model", "second-model"], "{}", t.screen());
    // The switch never reached the model as a message.
    let last = &srv.chat_requests()[1];
    assert!(!last.body_text.contains("/model"), "{}", last.body_text);
    let records = audit_ok_and_records(&env, &srv.base_url());
    assert!(records.contains("model_changed"), "{records}");
}

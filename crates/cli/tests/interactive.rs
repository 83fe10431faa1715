//! The interactive chat under a real terminal (tmux): approving, declining,
//! editing, interrupting with Ctrl-C, magic commands, Ctrl-D.

mod common;

use common::*;
use interlock_testkit::{Reply, ScriptedServer};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, command: &str) -> Tmux {
        let socket = format!("interlock-test-{}-{name}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "160",
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

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "capture-pane",
                "-p",
                "-t",
                "t",
                "-S",
                "-500",
            ])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["-L", &self.socket, "send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        assert!(Command::new("tmux").args(&args).status().unwrap().success());
    }

    /// Waits until the screen contains `text` (generous bound: this is not a
    /// timing assertion, it only keeps a broken build from hanging CI).
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

    /// How often `text` is on the screen (scrollback included).
    fn count(&self, text: &str) -> usize {
        self.screen().matches(text).count()
    }

    /// Waits until `text` is on the screen at least `n` times.
    fn wait_for_count(&self, text: &str, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.screen();
            if s.matches(text).count() >= n {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {n} × {text:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Answers the question on the screen with `key` the way a person does:
    /// after it has been shown for a moment. Keys that arrive while a
    /// question is being drawn are ignored by design and the question then
    /// says so; on a loaded machine the key can still land that early, so it
    /// is pressed again until the question echoes `echo` (the word shown for
    /// the answer).
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
                if Instant::now() > deadline {
                    panic!(
                        "the answer {key:?} was not taken; screen:\n{}",
                        self.screen()
                    );
                }
            }
        }
    }

    fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["-L", &self.socket, "has-session", "-t", "t"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// What a question says when it ignored keys typed before it was shown
/// (crates/cli/src/approve.rs).
const IGNORED: &str = "ignored keys typed before this question";

fn chat_command(env: &Env, base: &str, extra_env: &str) -> String {
    format!(
        "env -i PATH={path} HOME={home} INTERLOCK_HOME={il} TERM=xterm-256color LANG=C.UTF-8 NO_COLOR=1 {extra_env} {bin} --api-base {base} --workspace {ws}",
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

#[test]
fn approve_runs_the_block_and_the_chat_continues() {
    if skip() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "python", "print(6 * 7)"),
        Reply::text_stream("It is **42**."),
    ]);
    let t = Tmux::start("approve", &chat_command(&env, &srv.base_url(), ""));
    t.wait_for_prompt();
    t.keys(&["what is six times seven", "Enter"]);
    t.wait_for("Run this code?");
    t.answer("y", "yes");
    let s = t.wait_for("It is **42**.");
    assert!(s.contains("\n42\n"), "{s}");
    assert!(s.contains("✓ done"), "{s}");
    t.keys(&["%tokens", "Enter"]);
    t.wait_for("tokens this conversation");
    t.keys(&["C-d"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while t.alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!t.alive(), "Ctrl-D quits");
}

#[test]
fn decline_with_feedback_tells_the_model_what_to_do_instead() {
    if skip() {
        return;
    }
    let env = Env::new();
    let marker = env.ws().join("created");
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "shell", &format!("touch {}", marker.display())),
        Reply::text_stream("Understood, using python instead."),
    ]);
    let t = Tmux::start("feedback", &chat_command(&env, &srv.base_url(), ""));
    t.wait_for_prompt();
    t.keys(&["make a file", "Enter"]);
    t.wait_for("Run this code?");
    t.answer("f", "no, with feedback");
    t.wait_for("Tell the model what to do instead:");
    std::thread::sleep(Duration::from_millis(600));
    t.keys(&["use python for this", "Enter"]);
    t.wait_for("Understood, using python instead.");
    assert!(!marker.exists());
    let reqs = srv.chat_requests();
    let last = reqs[1].body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["role"], "tool");
    let content = last["content"].as_str().unwrap();
    assert!(content.contains("declined"), "{content}");
    assert!(content.contains("use python for this"), "{content}");
}

#[test]
fn decline_does_not_run_and_tells_the_model() {
    if skip() {
        return;
    }
    let env = Env::new();
    let marker = env.ws().join("created");
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "shell", &format!("touch {}", marker.display())),
        Reply::text_stream("Understood, not creating it."),
    ]);
    let t = Tmux::start("decline", &chat_command(&env, &srv.base_url(), ""));
    t.wait_for_prompt();
    t.keys(&["make a file", "Enter"]);
    t.wait_for("Run this code?");
    t.answer("n", "no");
    t.wait_for("Understood, not creating it.");
    assert!(!marker.exists());
    let reqs = srv.chat_requests();
    let last = reqs[1].body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["role"], "tool");
    assert!(last["content"].as_str().unwrap().contains("declined"));
}

#[test]
fn an_edit_is_shown_asked_about_again_and_reported_to_the_model() {
    if skip() {
        return;
    }
    let env = Env::new();
    let editor = env.dir.path().join("editor.sh");
    write(&editor, "#!/bin/sh\nsed -i 's/6 \\* 7/6 * 8/' \"$1\"\n");
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "python", "print(6 * 7)"),
        Reply::text_stream("Edited result noted."),
    ]);
    let t = Tmux::start(
        "edit",
        &chat_command(
            &env,
            &srv.base_url(),
            &format!("EDITOR={}", editor.display()),
        ),
    );
    t.wait_for_prompt();
    t.keys(&["compute", "Enter"]);
    t.wait_for("Run this code?");
    t.answer("e", "edit");
    // The edit is shown with its own risk and asked about again; nothing ran yet.
    let s = t.wait_for_count("Run this code?", 2);
    assert!(s.contains("edited code"), "{s}");
    let after_edit = &s[s.find("edited code").unwrap()..];
    assert!(after_edit.contains("risk: "), "{s}");
    assert!(after_edit.contains("print(6 * 8)"), "{s}");
    assert!(
        !s.contains("\n48\n"),
        "the edit ran before a second yes:\n{s}"
    );
    assert_eq!(srv.chat_requests().len(), 1);
    t.answer("y", "yes");
    let s = t.wait_for("Edited result noted.");
    assert!(s.contains("\n48\n"), "{s}");
    let reqs = srv.chat_requests();
    let last = reqs[1].body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    let content = last["content"].as_str().unwrap();
    assert!(
        content.contains("this is what ran") && content.contains("print(6 * 8)"),
        "the model is told what ran: {content}"
    );
    assert!(content.contains("48"), "{content}");
    // The history records the code that ran, not only the model's proposal.
    let history = std::fs::read_dir(env.home().join("history"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(
        history.contains("this is what ran") && history.contains("print(6 * 8)"),
        "{history}"
    );
}

#[test]
fn an_edit_declined_at_the_second_question_does_not_run() {
    if skip() {
        return;
    }
    let env = Env::new();
    let marker = env.ws().join("edited-ran");
    let editor = env.dir.path().join("editor.sh");
    write(
        &editor,
        &format!(
            "#!/bin/sh\nprintf 'open(\"%s\", \"w\").write(\"x\")\\n' '{}' > \"$1\"\n",
            marker.display()
        ),
    );
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "python", "print(1)"),
        Reply::text_stream("Fine, nothing ran."),
    ]);
    let t = Tmux::start(
        "edit-no",
        &chat_command(
            &env,
            &srv.base_url(),
            &format!("EDITOR={}", editor.display()),
        ),
    );
    t.wait_for_prompt();
    t.keys(&["compute", "Enter"]);
    t.wait_for("Run this code?");
    t.answer("e", "edit");
    t.wait_for_count("Run this code?", 2);
    t.answer("n", "no");
    t.wait_for("Fine, nothing ran.");
    assert!(!marker.exists(), "a declined edit ran");
    let reqs = srv.chat_requests();
    let last = reqs[1].body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(
        last["content"].as_str().unwrap().contains("declined"),
        "{last}"
    );
}

#[test]
fn ctrl_c_interrupts_the_block_not_interlock() {
    if skip() || !Path::new("/usr/bin/env").exists() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream(
            "c1",
            "python",
            "import time\nprint('sleeping', flush=True)\ntime.sleep(600)",
        ),
        Reply::tool_call_stream("c2", "python", "print('still alive')"),
        Reply::text_stream("Done again."),
    ]);
    let t = Tmux::start("ctrlc", &chat_command(&env, &srv.base_url(), ""));
    t.wait_for_prompt();
    t.keys(&["sleep", "Enter"]);
    t.wait_for("Run this code?");
    t.answer("y", "yes");
    t.wait_for("sleeping");
    // Under heavy load the first keystroke can land before the terminal is
    // back in cooked mode; press again (a second Ctrl-C is harmless).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        t.keys(&["C-c"]);
        std::thread::sleep(Duration::from_millis(1500));
        if t.screen().contains("interrupted") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Ctrl-C never interrupted:\n{}",
            t.screen()
        );
    }
    // The chat goes on and the python session still works.
    t.keys(&["again", "Enter"]);
    t.wait_for("Run this code?");
    t.answer("y", "yes");
    t.wait_for("Done again.");
    assert!(t.screen().contains("still alive"));
    assert!(t.alive());
}

#[test]
fn magic_commands_save_load_undo_reset() {
    if skip() {
        return;
    }
    let env = Env::new();
    let saved = env.dir.path().join("conv.json");
    let srv = ScriptedServer::start_background(vec![
        Reply::text_stream("first reply"),
        Reply::text_stream("after undo"),
        Reply::text_stream("after load"),
    ]);
    let t = Tmux::start("magic", &chat_command(&env, &srv.base_url(), ""));
    t.wait_for_prompt();
    t.keys(&["%help", "Enter"]);
    t.wait_for("%save PATH");
    t.keys(&["remember apples", "Enter"]);
    t.wait_for("first reply");
    t.keys(&[&format!("%save {}", saved.display()), "Enter"]);
    t.wait_for("saved to");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(doc["messages"].as_array().unwrap().len(), 2);
    t.keys(&["%undo", "Enter"]);
    t.wait_for("removed the last message");
    t.keys(&["something else", "Enter"]);
    t.wait_for("after undo");
    // The undone message is not sent again.
    let msgs = srv.chat_requests()[1].body["messages"].clone();
    assert!(!msgs.to_string().contains("remember apples"), "{msgs}");
    t.keys(&["%reset", "Enter"]);
    t.wait_for("new conversation");
    t.keys(&[&format!("%load {}", saved.display()), "Enter"]);
    t.wait_for("loaded 2 messages");
    t.keys(&["%verbose", "Enter"]);
    t.wait_for("verbose: on");
    t.keys(&["and now?", "Enter"]);
    t.wait_for("after load");
    let msgs = srv.chat_requests()[2].body["messages"].clone();
    assert!(msgs.to_string().contains("remember apples"), "{msgs}");
    assert!(!msgs.to_string().contains("something else"), "{msgs}");
}

#[test]
fn sandbox_command_changes_the_policy_and_restarts_sessions() {
    if skip() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream(
            "c1",
            "python",
            "x = 5\nopen('a.txt', 'w').write('a')\nprint('WROTE-A')",
        ),
        Reply::text_stream("first done"),
        Reply::tool_call_stream(
            "c2",
            "python",
            // Markers are assembled at run time: the screen also shows the code.
            "try:\n    print('STILL', x)\nexcept NameError:\n    print('FRESH' + '-SESSION')\ntry:\n    open('b.txt', 'w').write('b')\n    print('WROTE-B')\nexcept OSError as e:\n    print('DENIED' + '-B', e.errno)",
        ),
        Reply::text_stream("second done"),
    ]);
    let t = Tmux::start("sandboxcmd", &chat_command(&env, &srv.base_url(), ""));
    t.wait_for_prompt();
    t.keys(&["%sandbox", "Enter"]);
    t.wait_for("workspace-write");
    t.keys(&["write a", "Enter"]);
    t.wait_for("Run this code?");
    t.answer("y", "yes");
    t.wait_for("first done");
    assert!(env.ws().join("a.txt").exists());
    t.keys(&["%sandbox off", "Enter"]);
    t.wait_for("cannot be turned off from the chat");
    t.keys(&["%sandbox read-only", "Enter"]);
    t.wait_for("sessions were restarted");
    t.keys(&["write b", "Enter"]);
    t.wait_for("Run this code?");
    t.answer("y", "yes");
    let s = t.wait_for("second done");
    assert!(s.contains("FRESH-SESSION"), "{s}");
    assert!(s.contains("DENIED-B"), "{s}");
    assert!(!env.ws().join("b.txt").exists());
}

#[test]
fn markdown_mode_shows_the_risk_above_the_code_it_asks_about() {
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
    let cmd = format!(
        "{} --tool-mode markdown",
        chat_command(&env, &srv.base_url(), "")
    );
    let t = Tmux::start("markdown", &cmd);
    t.wait_for_prompt();
    t.keys(&["clean the cache", "Enter"]);
    let s = t.wait_for("Run this code?");
    // The message streamed the code first; the approval block repeats it
    // under the risk and its findings, right above the question.
    let risk = s.rfind("risk: ").expect("a risk line");
    let question = s.rfind("Run this code?").unwrap();
    let code = s.rfind("shutil.rmtree('/tmp/cache-' + name)").unwrap();
    assert!(risk < code && code < question, "{s}");
    assert!(
        s[risk..code].contains("recursively deletes"),
        "a finding says what it does: {s}"
    );
    t.answer("n", "no");
    t.wait_for("Not run, fine.");
}

/// The red-team case of issue 13: a block prints a fake approval question,
/// the user answers it while the block still runs, and that key must not
/// answer the next real question (here: a second block that would create a
/// marker file).
#[test]
fn a_key_typed_before_the_question_does_not_answer_it() {
    if skip() {
        return;
    }
    let env = Env::new();
    let go = env.ws().join("go");
    let marker = env.ws().join("second-ran");
    // The fake question is assembled at run time so that the code shown
    // above the real question does not contain it.
    let first = format!(
        "import os, time\nprint('Run this ' + 'code? [y]es / [n]o / [e]dit / [a]lways this session (default: no): ', end='', flush=True)\nwhile not os.path.exists({go:?}):\n    time.sleep(0.05)\nprint()\nprint('first' + '-finished')",
        go = go.display().to_string()
    );
    let second = format!("touch {}", marker.display());
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_calls_stream(vec![("c1", "python", &first), ("c2", "shell", &second)]),
        Reply::text_stream("Turn over."),
    ]);
    let t = Tmux::start("typeahead", &chat_command(&env, &srv.base_url(), ""));
    t.wait_for_prompt();
    t.keys(&["two blocks", "Enter"]);
    t.wait_for("Run this code?");
    t.answer("y", "yes");
    // The fake question is on the screen; the user answers it while the
    // block still runs. The terminal echoes the key, so it is in the
    // terminal's input queue before the block is let go.
    t.wait_for_count("Run this code?", 2);
    t.keys(&["a"]);
    t.wait_for("(default: no): a");
    write(&go, "");
    t.wait_for("first-finished");
    let s = t.wait_for_count("Run this code?", 3);
    assert!(
        s.contains(IGNORED),
        "the question says it ignored the key:\n{s}"
    );
    // Give a wrongly taken key time to act before looking.
    std::thread::sleep(Duration::from_millis(1500));
    let s = t.screen();
    assert!(!s.contains("(default: no): always"), "{s}");
    assert!(!marker.exists(), "the typed-ahead key approved the block");
    t.answer("n", "no");
    t.wait_for("Turn over.");
    assert!(!marker.exists(), "the declined block ran");
}

/// `a` (run this and later blocks without asking) is confirmed by a second,
/// fresh answer; declining the confirmation goes back to the question.
#[test]
fn always_needs_a_confirmation() {
    if skip() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_calls_stream(vec![
            ("c1", "python", "print('ONE' + '-RAN')"),
            ("c2", "python", "print('TWO' + '-RAN')"),
            ("c3", "python", "print('THREE' + '-RAN')"),
        ]),
        Reply::text_stream("Three blocks."),
    ]);
    let t = Tmux::start("always", &chat_command(&env, &srv.base_url(), ""));
    t.wait_for_prompt();
    t.keys(&["three blocks", "Enter"]);
    t.wait_for("Run this code?");
    // `a`, then no to the confirmation: asked again, nothing decided yet.
    t.answer("a", "always");
    t.wait_for("for the rest of this session?");
    t.answer("n", "no");
    t.wait_for_count("Run this code?", 2);
    t.answer("y", "yes");
    t.wait_for("ONE-RAN");
    // The second block is asked about: `always` was not given.
    t.wait_for_count("Run this code?", 3);
    t.answer("a", "always");
    t.wait_for_count("for the rest of this session?", 2);
    t.answer("y", "yes");
    let s = t.wait_for("Three blocks.");
    assert!(s.contains("TWO-RAN") && s.contains("THREE-RAN"), "{s}");
    assert_eq!(
        t.count("Run this code?"),
        3,
        "the third block ran unasked:\n{s}"
    );
    assert!(s.contains("auto-approved (always this session"), "{s}");
}

/// The chat command for `--sandbox off --auto-run`, started only once the
/// file `go` exists, so that keys can be typed before it runs. The pane stays
/// open after interlock exits, so its last words can be read.
fn unsandboxed_auto_run_command(env: &Env, base: &str) -> String {
    format!(
        "while [ ! -e {go} ]; do sleep 0.05; done; {chat} --sandbox off --dangerously-disable-sandbox --auto-run; sleep 600",
        go = env.dir.path().join("go").display(),
        chat = chat_command(env, base, ""),
    )
}

/// The typed confirmation of `--sandbox off` with `--auto-run` ignores a
/// line typed before it was shown.
#[test]
fn the_unsandboxed_auto_run_confirmation_ignores_typed_ahead_input() {
    if skip() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![]);
    let t = Tmux::start(
        "confirm-ahead",
        &unsandboxed_auto_run_command(&env, &srv.base_url()),
    );
    t.keys(&["run unsandboxed", "Enter"]);
    // Echoed: the line is in the terminal's input queue.
    t.wait_for("run unsandboxed");
    write(&env.dir.path().join("go"), "");
    t.wait_for("to continue:");
    std::thread::sleep(Duration::from_millis(1000));
    t.keys(&["no", "Enter"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = t.screen();
        if s.contains("refusing to run model-written code") {
            break;
        }
        assert!(
            !s.contains("code runs:"),
            "the typed-ahead line confirmed the mode:\n{s}"
        );
        assert!(Instant::now() < deadline, "no answer:\n{s}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The same confirmation typed after it was shown is taken.
#[test]
fn the_unsandboxed_auto_run_confirmation_takes_a_fresh_answer() {
    if skip() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![]);
    write(&env.dir.path().join("go"), "");
    let t = Tmux::start(
        "confirm-fresh",
        &unsandboxed_auto_run_command(&env, &srv.base_url()),
    );
    t.wait_for("to continue:");
    std::thread::sleep(Duration::from_millis(600));
    t.keys(&["run unsandboxed", "Enter"]);
    t.wait_for("code runs:");
    t.wait_for_prompt();
}

#[test]
fn help_exit_and_quit_are_handled_here_and_never_sent_to_the_model() {
    if skip() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![Reply::text_stream("SENT TO THE MODEL")]);
    for word in ["exit", "quit"] {
        let t = Tmux::start(word, &chat_command(&env, &srv.base_url(), ""));
        t.wait_for_prompt();
        t.keys(&["/help", "Enter"]);
        t.wait_for("%reset");
        t.wait_for_prompt();
        t.keys(&[word, "Enter"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while t.alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            !t.alive(),
            "{word} leaves the chat; screen:\n{}",
            t.screen()
        );
    }
    assert!(
        srv.chat_requests().is_empty(),
        "sent to the model: {:?}",
        srv.chat_requests()
            .iter()
            .map(|r| r.body["messages"].to_string())
            .collect::<Vec<_>>()
    );
}

#[test]
fn resume_shows_the_last_turns() {
    if skip() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::text_stream("The word is noted."),
        Reply::text_stream("It was banana."),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "remember the word banana"]);
    assert_eq!(code(&run(c)), 0);
    let t = Tmux::start(
        "resume",
        &format!("{} --resume", chat_command(&env, &srv.base_url(), "")),
    );
    t.wait_for_prompt();
    let s = t.screen();
    assert!(s.contains("you: remember the word banana"), "{s}");
    assert!(s.contains("model: The word is noted."), "{s}");
    t.keys(&["what was it", "Enter"]);
    t.wait_for("It was banana.");
}

#[test]
fn long_output_collapses_to_head_and_tail_and_output_shows_all() {
    if skip() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream(
            "c1",
            "python",
            "for i in range(5000):\n    print(f'row {i:04d}')",
        ),
        Reply::text_stream("Printed them."),
    ]);
    let t = Tmux::start("long", &chat_command(&env, &srv.base_url(), ""));
    t.wait_for_prompt();
    t.keys(&["print many rows", "Enter"]);
    t.wait_for("Run this code?");
    t.answer("y", "yes");
    let s = t.wait_for("Printed them.");
    // The question and the code stay on screen; the middle is summarised.
    assert!(s.contains("Run this code?"), "{s}");
    assert!(s.contains("row 0000") && s.contains("row 0099"), "{s}");
    assert!(!s.contains("row 0100"), "{s}");
    assert!(!s.contains("row 2500"), "{s}");
    assert!(s.contains("row 4950") && s.contains("row 4999"), "{s}");
    assert!(s.contains("… 4850 lines hidden"), "{s}");
    assert!(s.contains("the model received the first"), "{s}");
    assert!(s.contains("%output shows all"), "{s}");
    // The model-side cap is unchanged.
    let reqs = srv.chat_requests();
    let last = reqs[1].body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(
        last["content"]
            .as_str()
            .unwrap()
            .contains("characters cut by interlock"),
        "{last}"
    );
    assert!(!s.contains("row 4700"));
    t.wait_for_prompt();
    t.keys(&["/output", "Enter"]);
    t.wait_for("row 4700");
}

#[test]
fn a_pasted_block_of_lines_is_one_message() {
    if skip() {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::text_stream("Got your three lines."),
        Reply::text_stream("second reply"),
        Reply::text_stream("third reply"),
    ]);
    let t = Tmux::start("paste", &chat_command(&env, &srv.base_url(), ""));
    t.wait_for_prompt();
    let set = Command::new("tmux")
        .args([
            "-L",
            &t.socket,
            "set-buffer",
            "--",
            "first pasted line\nsecond pasted line\nthird pasted line",
        ])
        .status()
        .unwrap();
    assert!(set.success());
    // -p: bracketed, as a terminal pastes when the application asked for it.
    let paste = Command::new("tmux")
        .args(["-L", &t.socket, "paste-buffer", "-p", "-t", "t"])
        .status()
        .unwrap();
    assert!(paste.success());
    t.wait_for("third pasted line");
    t.keys(&["Enter"]);
    t.wait_for("Got your three lines.");
    t.wait_for_prompt();
    let reqs = srv.chat_requests();
    assert_eq!(reqs.len(), 1, "one message, not one per line");
    let msgs = reqs[0].body["messages"].as_array().unwrap();
    let user = msgs.last().unwrap()["content"].as_str().unwrap();
    assert!(
        user.contains("first pasted line")
            && user.contains("second pasted line")
            && user.contains("third pasted line"),
        "{user}"
    );
}

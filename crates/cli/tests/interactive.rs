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
    t.keys(&["y"]);
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
    t.keys(&["n"]);
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
fn edit_runs_the_edited_code() {
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
    t.keys(&["e"]);
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
        content.contains("edited") && content.contains("48"),
        "{content}"
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
    t.keys(&["y"]);
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
    t.keys(&["y"]);
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
    t.keys(&["y"]);
    t.wait_for("first done");
    assert!(env.ws().join("a.txt").exists());
    t.keys(&["%sandbox off", "Enter"]);
    t.wait_for("cannot be turned off from the chat");
    t.keys(&["%sandbox read-only", "Enter"]);
    t.wait_for("sessions were restarted");
    t.keys(&["write b", "Enter"]);
    t.wait_for("Run this code?");
    t.keys(&["y"]);
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
    t.keys(&["n"]);
    t.wait_for("Not run, fine.");
}

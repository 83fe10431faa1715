//! `interlock sandbox -- CMD` at a real terminal (tmux): the command gets a
//! pseudo-terminal of its own whose output is sanitized, so it cannot write
//! the clipboard, set the title, hide text, make the terminal answer a query
//! into the user's shell or leave the terminal's modes changed; `--raw-tty`
//! gives it the real terminal, with a warning.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// What a hostile program does to the terminal it is given. Written into the
/// test's workspace as a file (never through a shell) and run only inside the
/// sandbox under test.
const ATTACK: &str = r#"import base64, os, select, subprocess, sys, termios, time

def w(s):
    sys.stdout.write(s)
    sys.stdout.flush()

cols, rows = os.get_terminal_size(1)
w("SIZE=%dx%d\n" % (cols, rows))
w("\x1b[31mRED-TEXT\x1b[0m\n")
# (1) the clipboard, (2) the window title
w("\x1b]52;c;" + base64.b64encode(b"PWNED-CLIP").decode() + "\x07")
w("\x1b]0;PWNED-TITLE0\x07")
w("\x1b]2;PWNED-TITLE2\x07")
# (4) hide lines: erased after printing, and concealed
w("HIDDEN-ERASED\n\x1b[1A\x1b[2K")
w("\x1b[8mHIDDEN-CONCEALED\x1b[0m\n")
# (3) a device status query: does the terminal answer it?
old = termios.tcgetattr(0)
new = termios.tcgetattr(0)
new[3] &= ~(termios.ICANON | termios.ECHO)
new[6][termios.VMIN] = 0
new[6][termios.VTIME] = 0
termios.tcsetattr(0, termios.TCSANOW, new)
w("\x1b[6n")
got = b""
end = time.monotonic() + 3
while time.monotonic() < end and b"R" not in got:
    r, _, _ = select.select([0], [], [], 0.2)
    if r:
        got += os.read(0, 64)
termios.tcsetattr(0, termios.TCSANOW, old)
w("\nDSR-REPLY=%s\n" % ("yes" if got else "none"))
# (5) leave the terminal without echo, and a query nobody reads: its answer
# would be typed into the shell once this program is gone
subprocess.run(["stty", "-echo"])
w("\x1b[6n")
w("ATTACK-DONE\n")
"#;

/// Waits for Ctrl-C.
const INTERRUPTIBLE: &str = r#"import signal, sys, time

def on_int(*_):
    print("GOT-INT", flush=True)
    sys.exit(5)

signal.signal(signal.SIGINT, on_int)
print("READY", flush=True)
while True:
    time.sleep(0.05)
"#;

struct Tmux {
    socket: String,
}

impl Tmux {
    /// A tmux server that accepts OSC 52 (so a clipboard write that reaches
    /// the terminal lands in its paste buffers), running `command`.
    fn start(env: &Env, name: &str, command: &str) -> Tmux {
        let socket = format!("interlock-tty-{}-{name}", std::process::id());
        let conf = env.dir.path().join("tmux.conf");
        write(
            &conf,
            "set -s set-clipboard on\nset -g history-limit 5000\n",
        );
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f"])
            .arg(&conf)
            .args([
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

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen and scrollback as text.
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t", "-S", "-500"])
    }

    /// The same with colours and attributes as escape sequences.
    fn screen_with_attributes(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-e", "-t", "t", "-S", "-500"])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Waits until the screen contains `text` (a bound that only keeps a
    /// broken build from hanging CI, not a timing assertion).
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

    fn pane_title(&self) -> String {
        self.tmux(&["display", "-p", "-t", "t", "#{pane_title}"])
    }

    /// Every paste buffer's contents (OSC 52 creates one).
    fn buffers(&self) -> String {
        self.tmux(&["list-buffers", "-F", "#{buffer_sample}"])
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn skip() -> bool {
    if !have("tmux") || !have("python3") {
        eprintln!("skipping: tmux or python3 is not installed");
        return true;
    }
    false
}

/// A shell script (the harness, no payload) for the pane: runs `interlock
/// sandbox [extra] -- python3 SCRIPT`, then, as the user's shell would,
/// records the terminal's modes and reads one typed line, so whatever the
/// terminal was made to type ahead shows up in it. A Ctrl-C that reaches the
/// shell too (with `--raw-tty`) does not end it.
/// With `gate`, the "shell" waits for a file `go` before it looks at the
/// terminal.
fn runner(env: &Env, extra: &str, script: &str, gate: bool) -> (PathBuf, String) {
    let dir = env.dir.path();
    let path = dir.join("runner.sh");
    let text = format!(
        "#!/bin/sh\n\
         trap 'echo SHELL-GOT-INT' INT\n\
         cd '{ws}' || exit 1\n\
         env -i PATH='{path}' HOME='{home}' INTERLOCK_HOME='{il}' TERM=xterm-256color LANG=C.UTF-8 \
         '{bin}' --api-base http://127.0.0.1:9/v1 --workspace '{ws}' sandbox {extra} -- python3 {script}\n\
         echo \"EXIT=$?\"\n\
         {gate}\
         stty -a > '{dir}/stty-after.txt'\n\
         echo READY-FOR-INPUT\n\
         IFS= read -r line\n\
         printf '%s' \"$line\" > '{dir}/typed.txt'\n\
         echo SHELL-DONE\n\
         exec sleep 600\n",
        ws = env.ws().display(),
        path = std::env::var("PATH").unwrap(),
        home = dir.join("home").display(),
        il = env.home().display(),
        bin = bin().display(),
        dir = dir.display(),
        gate = if gate {
            format!(
                "while [ ! -e '{}/go' ]; do sleep 0.1; done\n",
                dir.display()
            )
        } else {
            String::new()
        },
    );
    write(&path, &text);
    (dir.to_path_buf(), format!("sh {}", path.display()))
}

/// Runs the attack at a terminal and lets the "shell" read one line,
/// `probe`, typed after the command ended. Returns the screen, the screen
/// with attributes, the pane title, the paste buffers, the modes after exit
/// and the line the shell read.
struct Seen {
    screen: String,
    attributes: String,
    title_before: String,
    title: String,
    buffers: String,
    stty: String,
    typed: String,
}

fn run_attack(name: &str, extra: &str) -> Seen {
    let env = Env::new();
    write(&env.ws().join("attack.py"), ATTACK);
    let (dir, cmd) = runner(&env, extra, "attack.py", false);
    let t = Tmux::start(&env, name, "sleep 600");
    let title_before = t.pane_title();
    t.tmux(&["respawn-pane", "-k", "-t", "t", &cmd]);
    t.wait_for("READY-FOR-INPUT");
    t.keys(&["-l", "probe"]);
    t.keys(&["Enter"]);
    let screen = t.wait_for("SHELL-DONE");
    Seen {
        attributes: t.screen_with_attributes(),
        title: t.pane_title(),
        buffers: t.buffers(),
        screen,
        title_before,
        stty: read(&dir.join("stty-after.txt")),
        typed: read(&dir.join("typed.txt")),
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// True when `stty -a` output lists `echo` as on.
fn echo_on(stty: &str) -> bool {
    stty.split_whitespace().any(|w| w == "echo")
}

#[test]
fn sandbox_at_a_terminal_cannot_use_the_terminal_against_the_user() {
    if skip() {
        return;
    }
    let s = run_attack("pty", "");
    let ctx = format!("screen:\n{}", s.screen);
    assert!(s.screen.contains("ATTACK-DONE"), "{ctx}");
    assert!(s.screen.contains("EXIT=0"), "{ctx}");
    // The command saw a terminal of the user's window size.
    assert!(s.screen.contains("SIZE=160x50"), "{ctx}");
    // (1) No clipboard write reached the terminal; it is shown instead.
    assert!(!s.buffers.contains("PWNED"), "{}\n{ctx}", s.buffers);
    assert!(s.screen.contains("\\x1b]52;c;"), "{ctx}");
    // (2) The title is unchanged.
    assert!(!s.title.contains("PWNED"), "{}", s.title);
    assert_eq!(s.title, s.title_before);
    // (3) The terminal answered no query: not to the program, and nothing
    // was typed into the shell afterwards.
    assert!(s.screen.contains("DSR-REPLY=none"), "{ctx}");
    assert!(s.screen.contains("\\x1b[6n"), "{ctx}");
    assert_eq!(s.typed, "probe", "{ctx}");
    // (4) Nothing was hidden.
    assert!(s.screen.contains("HIDDEN-ERASED"), "{ctx}");
    assert!(s.screen.contains("\\x1b[8mHIDDEN-CONCEALED"), "{ctx}");
    // (5) The user's terminal still echoes: the program's `stty -echo` acted
    // on its own pty, and raw mode was undone.
    assert!(echo_on(&s.stty), "{}", s.stty);
    assert!(s.stty.contains(" icanon"), "{}", s.stty);
    assert!(s.screen.contains("\nprobe"), "typed text is echoed; {ctx}");
    // Colours pass.
    assert!(
        s.attributes.contains("\x1b[31mRED-TEXT"),
        "{}",
        s.attributes
    );
}

#[test]
fn raw_tty_gives_the_real_terminal_and_warns() {
    if skip() {
        return;
    }
    let s = run_attack("raw", "--raw-tty");
    let ctx = format!("screen:\n{}", s.screen);
    assert!(s.screen.contains("ATTACK-DONE"), "{ctx}");
    assert!(
        s.screen.contains("interlock: warning: --raw-tty")
            && s.screen.contains("clipboard")
            && s.screen.contains("echo off"),
        "{ctx}"
    );
    // The old behaviour: the terminal acts on what the program writes (which
    // also shows this harness would see the attacks).
    assert!(s.buffers.contains("PWNED-CLIP"), "{}\n{ctx}", s.buffers);
    assert!(s.screen.contains("DSR-REPLY=yes"), "{ctx}");
    assert!(!echo_on(&s.stty), "{}", s.stty);
}

#[test]
fn ctrl_c_at_a_terminal_interrupts_the_command_once() {
    if skip() {
        return;
    }
    let env = Env::new();
    write(&env.ws().join("wait.py"), INTERRUPTIBLE);
    let (_, cmd) = runner(&env, "", "wait.py", false);
    let t = Tmux::start(&env, "ctrlc", &cmd);
    t.wait_for("READY");
    t.keys(&["C-c"]);
    let s = t.wait_for("READY-FOR-INPUT");
    assert_eq!(s.matches("GOT-INT").count(), 1, "{s}");
    assert!(s.contains("EXIT=5"), "{s}");
}

/// The direct children of `pid`.
fn children(pid: i32) -> Vec<i32> {
    read(Path::new(&format!("/proc/{pid}/task/{pid}/children")))
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[test]
fn terminal_modes_come_back_when_interlock_is_killed() {
    if skip() {
        return;
    }
    let env = Env::new();
    write(&env.ws().join("wait.py"), INTERRUPTIBLE);
    let (dir, cmd) = runner(&env, "", "wait.py", true);
    let t = Tmux::start(&env, "killed", &cmd);
    t.wait_for("READY");
    let shell: i32 = t
        .tmux(&["display", "-p", "-t", "t", "#{pane_pid}"])
        .trim()
        .parse()
        .unwrap();
    let interlock = children(shell);
    assert_eq!(interlock.len(), 1, "{interlock:?}");
    let interlock = interlock[0];
    // The pump and the sandbox's supervisor.
    let helpers = children(interlock);
    assert!(!helpers.is_empty());
    // Nothing of interlock runs after SIGKILL: the pump must notice.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(interlock),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while helpers
        .iter()
        .any(|p| Path::new(&format!("/proc/{p}")).exists())
    {
        assert!(Instant::now() < deadline, "{helpers:?} still running");
        std::thread::sleep(Duration::from_millis(50));
    }
    write(&dir.join("go"), "");
    t.wait_for("READY-FOR-INPUT");
    t.keys(&["-l", "probe"]);
    t.keys(&["Enter"]);
    let s = t.wait_for("SHELL-DONE");
    assert!(s.contains("EXIT=137"), "{s}");
    let stty = read(&dir.join("stty-after.txt"));
    assert!(echo_on(&stty), "{stty}");
    assert!(stty.contains(" icanon"), "{stty}");
    assert_eq!(read(&dir.join("typed.txt")), "probe", "{s}");
}

/// Prints its terminal's size at start and after each SIGWINCH.
const SIZES: &str = r#"import os, signal, sys, time

def show(*_):
    cols, rows = os.get_terminal_size(1)
    print("SIZE=%dx%d" % (cols, rows), flush=True)

signal.signal(signal.SIGWINCH, show)
show()
while True:
    time.sleep(0.05)
"#;

#[test]
fn the_commands_terminal_follows_the_window_size() {
    if skip() {
        return;
    }
    let env = Env::new();
    write(&env.ws().join("sizes.py"), SIZES);
    let (_, cmd) = runner(&env, "", "sizes.py", false);
    let t = Tmux::start(&env, "winch", &cmd);
    t.wait_for("SIZE=160x50");
    t.tmux(&["resize-window", "-t", "t", "-x", "120", "-y", "40"]);
    t.wait_for("SIZE=120x40");
    t.keys(&["C-c"]);
    t.wait_for("READY-FOR-INPUT");
}

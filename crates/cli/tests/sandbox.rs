//! The sandbox as users meet it: code from the model (through the chat
//! kernels) and `interlock sandbox -- CMD` attempt real attacks and fail.

mod common;

use common::*;
use interlock_testkit::{Reply, ScriptedServer};
use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

const SECRET: &str = "PLANTED-PRIVATE-KEY-9f8e7d";

fn plant(env: &Env) {
    let home = env.dir.path().join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    write(&home.join(".ssh/id_ed25519"), SECRET);
    write(&home.join(".aws/credentials"), SECRET);
}

/// Runs one block through `interlock exec --auto-run` and returns its output.
///
/// `--auto-run-max-risk high` lets attack code the guard rates high through
/// without a terminal: these tests check the sandbox underneath the guard.
fn run_block(env: &Env, language: &str, block: &str, extra: &[&str]) -> (String, i32) {
    let (ev, status) = run_block_events(env, language, block, extra);
    (output_text(&ev), status)
}

/// [`run_block`], returning every `--json` event.
fn run_block_events(
    env: &Env,
    language: &str,
    block: &str,
    extra: &[&str],
) -> (Vec<serde_json::Value>, i32) {
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", language, block),
        Reply::text_stream("done"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--auto-run",
        "--auto-run-max-risk",
        "high",
        "--json",
    ])
    .args(extra)
    .arg("attack");
    let out = run(c);
    (events(&out), code(&out))
}

#[test]
fn model_code_cannot_read_planted_credentials() {
    let env = Env::new();
    plant(&env);
    let (out, status) = run_block(
        &env,
        "shell",
        "cat ~/.ssh/id_ed25519 ~/.aws/credentials; ln -s ~/.ssh/id_ed25519 link; cat link; echo END",
        &[],
    );
    assert_eq!(status, 0);
    assert!(out.contains("END"), "the block ran: {out}");
    assert!(!out.contains(SECRET), "secret leaked: {out}");
}

#[test]
fn model_code_cannot_read_interlocks_own_history() {
    let env = Env::new();
    // The first conversation writes history with a recognisable prompt.
    let srv = ScriptedServer::start_background(vec![Reply::text_stream("ok")]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "HISTORY-MARKER-41414"]);
    assert_eq!(code(&run(c)), 0);
    let il = env.home();
    let (out, _) = run_block(
        &env,
        "shell",
        &format!(
            "cat {}/history/*.jsonl; ls -la {}; echo END",
            il.display(),
            il.display()
        ),
        &[],
    );
    assert!(out.contains("END"));
    assert!(!out.contains("HISTORY-MARKER-41414"), "{out}");
}

#[test]
fn model_code_writes_the_workspace_but_not_home_or_git_hooks() {
    let env = Env::new();
    std::fs::create_dir_all(env.ws().join(".git/hooks")).unwrap();
    let home = env.dir.path().join("home");
    let (out, _) = run_block(
        &env,
        "python",
        "import os\n\
         for p in ['ok.txt', os.path.expanduser('~/.bashrc'), '.git/hooks/pre-commit', '/etc/evil']:\n\
         \ttry:\n\
         \t\topen(p, 'w').write('x')\n\
         \t\tprint('WROTE', p)\n\
         \texcept OSError as e:\n\
         \t\tprint('DENIED', p, e.errno)\n",
        &[],
    );
    assert!(out.contains("WROTE ok.txt"), "{out}");
    assert!(env.ws().join("ok.txt").exists());
    assert!(!home.join(".bashrc").exists(), "{out}");
    assert!(!env.ws().join(".git/hooks/pre-commit").exists(), "{out}");
    assert!(!std::path::Path::new("/etc/evil").exists());
    assert_eq!(out.matches("DENIED").count(), 3, "{out}");
}

#[test]
fn model_code_has_no_network() {
    let env = Env::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (out, _) = run_block(
        &env,
        "python",
        &format!(
            "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3).sendall(b'EXFIL')\n    print('CONNECTED')\nexcept OSError as e:\n    print('BLOCKED', e)\n"
        ),
        &[],
    );
    assert!(out.contains("BLOCKED"), "{out}");
    std::thread::sleep(Duration::from_millis(200));
    match listener.accept() {
        Ok((mut s, _)) => {
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            panic!("the listener got a connection: {buf:?}");
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
    }
}

use interlock_testkit::PYTHON_ATTEMPT as ATTEMPT;

#[test]
fn model_code_cannot_reach_interlock_its_secrets_or_host_sockets() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener};
    let env = Env::new();
    let key = "sk-test-PLANTED-API-KEY-5c4b3a";
    let token = "PLANTED-SERVICE-TOKEN-77aa";
    // A unix socket outside the workspace and an abstract one, both
    // listening on the host.
    let sock_path = env.dir.path().join("host.sock");
    let path_listener = UnixListener::bind(&sock_path).unwrap();
    path_listener.set_nonblocking(true).unwrap();
    let abstract_name = format!("interlock-test-{}", std::process::id());
    let abstract_listener =
        UnixListener::bind_addr(&SocketAddr::from_abstract_name(&abstract_name).unwrap()).unwrap();
    abstract_listener.set_nonblocking(true).unwrap();
    let attack = format!(
        "{ATTEMPT}
def environ_scan():
    found = []
    for p in os.listdir('/proc'):
        if p.isdigit():
            for f in ('environ', 'cmdline'):
                try:
                    d = open('/proc/%s/%s' % (p, f), 'rb').read()
                except OSError:
                    continue
                if b'PLANTED' in d:
                    found.append((p, f))
    if not found: raise Exception('nothing planted is visible')
    return found
attempt('environ_scan', environ_scan)
attempt('own_environ', lambda: [k for k in os.environ if 'KEY' in k or 'TOKEN' in k] or (_ for _ in ()).throw(Exception('no key or token vars')))
attempt('ptrace_parent', sys_call('ptrace', lambda: libc.ptrace(16, os.getppid(), 0, 0)))
attempt('ptrace_init', sys_call('ptrace', lambda: libc.ptrace(16, 1, 0, 0)))
attempt('vm_read_parent', sys_call('process_vm_readv', lambda: libc.syscall(310, os.getppid(), 0, 0, 0, 0, 0)))
def host_pids():
    mine = set(p for p in os.listdir('/proc') if p.isdigit())
    if len(mine) > 20: raise Exception('sees %d processes' % len(mine))
    raise Exception('sees only its own %d processes' % len(mine))
attempt('host_pids', host_pids)
def kill_init():
    os.kill(1, signal.SIGKILL)
    import time; time.sleep(0.2)
    os.kill(1, 0)
    raise Exception('init survived SIGKILL')
attempt('kill_init', kill_init)
def connect(addr):
    def f():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(3)
        s.connect(addr)
        s.sendall(b'EXFIL')
        return 'connected'
    return f
attempt('unix_path', connect({sock:?}))
attempt('unix_abstract', connect('\\0{abstract_name}'))
",
        sock = sock_path.to_str().unwrap()
    );
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "python", &attack),
        Reply::tool_call_stream("c2", "python", "print('SESSION-STILL-' + 'ALIVE')"),
        Reply::text_stream("done"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.env("OPENAI_API_KEY", key)
        .env("MY_SERVICE_TOKEN", token)
        .args([
            "exec",
            "--auto-run",
            "--auto-run-max-risk",
            "high",
            "--json",
            "attack",
        ]);
    let out = run(c);
    let text = output_text(&events(&out));
    assert_eq!(code(&out), 0, "{text}\n{}", stderr(&out));
    assert!(!text.contains("ESCAPED"), "an attack succeeded:\n{text}");
    for name in [
        "environ_scan",
        "own_environ",
        "ptrace_parent",
        "ptrace_init",
        "vm_read_parent",
        "host_pids",
        "kill_init",
        "unix_path",
        "unix_abstract",
    ] {
        assert!(
            text.contains(&format!("BLOCKED {name} ")),
            "attack {name} did not run/report:\n{text}"
        );
    }
    assert!(!text.contains(key) && !text.contains(token), "{text}");
    // The kernel session survived every attempt and ran the next block.
    assert!(text.contains("SESSION-STILL-ALIVE"), "{text}");
    for l in [&path_listener, &abstract_listener] {
        match l.accept() {
            Ok(_) => panic!("a host unix socket got a connection:\n{text}"),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
        }
    }
}

#[test]
fn the_session_start_names_the_sandbox() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![Reply::text_stream("hi")]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "hello"]);
    let out = run(c);
    let ev = events(&out);
    let started = of_type(&ev, "session_started")[0];
    assert!(
        started["executor"]
            .as_str()
            .unwrap()
            .starts_with("sandbox (workspace-write"),
        "{started}"
    );
    let srv2 = ScriptedServer::start_background(vec![Reply::text_stream("hi")]);
    let mut c = env.cmd(&srv2.base_url());
    c.args(["exec", "--json", "hello"]);
    let _ = run(c);
    let system = srv2.chat_requests()[0].body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(system.contains("Code runs in a sandbox"), "{system}");
}

#[test]
fn sandbox_off_needs_explicit_consent_and_is_warned_about() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![Reply::text_stream("hi")]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--sandbox", "off", "hello"]);
    let out = run(c);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--dangerously-disable-sandbox"),
        "{}",
        stderr(&out)
    );
    assert!(srv.chat_requests().is_empty(), "nothing was sent");

    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--json",
        "--sandbox",
        "off",
        "--dangerously-disable-sandbox",
        "hello",
    ]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = events(&out);
    let notices = of_type(&ev, "notice");
    assert!(
        notices
            .iter()
            .any(|n| n["message"].as_str().unwrap().contains("sandbox is OFF")),
        "{notices:?}"
    );

    // --auto-run on top of it needs a confirmation nobody can give here.
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--auto-run",
        "--sandbox",
        "off",
        "--dangerously-disable-sandbox",
        "hello",
    ]);
    let out = run(c);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("confirmed at a terminal"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sandbox_subcommand_passes_exit_status_and_signals() {
    let env = Env::new();
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["sandbox", "--", "sh", "-c", "exit 7"]);
    assert_eq!(code(&run(c)), 7);
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["sandbox", "--", "sh", "-c", "kill -9 $$"]);
    let out = run(c);
    assert_eq!(code(&out), 128 + 9);
    assert!(stderr(&out).contains("signal 9"));
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["sandbox", "--", "no-such-program-xyz"]);
    assert_eq!(code(&run(c)), 127);
}

#[test]
fn sandbox_subcommand_hides_secrets_and_extra_paths() {
    let env = Env::new();
    plant(&env);
    let extra = env.dir.path().join("extra-secret");
    write(&extra, SECRET);
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.arg("--hide")
        .arg(&extra)
        .args(["sandbox", "--", "sh", "-c"]);
    c.arg(format!(
        "cat $HOME/.ssh/id_ed25519 $HOME/.aws/credentials {} 2>&1; echo END",
        extra.display()
    ));
    let out = run(c);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("END"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
}

#[test]
fn sandbox_explain_describes_policy_and_kernel() {
    let env = Env::new();
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["sandbox", "--explain"]);
    let out = run(c);
    assert_eq!(code(&out), 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Landlock"), "{text}");
    assert!(text.contains(".ssh"), "{text}");
}

#[test]
fn sandbox_subcommand_keeps_a_home_workspace_read_only() {
    // Started in $HOME (no ~/.ssh yet): the workspace is read-only, with a
    // warning, so code cannot plant files that run outside the sandbox later.
    // Under /var/tmp, not /tmp: the sandbox has its own /tmp.
    let home = tempfile::Builder::new()
        .prefix("il-cli-home-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let h = home.path();
    write(&h.join(".bashrc"), "# original\n");
    let il = tempfile::tempdir().unwrap();
    let mut c = std::process::Command::new(bin());
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", h)
        .env("INTERLOCK_HOME", il.path())
        .arg("--workspace")
        .arg(h)
        .args(["sandbox", "--", "sh", "-c"])
        .arg(
            "echo evil >> ~/.bashrc; mkdir -p ~/.ssh; echo key > ~/.ssh/authorized_keys; echo END",
        );
    let out = run(c);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("END"),
        "the command ran: {text}{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("may not write"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(h.join(".bashrc")).unwrap(),
        "# original\n"
    );
    assert!(!h.join(".ssh").exists());
}

#[test]
fn sandbox_subcommand_read_only_workspace_in_tmp_is_readable() {
    let env = Env::new();
    write(&env.ws().join("data.txt"), "visible data\n");
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["--sandbox", "read-only", "sandbox", "--", "sh", "-c"])
        .arg("cat data.txt; echo x > new.txt || echo WRITE_DENIED");
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("visible data"), "{text}");
    assert!(text.contains("WRITE_DENIED"), "{text}");
    assert!(!env.ws().join("new.txt").exists());
}

#[test]
fn sandbox_subcommand_forwards_ctrl_c_to_the_command_once() {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let env = Env::new();
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["sandbox", "--", "sh", "-c"])
        .arg("trap 'echo GOT-INT; exit 5' INT; echo READY; while :; do sleep 0.05; done")
        .stdout(std::process::Stdio::piped())
        .process_group(0);
    let mut child = c.spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "READY");
    // What a terminal does on Ctrl-C: SIGINT to the whole foreground group.
    let pgid = nix::unistd::Pid::from_raw(-(child.id() as i32));
    nix::sys::signal::kill(pgid, nix::sys::signal::Signal::SIGINT).unwrap();
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(5),
        "interlock exits with the command's status"
    );
    assert_eq!(
        rest,
        vec!["GOT-INT".to_string()],
        "the command saw SIGINT exactly once"
    );
}

#[test]
fn a_git_hook_planted_in_a_new_repository_is_reported() {
    // The workspace has no .git, so the sandbox has nothing to keep
    // read-only: the code creates a repository with a hook and an fsmonitor
    // setting, which git would run outside the sandbox. interlock must say so.
    let env = Env::new();
    let (ev, status) = run_block_events(
        &env,
        "shell",
        "mkdir -p .git/hooks && printf '#!/bin/sh\\necho hi\\n' > .git/hooks/post-checkout && printf '[core]\\n\\tfsmonitor = .git/fsm\\n' > .git/config && echo END",
        &[],
    );
    assert_eq!(status, 0);
    assert!(output_text(&ev).contains("END"));
    let warning = ev
        .iter()
        .find(|e| e["type"] == "notice" && e["level"] == "warning")
        .unwrap_or_else(|| panic!("no warning notice: {ev:?}"));
    let msg = warning["message"].as_str().unwrap();
    assert!(msg.contains("post-checkout"), "{msg}");
    assert!(msg.contains("fsmonitor"), "{msg}");
}

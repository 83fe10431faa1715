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
fn sandbox_subcommand_stops_a_command_at_its_timeout() {
    // Were --timeout ignored, the command would end by itself after two minutes with status 0.
    let env = Env::new();
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args([
        "sandbox",
        "--timeout",
        "1",
        "--",
        "sh",
        "-c",
        "sleep 120 & echo started; sleep 120",
    ]);
    let out = run(c);
    assert_eq!(code(&out), 124, "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "started");
    assert!(
        stderr(&out).contains("longer than --timeout 1 s"),
        "{}",
        stderr(&out)
    );
    // The explanation shows it, and without the flag there is none.
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["sandbox", "--timeout", "7", "--explain"]);
    let text = String::from_utf8_lossy(&run(c).stdout).into_owned();
    assert!(text.contains("timeout: 7 s"), "{text}");
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["sandbox", "--explain"]);
    let text = String::from_utf8_lossy(&run(c).stdout).into_owned();
    assert!(text.contains("timeout: none"), "{text}");
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
    // What the kernel offers ...
    for needle in [
        "user namespaces:",
        "Landlock",
        "seccomp:",
        "cgroups:",
        "per-namespace pid_max",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    // ... and what the sandbox will do with it.
    for needle in [
        "namespaces: user, mount",
        "seccomp: deny ptrace",
        "rlimits:",
        ".ssh",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}

#[test]
fn sandbox_subcommand_keeps_a_home_workspace_read_only() {
    // Started in $HOME (no ~/.ssh yet): the workspace is read-only, with a
    // warning, so code cannot plant files that run outside the sandbox later.
    // Under /var/tmp, not /tmp: the sandbox has its own /tmp.
    let home = tempfile::Builder::new()
        .prefix("il-cli-home-")
        .tempdir_in(test_base())
        .unwrap();
    let h = home.path();
    write(&h.join(".bashrc"), "# original\n");
    let il = tempfile::Builder::new()
        .prefix("il-cli-state-")
        .tempdir_in(test_base())
        .unwrap();
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
    let env = Env::in_tmp();
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

/// What the attack battery needs to know about the host, and the listeners
/// that must stay silent.
struct Battery {
    env: Env,
    tcp: TcpListener,
    udp: std::net::UdpSocket,
    unix: std::os::unix::net::UnixListener,
    abstract_unix: std::os::unix::net::UnixListener,
    abstract_name: String,
    etc_target: String,
}

/// The attacks every way into the sandbox must stop. Names that must print
/// `BLOCKED`; an `ESCAPED` line anywhere fails the test.
const BATTERY_NAMES: &[&str] = &[
    "read_ssh_key",
    "read_aws_credentials",
    "write_home",
    "append_bashrc",
    "write_etc",
    "write_outside_workspace",
    "symlink_escape",
    "hardlink_escape",
    "tcp_connect",
    "udp_send",
    "dns_lookup",
    "unix_socket",
    "abstract_unix_socket",
    "proc1_environ",
    "parent_environ",
    "ptrace_parent",
    "tiocsti",
    "kill_parent",
    "kill_init",
    "setuid_binary",
    "git_hook",
    "mount",
    "unshare",
    "setns",
    "fork_bomb",
    "memory_bomb",
    "disk_fill",
];

/// The secret interlock itself holds in its environment.
const OWN_SECRET: &str = "sk-PLANTED-OWN-ENV-SECRET-31337";

impl Battery {
    fn new() -> Battery {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::{SocketAddr, UnixListener};
        let env = Env::new();
        plant(&env);
        let home = env.dir.path().join("home");
        write(&home.join(".bashrc"), "# original\n");
        std::fs::create_dir_all(env.ws().join(".git/hooks")).unwrap();
        write(&env.ws().join(".git/config"), "[core]\n");
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        tcp.set_nonblocking(true).unwrap();
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.set_nonblocking(true).unwrap();
        let unix = UnixListener::bind(env.dir.path().join("host.sock")).unwrap();
        unix.set_nonblocking(true).unwrap();
        // Unique per test: abstract names are shared by the whole host.
        let abstract_name = format!(
            "interlock-battery-{}",
            env.dir.path().file_name().unwrap().to_string_lossy()
        );
        let abstract_unix =
            UnixListener::bind_addr(&SocketAddr::from_abstract_name(&abstract_name).unwrap())
                .unwrap();
        abstract_unix.set_nonblocking(true).unwrap();
        let etc_target = format!("/etc/{abstract_name}");
        Battery {
            env,
            tcp,
            udp,
            unix,
            abstract_unix,
            abstract_name,
            etc_target,
        }
    }

    /// The battery as one Python program.
    fn code(&self) -> String {
        let home = self.env.dir.path().join("home");
        format!(
            r#"{ATTEMPT}
import fcntl, termios, subprocess, time
H = {home:?}
WS = {ws:?}
OUT = {out:?}
SECRETS = [{secret:?}.encode(), {own:?}.encode()]
def leak(f):
    def g():
        d = f()
        d = d if isinstance(d, bytes) else str(d).encode()
        if any(s in d for s in SECRETS):
            return 'secret read'
        raise Exception('no secret in what was read')
    return g
def write(path, mode='w'):
    def g():
        with open(path, mode) as fh:
            fh.write('evil\n')
        return 'wrote ' + path
    return g
attempt('read_ssh_key', leak(lambda: open(H + '/.ssh/id_ed25519', 'rb').read()))
attempt('read_aws_credentials', leak(lambda: open(H + '/.aws/credentials', 'rb').read()))
attempt('write_home', write(H + '/planted.txt'))
attempt('append_bashrc', write(H + '/.bashrc', 'a'))
attempt('write_etc', write({etc:?}))
attempt('write_outside_workspace', write(OUT + '/il-evil.txt'))
def symlink_escape():
    os.symlink(H + '/.ssh/id_ed25519', WS + '/sl')
    return open(WS + '/sl', 'rb').read()
attempt('symlink_escape', leak(symlink_escape))
def hardlink_escape():
    os.link(H + '/.aws/credentials', WS + '/hl')
    return open(WS + '/hl', 'rb').read()
attempt('hardlink_escape', leak(hardlink_escape))
def tcp():
    s = socket.create_connection(('127.0.0.1', {tcp}), 3)
    s.sendall(b'EXFIL')
    return 'connected'
attempt('tcp_connect', tcp)
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b'EXFIL', ('127.0.0.1', {udp}))
    return 'sent'
attempt('udp_send', udp)
attempt('dns_lookup', lambda: socket.getaddrinfo('example.com', 80))
def unix(addr):
    def g():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(3)
        s.connect(addr)
        s.sendall(b'EXFIL')
        return 'connected'
    return g
attempt('unix_socket', unix({sock:?}))
attempt('abstract_unix_socket', unix('\0' + {abstract_name:?}))
attempt('proc1_environ', leak(lambda: open('/proc/1/environ', 'rb').read()))
attempt('parent_environ', leak(lambda: open('/proc/%d/environ' % os.getppid(), 'rb').read()))
attempt('ptrace_parent', sys_call('ptrace', lambda: libc.ptrace(16, os.getppid(), 0, 0)))
def tiocsti():
    errors = []
    for fd in (0, 1, 2):
        try:
            fcntl.ioctl(fd, termios.TIOCSTI, b'x')
            return 'injected into fd %d' % fd
        except OSError as e:
            errors.append(e.errno)
    try:
        t = os.open('/dev/tty', os.O_RDWR)
        fcntl.ioctl(t, termios.TIOCSTI, b'x')
        return 'injected into /dev/tty'
    except OSError as e:
        errors.append(e.errno)
    raise Exception('errnos %r' % errors)
attempt('tiocsti', tiocsti)
def kill(pid):
    def g():
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.3)
        os.kill(pid, 0)
        raise Exception('pid %d survived SIGKILL' % pid)
    return g
attempt('kill_parent', kill(os.getppid()))
attempt('kill_init', kill(1))
def setuid_binary():
    su = next(p for p in ('/usr/bin/su', '/bin/su') if os.path.exists(p))
    r = subprocess.run([su, 'root', '-c', 'grep CapEff /proc/self/status; id -u'],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    cap = [l for l in r.stdout.splitlines() if l.startswith('CapEff')]
    if cap and not cap[0].endswith('0000000000000000'):
        return 'capabilities: ' + cap[0]
    if os.getuid() != 0 and '0' in r.stdout.split():
        return 'became root'
    raise Exception('gained nothing (rc %d) %s' % (r.returncode, r.stderr.strip()[:60]))
attempt('setuid_binary', setuid_binary)
attempt('git_hook', write(WS + '/.git/hooks/pre-commit'))
attempt('mount', sys_call('mount', lambda: libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)))
attempt('unshare', sys_call('unshare', lambda: libc.unshare(0x10000000)))
def setns():
    fd = os.open('/proc/self/ns/net', os.O_RDONLY)
    return sys_call('setns', lambda: libc.setns(fd, 0))()
attempt('setns', setns)
def fork_bomb():
    n = 0
    try:
        while n < 5000:
            pid = os.fork()
            if pid == 0:
                time.sleep(2)
                os._exit(0)
            n += 1
    except OSError as e:
        raise Exception('stopped after %d forks: %s' % (n, e))
    finally:
        # Reap the children before the next attack: each holds pages of its
        # own (copy-on-write), and a memory bomb next to them is OOM-killed
        # rather than refused, depending on the machine's load.
        while True:
            try:
                os.wait()
            except ChildProcessError:
                break
    return '%d forks' % n
attempt('fork_bomb', fork_bomb)
def memory_bomb():
    chunks = []
    for i in range(64):
        chunks.append(bytearray(64 << 20))
    return '%d MiB' % (64 * len(chunks))
attempt('memory_bomb', memory_bomb)
def disk_fill():
    with open(WS + '/fill.bin', 'wb') as fh:
        for i in range(64):
            fh.write(b'\0' * (1 << 20))
            fh.flush()
    return 'wrote 64 MiB'
attempt('disk_fill', disk_fill)
print('BATTERY-' + 'DONE', flush=True)
"#,
            ATTEMPT = interlock_testkit::PYTHON_ATTEMPT,
            home = home.to_str().unwrap(),
            ws = self.env.ws().to_str().unwrap(),
            out = self.env.dir.path().to_str().unwrap(),
            secret = SECRET,
            own = OWN_SECRET,
            etc = self.etc_target,
            tcp = self.tcp.local_addr().unwrap().port(),
            udp = self.udp.local_addr().unwrap().port(),
            sock = self.env.dir.path().join("host.sock").to_str().unwrap(),
            abstract_name = self.abstract_name,
        )
    }

    /// Every attack reported blocked, and the host exactly as before.
    fn assert_stopped(&self, text: &str) {
        eprintln!("{text}");
        assert!(!text.contains("ESCAPED"), "an attack succeeded:\n{text}");
        assert!(
            text.contains("BATTERY-DONE"),
            "the battery did not finish:\n{text}"
        );
        for name in BATTERY_NAMES {
            assert!(
                text.contains(&format!("BLOCKED {name} ")),
                "attack {name} did not run/report:\n{text}"
            );
        }
        assert!(
            !text.contains(SECRET) && !text.contains(OWN_SECRET),
            "{text}"
        );
        let home = self.env.dir.path().join("home");
        assert_eq!(
            std::fs::read_to_string(home.join(".bashrc")).unwrap(),
            "# original\n"
        );
        assert!(!home.join("planted.txt").exists());
        assert!(!std::path::Path::new(&self.etc_target).exists());
        assert!(!self.env.dir.path().join("il-evil.txt").exists());
        assert!(!self.env.ws().join(".git/hooks/pre-commit").exists());
        assert!(
            std::fs::metadata(self.env.ws().join("fill.bin")).map_or(0, |m| m.len()) <= 1 << 20
        );
        match self.tcp.accept() {
            Ok(_) => panic!("the host TCP listener got a connection"),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
        }
        let mut buf = [0u8; 64];
        match self.udp.recv(&mut buf) {
            Ok(_) => panic!("the host UDP socket got a datagram"),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
        }
        for l in [&self.unix, &self.abstract_unix] {
            match l.accept() {
                Ok(_) => panic!("a host unix socket got a connection"),
                Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
            }
        }
    }
}

/// The limits the bombs run into.
const BATTERY_LIMITS: &[&str] = &[
    "--limit-procs",
    "64",
    "--limit-memory",
    "512M",
    "--limit-fsize",
    "1M",
];

#[test]
fn sandbox_subcommand_stops_the_attack_battery() {
    let b = Battery::new();
    // A real terminal on stdin: TIOCSTI has something to inject into.
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut c = b.env.cmd("http://127.0.0.1:9/v1");
    c.env("OPENAI_API_KEY", OWN_SECRET)
        .args(BATTERY_LIMITS)
        .args(["sandbox", "--", "python3", "-c"])
        .arg(b.code())
        .stdin(std::process::Stdio::from(pty.slave));
    let out = run(c);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(code(&out), 0, "{text}\n{}", stderr(&out));
    b.assert_stopped(&text);
    // Nothing was pushed back into the terminal.
    nix::fcntl::fcntl(
        &pty.master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    let mut buf = [0u8; 256];
    let injected = nix::unistd::read(&pty.master, &mut buf).unwrap_or(0);
    assert_eq!(
        injected,
        0,
        "{:?}",
        String::from_utf8_lossy(&buf[..injected])
    );
}

#[test]
fn chat_kernel_stops_the_attack_battery_and_survives_it() {
    let b = Battery::new();
    // Scrambled (each byte XOR 1, hex), so the guard rates it high (hidden
    // code) rather than refusing it: this test is about the sandbox
    // underneath the guard.
    let hex: String = b.code().bytes().map(|c| format!("{:02x}", c ^ 1)).collect();
    let block = format!("exec(bytes(c ^ 1 for c in bytes.fromhex('{hex}')).decode())");
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "python", &block),
        Reply::tool_call_stream("c2", "python", "print('SESSION-STILL-' + 'ALIVE')"),
        Reply::text_stream("done"),
    ]);
    let mut c = b.env.cmd(&srv.base_url());
    c.env("OPENAI_API_KEY", OWN_SECRET)
        .args(BATTERY_LIMITS)
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
    b.assert_stopped(&text);
    // interlock and the session survived the bombs and ran the next block.
    assert!(text.contains("SESSION-STILL-ALIVE"), "{text}");
}

#[test]
fn network_full_is_an_explicit_warned_choice() {
    let env = Env::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connect = format!(
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), 5).sendall(b'hi')\n    print('CONNECTED')\nexcept OSError as e:\n    print('REFUSED', e)\n"
    );
    // Default: no network, no warning about it.
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["sandbox", "--", "python3", "-c", &connect]);
    let out = run(c);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("REFUSED"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("--network full"), "{}", stderr(&out));
    // --network full: the host's network, and a warning saying what that means.
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args([
        "--network",
        "full",
        "sandbox",
        "--",
        "python3",
        "-c",
        &connect,
    ]);
    let out = run(c);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("CONNECTED"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--network full"), "{}", stderr(&out));
    let (mut s, _) = listener.accept().unwrap();
    let mut got = String::new();
    s.read_to_string(&mut got).unwrap();
    assert_eq!(got, "hi");
    // Everything else still holds: the credentials stay hidden.
    plant(&env);
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["--network", "full", "sandbox", "--", "sh", "-c"])
        .arg("cat $HOME/.ssh/id_ed25519 2>&1; echo END");
    let out = run(c);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("END") && !text.contains(SECRET), "{text}");
}

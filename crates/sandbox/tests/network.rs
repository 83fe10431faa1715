//! Network allowlist mode end to end: real HTTP and HTTPS servers on the host's loopback, reached
//! from inside the sandbox only through `interlock-netproxy`, which knows them as `allowed.test`
//! through the code-only test resolver. Everything else the sandboxed program tries (a host not on
//! the list, an IP literal, the metadata address, a name that resolves to loopback, a direct
//! socket) must fail, and the proxy must report each refused attempt.
//!
//! Temp dirs live under `/var/tmp` (the sandbox replaces `/tmp`).

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use interlock_netproxy::{AllowList, Caps, Event, FixedResolver, Proxy};
use interlock_sandbox::{
    NetworkMode, Policy, SandboxMode, command, inheritable, plan, probe, proxy_channel, proxy_env,
};

const PY: &str = "/usr/bin/python3";

fn helper() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_interlock-sandbox-exec"))
}

/// A loopback server (python3 http.server, HTTPS when given a cert) answering `hello-KIND`.
const SERVER: &str = r#"
import http.server, ssl, sys
kind = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello-" + kind).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
if kind == "https":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

/// What the sandboxed Python program tries; one line per attempt: `NAME ok BODY` or `NAME err WHY`.
const ATTEMPTS: &str = r#"
import os, socket, sys, urllib.request, urllib.error, ssl
http_port, https_port, ca = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
def get(name, url):
    try:
        with urllib.request.urlopen(url, timeout=20, context=ctx if url.startswith("https") else None) as r:
            print(name, "ok", r.read().decode())
    except urllib.error.HTTPError as e:
        print(name, "err", e.code, e.headers.get("X-Interlock-Denied"))
    except Exception as e:
        print(name, "err", type(e).__name__, str(e).replace("\n", " ")[:120])
get("allowed_http", "http://allowed.test:%s/" % http_port)
get("allowed_https", "https://allowed.test:%s/" % https_port)
get("unlisted", "http://not-listed.test:%s/" % http_port)
get("ip_literal", "http://127.0.0.1:%s/" % http_port)
get("metadata", "http://169.254.169.254/latest/meta-data/")
get("rebinding", "http://rebind.test:%s/" % http_port)
for name, fam, addr in [
    ("direct_tcp_host_port", socket.AF_INET, ("127.0.0.1", int(http_port))),
    ("direct_tcp6_host_port", socket.AF_INET6, ("::1", int(http_port))),
]:
    try:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(addr)
        print(name, "ok", "connected")
    except Exception as e:
        print(name, "err", type(e).__name__)
for name, fam, typ in [
    ("unix_socket", socket.AF_UNIX, socket.SOCK_STREAM),
    ("netlink_socket", socket.AF_NETLINK, socket.SOCK_RAW),
    ("packet_socket", socket.AF_PACKET, socket.SOCK_RAW),
]:
    try:
        socket.socket(fam, typ)
        print(name, "ok", "created")
    except Exception as e:
        print(name, "err", type(e).__name__)
"#;

struct Fixture {
    dir: tempfile::TempDir,
    servers: Vec<Child>,
    http_port: u16,
    https_port: u16,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for s in &mut self.servers {
            let _ = s.kill();
            let _ = s.wait();
        }
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start_server(dir: &Path, args: &[&str]) -> (Child, u16) {
    let mut child = Command::new(PY)
        .arg(dir.join("server.py"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("server port");
    (child, port)
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("il-net-")
            .tempdir_in("/var/tmp")
            .unwrap();
        let d = dir.path();
        // A CA the sandboxed clients trust, and a certificate for allowed.test signed by it.
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=interlock test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
            ],
        );
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=allowed.test",
            ],
        );
        std::fs::write(
            d.join("leaf.ext"),
            "subjectAltName=DNS:allowed.test\nbasicConstraints=CA:FALSE\n\
             authorityKeyIdentifier=keyid,issuer\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "leaf.pem",
                "-days",
                "2",
                "-extfile",
                "leaf.ext",
            ],
        );
        std::fs::write(d.join("server.py"), SERVER).unwrap();
        std::fs::write(d.join("attempts.py"), ATTEMPTS).unwrap();
        let leaf = d.join("leaf.pem");
        let key = d.join("leaf.key");
        let (a, http_port) = start_server(d, &["http"]);
        let (b, https_port) =
            start_server(d, &["https", leaf.to_str().unwrap(), key.to_str().unwrap()]);
        Fixture {
            dir,
            servers: vec![a, b],
            http_port,
            https_port,
        }
    }

    fn ws(&self) -> &Path {
        self.dir.path()
    }

    fn policy(&self, entries: &[String]) -> Policy {
        let mut p = Policy::for_workspace(
            SandboxMode::ReadOnly,
            self.ws(),
            Path::new("/nonexistent-home"),
            &[],
            &[],
        );
        p.network = NetworkMode::Allowlist(entries.to_vec());
        p
    }

    /// The allowlist of the tests: the two servers by name and port, and the rebinding name.
    fn entries(&self) -> Vec<String> {
        vec![
            format!("allowed.test:{}", self.http_port),
            format!("allowed.test:{}", self.https_port),
            format!("rebind.test:{}", self.http_port),
            format!("not-on-list.test:{}", self.http_port),
        ]
    }

    /// Run `program args` in the sandbox with a proxy in this process; returns its output and the
    /// proxy's events.
    fn run(&self, program: &str, args: &[&str], vouch: bool) -> (Output, Vec<Event>) {
        let entries = self.entries();
        let support = probe();
        let mut p = plan(&self.policy(&entries), &support).expect("plan");
        let (chan, theirs) = proxy_channel().unwrap();
        inheritable(&theirs).unwrap();
        p.proxy.as_mut().expect("proxy plan").fd = Some(theirs.as_raw_fd());
        let loopback: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut resolver = FixedResolver::new().unvouched("rebind.test", &[loopback]);
        if vouch {
            resolver = resolver.vouched("allowed.test", &[loopback]);
        } else {
            resolver = resolver.unvouched("allowed.test", &[loopback]);
        }
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev = events.clone();
        let proxy = Proxy::new(AllowList::parse(&entries).unwrap(), Caps::default())
            .with_resolver(Arc::new(resolver))
            .on_event(Arc::new(move |e| ev.lock().unwrap().push(e)));
        let mut vars: Vec<(OsString, OsString)> = vec![
            ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
            ("HOME".into(), self.ws().into()),
            ("LANG".into(), "C.UTF-8".into()),
        ];
        for (k, v) in proxy_env(p.proxy.as_ref().unwrap().port) {
            vars.push((k.into(), v.into()));
        }
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let mut c = command(&p, Path::new(program), &args, &vars, self.ws(), &helper());
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = c.spawn().unwrap();
        drop(theirs);
        let listener = chan
            .receive()
            .expect("the sandbox sends its proxy listener");
        let handle = proxy.spawn(listener).unwrap();
        let out = child.wait_with_output().unwrap();
        drop(handle);
        eprintln!(
            "{program} {args:?}\n  status: {:?}\n  stdout: {}\n  stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let ev = events.lock().unwrap().clone();
        (out, ev)
    }
}

fn namespaces_available() -> bool {
    let s = probe();
    if !s.user_namespaces {
        eprintln!(
            "SKIP: user namespaces unavailable: {:?}",
            s.user_namespaces_reason
        );
    }
    s.user_namespaces
}

fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no line for {name} in:\n{out}"))
}

fn denied(events: &[Event]) -> Vec<(String, &'static str)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Denied { host, reason, .. } => Some((host.clone(), reason.code())),
            _ => None,
        })
        .collect()
}

#[test]
fn python_reaches_only_the_allowed_host_and_every_other_attempt_fails() {
    if !namespaces_available() {
        return;
    }
    let f = Fixture::new();
    let (out, events) = f.run(
        PY,
        &[
            "attempts.py",
            &f.http_port.to_string(),
            &f.https_port.to_string(),
            "ca.pem",
        ],
        true,
    );
    assert!(out.status.success(), "{out:?}");
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(line(&out, "allowed_http"), "allowed_http ok hello-http");
    assert_eq!(line(&out, "allowed_https"), "allowed_https ok hello-https");
    assert_eq!(line(&out, "unlisted"), "unlisted err 403 not-allowed");
    assert_eq!(line(&out, "ip_literal"), "ip_literal err 403 ip-literal");
    assert_eq!(line(&out, "metadata"), "metadata err 403 ip-literal");
    assert_eq!(
        line(&out, "rebinding"),
        "rebinding err 403 forbidden-address"
    );
    for l in [
        "direct_tcp_host_port",
        "direct_tcp6_host_port",
        "unix_socket",
        "netlink_socket",
        "packet_socket",
    ] {
        assert!(line(&out, l).contains(" err "), "{}", line(&out, l));
    }
    assert!(line(&out, "unix_socket").contains("PermissionError"));
    // The proxy names every refused attempt.
    let d = denied(&events);
    for (host, code) in [
        ("not-listed.test", "not-allowed"),
        ("127.0.0.1", "ip-literal"),
        ("169.254.169.254", "ip-literal"),
        ("rebind.test", "forbidden-address"),
    ] {
        assert!(
            d.iter().any(|(h, c)| h == host && *c == code),
            "{host} {code} not in {d:?}"
        );
    }
}

#[test]
fn curl_and_wget_work_unchanged_through_the_proxy() {
    if !namespaces_available() {
        return;
    }
    let f = Fixture::new();
    let https = format!("https://allowed.test:{}/", f.https_port);
    let (out, _) = f.run(
        "/usr/bin/curl",
        &["-sS", "--cacert", "ca.pem", &https],
        true,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello-https");
    let http = format!("http://allowed.test:{}/", f.http_port);
    let (out, _) = f.run("/usr/bin/wget", &["-q", "-O", "-", &http], true);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello-http");
    // curl to a host that is not listed: the proxy's 403 and nothing else.
    let (out, ev) = f.run(
        "/usr/bin/curl",
        &["-sS", "--cacert", "ca.pem", "https://exfil.example.com/"],
        true,
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("403"),
        "{out:?}"
    );
    assert_eq!(
        denied(&ev),
        vec![("exfil.example.com".to_string(), "not-allowed")]
    );
}

#[test]
fn node_reaches_the_allowed_host_through_the_proxy() {
    if !namespaces_available() || !Path::new("/usr/bin/node").exists() {
        return;
    }
    let f = Fixture::new();
    // Node's http module sent to the proxy (as npm and most HTTP client libraries do); Node's
    // built-in fetch follows HTTP(S)_PROXY itself only from Node 22.21/24.5 (NODE_USE_ENV_PROXY).
    let script = format!(
        "const http=require('http');\
         const u=new URL(process.env.HTTP_PROXY);\
         http.get({{host:u.hostname,port:u.port,path:'http://allowed.test:{}/'}},r=>{{\
         let b='';r.on('data',c=>b+=c);r.on('end',()=>console.log(r.statusCode,b));}})\
         .on('error',e=>console.log('error',e.code));",
        f.http_port
    );
    let (out, _) = f.run("/usr/bin/node", &["-e", &script], true);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "200 hello-http"
    );
    // fetch with no proxy support goes direct, and direct is impossible.
    let script = format!(
        "fetch('http://allowed.test:{}/').then(r=>console.log('reached',r.status))\
         .catch(e=>console.log('blocked'))",
        f.http_port
    );
    let (out, _) = f.run("/usr/bin/node", &["-e", &script], true);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.trim() == "blocked" || s.trim() == "reached 200", "{s}");
}

#[test]
fn without_the_seams_vouching_a_loopback_name_is_refused() {
    if !namespaces_available() {
        return;
    }
    // The same allowlist and the same name → loopback mapping, but not vouched for: this is what
    // any configuration can produce, and the proxy refuses it.
    let f = Fixture::new();
    let http = format!("http://allowed.test:{}/", f.http_port);
    let (out, ev) = f.run("/usr/bin/curl", &["-sS", &http], false);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("hello"));
    assert_eq!(
        denied(&ev),
        vec![("allowed.test".to_string(), "forbidden-address")]
    );
}

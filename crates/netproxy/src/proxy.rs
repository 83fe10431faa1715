//! The proxy server: HTTP `CONNECT` (a byte relay after the decision; TLS is not intercepted) and
//! absolute-URI HTTP requests (forwarded with `Connection: close`).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::allow::AllowList;
use crate::decide::{Denial, Target, decide_addrs, decide_target};

/// Largest request head (request line and headers) the proxy reads.
const MAX_HEAD: usize = 64 * 1024;
/// How long a client may take to send its request head, and a name to resolve, and a connect.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
const RELAY_BUF: usize = 64 * 1024;

/// Boxed future returned by [`Resolver::resolve`].
pub type ResolveFuture<'a> = Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>>;

/// Name resolution for the proxy. The proxy connects to exactly the addresses it checked, so a
/// name cannot resolve to one address for the check and another for the connection.
pub trait Resolver: Send + Sync {
    /// The addresses of `host` (canonical name), with `port` filled in.
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> ResolveFuture<'a>;
    /// Whether this resolver vouches for `addr` as an address of `host`, so that the address rules
    /// do not apply to it. The system resolver vouches for nothing; only [`FixedResolver`], which
    /// only code can construct, vouches for the addresses it was given for that name.
    fn vouches_for(&self, _host: &str, _addr: &SocketAddr) -> bool {
        false
    }
}

/// The system resolver (`getaddrinfo` via tokio).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> ResolveFuture<'a> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// A fixed name → addresses map, for tests: it lets a test reach its own loopback server as
/// `allowed.test` through the full decision path. Names it does not know do not resolve. It vouches
/// for exactly the addresses it maps, so loopback is reachable only where a test built one. No
/// configuration, flag or environment variable constructs it.
#[derive(Debug, Default, Clone)]
pub struct FixedResolver {
    map: HashMap<String, Vec<SocketAddr>>,
    vouched: Vec<(String, SocketAddr)>,
}

impl FixedResolver {
    /// An empty map.
    pub fn new() -> FixedResolver {
        FixedResolver::default()
    }
    /// Map `name` to `addrs`, and vouch for them. An address with port 0 takes the requested port.
    pub fn vouched(mut self, name: &str, addrs: &[SocketAddr]) -> FixedResolver {
        self.map.insert(name.to_string(), addrs.to_vec());
        self.vouched
            .extend(addrs.iter().map(|a| (name.to_string(), *a)));
        self
    }
    /// Map `name` to `addrs` without vouching: the address rules apply (a rebinding name).
    pub fn unvouched(mut self, name: &str, addrs: &[SocketAddr]) -> FixedResolver {
        self.map.insert(name.to_string(), addrs.to_vec());
        self
    }
}

impl Resolver for FixedResolver {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> ResolveFuture<'a> {
        Box::pin(async move {
            match self.map.get(host) {
                // A mapped address keeps its own port only when the test asked for that port;
                // otherwise the requested one (as DNS would).
                Some(a) => Ok(a
                    .iter()
                    .map(|s| {
                        if s.port() == 0 {
                            SocketAddr::new(s.ip(), port)
                        } else {
                            *s
                        }
                    })
                    .collect()),
                None => Err(io::Error::new(io::ErrorKind::NotFound, "unknown test host")),
            }
        })
    }
    fn vouches_for(&self, host: &str, addr: &SocketAddr) -> bool {
        // A mapped port of 0 stands for whichever port was asked for.
        self.vouched.iter().any(|(h, a)| {
            h == host && a.ip() == addr.ip() && (a.port() == 0 || a.port() == addr.port())
        })
    }
}

/// Per-run caps, over all connections of one proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Connections (requests that pass the name check) at most.
    pub connections: u64,
    /// Bytes relayed in both directions at most.
    pub bytes: u64,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            connections: 1024,
            bytes: 4 << 30,
        }
    }
}

/// What the proxy did, for the user's notices, the audit log and (later) the after-run record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A request was refused; the program got a 403 with `reason`.
    Denied {
        host: String,
        port: u16,
        reason: Denial,
    },
    /// A connection to an allowed host was made.
    Connected {
        host: String,
        port: u16,
        addr: SocketAddr,
    },
    /// An allowed host could not be reached (the program got a 502).
    Failed {
        host: String,
        port: u16,
        error: String,
    },
    /// A relayed connection ended, with the bytes sent by the program and received from the host.
    Closed {
        host: String,
        port: u16,
        sent: u64,
        received: u64,
    },
}

/// Callback that receives every [`Event`].
pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

/// The proxy: an allowlist, caps, a resolver and an event sink.
pub struct Proxy {
    list: AllowList,
    caps: Caps,
    resolver: Arc<dyn Resolver>,
    sink: EventSink,
    connections: AtomicU64,
    bytes: AtomicU64,
}

/// A proxy running on its own thread; dropping it stops accepting.
pub struct ProxyHandle {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Proxy {
    /// A proxy for `list` with `caps`, the system resolver and no event sink.
    pub fn new(list: AllowList, caps: Caps) -> Proxy {
        Proxy {
            list,
            caps,
            resolver: Arc::new(SystemResolver),
            sink: Arc::new(|_| {}),
            connections: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// Send every event to `sink`.
    pub fn on_event(mut self, sink: EventSink) -> Proxy {
        self.sink = sink;
        self
    }

    /// Use `resolver` instead of the system resolver (tests).
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolver>) -> Proxy {
        self.resolver = resolver;
        self
    }

    /// The allowlist this proxy enforces.
    pub fn allow_list(&self) -> &AllowList {
        &self.list
    }

    /// Serve connections accepted on `listener` until the future is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // EMFILE and the like: back off briefly rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let me = self.clone();
            tokio::spawn(async move { me.handle(stream).await });
        }
    }

    /// Serve `listener` on a new thread with its own runtime.
    pub fn spawn(self, listener: std::net::TcpListener) -> io::Result<ProxyHandle> {
        listener.set_nonblocking(true)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let me = Arc::new(self);
        let thread = std::thread::Builder::new()
            .name("interlock-netproxy".into())
            .spawn(move || {
                rt.block_on(async move {
                    let l = match TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(_) => return,
                    };
                    tokio::select! {
                        _ = me.serve(l) => {}
                        _ = rx => {}
                    }
                });
            })?;
        Ok(ProxyHandle {
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    fn emit(&self, e: Event) {
        (self.sink)(e)
    }

    async fn deny(&self, client: &mut TcpStream, host: &str, port: u16, reason: Denial) {
        let body = format!("interlock blocked {host}:{port}: {reason}\n");
        let status = match reason {
            Denial::BadRequest(_) => "400 Bad Request",
            _ => "403 Forbidden",
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
             X-Interlock-Denied: {}\r\nConnection: close\r\n\r\n",
            body.len(),
            reason.code()
        );
        let _ = client.write_all(head.as_bytes()).await;
        let _ = client.write_all(body.as_bytes()).await;
        let _ = client.shutdown().await;
        self.emit(Event::Denied {
            host: host.to_string(),
            port,
            reason,
        });
    }

    async fn handle(&self, mut client: TcpStream) {
        let _ = client.set_nodelay(true);
        let (head, rest) = match tokio::time::timeout(STEP_TIMEOUT, read_head(&mut client)).await {
            Ok(Ok(x)) => x,
            Ok(Err(e)) => {
                self.deny(&mut client, "?", 0, Denial::BadRequest(e)).await;
                return;
            }
            Err(_) => return,
        };
        let req = match parse_request(&head) {
            Ok(r) => r,
            Err(e) => {
                self.deny(&mut client, "?", 0, Denial::BadRequest(e)).await;
                return;
            }
        };
        let (host, port) = (req.host.clone(), req.port);
        let target = match decide_target(&self.list, &host, port) {
            Ok(t) => t,
            Err(d) => return self.deny(&mut client, &host, port, d).await,
        };
        let n = self.connections.fetch_add(1, Ordering::Relaxed) + 1;
        if n > self.caps.connections {
            let d = Denial::ConnectionCap(self.caps.connections);
            return self.deny(&mut client, &host, port, d).await;
        }
        if self.bytes.load(Ordering::Relaxed) >= self.caps.bytes {
            let d = Denial::ByteCap(self.caps.bytes);
            return self.deny(&mut client, &host, port, d).await;
        }
        let addrs = match &target {
            Target::Ip(ip) => vec![SocketAddr::new(*ip, port)],
            Target::Name(name) => {
                match tokio::time::timeout(STEP_TIMEOUT, self.resolver.resolve(name, port)).await {
                    Ok(Ok(a)) => a,
                    Ok(Err(e)) => {
                        let d = Denial::Unresolved(e.to_string());
                        return self.deny(&mut client, &host, port, d).await;
                    }
                    Err(_) => {
                        let d = Denial::Unresolved("timed out".into());
                        return self.deny(&mut client, &host, port, d).await;
                    }
                }
            }
        };
        let resolver = self.resolver.clone();
        let name = match &target {
            Target::Name(n) => n.clone(),
            Target::Ip(_) => String::new(),
        };
        let vouched = move |a: &SocketAddr| !name.is_empty() && resolver.vouches_for(&name, a);
        let addrs = match decide_addrs(&self.list, &addrs, &vouched) {
            Ok(a) => a,
            Err(d) => return self.deny(&mut client, &host, port, d).await,
        };
        let mut last_err = String::from("no address");
        let mut upstream = None;
        for a in &addrs {
            match tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect(a)).await {
                Ok(Ok(s)) => {
                    upstream = Some((s, *a));
                    break;
                }
                Ok(Err(e)) => last_err = e.to_string(),
                Err(_) => last_err = "connection timed out".into(),
            }
        }
        let Some((mut up, addr)) = upstream else {
            let body = format!("interlock could not reach {host}:{port}: {last_err}\n");
            let head = format!(
                "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = client.write_all(head.as_bytes()).await;
            let _ = client.write_all(body.as_bytes()).await;
            self.emit(Event::Failed {
                host,
                port,
                error: last_err,
            });
            return;
        };
        let _ = up.set_nodelay(true);
        self.emit(Event::Connected {
            host: host.clone(),
            port,
            addr,
        });
        let (sent, received) = match req.kind {
            Kind::Connect => {
                if client
                    .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                self.relay(client, up, rest, None).await
            }
            Kind::Forward { head, body_len } => {
                if up.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                self.relay(client, up, rest, Some(body_len)).await
            }
        };
        if sent + received > 0 && self.bytes.load(Ordering::Relaxed) > self.caps.bytes {
            self.emit(Event::Denied {
                host: host.clone(),
                port,
                reason: Denial::ByteCap(self.caps.bytes),
            });
        }
        self.emit(Event::Closed {
            host,
            port,
            sent,
            received,
        });
    }

    /// Relay bytes both ways. `upload` says what is taken from the client after the head: `None`
    /// for a tunnel (everything, until either side is done), `Some(Some(n))` for a forwarded request
    /// with an `n`-byte body, `Some(None)` for a forwarded chunked body. A forwarded request ends
    /// when the response does. Returns (bytes sent by the client, bytes received from upstream).
    async fn relay(
        &self,
        client: TcpStream,
        up: TcpStream,
        already: Vec<u8>,
        upload: Option<Option<u64>>,
    ) -> (u64, u64) {
        let (mut cr, mut cw) = client.into_split();
        let (mut ur, mut uw) = up.into_split();
        let sent = AtomicU64::new(0);
        let to_up = async {
            let mut left = upload.flatten();
            let first = match left {
                Some(l) => &already[..already.len().min(l as usize)],
                None => &already[..],
            };
            if !first.is_empty() {
                if !self.count(first.len()) || uw.write_all(first).await.is_err() {
                    return;
                }
                sent.fetch_add(first.len() as u64, Ordering::Relaxed);
                if let Some(l) = left.as_mut() {
                    *l -= first.len() as u64;
                }
            }
            let mut buf = vec![0u8; RELAY_BUF];
            loop {
                let want = match left {
                    Some(0) => return,
                    Some(l) => buf.len().min(l as usize),
                    None => buf.len(),
                };
                let n = match cr.read(&mut buf[..want]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if !self.count(n) || uw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                sent.fetch_add(n as u64, Ordering::Relaxed);
                if let Some(l) = left.as_mut() {
                    *l -= n as u64;
                }
            }
            let _ = uw.shutdown().await;
        };
        let to_client = async {
            let mut received = 0u64;
            let mut buf = vec![0u8; RELAY_BUF];
            loop {
                let n = match ur.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if !self.count(n) || cw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                received += n as u64;
            }
            let _ = cw.shutdown().await;
            received
        };
        let received = if upload.is_some() {
            tokio::pin!(to_up);
            tokio::pin!(to_client);
            tokio::select! {
                _ = &mut to_up => to_client.await,
                r = &mut to_client => r,
            }
        } else {
            tokio::join!(to_up, to_client).1
        };
        (sent.load(Ordering::Relaxed), received)
    }

    /// Count `n` relayed bytes; false once the per-run cap is exceeded.
    fn count(&self, n: usize) -> bool {
        let total = self.bytes.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        total <= self.caps.bytes
    }
}

enum Kind {
    Connect,
    /// A forwarded request: the rewritten head, and the request body length to relay
    /// (`None`: chunked or unknown, relayed as it comes).
    Forward {
        head: String,
        body_len: Option<u64>,
    },
}

struct Request {
    host: String,
    port: u16,
    kind: Kind,
}

/// Read up to the end of the request head; returns the head and any bytes after it.
async fn read_head(s: &mut TcpStream) -> Result<(String, Vec<u8>), String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            let head =
                String::from_utf8(buf).map_err(|_| "request head is not UTF-8".to_string())?;
            return Ok((head, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err("request head too large".into());
        }
        let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the request head ended".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Split an authority (`host:port`, `[v6]:port`, `host`) into host (brackets removed) and port.
fn split_authority(a: &str, default_port: Option<u16>) -> Result<(String, u16), String> {
    let bad = || format!("bad host {a:?}");
    let (host, port) = if let Some(rest) = a.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(bad)?;
        h.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        (h, after.strip_prefix(':'))
    } else {
        match a.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        }
    };
    let port = match port {
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(bad()),
        },
        None => default_port.ok_or_else(|| format!("{a:?} needs a port"))?,
    };
    if host.is_empty() || host.contains(['@', '/', '\\', '%', ' ']) {
        return Err(bad());
    }
    if let Ok(IpAddr::V6(_)) = host.parse::<IpAddr>()
        && !a.starts_with('[')
    {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

fn parse_request(head: &str) -> Result<Request, String> {
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or("");
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("bad request line {first:?}"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(format!("unsupported protocol {version:?}"));
    }
    if method.eq_ignore_ascii_case("CONNECT") {
        let (host, port) = split_authority(target, None)?;
        return Ok(Request {
            host,
            port,
            kind: Kind::Connect,
        });
    }
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!("bad method {method:?}"));
    }
    let Some(after) = target.strip_prefix("http://").or_else(|| {
        target
            .get(..7)
            .filter(|s| s.eq_ignore_ascii_case("http://"))
            .map(|_| &target[7..])
    }) else {
        return Err(if target.starts_with("https://") {
            "https:// URLs must use CONNECT".into()
        } else {
            format!("not a proxy request (expected CONNECT or an http:// URL): {target:?}")
        });
    };
    let (authority, path) = match after.find(['/', '?']) {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, "/"),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    let (host, port) = split_authority(authority, Some(80))?;
    let mut out = format!("{method} {path} {version}\r\n");
    let mut body_len: Option<u64> = Some(0);
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("bad header line {line:?}"));
        };
        let lname = name.trim().to_ascii_lowercase();
        match lname.as_str() {
            // The Host header is the URL's authority: a different one would reach another site
            // on the same server (domain fronting).
            "host"
            | "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authorization"
            | "te"
            | "upgrade" => continue,
            "content-length" => {
                body_len = Some(
                    value
                        .trim()
                        .parse()
                        .map_err(|_| "bad Content-Length".to_string())?,
                )
            }
            "transfer-encoding" => body_len = None,
            _ => {}
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(&format!("Host: {authority}\r\nConnection: close\r\n\r\n"));
    Ok(Request {
        host,
        port,
        kind: Kind::Forward {
            head: out,
            body_len,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_requests_name_host_and_port() {
        let r = parse_request("CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443").unwrap();
        assert_eq!((r.host.as_str(), r.port), ("pypi.org", 443));
        let r = parse_request("CONNECT [::1]:443 HTTP/1.1").unwrap();
        assert_eq!((r.host.as_str(), r.port), ("::1", 443));
        assert!(parse_request("CONNECT pypi.org HTTP/1.1").is_err());
        assert!(parse_request("CONNECT user@pypi.org:443 HTTP/1.1").is_err());
        assert!(parse_request("CONNECT ::1:443 HTTP/1.1").is_err());
    }

    #[test]
    fn forwarded_requests_get_the_urls_host_and_close() {
        let r = parse_request(
            "POST http://a.example.org:8080/x?y=1 HTTP/1.1\r\nHost: evil.example\r\n\
             Proxy-Connection: keep-alive\r\nContent-Length: 3\r\nAccept: */*",
        )
        .unwrap();
        assert_eq!((r.host.as_str(), r.port), ("a.example.org", 8080));
        let Kind::Forward { head, body_len } = r.kind else {
            panic!("not forwarded")
        };
        assert_eq!(body_len, Some(3));
        assert_eq!(
            head,
            "POST /x?y=1 HTTP/1.1\r\nContent-Length: 3\r\nAccept: */*\r\n\
             Host: a.example.org:8080\r\nConnection: close\r\n\r\n"
        );
        assert!(!head.contains("evil"));
        let r = parse_request("GET http://a.org HTTP/1.0").unwrap();
        assert_eq!(r.port, 80);
        assert!(parse_request("GET https://a.org/ HTTP/1.1").is_err());
        assert!(parse_request("GET /local HTTP/1.1").is_err());
        assert!(parse_request("GET http://u:p@a.org/ HTTP/1.1").is_err());
        assert!(parse_request("GET http://a.org/ HTTP/2").is_err());
    }
}

//! The proxy against real loopback servers, reached only through the test resolver seam.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use interlock_netproxy::{AllowList, Caps, Event, FixedResolver, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server that answers every connection with one HTTP response echoing the request head it got.
async fn echo_http_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = String::from_utf8_lossy(&buf).to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    addr
}

struct Harness {
    proxy: SocketAddr,
    upstream: SocketAddr,
    events: Arc<Mutex<Vec<Event>>>,
}

async fn exchange(proxy: SocketAddr, head: &str) -> String {
    let mut s = TcpStream::connect(proxy).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).to_string()
}

/// A harness whose allowlist names the upstream's port (bound before the list is made).
async fn harness_for_port(extra: &[&str], caps: Caps) -> Harness {
    let upstream = echo_http_server().await;
    let port = upstream.port();
    let mut entries = vec![
        format!("allowed.test:{port}"),
        format!("rebind.test:{port}"),
        "metadata.test:80".to_string(),
    ];
    entries.extend(extra.iter().map(|s| s.to_string()));
    let resolver = FixedResolver::new()
        .vouched("allowed.test", &[upstream])
        .unvouched("rebind.test", &[upstream])
        .unvouched("metadata.test", &["169.254.169.254:80".parse().unwrap()]);
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    let proxy = Proxy::new(AllowList::parse(&entries).unwrap(), caps)
        .with_resolver(Arc::new(resolver))
        .on_event(Arc::new(move |e| ev.lock().unwrap().push(e)));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(Arc::new(proxy).serve(l));
    Harness {
        proxy: addr,
        upstream,
        events,
    }
}

fn denials(h: &Harness) -> Vec<(String, String)> {
    h.events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::Denied { host, reason, .. } => Some((host.clone(), reason.code().to_string())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn forwarded_request_reaches_the_allowed_host_with_the_urls_host() {
    let h = harness_for_port(&[], Caps::default()).await;
    let port = h.upstream.port();
    let resp = exchange(
        h.proxy,
        &format!("GET http://allowed.test:{port}/path HTTP/1.1\r\nHost: evil.example\r\n\r\n"),
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("GET /path HTTP/1.1"), "{resp}");
    assert!(
        resp.contains(&format!("Host: allowed.test:{port}")),
        "{resp}"
    );
    assert!(!resp.contains("evil.example"), "{resp}");
    let ev = h.events.lock().unwrap().clone();
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Connected { host, .. } if host == "allowed.test")),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Closed { host, received, .. } if host == "allowed.test" && *received > 0)),
        "{ev:?}"
    );
}

#[tokio::test]
async fn connect_tunnels_bytes_to_the_allowed_host() {
    let h = harness_for_port(&[], Caps::default()).await;
    let port = h.upstream.port();
    let mut s = TcpStream::connect(h.proxy).await.unwrap();
    s.write_all(format!("CONNECT allowed.test:{port} HTTP/1.1\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0u8; 39];
    s.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200 Connection Established\r\n\r\n");
    s.write_all(b"GET /tunnel HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("GET /tunnel HTTP/1.1"), "{out}");
}

#[tokio::test]
async fn every_kind_of_refusal_gets_a_403_with_its_reason_and_an_event() {
    let h = harness_for_port(&[], Caps::default()).await;
    let port = h.upstream.port();
    let cases = [
        (
            format!("CONNECT evil.example:{port} HTTP/1.1\r\n\r\n"),
            "not-allowed",
        ),
        (
            format!("CONNECT allowed.test:{} HTTP/1.1\r\n\r\n", port ^ 1),
            "not-allowed",
        ),
        (
            format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n"),
            "ip-literal",
        ),
        (
            format!("CONNECT [::1]:{port} HTTP/1.1\r\n\r\n"),
            "ip-literal",
        ),
        (
            "GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\n\r\n".to_string(),
            "ip-literal",
        ),
        (
            format!("CONNECT rebind.test:{port} HTTP/1.1\r\n\r\n"),
            "forbidden-address",
        ),
        (
            "GET http://metadata.test/ HTTP/1.1\r\n\r\n".to_string(),
            "forbidden-address",
        ),
        (
            "GET /no-proxy-form HTTP/1.1\r\n\r\n".to_string(),
            "bad-request",
        ),
    ];
    for (req, code) in &cases {
        let resp = exchange(h.proxy, req).await;
        let status = if *code == "bad-request" { "400" } else { "403" };
        assert!(
            resp.starts_with(&format!("HTTP/1.1 {status}")),
            "{req}: {resp}"
        );
        assert!(
            resp.contains(&format!("X-Interlock-Denied: {code}")),
            "{req}: {resp}"
        );
        assert!(resp.contains("interlock blocked"), "{req}: {resp}");
    }
    let d = denials(&h);
    let codes: Vec<&str> = d.iter().map(|(_, c)| c.as_str()).collect();
    let want: Vec<&str> = cases.iter().map(|(_, c)| *c).collect();
    assert_eq!(codes, want);
    assert_eq!(d[0].0, "evil.example");
    assert_eq!(d[5].0, "rebind.test");
    // No refused request ever reached the upstream.
    assert!(
        !h.events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, Event::Connected { .. }))
    );
}

#[tokio::test]
async fn an_exact_ip_entry_reaches_an_internal_address() {
    let upstream = echo_http_server().await;
    let entry = upstream.to_string();
    let proxy = Proxy::new(
        AllowList::parse(&[entry.as_str()]).unwrap(),
        Caps::default(),
    );
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(Arc::new(proxy).serve(l));
    let resp = exchange(addr, &format!("GET http://{upstream}/ip HTTP/1.1\r\n\r\n")).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
}

#[tokio::test]
async fn caps_on_connections_and_bytes_hold() {
    let h = harness_for_port(
        &[],
        Caps {
            connections: 2,
            bytes: u64::MAX,
        },
    )
    .await;
    let port = h.upstream.port();
    let req = format!("GET http://allowed.test:{port}/ HTTP/1.1\r\n\r\n");
    assert!(exchange(h.proxy, &req).await.starts_with("HTTP/1.1 200"));
    assert!(exchange(h.proxy, &req).await.starts_with("HTTP/1.1 200"));
    let third = exchange(h.proxy, &req).await;
    assert!(third.contains("connection-cap"), "{third}");

    let h = harness_for_port(
        &[],
        Caps {
            connections: 100,
            bytes: 10,
        },
    )
    .await;
    let port = h.upstream.port();
    let req = format!("GET http://allowed.test:{port}/ HTTP/1.1\r\n\r\n");
    let first = exchange(h.proxy, &req).await;
    assert!(first.len() < 10, "more than the cap was relayed: {first}");
    let second = exchange(h.proxy, &req).await;
    assert!(second.contains("byte-cap"), "{second}");
}

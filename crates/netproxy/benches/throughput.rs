//! Proxy cost on loopback (issue 18 item 6): a 100 MB download through a `CONNECT` tunnel vs
//! direct, and the time to open a connection and get one byte back through the proxy vs direct.
//! Run with `cargo bench -p interlock-netproxy --bench throughput`; prints a table, asserts nothing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use interlock_netproxy::{AllowList, Caps, FixedResolver, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SIZE: u64 = 100 << 20;
const ROUNDS: usize = 5;
const CONNECTS: usize = 300;

/// Sends SIZE bytes to every connection after its first byte arrives (`b` = bulk), or echoes one
/// byte (`p` = ping).
async fn server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let mut b = [0u8; 1];
                if s.read_exact(&mut b).await.is_err() {
                    return;
                }
                if b[0] == b'p' {
                    let _ = s.write_all(b"p").await;
                    return;
                }
                let chunk = vec![7u8; 256 << 10];
                let mut left = SIZE;
                while left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    if s.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    left -= n as u64;
                }
            });
        }
    });
    a
}

async fn open(proxy: Option<SocketAddr>, upstream: SocketAddr) -> TcpStream {
    match proxy {
        None => TcpStream::connect(upstream).await.unwrap(),
        Some(p) => {
            let mut s = TcpStream::connect(p).await.unwrap();
            s.set_nodelay(true).unwrap();
            let req = format!("CONNECT bench.test:{} HTTP/1.1\r\n\r\n", upstream.port());
            s.write_all(req.as_bytes()).await.unwrap();
            let mut head = [0u8; 39];
            s.read_exact(&mut head).await.unwrap();
            assert!(head.starts_with(b"HTTP/1.1 200"));
            s
        }
    }
}

async fn download(proxy: Option<SocketAddr>, upstream: SocketAddr) -> Duration {
    let t = Instant::now();
    let mut s = open(proxy, upstream).await;
    s.write_all(b"b").await.unwrap();
    let mut buf = vec![0u8; 256 << 10];
    let mut got = 0u64;
    while got < SIZE {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0);
        got += n as u64;
    }
    t.elapsed()
}

async fn ping(proxy: Option<SocketAddr>, upstream: SocketAddr) -> Duration {
    let t = Instant::now();
    let mut s = open(proxy, upstream).await;
    s.set_nodelay(true).unwrap();
    s.write_all(b"p").await.unwrap();
    let mut b = [0u8; 1];
    s.read_exact(&mut b).await.unwrap();
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let upstream = server().await;
        let entry = format!("bench.test:{}", upstream.port());
        let resolver = FixedResolver::new().vouched("bench.test", &[upstream]);
        let proxy = Proxy::new(
            AllowList::parse(&[entry.as_str()]).unwrap(),
            Caps {
                connections: u64::MAX,
                bytes: u64::MAX,
            },
        )
        .with_resolver(Arc::new(resolver));
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let p = l.local_addr().unwrap();
        tokio::spawn(Arc::new(proxy).serve(l));

        let mut direct = Vec::new();
        let mut proxied = Vec::new();
        for _ in 0..ROUNDS {
            direct.push(download(None, upstream).await);
            proxied.push(download(Some(p), upstream).await);
        }
        let mb = SIZE as f64 / (1 << 20) as f64;
        let (d, x) = (median(direct), median(proxied));
        let (dr, xr) = (mb / d.as_secs_f64(), mb / x.as_secs_f64());
        println!("100 MB download, median of {ROUNDS}:");
        println!("  direct   {:>8.1} MB/s", dr);
        println!(
            "  proxied  {:>8.1} MB/s  ({:.0}% of direct)",
            xr,
            100.0 * xr / dr
        );

        let mut direct = Vec::new();
        let mut proxied = Vec::new();
        for _ in 0..CONNECTS {
            direct.push(ping(None, upstream).await);
            proxied.push(ping(Some(p), upstream).await);
        }
        let (d, x) = (median(direct), median(proxied));
        println!("connect + 1-byte round trip, median of {CONNECTS}:");
        println!("  direct   {:>8.0} µs", d.as_secs_f64() * 1e6);
        println!(
            "  proxied  {:>8.0} µs  (+{:.0} µs per connection)",
            x.as_secs_f64() * 1e6,
            (x.as_secs_f64() - d.as_secs_f64()) * 1e6
        );
    });
}

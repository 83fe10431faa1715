//! The HTTP side: a deliberately small HTTP/1.1 server over a tokio
//! `TcpListener`. Every response carries `Connection: close`; SSE bodies use
//! chunked transfer encoding so that a [`Reply::Cut`] is a real truncation
//! the client can notice.

use crate::reply::{EXHAUSTED_TEXT, MODEL_NAME, Reply, error_body};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, or `Value::Null` when it is not JSON.
    pub body: Value,
    /// The body as (lossy) text.
    pub body_text: String,
}

impl RecordedRequest {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether this is a chat request: OpenAI chat completions or Anthropic
    /// messages.
    pub fn is_chat(&self) -> bool {
        self.method == "POST" && (is_chat_path(&self.path) || is_messages_path(&self.path))
    }
}

fn is_chat_path(path: &str) -> bool {
    path == "/v1/chat/completions" || path == "/chat/completions"
}

fn is_messages_path(path: &str) -> bool {
    path == "/v1/messages" || path == "/messages"
}

/// Called for each request as it is recorded (the binary uses it to log).
pub type RequestHook = Arc<dyn Fn(&RecordedRequest) + Send + Sync>;

/// How to start a server beyond the script itself.
#[derive(Clone, Default)]
pub struct ServerOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub on_request: Option<RequestHook>,
}

struct State {
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<RecordedRequest>>,
    chat_seq: Mutex<usize>,
    models: Mutex<Option<Value>>,
    on_request: Option<RequestHook>,
}

/// Shared view of a running server, used by both server flavours.
#[derive(Clone)]
struct Shared {
    addr: SocketAddr,
    state: Arc<State>,
}

impl Shared {
    fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
    fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().unwrap().clone()
    }
    fn chat_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.is_chat())
            .collect()
    }
    fn push(&self, reply: Reply) {
        self.state.script.lock().unwrap().push_back(reply);
    }
    fn remaining(&self) -> usize {
        self.state.script.lock().unwrap().len()
    }
    fn set_models(&self, body: Value) {
        *self.state.models.lock().unwrap() = Some(body);
    }
}

/// A scripted OpenAI-compatible server running on the caller's tokio runtime.
/// Stops (and drops every open connection) when dropped.
pub struct ScriptedServer {
    shared: Shared,
    task: JoinHandle<()>,
}

impl ScriptedServer {
    /// Starts on a free port of 127.0.0.1. Panics if it cannot bind (tests only).
    pub async fn start(script: Vec<Reply>) -> ScriptedServer {
        Self::start_with(script, ServerOptions::default())
            .await
            .expect("bind scripted server")
    }

    /// Starts with options (fixed port, request hook).
    pub async fn start_with(script: Vec<Reply>, opts: ServerOptions) -> io::Result<ScriptedServer> {
        let listener = TcpListener::bind(("127.0.0.1", opts.port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            script: Mutex::new(script.into()),
            requests: Mutex::new(Vec::new()),
            chat_seq: Mutex::new(0),
            models: Mutex::new(None),
            on_request: opts.on_request,
        });
        let task = tokio::spawn(accept_loop(listener, state.clone()));
        Ok(ScriptedServer {
            shared: Shared { addr, state },
            task,
        })
    }

    /// Starts on its own thread with its own runtime, for tests that are not
    /// async (e.g. driving the CLI binary). Stops when the handle is dropped.
    pub fn start_background(script: Vec<Reply>) -> BackgroundServer {
        BackgroundServer::start(script, ServerOptions::default()).expect("start scripted server")
    }

    /// `http://127.0.0.1:PORT/v1`
    pub fn base_url(&self) -> String {
        self.shared.base_url()
    }
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }
    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }
    /// Only the chat-completions requests.
    pub fn chat_requests(&self) -> Vec<RecordedRequest> {
        self.shared.chat_requests()
    }
    /// Appends a reply to the script.
    pub fn push(&self, reply: Reply) {
        self.shared.push(reply)
    }
    /// Replies not yet played.
    pub fn remaining(&self) -> usize {
        self.shared.remaining()
    }
    /// Replaces the body of `GET /v1/models` (to imitate Ollama, LM Studio,
    /// llama.cpp, ...).
    pub fn set_models(&self, body: Value) {
        self.shared.set_models(body)
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A [`ScriptedServer`] on a background thread; see
/// [`ScriptedServer::start_background`].
pub struct BackgroundServer {
    shared: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BackgroundServer {
    pub fn start(script: Vec<Reply>, opts: ServerOptions) -> io::Result<BackgroundServer> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("scripted-server".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    match ScriptedServer::start_with(script, opts).await {
                        Ok(srv) => {
                            let _ = tx.send(Ok(srv.shared.clone()));
                            let _ = shutdown_rx.await;
                            drop(srv);
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            })?;
        let shared = rx
            .recv()
            .map_err(|_| io::Error::other("server thread died"))??;
        Ok(BackgroundServer {
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    pub fn base_url(&self) -> String {
        self.shared.base_url()
    }
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }
    pub fn chat_requests(&self) -> Vec<RecordedRequest> {
        self.shared.chat_requests()
    }
    pub fn push(&self, reply: Reply) {
        self.shared.push(reply)
    }
    pub fn remaining(&self) -> usize {
        self.shared.remaining()
    }
    pub fn set_models(&self, body: Value) {
        self.shared.set_models(body)
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    // Owning the connections here means aborting this task aborts them all.
    let mut conns = JoinSet::new();
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        while conns.try_join_next().is_some() {}
        let state = state.clone();
        conns.spawn(async move {
            let _ = handle(sock, state).await;
        });
    }
}

struct RawRequest {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 32 * 1024 * 1024;

async fn read_request(sock: &mut TcpStream) -> io::Result<Option<RawRequest>> {
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(p) = find(&buf, b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::other("request head too large"));
        }
        let mut tmp = [0u8; 4096];
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if len > MAX_BODY {
        return Err(io::Error::other("request body too large"));
    }
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let mut tmp = vec![0u8; (len - body.len()).min(64 * 1024)];
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "body cut"));
        }
        body.extend_from_slice(&tmp[..n]);
    }
    body.truncate(len);
    Ok(Some(RawRequest {
        method,
        path,
        headers,
        body,
    }))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn handle(mut sock: TcpStream, state: Arc<State>) -> io::Result<()> {
    let Some(raw) = read_request(&mut sock).await? else {
        return Ok(());
    };
    let body_text = String::from_utf8_lossy(&raw.body).into_owned();
    let recorded = RecordedRequest {
        method: raw.method,
        path: raw.path,
        headers: raw.headers,
        body: serde_json::from_slice(&raw.body).unwrap_or(Value::Null),
        body_text,
    };
    if let Some(hook) = &state.on_request {
        hook(&recorded);
    }
    state.requests.lock().unwrap().push(recorded.clone());

    match (recorded.method.as_str(), recorded.path.as_str()) {
        ("GET", "/v1/models" | "/models") => {
            let custom = state.models.lock().unwrap().clone();
            let body = custom.unwrap_or_else(|| {
                json!({"object": "list", "data": [
                    {"id": MODEL_NAME, "object": "model", "owned_by": "interlock-testkit"},
                    {"id": "scripted-model-2", "object": "model", "owned_by": "interlock-testkit"},
                ]})
            });
            write_json(&mut sock, 200, &body).await
        }
        ("POST", p) if is_chat_path(p) || is_messages_path(p) => {
            let seq = {
                let mut s = state.chat_seq.lock().unwrap();
                *s += 1;
                *s
            };
            let next = state.script.lock().unwrap().pop_front();
            let reply = next.unwrap_or_else(|| Reply::Text(EXHAUSTED_TEXT.into()));
            let streaming = recorded.body.get("stream") == Some(&Value::Bool(true));
            let reply = if is_messages_path(p) {
                reply.resolve_anthropic(streaming, seq)
            } else {
                reply.resolve(streaming, seq)
            };
            play(&mut sock, reply, &recorded).await
        }
        _ => write_json(&mut sock, 404, &error_body("no such endpoint")).await,
    }
}

async fn play(sock: &mut TcpStream, reply: Reply, req: &RecordedRequest) -> io::Result<()> {
    match reply {
        Reply::Sse { chunks, delay_ms } => {
            let bytes = chunks.into_iter().map(String::into_bytes).collect();
            write_sse(sock, bytes, delay_ms, true).await
        }
        Reply::SseBytes { chunks, delay_ms } => write_sse(sock, chunks, delay_ms, true).await,
        Reply::Json { status, body } => write_json(sock, status, &body).await,
        Reply::Custom {
            status,
            headers,
            body,
        } => write_json_with(sock, status, &headers, &body).await,
        Reply::Hang => std::future::pending().await,
        Reply::Close => sock.shutdown().await,
        Reply::Cut { chunks } => {
            let bytes = chunks.into_iter().map(String::into_bytes).collect();
            write_sse(sock, bytes, 0, false).await
        }
        Reply::Stall { chunks } => {
            let bytes = chunks.into_iter().map(String::into_bytes).collect();
            write_sse(sock, bytes, 0, false).await?;
            std::future::pending().await
        }
        Reply::EchoHeaders { status } => {
            let echoed: Vec<String> = req
                .headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect();
            let msg = format!("request rejected; headers were: {}", echoed.join(", "));
            write_json(sock, status, &error_body(&msg)).await
        }
        shorthand => {
            // resolve() never leaves a shorthand; answer something sane anyway.
            let msg = format!("unresolved reply {shorthand:?}");
            write_json(sock, 500, &error_body(&msg)).await
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        529 => "Overloaded",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

async fn write_json(sock: &mut TcpStream, status: u16, body: &Value) -> io::Result<()> {
    write_json_with(sock, status, &[], body).await
}

async fn write_json_with(
    sock: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &Value,
) -> io::Result<()> {
    let body = body.to_string();
    let extra: String = headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    sock.write_all(head.as_bytes()).await?;
    sock.write_all(body.as_bytes()).await?;
    sock.flush().await?;
    sock.shutdown().await
}

/// Writes SSE headers and each chunk as one HTTP chunk, flushed on its own.
/// With `finish` false the chunked body is left unterminated and the
/// connection is dropped (or left open by the caller).
async fn write_sse(
    sock: &mut TcpStream,
    chunks: Vec<Vec<u8>>,
    delay_ms: u64,
    finish: bool,
) -> io::Result<()> {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    sock.write_all(head.as_bytes()).await?;
    sock.flush().await?;
    for (i, chunk) in chunks.iter().enumerate() {
        if chunk.is_empty() {
            continue; // a zero-length HTTP chunk would end the body
        }
        if i > 0 && delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(chunk);
        frame.extend_from_slice(b"\r\n");
        sock.write_all(&frame).await?;
        sock.flush().await?;
    }
    if finish {
        sock.write_all(b"0\r\n\r\n").await?;
        sock.flush().await?;
        sock.shutdown().await?;
    }
    Ok(())
}

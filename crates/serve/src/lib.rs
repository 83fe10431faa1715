//! `interlock serve`: many sandboxed sessions in one process, behind
//! mandatory auth, over HTTP (JSON), Server-Sent Events and WebSocket.
//!
//! This crate owns the server: the bearer token and its file, the Origin and
//! Host checks, the routes, server-side limits on what a client may ask for
//! (the sandbox cannot be turned off, auto-run cannot go above the server's
//! limit), rate limits, idle reaping and graceful shutdown. Sessions are
//! [`interlock_core::Agent`]s built by the caller's [`Factory`] (the CLI
//! chooses the executor exactly as it does for the chat) and driven through
//! the `Frontend` trait; every event goes out as the same JSON as `--json`.
//!
//! What it may not do: decide what code runs (that is `core`), or offer any
//! route that changes a running session's sandbox or auto-run, or moves files.

mod auth;
mod limits;
mod openapi;
mod page;
mod session;

pub use auth::{Origins, TOKEN_FILE, Token, TokenError, WS_BEARER_PREFIX, WS_PROTOCOL};
pub use limits::{Limits, RateLimiter};
pub use session::{Answer, Session};

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{Stream, StreamExt};
use interlock_audit::AuditLog;
use interlock_core::{Agent, NetworkSetting, SandboxSetting};
use interlock_guard::analysis::Risk;
use serde::Deserialize;
use serde_json::{Value, json};
use session::{Published, lock};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// What a session is built with, after the server checked it against its
/// limits.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// The session's own, new, empty workspace.
    pub workspace: PathBuf,
    /// Never `Off`: the server refuses that before a spec is made.
    pub sandbox: SandboxSetting,
    pub auto_run: bool,
    pub auto_run_max_risk: Risk,
    pub network: NetworkSetting,
}

/// A session's agent as the factory built it.
pub struct Built {
    pub agent: Agent,
    /// Kept alive as long as the agent (the executor and its temp dir).
    pub keep: Box<dyn Send>,
    /// What the session's clients must be told at its start.
    pub warnings: Vec<String>,
}

/// Builds a session's agent (the CLI supplies it; it chooses the executor
/// the same way the chat does, and fails closed).
pub type Factory = Arc<dyn Fn(&SessionSpec) -> Result<Built, String> + Send + Sync>;

/// How the server runs.
pub struct Config {
    pub listen: SocketAddr,
    /// interlock's state dir: the token and the audit log live here.
    pub state_dir: PathBuf,
    /// Each session's workspace is a new directory under this root.
    pub workspaces_root: PathBuf,
    /// Origins allowed besides the server's own.
    pub extra_origins: Vec<String>,
    pub limits: Limits,
    /// The sandbox mode sessions get unless they ask for read-only.
    pub default_sandbox: SandboxSetting,
}

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "--listen {0} is not a loopback address: anyone who can reach it could try the token, and it would travel unencrypted. Listen on 127.0.0.1 (reach it remotely through an SSH tunnel), or pass --insecure-listen if you really mean it (TLS is not supported yet)"
    )]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot create the sessions' workspace root {path}: {source}")]
    Root {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("cannot open the audit log: {0}")]
    Audit(#[from] interlock_audit::AuditError),
    #[error("the server failed: {0}")]
    Io(std::io::Error),
}

/// Refuses a non-loopback address unless `insecure` is set; with it, the
/// warning to print.
pub fn check_listen(addr: SocketAddr, insecure: bool) -> Result<Option<String>, ServeError> {
    if addr.ip().is_loopback() {
        return Ok(None);
    }
    if !insecure {
        return Err(ServeError::NotLoopback(addr));
    }
    Ok(Some(format!(
        "--insecure-listen: serving on {addr} without TLS. The token and everything sessions say travel in clear text to anyone on the path; prefer 127.0.0.1 and an SSH tunnel."
    )))
}

struct Server {
    cfg: Config,
    token: Token,
    origins: Origins,
    factory: Factory,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    creating: AtomicUsize,
    limiter: Mutex<RateLimiter>,
    audit: Mutex<AuditLog>,
    shutdown: CancellationToken,
}

type Shared = Arc<Server>;

impl Server {
    fn audit(&self, kind: &str, payload: Value) {
        // A failing audit log must not take the server down; it was
        // verified writable at start.
        let _ = lock(&self.audit).append(kind, payload);
    }

    fn session(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.sessions).get(id).cloned()
    }
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such session")
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Runs the server until SIGINT or SIGTERM, then closes every session
/// (kernels ended, histories synced) and the audit log. `ready` is called
/// with the bound address before the first request is served.
///
/// Needs a multi-threaded tokio runtime: a session waiting for an approval
/// blocks its worker (`block_in_place`), as the agent's `Frontend::approve`
/// is synchronous.
pub async fn run(
    cfg: Config,
    token: Token,
    factory: Factory,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    std::fs::create_dir_all(&cfg.workspaces_root).map_err(|source| ServeError::Root {
        path: cfg.workspaces_root.clone(),
        source,
    })?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: cfg.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(ServeError::Io)?;
    let origins = Origins::for_listen(addr, &cfg.extra_origins);
    let server_id = format!("serve-{}", auth::random_hex(6)?);
    let mut audit = AuditLog::open(&cfg.state_dir, &server_id)?;
    audit.append(
        "serve_start",
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "listen": addr.to_string(),
            "origins": origins.origins(),
            "token": token.id(),
            "workspaces_root": cfg.workspaces_root.display().to_string(),
            "max_sessions": cfg.limits.max_sessions,
            "auto_run_max_risk": cfg.limits.auto_run_max_risk,
        }),
    )?;
    let limiter = RateLimiter::new(cfg.limits.messages_per_minute);
    let shared: Shared = Arc::new(Server {
        cfg,
        token,
        origins,
        factory,
        sessions: Mutex::new(HashMap::new()),
        creating: AtomicUsize::new(0),
        limiter: Mutex::new(limiter),
        audit: Mutex::new(audit),
        shutdown: CancellationToken::new(),
    });
    let reaper = tokio::spawn(reap(shared.clone()));
    let app = router(shared.clone());
    // Signal handlers are in place before anyone is told the server is up,
    // so an early SIGTERM is a graceful stop, not a kill.
    let signals = Signals::install().map_err(ServeError::Io)?;
    ready(addr);
    let stop = shared.shutdown.clone();
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        signals.recv().await;
        // Streams end first, so open SSE/WebSocket connections do not hold
        // the graceful shutdown open.
        stop.cancel();
    });
    let result = serve.await.map_err(ServeError::Io);
    reaper.abort();
    let all: Vec<Arc<Session>> = lock(&shared.sessions).drain().map(|(_, s)| s).collect();
    for s in &all {
        s.close("the server is shutting down").await;
    }
    shared.audit("serve_stop", json!({ "sessions_closed": all.len() }));
    let _ = lock(&shared.audit).sync();
    result
}

/// SIGINT and SIGTERM, registered at once.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    async fn recv(mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}

/// Closes sessions idle for longer than the limit.
async fn reap(server: Shared) {
    let idle = server.cfg.limits.idle_timeout;
    let every = (idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
    loop {
        tokio::time::sleep(every).await;
        let now = Instant::now();
        let stale: Vec<Arc<Session>> = {
            let mut map = lock(&server.sessions);
            let ids: Vec<String> = map
                .iter()
                .filter(|(_, s)| now.saturating_duration_since(s.idle_since()) > idle)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| map.remove(id)).collect()
        };
        for s in stale {
            s.close("the session was idle too long").await;
            server.audit("serve_session_reaped", json!({ "id": s.id }));
        }
    }
}

fn router(server: Shared) -> Router {
    let api = Router::new()
        .route("/openapi.json", get(openapi_doc))
        .route("/api/sessions", get(list_sessions).post(create_session))
        .route(
            "/api/sessions/{id}",
            get(get_session).delete(delete_session),
        )
        .route("/api/sessions/{id}/messages", post(send_message))
        .route("/api/sessions/{id}/events", get(sse_events))
        .route("/api/sessions/{id}/approvals", get(list_approvals))
        .route("/api/sessions/{id}/approvals/{aid}", post(answer_approval))
        .route("/api/sessions/{id}/interrupt", post(interrupt))
        .route("/api/sessions/{id}/history", get(history))
        .route_layer(axum::middleware::from_fn_with_state(
            server.clone(),
            require_bearer,
        ));
    // The WebSocket authenticates itself: browsers cannot set headers on it.
    // The page's static files hold no data and load before the token is typed.
    Router::new()
        .merge(api)
        .merge(page::routes())
        .route("/api/sessions/{id}/ws", get(ws_events))
        .layer(axum::middleware::from_fn_with_state(
            server.clone(),
            check_origin,
        ))
        .with_state(server)
}

/// Host and Origin: a request from another site's page, or addressed to
/// another name (DNS rebinding), is refused before anything else.
async fn check_origin(State(server): State<Shared>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !server.origins.host_allowed(host) {
        return error(
            StatusCode::FORBIDDEN,
            "the Host header does not name this server",
        );
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .is_ok_and(|o| server.origins.origin_allowed(o, host));
        if !ok {
            return error(StatusCode::FORBIDDEN, "this Origin is not allowed");
        }
    }
    next.run(req).await
}

fn bearer_ok(server: &Server, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(auth::bearer)
        .is_some_and(|t| server.token.matches(t))
}

/// `Authorization: Bearer TOKEN` on every API request. A token anywhere
/// else (the query string, a cookie) is never looked at.
async fn require_bearer(State(server): State<Shared>, req: Request, next: Next) -> Response {
    if !bearer_ok(&server, req.headers()) {
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong token: send `Authorization: Bearer TOKEN` (the token is in the state directory's serve-token file)",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    next.run(req).await
}

async fn openapi_doc() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi::DOCUMENT,
    )
        .into_response()
}

async fn list_sessions(State(server): State<Shared>) -> Response {
    let list: Vec<Value> = lock(&server.sessions)
        .values()
        .map(|s| s.summary())
        .collect();
    Json(json!({ "sessions": list })).into_response()
}

async fn get_session(State(server): State<Shared>, UrlPath(id): UrlPath<String>) -> Response {
    match server.session(&id).ok_or_else(not_found) {
        Ok(s) => Json(s.summary()).into_response(),
        Err(r) => r,
    }
}

/// What a client may ask for when it creates a session. Unknown fields are
/// errors, so a misspelt or unsupported setting is never silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    sandbox: Option<String>,
    auto_run: Option<bool>,
    auto_run_max_risk: Option<String>,
    network: Option<String>,
}

async fn create_session(State(server): State<Shared>, body: axum::body::Bytes) -> Response {
    let req: CreateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CreateRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return error(StatusCode::BAD_REQUEST, &format!("bad settings: {e}")),
        }
    };
    let spec_or = check_settings(&server, &req);
    let (sandbox, auto_run, auto_run_max_risk, network) = match spec_or {
        Ok(v) => v,
        Err((status, why)) => {
            if status == StatusCode::FORBIDDEN {
                server.audit(
                    "serve_refused",
                    json!({
                        "why": why,
                        "requested": {
                            "sandbox": req.sandbox,
                            "auto_run": req.auto_run,
                            "auto_run_max_risk": req.auto_run_max_risk,
                            "network": req.network,
                        },
                    }),
                );
            }
            return error(status, &why);
        }
    };
    {
        let map = lock(&server.sessions);
        if map.len() + server.creating.load(Ordering::SeqCst) >= server.cfg.limits.max_sessions {
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server holds as many sessions as it may; delete one first",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
            return r;
        }
        server.creating.fetch_add(1, Ordering::SeqCst);
    }
    let result = build_session(&server, sandbox, auto_run, auto_run_max_risk, network).await;
    server.creating.fetch_sub(1, Ordering::SeqCst);
    match result {
        Ok(s) => {
            server.audit("serve_session_created", s.summary());
            let body = s.summary();
            lock(&server.sessions).insert(s.id.clone(), s);
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e),
    }
}

type Checked = (SandboxSetting, bool, Risk, NetworkSetting);

/// Settings within the server's limits, or 403 (400 for nonsense).
fn check_settings(server: &Server, req: &CreateRequest) -> Result<Checked, (StatusCode, String)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let forbidden = |m: &str| (StatusCode::FORBIDDEN, m.to_string());
    let sandbox = match req.sandbox.as_deref() {
        None => server.cfg.default_sandbox,
        Some("workspace-write") => SandboxSetting::WorkspaceWrite,
        Some("read-only") => SandboxSetting::ReadOnly,
        Some("off") => {
            return Err(forbidden(
                "the sandbox cannot be turned off for a served session",
            ));
        }
        Some(o) => return Err(bad(format!("unknown sandbox mode {o:?}"))),
    };
    let limit = server.cfg.limits.auto_run_max_risk;
    let auto_run = req.auto_run.unwrap_or(false);
    let risk = match req.auto_run_max_risk.as_deref() {
        None => limit.unwrap_or(Risk::Low).min(Risk::Low),
        Some(r) => Risk::from_name(r).ok_or_else(|| bad(format!("unknown risk level {r:?}")))?,
    };
    if auto_run || req.auto_run_max_risk.is_some() {
        match limit {
            None if auto_run => {
                return Err(forbidden(
                    "auto-run is not allowed on this server (start it with --auto-run to allow it)",
                ));
            }
            Some(l) if risk > l => {
                return Err(forbidden(
                    "auto_run_max_risk is above this server's limit (--auto-run-max-risk)",
                ));
            }
            _ => {}
        }
    }
    let network = match req.network.as_deref() {
        None | Some("none") => NetworkSetting::None,
        Some("full") if server.cfg.limits.allow_full_network => NetworkSetting::Full,
        Some("full") => {
            return Err(forbidden(
                "the full network is not allowed on this server (start it with --network full to allow it)",
            ));
        }
        Some(o) => return Err(bad(format!("unknown network mode {o:?}"))),
    };
    Ok((sandbox, auto_run, risk, network))
}

async fn build_session(
    server: &Shared,
    sandbox: SandboxSetting,
    auto_run: bool,
    auto_run_max_risk: Risk,
    network: NetworkSetting,
) -> Result<Arc<Session>, String> {
    let id = auth::random_hex(16).map_err(|e| e.to_string())?;
    let workspace = server.cfg.workspaces_root.join(&id);
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&workspace)
            .map_err(|e| format!("cannot create {}: {e}", workspace.display()))?;
    }
    let spec = SessionSpec {
        workspace: workspace.clone(),
        sandbox,
        auto_run,
        auto_run_max_risk,
        network,
    };
    let factory = server.factory.clone();
    let built = tokio::task::spawn_blocking(move || factory(&spec))
        .await
        .map_err(|e| format!("building the session failed: {e}"))??;
    let settings = json!({
        "sandbox": sandbox.as_str(),
        "auto_run": auto_run,
        "auto_run_max_risk": auto_run_max_risk,
        "network": match network { NetworkSetting::None => "none", NetworkSetting::Full => "full" },
    });
    let session = Arc::new(Session::new(
        id,
        workspace,
        settings,
        server.shutdown.child_token(),
    ));
    session::spawn(session.clone(), built.agent, built.keep, built.warnings)?;
    Ok(session)
}

async fn delete_session(State(server): State<Shared>, UrlPath(id): UrlPath<String>) -> Response {
    let Some(s) = lock(&server.sessions).remove(&id) else {
        return error(StatusCode::NOT_FOUND, "no such session");
    };
    s.close("the session was deleted").await;
    server.audit("serve_session_deleted", json!({ "id": s.id }));
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageRequest {
    text: String,
}

async fn send_message(
    State(server): State<Shared>,
    UrlPath(id): UrlPath<String>,
    body: axum::body::Bytes,
) -> Response {
    // Rate limited per token before anything else is looked at.
    let taken = lock(&server.limiter).take(&server.token.id(), Instant::now());
    if let Err(wait) = taken {
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many messages; wait and retry",
        );
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let s = match server.session(&id).ok_or_else(not_found) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let req: MessageRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("bad message: {e}")),
    };
    if req.text.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "the message is empty");
    }
    if !s.send(req.text) {
        return error(
            StatusCode::CONFLICT,
            "a turn is running: wait for turn_finished, or interrupt it",
        );
    }
    (StatusCode::ACCEPTED, Json(json!({ "accepted": true }))).into_response()
}

async fn list_approvals(State(server): State<Shared>, UrlPath(id): UrlPath<String>) -> Response {
    match server.session(&id).ok_or_else(not_found) {
        Ok(s) => Json(json!({ "approvals": s.pending() })).into_response(),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerRequest {
    decision: String,
    feedback: Option<String>,
    code: Option<String>,
}

async fn answer_approval(
    State(server): State<Shared>,
    UrlPath((id, aid)): UrlPath<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let s = match server.session(&id).ok_or_else(not_found) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let req: AnswerRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("bad answer: {e}")),
    };
    let answer = match (req.decision.as_str(), req.code) {
        ("approve", None) => Answer::Approve,
        ("deny", None) => Answer::Deny {
            feedback: req.feedback,
        },
        ("edit", Some(code)) => Answer::Edit { code },
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "decision must be approve, deny (optional feedback) or edit (with code)",
            );
        }
    };
    if s.answer(&aid, answer) {
        Json(json!({ "answered": aid })).into_response()
    } else {
        error(StatusCode::NOT_FOUND, "no such pending approval")
    }
}

async fn interrupt(State(server): State<Shared>, UrlPath(id): UrlPath<String>) -> Response {
    match server.session(&id).ok_or_else(not_found) {
        Ok(s) => {
            s.interrupt("interrupted by the user");
            Json(json!({ "interrupted": true })).into_response()
        }
        Err(r) => r,
    }
}

async fn history(State(server): State<Shared>, UrlPath(id): UrlPath<String>) -> Response {
    match server.session(&id).ok_or_else(not_found) {
        Ok(s) => Json(json!({ "messages": s.history() })).into_response(),
        Err(r) => r,
    }
}

/// The session's events after `after`, then live ones, until the session or
/// the server ends. A subscriber too slow to keep up is disconnected (it can
/// reconnect with `Last-Event-ID` and miss nothing still in the backlog).
fn events(session: &Session, after: u64) -> impl Stream<Item = Published> + use<> {
    let (past, rx) = session.subscribe(after);
    let stop = session.closed.clone();
    let last = past.last().map_or(after, |p| p.0);
    let live = futures_util::stream::unfold((rx, stop, last), |(mut rx, stop, last)| async move {
        loop {
            tokio::select! {
                biased;
                r = rx.recv() => match r {
                    Ok(item) if item.0 <= last => continue,
                    Ok(item) => {
                        let seq = item.0;
                        return Some((item, (rx, stop, seq)));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) |
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = stop.cancelled() => return None,
            }
        }
    });
    futures_util::stream::iter(past).chain(live)
}

async fn sse_events(
    State(server): State<Shared>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let s = match server.session(&id).ok_or_else(not_found) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let stream = events(&s, after).map(|(seq, line)| {
        Ok::<_, std::convert::Infallible>(SseEvent::default().id(seq.to_string()).data(&*line))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Close codes sent when the WebSocket's first message does not authenticate.
const WS_UNAUTHORIZED: u16 = 4401;
const WS_NOT_FOUND: u16 = 4404;

#[derive(Deserialize)]
struct WsAuth {
    #[serde(rename = "type")]
    kind: String,
    token: String,
}

async fn ws_events(
    State(server): State<Shared>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let by_protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|h| h.to_str().ok())
        .and_then(auth::ws_protocol_token)
        .is_some_and(|t| server.token.matches(t));
    let authed = by_protocol || bearer_ok(&server, &headers);
    if authed && server.session(&id).is_none() {
        return error(StatusCode::NOT_FOUND, "no such session");
    }
    ws.protocols([WS_PROTOCOL])
        .on_upgrade(move |socket| ws_session(server, id, socket, authed))
}

async fn ws_close(mut socket: WebSocket, code: u16, reason: &'static str) {
    let _ = socket
        .send(WsMessage::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

async fn ws_session(server: Shared, id: String, mut socket: WebSocket, authed: bool) {
    if !authed {
        // The first message must be {"type":"auth","token":"..."}.
        let first = tokio::time::timeout(Duration::from_secs(10), socket.recv()).await;
        let ok = match first {
            Ok(Some(Ok(WsMessage::Text(t)))) => serde_json::from_str::<WsAuth>(t.as_str())
                .is_ok_and(|a| a.kind == "auth" && server.token.matches(&a.token)),
            _ => false,
        };
        if !ok {
            return ws_close(socket, WS_UNAUTHORIZED, "unauthorized").await;
        }
    }
    let Some(s) = server.session(&id) else {
        return ws_close(socket, WS_NOT_FOUND, "no such session").await;
    };
    let mut stream = std::pin::pin!(events(&s, 0));
    loop {
        tokio::select! {
            item = stream.next() => match item {
                Some((_, line)) => {
                    if socket.send(WsMessage::Text(line.to_string().into())).await.is_err() {
                        return;
                    }
                }
                None => return ws_close(socket, 1001, "the session ended").await,
            },
            incoming = socket.recv() => match incoming {
                // Nothing is accepted over the socket after auth: it is a
                // read-only event stream (answers go through the HTTP API).
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => s.touch(),
            },
        }
    }
}

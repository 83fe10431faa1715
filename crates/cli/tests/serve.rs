//! `interlock serve`, driven as a client would: the real binary, the scripted
//! model server, HTTP, SSE and WebSocket. The security tests of SECURITY.md's
//! "Server" section live here.

mod common;

use common::{Env, bin, code, run, stderr};
use futures_util::{SinkExt, StreamExt};
use interlock_testkit::{Reply, ScriptedServer};
use serde_json::{Value, json};
use std::io::BufRead;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tokio_tungstenite::tungstenite;

/// A guard against hanging, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(60);

struct Served {
    child: Child,
    addr: String,
    /// The token, when this start printed it.
    token: Option<String>,
    lines: mpsc::Receiver<String>,
}

impl Served {
    /// `interlock serve --listen 127.0.0.1:0 EXTRA…` against `base`.
    fn start(env: &Env, base: &str, extra: &[&str]) -> Served {
        let mut c = env.cmd(base);
        c.args(["--model", "test-model", "serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("start interlock serve");
        let err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut token = None;
        let mut seen = Vec::new();
        let addr = loop {
            let line = rx
                .recv_timeout(PATIENCE)
                .unwrap_or_else(|_| panic!("serve did not start; stderr so far: {seen:?}"));
            if let Some(t) = line
                .split("): ")
                .nth(1)
                .filter(|_| line.contains("token (shown once"))
            {
                token = Some(t.trim().to_string());
            }
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
            seen.push(line);
        };
        Served {
            child,
            addr,
            token,
            lines: rx,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGTERM, then the exit status.
    fn stop(&mut self) -> i32 {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let status = self.child.wait().expect("wait for serve");
        status.code().unwrap_or(-1)
    }

    /// Everything printed on stderr since start (after the server stopped).
    fn rest_of_stderr(&self) -> String {
        self.lines.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// An authorized request builder.
fn authed(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    c.request(method, url).bearer_auth(token)
}

async fn create(c: &reqwest::Client, s: &Served, token: &str, body: Value) -> reqwest::Response {
    authed(c, reqwest::Method::POST, &s.url("/api/sessions"), token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn create_ok(c: &reqwest::Client, s: &Served, token: &str) -> String {
    let r = create(c, s, token, json!({})).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

async fn post_json(
    c: &reqwest::Client,
    s: &Served,
    token: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let r = authed(c, reqwest::Method::POST, &s.url(path), token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get_json(c: &reqwest::Client, s: &Served, token: &str, path: &str) -> (u16, Value) {
    let r = authed(c, reqwest::Method::GET, &s.url(path), token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Reads a session's Server-Sent Events.
struct Events {
    resp: reqwest::Response,
    buf: String,
}

impl Events {
    async fn open(c: &reqwest::Client, s: &Served, token: &str, id: &str) -> Events {
        let resp = authed(
            c,
            reqwest::Method::GET,
            &s.url(&format!("/api/sessions/{id}/events")),
            token,
        )
        .send()
        .await
        .unwrap();
        assert_eq!(resp.status(), 200);
        Events {
            resp,
            buf: String::new(),
        }
    }

    async fn next(&mut self) -> Value {
        loop {
            if let Some(i) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..i + 2).collect();
                let data: String = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(|d| d.strip_prefix(' ').unwrap_or(d))
                    .collect();
                if data.is_empty() {
                    continue; // keep-alive comment
                }
                return serde_json::from_str(&data).expect("event data is JSON");
            }
            let chunk = tokio::time::timeout(PATIENCE, self.resp.chunk())
                .await
                .expect("an event arrives")
                .expect("stream readable")
                .expect("stream still open");
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Events up to and including the first of type `ty`.
    async fn until(&mut self, ty: &str) -> Vec<Value> {
        let mut out = Vec::new();
        // Keep-alives arrive on their own, so the patience is for the whole wait.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let e = tokio::time::timeout_at(deadline, self.next())
                .await
                .unwrap_or_else(|_| panic!("no {ty} event; got {out:?}"));
            let done = e["type"] == ty;
            out.push(e);
            if done {
                return out;
            }
        }
    }
}

fn of_type<'a>(ev: &'a [Value], ty: &str) -> Vec<&'a Value> {
    ev.iter().filter(|e| e["type"] == ty).collect()
}

fn output_text(ev: &[Value]) -> String {
    of_type(ev, "output")
        .iter()
        .map(|e| e["text"].as_str().unwrap_or("").to_string())
        .collect()
}

fn tool_contents(body: &Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or("").to_string())
        .collect()
}

/// A WebSocket handshake request with extra headers.
fn ws_request(
    s: &Served,
    id: &str,
    headers: &[(&str, &str)],
) -> tungstenite::handshake::client::Request {
    use tungstenite::client::IntoClientRequest;
    // `ID?QUERY` puts the query after `/ws`.
    let (id, query) = id
        .split_once('?')
        .map_or((id, String::new()), |(i, q)| (i, format!("?{q}")));
    let mut req = format!("ws://{}/api/sessions/{id}/ws{query}", s.addr)
        .into_client_request()
        .unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    req
}

fn ws_status(e: tungstenite::Error) -> u16 {
    match e {
        tungstenite::Error::Http(r) => r.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_without_the_right_token_are_refused_and_a_token_in_the_url_is_ignored() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![]);
    let s = Served::start(&env, &srv.base_url(), &[]);
    let token = s.token.clone().expect("first start prints the token");
    let c = client();
    for path in ["/api/sessions", "/openapi.json"] {
        let r = c.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} without a token");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let r = c
            .get(s.url(path))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path} with a wrong token");
        // Almost right is wrong too.
        let near = format!("{}x", &token[..token.len() - 1]);
        let r = c.get(s.url(path)).bearer_auth(near).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let r = c
            .get(s.url(&format!("{path}?token={token}&access_token={token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}: a token in the URL must not count");
        let r = c.get(s.url(path)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path} with the token");
    }
    let r = c
        .post(s.url("/api/sessions"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The OpenAPI document names every route.
    let (_, doc) = get_json(&c, &s, &token, "/openapi.json").await;
    for p in [
        "/api/sessions",
        "/api/sessions/{id}/events",
        "/api/sessions/{id}/ws",
        "/api/sessions/{id}/approvals/{aid}",
    ] {
        assert!(doc["paths"][p].is_object(), "openapi lacks {p}");
    }
    // No route changes settings, uploads, downloads or runs files.
    let id = create_ok(&c, &s, &token).await;
    for path in [
        format!("/api/sessions/{id}/settings"),
        "/settings".to_string(),
        format!("/api/sessions/{id}/files"),
        "/upload".to_string(),
        "/run".to_string(),
    ] {
        let (status, _) = post_json(
            &c,
            &s,
            &token,
            &path,
            json!({"auto_run": true, "sandbox": "off"}),
        )
        .await;
        assert!(status == 404 || status == 405, "{path}: {status}");
    }
    // A WebSocket without credentials, or with a token in the URL, is closed unauthenticated.
    for q in ["", &format!("?token={token}")] {
        let req = ws_request(&s, &format!("{id}{q}"), &[]);
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        ws.send(tungstenite::Message::Text(
            r#"{"type":"auth","token":"wrong"}"#.into(),
        ))
        .await
        .unwrap();
        let msg = tokio::time::timeout(PATIENCE, ws.next()).await.unwrap();
        match msg {
            Some(Ok(tungstenite::Message::Close(Some(f)))) => assert_eq!(u16::from(f.code), 4401),
            other => panic!("expected close 4401, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_origin_or_host_is_refused_on_http_and_websocket() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![]);
    let s = Served::start(&env, &srv.base_url(), &[]);
    let token = s.token.clone().unwrap();
    let c = client();
    let id = create_ok(&c, &s, &token).await;
    let own = format!("http://{}", s.addr);
    let r = c
        .get(s.url("/api/sessions"))
        .bearer_auth(&token)
        .header("Origin", &own)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the server's own origin");
    for origin in ["https://evil.example", "null", "http://127.0.0.1:1"] {
        let r = c
            .get(s.url("/api/sessions"))
            .bearer_auth(&token)
            .header("Origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "Origin {origin}");
        assert!(r.headers().get("access-control-allow-origin").is_none());
        let r = c
            .post(s.url("/api/sessions"))
            .bearer_auth(&token)
            .header("Origin", origin)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    // DNS rebinding: a page at evil.example:PORT resolving to 127.0.0.1.
    let port = s.addr.rsplit(':').next().unwrap();
    let r = c
        .get(s.url("/api/sessions"))
        .bearer_auth(&token)
        .header("Host", format!("evil.example:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // No CORS headers, not even for a preflight from the server's own origin.
    let r = c
        .request(reqwest::Method::OPTIONS, s.url("/api/sessions"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());

    let proto = format!("interlock.v1, interlock.bearer.{token}");
    let req = ws_request(
        &s,
        &id,
        &[
            ("Origin", "https://evil.example"),
            ("Sec-WebSocket-Protocol", &proto),
        ],
    );
    let e = tokio_tungstenite::connect_async(req).await.unwrap_err();
    assert_eq!(ws_status(e), 403);
    // The same handshake from the server's own origin is accepted.
    let req = ws_request(
        &s,
        &id,
        &[("Origin", &own), ("Sec-WebSocket-Protocol", &proto)],
    );
    let (mut ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(resp.headers()["sec-websocket-protocol"], "interlock.v1");
    let first = tokio::time::timeout(PATIENCE, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let v: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(v["type"], "session_started");
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_above_the_servers_limits_are_refused_and_audited() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![]);
    let mut s = Served::start(&env, &srv.base_url(), &[]);
    let token = s.token.clone().unwrap();
    let c = client();
    for (body, want) in [
        (json!({"sandbox": "off"}), 403),
        (json!({"auto_run": true}), 403),
        (json!({"network": "full"}), 403),
        (json!({"dangerously_disable_sandbox": true}), 400),
        (json!({"sandbox": "none-at-all"}), 400),
    ] {
        let r = create(&c, &s, &token, body.clone()).await;
        assert_eq!(r.status().as_u16(), want, "{body}");
    }
    let (_, list) = get_json(&c, &s, &token, "/api/sessions").await;
    assert_eq!(
        list["sessions"].as_array().unwrap().len(),
        0,
        "nothing was created"
    );
    // A session within the limits says what it runs with.
    let r = create(&c, &s, &token, json!({"sandbox": "read-only"})).await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["settings"]["sandbox"], "read-only");
    assert_eq!(body["settings"]["auto_run"], false);
    assert_eq!(s.stop(), 0, "{}", s.rest_of_stderr());

    let mut audit = env.cmd(&srv.base_url());
    audit.args(["audit", "export"]);
    let out = run(audit);
    let text = String::from_utf8_lossy(&out.stdout);
    let refused: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r.to_string().contains("serve_refused"))
        .collect();
    assert_eq!(refused.len(), 3, "{text}");
    assert!(
        refused[0]
            .to_string()
            .contains("the sandbox cannot be turned off")
    );
    assert!(refused[1].to_string().contains("auto-run is not allowed"));
    let mut verify = env.cmd(&srv.base_url());
    verify.args(["audit", "verify"]);
    let out = run(verify);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn approve_runs_the_block_and_the_output_reaches_the_stream_and_the_history() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call("python", "print(6 * 7)"),
        Reply::text("The answer is 42."),
    ]);
    let s = Served::start(&env, &srv.base_url(), &[]);
    let token = s.token.clone().unwrap();
    let c = client();
    let id = create_ok(&c, &s, &token).await;
    let mut ev = Events::open(&c, &s, &token, &id).await;
    let (status, _) = post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{id}/messages"),
        json!({"text": "what is six times seven"}),
    )
    .await;
    assert_eq!(status, 202);
    let first = ev.until("approval_requested").await;
    assert_eq!(first[0]["type"], "session_started");
    assert!(
        first[0]["executor"]
            .as_str()
            .unwrap()
            .starts_with("sandbox"),
        "{}",
        first[0]
    );
    let proposed = of_type(&first, "code_proposed");
    assert!(proposed[0].to_string().contains("print(6 * 7)"));
    let block = first.last().unwrap()["block_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Nothing ran before the answer.
    assert!(of_type(&first, "execution_started").is_empty());
    let (_, pending) = get_json(&c, &s, &token, &format!("/api/sessions/{id}/approvals")).await;
    assert_eq!(pending["approvals"][0]["block_id"], block.as_str());
    assert!(pending["approvals"][0]["risk"].is_string());
    let (status, _) = post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{id}/approvals/{block}"),
        json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 200);
    let rest = ev.until("turn_finished").await;
    let decision = of_type(&rest, "decision");
    assert_eq!(decision[0]["approved"], true);
    assert_eq!(decision[0]["by"], "user");
    assert_eq!(output_text(&rest), "42\n");
    assert_eq!(of_type(&rest, "execution_finished")[0]["status"], "ok");
    assert_eq!(rest.last().unwrap()["reason"], "answered");
    // The same answer again finds nothing pending.
    let (status, _) = post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{id}/approvals/{block}"),
        json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 404);

    let (_, hist) = get_json(&c, &s, &token, &format!("/api/sessions/{id}/history")).await;
    let tools = tool_contents(&hist);
    assert_eq!(tools.len(), 1, "{hist}");
    assert!(tools[0].contains("42"), "{hist}");
    let reqs = srv.chat_requests();
    assert_eq!(reqs.len(), 2);
    assert!(tool_contents(&reqs[1].body)[0].contains("42"));

    // A WebSocket authenticated by its first message replays the same events.
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_request(&s, &id, &[]))
        .await
        .unwrap();
    ws.send(tungstenite::Message::Text(
        json!({"type": "auth", "token": token}).to_string().into(),
    ))
    .await
    .unwrap();
    let mut kinds = Vec::new();
    loop {
        let m = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(m.to_text().unwrap()).unwrap();
        kinds.push(v["type"].as_str().unwrap().to_string());
        if v["type"] == "turn_finished" {
            break;
        }
    }
    let sse_kinds: Vec<String> = first
        .iter()
        .chain(&rest)
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, sse_kinds);
}

#[tokio::test(flavor = "multi_thread")]
async fn deny_with_feedback_reaches_the_model_and_nothing_runs() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call("python", "open('marker.txt', 'w').write('ran')"),
        Reply::text("Understood."),
    ]);
    let s = Served::start(&env, &srv.base_url(), &[]);
    let token = s.token.clone().unwrap();
    let c = client();
    let id = create_ok(&c, &s, &token).await;
    let mut ev = Events::open(&c, &s, &token, &id).await;
    post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{id}/messages"),
        json!({"text": "write a marker"}),
    )
    .await;
    let first = ev.until("approval_requested").await;
    let block = first.last().unwrap()["block_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{id}/approvals/{block}"),
        json!({"decision": "deny", "feedback": "print the marker instead of writing a file"}),
    )
    .await;
    assert_eq!(status, 200);
    let rest = ev.until("turn_finished").await;
    assert_eq!(of_type(&rest, "decision")[0]["approved"], false);
    assert!(of_type(&rest, "execution_started").is_empty());
    let (_, summary) = get_json(&c, &s, &token, &format!("/api/sessions/{id}")).await;
    let ws = std::path::PathBuf::from(summary["workspace"].as_str().unwrap());
    assert!(!ws.join("marker.txt").exists());
    let reqs = srv.chat_requests();
    assert_eq!(reqs.len(), 2);
    let tool = &tool_contents(&reqs[1].body)[0];
    assert!(
        tool.contains("print the marker instead of writing a file"),
        "{tool}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_session_cannot_read_or_answer_another() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call("python", "print('a')"),
        Reply::text("done"),
    ]);
    let s = Served::start(&env, &srv.base_url(), &[]);
    let token = s.token.clone().unwrap();
    let c = client();
    let a = create_ok(&c, &s, &token).await;
    let b = create_ok(&c, &s, &token).await;
    assert_ne!(a, b);
    let mut ev = Events::open(&c, &s, &token, &a).await;
    post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{a}/messages"),
        json!({"text": "secret plans of a"}),
    )
    .await;
    let block = ev.until("approval_requested").await.last().unwrap()["block_id"]
        .as_str()
        .unwrap()
        .to_string();
    // B's id does not reach A's approval.
    let (status, _) = post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{b}/approvals/{block}"),
        json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 404);
    let (_, pb) = get_json(&c, &s, &token, &format!("/api/sessions/{b}/approvals")).await;
    assert_eq!(pb["approvals"].as_array().unwrap().len(), 0);
    let (_, hb) = get_json(&c, &s, &token, &format!("/api/sessions/{b}/history")).await;
    assert!(!hb.to_string().contains("secret plans"), "{hb}");
    // Unknown ids: 404 everywhere.
    let ghost = "0123456789abcdef0123456789abcdef";
    for path in ["events", "history", "approvals"] {
        let (status, _) = get_json(&c, &s, &token, &format!("/api/sessions/{ghost}/{path}")).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{ghost}/approvals/{block}"),
        json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 404);
    let proto = format!("interlock.v1, interlock.bearer.{token}");
    let e = tokio_tungstenite::connect_async(ws_request(
        &s,
        ghost,
        &[("Sec-WebSocket-Protocol", &proto)],
    ))
    .await
    .unwrap_err();
    assert_eq!(ws_status(e), 404);
    // A's question is still open and A answers it.
    let (status, _) = post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{a}/approvals/{block}"),
        json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(output_text(&ev.until("turn_finished").await), "a\n");
    // Deleting ends it; its id is gone afterwards.
    let r = authed(
        &c,
        reqwest::Method::DELETE,
        &s.url(&format!("/api/sessions/{a}")),
        &token,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    let (status, _) = get_json(&c, &s, &token, &format!("/api/sessions/{a}/history")).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_are_rate_limited_with_retry_after() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![]);
    let s = Served::start(&env, &srv.base_url(), &[]);
    let token = s.token.clone().unwrap();
    let c = client();
    let mut limited = None;
    for i in 0..200 {
        let r = authed(
            &c,
            reqwest::Method::POST,
            &s.url("/api/sessions/nope/messages"),
            &token,
        )
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
        if r.status() == 429 {
            limited = Some((
                i,
                r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
            ));
            break;
        }
        assert_eq!(r.status(), 404);
    }
    let (i, wait) = limited.expect("a burst of messages is limited");
    assert!(i >= 30, "the first 30 pass");
    assert!(wait >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_kept_0600_shown_once_and_rotated() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![]);
    let mut s1 = Served::start(&env, &srv.base_url(), &[]);
    let t1 = s1.token.clone().expect("shown on the first start");
    assert_eq!(s1.stop(), 0);
    let file = env.home().join("state").join("serve-token");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let mut s2 = Served::start(&env, &srv.base_url(), &[]);
    assert!(s2.token.is_none(), "not shown again");
    let c = client();
    let r = c
        .get(s2.url("/api/sessions"))
        .bearer_auth(&t1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s2.stop(), 0);
    let s3 = Served::start(&env, &srv.base_url(), &["--rotate-token"]);
    let t3 = s3.token.clone().expect("a rotated token is shown");
    assert_ne!(t1, t3);
    let r = c
        .get(s3.url("/api/sessions"))
        .bearer_auth(&t1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the old token no longer works");
    let r = c
        .get(s3.url("/api/sessions"))
        .bearer_auth(&t3)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn a_non_loopback_listen_is_refused_unless_insecure_listen() {
    let env = Env::new();
    let mut c = env.cmd("http://127.0.0.1:9");
    c.args(["serve", "--listen", "0.0.0.0:0"]);
    let out = run(c);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("not a loopback address") && err.contains("--insecure-listen"),
        "{err}"
    );
    assert!(
        !env.home().join("state").join("serve-token").exists(),
        "refused before any token"
    );
    // With it, the server starts and says what is at risk.
    let mut c = env.cmd("http://127.0.0.1:9");
    c.args(["serve", "--listen", "0.0.0.0:0", "--insecure-listen"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut warned = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        warned |= line.contains("WARNING") && line.contains("without TLS");
        if line.contains("listening on") {
            break;
        }
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let status = child.wait().unwrap();
    assert!(warned);
    assert_eq!(status.code(), Some(0));
    let _ = bin();
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_ends_sessions_and_leaves_history_and_audit_valid() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call("python", "print('never')"),
        Reply::text("ok"),
    ]);
    let mut s = Served::start(&env, &srv.base_url(), &[]);
    let token = s.token.clone().unwrap();
    let c = client();
    let id = create_ok(&c, &s, &token).await;
    let mut ev = Events::open(&c, &s, &token, &id).await;
    post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{id}/messages"),
        json!({"text": "start something"}),
    )
    .await;
    ev.until("approval_requested").await;
    // Stopped while a question is open: it is declined, the turn ends.
    assert_eq!(s.stop(), 0, "{}", s.rest_of_stderr());
    let mut verify = env.cmd(&srv.base_url());
    verify.args(["audit", "verify"]);
    let out = run(verify);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut hist = env.cmd(&srv.base_url());
    hist.args(["--json", "history"]);
    let out = run(hist);
    assert_eq!(code(&out), 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().count() >= 1, "a conversation was kept: {text}");
    assert!(text.contains("start something"), "{text}");
    let mut audit = env.cmd(&srv.base_url());
    audit.args(["audit", "export"]);
    let out = run(audit);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("serve_stop"), "{text}");
    let decisions: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"decision\""))
        .collect();
    assert!(
        decisions.iter().all(|d| !d.contains("\"approved\":true")),
        "{decisions:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sessions_code_cannot_see_another_sessions_workspace() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![]);
    let s = Served::start(&env, &srv.base_url(), &[]);
    let token = s.token.clone().unwrap();
    let c = client();
    let a = create_ok(&c, &s, &token).await;
    let b = create_ok(&c, &s, &token).await;
    let (_, sa) = get_json(&c, &s, &token, &format!("/api/sessions/{a}")).await;
    let (_, sb) = get_json(&c, &s, &token, &format!("/api/sessions/{b}")).await;
    let wa = std::path::PathBuf::from(sa["workspace"].as_str().unwrap());
    let wb = std::path::PathBuf::from(sb["workspace"].as_str().unwrap());
    std::fs::write(wa.join("a-notes.txt"), "only for a").unwrap();
    // Only its own directory shows in the root; A's is not there at all.
    let probe = format!(
        "import os\nfor p in [{:?}, {:?}]:\n    print(p.rsplit('/', 1)[-1], os.path.exists(p))\nprint('root', sorted(os.listdir('..')))\nprint('own', sorted(os.listdir('.')))",
        wa.join("a-notes.txt").display().to_string(),
        wa.display().to_string(),
    );
    srv.push(Reply::tool_call("python", &probe));
    srv.push(Reply::text("done"));
    std::fs::write(wb.join("b-notes.txt"), "b").unwrap();
    let mut ev = Events::open(&c, &s, &token, &b).await;
    post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{b}/messages"),
        json!({"text": "look around"}),
    )
    .await;
    let block = ev.until("approval_requested").await.last().unwrap()["block_id"]
        .as_str()
        .unwrap()
        .to_string();
    post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{b}/approvals/{block}"),
        json!({"decision": "approve"}),
    )
    .await;
    let out = output_text(&ev.until("turn_finished").await);
    assert_eq!(
        out,
        format!("a-notes.txt False\n{a} False\nroot ['{b}']\nown ['b-notes.txt']\n"),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn edit_runs_the_edited_code_magic_strings_are_text_and_interrupt_declines() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call("python", "print(1)"),
        Reply::text("ok"),
        Reply::tool_call("python", "print('second')"),
        Reply::text("stopped"),
    ]);
    let s = Served::start(&env, &srv.base_url(), &[]);
    let token = s.token.clone().unwrap();
    let c = client();
    let id = create_ok(&c, &s, &token).await;
    let mut ev = Events::open(&c, &s, &token, &id).await;
    // Open Interpreter's server acted on magic strings; here they are text for the model.
    let magic = "%sandbox off";
    let (status, _) = post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{id}/messages"),
        json!({ "text": magic }),
    )
    .await;
    assert_eq!(status, 202);
    let first = ev.until("approval_requested").await;
    let block = first.last().unwrap()["block_id"]
        .as_str()
        .unwrap()
        .to_string();
    // A second message while a turn runs is refused, not queued.
    let (status, _) = post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{id}/messages"),
        json!({"text": "more"}),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{id}/approvals/{block}"),
        json!({"decision": "edit", "code": "print(2)"}),
    )
    .await;
    assert_eq!(status, 200);
    // The edited code gets its own rating and is asked about again, as at the terminal.
    let again = ev.until("approval_requested").await;
    assert!(of_type(&again, "execution_started").is_empty());
    let (_, pending) = get_json(&c, &s, &token, &format!("/api/sessions/{id}/approvals")).await;
    let block = pending["approvals"][0]["block_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{id}/approvals/{block}"),
        json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 200);
    let rest = ev.until("turn_finished").await;
    let decision = of_type(&rest, "decision");
    assert_eq!(decision[0]["approved"], true);
    assert_eq!(decision[0]["edited_code"], "print(2)", "{rest:?}");
    assert_eq!(output_text(&rest), "2\n");
    let user = srv.chat_requests()[0].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert_eq!(user, vec![magic.to_string()]);
    let (_, summary) = get_json(&c, &s, &token, &format!("/api/sessions/{id}")).await;
    assert_eq!(summary["settings"]["sandbox"], "workspace-write");

    // The next block waits for an answer; interrupt declines it and ends the turn.
    post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{id}/messages"),
        json!({"text": "again"}),
    )
    .await;
    ev.until("approval_requested").await;
    let (status, _) = post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{id}/interrupt"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let rest = ev.until("turn_finished").await;
    let decision = of_type(&rest, "decision");
    assert_eq!(decision[0]["approved"], false, "{rest:?}");
    assert_eq!(decision[0]["by"], "policy");
    assert!(of_type(&rest, "execution_started").is_empty());
    let (_, pending) = get_json(&c, &s, &token, &format!("/api/sessions/{id}/approvals")).await;
    assert_eq!(pending["approvals"].as_array().unwrap().len(), 0);
    // The session takes messages again.
    let (status, _) = post_json(
        &c,
        &s,
        &token,
        &format!("/api/sessions/{id}/messages"),
        json!({"text": "still there?"}),
    )
    .await;
    assert_eq!(status, 202);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_is_served_with_a_strict_policy_and_holds_no_data() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![]);
    let s = Served::start(&env, &srv.base_url(), &[]);
    let c = client();
    for (path, ty) in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/app.css", "text/css"),
    ] {
        let r = c.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        assert!(h["content-type"].to_str().unwrap().starts_with(ty));
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h.get("access-control-allow-origin").is_none());
    }
    let html = c
        .get(s.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"<script src="/app.js""#));
    // Another site's page cannot load it into its own context either.
    let r = c
        .get(s.url("/"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

//! Local server discovery against scripted servers on random ports.

use interlock_llm::{LocalServer, discover_local};
use interlock_testkit::ScriptedServer;
use serde_json::json;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn finds_running_servers_names_their_kind_and_skips_the_rest() {
    let ollama = ScriptedServer::start(vec![]).await;
    ollama.set_models(json!({"object": "list", "data": [
        {"id": "llama3.2:latest", "object": "model", "owned_by": "library"},
        {"id": "qwen2.5-coder:7b", "object": "model", "owned_by": "library"},
    ]}));
    let llamacpp = ScriptedServer::start(vec![]).await;
    llamacpp.set_models(json!({"object": "list", "data": [
        {"id": "smollm2.gguf", "object": "model", "owned_by": "llamacpp"},
    ]}));
    let generic = ScriptedServer::start(vec![]).await;
    // A server that accepts and never answers, one that answers 404 with
    // HTML-ish text, and a closed port.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let not_a_model_server = ScriptedServer::start(vec![]).await;
    not_a_model_server.set_models(json!("not a list"));
    let closed = free_port();

    let ports = [
        ollama.addr().port(),
        closed,
        silent_port,
        llamacpp.addr().port(),
        not_a_model_server.addr().port(),
        generic.addr().port(),
    ];
    let started = Instant::now();
    let found = discover_local(&ports).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        found,
        vec![
            LocalServer {
                base_url: ollama.base_url(),
                kind: "ollama",
                models: vec!["llama3.2:latest".into(), "qwen2.5-coder:7b".into()],
            },
            LocalServer {
                base_url: llamacpp.base_url(),
                kind: "llama.cpp",
                models: vec!["smollm2.gguf".into()],
            },
            LocalServer {
                base_url: generic.base_url(),
                kind: "openai-compatible",
                models: vec!["scripted-model".into(), "scripted-model-2".into()],
            },
        ]
    );
    assert!(
        ollama
            .requests()
            .iter()
            .all(|r| r.method == "GET" && r.path == "/v1/models")
    );
}

#[tokio::test]
async fn nothing_running_is_an_empty_list() {
    assert!(discover_local(&[free_port(), free_port()]).await.is_empty());
    assert!(discover_local(&[]).await.is_empty());
}

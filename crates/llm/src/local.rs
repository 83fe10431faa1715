//! Finding model servers already running on this machine.
//!
//! Ollama (11434), LM Studio (1234), llama.cpp's `llama-server` (8080) and
//! llama-cpp-python / vLLM (8000) all serve the OpenAI API under `/v1`, so
//! discovery asks each port of 127.0.0.1 for `GET /v1/models`, concurrently
//! and with a short timeout. The kind is read from the `owned_by` field each
//! of them fills in its own way, and from the port when that says nothing.

use crate::transport::parse_model_list;
use std::time::Duration;

/// The ports [`discover_local`] is usually given: Ollama, LM Studio,
/// llama.cpp, llama-cpp-python / vLLM.
pub const DEFAULT_LOCAL_PORTS: [u16; 4] = [11434, 1234, 8080, 8000];

/// How long one probe may take in all.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// A model server answering on loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalServer {
    /// `http://127.0.0.1:PORT/v1`, ready for `--api-base`.
    pub base_url: String,
    /// `ollama`, `lmstudio`, `llama.cpp`, `llama-cpp-python`, `vllm`, or
    /// `openai-compatible` when nothing tells.
    pub kind: &'static str,
    /// The model ids it lists (may be empty: a server with nothing loaded).
    pub models: Vec<String>,
}

/// Probes `http://127.0.0.1:PORT/v1/models` on each port at once and returns
/// the servers that answered with a model list, in the order of `ports`.
/// Never fails: a port that refuses, times out (1.5 s) or answers something
/// else is simply not in the list. System proxies are not used.
pub async fn discover_local(ports: &[u16]) -> Vec<LocalServer> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Ok(http) = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_millis(500))
        .timeout(PROBE_TIMEOUT)
        .user_agent(concat!("interlock/", env!("CARGO_PKG_VERSION")))
        .build()
    else {
        return Vec::new();
    };
    let probes = ports.iter().map(|&port| probe(&http, port));
    futures_util::future::join_all(probes)
        .await
        .into_iter()
        .flatten()
        .collect()
}

async fn probe(http: &reqwest::Client, port: u16) -> Option<LocalServer> {
    let base_url = format!("http://127.0.0.1:{port}/v1");
    let work = async {
        let resp = http.get(format!("{base_url}/models")).send().await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let text = resp.text().await.ok()?;
        let models = parse_model_list(&text).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        Some((models, value))
    };
    let (models, value) = tokio::time::timeout(PROBE_TIMEOUT, work).await.ok()??;
    Some(LocalServer {
        kind: kind_of(&value, port),
        base_url,
        models,
    })
}

/// The server kind from the model list's `owned_by` fields, else the port.
fn kind_of(list: &serde_json::Value, port: u16) -> &'static str {
    let owners: Vec<&str> = list
        .get("data")
        .and_then(|d| d.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("owned_by").and_then(|o| o.as_str()))
                .collect()
        })
        .unwrap_or_default();
    for o in owners {
        match o {
            "library" | "ollama" => return "ollama",
            "organization_owner" | "lmstudio" | "lm-studio" => return "lmstudio",
            "llamacpp" | "llama.cpp" => return "llama.cpp",
            "me" | "llama-cpp-python" => return "llama-cpp-python",
            "vllm" => return "vllm",
            _ => {}
        }
    }
    match port {
        11434 => "ollama",
        1234 => "lmstudio",
        8080 => "llama.cpp",
        _ => "openai-compatible",
    }
}

/// What to tell a user when [`discover_local`] found nothing on `ports`.
pub fn no_local_server_message(ports: &[u16]) -> String {
    let list: Vec<String> = ports.iter().map(|p| p.to_string()).collect();
    format!(
        "no local model server answers on 127.0.0.1 (ports {}). Start one, for example:\n  \
         ollama serve  (then: ollama pull llama3.2)\n  \
         LM Studio: Developer tab > Start Server (port 1234)\n  \
         llama-server -m MODEL.gguf --port 8080\n  \
         python3 -m llama_cpp.server --model MODEL.gguf --port 8000\n\
         or pass --api-base with the server's URL.",
        list.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds() {
        let l = |o: &str| json!({"data": [{"id": "m", "owned_by": o}]});
        assert_eq!(kind_of(&l("library"), 9), "ollama");
        assert_eq!(kind_of(&l("organization_owner"), 9), "lmstudio");
        assert_eq!(kind_of(&l("llamacpp"), 9), "llama.cpp");
        assert_eq!(kind_of(&l("me"), 8000), "llama-cpp-python");
        assert_eq!(kind_of(&l("vllm"), 8000), "vllm");
        assert_eq!(kind_of(&l("someone"), 11434), "ollama");
        assert_eq!(kind_of(&json!({"models": []}), 8000), "openai-compatible");
        let m = no_local_server_message(&DEFAULT_LOCAL_PORTS);
        assert!(m.contains("11434, 1234, 8080, 8000") && m.contains("ollama serve"));
    }
}

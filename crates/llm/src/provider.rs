//! The provider-neutral client: one type the core can hold whatever the
//! provider, and the rule that picks a provider when none is given.

use crate::anthropic::AnthropicClient;
use crate::client::OpenAiClient;
use crate::error::LlmError;
use crate::retry::RetryPolicy;
use crate::{ChatRequest, ChatResponse, ClientConfig, StreamDelta};
use std::fmt;
use std::str::FromStr;
use tokio_util::sync::CancellationToken;

/// Which wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// OpenAI chat completions (also Ollama, LM Studio, llama.cpp, vLLM, ...).
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
        }
    }

    /// The environment variable the key is conventionally read from.
    pub fn key_env_var(self) -> &'static str {
        match self {
            Provider::OpenAi => "OPENAI_API_KEY",
            Provider::Anthropic => "ANTHROPIC_API_KEY",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "openai" | "openai-compatible" => Ok(Provider::OpenAi),
            "anthropic" => Ok(Provider::Anthropic),
            other => Err(format!(
                "unknown provider {other:?} (expected openai or anthropic)"
            )),
        }
    }
}

/// The provider to use when none is given: Anthropic when the base URL's
/// host contains "anthropic" or the model name starts with "claude" (any
/// case), OpenAI-compatible otherwise.
pub fn infer_provider(api_base: &str, model: &str) -> Provider {
    let host_is_anthropic = reqwest::Url::parse(api_base.trim())
        .ok()
        .and_then(|u| u.host_str().map(|h| h.to_ascii_lowercase()))
        .is_some_and(|h| h.contains("anthropic"));
    if host_is_anthropic || model.trim().to_ascii_lowercase().starts_with("claude") {
        Provider::Anthropic
    } else {
        Provider::OpenAi
    }
}

/// A client for either provider, with the same calls.
#[derive(Debug)]
pub enum Client {
    OpenAi(OpenAiClient),
    Anthropic(AnthropicClient),
}

impl Client {
    /// Builds the adapter for `provider` with [`RetryPolicy::default`]
    /// (4 attempts within 90 s); change it with [`Client::with_retry_policy`].
    pub fn new(provider: Provider, cfg: ClientConfig) -> Result<Self, LlmError> {
        let policy = RetryPolicy::default();
        Ok(match provider {
            Provider::OpenAi => Client::OpenAi(OpenAiClient::new(cfg)?.with_retry_policy(policy)),
            Provider::Anthropic => {
                Client::Anthropic(AnthropicClient::new(cfg)?.with_retry_policy(policy))
            }
        })
    }

    pub fn with_retry_policy(self, policy: RetryPolicy) -> Self {
        match self {
            Client::OpenAi(c) => Client::OpenAi(c.with_retry_policy(policy)),
            Client::Anthropic(c) => Client::Anthropic(c.with_retry_policy(policy)),
        }
    }

    pub fn provider(&self) -> Provider {
        match self {
            Client::OpenAi(_) => Provider::OpenAi,
            Client::Anthropic(_) => Provider::Anthropic,
        }
    }

    pub fn config(&self) -> &ClientConfig {
        match self {
            Client::OpenAi(c) => c.config(),
            Client::Anthropic(c) => c.config(),
        }
    }

    /// Names another model in the requests that follow (same server, key,
    /// timeouts and retry policy).
    pub fn set_model(&mut self, model: &str) {
        match self {
            Client::OpenAi(c) => c.set_model(model),
            Client::Anthropic(c) => c.set_model(model),
        }
    }

    /// The JSON body `chat` would send.
    pub fn request_body(&self, req: &ChatRequest<'_>) -> serde_json::Value {
        match self {
            Client::OpenAi(c) => c.request_body(req),
            Client::Anthropic(c) => c.request_body(req),
        }
    }

    /// See [`OpenAiClient::chat`]: the contract is the same for both.
    pub async fn chat(
        &self,
        req: &ChatRequest<'_>,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(StreamDelta) + Send),
    ) -> Result<ChatResponse, LlmError> {
        match self {
            Client::OpenAi(c) => c.chat(req, cancel, on_delta).await,
            Client::Anthropic(c) => c.chat(req, cancel, on_delta).await,
        }
    }

    pub async fn list_models(&self) -> Result<Vec<String>, LlmError> {
        match self {
            Client::OpenAi(c) => c.list_models().await,
            Client::Anthropic(c) => c.list_models().await,
        }
    }
}

impl From<OpenAiClient> for Client {
    fn from(c: OpenAiClient) -> Self {
        Client::OpenAi(c)
    }
}

impl From<AnthropicClient> for Client {
    fn from(c: AnthropicClient) -> Self {
        Client::Anthropic(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inference() {
        use Provider::*;
        assert_eq!(
            infer_provider("https://api.anthropic.com/v1", "x"),
            Anthropic
        );
        assert_eq!(
            infer_provider("https://gw.example.com/v1", "Claude-3-5-haiku"),
            Anthropic
        );
        assert_eq!(
            infer_provider("https://api.openai.com/v1", "gpt-4o"),
            OpenAi
        );
        assert_eq!(
            infer_provider("http://localhost:11434/v1", "llama3"),
            OpenAi
        );
        // Only the host counts, not the path or query.
        assert_eq!(
            infer_provider("http://localhost:8080/anthropic/v1", "gpt-4o"),
            OpenAi
        );
        assert_eq!(infer_provider("not a url", "gpt"), OpenAi);
        assert_eq!("Anthropic".parse::<Provider>(), Ok(Anthropic));
        assert!("gemini".parse::<Provider>().is_err());
        assert_eq!(Anthropic.key_env_var(), "ANTHROPIC_API_KEY");
    }
}

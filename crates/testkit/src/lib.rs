//! Test helpers for interlock.
//!
//! This crate owns [`ScriptedServer`]: a real (if minimal) HTTP/1.1 server on
//! `127.0.0.1` that speaks just enough of the OpenAI chat-completions API to
//! drive interlock's LLM client, agent loop and CLI end to end without a
//! network or a model. It plays a *script* — a queue of [`Reply`]s, one per
//! chat request — and records every request so tests can assert what was sent.
//! The builders on [`Reply`] produce deliberately awkward streams (arguments
//! split mid-escape and mid-character, interleaved tool calls) so that the
//! client is exercised the way real providers exercise it.
//!
//! `POST /v1/messages` is answered in the Anthropic Messages format: the
//! shorthand replies resolve to Anthropic streams (see [`anthropic`]), raw
//! replies are sent as they are.
//!
//! The `interlock-scripted-server` binary serves a script read from a JSON
//! file, for tmux-driven tests of the interactive CLI and for demos.

pub mod anthropic;
mod reply;
mod server;

pub use reply::{
    EXHAUSTED_TEXT, MODEL_NAME, Reply, ToolCallSpec, USAGE_COMPLETION_TOKENS, USAGE_PROMPT_TOKENS,
    awkward_fragments, execute_arguments,
};
pub use server::{BackgroundServer, RecordedRequest, RequestHook, ScriptedServer, ServerOptions};

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

/// Python prelude of the sandbox attack tests: `attempt(name, f)` prints
/// `ESCAPED name …` when `f()` succeeds and `BLOCKED name reason` when it
/// raises; `sys_call(name, f)` turns a libc `-1` into an `OSError`.
pub const PYTHON_ATTEMPT: &str = r#"
import os, sys, socket, errno, ctypes, signal
def attempt(name, f):
    try:
        r = f()
        print("ESCAPED", name, repr(r)[:80], flush=True)
    except Exception as e:
        print("BLOCKED", name, type(e).__name__, e, flush=True)
libc = ctypes.CDLL(None, use_errno=True)
def sys_call(name, f):
    def g():
        r = f()
        if r == -1:
            e = ctypes.get_errno()
            raise OSError(e, name + ": " + os.strerror(e))
        return r
    return g
"#;

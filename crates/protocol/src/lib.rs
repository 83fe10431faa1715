//! The vocabulary every part of interlock speaks.
//!
//! This crate owns the data types that cross crate boundaries: chat [`Message`]s
//! exchanged with a model, the [`Language`]s code can be written in, and the
//! [`Event`] stream that one agent session produces. One event stream feeds the
//! terminal renderer, `--json` output, the history file and (later) the audit log
//! and the server, so every one of those is a *view* of the same events.
//!
//! It holds no behaviour beyond parsing and (de)serialisation, and depends on
//! nothing but serde.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Name of the single tool offered to the model. Part of the stable interface.
pub const EXECUTE_TOOL: &str = "execute";

/// A language interlock can run in a warm session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// CPython 3 (`python3`).
    Python,
    /// GNU bash.
    Shell,
    /// Node.js.
    Javascript,
}

impl Language {
    /// Every language, in the order they are presented to the model.
    pub const ALL: [Language; 3] = [Language::Python, Language::Shell, Language::Javascript];

    /// The canonical name used in events, the tool schema and the prompt.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Shell => "shell",
            Language::Javascript => "javascript",
        }
    }

    /// Maps a fence tag or a model-supplied language name to a language.
    ///
    /// Accepts the aliases models commonly use (`py`, `sh`, `bash`, `node`, ...),
    /// case-insensitively. Returns `None` for anything else, which callers treat as
    /// "show, never run".
    pub fn from_alias(tag: &str) -> Option<Language> {
        match tag.trim().to_ascii_lowercase().as_str() {
            "python" | "py" | "python3" => Some(Language::Python),
            "shell" | "bash" | "sh" | "zsh" => Some(Language::Shell),
            "javascript" | "js" | "node" | "nodejs" => Some(Language::Javascript),
            _ => None,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Language {
    type Err = UnknownLanguage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::from_alias(s).ok_or_else(|| UnknownLanguage(s.to_string()))
    }
}

/// Error for a language name interlock does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLanguage(pub String);

impl fmt::Display for UnknownLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown language {:?} (known: python, shell, javascript)",
            self.0
        )
    }
}

impl std::error::Error for UnknownLanguage {}

/// A tool call as the model made it: `arguments` is the raw JSON text, kept
/// verbatim so it can be sent back to the provider unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// One message of a conversation, in provider-neutral form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Message {
    System {
        content: String,
    },
    User {
        content: String,
    },
    Assistant {
        #[serde(default)]
        content: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    /// The result of a tool call, answered with the call's id.
    Tool {
        tool_call_id: String,
        content: String,
    },
}

impl Message {
    /// The text content, whatever the role.
    pub fn content(&self) -> &str {
        match self {
            Message::System { content }
            | Message::User { content }
            | Message::Assistant { content, .. }
            | Message::Tool { content, .. } => content,
        }
    }
}

/// Token counts reported by the provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    pub fn add(&mut self, other: Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// How a run of one code block ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecStatus {
    /// Finished normally (exit status 0 for shell, no exception otherwise).
    Ok,
    /// Finished with an error: a non-zero status or an uncaught exception.
    Error,
    /// Interrupted by the user (Ctrl-C); the session's state was kept.
    Interrupted,
    /// Ran past the per-run timeout and was stopped.
    TimedOut,
    /// The interpreter died; the next block gets a fresh session.
    Crashed,
    /// Could not be started at all (interpreter missing, sandbox refused, ...).
    Failed,
}

/// Who made an approval decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decider {
    /// The person at the terminal.
    User,
    /// `--auto-run` or "always this session".
    Auto,
    /// A rule: no terminal to ask, unknown language, configuration.
    Policy,
}

/// One reason the guard gave for a block's risk (a copy of the guard's
/// finding in protocol terms, so every front end can show it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskFinding {
    /// Stable rule id, e.g. `shell.download-exec`.
    pub rule: String,
    /// none, low, medium, high or critical.
    pub risk: String,
    /// One line a person understands.
    pub message: String,
    /// 1-based position in the code.
    pub line: usize,
    pub column: usize,
}

/// Severity of a [`Event::Notice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeLevel {
    Info,
    Warning,
}

/// Everything that happens in a session, in order.
///
/// Serialised with a `type` tag in snake_case; this is the `--json` format, so
/// renaming a variant or field is a breaking change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    SessionStarted {
        session_id: String,
        version: String,
        model: String,
        workspace: String,
        tool_mode: String,
        languages: Vec<Language>,
        executor: String,
    },
    UserMessage {
        text: String,
    },
    /// A piece of the model's reply text as it streams.
    AssistantDelta {
        text: String,
    },
    /// The model's whole reply text for one turn (after all deltas).
    AssistantMessage {
        text: String,
    },
    /// The model proposed a block of code.
    CodeProposed {
        block_id: String,
        language: String,
        code: String,
    },
    /// The guard's static analysis of a proposed block, before any decision.
    RiskAssessed {
        block_id: String,
        /// none, low, medium, high or critical.
        risk: String,
        findings: Vec<RiskFinding>,
    },
    /// The user is being asked whether to run a block.
    ApprovalRequested {
        block_id: String,
    },
    /// The answer, from whoever gave it.
    Decision {
        block_id: String,
        approved: bool,
        by: Decider,
        reason: String,
        /// The code that will actually run, when the user edited it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        edited_code: Option<String>,
    },
    ExecutionStarted {
        block_id: String,
        language: Language,
    },
    /// Output as it is produced (lossy UTF-8).
    Output {
        block_id: String,
        stream: OutputStream,
        text: String,
    },
    ExecutionFinished {
        block_id: String,
        status: ExecStatus,
        duration_ms: u64,
        output_bytes: u64,
        truncated: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The output as it was returned to the model (capped).
    ToolResult {
        block_id: String,
        content: String,
    },
    Usage {
        prompt_tokens: u64,
        completion_tokens: u64,
    },
    Notice {
        level: NoticeLevel,
        message: String,
    },
    Error {
        kind: String,
        message: String,
    },
    /// The model answered without code, or a limit ended the task.
    TurnFinished {
        reason: String,
    },
}

impl Event {
    /// The `type` tag as it appears in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::SessionStarted { .. } => "session_started",
            Event::UserMessage { .. } => "user_message",
            Event::AssistantDelta { .. } => "assistant_delta",
            Event::AssistantMessage { .. } => "assistant_message",
            Event::CodeProposed { .. } => "code_proposed",
            Event::RiskAssessed { .. } => "risk_assessed",
            Event::ApprovalRequested { .. } => "approval_requested",
            Event::Decision { .. } => "decision",
            Event::ExecutionStarted { .. } => "execution_started",
            Event::Output { .. } => "output",
            Event::ExecutionFinished { .. } => "execution_finished",
            Event::ToolResult { .. } => "tool_result",
            Event::Usage { .. } => "usage",
            Event::Notice { .. } => "notice",
            Event::Error { .. } => "error",
            Event::TurnFinished { .. } => "turn_finished",
        }
    }

    /// Applies `f` to every free-text field (model text, code, output,
    /// messages): used to redact secrets before an event leaves the process.
    pub fn map_text(&mut self, mut f: impl FnMut(&str) -> String) {
        let mut apply = |s: &mut String| *s = f(s);
        match self {
            Event::SessionStarted { workspace, .. } => apply(workspace),
            Event::UserMessage { text }
            | Event::AssistantDelta { text }
            | Event::AssistantMessage { text }
            | Event::Output { text, .. } => apply(text),
            Event::CodeProposed { code, .. } => apply(code),
            Event::RiskAssessed { findings, .. } => {
                for finding in findings {
                    apply(&mut finding.message);
                }
            }
            Event::ApprovalRequested { .. }
            | Event::ExecutionStarted { .. }
            | Event::Usage { .. } => {}
            Event::Decision {
                reason,
                edited_code,
                ..
            } => {
                apply(reason);
                if let Some(code) = edited_code {
                    apply(code);
                }
            }
            Event::ExecutionFinished { note, .. } => {
                if let Some(n) = note {
                    apply(n);
                }
            }
            Event::ToolResult { content, .. } => apply(content),
            Event::Notice { message, .. } | Event::Error { message, .. } => apply(message),
            Event::TurnFinished { reason } => apply(reason),
        }
    }

    /// One JSON line (no trailing newline).
    pub fn to_json_line(&self) -> String {
        // Serialising these plain types cannot fail.
        serde_json::to_string(self).expect("event serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_map_to_languages() {
        for (tag, lang) in [
            ("python", Language::Python),
            ("py", Language::Python),
            ("Python3", Language::Python),
            ("bash", Language::Shell),
            ("sh", Language::Shell),
            ("shell", Language::Shell),
            ("zsh", Language::Shell),
            ("js", Language::Javascript),
            ("javascript", Language::Javascript),
            ("node", Language::Javascript),
        ] {
            assert_eq!(Language::from_alias(tag), Some(lang), "{tag}");
        }
        assert_eq!(Language::from_alias(""), None);
        assert_eq!(Language::from_alias("ruby"), None);
        assert!("perl".parse::<Language>().is_err());
    }

    #[test]
    fn events_carry_a_type_tag_matching_kind() {
        let ev = Event::Decision {
            block_id: "b1".into(),
            approved: false,
            by: Decider::Policy,
            reason: "no terminal".into(),
            edited_code: None,
        };
        let v: serde_json::Value = serde_json::from_str(&ev.to_json_line()).unwrap();
        assert_eq!(v["type"], "decision");
        assert_eq!(v["type"], ev.kind());
        assert_eq!(v["by"], "policy");
        assert!(v.get("edited_code").is_none());
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, ev);
    }

    #[test]
    fn map_text_reaches_every_free_text_field() {
        let mut ev = Event::Decision {
            block_id: "b1".into(),
            approved: true,
            by: Decider::User,
            reason: "SECRET".into(),
            edited_code: Some("print('SECRET')".into()),
        };
        ev.map_text(|s| s.replace("SECRET", "[R]"));
        assert!(!ev.to_json_line().contains("SECRET"));
        let mut ev = Event::Output {
            block_id: "b1".into(),
            stream: OutputStream::Stdout,
            text: "SECRET\n".into(),
        };
        ev.map_text(|s| s.replace("SECRET", "[R]"));
        assert!(!ev.to_json_line().contains("SECRET"));
    }

    #[test]
    fn messages_round_trip_with_role_tag() {
        let m = Message::Assistant {
            content: String::new(),
            tool_calls: vec![ToolCall {
                id: "c1".into(),
                name: EXECUTE_TOOL.into(),
                arguments: "{\"language\":\"python\",\"code\":\"1\"}".into(),
            }],
        };
        let s = serde_json::to_string(&m).unwrap();
        assert!(s.contains("\"role\":\"assistant\""));
        assert_eq!(serde_json::from_str::<Message>(&s).unwrap(), m);
        let u: Message = serde_json::from_str(r#"{"role":"user","content":"hi"}"#).unwrap();
        assert_eq!(u.content(), "hi");
    }
}

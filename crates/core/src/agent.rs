//! The agent loop: user message → model → proposed code → approval →
//! execution → result back to the model → … until the model answers without
//! code or the turn limit is reached.
//!
//! The loop speaks to its front end only through [`Frontend`]: every step is
//! an [`Event`], and approval is one question with one answer. The terminal
//! UI, `--json` and (later) the server are all front ends.

use crate::config::{Settings, ToolMode};
use crate::fences;
use crate::history::{self, HistoryError, HistoryWriter, Record};
use crate::prompt::{PromptFacts, system_prompt, wrap_untrusted};
use crate::tripwire::GitTripwire;
use crate::truncate::head_tail;
use interlock_audit::AuditLog;
use interlock_guard::analysis::{self, Report, Risk};
use interlock_guard::redact::{Placeholders, Redactor, StreamRedactor};
use interlock_kernels::{Kernels, RunOutcome};
use interlock_llm::{ChatRequest, Client, LlmError, StreamDelta};
use interlock_protocol::{
    Decider, EXECUTE_TOOL, Event, ExecStatus, Language, Message, NoticeLevel, OutputStream,
    RiskFinding, ToolCall, Usage,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// What the agent needs from whoever is watching: a place to send events and
/// someone to ask before code runs.
pub trait Frontend: Send {
    /// Called for every event, in order.
    fn event(&mut self, event: &Event);
    /// Called once per runnable block, after `CodeProposed` and
    /// `ApprovalRequested` were sent. Must not hang when nobody can answer.
    fn approve(&mut self, request: &ApprovalRequest<'_>) -> Approval;
    /// True when events must have secrets redacted before they reach this
    /// front end (`--json`, the server). The terminal shows the user's own
    /// program output as it is.
    fn wants_redacted(&self) -> bool {
        false
    }
}

/// A block waiting for a yes or no.
#[derive(Debug)]
pub struct ApprovalRequest<'a> {
    pub block_id: &'a str,
    pub language: Language,
    pub code: &'a str,
    /// The guard's rating and reasons (also sent as `risk_assessed`).
    pub risk: Risk,
    pub findings: &'a [RiskFinding],
    /// The highest risk auto-approval runs without asking
    /// (`--auto-run-max-risk`).
    pub auto_run_max_risk: Risk,
    /// Auto-approval is on (`--auto-run`, or "always" this session): the
    /// block is asked about only because its risk is above
    /// `auto_run_max_risk`.
    pub auto_run: bool,
    /// Why auto-approval did not take a block within its risk limit (it came
    /// after untrusted content and changes state); None otherwise.
    pub held_back: Option<&'a str>,
}

/// The answer to an [`ApprovalRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// Run it as proposed.
    Run,
    /// Run this edited code instead.
    RunEdited(String),
    /// Run it, and every later block of this session without asking.
    Always,
    /// Do not run it.
    Decline { by: Decider, reason: String },
}

/// Why a call to [`Agent::send`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEnd {
    /// The model answered without (runnable) code.
    Answered,
    /// `--max-turns` model calls were made.
    MaxTurns,
    /// The next request would have gone past `--max-budget`.
    Budget,
    /// The user pressed Ctrl-C.
    Interrupted,
}

/// Summary of one [`Agent::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnOutcome {
    pub end: TurnEnd,
    pub blocks_run: usize,
    pub blocks_declined: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("model request failed: {0}")]
    Llm(#[from] LlmError),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("{0}")]
    Load(String),
    #[error("cannot open the audit log: {0}")]
    Audit(#[from] interlock_audit::AuditError),
}

/// One conversation with one model, its warm language sessions and its history.
pub struct Agent {
    client: Client,
    kernels: Kernels,
    settings: Settings,
    languages: Vec<Language>,
    executor: String,
    system: Message,
    /// The system prompt for fenced blocks, taken over when the server turns
    /// out not to work with tools ([`Adapt::NoTools`]): a prompt that asks for
    /// `execute` calls no request offers only confuses a small model.
    system_fenced: Message,
    messages: Vec<Message>,
    history: Option<HistoryWriter>,
    history_dir: Option<PathBuf>,
    usage: Usage,
    session_id: String,
    always: bool,
    block_seq: u64,
    audit_dir: Option<PathBuf>,
    audit: Option<AuditLog>,
    audit_failed: bool,
    /// Extra facts for the audit's session record (policy, sandbox support).
    audit_context: Value,
    /// How many messages the model has already been sent (for audit digests).
    sent_messages: usize,
    /// Everything leaving for the model, the history, the audit log and
    /// redacting front ends passes through this.
    redactor: Arc<Redactor>,
    /// Stable `[REDACTED:kind#n]` numbering for the whole conversation.
    placeholders: Placeholders,
    /// Git hooks/config that sandboxed code leaves behind (None when the
    /// sandbox is off: then nothing is contained anyway).
    tripwire: Option<GitTripwire>,
    /// What this session learned the server accepts (see [`ServerFit`]).
    fit: ServerFit,
    /// The session's random marker around untrusted text in the conversation
    /// (see [`wrap_untrusted`]).
    boundary: String,
    /// Program output (and with it file contents, web pages) has entered the
    /// conversation: auto-approval narrows (`untrusted_narrows_auto_run`).
    untrusted_seen: bool,
    /// Injection signals seen in untrusted text since the user's last
    /// message; blocks proposed meanwhile carry them in their risk report.
    injection_signals: Vec<String>,
}

/// How requests are shaped for this server, adapted once per session when it
/// shows it cannot take the default (tools offered, streamed).
#[derive(Debug, Clone, Copy, Default)]
struct ServerFit {
    /// The server refused the `tools` parameter: ask without it (code then
    /// comes back in fenced blocks).
    no_tools: bool,
    /// The server cannot stream automatic tool calls (llama-cpp-python's
    /// `chatml-function-calling` answers a streamed request with the text
    /// `functions.execute:` or an error): requests with tools are not streamed.
    no_tool_stream: bool,
}

/// What to change after a reply or error that shows the server did not take
/// the request as sent.
enum Adapt {
    NoTools,
    NoToolStream,
}

impl Agent {
    /// Builds an agent. `history_dir` = None disables history (tests, `--no-history`).
    pub fn new(
        client: Client,
        kernels: Kernels,
        settings: Settings,
        executor: String,
        sandboxed: bool,
        history_dir: Option<PathBuf>,
    ) -> Agent {
        let languages = Kernels::available();
        let settings_workspace = settings.workspace.clone();
        let boundary = random_boundary();
        let prompt_for = |tool_mode| Message::System {
            content: system_prompt(&PromptFacts {
                languages: &languages,
                workspace: &settings.workspace,
                tool_mode,
                sandboxed,
                network: false,
                boundary: &boundary,
            }),
        };
        let system = prompt_for(settings.tool_mode);
        let system_fenced = prompt_for(ToolMode::Markdown);
        Agent {
            client,
            kernels,
            always: settings.auto_run,
            settings,
            languages,
            executor,
            system,
            system_fenced,
            messages: Vec::new(),
            history: None,
            history_dir,
            usage: Usage::default(),
            session_id: String::new(),
            block_seq: 0,
            audit_dir: None,
            audit: None,
            audit_failed: false,
            audit_context: Value::Null,
            sent_messages: 0,
            redactor: Arc::new(Redactor::new()),
            placeholders: Placeholders::new(),
            tripwire: sandboxed.then(|| GitTripwire::new(&settings_workspace)),
            fit: ServerFit::default(),
            boundary,
            untrusted_seen: false,
            injection_signals: Vec::new(),
        }
    }

    /// Uses this redactor (patterns plus the exact secrets interlock knows:
    /// the API key, secret-looking environment values).
    pub fn with_redactor(mut self, redactor: Arc<Redactor>) -> Agent {
        self.redactor = redactor;
        self
    }

    fn redact(&self, text: &str) -> String {
        self.redactor.redact_with(text, &self.placeholders).text
    }

    /// Keeps a tamper-evident audit log under `dir` (interlock's state dir,
    /// hidden from sandboxed code). `context` is recorded with the session
    /// start (effective policy, sandbox support).
    pub fn with_audit(mut self, dir: PathBuf, context: Value) -> Agent {
        self.audit_dir = Some(dir);
        self.audit_context = context;
        self
    }

    /// Appends one audit record. The payload is only built when a log is
    /// open. A failing audit log (disk full, say) is reported once and does
    /// not end the session.
    fn audit(
        &mut self,
        frontend: &mut dyn Frontend,
        kind: &str,
        payload: impl FnOnce(&Agent) -> Value,
    ) {
        if self.audit.is_none() {
            return;
        }
        let payload = payload(self);
        let Some(log) = &mut self.audit else { return };
        if let Err(e) = log.append(kind, payload)
            && !self.audit_failed
        {
            self.audit_failed = true;
            frontend.event(&Event::Notice {
                level: NoticeLevel::Warning,
                message: format!("the audit log could not be written: {e}"),
            });
        }
    }

    /// Sends an event to the front end and records it in the audit log.
    fn emit(&mut self, frontend: &mut dyn Frontend, event: Event) {
        if self.audit.is_none() && !frontend.wants_redacted() {
            frontend.event(&event);
            return;
        }
        let mut redacted = event.clone();
        redacted.map_text(|t| self.redact(t));
        self.audit(frontend, redacted.kind(), |_| {
            serde_json::to_value(&redacted).unwrap_or(Value::Null)
        });
        if frontend.wants_redacted() {
            frontend.event(&redacted);
        } else {
            frontend.event(&event);
        }
    }

    /// Emits `session_started` and opens (or resumes) the history file.
    pub fn start(
        &mut self,
        resume: Option<&Path>,
        frontend: &mut dyn Frontend,
    ) -> Result<(), AgentError> {
        if let Some(path) = resume {
            let conv = history::load(path)?;
            if conv.skipped_lines > 0 {
                self.emit(frontend, Event::Notice {
                    level: NoticeLevel::Warning,
                    message: format!(
                        "{} unreadable line(s) in {} were skipped (probably a turn cut short by a crash)",
                        conv.skipped_lines,
                        path.display()
                    ),
                });
            }
            self.messages = conv.messages;
            if let Some(dir) = &self.history_dir {
                self.history = Some(HistoryWriter::reopen(dir, &conv.id)?);
            }
            self.session_id = conv.id;
        } else if let Some(dir) = &self.history_dir {
            let w = HistoryWriter::create_for(dir, &self.settings)?;
            self.session_id = w.id().to_string();
            self.history = Some(w);
        } else {
            self.session_id = format!("ephemeral-{}", std::process::id());
        }
        if let Some(dir) = &self.audit_dir {
            let mut log = AuditLog::open(dir, &self.session_id)?;
            log.append(
                "session_start",
                json!({
                    "version": env!("CARGO_PKG_VERSION"),
                    "model": self.settings.model,
                    "provider": self.settings.provider,
                    "api_base": self.settings.api_base,
                    "settings": self.settings,
                    "executor": self.executor,
                    "context": self.audit_context,
                    "resumed": resume.map(|p| p.display().to_string()),
                }),
            )?;
            self.audit = Some(log);
        }
        self.emit(
            frontend,
            Event::SessionStarted {
                session_id: self.session_id.clone(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                model: self.settings.model.clone(),
                workspace: self.settings.workspace.display().to_string(),
                tool_mode: self.settings.tool_mode.as_str().to_string(),
                languages: self.languages.clone(),
                executor: self.executor.clone(),
            },
        );
        Ok(())
    }

    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// What the conversation has cost so far, when the model's price is known.
    pub fn cost_usd(&self) -> Option<f64> {
        self.settings.cost_usd(&self.usage)
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn record(&mut self, message: Message) -> Result<(), AgentError> {
        if let Some(h) = &mut self.history {
            h.message(&message)?;
        }
        self.messages.push(message);
        Ok(())
    }

    fn sync_history(&mut self) -> Result<(), AgentError> {
        if let Some(log) = &mut self.audit {
            // Best effort: a failing audit log was already reported.
            let _ = log.sync();
        }
        if let Some(h) = &mut self.history {
            h.sync()?;
        }
        Ok(())
    }

    /// Handles one user message to completion.
    pub async fn send(
        &mut self,
        text: &str,
        frontend: &mut dyn Frontend,
        cancel: &CancellationToken,
    ) -> Result<TurnOutcome, AgentError> {
        self.emit(
            frontend,
            Event::UserMessage {
                text: text.to_string(),
            },
        );
        let content = self.redact(text);
        self.record(Message::User { content })?;
        self.sync_history()?;
        // The user has spoken since: earlier signals no longer mark new blocks.
        self.injection_signals.clear();
        let mut outcome = TurnOutcome {
            end: TurnEnd::MaxTurns,
            blocks_run: 0,
            blocks_declined: 0,
        };
        let result = self.turns(frontend, cancel, &mut outcome).await;
        self.sync_history()?;
        let reason = match (&result, outcome.end) {
            (Err(_), _) => "error",
            (Ok(()), TurnEnd::Answered) => "answered",
            (Ok(()), TurnEnd::MaxTurns) => "max_turns",
            (Ok(()), TurnEnd::Budget) => "budget",
            (Ok(()), TurnEnd::Interrupted) => "interrupted",
        };
        if let Err(e) = &result {
            self.emit(
                frontend,
                Event::Error {
                    kind: match e {
                        AgentError::Llm(LlmError::Cancelled) => "cancelled",
                        AgentError::Llm(_) => "model",
                        AgentError::History(_) => "history",
                        AgentError::Load(_) => "load",
                        AgentError::Audit(_) => "audit",
                    }
                    .to_string(),
                    message: e.to_string(),
                },
            );
        }
        self.emit(
            frontend,
            Event::TurnFinished {
                reason: reason.to_string(),
            },
        );
        result.map(|()| outcome)
    }

    async fn turns(
        &mut self,
        frontend: &mut dyn Frontend,
        cancel: &CancellationToken,
        outcome: &mut TurnOutcome,
    ) -> Result<(), AgentError> {
        // Whether the model was already asked, in this turn, to put code it
        // wrote where interlock runs it (see `unrun_code`).
        let mut nudged = false;
        for _ in 0..self.settings.max_turns {
            let mut request_messages: Vec<Message> = Vec::with_capacity(self.messages.len() + 1);
            request_messages.push(self.system.clone());
            request_messages.extend(self.messages.iter().cloned());
            if let Some(window) = self.settings.context_window {
                let reserve = self.settings.max_tokens.unwrap_or(1024) as usize;
                let trimmed = interlock_llm::trim_to_window(&request_messages, window, reserve);
                if trimmed.changed() {
                    self.emit(
                        frontend,
                        Event::Notice {
                            level: NoticeLevel::Info,
                            message: format!(
                                "to fit --context-window {window}: left out {} old message(s), shortened {} old output(s) (the history keeps them)",
                                trimmed.dropped, trimmed.shortened
                            ),
                        },
                    );
                    request_messages = trimmed.messages;
                }
            }
            if let Some(budget) = self.settings.max_budget {
                let model = &self.settings.model;
                let estimate = Usage {
                    prompt_tokens: interlock_llm::estimate_total(&request_messages) as u64,
                    completion_tokens: u64::from(self.settings.max_tokens.unwrap_or(1024)),
                };
                let mut total = self.usage;
                total.add(estimate);
                match self.settings.cost_usd(&total) {
                    Some(cost) if cost > budget => {
                        self.emit(
                            frontend,
                            Event::Notice {
                                level: NoticeLevel::Warning,
                                message: format!(
                                    "stopped: the next request could bring this conversation to about ${cost:.4}, past --max-budget ${budget:.4}"
                                ),
                            },
                        );
                        outcome.end = TurnEnd::Budget;
                        return Ok(());
                    }
                    Some(_) => {}
                    None => {
                        self.emit(
                            frontend,
                            Event::Notice {
                                level: NoticeLevel::Warning,
                                message: format!(
                                    "stopped: --max-budget needs the price of {model:?}, which interlock does not know"
                                ),
                            },
                        );
                        outcome.end = TurnEnd::Budget;
                        return Ok(());
                    }
                }
            }
            let reply = loop {
                let offer_tools = self.settings.tool_mode == ToolMode::Tools && !self.fit.no_tools;
                let req = ChatRequest {
                    messages: &request_messages,
                    offer_tools,
                    stream: !(offer_tools && self.fit.no_tool_stream),
                };
                self.audit(frontend, "model_request", |a| {
                let new_part = &request_messages[1 + a.sent_messages.min(a.messages.len())..];
                json!({
                    "model": a.settings.model,
                    "messages": request_messages.len(),
                    "sha256": digest(&serde_json::to_string(&request_messages).unwrap_or_default()),
                    "new": new_part,
                    "tools": req.offer_tools,
                })
            });
                self.sent_messages = self.messages.len();
                let mut streamed = String::new();
                let wants_redacted = frontend.wants_redacted();
                let redactor = self.redactor.clone();
                let mut delta_redactor = StreamRedactor::new(&redactor, &self.placeholders);
                let reply = {
                    let mut on_delta = |d: StreamDelta| {
                        match d {
                    StreamDelta::Text(t) => {
                        streamed.push_str(&t);
                        let t = if wants_redacted { delta_redactor.push(&t) } else { t };
                        if !t.is_empty() {
                            frontend.event(&Event::AssistantDelta { text: t });
                        }
                    }
                    StreamDelta::Retrying {
                        attempt,
                        max_attempts,
                        delay,
                        reason,
                    } => frontend.event(&Event::Notice {
                        level: NoticeLevel::Warning,
                        message: format!(
                            "the model server failed ({}); retry {attempt} of {max_attempts} in {:.1} s",
                            shorten(&reason, 160),
                            delay.as_secs_f64()
                        ),
                    }),
                    _ => {}
                }
                    };
                    self.client.chat(&req, cancel, &mut on_delta).await
                };
                if wants_redacted {
                    let rest = delta_redactor.finish();
                    if !rest.is_empty() {
                        frontend.event(&Event::AssistantDelta { text: rest });
                    }
                }
                let reply = match reply {
                    Ok(r) => r,
                    Err(LlmError::Cancelled) => {
                        // Keep what the user already saw, so the conversation matches the screen.
                        if !streamed.is_empty() {
                            self.emit(
                                frontend,
                                Event::AssistantMessage {
                                    text: streamed.clone(),
                                },
                            );
                            self.record(Message::Assistant {
                                content: format!("{streamed}\n[interrupted by the user]"),
                                tool_calls: vec![],
                            })?;
                        }
                        outcome.end = TurnEnd::Interrupted;
                        return Ok(());
                    }
                    Err(LlmError::Interrupted { partial, cause }) => {
                        // The reply was cut after the user saw part of it: keep
                        // that part (marked) and never run half a tool call.
                        if !partial.text.is_empty() {
                            self.emit(
                                frontend,
                                Event::AssistantMessage {
                                    text: partial.text.clone(),
                                },
                            );
                            self.record(Message::Assistant {
                                content: format!("{}\n[reply cut off: {cause}]", partial.text),
                                tool_calls: vec![],
                            })?;
                        }
                        return Err(LlmError::Interrupted { partial, cause }.into());
                    }
                    Err(e) => {
                        if let Some(adapt) = adaptation_for_error(&e, &req) {
                            self.adapt(frontend, adapt, &e.to_string());
                            request_messages[0] = self.system.clone();
                            continue;
                        }
                        return Err(e.into());
                    }
                };
                if let Some(adapt) = adaptation_for_reply(&reply, &req) {
                    // The literal text was shown; ask again in the shape that works.
                    if let Some(u) = reply.usage {
                        self.usage.add(u);
                    }
                    let t = reply.text.trim();
                    let seen = if t.is_empty() {
                        String::new()
                    } else {
                        format!("it answered {t:?}")
                    };
                    self.adapt(frontend, adapt, &seen);
                    request_messages[0] = self.system.clone();
                    continue;
                }
                break reply;
            };
            self.audit(frontend, "model_response", |a| {
                json!({
                    "text": a.redact(&reply.text),
                    "tool_calls": reply.tool_calls.iter().map(|c| json!({
                        "id": c.id,
                        "name": c.name,
                        "arguments": a.redact(&c.arguments),
                    })).collect::<Vec<_>>(),
                    "finish_reason": reply.finish_reason,
                    "usage": reply.usage,
                })
            });
            if let Some(u) = reply.usage {
                self.usage.add(u);
                self.emit(
                    frontend,
                    Event::Usage {
                        prompt_tokens: u.prompt_tokens,
                        completion_tokens: u.completion_tokens,
                    },
                );
            }
            if !reply.text.is_empty() {
                self.emit(
                    frontend,
                    Event::AssistantMessage {
                        text: reply.text.clone(),
                    },
                );
            }
            let blocks = self.blocks_of(&reply.text, &reply.tool_calls);
            let tool_calls = if self.settings.tool_mode == ToolMode::Tools {
                reply.tool_calls.clone()
            } else {
                Vec::new()
            };
            self.record(Message::Assistant {
                content: reply.text.clone(),
                tool_calls,
            })?;
            if blocks.is_empty() {
                if outcome.blocks_run == 0
                    && !nudged
                    && let Some(what) = unrun_code(&reply.text)
                {
                    // Code the model meant to run but wrote where nothing
                    // runs (an untagged fence, a bare command): ask once for
                    // a tagged block, which then goes through the same
                    // rating, approval and sandbox as any other. The text
                    // itself is never run.
                    nudged = true;
                    self.emit(
                        frontend,
                        Event::Notice {
                            level: NoticeLevel::Info,
                            message: format!(
                                "no code ran in this turn, but the reply holds {what}; asking the model once to write it in a tagged block"
                            ),
                        },
                    );
                    self.record(Message::User {
                        content: format!(
                            "[from interlock, not the user] Nothing ran: your reply holds {what}, and only code in a fenced block tagged with its language (```python, ```shell or ```javascript) is run. If the task needs code, write it in such a block now; otherwise answer in plain text."
                        ),
                    })?;
                    continue;
                }
                if outcome.blocks_run == 0
                    && let Some(why) = unbacked_claim(&reply.text)
                {
                    // A silent end after "I created the file" is the worst
                    // outcome: say that nothing ran.
                    self.emit(
                        frontend,
                        Event::Notice {
                            level: NoticeLevel::Warning,
                            message: format!("no code ran in this turn, but {why}"),
                        },
                    );
                }
                outcome.end = TurnEnd::Answered;
                return Ok(());
            }
            let mut markdown_results = Vec::new();
            let mut interrupted = false;
            for block in blocks {
                let mut ran = false;
                let result = if interrupted {
                    "Not run: the user interrupted the previous block.".to_string()
                } else {
                    let (text, status) = self.handle_block(&block, frontend, cancel).await;
                    // What the code printed is untrusted: marked as data for
                    // the model, and looked at for text addressed to it.
                    let text = if matches!(status, BlockResult::Ran(_)) {
                        self.take_untrusted(frontend, &block.block_id, &text)
                    } else {
                        text
                    };
                    match status {
                        BlockResult::Ran(ExecStatus::Interrupted) => {
                            outcome.blocks_run += 1;
                            interrupted = true;
                        }
                        BlockResult::Ran(_) => outcome.blocks_run += 1,
                        BlockResult::Declined => outcome.blocks_declined += 1,
                        BlockResult::Invalid => {}
                    }
                    ran = matches!(status, BlockResult::Ran(_));
                    text
                };
                match &block.call_id {
                    Some(id) => self.record(Message::Tool {
                        tool_call_id: id.clone(),
                        content: result,
                    })?,
                    // No call to answer: a user message, marked as what
                    // interlock did with the code, not as the user's words.
                    // Said in words whether it ran: a small model told only
                    // "(no output)" reported that the user had declined it.
                    None => markdown_results.push(format!(
                        "Result of your {} code block: {}\n{result}",
                        block.language,
                        if ran {
                            "it ran; its output follows."
                        } else {
                            "it did not run."
                        }
                    )),
                }
            }
            if !markdown_results.is_empty() {
                self.record(Message::User {
                    content: markdown_results.join("\n\n"),
                })?;
            }
            self.sync_history()?;
            if interrupted || cancel.is_cancelled() {
                outcome.end = TurnEnd::Interrupted;
                return Ok(());
            }
        }
        self.emit(
            frontend,
            Event::Notice {
                level: NoticeLevel::Warning,
                message: format!(
                    "stopped after {} model turns (--max-turns); send another message to continue",
                    self.settings.max_turns
                ),
            },
        );
        outcome.end = TurnEnd::MaxTurns;
        Ok(())
    }

    /// The runnable (or rejectable) blocks of one reply.
    fn blocks_of(&mut self, text: &str, calls: &[ToolCall]) -> Vec<Block> {
        let mut out = Vec::new();
        match self.settings.tool_mode {
            ToolMode::Tools if calls.is_empty() => {
                // A model (or a server) that ignored the tool: take the code
                // from the text, the way markdown mode would.
                let written = fences::text_tool_calls(text);
                if written.is_empty() {
                    return self.fence_blocks(text);
                }
                for call in written {
                    self.block_seq += 1;
                    out.push(Block {
                        block_id: format!("b{}", self.block_seq),
                        call_id: None,
                        language: call.language,
                        code: call.code,
                        invalid: None,
                    });
                }
            }
            ToolMode::Tools => {
                for call in calls {
                    self.block_seq += 1;
                    let block_id = format!("b{}", self.block_seq);
                    let parsed = if call.name != EXECUTE_TOOL {
                        Err(format!(
                            "there is no tool named {:?}; the only tool is `execute`",
                            call.name
                        ))
                    } else {
                        interlock_llm::parse_execute_arguments(&call.arguments)
                            .map_err(|e| e.to_string())
                    };
                    out.push(match parsed {
                        Ok((language, code)) => Block {
                            block_id,
                            call_id: Some(call.id.clone()),
                            language,
                            code,
                            invalid: None,
                        },
                        Err(e) => Block {
                            block_id,
                            call_id: Some(call.id.clone()),
                            language: String::new(),
                            code: call.arguments.clone(),
                            invalid: Some(e),
                        },
                    });
                }
            }
            ToolMode::Markdown => return self.fence_blocks(text),
        }
        out
    }

    /// The tagged fences of `text` as blocks; untagged ones are only shown.
    fn fence_blocks(&mut self, text: &str) -> Vec<Block> {
        let mut out = Vec::new();
        for fence in fences::extract(text) {
            if fence.language.is_none() {
                // Shown in the reply text; never run.
                continue;
            }
            self.block_seq += 1;
            out.push(Block {
                block_id: format!("b{}", self.block_seq),
                call_id: None,
                language: fence.tag,
                code: fence.code,
                invalid: None,
            });
        }
        out
    }

    /// Changes the request shape for the rest of the session and says so once.
    fn adapt(&mut self, frontend: &mut dyn Frontend, adapt: Adapt, seen: &str) {
        let seen = match shorten(seen, 120) {
            s if s.is_empty() => "it answered with nothing".to_string(),
            s => s,
        };
        let message = match adapt {
            Adapt::NoTools => {
                self.fit.no_tools = true;
                self.system = self.system_fenced.clone();
                format!(
                    "the model server does not take tool definitions ({seen}); from now on this session asks for code in fenced blocks"
                )
            }
            Adapt::NoToolStream => {
                self.fit.no_tool_stream = true;
                format!(
                    "the model server cannot stream tool calls ({seen}); from now on this session asks for tool calls without streaming"
                )
            }
        };
        self.emit(
            frontend,
            Event::Notice {
                level: NoticeLevel::Info,
                message,
            },
        );
    }

    async fn handle_block(
        &mut self,
        block: &Block,
        frontend: &mut dyn Frontend,
        cancel: &CancellationToken,
    ) -> (String, BlockResult) {
        if let Some(problem) = &block.invalid {
            self.emit(
                frontend,
                Event::Notice {
                    level: NoticeLevel::Warning,
                    message: format!("the model made an invalid tool call: {problem}"),
                },
            );
            return (
                format!(
                    "Error: invalid call: {problem}. Call `execute` with JSON arguments {{\"language\": \"python\"|\"shell\"|\"javascript\", \"code\": \"...\"}}."
                ),
                BlockResult::Invalid,
            );
        }
        self.emit(
            frontend,
            Event::CodeProposed {
                block_id: block.block_id.clone(),
                language: block.language.clone(),
                code: block.code.clone(),
            },
        );
        let language = match Language::from_alias(&block.language) {
            Some(l) if self.languages.contains(&l) => l,
            _ => {
                let reason = format!(
                    "language {:?} is not available here (available: {})",
                    block.language,
                    self.languages
                        .iter()
                        .map(|l| l.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                self.emit(
                    frontend,
                    Event::Decision {
                        block_id: block.block_id.clone(),
                        approved: false,
                        by: Decider::Policy,
                        reason: reason.clone(),
                        edited_code: None,
                    },
                );
                return (format!("Not run: {reason}."), BlockResult::Declined);
            }
        };
        let mut code = block.code.clone();
        let report = self.assess(frontend, &block.block_id, language, &code);
        if let Some(refusal) = self.refusal(&report) {
            return self.refuse(frontend, &block.block_id, refusal);
        }
        let within_limit = self.always && report.risk <= self.settings.guard.auto_run_max_risk;
        let narrowed =
            within_limit && self.untrusted_seen && self.settings.guard.untrusted_narrows_auto_run;
        let held_back = narrowed
            .then(|| changes_state(&report, &self.settings.workspace))
            .flatten()
            .map(|what| {
                format!(
                    "--auto-run asks about it because it {what}, after reading untrusted content (program output, file contents)"
                )
            });
        let auto_ok = within_limit && held_back.is_none();
        let (by, reason, edited) = if auto_ok {
            (
                Decider::Auto,
                format!(
                    "{} (risk {} is within the auto-run limit {})",
                    if self.settings.auto_run {
                        "--auto-run"
                    } else {
                        "always this session"
                    },
                    report.risk,
                    self.settings.guard.auto_run_max_risk
                ),
                None,
            )
        } else {
            self.emit(
                frontend,
                Event::ApprovalRequested {
                    block_id: block.block_id.clone(),
                },
            );
            let findings = risk_findings(&report);
            match frontend.approve(&ApprovalRequest {
                block_id: &block.block_id,
                language,
                code: &block.code,
                risk: report.risk,
                findings: &findings,
                auto_run_max_risk: self.settings.guard.auto_run_max_risk,
                auto_run: self.always,
                held_back: held_back.as_deref(),
            }) {
                Approval::Run => (Decider::User, "approved".to_string(), None),
                Approval::Always => {
                    self.always = true;
                    (
                        Decider::User,
                        "approved, and always this session".to_string(),
                        None,
                    )
                }
                Approval::RunEdited(first) => {
                    // The edited code is what runs, so it is checked again
                    // and shown with its own risk for a second yes: a yes to
                    // the model's code is not a yes to the edit.
                    let mut new = first;
                    loop {
                        let report = self.assess(frontend, &block.block_id, language, &new);
                        if let Some(refusal) = self.refusal(&report) {
                            return self.refuse(frontend, &block.block_id, refusal);
                        }
                        self.emit(
                            frontend,
                            Event::ApprovalRequested {
                                block_id: block.block_id.clone(),
                            },
                        );
                        let findings = risk_findings(&report);
                        let answer = frontend.approve(&ApprovalRequest {
                            block_id: &block.block_id,
                            language,
                            code: &new,
                            risk: report.risk,
                            findings: &findings,
                            auto_run_max_risk: self.settings.guard.auto_run_max_risk,
                            auto_run: self.always,
                            held_back: None,
                        });
                        match answer {
                            Approval::RunEdited(again) => new = again,
                            Approval::Run | Approval::Always => {
                                if answer == Approval::Always {
                                    self.always = true;
                                }
                                break;
                            }
                            Approval::Decline { by, reason } => {
                                self.emit(
                                    frontend,
                                    Event::Decision {
                                        block_id: block.block_id.clone(),
                                        approved: false,
                                        by,
                                        reason,
                                        edited_code: Some(new),
                                    },
                                );
                                return (
                                    "Not run: the user edited this code and then declined to run it. Do not run it again; ask what they want instead.".to_string(),
                                    BlockResult::Declined,
                                );
                            }
                        }
                    }
                    code = new.clone();
                    (
                        Decider::User,
                        "approved after editing".to_string(),
                        Some(new),
                    )
                }
                Approval::Decline { by, reason } => {
                    self.emit(
                        frontend,
                        Event::Decision {
                            block_id: block.block_id.clone(),
                            approved: false,
                            by,
                            reason: reason.clone(),
                            edited_code: None,
                        },
                    );
                    let text = match by {
                        // What the user typed with their no is the user's
                        // own word to the model (redacted like any message).
                        Decider::User => match reason.split_once("who said: ") {
                            Some((_, said)) => format!(
                                "Not run: the user declined to run this code and said: {}\nDo not run it again; do what they said instead.",
                                self.redact(said)
                            ),
                            None => "Not run: the user declined to run this code. Do not run it again; ask what they want instead.".to_string(),
                        },
                        _ => format!("Not run: {reason}."),
                    };
                    return (text, BlockResult::Declined);
                }
            }
        };
        self.emit(
            frontend,
            Event::Decision {
                block_id: block.block_id.clone(),
                approved: true,
                by,
                reason,
                edited_code: edited.clone(),
            },
        );
        self.emit(
            frontend,
            Event::ExecutionStarted {
                block_id: block.block_id.clone(),
                language,
            },
        );
        let started = Instant::now();
        let mut decoders = [Utf8Carry::default(), Utf8Carry::default()];
        let block_id = block.block_id.clone();
        let wants_redacted = frontend.wants_redacted();
        let redactor = self.redactor.clone();
        let mut redactors = [
            StreamRedactor::new(&redactor, &self.placeholders),
            StreamRedactor::new(&redactor, &self.placeholders),
        ];
        let result = {
            let mut on_output = |stream: OutputStream, bytes: &[u8]| {
                let d = &mut decoders[stream as usize];
                let mut text = d.push(bytes);
                if wants_redacted {
                    text = redactors[stream as usize].push(&text);
                }
                if !text.is_empty() {
                    frontend.event(&Event::Output {
                        block_id: block_id.clone(),
                        stream,
                        text,
                    });
                }
            };
            self.kernels
                .run(language, &code, cancel, &mut on_output)
                .await
        };
        for (i, d) in decoders.iter_mut().enumerate() {
            let mut rest = d.finish();
            if wants_redacted {
                rest = redactors[i].push(&rest);
                rest.push_str(&redactors[i].finish());
            }
            if !rest.is_empty() {
                frontend.event(&Event::Output {
                    block_id: block_id.clone(),
                    stream: if i == 0 {
                        OutputStream::Stdout
                    } else {
                        OutputStream::Stderr
                    },
                    text: rest,
                });
            }
        }
        let (status, text) = match result {
            Ok(out) => {
                self.audit(frontend, "execution_output", |_| {
                    json!({
                        "block_id": block_id,
                        "exit_code": out.exit_code,
                        "output_sha256": digest(&out.output.text),
                        "output_bytes": out.output.total_bytes,
                    })
                });
                self.emit(
                    frontend,
                    Event::ExecutionFinished {
                        block_id: block_id.clone(),
                        status: out.status.clone(),
                        duration_ms: out.duration.as_millis() as u64,
                        output_bytes: out.output.total_bytes,
                        truncated: out.output.truncated,
                        note: out.note.clone(),
                    },
                );
                (
                    out.status.clone(),
                    tool_result_text(
                        &out,
                        self.settings.max_output,
                        edited.as_deref().map(|c| (language, c)),
                    ),
                )
            }
            Err(e) => {
                let msg = e.to_string();
                self.emit(
                    frontend,
                    Event::ExecutionFinished {
                        block_id: block_id.clone(),
                        status: ExecStatus::Failed,
                        duration_ms: started.elapsed().as_millis() as u64,
                        output_bytes: 0,
                        truncated: false,
                        note: Some(msg.clone()),
                    },
                );
                (ExecStatus::Failed, format!("Could not run the code: {msg}"))
            }
        };
        self.check_tripwire(frontend);
        // What the model sees is redacted: secrets printed by the code stay here.
        let text = self.redact(&text);
        self.emit(
            frontend,
            Event::ToolResult {
                block_id,
                content: text.clone(),
            },
        );
        (text, BlockResult::Ran(status))
    }

    /// Warns when the block left git hooks or git settings that run commands:
    /// git would run them outside the sandbox (see [`crate::tripwire`]).
    fn check_tripwire(&mut self, frontend: &mut dyn Frontend) {
        let Some(t) = &mut self.tripwire else { return };
        let found = t.check();
        if found.is_empty() {
            return;
        }
        self.emit(
            frontend,
            Event::Notice {
                level: NoticeLevel::Warning,
                message: format!(
                    "the code left git hooks or settings that git runs as commands — outside the sandbox — when you use git in this workspace: {}. Review or delete them before running git there.",
                    found.join("; ")
                ),
            },
        );
    }

    /// Runs the guard's static analysis and reports it.
    /// Marks a ran block's result as untrusted for the model and the history,
    /// remembers that untrusted text entered the conversation, and flags text
    /// in it addressed to the model (to the user, the audit log, and the risk
    /// report of the next blocks).
    fn take_untrusted(
        &mut self,
        frontend: &mut dyn Frontend,
        block_id: &str,
        text: &str,
    ) -> String {
        self.untrusted_seen = true;
        let signals = interlock_guard::injection::scan(text);
        if !signals.is_empty() {
            let summary: Vec<String> = signals
                .iter()
                .map(|s| format!("{} (\"{}\")", s.what, s.excerpt))
                .collect();
            self.emit(
                frontend,
                Event::Notice {
                    level: NoticeLevel::Warning,
                    message: format!(
                        "the output of block {block_id} contains text addressed to the model, a possible prompt injection: {}. Blocks proposed after it need your yes.",
                        summary.join("; ")
                    ),
                },
            );
            let kinds: Vec<&str> = signals.iter().map(|s| s.kind).collect();
            let block = block_id.to_string();
            self.audit(
                frontend,
                "injection_signal",
                |_| json!({ "block_id": block, "kinds": kinds }),
            );
            for s in signals {
                let label = s.what.to_string();
                if !self.injection_signals.contains(&label) {
                    self.injection_signals.push(label);
                }
            }
        }
        wrap_untrusted(&self.boundary, text)
    }

    fn assess(
        &mut self,
        frontend: &mut dyn Frontend,
        block_id: &str,
        language: Language,
        code: &str,
    ) -> Report {
        let mut report = analysis::analyze_with(language, code, &self.settings.guard.rules);
        if !self.injection_signals.is_empty() {
            // Proposed right after untrusted text that addressed the model:
            // the link is shown, and the block needs a yes.
            report.findings.insert(
                0,
                analysis::Finding {
                    rule: "context.after-injection-signal".into(),
                    risk: Risk::Medium,
                    message: format!(
                        "proposed right after program output that addresses the model ({}); it may come from an injection rather than from you",
                        self.injection_signals.join("; ")
                    ),
                    language,
                    span: Default::default(),
                    target: None,
                },
            );
            report.risk = report.risk.max(Risk::Medium);
        }
        self.emit(
            frontend,
            Event::RiskAssessed {
                block_id: block_id.to_string(),
                risk: report.risk.as_str().to_string(),
                findings: risk_findings(&report),
            },
        );
        report
    }

    /// Why policy refuses this block outright, if it does.
    fn refusal(&self, report: &Report) -> Option<String> {
        if report.risk != Risk::Critical || !self.settings.guard.refuse_critical {
            return None;
        }
        let why: Vec<&str> = report
            .findings_at_least(Risk::Critical)
            .map(|f| f.message.as_str())
            .collect();
        Some(format!(
            "refused: rated critical ({}); interlock does not run critical code (--allow-critical asks instead)",
            why.join("; ")
        ))
    }

    fn refuse(
        &mut self,
        frontend: &mut dyn Frontend,
        block_id: &str,
        reason: String,
    ) -> (String, BlockResult) {
        self.emit(
            frontend,
            Event::Decision {
                block_id: block_id.to_string(),
                approved: false,
                by: Decider::Policy,
                reason: reason.clone(),
                edited_code: None,
            },
        );
        (
            format!(
                "Not run: {reason}. Do not try to work around this; explain to the user what you wanted to do."
            ),
            BlockResult::Declined,
        )
    }

    /// Switches to another sandbox (a changed policy, `%sandbox MODE`): every language session is
    /// shut down so nothing keeps running under the old policy; the next block starts fresh under
    /// `backend`. Records the change in the audit log and tells the front end.
    pub async fn change_sandbox(
        &mut self,
        frontend: &mut dyn Frontend,
        backend: Arc<dyn interlock_kernels::Backend>,
        sandboxed: bool,
        plan: Value,
    ) {
        let name = backend.name();
        self.kernels.set_backend(backend).await;
        self.executor = name.clone();
        self.audit(
            frontend,
            "sandbox_changed",
            |_| json!({ "executor": name, "sandboxed": sandboxed, "plan": plan }),
        );
        self.emit(
            frontend,
            Event::Notice {
                level: NoticeLevel::Info,
                message: format!(
                    "code now runs in: {name}; language sessions were restarted (their variables are gone)"
                ),
            },
        );
    }

    /// Where code runs now (the executor's name).
    pub fn executor_name(&self) -> &str {
        &self.executor
    }

    /// Starts a fresh conversation (new history file) and fresh language sessions.
    pub async fn reset(&mut self) -> Result<(), AgentError> {
        self.sync_history()?;
        self.messages.clear();
        self.sent_messages = 0;
        self.usage = Usage::default();
        self.kernels.reset_all();
        if let Some(dir) = &self.history_dir {
            let w = HistoryWriter::create_for(dir, &self.settings)?;
            self.session_id = w.id().to_string();
            self.history = Some(w);
        }
        Ok(())
    }

    /// Switches the model for the turns that follow (same server, key and
    /// settings; the conversation and what it has read are kept, so auto-run
    /// stays narrowed). The server's adaptations are found again, since tool
    /// support can differ per model (Ollama). Records `model_changed`.
    pub fn set_model(&mut self, frontend: &mut dyn Frontend, model: &str) -> Result<(), String> {
        let model = model.trim();
        if model.is_empty() || model.chars().any(char::is_control) {
            return Err("give a model name, e.g. /model gpt-4o".into());
        }
        let from = std::mem::replace(&mut self.settings.model, model.to_string());
        self.client.set_model(model);
        self.fit = ServerFit::default();
        self.audit(
            frontend,
            "model_changed",
            |a| json!({ "from": from, "to": a.settings.model }),
        );
        Ok(())
    }

    /// Removes the last user message and everything after it. Returns false
    /// when there is nothing to undo. Language session state is not rolled back.
    pub fn undo(&mut self) -> Result<bool, AgentError> {
        let Some(pos) = self
            .messages
            .iter()
            .rposition(|m| matches!(m, Message::User { .. }))
        else {
            return Ok(false);
        };
        self.messages.truncate(pos);
        if let Some(h) = &mut self.history {
            h.append(&Record::Truncate { len: pos })?;
            h.sync()?;
        }
        Ok(true)
    }

    /// Writes the conversation to `path` as JSON (0600).
    pub fn save(&self, path: &Path) -> Result<(), AgentError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let doc = serde_json::json!({
            "interlock_conversation": 1,
            "model": self.settings.model,
            "messages": self.messages,
        });
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| AgentError::Load(format!("cannot write {}: {e}", path.display())))?;
        f.write_all(serde_json::to_string_pretty(&doc).expect("json").as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| AgentError::Load(format!("cannot write {}: {e}", path.display())))
    }

    /// Replaces the conversation with one saved by [`Agent::save`].
    pub fn load(&mut self, path: &Path) -> Result<usize, AgentError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AgentError::Load(format!("cannot read {}: {e}", path.display())))?;
        #[derive(serde::Deserialize)]
        struct Doc {
            interlock_conversation: u32,
            messages: Vec<Message>,
        }
        let doc: Doc = serde_json::from_str(&text).map_err(|e| {
            AgentError::Load(format!(
                "{} is not a saved interlock conversation: {e}",
                path.display()
            ))
        })?;
        if doc.interlock_conversation != 1 {
            return Err(AgentError::Load(format!(
                "{}: unsupported format version {}",
                path.display(),
                doc.interlock_conversation
            )));
        }
        let mut messages: Vec<Message> = doc
            .messages
            .into_iter()
            .filter(|m| !matches!(m, Message::System { .. }))
            .collect();
        history::repair_dangling_tool_calls(&mut messages);
        if let Some(h) = &mut self.history {
            h.append(&Record::Truncate { len: 0 })?;
            for m in &messages {
                h.message(m)?;
            }
            h.sync()?;
        }
        let n = messages.len();
        self.messages = messages;
        self.sent_messages = 0;
        Ok(n)
    }

    /// Stops every language session.
    pub async fn shutdown(&mut self) {
        let _ = self.sync_history();
        self.kernels.shutdown().await;
    }
}

struct Block {
    block_id: String,
    /// The tool call this answers; None for markdown fences.
    call_id: Option<String>,
    language: String,
    code: String,
    /// Why the call could not be understood.
    invalid: Option<String>,
}

enum BlockResult {
    Ran(ExecStatus),
    Declined,
    Invalid,
}

/// Rule families whose blocks change state that is worth a yes once untrusted
/// text is in the conversation, with what to tell the user.
const STATE_CHANGES: &[(&str, &str)] = &[
    ("delete.", "deletes files"),
    ("destroy.", "destroys data"),
    ("tamper.", "tampers with logs or history"),
    ("net.", "uses the network"),
    ("exfil.", "sends data out"),
    ("install.", "installs software"),
    ("persist.", "sets up something that runs later"),
    ("system.", "changes the system"),
    ("privilege.", "changes permissions or privileges"),
    ("cred.", "touches credentials"),
    ("exec.git", "changes git settings"),
    ("exec.download", "runs downloaded code"),
    ("git.state", "changes git state"),
];

/// What the block changes that [`STATE_CHANGES`] names, if anything, and
/// which existing files it overwrites (its `write.file` findings whose target
/// exists, resolved against `workspace`; a name known only at run time may
/// be an existing file). Creating a new file is not a change of state.
fn changes_state(report: &Report, workspace: &Path) -> Option<String> {
    let mut what: Vec<String> = Vec::new();
    let mut overwritten: Vec<String> = Vec::new();
    for f in &report.findings {
        if f.rule == analysis::WRITE_FILE_RULE {
            let name = match &f.target {
                Some(t) if !existing_file(workspace, t) => continue,
                Some(t) => t.clone(),
                None => "files named only at run time".to_string(),
            };
            if !overwritten.contains(&name) {
                overwritten.push(name);
            }
        } else if let Some((_, w)) = STATE_CHANGES.iter().find(|(p, _)| f.rule.starts_with(p))
            && !what.iter().any(|x| x == w)
        {
            what.push(w.to_string());
        }
    }
    if !overwritten.is_empty() {
        what.push(format!(
            "overwrites existing files ({})",
            overwritten.join(", ")
        ));
    }
    (!what.is_empty()).then(|| what.join(", "))
}

/// Whether `target` (relative to `workspace`, `~` the home directory) names
/// something that exists and is not a directory (writing to a directory's
/// name fails; files moved into it are reported as their own targets).
fn existing_file(workspace: &Path, target: &str) -> bool {
    let path = match target.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            match std::env::var_os("HOME") {
                Some(home) => Path::new(&home).join(rest.trim_start_matches('/')),
                // Unknown home: assume the worst.
                None => return true,
            }
        }
        _ => workspace.join(target),
    };
    // symlink_metadata: a dangling link written through is still a change.
    std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_dir())
}

/// The tags of fenced blocks with code that interlock does not run (no
/// runnable language), as shown to the user: "untagged" or the `tag`.
fn unrun_fence_tags(text: &str) -> Vec<String> {
    fences::extract(text)
        .into_iter()
        .filter(|f| f.language.is_none() && !f.code.trim().is_empty())
        .map(|f| {
            if f.tag.is_empty() {
                "untagged".to_string()
            } else {
                format!("`{}`", f.tag)
            }
        })
        .collect()
}

/// Code in a reply that interlock does not run although the model seems to
/// have meant it to: a fence with code but without a runnable tag, or a
/// reply that is only a shell command line (`ls -l *.log`), as small models
/// answer. Says what it found, for the notice and the model.
fn unrun_code(text: &str) -> Option<String> {
    let fenced = unrun_fence_tags(text);
    if !fenced.is_empty() {
        return Some(format!(
            "{} code block(s) that interlock does not run ({})",
            fenced.len(),
            fenced.join(", ")
        ));
    }
    let t = text.trim().trim_start_matches("$ ");
    if t.is_empty() || t.contains('\n') || t.len() > 200 {
        return None;
    }
    const COMMANDS: &[&str] = &[
        "ls", "cat", "wc", "grep", "find", "mkdir", "cp", "mv", "rm", "echo", "head", "tail",
        "sort", "uniq", "tar", "touch", "awk", "sed", "printf", "du", "df", "pwd", "python",
        "python3", "node", "bash", "sh", "cut", "tr", "diff", "gzip", "zip", "unzip", "chmod",
    ];
    let first = t.split_whitespace().next().unwrap_or("");
    // A command line, not a sentence that starts with the word ("Sort the
    // list by name."): no sentence end, and more than one word or a flag.
    let command_like =
        COMMANDS.contains(&first) && !t.ends_with('.') && t.split_whitespace().count() > 1;
    command_like.then(|| {
        format!(
            "a shell command outside a code block (`{}`)",
            shorten(t, 60)
        )
    })
}

/// Why a final answer that follows no run at all may mislead: it holds code
/// that was not run (a fence without a language interlock runs), or it claims
/// to have created, changed or run something. None when it does neither.
fn unbacked_claim(text: &str) -> Option<String> {
    let unrun = unrun_fence_tags(text);
    if !unrun.is_empty() {
        return Some(format!(
            "the reply contains {} code block(s) ({}) that interlock does not run (only blocks tagged python, shell or javascript run); nothing it describes has happened",
            unrun.len(),
            unrun.join(", ")
        ));
    }
    let lower = text.to_lowercase();
    const CLAIMS: &[&str] = &[
        "has been created",
        "have been created",
        "has been saved",
        "has been written",
        "has been updated",
        "has been deleted",
        "has been removed",
        "i created",
        "i've created",
        "i have created",
        "i wrote",
        "i've written",
        "i have written",
        "i saved",
        "i've saved",
        "i have saved",
        "i ran",
        "i've run",
        "i have run",
        "i executed",
        "i deleted",
        "i've deleted",
        "i updated",
        "i've updated",
        "successfully created",
        "successfully saved",
        "successfully written",
        "was created",
        "was saved",
    ];
    CLAIMS.iter().find(|c| lower.contains(*c)).map(|c| {
        format!("the model's answer says \"{c}\"; check the workspace before relying on it")
    })
}

/// A marker that text written before this session cannot guess: 64 random
/// bits from the kernel (or, failing that, hashed clock and pid).
fn random_boundary() -> String {
    use std::io::Read;
    let mut b = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_err()
    {
        let mut h = Sha256::new();
        h.update(format!(
            "{:?}{}",
            std::time::SystemTime::now(),
            std::process::id()
        ));
        b.copy_from_slice(&h.finalize()[..8]);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn risk_findings(report: &Report) -> Vec<RiskFinding> {
    report
        .findings
        .iter()
        .map(|f| RiskFinding {
            rule: f.rule.to_string(),
            risk: f.risk.as_str().to_string(),
            message: f.message.clone(),
            line: f.span.start_line,
            column: f.span.start_col,
        })
        .collect()
}

/// The first `max` characters of `text`, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// How to adapt when the server rejected a request for its shape: the
/// tools (Ollama for a model without tool support, vLLM without a tool
/// parser) or streaming them (an error saying so, or a stream that ended
/// before any data: see [`LlmError::is_empty_stream`]).
fn adaptation_for_error(e: &LlmError, req: &ChatRequest<'_>) -> Option<Adapt> {
    if req.offer_tools && req.stream && e.is_empty_stream() {
        return Some(Adapt::NoToolStream);
    }
    if !req.offer_tools || !e.is_request_rejected() {
        return None;
    }
    let LlmError::Http { message, .. } = e else {
        return None;
    };
    let m = message.to_ascii_lowercase();
    // Only messages that say a feature is missing: a validation error that
    // merely lists the tool message types must not turn tools off.
    let refuses = [
        "support",
        "enable",
        "not allowed",
        "unknown",
        "unrecognized",
    ]
    .iter()
    .any(|w| m.contains(w));
    if !refuses {
        None
    } else if req.stream && m.contains("stream") {
        Some(Adapt::NoToolStream)
    } else if m.contains("tool") {
        Some(Adapt::NoTools)
    } else {
        None
    }
}

/// A reply with tools offered that holds neither a tool call nor anything
/// else: empty, or only the start of a call written as text
/// (`functions.execute:`). llama-cpp-python's `chatml-function-calling`
/// answers so under `tool_choice: "auto"`: it first lets the model pick
/// between a message and a call, then holds a message to a grammar that
/// allows only `functions.NAME:` or the end, so every prose reply comes out
/// empty or as that fragment. Streamed, first try without streaming (its
/// calls work then); not streamed, ask without tools for the rest of the
/// session (code then comes back in tagged fences).
fn adaptation_for_reply(
    reply: &interlock_llm::ChatResponse,
    req: &ChatRequest<'_>,
) -> Option<Adapt> {
    if !req.offer_tools || !reply.tool_calls.is_empty() {
        return None;
    }
    let t = reply.text.trim();
    let bare_call_start = t.strip_prefix("functions.").is_some_and(|rest| {
        let name = rest.trim_end_matches(':');
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    if !t.is_empty() && !bare_call_start {
        return None;
    }
    Some(if req.stream {
        Adapt::NoToolStream
    } else {
        Adapt::NoTools
    })
}

fn digest(text: &str) -> String {
    let mut h = Sha256::new();
    h.update(text.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What the model sees after a block ran: capped output plus how it ended.
/// When the user edited the code, the code that ran comes first, so the
/// model (and the history) know what produced the output.
fn tool_result_text(
    out: &RunOutcome,
    max_output: usize,
    edited: Option<(Language, &str)>,
) -> String {
    let mut text = head_tail(&out.output.text, max_output);
    if text.trim().is_empty() {
        text = "(no output)".to_string();
    }
    let status = match &out.status {
        ExecStatus::Ok => None,
        ExecStatus::Error => Some(match out.exit_code {
            Some(c) => format!("[the code failed with exit status {c}]"),
            None => "[the code raised an error]".to_string(),
        }),
        ExecStatus::Interrupted => Some("[interrupted by the user]".to_string()),
        ExecStatus::TimedOut => Some("[stopped: it ran past the time limit]".to_string()),
        ExecStatus::Crashed => Some("[the interpreter crashed]".to_string()),
        ExecStatus::Failed => Some("[could not be run]".to_string()),
    };
    if let Some((language, code)) = edited {
        let fence = if code.contains("```") { "~~~~" } else { "```" };
        let code = code.trim_end_matches('\n');
        text = format!(
            "[the user edited the code; this is what ran:]\n{fence}{}\n{code}\n{fence}\n[output:]\n{text}",
            language.as_str()
        );
    }
    if let Some(s) = status {
        text.push('\n');
        text.push_str(&s);
    }
    if let Some(note) = &out.note {
        text.push_str(&format!("\n[{note}]"));
    }
    text
}

/// Decodes a byte stream as UTF-8 across chunk boundaries: an incomplete
/// character at the end of a chunk waits for the next one; invalid bytes
/// become U+FFFD.
#[derive(Default)]
struct Utf8Carry {
    pending: Vec<u8>,
}

impl Utf8Carry {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let cut = incomplete_tail(&self.pending);
        let rest = self.pending.split_off(self.pending.len() - cut);
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending = rest;
        text
    }

    fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }
}

/// Length of a trailing incomplete (but so far valid) UTF-8 sequence.
fn incomplete_tail(b: &[u8]) -> usize {
    for back in 1..=3.min(b.len()) {
        let byte = b[b.len() - back];
        if byte & 0xC0 == 0x80 {
            continue; // continuation byte: keep looking for the lead
        }
        let need = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return 0,
        };
        return if need > back { back } else { 0 };
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_split_across_chunks_is_reassembled() {
        let mut d = Utf8Carry::default();
        let s = "añ€😀";
        let b = s.as_bytes();
        let mut out = String::new();
        for chunk in b.chunks(1) {
            out.push_str(&d.push(chunk));
        }
        out.push_str(&d.finish());
        assert_eq!(out, s);
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut d = Utf8Carry::default();
        let mut out = d.push(&[b'a', 0xff, b'b']);
        out.push_str(&d.push(&[0xE2, 0x82]));
        out.push_str(&d.finish());
        assert_eq!(out, "a\u{fffd}b\u{fffd}");
    }
}

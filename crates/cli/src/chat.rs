//! The two ways to talk to the agent: the interactive chat (`interlock`) and
//! one-shot tasks (`interlock exec`).

use crate::app::{self, Failure, exit};
use crate::approve::Asker;
use crate::flags::SharedOpts;
use crate::ui::{JsonUi, TerminalUi, want_color};
use interlock_core::{Agent, AgentError, Executor, Frontend, TurnEnd, TurnOutcome};
use interlock_llm::LlmError;
use interlock_protocol::{Event, NoticeLevel};
use reedline::{FileBackedHistory, Prompt, PromptEditMode, PromptHistorySearch, Reedline, Signal};
use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

fn runtime() -> Result<Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure {
            code: exit::INTERNAL,
            message: format!("cannot start the async runtime: {e}"),
        })
}

/// Cancels whatever token is current when SIGINT arrives, so Ctrl-C stops the
/// running block or model request instead of killing interlock.
fn install_ctrl_c(rt: &Runtime, slot: Arc<Mutex<CancellationToken>>) {
    rt.spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if let Ok(token) = slot.lock() {
                token.cancel();
            }
        }
    });
}

fn start(
    agent: &mut Agent,
    loaded: &app::Loaded,
    executor: &Executor,
    opts: &SharedOpts,
    frontend: &mut dyn Frontend,
) -> Result<(), Failure> {
    let resume = app::resume_path(loaded, opts.resume.as_deref())?;
    apply_retention(loaded, resume.as_deref(), frontend);
    agent
        .start(resume.as_deref(), frontend)
        .map_err(|e| Failure::config(e.to_string()))?;
    // What --local found is good news, not a warning.
    if let Some(note) = &loaded.local_note {
        frontend.event(&Event::Notice {
            level: NoticeLevel::Info,
            message: note.clone(),
        });
    }
    for w in app::startup_warnings(loaded, executor) {
        frontend.event(&Event::Notice {
            level: NoticeLevel::Warning,
            message: w,
        });
    }
    Ok(())
}

/// Who deleted a conversation, as the audit log records it.
const BY_RETENTION: &str = "history_retention";
const BY_COMMAND: &str = "interlock history delete";
const BY_FORGET: &str = "chat /forget";

/// `history_retention`: deletes the conversations not written to for that
/// long (never the one being resumed) and says how many.
fn apply_retention(loaded: &app::Loaded, resuming: Option<&Path>, frontend: &mut dyn Frontend) {
    use interlock_core::history;
    let Some(text) = &loaded.settings.history_retention else {
        return;
    };
    let Some(age) = history::parse_age(text) else {
        return;
    };
    let dir = &loaded.dirs.history_dir;
    let Ok(old) = history::older_than(dir, age, std::time::SystemTime::now()) else {
        return;
    };
    let keep = resuming
        .and_then(|p| p.file_stem())
        .and_then(|s| s.to_str());
    let mut deleted = 0;
    let mut failed = Vec::new();
    for id in old.iter().filter(|id| Some(id.as_str()) != keep) {
        match history::delete(dir, id, Some(&loaded.dirs.state_dir), BY_RETENTION) {
            Ok(()) => deleted += 1,
            Err(e) => failed.push(e.to_string()),
        }
    }
    if deleted > 0 {
        frontend.event(&Event::Notice {
            level: NoticeLevel::Info,
            message: format!(
                "deleted {deleted} conversation(s) not written to in {text} (history_retention)"
            ),
        });
    }
    if let Some(first) = failed.first() {
        frontend.event(&Event::Notice {
            level: NoticeLevel::Warning,
            message: format!("history_retention could not delete everything: {first}"),
        });
    }
}

/// `interlock history delete ID | --all | --older-than AGE`.
pub fn history_delete(
    opts: &SharedOpts,
    action: crate::flags::HistoryAction,
) -> Result<i32, Failure> {
    use interlock_core::history;
    let crate::flags::HistoryAction::Delete {
        id,
        all,
        older_than,
    } = action;
    let loaded = app::load(opts)?;
    let dir = &loaded.dirs.history_dir;
    let internal = |e: history::HistoryError| Failure {
        code: exit::INTERNAL,
        message: e.to_string(),
    };
    let ids = if all {
        history::ids(dir).map_err(internal)?
    } else if let Some(age_text) = &older_than {
        let age = history::parse_age(age_text).ok_or_else(|| {
            Failure::config(format!(
                "--older-than {age_text:?} is not an age (examples: 30d, 12h, 2w)"
            ))
        })?;
        history::older_than(dir, age, std::time::SystemTime::now()).map_err(internal)?
    } else {
        let id = id.unwrap_or_default();
        // Only the ids `interlock history` shows; nothing that names a path.
        history::find(dir, Some(&id)).map_err(|e| Failure::config(e.to_string()))?;
        vec![id]
    };
    let mut out = std::io::stdout().lock();
    for id in &ids {
        history::delete(dir, id, Some(&loaded.dirs.state_dir), BY_COMMAND).map_err(internal)?;
        let _ = writeln!(out, "deleted {id}");
    }
    if all {
        // The chat's typed lines are history too.
        let typed = loaded.dirs.state_dir.join("prompt-history");
        if typed.exists() {
            std::fs::write(&typed, b"").map_err(|e| Failure {
                code: exit::INTERNAL,
                message: format!("cannot clear {}: {e}", typed.display()),
            })?;
            let _ = writeln!(out, "cleared the chat's typed-line history");
        }
    }
    if ids.is_empty() {
        let _ = writeln!(out, "no conversations to delete");
    } else {
        let _ = writeln!(
            out,
            "{} conversation(s) deleted; the audit log records each deletion (id and time), not what was said",
            ids.len()
        );
    }
    Ok(exit::OK)
}

/// `interlock exec PROMPT`: one task, then exit with a status saying how it went.
pub fn exec(opts: &SharedOpts, prompt: &str) -> Result<i32, Failure> {
    crate::markdown::init_look(opts.theme);
    let prompt = if prompt == "-" {
        app::read_stdin_prompt()?
    } else if prompt.trim().is_empty() {
        return Err(Failure::config("the prompt is empty"));
    } else {
        prompt.to_string()
    };
    let loaded = app::load(opts)?;
    if app::needs_a_key(&loaded) {
        return Err(Failure::config(app::first_run_message(
            &loaded.settings.api_base,
        )));
    }
    let rt = runtime()?;
    let _guard = rt.enter();
    let (mut agent, executor) = app::build_agent(&loaded, opts.no_history)?;
    let asker = Asker::detect(want_color());
    let mut frontend: Box<dyn Frontend> = if opts.json {
        Box::new(JsonUi::new(asker))
    } else {
        let mut ui = TerminalUi::for_exec(asker);
        ui.max_output = loaded.settings.max_output;
        Box::new(ui)
    };
    start(&mut agent, &loaded, &executor, opts, frontend.as_mut())?;
    let cancel = CancellationToken::new();
    install_ctrl_c(&rt, Arc::new(Mutex::new(cancel.clone())));
    let result = rt.block_on(agent.send(&prompt, frontend.as_mut(), &cancel));
    rt.block_on(agent.shutdown());
    if let Err(AgentError::Llm(e)) = &result
        && e.is_connection_refused()
    {
        let _ = writeln!(
            std::io::stderr(),
            "interlock: {}",
            app::connection_refused_hint(&loaded.settings.api_base)
        );
    }
    Ok(exit_status(&result))
}

/// Maps how a task ended to the documented exit status.
fn exit_status(result: &Result<TurnOutcome, AgentError>) -> i32 {
    match result {
        Ok(o) => match o.end {
            TurnEnd::Interrupted => exit::INTERRUPTED,
            TurnEnd::MaxTurns | TurnEnd::Budget => exit::MAX_TURNS,
            TurnEnd::Answered if o.blocks_declined > 0 => exit::DECLINED,
            TurnEnd::Answered => exit::OK,
        },
        Err(AgentError::Llm(LlmError::Cancelled)) => exit::INTERRUPTED,
        Err(AgentError::Llm(_)) => exit::MODEL,
        Err(_) => exit::INTERNAL,
    }
}

struct ChatPrompt;

impl Prompt for ChatPrompt {
    fn render_prompt_left(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
    fn render_prompt_right(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
    fn render_prompt_indicator(&self, _mode: PromptEditMode) -> Cow<'_, str> {
        Cow::Borrowed("> ")
    }
    fn render_prompt_multiline_indicator(&self) -> Cow<'_, str> {
        Cow::Borrowed(". ")
    }
    fn render_prompt_history_search_indicator(&self, h: PromptHistorySearch) -> Cow<'_, str> {
        Cow::Owned(format!("(search: {}) ", h.term))
    }
}

const HELP: &str = "\
Type a request in plain language. Each block of code is shown and runs only if you approve it.
  /clear        start a new conversation (language sessions restart too; also %reset)
  /diff         what changed in the workspace (git diff and new files in a git repository)
  /forget       delete this conversation from disk and start a new one
  /model [NAME] show the model, or switch to NAME for the next turns (same server)
  %undo         forget the last message and everything after it
  %tokens       tokens used in this conversation
  %save PATH    save the conversation as JSON
  %load PATH    load a conversation saved with %save
  %verbose      toggle showing what is sent back to the model
  %output       the last block's whole output (long output is shown as head and tail)
  %sandbox [read-only|workspace-write]
                show or change the sandbox (language sessions restart)
  %help         this text
Each command works with / or % (/help, %help, ...).
Alt-Enter starts a new line in the message; pasted text with several lines stays one message.
Ctrl-C interrupts the running block or model reply; Ctrl-D, exit or quit leaves.";

/// `interlock`: the interactive chat.
pub fn interactive(opts: &SharedOpts) -> Result<i32, Failure> {
    crate::markdown::init_look(opts.theme);
    if opts.json {
        return Err(Failure::config(
            "--json works with `interlock exec PROMPT`, not the interactive chat",
        ));
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::config(
            "the interactive chat needs a terminal; use `interlock exec PROMPT` (or `interlock exec -` to read the prompt from stdin)",
        ));
    }
    let loaded = app::load(opts)?;
    let rt = runtime()?;
    let _guard = rt.enter();
    let (mut agent, executor) = app::build_agent(&loaded, opts.no_history)?;
    let mut ui = TerminalUi::new(Asker::detect(want_color()));
    ui.max_output = loaded.settings.max_output;
    start(&mut agent, &loaded, &executor, opts, &mut ui)?;
    let mut sandbox = SandboxState {
        loaded: &loaded,
        executor,
        baseline: crate::diff::Baseline::take(&loaded.settings.workspace),
    };
    if opts.resume.is_some() {
        ui.info(&format!(
            "resumed conversation {} ({} messages) with model {} at {}; the last turns:",
            agent.session_id(),
            agent.messages().len(),
            loaded.settings.model,
            loaded.settings.api_base
        ));
        ui.info(&recap(agent.messages()));
    }
    ui.info("Type a request. %help lists commands; Ctrl-D quits.");

    let slot = Arc::new(Mutex::new(CancellationToken::new()));
    install_ctrl_c(&rt, slot.clone());
    // Bracketed paste: a pasted block of several lines is one message, not
    // one message per line.
    // NO_COLOR covers the prompt and the line editor too.
    let mut editor = Reedline::create()
        .use_bracketed_paste(true)
        .with_ansi_colors(want_color());
    if let Some(h) = line_history(&loaded.dirs.state_dir) {
        editor = editor.with_history(Box::new(h));
    }
    loop {
        match editor.read_line(&ChatPrompt) {
            Ok(Signal::Success(line)) => {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                // Typed to interlock, never sent to the model.
                if matches!(line, "exit" | "quit") {
                    break;
                }
                if let Some(cmd) = local_command(line) {
                    if magic(&cmd, &mut agent, &mut ui, &rt, &mut sandbox) {
                        break;
                    }
                    continue;
                }
                if app::needs_a_key(&loaded) {
                    ui.info("not sent: no API key (see above; Ctrl-D quits)");
                    continue;
                }
                let token = CancellationToken::new();
                if let Ok(mut s) = slot.lock() {
                    *s = token.clone();
                }
                // Errors were already shown as events; the chat goes on.
                if let Err(AgentError::Llm(e)) = rt.block_on(agent.send(line, &mut ui, &token))
                    && e.is_connection_refused()
                {
                    ui.info(&app::connection_refused_hint(&loaded.settings.api_base));
                }
            }
            Ok(Signal::CtrlC) => continue,
            Ok(Signal::CtrlD) => break,
            Ok(_) => continue,
            Err(e) => {
                ui.info(&format!("line editor failed: {e}"));
                break;
            }
        }
    }
    rt.block_on(agent.shutdown());
    Ok(exit::OK)
}

/// How many user turns `--resume` replays.
const RECAP_TURNS: usize = 3;
/// Lines shown of each message in the replay.
const RECAP_LINES: usize = 4;

/// The last few turns of a resumed conversation, shortened. The caller
/// sanitizes it (it holds model text and program output).
fn recap(messages: &[interlock_protocol::Message]) -> String {
    use interlock_protocol::Message;
    let starts: Vec<usize> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| matches!(m, Message::User { .. }))
        .map(|(i, _)| i)
        .collect();
    let from = starts
        .len()
        .checked_sub(RECAP_TURNS)
        .map_or(0, |k| starts[k]);
    let mut out = String::new();
    if from > 0 {
        out.push_str("  …\n");
    }
    for m in &messages[from..] {
        match m {
            Message::System { .. } => {}
            Message::User { content } => push_quoted(&mut out, "you", content),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                if !content.trim().is_empty() {
                    push_quoted(&mut out, "model", content);
                }
                for call in tool_calls {
                    let args: serde_json::Value =
                        serde_json::from_str(&call.arguments).unwrap_or_default();
                    let language = args["language"].as_str().unwrap_or("code");
                    let code = args["code"].as_str().unwrap_or("");
                    push_quoted(&mut out, &format!("code ({language})"), code);
                }
            }
            Message::Tool { content, .. } => push_quoted(&mut out, "result", content),
        }
    }
    if out.is_empty() {
        out.push_str("  (no messages yet)");
    }
    out.trim_end().to_string()
}

/// `  label: first line` and a few more lines, indented, with a count of the
/// lines left out.
fn push_quoted(out: &mut String, label: &str, text: &str) {
    let lines: Vec<&str> = text.trim().lines().collect();
    for (i, line) in lines.iter().take(RECAP_LINES).enumerate() {
        let line: String = if line.chars().count() > 150 {
            line.chars().take(149).chain(['…']).collect()
        } else {
            line.to_string()
        };
        if i == 0 {
            out.push_str(&format!("  {label}: {line}\n"));
        } else {
            out.push_str(&format!("    {line}\n"));
        }
    }
    if lines.is_empty() {
        out.push_str(&format!("  {label}: (empty)\n"));
    }
    if lines.len() > RECAP_LINES {
        out.push_str(&format!("    … {} more lines\n", lines.len() - RECAP_LINES));
    }
}

/// Reedline's history of typed lines, kept private to the user.
fn line_history(state_dir: &Path) -> Option<FileBackedHistory> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(state_dir)
        .ok()?;
    let path = state_dir.join("prompt-history");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .ok()?;
    FileBackedHistory::with_file(1000, path).ok()
}

/// What `%sandbox` needs to build a new executor, and the one in use (it
/// must outlive the sessions started through it).
struct SandboxState<'a> {
    loaded: &'a app::Loaded,
    executor: Executor,
    /// The workspace when this conversation started, for `/diff`.
    baseline: crate::diff::Baseline,
}

/// The chat command `line` is, as a `%command`: `%name ...`, or `/name ...`
/// for a name interlock knows (so a message starting with a path such as
/// `/etc/hosts` still goes to the model).
fn local_command(line: &str) -> Option<String> {
    if line.starts_with('%') {
        return Some(line.to_string());
    }
    let rest = line.strip_prefix('/')?;
    let name = rest.split_whitespace().next().unwrap_or("");
    const KNOWN: &[&str] = &[
        "help", "reset", "clear", "diff", "forget", "model", "undo", "tokens", "save", "load",
        "verbose", "sandbox", "output", "exit", "quit",
    ];
    KNOWN.contains(&name).then(|| format!("%{rest}"))
}

/// Runs a `%command`. Returns true to quit.
fn magic(
    line: &str,
    agent: &mut Agent,
    ui: &mut TerminalUi,
    rt: &Runtime,
    sandbox: &mut SandboxState,
) -> bool {
    let (cmd, arg) = match line.split_once(char::is_whitespace) {
        Some((c, a)) => (c, a.trim()),
        None => (line, ""),
    };
    match cmd {
        "%sandbox" => change_sandbox(arg, agent, ui, rt, sandbox),
        "%help" => ui.info(HELP),
        "%output" => ui.show_last_output(),
        "%exit" | "%quit" => return true,
        "%reset" | "%clear" => match rt.block_on(agent.reset()) {
            Ok(()) => {
                sandbox.baseline = crate::diff::Baseline::take(&sandbox.loaded.settings.workspace);
                ui.info(&format!(
                    "new conversation {}; language sessions restarted",
                    agent.session_id()
                ))
            }
            Err(e) => ui.info(&format!("reset failed: {e}")),
        },
        "%forget" => forget(agent, ui, rt, sandbox),
        // Typed to interlock, so never sent to the model.
        "%model" if arg.is_empty() => ui.info(&format!(
            "the model is {}; `/model NAME` switches to another one on the same server",
            agent.settings().model
        )),
        "%model" => match agent.set_model(ui, arg) {
            Ok(()) => ui.info(&format!(
                "the model is now {} for the next turns (same server; the conversation is kept). `interlock --resume={}` starts with the model the conversation began with; add --model to change it",
                agent.settings().model,
                agent.session_id()
            )),
            Err(e) => ui.info(&e),
        },
        "%diff" => {
            let report = sandbox.baseline.report(&sandbox.loaded.settings.workspace);
            ui.show_text(&report);
        }
        "%undo" => match agent.undo() {
            Ok(true) => ui.info(
                "removed the last message and its replies (variables in the language sessions are kept)",
            ),
            Ok(false) => ui.info("nothing to undo"),
            Err(e) => ui.info(&format!("undo failed: {e}")),
        },
        "%tokens" => {
            let u = agent.usage();
            let cost = match agent.cost_usd() {
                Some(c) => format!(", about ${c:.4}"),
                None => String::new(),
            };
            ui.info(&format!(
                "tokens this conversation: {} prompt + {} completion = {} (as reported by the server){cost}",
                u.prompt_tokens,
                u.completion_tokens,
                u.prompt_tokens + u.completion_tokens
            ));
        }
        "%verbose" => {
            ui.verbose = !ui.verbose;
            ui.info(if ui.verbose {
                "verbose: on"
            } else {
                "verbose: off"
            });
        }
        "%save" if !arg.is_empty() => match agent.save(Path::new(arg)) {
            Ok(()) => ui.info(&format!("saved to {arg}")),
            Err(e) => ui.info(&e.to_string()),
        },
        "%load" if !arg.is_empty() => match agent.load(Path::new(arg)) {
            Ok(n) => ui.info(&format!("loaded {n} messages from {arg}")),
            Err(e) => ui.info(&e.to_string()),
        },
        "%save" | "%load" => ui.info(&format!("usage: {cmd} PATH")),
        _ => ui.info(&format!("unknown command {cmd}; %help lists them")),
    }
    false
}

/// `/forget`: starts a new conversation and deletes the one before it from
/// disk (the audit log records that it was deleted, not what it said).
fn forget(agent: &mut Agent, ui: &mut TerminalUi, rt: &Runtime, sandbox: &mut SandboxState) {
    use interlock_core::history;
    let old = agent.session_id().to_string();
    let dirs = &sandbox.loaded.dirs;
    if history::find(&dirs.history_dir, Some(&old)).is_err() {
        ui.info("this conversation is not stored on disk (--no-history): nothing to delete");
        return;
    }
    if let Err(e) = rt.block_on(agent.reset()) {
        ui.info(&format!("forget failed: {e}"));
        return;
    }
    sandbox.baseline = crate::diff::Baseline::take(&sandbox.loaded.settings.workspace);
    match history::delete(&dirs.history_dir, &old, Some(&dirs.state_dir), BY_FORGET) {
        Ok(()) => ui.info(&format!(
            "deleted conversation {old} from disk (the audit log records that it was deleted, not what it said); new conversation {}; language sessions restarted",
            agent.session_id()
        )),
        Err(e) => ui.info(&format!("could not delete conversation {old}: {e}")),
    }
}

/// `%sandbox [read-only|workspace-write]`: shows or changes the sandbox mode.
/// A change restarts the language sessions under the new policy.
fn change_sandbox(
    arg: &str,
    agent: &mut Agent,
    ui: &mut TerminalUi,
    rt: &Runtime,
    sandbox: &mut SandboxState,
) {
    use interlock_core::config::SandboxSetting;
    let mode = match arg {
        "" => {
            ui.info(&format!(
                "code runs in: {}
%sandbox read-only | workspace-write changes it (language sessions restart)",
                agent.executor_name()
            ));
            return;
        }
        "read-only" => SandboxSetting::ReadOnly,
        "workspace-write" => SandboxSetting::WorkspaceWrite,
        "off" => {
            ui.info(
                "the sandbox cannot be turned off from the chat; start interlock with --sandbox off --dangerously-disable-sandbox if you really mean it",
            );
            return;
        }
        _ => {
            ui.info("usage: %sandbox [read-only | workspace-write]");
            return;
        }
    };
    if !sandbox.executor.sandboxed {
        ui.info(
            "the sandbox is off for this session (--dangerously-disable-sandbox); restart interlock to turn it on",
        );
        return;
    }
    let executor = match app::executor_in_mode(sandbox.loaded, mode) {
        Ok(e) => e,
        Err(f) => {
            ui.info(&format!("sandbox unchanged: {}", f.message));
            return;
        }
    };
    for w in &executor.warnings {
        ui.event(&Event::Notice {
            level: NoticeLevel::Warning,
            message: w.clone(),
        });
    }
    let plan = serde_json::to_value(&executor.plan).unwrap_or_default();
    rt.block_on(agent.change_sandbox(ui, executor.backend.clone(), executor.sandboxed, plan));
    // The old executor (and its private temp dir) goes only now that no
    // session uses it.
    sandbox.executor = executor;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(end: TurnEnd, declined: usize) -> Result<TurnOutcome, AgentError> {
        Ok(TurnOutcome {
            end,
            blocks_run: 1,
            blocks_declined: declined,
        })
    }

    #[test]
    fn slash_commands_are_known_names_only() {
        assert_eq!(local_command("/help").as_deref(), Some("%help"));
        assert_eq!(
            local_command("/save x.json").as_deref(),
            Some("%save x.json")
        );
        assert_eq!(local_command("%tokens").as_deref(), Some("%tokens"));
        assert_eq!(local_command("/clear").as_deref(), Some("%clear"));
        assert_eq!(local_command("/diff").as_deref(), Some("%diff"));
        assert_eq!(local_command("/forget").as_deref(), Some("%forget"));
        assert_eq!(
            local_command("/model llama3.1").as_deref(),
            Some("%model llama3.1")
        );
        assert_eq!(local_command("/etc/hosts has a typo"), None);
        assert_eq!(local_command("hello"), None);
    }

    #[test]
    fn exit_statuses_match_the_documentation() {
        assert_eq!(exit_status(&outcome(TurnEnd::Answered, 0)), 0);
        assert_eq!(exit_status(&outcome(TurnEnd::Answered, 1)), 4);
        assert_eq!(exit_status(&outcome(TurnEnd::MaxTurns, 0)), 5);
        assert_eq!(exit_status(&outcome(TurnEnd::Interrupted, 0)), 130);
        assert_eq!(exit_status(&Err(AgentError::Llm(LlmError::Cancelled))), 130);
    }
}

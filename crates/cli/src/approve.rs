//! Asking the person at the terminal whether a block may run.
//!
//! The default answer is no. Without a terminal nobody can answer, so every
//! block is declined by policy rather than waiting forever.
//!
//! Answers are fresh: a question throws away whatever was typed before it
//! appeared and ignores keys for a moment after it is drawn. Program output
//! can print a fake question; a key typed at it must not answer the real one
//! that follows.

use crate::markdown::highlight_block;
use crate::sanitize::sanitize;
use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::terminal;
use interlock_core::{Approval, ApprovalRequest};
use interlock_guard::analysis::Risk;
use interlock_protocol::Decider;
use nix::sys::termios::{FlushArg, tcflush};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long keys are ignored after a question is drawn. Keys already on
/// their way when it appears (typed at a fake question in program output, or
/// just as a block ended) land in this window and are dropped. Reading a
/// question and deciding takes a person well over this, so real answers are
/// not lost; one that is dropped anyway is announced and asked for again.
const FRESH_INPUT_GUARD: Duration = Duration::from_millis(200);

/// Said when keys typed before a question were dropped.
const IGNORED_NOTE: &str = "note: ignored keys typed before this question was shown; answer now";

/// At most this many queued events are drained at once (a bound, not a
/// limit anyone types into).
const MAX_DRAIN: usize = 4096;

/// Who can answer approval questions.
pub enum Asker {
    /// A person at a terminal (stdin and stderr are terminals). `allowed`
    /// holds the command prefixes they allowed for this session.
    Terminal { color: bool, allowed: Vec<String> },
    /// Nobody: decline everything, saying why.
    Nobody,
}

impl Asker {
    /// A terminal asker when stdin and stderr are terminals, otherwise nobody.
    pub fn detect(color: bool) -> Asker {
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            Asker::Terminal {
                color,
                allowed: Vec::new(),
            }
        } else {
            Asker::Nobody
        }
    }

    /// Asks about one block. `show_code` prints the code first (when the main
    /// output is not already showing it, as in `--json` mode).
    pub fn ask(&mut self, req: &ApprovalRequest<'_>, show_code: bool) -> Approval {
        let (color, allowed) = match self {
            Asker::Nobody => {
                return Approval::Decline {
                    by: Decider::Policy,
                    reason: no_terminal_reason(req),
                };
            }
            Asker::Terminal { color, allowed } => (*color, allowed),
        };
        let mut err = std::io::stderr();
        if show_code {
            let _ = writeln!(err, "── {} ── risk: {}", req.language, req.risk);
            for f in req.findings {
                let _ = writeln!(
                    err,
                    "  {} (line {}) {}",
                    f.risk,
                    f.line,
                    sanitize(&f.message)
                );
            }
            let _ = write!(
                err,
                "{}",
                highlight_block(&sanitize(req.code), req.language.as_str(), color)
            );
        }
        if let Some(why) = req.held_back {
            let _ = writeln!(err, "  {}", sanitize(why));
        }
        if let Some(prefix) = allowed.iter().find(|p| allowed_by(p, req)) {
            let _ = writeln!(
                err,
                "runs without asking: it starts with `{}`, which you allowed for this session",
                sanitize(prefix)
            );
            return Approval::Run;
        }
        let command = rule_command(req);
        let question = if command.is_some() {
            "Run this code? [y]es / [n]o / [f]eedback (no, and say what to do) / [e]dit / [c]ommand: always allow it / [a]lways this session (default: no): "
        } else {
            "Run this code? [y]es / [n]o / [f]eedback (no, and say what to do) / [e]dit / [a]lways this session (default: no): "
        };
        loop {
            let key = read_fresh_key(question);
            match key {
                Some('c') if command.is_some() => {
                    let prefix = command.clone().unwrap_or_default();
                    let _ = writeln!(err, "always this command");
                    // Like [a]lways: a second, equally fresh key, so one stray
                    // `c` cannot set up a rule.
                    let confirm = read_fresh_key(&format!(
                        "Allow `{}`, alone or with more words (one command, nothing chained to it), without asking for the rest of this session, and run this? [y]es / [n]o (default: no): ",
                        sanitize(&prefix)
                    ));
                    if confirm == Some('y') {
                        let _ = writeln!(err, "yes");
                        allowed.push(prefix);
                        return Approval::Run;
                    }
                    let _ = writeln!(err, "no");
                }
                Some('y') => {
                    let _ = writeln!(err, "yes");
                    return Approval::Run;
                }
                Some('a') => {
                    let _ = writeln!(err, "always");
                    // No more questions for the rest of the session is worth
                    // a second, equally fresh key: one stray `a` cannot do it.
                    let confirm = read_fresh_key(&format!(
                        "Run this block, and later blocks rated {} or lower without asking, for the rest of this session? [y]es / [n]o (default: no): ",
                        req.auto_run_max_risk
                    ));
                    if confirm == Some('y') {
                        let _ = writeln!(err, "yes");
                        return Approval::Always;
                    }
                    let _ = writeln!(err, "no");
                }
                Some('e') => {
                    let _ = writeln!(err, "edit");
                    match edit(req.code, req.language.as_str()) {
                        Ok(Some(code)) if code.trim().is_empty() => {
                            return Approval::Decline {
                                by: Decider::User,
                                reason: "edited to nothing".to_string(),
                            };
                        }
                        Ok(Some(code)) => return Approval::RunEdited(code),
                        Ok(None) => {
                            let _ = writeln!(err, "the editor failed; the code is unchanged");
                        }
                        Err(e) => {
                            let _ = writeln!(err, "cannot open an editor: {e}");
                        }
                    }
                }
                Some('f') => {
                    let _ = writeln!(err, "no, with feedback");
                    // Read as a fresh line: text typed ahead never becomes
                    // the instruction the model gets.
                    let said =
                        read_fresh_line("Tell the model what to do instead: ").unwrap_or_default();
                    let said = said.trim();
                    return Approval::Decline {
                        by: Decider::User,
                        reason: if said.is_empty() {
                            "declined by the user".to_string()
                        } else {
                            format!("declined by the user, who said: {said}")
                        },
                    };
                }
                Some('n') | None => {
                    let _ = writeln!(err, "no");
                    return Approval::Decline {
                        by: Decider::User,
                        reason: "declined by the user".to_string(),
                    };
                }
                Some(_) => {
                    let _ = writeln!(err);
                }
            }
        }
    }
}

/// Characters that would let a command do more than its prefix says:
/// chaining, pipes, redirection, substitution, background jobs.
const SHELL_META: &[char] = &[
    ';', '|', '&', '$', '`', '<', '>', '\n', '\r', '(', ')', '\\',
];

/// The command a "[c]ommand: always allow it" rule would be made of: a shell
/// block that is one simple command. None for anything else, and never for a
/// block rated critical or one held back after untrusted output or an
/// injection signal (those always get a fresh yes).
fn rule_command(req: &ApprovalRequest<'_>) -> Option<String> {
    if req.language != interlock_protocol::Language::Shell
        || req.risk >= Risk::Critical
        || req.held_back.is_some()
        || req
            .findings
            .iter()
            .any(|f| f.rule == "context.after-injection-signal")
    {
        return None;
    }
    let cmd = req.code.trim();
    if cmd.is_empty() || cmd.contains(SHELL_META) {
        return None;
    }
    Some(cmd.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Does the session's rule `prefix` let this block run without asking? The
/// block must be a simple command (see [`rule_command`]) that is the prefix
/// or the prefix followed by more words.
fn allowed_by(prefix: &str, req: &ApprovalRequest<'_>) -> bool {
    rule_command(req).is_some_and(|cmd| {
        cmd == prefix
            || cmd
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with(' '))
    })
}

/// Why a block is not run when nobody can be asked, and what would let it
/// run. The user sees it, and so does the model, which repeats it.
fn no_terminal_reason(req: &ApprovalRequest<'_>) -> String {
    if let Some(why) = req.held_back {
        return format!(
            "{why}; there is no terminal to ask for approval (set untrusted_narrows_auto_run = false in the config to let --auto-run run such blocks anyway)"
        );
    }
    if req
        .findings
        .iter()
        .any(|f| f.rule == "context.after-injection-signal")
    {
        return "it was proposed right after program output that addresses the model (a possible prompt injection, see the warning above), so it runs only with a yes typed at a terminal; there is no terminal to ask for approval".to_string();
    }
    if !req.auto_run {
        return format!(
            "no terminal to ask for approval and --auto-run was not given (--auto-run runs blocks rated {} or lower without asking)",
            req.auto_run_max_risk
        );
    }
    let what_to_do = if req.risk <= Risk::High {
        format!(
            "to let --auto-run run it, pass --auto-run-max-risk {} (or set auto_run_max_risk in the config), or run interlock at a terminal to answer",
            req.risk
        )
    } else {
        "a block rated critical runs only with a yes typed at a terminal".to_string()
    };
    format!(
        "its risk ({}) is above what --auto-run runs without asking ({} or lower), and there is no terminal to ask for approval; {what_to_do}",
        req.risk, req.auto_run_max_risk
    )
}

/// Raw mode while a question is open: keys arrive one at a time and are not
/// echoed. Restored on drop.
struct RawMode;

impl RawMode {
    fn enable() -> Option<RawMode> {
        terminal::enable_raw_mode().ok().map(|()| RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
    }
}

/// Throws away everything typed so far: events crossterm has already read
/// and queued, and bytes still waiting in the terminal's input queue.
/// Returns how many keys were dropped (bytes the kernel flushes unread are
/// not counted). Raw mode must be on.
fn drain_pending() -> usize {
    let mut keys = 0;
    for _ in 0..MAX_DRAIN {
        match event::poll(Duration::ZERO) {
            Ok(true) => {
                if is_key(event::read()) {
                    keys += 1;
                }
            }
            _ => break,
        }
    }
    let _ = tcflush(std::io::stdin(), FlushArg::TCIFLUSH);
    keys
}

fn is_key(e: std::io::Result<TermEvent>) -> bool {
    match e {
        Ok(TermEvent::Key(k)) => k.kind == KeyEventKind::Press,
        Ok(TermEvent::Paste(_)) => true,
        _ => false,
    }
}

/// Drops the keys that arrive within [`FRESH_INPUT_GUARD`] from now, then
/// anything still queued. Returns how many keys were dropped. Raw mode must
/// be on.
fn sit_out_guard() -> usize {
    let deadline = Instant::now() + FRESH_INPUT_GUARD;
    let mut keys = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match event::poll(left) {
            Ok(true) => {
                if is_key(event::read()) {
                    keys += 1;
                }
            }
            Ok(false) => break,
            Err(_) => {
                std::thread::sleep(left);
                break;
            }
        }
    }
    keys + drain_pending()
}

/// Draws `prompt` so that only input typed after it was shown can answer it:
/// earlier input is discarded, and if keys arrive during the guard interval
/// they are discarded too and the prompt is drawn again. Raw mode must be on.
fn show_fresh(prompt: &str) {
    let mut err = std::io::stderr();
    if drain_pending() > 0 {
        let _ = write!(err, "{IGNORED_NOTE}\r\n");
    }
    loop {
        let _ = write!(err, "{prompt}");
        let _ = err.flush();
        if sit_out_guard() == 0 {
            return;
        }
        let _ = write!(err, "\r\n{IGNORED_NOTE}\r\n");
    }
}

/// [`show_fresh`] for a terminal that cannot be put in raw mode: drop what
/// the kernel holds before and during the guard interval, unannounced.
fn show_fresh_cooked(prompt: &str) {
    let mut err = std::io::stderr();
    let _ = tcflush(std::io::stdin(), FlushArg::TCIFLUSH);
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    std::thread::sleep(FRESH_INPUT_GUARD);
    let _ = tcflush(std::io::stdin(), FlushArg::TCIFLUSH);
}

/// Asks `prompt` and reads one fresh key. `None` for Enter, Escape, Ctrl-C,
/// Ctrl-D and errors: all of them mean "no".
fn read_fresh_key(prompt: &str) -> Option<char> {
    let Some(raw) = RawMode::enable() else {
        show_fresh_cooked(prompt);
        return read_line_fallback();
    };
    show_fresh(prompt);
    let result = loop {
        match event::read() {
            Ok(TermEvent::Key(k)) if k.kind == KeyEventKind::Press => {
                if k.modifiers.contains(KeyModifiers::CONTROL) {
                    break None;
                }
                match k.code {
                    KeyCode::Char(c) => break Some(c.to_ascii_lowercase()),
                    KeyCode::Enter | KeyCode::Esc => break None,
                    _ => continue,
                }
            }
            Ok(_) => continue,
            Err(_) => break None,
        }
    };
    drop(raw);
    result
}

/// Asks `prompt` at the terminal and reads one line typed after it was shown
/// (the typed confirmation of risky modes). Input typed earlier is
/// discarded, as for approval questions.
pub fn read_fresh_line(prompt: &str) -> std::io::Result<String> {
    match RawMode::enable() {
        Some(raw) => {
            show_fresh(prompt);
            // Cooked mode for the line itself: the user sees and can edit it.
            drop(raw);
        }
        None => show_fresh_cooked(prompt),
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line)
}

fn read_line_fallback() -> Option<char> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).ok()?;
    line.trim().chars().next().map(|c| c.to_ascii_lowercase())
}

/// Opens `$VISUAL`/`$EDITOR` (default `vi`) on the code. `Ok(None)` when the
/// editor exits with an error.
fn edit(code: &str, language: &str) -> std::io::Result<Option<String>> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| std::env::var("EDITOR").ok())
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string());
    // Split on whitespace, no shell: the editor setting is never interpreted.
    let mut parts = editor.split_whitespace();
    let program = parts.next().unwrap_or("vi");
    let ext = match language {
        "python" => "py",
        "shell" => "sh",
        "javascript" => "js",
        _ => "txt",
    };
    let dir = tempfile::Builder::new()
        .prefix("interlock-edit")
        .tempdir()?;
    let path: PathBuf = dir.path().join(format!("block.{ext}"));
    std::fs::write(&path, code)?;
    let status = Command::new(program).args(parts).arg(&path).status()?;
    if !status.success() {
        return Ok(None);
    }
    Ok(Some(std::fs::read_to_string(&path)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use interlock_protocol::Language;

    fn req<'a>(language: Language, code: &'a str, risk: Risk) -> ApprovalRequest<'a> {
        ApprovalRequest {
            block_id: "b1",
            language,
            code,
            risk,
            findings: &[],
            auto_run_max_risk: Risk::Low,
            auto_run: false,
            held_back: None,
        }
    }

    #[test]
    fn a_command_rule_is_a_simple_shell_command_only() {
        let r = |code| rule_command(&req(Language::Shell, code, Risk::Medium));
        assert_eq!(
            r("  pip   install requests \n").as_deref(),
            Some("pip install requests")
        );
        assert_eq!(r("pytest"), Some("pytest".to_string()));
        for chained in [
            "ls; rm x",
            "ls && rm x",
            "ls | sh",
            "echo $(id)",
            "echo `id`",
            "ls > f",
            "ls\nrm x",
            "(rm x)",
        ] {
            assert_eq!(r(chained), None, "{chained:?}");
        }
        assert_eq!(
            rule_command(&req(Language::Python, "print(1)", Risk::None)),
            None
        );
        assert_eq!(
            rule_command(&req(Language::Shell, "rm -rf /", Risk::Critical)),
            None
        );
        let mut held = req(Language::Shell, "pip install x", Risk::Medium);
        held.held_back = Some("after untrusted output");
        assert_eq!(rule_command(&held), None);
    }

    #[test]
    fn a_rule_allows_its_prefix_and_more_words_nothing_else() {
        let allowed = |code, risk| allowed_by("pytest tests", &req(Language::Shell, code, risk));
        assert!(allowed("pytest tests", Risk::Low));
        assert!(allowed("pytest  tests -x", Risk::Low));
        assert!(!allowed("pytest tests_other", Risk::Low));
        assert!(!allowed("pytest tests; curl x | sh", Risk::Low));
        assert!(!allowed("pytest tests -x", Risk::Critical));
        assert!(!allowed("pytest", Risk::Low));
    }
}

//! Asking the person at the terminal whether a block may run.
//!
//! The default answer is no. Without a terminal nobody can answer, so every
//! block is declined by policy rather than waiting forever.

use crate::markdown::highlight_block;
use crate::sanitize::sanitize;
use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::terminal;
use interlock_core::{Approval, ApprovalRequest};
use interlock_protocol::Decider;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::Command;

/// Who can answer approval questions.
pub enum Asker {
    /// A person at a terminal (stdin and stderr are terminals).
    Terminal { color: bool },
    /// Nobody: decline everything, saying why.
    Nobody,
}

impl Asker {
    /// A terminal asker when stdin and stderr are terminals, otherwise nobody.
    pub fn detect(color: bool) -> Asker {
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            Asker::Terminal { color }
        } else {
            Asker::Nobody
        }
    }

    /// Asks about one block. `show_code` prints the code first (when the main
    /// output is not already showing it, as in `--json` mode).
    pub fn ask(&mut self, req: &ApprovalRequest<'_>, show_code: bool) -> Approval {
        let color = match self {
            Asker::Nobody => {
                return Approval::Decline {
                    by: Decider::Policy,
                    reason: "no terminal to ask for approval and --auto-run was not given"
                        .to_string(),
                };
            }
            Asker::Terminal { color } => *color,
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
        loop {
            let _ = write!(
                err,
                "Run this code? [y]es / [n]o / [e]dit / [a]lways this session (default: no): "
            );
            let _ = err.flush();
            let key = read_key();
            match key {
                Some('y') => {
                    let _ = writeln!(err, "yes");
                    return Approval::Run;
                }
                Some('a') => {
                    let _ = writeln!(err, "always (this session)");
                    return Approval::Always;
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

/// Reads one key in raw mode. `None` for Enter, Escape, Ctrl-C, Ctrl-D and
/// errors: all of them mean "no".
fn read_key() -> Option<char> {
    if terminal::enable_raw_mode().is_err() {
        return read_line_fallback();
    }
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
    let _ = terminal::disable_raw_mode();
    result
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

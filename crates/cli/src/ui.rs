//! The two front ends of the command line: the terminal UI (markdown,
//! highlighted code, spinner, approval prompt) and `--json` (one event per line,
//! nothing else on stdout).

use crate::approve::Asker;
use crate::markdown::{MarkdownStream, highlight_block};
use crate::sanitize::sanitize;
use indicatif::{ProgressBar, ProgressStyle};
use interlock_core::{Approval, ApprovalRequest, Frontend};
use interlock_guard::sanitize::Sanitizer;
use interlock_protocol::{Decider, Event, ExecStatus, NoticeLevel, OutputStream};
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Whether to use colour on stdout: a terminal, and NO_COLOR unset.
pub fn want_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Columns of the terminal on stdout (`stderr` false) or stderr, or 0 when
/// that is not a terminal (then nothing is wrapped).
fn term_width(stderr: bool) -> usize {
    let is_tty = if stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    if !is_tty {
        return 0;
    }
    crossterm::terminal::size().map_or(0, |(w, _)| usize::from(w))
}

fn paint(color: bool, sgr: &str, text: &str) -> String {
    if color {
        format!("\x1b[{sgr}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The human-facing terminal front end.
pub struct TerminalUi {
    color: bool,
    md: MarkdownStream,
    spinner: Option<ProgressBar>,
    spinner_enabled: bool,
    asker: Asker,
    pub verbose: bool,
    /// The cursor is at the start of a line.
    at_bol: bool,
    /// Proposed code waiting for its risk report, so findings print above it.
    pending_code: Option<(String, String)>,
    /// The code last shown for approval: an edit that differs from it is
    /// shown again before the second question.
    code_shown: Option<String>,
    /// Escape sequences can be split across chunks: one stateful sanitizer
    /// per stream (model text, stdout, stderr).
    text_sanitizer: Sanitizer,
    out_sanitizers: [Sanitizer; 2],
    /// `interlock exec`: everything goes to stderr except the final answer,
    /// which goes to stdout (so `exec … > answer.txt` captures just that).
    answer_only: Option<AnswerOnly>,
    /// `--max-output`: how much of a block's output the model receives.
    pub max_output: usize,
    /// The running block's output, collapsed to head and tail on screen.
    block: BlockOutput,
    /// The last finished block's whole output (sanitized), for `%output`.
    last_output: Option<String>,
}

/// Output longer than this many lines is collapsed on screen to its head
/// and tail, so the code and the question above it stay in reach.
const COLLAPSE_AFTER_LINES: usize = 200;
/// Lines shown, as they arrive, before output is held back.
const HEAD_LINES: usize = 100;
/// Lines shown from the end of a collapsed output.
const TAIL_LINES: usize = 50;
/// At most this much of a block's output is kept for `%output`.
const KEEP_OUTPUT_BYTES: usize = 16 << 20;

/// One block's output on its way to the screen.
#[derive(Default)]
struct BlockOutput {
    /// Complete lines shown so far (the head).
    lines_shown: usize,
    /// Output after the head, held until the block ends.
    held: Vec<(OutputStream, String)>,
    /// Everything, sanitized, for `%output` (up to [`KEEP_OUTPUT_BYTES`]).
    all: String,
    all_cut: bool,
    /// Characters of output in all.
    chars: usize,
}

/// The model's text held back until it is known to be the final answer
/// (the turn ends) or only a step on the way (code follows).
struct AnswerOnly {
    held: String,
    /// Colour for the answer on stdout (the rest follows stderr).
    color: bool,
}

impl TerminalUi {
    pub fn new(asker: Asker) -> TerminalUi {
        let color = want_color();
        TerminalUi {
            color,
            md: MarkdownStream::with_width(color, term_width(false)),
            spinner: None,
            spinner_enabled: std::io::stderr().is_terminal(),
            asker,
            verbose: false,
            at_bol: true,
            pending_code: None,
            code_shown: None,
            text_sanitizer: Sanitizer::new(),
            out_sanitizers: [Sanitizer::new(), Sanitizer::new()],
            answer_only: None,
            max_output: 20_000,
            block: BlockOutput::default(),
            last_output: None,
        }
    }

    /// The front end of `interlock exec`: progress, code, output and status
    /// on stderr, only the model's final answer on stdout.
    pub fn for_exec(asker: Asker) -> TerminalUi {
        let mut ui = TerminalUi::new(asker);
        ui.color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        ui.md = MarkdownStream::with_width(ui.color, term_width(true));
        ui.answer_only = Some(AnswerOnly {
            held: String::new(),
            color: want_color(),
        });
        ui
    }

    /// Held model text turned out to be a step, not the answer: show it with
    /// the progress.
    fn release_held(&mut self) {
        let Some(a) = self.answer_only.as_mut() else {
            return;
        };
        let text = std::mem::take(&mut a.held);
        if !text.is_empty() {
            let mut rendered = self.md.push(&text);
            rendered.push_str(&self.md.finish());
            self.out(&rendered);
        }
    }

    /// The turn is over: held model text is the answer, for stdout.
    fn print_answer(&mut self) {
        let Some(a) = self.answer_only.as_mut() else {
            return;
        };
        let text = std::mem::take(&mut a.held);
        if text.trim().is_empty() {
            return;
        }
        let mut md = MarkdownStream::with_width(a.color, term_width(false));
        let mut rendered = md.push(&text);
        rendered.push_str(&md.finish());
        if !rendered.ends_with('\n') {
            rendered.push('\n');
        }
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(rendered.as_bytes());
        let _ = stdout.flush();
    }

    fn spin(&mut self, message: &str) {
        self.stop_spinner();
        if !self.spinner_enabled {
            return;
        }
        let pb = ProgressBar::new_spinner();
        pb.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.set_message(message.to_string());
        pb.enable_steady_tick(Duration::from_millis(100));
        self.spinner = Some(pb);
    }

    fn stop_spinner(&mut self) {
        if let Some(pb) = self.spinner.take() {
            pb.finish_and_clear();
        }
    }

    fn out(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.answer_only.is_some() {
            let mut stderr = std::io::stderr().lock();
            let _ = stderr.write_all(text.as_bytes());
            let _ = stderr.flush();
        } else {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
        }
        self.at_bol = text.ends_with('\n');
    }

    fn line(&mut self, text: &str) {
        if !self.at_bol {
            self.out("\n");
        }
        self.out(&format!("{text}\n"));
    }

    /// Prints a message outside the event stream (magic commands and the like).
    pub fn info(&mut self, text: &str) {
        self.stop_spinner();
        let t = paint(self.color, "2", &sanitize(text));
        self.line(&t);
    }

    /// Prints text from outside the event stream as it is (sanitized, not
    /// dimmed): `/diff`.
    pub fn show_text(&mut self, text: &str) {
        self.stop_spinner();
        if !self.at_bol {
            self.out("\n");
        }
        let mut t = sanitize(text);
        if !t.ends_with('\n') {
            t.push('\n');
        }
        self.out(&t);
    }

    /// `%output`: the last block's whole output, sanitized.
    pub fn show_last_output(&mut self) {
        self.stop_spinner();
        match self.last_output.clone() {
            Some(text) if !text.is_empty() => {
                if !self.at_bol {
                    self.out("\n");
                }
                self.out(&text);
                if !text.ends_with('\n') {
                    self.out("\n");
                }
            }
            Some(_) => self.info("the last block printed nothing"),
            None => self.info("no block has run yet"),
        }
    }

    /// Shows sanitized program output, holding back what comes after the
    /// first [`HEAD_LINES`] lines until the block ends.
    fn block_output(&mut self, stream: OutputStream, clean: &str) {
        if clean.is_empty() {
            return;
        }
        let b = &mut self.block;
        b.chars += clean.chars().count();
        if b.all.len() + clean.len() <= KEEP_OUTPUT_BYTES {
            b.all.push_str(clean);
        } else {
            b.all_cut = true;
        }
        let mut shown = clean;
        let mut rest = "";
        if b.lines_shown >= HEAD_LINES {
            shown = "";
            rest = clean;
        } else {
            let room = HEAD_LINES - b.lines_shown;
            if let Some((i, _)) = clean.match_indices('\n').nth(room - 1) {
                shown = &clean[..=i];
                rest = &clean[i + 1..];
            }
        }
        b.lines_shown += shown.matches('\n').count();
        if !rest.is_empty() {
            b.held.push((stream, rest.to_string()));
        }
        if !shown.is_empty() {
            let text = self.paint_stream(stream, shown);
            self.out(&text);
        }
    }

    fn paint_stream(&self, stream: OutputStream, text: &str) -> String {
        match stream {
            OutputStream::Stdout => text.to_string(),
            OutputStream::Stderr => paint(self.color, "31", text),
        }
    }

    /// The block ended: shows what was held back, all of it when the output
    /// is short enough, otherwise a count of hidden lines and the tail.
    fn finish_block_output(&mut self) {
        let b = std::mem::take(&mut self.block);
        // The held output as lines, each made of pieces from either stream.
        let mut lines: Vec<Vec<(OutputStream, &str)>> = Vec::new();
        let mut open = false;
        for (stream, text) in &b.held {
            for piece in text.split_inclusive('\n') {
                if !open {
                    lines.push(Vec::new());
                }
                lines.last_mut().expect("pushed").push((*stream, piece));
                open = !piece.ends_with('\n');
            }
        }
        let limit = COLLAPSE_AFTER_LINES - HEAD_LINES;
        let from = if lines.len() > limit {
            let hidden = lines.len() - TAIL_LINES;
            let received = if b.chars <= self.max_output {
                "the model received all of it".to_string()
            } else {
                let head = self.max_output * 6 / 10;
                format!(
                    "the model received the first {head} and the last {} characters",
                    self.max_output - head
                )
            };
            if !self.at_bol {
                self.out("\n");
            }
            let note = paint(
                self.color,
                "2",
                &format!("… {hidden} lines hidden ({received}; %output shows all)"),
            );
            self.out(&format!("{note}\n"));
            hidden
        } else {
            0
        };
        for line in &lines[from..] {
            for (stream, piece) in line {
                let text = self.paint_stream(*stream, piece);
                self.out(&text);
            }
        }
        let mut all = b.all;
        if b.all_cut {
            all.push_str(&format!(
                "\n[interlock kept only the first {} MiB of this output]\n",
                KEEP_OUTPUT_BYTES >> 20
            ));
        }
        self.last_output = Some(all);
    }

    /// Code the message's stream left for its proposal, when the turn ended
    /// without one (an error, an interrupt): shown, marked as not run.
    fn show_unclaimed(&mut self) {
        for (language, code) in self.md.take_unclaimed() {
            let h = self.header(&format!("{language} (not run)"));
            self.line(&h);
            let shown = highlight_block(&code, &language, self.color);
            self.out(&shown);
        }
    }

    fn header(&self, title: &str) -> String {
        let rule = "─".repeat(40usize.saturating_sub(title.chars().count()));
        paint(self.color, "2", &format!("── {title} {rule}"))
    }
}

impl TerminalUi {
    /// Shows the proposed code under its risk report, right above the
    /// question. In markdown tool mode the message's stream left it out (a
    /// line there says so), so it is shown once, here.
    fn flush_code(&mut self) {
        if let Some((language, code)) = self.pending_code.take() {
            let shown = highlight_block(&sanitize(&code), &language, self.color);
            self.out(&shown);
            self.code_shown = Some(code);
        }
    }
}

/// `340 ms`, `8.2 s`, `2 min 5 s`: as precise as a person reads it.
fn human_duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        let s = ms / 1000;
        format!("{} min {} s", s / 60, s % 60)
    }
}

fn risk_sgr(risk: &str) -> &'static str {
    match risk {
        "none" | "low" => "32",
        "medium" => "33",
        _ => "1;31",
    }
}

impl Frontend for TerminalUi {
    fn event(&mut self, event: &Event) {
        if !matches!(
            event,
            Event::AssistantDelta { .. } | Event::AssistantMessage { .. }
        ) {
            // Model text streams a word at a time: the word read so far goes
            // out before anything else is printed.
            let word = self.md.flush_word_now();
            self.out(&word);
        }
        if !matches!(event, Event::RiskAssessed { .. }) {
            self.flush_code();
        }

        match event {
            Event::SessionStarted {
                model,
                workspace,
                executor,
                tool_mode,
                ..
            } => {
                // Markdown mode runs the message's tagged fences: they are
                // shown once, in the approval block.
                self.md.set_defer_runnable(tool_mode == "markdown");
                let t = paint(
                    self.color,
                    "2",
                    &sanitize(&format!(
                        "model {model} · workspace {workspace} · code runs: {executor}"
                    )),
                );
                self.line(&t);
            }
            Event::UserMessage { .. } => {
                // The terminal may have been resized since the last message.
                let width = term_width(self.answer_only.is_some());
                self.md.set_width(width);
                self.spin("waiting for the model");
            }
            Event::AssistantDelta { text } => {
                let clean = self.text_sanitizer.push(text.as_bytes());
                if let Some(a) = self.answer_only.as_mut() {
                    a.held.push_str(&clean);
                    return;
                }
                self.stop_spinner();
                let rendered = self.md.push(&clean);
                self.out(&rendered);
            }
            Event::AssistantMessage { .. } => {
                let tail = self.text_sanitizer.finish();
                if let Some(a) = self.answer_only.as_mut() {
                    a.held.push_str(&tail);
                    return;
                }
                let mut rest = self.md.push(&tail);
                rest.push_str(&self.md.finish());
                self.out(&rest);
            }
            Event::CodeProposed { language, code, .. } => {
                self.stop_spinner();
                self.release_held();
                self.md.claim_hidden(&sanitize(code));
                let h = self.header(&sanitize(language));
                self.line(&h);
                self.pending_code = Some((language.clone(), code.clone()));
            }
            Event::RiskAssessed { risk, findings, .. } => {
                if self.pending_code.is_none() && self.code_shown.is_some() {
                    // A second assessment, of the user's edit: its code
                    // follows at the question.
                    let h = self.header("edited code");
                    self.line(&h);
                }
                let t = paint(self.color, risk_sgr(risk), &format!("risk: {risk}"));
                self.line(&t);
                for f in findings {
                    let t = paint(
                        self.color,
                        risk_sgr(&f.risk),
                        &format!(
                            "  {} (line {}) {} [{}]",
                            f.risk,
                            f.line,
                            sanitize(&f.message),
                            f.rule
                        ),
                    );
                    self.line(&t);
                }
                self.flush_code();
            }
            Event::ApprovalRequested { .. } => {}
            Event::Decision {
                approved,
                by,
                reason,
                ..
            } => {
                // An edit was already shown above its second question.
                self.code_shown = None;
                if !approved {
                    let t = paint(
                        self.color,
                        "33",
                        &format!("✗ not run: {}", sanitize(reason)),
                    );
                    self.line(&t);
                } else if *by == Decider::Auto {
                    let t = paint(self.color, "2", &format!("auto-approved ({reason})"));
                    self.line(&t);
                }
            }
            Event::ExecutionStarted { language, .. } => {
                self.spin(&format!("running {language} (Ctrl-C interrupts)"));
            }
            Event::Output { stream, text, .. } => {
                // The spinner only covers the silence before the first output:
                // redrawing it would land in the middle of a partial line.
                self.stop_spinner();
                let clean = self.out_sanitizers[*stream as usize].push(text.as_bytes());
                self.block_output(*stream, &clean);
            }
            Event::ExecutionFinished {
                status,
                duration_ms,
                note,
                truncated,
                ..
            } => {
                self.stop_spinner();
                let tail = self.out_sanitizers[0].finish();
                self.block_output(OutputStream::Stdout, &tail);
                let tail = self.out_sanitizers[1].finish();
                self.block_output(OutputStream::Stderr, &tail);
                self.finish_block_output();
                let (sgr, what) = match status {
                    ExecStatus::Ok => ("32", "✓ done".to_string()),
                    ExecStatus::Error => ("31", "✗ failed".to_string()),
                    ExecStatus::Interrupted => ("33", "■ interrupted".to_string()),
                    ExecStatus::TimedOut => ("33", "■ timed out".to_string()),
                    ExecStatus::Crashed => ("31", "✗ interpreter crashed".to_string()),
                    ExecStatus::Failed => ("31", "✗ could not run".to_string()),
                };
                let mut t = format!("{what} in {}", human_duration(*duration_ms));
                if *truncated {
                    t.push_str(" (output cut)");
                }
                if let Some(n) = note {
                    t.push_str(&format!(" — {}", sanitize(n)));
                }
                let t = paint(self.color, sgr, &t);
                self.line(&t);
            }
            Event::ToolResult { content, .. } => {
                if self.verbose {
                    let t = paint(
                        self.color,
                        "2",
                        &format!("[sent to the model]\n{}", sanitize(content)),
                    );
                    self.line(&t);
                }
                self.spin("waiting for the model");
            }
            Event::Usage {
                prompt_tokens,
                completion_tokens,
            } => {
                if self.verbose {
                    let t = paint(
                        self.color,
                        "2",
                        &format!("[tokens: {prompt_tokens} in, {completion_tokens} out]"),
                    );
                    self.line(&t);
                }
            }
            Event::Notice { level, message } => {
                self.stop_spinner();
                let (sgr, label) = match level {
                    NoticeLevel::Info => ("2", "note"),
                    NoticeLevel::Warning => ("33", "warning"),
                };
                let t = paint(self.color, sgr, &format!("{label}: {}", sanitize(message)));
                self.line(&t);
            }
            Event::Error { message, .. } => {
                self.stop_spinner();
                self.release_held();
                let rest = self.md.finish();
                self.out(&rest);
                let t = paint(self.color, "31", &format!("error: {}", sanitize(message)));
                self.line(&t);
            }
            Event::TurnFinished { .. } => {
                self.stop_spinner();
                self.print_answer();
                if !self.md.is_idle() {
                    let rest = self.md.finish();
                    self.out(&rest);
                }
                self.show_unclaimed();
            }
        }
    }

    fn approve(&mut self, request: &ApprovalRequest<'_>) -> Approval {
        self.stop_spinner();
        self.flush_code();
        if !self.at_bol {
            self.out("\n");
        }
        if self.code_shown.as_deref() != Some(request.code) {
            // The user's edit: what the second yes is for.
            let shown = highlight_block(
                &sanitize(request.code),
                request.language.as_str(),
                self.color,
            );
            self.out(&shown);
            self.code_shown = Some(request.code.to_string());
        }
        let answer = self.asker.ask(request, false);
        self.at_bol = true;
        answer
    }
}

/// `--json`: every event as one JSON object per line on stdout.
pub struct JsonUi {
    asker: Asker,
}

impl JsonUi {
    pub fn new(asker: Asker) -> JsonUi {
        JsonUi { asker }
    }
}

impl Frontend for JsonUi {
    fn event(&mut self, event: &Event) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", event.to_json_line());
        let _ = stdout.flush();
    }

    fn approve(&mut self, request: &ApprovalRequest<'_>) -> Approval {
        self.asker.ask(request, true)
    }

    fn wants_redacted(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(human_duration(340), "340 ms");
        assert_eq!(human_duration(8231), "8.2 s");
        assert_eq!(human_duration(1000), "1.0 s");
        assert_eq!(human_duration(125_400), "2 min 5 s");
    }
}

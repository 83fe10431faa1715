//! Streaming markdown for the terminal.
//!
//! Model text arrives a few characters at a time, so this renders as it goes:
//! prose is printed at once (headings bold, `code` and **bold** spans styled),
//! and fenced code is printed a line at a time with syntax highlighting. Input
//! must already be sanitized; every escape sequence in the output is ours.

use std::sync::OnceLock;
use syntect::easy::HighlightLines;
use syntect::highlighting::{Theme, ThemeSet};
use syntect::parsing::SyntaxSet;
use syntect::util::as_24_bit_terminal_escaped;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const CODE: &str = "\x1b[36m";

fn assets() -> &'static (SyntaxSet, Theme) {
    static ASSETS: OnceLock<(SyntaxSet, Theme)> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let ss = SyntaxSet::load_defaults_newlines();
        let mut themes = ThemeSet::load_defaults();
        let theme = themes
            .themes
            .remove("base16-ocean.dark")
            .unwrap_or_default();
        (ss, theme)
    })
}

/// Highlights a whole block of code (used for proposed code).
pub fn highlight_block(code: &str, language: &str, color: bool) -> String {
    if !color {
        return code.to_string();
    }
    let mut h = Highlighter::new(language);
    let mut out = String::new();
    for line in code.split_inclusive('\n') {
        out.push_str(&h.line(line));
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(RESET);
    out
}

struct Highlighter {
    inner: HighlightLines<'static>,
}

impl Highlighter {
    fn new(language: &str) -> Highlighter {
        let (ss, theme) = assets();
        let token = match language.to_ascii_lowercase().as_str() {
            "python" | "py" | "python3" => "py",
            "shell" | "bash" | "sh" | "zsh" => "sh",
            "javascript" | "js" | "node" => "js",
            other => {
                // `other` came from the model; find_syntax_by_token only looks it up.
                return Highlighter {
                    inner: HighlightLines::new(
                        ss.find_syntax_by_token(other)
                            .unwrap_or_else(|| ss.find_syntax_plain_text()),
                        theme,
                    ),
                };
            }
        };
        let syntax = ss
            .find_syntax_by_extension(token)
            .unwrap_or_else(|| ss.find_syntax_plain_text());
        Highlighter {
            inner: HighlightLines::new(syntax, theme),
        }
    }

    fn line(&mut self, line: &str) -> String {
        let (ss, _) = assets();
        match self.inner.highlight_line(line, ss) {
            Ok(ranges) => as_24_bit_terminal_escaped(&ranges, false),
            Err(_) => line.to_string(),
        }
    }
}

enum Mode {
    Prose,
    Fence {
        marker: char,
        len: usize,
        hl: Option<Box<Highlighter>>,
    },
}

/// Incremental markdown renderer.
pub struct MarkdownStream {
    color: bool,
    mode: Mode,
    /// Start of the current line, held back while it might still open or close a fence.
    held: String,
    /// True while `held` is being collected (we are at the start of a line).
    holding: bool,
    heading: bool,
    code_span: bool,
    bold: bool,
    star: bool,
    /// No prose character printed yet on this line.
    col0: bool,
}

impl MarkdownStream {
    pub fn new(color: bool) -> MarkdownStream {
        MarkdownStream {
            color,
            mode: Mode::Prose,
            held: String::new(),
            holding: true,
            heading: false,
            code_span: false,
            bold: false,
            star: false,
            col0: true,
        }
    }

    /// True when nothing is buffered and no style is open.
    pub fn is_idle(&self) -> bool {
        self.held.is_empty() && matches!(self.mode, Mode::Prose) && self.holding
    }

    /// Feeds sanitized text; returns what to print now.
    pub fn push(&mut self, text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            self.push_char(c, &mut out);
        }
        out
    }

    /// Ends the message: prints anything held back and closes open styles.
    pub fn finish(&mut self) -> String {
        let mut out = String::new();
        let mid_line = !self.held.is_empty() || (matches!(self.mode, Mode::Prose) && !self.holding);
        match &mut self.mode {
            Mode::Prose => {
                let held = std::mem::take(&mut self.held);
                for c in held.chars() {
                    self.prose_char(c, &mut out);
                }
                if self.star {
                    out.push('*');
                }
            }
            Mode::Fence { hl, .. } => {
                let held = std::mem::take(&mut self.held);
                match (hl, self.color) {
                    (Some(h), true) => out.push_str(&h.line(&held)),
                    _ => out.push_str(&held),
                }
            }
        }
        if self.color {
            out.push_str(RESET);
        }
        if mid_line && !out.ends_with('\n') {
            out.push('\n');
        }
        *self = MarkdownStream::new(self.color);
        out
    }

    fn push_char(&mut self, c: char, out: &mut String) {
        if let Mode::Fence { .. } = self.mode {
            self.held.push(c);
            if c == '\n' {
                let line = std::mem::take(&mut self.held);
                self.fence_line(&line, out);
            }
            return;
        }
        if !self.holding {
            self.prose_char(c, out);
            return;
        }
        self.held.push(c);
        if could_be_fence_prefix(&self.held) {
            if c == '\n' {
                let line = std::mem::take(&mut self.held);
                if let Some((marker, len)) = fence_open(&line) {
                    self.open_fence(&line, marker, len, out);
                } else {
                    for ch in line.chars() {
                        self.prose_char(ch, out);
                    }
                }
            }
            return;
        }
        // The line is prose: release what was held.
        self.holding = false;
        let held = std::mem::take(&mut self.held);
        for ch in held.chars() {
            self.prose_char(ch, out);
        }
    }

    fn open_fence(&mut self, line: &str, marker: char, len: usize, out: &mut String) {
        let info = line.trim().trim_start_matches(marker).trim();
        let lang = info.split_whitespace().next().unwrap_or("");
        if self.color {
            out.push_str(DIM);
            out.push_str(line.trim_end());
            out.push_str(RESET);
            out.push('\n');
        } else {
            out.push_str(line);
        }
        self.mode = Mode::Fence {
            marker,
            len,
            hl: self.color.then(|| Box::new(Highlighter::new(lang))),
        };
        self.holding = true;
    }

    fn fence_line(&mut self, line: &str, out: &mut String) {
        let Mode::Fence { marker, len, hl } = &mut self.mode else {
            return;
        };
        let t = line.trim();
        let closes = line.len() - line.trim_start().len() <= 3
            && t.chars().all(|c| c == *marker)
            && t.chars().count() >= *len;
        if closes {
            if self.color {
                out.push_str(DIM);
                out.push_str(line.trim_end());
                out.push_str(RESET);
                out.push('\n');
            } else {
                out.push_str(line);
            }
            self.mode = Mode::Prose;
            self.holding = true;
            return;
        }
        match hl {
            Some(h) => {
                out.push_str(&h.line(line));
                out.push_str(RESET);
            }
            None => out.push_str(line),
        }
    }

    fn style(&self, out: &mut String) {
        if !self.color {
            return;
        }
        out.push_str(RESET);
        if self.heading || self.bold {
            out.push_str(BOLD);
        }
        if self.code_span {
            out.push_str(CODE);
        }
    }

    fn prose_char(&mut self, c: char, out: &mut String) {
        if self.star && c != '*' {
            self.star = false;
            out.push('*');
        }
        match c {
            '\n' => {
                self.heading = false;
                self.code_span = false;
                self.bold = false;
                if self.color {
                    out.push_str(RESET);
                }
                out.push('\n');
                self.holding = true;
                self.col0 = true;
                return;
            }
            '#' if self.col0 => {
                self.heading = true;
                self.style(out);
                out.push(c);
            }
            '`' => {
                self.code_span = !self.code_span;
                self.style(out);
                if !self.color {
                    out.push(c);
                }
            }
            '*' if self.star => {
                self.star = false;
                self.bold = !self.bold;
                self.style(out);
                if !self.color {
                    out.push_str("**");
                }
            }
            '*' => self.star = true,
            _ => out.push(c),
        }
        self.col0 = c == '\n';
    }
}

/// Could `s` (the start of a line) still turn out to be a fence line?
fn could_be_fence_prefix(s: &str) -> bool {
    let body = s.trim_end_matches('\n');
    let trimmed = body.trim_start_matches(' ');
    if body.len() - trimmed.len() > 3 {
        return false;
    }
    let Some(first) = trimmed.chars().next() else {
        return true;
    };
    if first != '`' && first != '~' {
        return false;
    }
    let run = trimmed.chars().take_while(|c| *c == first).count();
    // Fewer than three markers so far: only still possible if nothing else follows.
    run >= 3 || run == trimmed.chars().count()
}

fn fence_open(line: &str) -> Option<(char, usize)> {
    let t = line.trim_start_matches(' ');
    if line.len() - t.len() > 3 {
        return None;
    }
    let first = t.chars().next()?;
    if first != '`' && first != '~' {
        return None;
    }
    let n = t.chars().take_while(|c| *c == first).count();
    if n < 3 {
        return None;
    }
    if first == '`' && t[n..].contains('`') {
        return None;
    }
    Some((first, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(chunks: &[&str], color: bool) -> String {
        let mut m = MarkdownStream::new(color);
        let mut out = String::new();
        for c in chunks {
            out.push_str(&m.push(c));
        }
        out.push_str(&m.finish());
        out
    }

    #[test]
    fn plain_rendering_keeps_text() {
        let text = "Hello **world** and `code`.\n```python\nprint(1)\n```\nDone.";
        assert_eq!(render(&[text], false), format!("{text}\n"));
    }

    #[test]
    fn chunking_does_not_change_the_result() {
        let text = "# Title\nSome `x` and **bold**.\n~~~bash\necho hi\n~~~\nend\n";
        let whole = render(&[text], true);
        let chars: Vec<String> = text.chars().map(|c| c.to_string()).collect();
        let refs: Vec<&str> = chars.iter().map(|s| s.as_str()).collect();
        assert_eq!(render(&refs, true), whole);
    }

    #[test]
    fn prose_streams_before_the_line_ends() {
        let mut m = MarkdownStream::new(false);
        assert_eq!(m.push("Hel"), "Hel");
        assert_eq!(m.push("lo"), "lo");
    }

    #[test]
    fn code_is_highlighted_in_colour() {
        let out = render(&["```python\nimport os\n```\n"], true);
        assert!(out.contains("\x1b[38;2;"), "{out:?}");
        assert!(out.contains("import"));
    }
}

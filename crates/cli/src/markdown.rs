//! Streaming markdown for the terminal.
//!
//! Model text arrives a few characters at a time, so this renders as it goes:
//! prose is printed a word at a time (so it can wrap at the terminal width
//! without breaking words), headings, quotes, lists and links are drawn
//! without their markdown syntax, tables are held until they end and printed
//! as aligned columns, and fenced code is printed a line at a time with
//! syntax highlighting. Input must already be sanitized; every escape
//! sequence in the output is ours (colours the sanitizer let through are
//! dropped here, so `NO_COLOR` means no colour at all).
//!
//! Without colour the emphasis markers (`**`, `*`, `` ` ``, `#`) stay, since
//! they are then the only sign of the emphasis.

use interlock_protocol::Language;
use std::sync::OnceLock;
use syntect::easy::HighlightLines;
use syntect::highlighting::{Color, Theme, ThemeSet};
use syntect::parsing::SyntaxSet;
use unicode_width::UnicodeWidthChar;

const RESET: &str = "\x1b[0m";

/// How many colours the terminal shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// 24-bit colour (`COLORTERM=truecolor` or `24bit`).
    True,
    /// The xterm 256-colour palette (`TERM=*256color*`).
    Ansi256,
    /// The 16 colours every terminal has, as the terminal's theme draws them.
    Ansi16,
}

/// Whether the terminal's background is dark or light.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Background {
    Dark,
    Light,
}

/// The terminal's colour depth and background, read once at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Look {
    pub depth: Depth,
    pub background: Background,
}

impl Look {
    /// Works out the look from `--theme` (if given) and the environment
    /// variables `COLORTERM`, `TERM` and `COLORFGBG`.
    pub fn detect(
        theme: Option<Background>,
        colorterm: Option<&str>,
        term: Option<&str>,
        colorfgbg: Option<&str>,
    ) -> Look {
        let depth = match colorterm.map(str::to_ascii_lowercase).as_deref() {
            Some("truecolor" | "24bit") => Depth::True,
            _ if term.is_some_and(|t| t.contains("256")) => Depth::Ansi256,
            _ => Depth::Ansi16,
        };
        // COLORFGBG is "fg;bg" (rxvt, konsole, some others): a background of
        // 7 (light grey) or 9-15 (bright colours, white) is a light one.
        let from_env = colorfgbg
            .and_then(|v| v.rsplit(';').next())
            .and_then(|bg| bg.trim().parse::<u8>().ok())
            .map(|bg| {
                if bg == 7 || (9..=15).contains(&bg) {
                    Background::Light
                } else {
                    Background::Dark
                }
            });
        Look {
            depth,
            background: theme.or(from_env).unwrap_or(Background::Dark),
        }
    }
}

static LOOK: OnceLock<Look> = OnceLock::new();

/// Sets the look for this process from `--theme` and the environment; later
/// calls change nothing.
pub fn init_look(theme: Option<Background>) {
    let _ = LOOK.set(look_from_env(theme));
}

fn look_from_env(theme: Option<Background>) -> Look {
    let env = |k: &str| std::env::var(k).ok();
    Look::detect(
        theme,
        env("COLORTERM").as_deref(),
        env("TERM").as_deref(),
        env("COLORFGBG").as_deref(),
    )
}

fn look() -> Look {
    *LOOK.get_or_init(|| look_from_env(None))
}

struct Assets {
    syntaxes: SyntaxSet,
    dark: Theme,
    light: Theme,
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let mut themes = ThemeSet::load_defaults();
        let mut take = |name: &str| themes.themes.remove(name).unwrap_or_default();
        Assets {
            syntaxes: SyntaxSet::load_defaults_newlines(),
            dark: take("base16-ocean.dark"),
            // Dark, saturated colours on white: readable on light terminals.
            light: take("InspiredGitHub"),
        }
    })
}

/// The SGR parameters for a syntax colour at the given depth, or None to
/// use the terminal's own foreground (so plain text is readable whatever
/// the background).
fn fg_sgr(c: Color, default_fg: Color, depth: Depth) -> Option<String> {
    if (c.r, c.g, c.b) == (default_fg.r, default_fg.g, default_fg.b) {
        return None;
    }
    match depth {
        Depth::True => Some(format!("38;2;{};{};{}", c.r, c.g, c.b)),
        Depth::Ansi256 => Some(format!("38;5;{}", to_256(c.r, c.g, c.b))),
        Depth::Ansi16 => to_16(c.r, c.g, c.b).map(|n| n.to_string()),
    }
}

/// The nearest colour of the xterm 256-colour palette.
pub fn to_256(r: u8, g: u8, b: u8) -> u8 {
    let level = |v: u8| -> u8 {
        match v {
            0..=47 => 0,
            48..=114 => 1,
            _ => (v - 35) / 40,
        }
    };
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    if max - min < 10 {
        // A grey: the 24-step ramp is finer than the cube.
        return match r {
            0..=7 => 16,
            248..=255 => 231,
            v => 232 + (v - 8) / 10,
        };
    }
    16 + 36 * level(r) + 6 * level(g) + level(b)
}

/// The basic colour (30-37) of the same hue, or None for greys, which the
/// terminal's own foreground shows better than black or white would.
pub fn to_16(r: u8, g: u8, b: u8) -> Option<u8> {
    let (r, g, b) = (r as f32, g as f32, b as f32);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    if max - min < 30.0 {
        return None;
    }
    let d = max - min;
    let hue = if max == r {
        60.0 * (((g - b) / d).rem_euclid(6.0))
    } else if max == g {
        60.0 * ((b - r) / d + 2.0)
    } else {
        60.0 * ((r - g) / d + 4.0)
    };
    Some(match hue as u32 {
        0..=29 | 330..=360 => 31,
        30..=89 => 33,
        90..=149 => 32,
        150..=209 => 36,
        210..=269 => 34,
        _ => 35,
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
    default_fg: Color,
    depth: Depth,
}

impl Highlighter {
    fn new(language: &str) -> Highlighter {
        let a = assets();
        let lk = look();
        let theme = match lk.background {
            Background::Dark => &a.dark,
            Background::Light => &a.light,
        };
        let ss = &a.syntaxes;
        let syntax = match language.to_ascii_lowercase().as_str() {
            "python" | "py" | "python3" => ss.find_syntax_by_extension("py"),
            "shell" | "bash" | "sh" | "zsh" => ss.find_syntax_by_extension("sh"),
            "javascript" | "js" | "node" => ss.find_syntax_by_extension("js"),
            // `other` came from the model; find_syntax_by_token only looks it up.
            other => ss.find_syntax_by_token(other),
        }
        .unwrap_or_else(|| ss.find_syntax_plain_text());
        Highlighter {
            inner: HighlightLines::new(syntax, theme),
            default_fg: theme.settings.foreground.unwrap_or(Color::WHITE),
            depth: lk.depth,
        }
    }

    fn line(&mut self, line: &str) -> String {
        let ranges = match self.inner.highlight_line(line, &assets().syntaxes) {
            Ok(r) => r,
            Err(_) => return line.to_string(),
        };
        let mut out = String::new();
        let mut current: Option<String> = None;
        for (style, text) in ranges {
            let want = if text.trim().is_empty() {
                current.clone()
            } else {
                fg_sgr(style.foreground, self.default_fg, self.depth)
            };
            if want != current {
                match &want {
                    Some(sgr) => out.push_str(&format!("\x1b[{sgr}m")),
                    None => out.push_str("\x1b[39m"),
                }
                current = want;
            }
            out.push_str(text);
        }
        out
    }
}

/// How one character of prose is drawn.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Style {
    bold: bool,
    italic: bool,
    underline: bool,
    dim: bool,
    code: bool,
}

impl Style {
    fn sgr(self) -> String {
        let mut s = String::from("\x1b[0");
        for (on, p) in [
            (self.bold, ";1"),
            (self.dim, ";2"),
            (self.italic, ";3"),
            (self.underline, ";4"),
            (self.code, ";36"),
        ] {
            if on {
                s.push_str(p);
            }
        }
        s.push('m');
        s
    }
}

type Cell = (char, Style);

/// Links longer than this are shown as written rather than held back.
const MAX_LINK: usize = 2048;

/// A link being read: `[text` so far, `[text]`, or `[text](url` so far.
enum Link {
    None,
    Text(String),
    Closed(String),
    Url(String, String),
}

/// Inline markdown of one line (emphasis, code spans, links), a character at
/// a time, into styled cells. A space cell marks a place the line may wrap.
struct Inline {
    keep_markers: bool,
    base: Style,
    bold: bool,
    italic: bool,
    code: bool,
    underline: bool,
    dim: bool,
    /// `*` seen but not yet known to open, close or be a literal star.
    stars: usize,
    /// The last cell put was a space (or none was put yet).
    prev_space: bool,
    link: Link,
}

impl Inline {
    fn new(keep_markers: bool, base: Style) -> Inline {
        Inline {
            keep_markers,
            base,
            bold: false,
            italic: false,
            code: false,
            underline: false,
            dim: false,
            stars: 0,
            prev_space: true,
            link: Link::None,
        }
    }

    fn style(&self) -> Style {
        Style {
            bold: self.base.bold || self.bold,
            italic: self.base.italic || self.italic,
            underline: self.base.underline || self.underline,
            dim: self.base.dim || self.dim,
            code: self.code,
        }
    }

    fn put(&mut self, c: char, out: &mut Vec<Cell>) {
        out.push((c, self.style()));
        self.prev_space = c == ' ';
    }

    fn put_str(&mut self, s: &str, out: &mut Vec<Cell>) {
        for c in s.chars() {
            self.put(c, out);
        }
    }

    fn push(&mut self, c: char, out: &mut Vec<Cell>) {
        match std::mem::replace(&mut self.link, Link::None) {
            Link::None => {}
            Link::Text(mut t) => {
                if c == ']' {
                    self.link = Link::Closed(t);
                } else if t.len() >= MAX_LINK {
                    self.put('[', out);
                    self.put_str(&t, out);
                    self.push(c, out);
                } else {
                    t.push(c);
                    self.link = Link::Text(t);
                }
                return;
            }
            Link::Closed(t) => {
                if c == '(' {
                    self.link = Link::Url(t, String::new());
                    return;
                }
                self.put('[', out);
                self.put_str(&t, out);
                self.put(']', out);
            }
            Link::Url(t, mut u) => {
                if c == ')' {
                    self.link_out(&t, &u, out);
                    return;
                }
                if c != ' ' && u.len() < MAX_LINK {
                    u.push(c);
                    self.link = Link::Url(t, u);
                    return;
                }
                self.put('[', out);
                self.put_str(&t, out);
                self.put_str("](", out);
                self.put_str(&u, out);
            }
        }
        if self.code {
            if c == '`' {
                if self.keep_markers {
                    self.put(c, out);
                }
                self.code = false;
            } else {
                self.put(c, out);
            }
            return;
        }
        if c == '*' {
            self.stars += 1;
            return;
        }
        if self.stars > 0 {
            self.resolve_stars(c == ' ', out);
        }
        match c {
            '`' => {
                self.code = true;
                if self.keep_markers {
                    self.put(c, out);
                }
            }
            '[' => self.link = Link::Text(String::new()),
            _ => self.put(c, out),
        }
    }

    /// A run of stars ended: emphasis opens before a word, closes after one,
    /// and is a literal star otherwise (`2 * 3`).
    fn resolve_stars(&mut self, next_is_space: bool, out: &mut Vec<Cell>) {
        let n = std::mem::take(&mut self.stars);
        let can_open = !next_is_space;
        let can_close = !self.prev_space;
        let toggled = match n {
            1 => toggle(&mut self.italic, can_open, can_close),
            2 => toggle(&mut self.bold, can_open, can_close),
            3 if self.bold == self.italic => {
                let mut both = self.bold;
                let t = toggle(&mut both, can_open, can_close);
                self.bold = both;
                self.italic = both;
                t
            }
            _ => false,
        };
        if !toggled || self.keep_markers {
            for _ in 0..n {
                self.put('*', out);
            }
        }
    }

    fn link_out(&mut self, text: &str, url: &str, out: &mut Vec<Cell>) {
        let url = clean_url(url);
        self.underline = !self.keep_markers;
        for c in text.chars() {
            // Emphasis inside link text is not worth a parser of its own.
            if !self.keep_markers && (c == '*' || c == '`') {
                continue;
            }
            self.put(c, out);
        }
        self.underline = false;
        if url != text.trim() && !url.is_empty() {
            self.put(' ', out);
            self.dim = true;
            self.put_str(&format!("({url})"), out);
            self.dim = false;
        }
    }

    /// The line ended: a pending star or link is shown as written, and
    /// emphasis does not carry over to the next line.
    fn end_line(&mut self, out: &mut Vec<Cell>) {
        if self.stars > 0 {
            self.resolve_stars(true, out);
        }
        match std::mem::replace(&mut self.link, Link::None) {
            Link::None => {}
            Link::Text(t) => {
                self.put('[', out);
                self.put_str(&t, out);
            }
            Link::Closed(t) => {
                self.put('[', out);
                self.put_str(&t, out);
                self.put(']', out);
            }
            Link::Url(t, u) => {
                self.put('[', out);
                self.put_str(&t, out);
                self.put_str("](", out);
                self.put_str(&u, out);
            }
        }
    }
}

fn toggle(flag: &mut bool, can_open: bool, can_close: bool) -> bool {
    if *flag && can_close {
        *flag = false;
        true
    } else if !*flag && can_open {
        *flag = true;
        true
    } else {
        false
    }
}

/// A link target as it is safe to show: everything but printable ASCII is
/// percent-encoded, so a look-alike letter, a bidi or invisible character
/// cannot make it read as another address.
pub fn clean_url(url: &str) -> String {
    let mut out = String::new();
    for c in url.trim().chars() {
        if c.is_ascii_graphic() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Cells of a table cell or a line, rendered on their own.
fn inline_cells(text: &str, keep_markers: bool, base: Style) -> Vec<Cell> {
    let mut inline = Inline::new(keep_markers, base);
    let mut out = Vec::new();
    for c in text.chars() {
        inline.push(c, &mut out);
    }
    inline.end_line(&mut out);
    out
}

fn cells_width(cells: &[Cell]) -> usize {
    cells.iter().map(|(c, _)| c.width().unwrap_or(0)).sum()
}

/// How a line starts, once that is known.
enum Start {
    /// Not enough of the line yet.
    Undecided,
    Fence(char, usize),
    TableRow,
    Blank,
    Rule,
    /// Prose: what to print first, what to print at the start of each
    /// wrapped line, the style of the whole line, and how many bytes of the
    /// line the prefix replaces.
    Line {
        prefix: Vec<Cell>,
        cont: Vec<Cell>,
        base: Style,
        skip: usize,
    },
}

enum Mode {
    Prose,
    Fence {
        marker: char,
        len: usize,
        hl: Option<Box<Highlighter>>,
        /// A hidden fence's code so far (shown if it never closes).
        code: String,
        /// The language, when the fence is hidden (markdown tool mode).
        hidden: Option<String>,
    },
}

/// Incremental markdown renderer.
pub struct MarkdownStream {
    color: bool,
    /// Wrap prose at this many columns; 0 never wraps.
    width: usize,
    mode: Mode,
    /// Start of the current line, held back until it is known what it is.
    held: String,
    /// True while `held` is being collected (we are at the start of a line).
    holding: bool,
    /// Table rows held until the table ends.
    table: Vec<String>,
    inline: Inline,
    /// The word being read (printed when a space or the line's end shows
    /// whether it still fits on the line).
    word: Vec<Cell>,
    /// A space owed before the next word, unless that word wraps.
    space: Option<Style>,
    /// Columns used on the current output line.
    col: usize,
    /// Printed at the start of a wrapped line (quote bar, list indent).
    cont: Vec<Cell>,
    /// The style the terminal is in now.
    current: Style,
    /// Skipping a colour escape the sanitizer let through.
    in_escape: bool,
    /// Fences interlock will propose to run are not printed as they stream
    /// (markdown tool mode): they are shown once, under their risk, right
    /// above the question.
    defer_runnable: bool,
    /// Hidden fences (language, code) not yet claimed by a proposal: shown
    /// at the end of the turn if interlock never proposes them.
    hidden: Vec<(String, String)>,
}

impl MarkdownStream {
    /// A renderer that wraps prose at `width` columns (0: never).
    pub fn with_width(color: bool, width: usize) -> MarkdownStream {
        MarkdownStream {
            color,
            width,
            mode: Mode::Prose,
            held: String::new(),
            holding: true,
            table: Vec::new(),
            inline: Inline::new(!color, Style::default()),
            word: Vec::new(),
            space: None,
            col: 0,
            cont: Vec::new(),
            current: Style::default(),
            in_escape: false,
            defer_runnable: false,
            hidden: Vec::new(),
        }
    }

    /// Changes the wrap width (the terminal was resized).
    pub fn set_width(&mut self, width: usize) {
        self.width = width;
    }

    /// True when nothing is buffered and no style is open.
    pub fn is_idle(&self) -> bool {
        self.held.is_empty()
            && matches!(self.mode, Mode::Prose)
            && self.holding
            && self.table.is_empty()
    }

    /// Whether fences in a language interlock runs are left out of the
    /// stream (a line says where the code will be shown instead).
    pub fn set_defer_runnable(&mut self, defer: bool) {
        self.defer_runnable = defer;
    }

    /// A block was proposed: the hidden fence with this code (sanitized) is
    /// shown there, not left over.
    pub fn claim_hidden(&mut self, code: &str) {
        let same = |c: &str| c.trim_end_matches('\n') == code.trim_end_matches('\n');
        if let Some(i) = self.hidden.iter().position(|(_, c)| same(c)) {
            self.hidden.remove(i);
        }
    }

    /// Hidden fences no proposal claimed (the turn ended early: an error,
    /// an interrupt): their code, so the reply is not left with a promise.
    pub fn take_unclaimed(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.hidden)
    }

    /// Prints the word read so far without waiting for the space after it:
    /// something else is about to be printed (a notice, token counts), and
    /// the text before it must be on screen first.
    pub fn flush_word_now(&mut self) -> String {
        let mut out = String::new();
        if matches!(self.mode, Mode::Prose) && !self.holding {
            self.flush_word(&mut out);
        }
        out
    }

    /// Feeds sanitized text; returns what to print now.
    pub fn push(&mut self, text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            // Our styles are the only ones: colour escapes in the text (the
            // sanitizer passes SGR) are dropped.
            if self.in_escape {
                self.in_escape = !('\x40'..='\x7e').contains(&c) || c == '[';
                continue;
            }
            if c == '\x1b' {
                self.in_escape = true;
                continue;
            }
            self.push_char(c, &mut out);
        }
        out
    }

    /// Ends the message: prints anything held back and closes open styles.
    pub fn finish(&mut self) -> String {
        let mut out = String::new();
        if let Mode::Fence { .. } = self.mode {
            let held = std::mem::take(&mut self.held);
            if let Mode::Fence {
                hl, code, hidden, ..
            } = &mut self.mode
            {
                // An unclosed fence never runs: a hidden one is shown now.
                let text = if hidden.is_some() {
                    std::mem::take(code) + &held
                } else {
                    held
                };
                for line in text.split_inclusive('\n') {
                    match hl {
                        Some(h) => out.push_str(&h.line(line)),
                        None => out.push_str(line),
                    }
                }
                if self.color {
                    out.push_str(RESET);
                }
                if !text.is_empty() && !text.ends_with('\n') {
                    out.push('\n');
                }
            }
        } else {
            if self.holding && !self.held.is_empty() {
                self.push_char('\n', &mut out);
            } else if !self.holding {
                self.end_prose_line(&mut out);
            }
            self.flush_table(&mut out);
            if self.color && !out.is_empty() {
                out.push_str(RESET);
            }
        }
        let defer = self.defer_runnable;
        let hidden = std::mem::take(&mut self.hidden);
        *self = MarkdownStream::with_width(self.color, self.width);
        self.defer_runnable = defer;
        self.hidden = hidden;
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
        let start = self.classify();
        if matches!(start, Start::Undecided) {
            return;
        }
        let held = std::mem::take(&mut self.held);
        if !matches!(start, Start::TableRow) {
            self.flush_table(out);
        }
        match start {
            Start::Undecided => {}
            Start::Fence(marker, len) => self.open_fence(&held, marker, len, out),
            Start::TableRow => self.table.push(held),
            Start::Blank => self.raw_line("", Style::default(), out),
            Start::Rule => {
                let n = if self.width == 0 {
                    40
                } else {
                    self.width.min(40)
                };
                let dim = Style {
                    dim: true,
                    ..Style::default()
                };
                self.raw_line(&"─".repeat(n), dim, out);
            }
            Start::Line {
                prefix,
                cont,
                base,
                skip,
            } => {
                self.holding = false;
                self.inline = Inline::new(!self.color, base);
                for cell in &prefix {
                    self.write_cell(*cell, out);
                }
                self.col = cells_width(&prefix);
                self.cont = cont;
                for ch in held[skip..].chars() {
                    self.prose_char(ch, out);
                }
            }
        }
    }

    /// What the held start of a line is, if that is known yet.
    fn classify(&self) -> Start {
        let held = self.held.as_str();
        let complete = held.ends_with('\n');
        let body = held.trim_end_matches('\n');
        if could_be_fence_prefix(held) {
            if !complete {
                return Start::Undecided;
            }
            if let Some((marker, len)) = fence_open(held) {
                return Start::Fence(marker, len);
            }
        }
        let rest = body.trim_start_matches(' ');
        let ind = body.len() - rest.len();
        let Some(first) = rest.chars().next() else {
            return if complete {
                Start::Blank
            } else {
                Start::Undecided
            };
        };
        let plain = |s: &str| -> Vec<Cell> { s.chars().map(|c| (c, Style::default())).collect() };
        let dim = Style {
            dim: true,
            ..Style::default()
        };
        let spaces = |n: usize| plain(&" ".repeat(n));
        let prose = Start::Line {
            prefix: spaces(ind),
            cont: spaces(ind),
            base: Style::default(),
            skip: ind,
        };
        let after = &rest[first.len_utf8()..];
        if !complete && after.is_empty() && "|#>-*+".contains(first) {
            return Start::Undecided;
        }
        match first {
            '|' if ind <= 3 => {
                if complete {
                    Start::TableRow
                } else {
                    Start::Undecided
                }
            }
            '#' if ind <= 3 => {
                let run = rest.chars().take_while(|c| *c == '#').count();
                if run == rest.len() && !complete {
                    return Start::Undecided;
                }
                if run > 6 || !rest[run..].starts_with(' ') {
                    return prose;
                }
                if !self.color {
                    return prose;
                }
                Start::Line {
                    prefix: Vec::new(),
                    cont: Vec::new(),
                    base: Style {
                        bold: true,
                        underline: run == 1,
                        ..Style::default()
                    },
                    skip: ind + run + 1,
                }
            }
            '>' => {
                // A bar, not `>`, which is what the input prompt looks like.
                let mut bar = spaces(ind);
                bar.push(('│', dim));
                bar.push((' ', Style::default()));
                Start::Line {
                    prefix: bar.clone(),
                    cont: bar,
                    base: Style {
                        italic: true,
                        ..Style::default()
                    },
                    skip: ind + 1 + usize::from(after.starts_with(' ')),
                }
            }
            '-' | '*' | '_' | '+' => {
                let same_or_space = rest.chars().all(|c| c == first || c == ' ');
                if same_or_space && first != '+' {
                    if !complete {
                        return Start::Undecided;
                    }
                    if rest.chars().filter(|c| *c == first).count() >= 3 {
                        return Start::Rule;
                    }
                }
                if first != '_' && after.starts_with(' ') {
                    let mut prefix = spaces(ind);
                    if self.color {
                        prefix.push(('•', Style::default()));
                    } else {
                        prefix.push((first, Style::default()));
                    }
                    prefix.push((' ', Style::default()));
                    Start::Line {
                        prefix,
                        cont: spaces(ind + 2),
                        base: Style::default(),
                        skip: ind + 2,
                    }
                } else {
                    prose
                }
            }
            '0'..='9' => {
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                let tail = &rest[digits..];
                if !complete && digits <= 9 && (tail.is_empty() || tail == "." || tail == ")") {
                    return Start::Undecided;
                }
                if digits <= 9 && (tail.starts_with(". ") || tail.starts_with(") ")) {
                    let marker = &rest[..digits + 2];
                    let mut prefix = spaces(ind);
                    prefix.extend(plain(marker));
                    Start::Line {
                        prefix,
                        cont: spaces(ind + digits + 2),
                        base: Style::default(),
                        skip: ind + digits + 2,
                    }
                } else {
                    prose
                }
            }
            _ => prose,
        }
    }

    /// Prints a whole line outside the word wrapper.
    fn raw_line(&mut self, text: &str, style: Style, out: &mut String) {
        for c in text.chars() {
            self.write_cell((c, style), out);
        }
        self.newline(out);
        self.holding = true;
    }

    fn write_cell(&mut self, (c, style): Cell, out: &mut String) {
        if self.color && style != self.current {
            out.push_str(&style.sgr());
            self.current = style;
        }
        out.push(c);
    }

    fn newline(&mut self, out: &mut String) {
        if self.color && self.current != Style::default() {
            out.push_str(RESET);
            self.current = Style::default();
        }
        out.push('\n');
        self.col = 0;
        self.space = None;
    }

    fn prose_char(&mut self, c: char, out: &mut String) {
        if c == '\n' {
            self.end_prose_line(out);
            return;
        }
        let mut cells = Vec::new();
        self.inline.push(c, &mut cells);
        self.take_cells(cells, out);
    }

    fn take_cells(&mut self, cells: Vec<Cell>, out: &mut String) {
        for (c, style) in cells {
            if c == ' ' {
                self.flush_word(out);
                if self.col > cells_width(&self.cont) {
                    self.space = Some(style);
                }
            } else {
                self.word.push((c, style));
            }
        }
    }

    /// Prints the word read so far, on a new line if it would not fit.
    fn flush_word(&mut self, out: &mut String) {
        if self.word.is_empty() {
            return;
        }
        let w = cells_width(&self.word);
        let cont_w = cells_width(&self.cont);
        let need = w + usize::from(self.space.is_some());
        if self.width > 0 && self.col > cont_w && self.col + need > self.width {
            self.newline(out);
            for cell in self.cont.clone() {
                self.write_cell(cell, out);
            }
            self.col = cont_w;
        } else if let Some(style) = self.space.take() {
            self.write_cell((' ', style), out);
            self.col += 1;
        }
        for cell in std::mem::take(&mut self.word) {
            self.write_cell(cell, out);
        }
        self.col += w;
    }

    fn end_prose_line(&mut self, out: &mut String) {
        let mut cells = Vec::new();
        self.inline.end_line(&mut cells);
        self.take_cells(cells, out);
        self.flush_word(out);
        self.newline(out);
        self.cont.clear();
        self.holding = true;
    }

    fn open_fence(&mut self, line: &str, marker: char, len: usize, out: &mut String) {
        let info = line.trim().trim_start_matches(marker).trim();
        let lang = info.split_whitespace().next().unwrap_or("");
        let hidden = self.defer_runnable && Language::from_alias(lang).is_some();
        let shown = if hidden {
            format!("[{lang} code: shown below with its risk, before it runs]")
        } else {
            line.trim_end().to_string()
        };
        if self.color {
            out.push_str("\x1b[2m");
            out.push_str(&shown);
            out.push_str(RESET);
        } else {
            out.push_str(&shown);
        }
        out.push('\n');
        self.mode = Mode::Fence {
            marker,
            len,
            hl: self.color.then(|| Box::new(Highlighter::new(lang))),
            code: String::new(),
            hidden: hidden.then(|| lang.to_string()),
        };
        self.holding = true;
    }

    fn fence_line(&mut self, line: &str, out: &mut String) {
        let Mode::Fence {
            marker,
            len,
            hl,
            code,
            hidden,
        } = &mut self.mode
        else {
            return;
        };
        let hidden_lang = hidden.clone();
        let t = line.trim();
        let closes = line.len() - line.trim_start().len() <= 3
            && t.chars().all(|c| c == *marker)
            && t.chars().count() >= *len;
        if closes {
            if let Some(lang) = hidden_lang {
                // The placeholder line stood for the whole fence; its code
                // waits for the proposal that shows it.
                let code = std::mem::take(code);
                self.hidden.push((lang, code));
            } else if self.color {
                out.push_str("\x1b[2m");
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
        if hidden.is_some() {
            code.push_str(line);
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

    /// Prints the held table rows: aligned columns under a rule when they
    /// are a table and fit, one `header: value` line per cell when too wide,
    /// as prose when they are not a table after all.
    fn flush_table(&mut self, out: &mut String) {
        let rows = std::mem::take(&mut self.table);
        if rows.is_empty() {
            return;
        }
        let parsed: Vec<Vec<String>> = rows.iter().map(|r| split_row(r)).collect();
        let is_table = parsed.len() >= 2 && is_delimiter_row(&parsed[1]);
        if !is_table {
            // Lines that looked like table rows but are not: prose.
            for row in rows {
                self.holding = false;
                self.inline = Inline::new(!self.color, Style::default());
                for c in row.chars() {
                    self.prose_char(c, out);
                }
            }
            return;
        }
        let keep = !self.color;
        let header_style = Style {
            bold: true,
            ..Style::default()
        };
        let aligns: Vec<Align> = parsed[1].iter().map(|c| align_of(c)).collect();
        let mut table: Vec<Vec<Vec<Cell>>> = Vec::new();
        for (i, row) in parsed.iter().enumerate() {
            if i == 1 {
                continue;
            }
            let base = if i == 0 {
                header_style
            } else {
                Style::default()
            };
            table.push(row.iter().map(|c| inline_cells(c, keep, base)).collect());
        }
        let ncols = table.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0usize; ncols];
        for row in &table {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cells_width(cell));
            }
        }
        const GAP: usize = 2;
        let total = widths.iter().sum::<usize>() + GAP * ncols.saturating_sub(1);
        if self.width > 0 && total > self.width {
            self.table_as_records(&table, out);
            return;
        }
        for (r, row) in table.iter().enumerate() {
            for (i, w) in widths.iter().enumerate() {
                let empty = Vec::new();
                let cell = row.get(i).unwrap_or(&empty);
                let pad = w - cells_width(cell);
                let (left, right) = match aligns.get(i).copied().unwrap_or(Align::Left) {
                    Align::Left => (0, pad),
                    Align::Right => (pad, 0),
                    Align::Center => (pad / 2, pad - pad / 2),
                };
                if i > 0 {
                    self.write_spaces(GAP, out);
                }
                self.write_spaces(left, out);
                for c in cell {
                    self.write_cell(*c, out);
                }
                if i + 1 < ncols {
                    self.write_spaces(right, out);
                }
            }
            self.newline(out);
            if r == 0 {
                let dim = Style {
                    dim: true,
                    ..Style::default()
                };
                for (i, w) in widths.iter().enumerate() {
                    if i > 0 {
                        self.write_spaces(GAP, out);
                    }
                    for _ in 0..*w {
                        self.write_cell(('─', dim), out);
                    }
                }
                self.newline(out);
            }
        }
        self.holding = true;
    }

    /// A table too wide for the terminal: each row as `header: value`
    /// lines, rows apart by a blank line.
    fn table_as_records(&mut self, table: &[Vec<Vec<Cell>>], out: &mut String) {
        let Some((header, body)) = table.split_first() else {
            return;
        };
        for (r, row) in body.iter().enumerate() {
            if r > 0 {
                self.newline(out);
            }
            for (i, cell) in row.iter().enumerate() {
                if let Some(h) = header.get(i) {
                    for c in h {
                        self.write_cell(*c, out);
                    }
                    self.write_cell((':', h.last().map_or(Style::default(), |c| c.1)), out);
                    self.write_cell((' ', Style::default()), out);
                }
                for c in cell {
                    self.write_cell(*c, out);
                }
                self.newline(out);
            }
        }
        self.holding = true;
    }

    fn write_spaces(&mut self, n: usize, out: &mut String) {
        for _ in 0..n {
            self.write_cell((' ', Style::default()), out);
        }
    }
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
    Center,
}

fn align_of(delimiter: &str) -> Align {
    let d = delimiter.trim();
    match (d.starts_with(':'), d.ends_with(':')) {
        (true, true) => Align::Center,
        (false, true) => Align::Right,
        _ => Align::Left,
    }
}

/// The cells of a `| a | b |` row: pipes inside code spans or escaped as
/// `\|` do not split.
fn split_row(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut code = false;
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('|');
                chars.next();
            }
            '`' => {
                code = !code;
                cur.push(c);
            }
            '|' if !code => cells.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        cells.push(cur.trim().to_string());
    }
    cells
}

fn is_delimiter_row(cells: &[String]) -> bool {
    !cells.is_empty()
        && cells.iter().all(|c| {
            let d = c.trim();
            let inner = d.trim_start_matches(':').trim_end_matches(':');
            !inner.is_empty() && inner.chars().all(|ch| ch == '-')
        })
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
    let line = line.trim_end_matches('\n');
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
        render_w(chunks, color, 0)
    }

    fn render_w(chunks: &[&str], color: bool, width: usize) -> String {
        let mut m = MarkdownStream::with_width(color, width);
        let mut out = String::new();
        for c in chunks {
            out.push_str(&m.push(c));
        }
        out.push_str(&m.finish());
        out
    }

    /// The text a person sees: escapes removed.
    fn visible(s: &str) -> String {
        let mut out = String::new();
        let mut esc = false;
        for c in s.chars() {
            if esc {
                esc = !c.is_ascii_alphabetic();
            } else if c == '\x1b' {
                esc = true;
            } else {
                out.push(c);
            }
        }
        out
    }

    fn by_char(text: &str) -> Vec<String> {
        text.chars().map(|c| c.to_string()).collect()
    }

    #[test]
    fn plain_rendering_keeps_text() {
        let text = "Hello **world** and `code`.\n```python\nprint(1)\n```\nDone.";
        assert_eq!(render(&[text], false), format!("{text}\n"));
    }

    #[test]
    fn chunking_does_not_change_the_result() {
        let text = "# Title\nSome `x` and **bold**, *it* [a](http://x.y).\n> q\n| a | b |\n|---|--:|\n| 1 | 22 |\n~~~bash\necho hi\n~~~\n- item one\nend\n";
        for width in [0, 12] {
            let whole = render_w(&[text], true, width);
            let chars = by_char(text);
            let refs: Vec<&str> = chars.iter().map(|s| s.as_str()).collect();
            assert_eq!(render_w(&refs, true, width), whole);
        }
    }

    #[test]
    fn prose_streams_a_word_at_a_time() {
        let mut m = MarkdownStream::with_width(false, 0);
        assert_eq!(m.push("Hello "), "Hello");
        assert_eq!(m.push("wor"), "");
        assert_eq!(m.push("ld "), " world");
    }

    #[test]
    fn the_word_so_far_can_be_printed_before_other_output() {
        let mut m = MarkdownStream::with_width(false, 0);
        assert_eq!(m.push("after lo"), "after");
        assert_eq!(m.flush_word_now(), " lo");
        assert_eq!(m.push("ad\n"), "ad\n");
    }

    #[test]
    fn emphasis_is_styled_and_its_markers_dropped_in_colour() {
        let out = render(&["an *italic* and **bold** word, 2 * 3 stays\n"], true);
        assert_eq!(
            visible(&out),
            "an italic and bold word, 2 * 3 stays\n",
            "{out:?}"
        );
        assert!(out.contains("\x1b[0;3mitalic"), "{out:?}");
        assert!(out.contains("\x1b[0;1mbold"), "{out:?}");
    }

    #[test]
    fn links_show_their_text_and_cleaned_address() {
        let out = render(
            &["see [the docs](https://example.com/a b) and [x](http://ex\u{0430}mple.com)\n"],
            false,
        );
        // A space ends the address: not a link, shown as written.
        assert!(out.contains("[the docs](https://example.com/a b)"), "{out}");
        assert!(out.contains("x (http://ex%D0%B0mple.com)"), "{out}");
        let out = render(&["[site](https://a.example/p?q=1)\n"], true);
        assert_eq!(visible(&out), "site (https://a.example/p?q=1)\n");
        assert!(out.contains("\x1b[0;4ms"), "underlined: {out:?}");
        let same = render(&["[https://a.example](https://a.example)\n"], true);
        assert_eq!(visible(&same), "https://a.example\n");
    }

    #[test]
    fn tables_are_aligned_columns_without_pipes() {
        let text = "| name | size |\n|:-----|-----:|\n| a.txt | 10 |\n| `b` | 2000 |\n\nafter\n";
        let out = visible(&render(&[text], true));
        assert_eq!(
            out,
            "name   size\n─────  ────\na.txt    10\nb      2000\n\nafter\n"
        );
        assert!(!out.contains('|'));
    }

    #[test]
    fn a_table_too_wide_becomes_header_value_lines() {
        let text =
            "| key | value |\n|---|---|\n| alpha | a rather long value here |\n| beta | two |\n";
        let out = visible(&render_w(&[text], true, 20));
        assert_eq!(
            out,
            "key: alpha\nvalue: a rather long value here\n\nkey: beta\nvalue: two\n"
        );
    }

    #[test]
    fn pipes_that_are_not_a_table_stay_prose() {
        let out = render(&["| not a table\nnext\n"], false);
        assert_eq!(out, "| not a table\nnext\n");
    }

    #[test]
    fn headings_quotes_and_lists_lose_their_syntax_in_colour() {
        let text = "# Title\n## Sub\n> quoted text\n* one\n- two\n1. three\n---\n";
        let out = visible(&render(&[text], true));
        let rule = "─".repeat(40);
        assert_eq!(
            out,
            format!("Title\nSub\n│ quoted text\n• one\n• two\n1. three\n{rule}\n")
        );
        // Without colour a quote still does not look like the `> ` prompt.
        let plain = render(&["> quoted\n"], false);
        assert_eq!(plain, "│ quoted\n");
    }

    #[test]
    fn prose_wraps_between_words_at_the_width() {
        let text = "The quick brown fox jumps over the lazy dog again\n";
        let out = render_w(&[text], false, 16);
        assert_eq!(
            out,
            "The quick brown\nfox jumps over\nthe lazy dog\nagain\n"
        );
        for line in out.lines() {
            assert!(line.chars().count() <= 16, "{line:?}");
        }
        // Quotes and list items keep their bar and indent on wrapped lines.
        let out = visible(&render_w(
            &["> one two three four\n- alpha beta gamma\n"],
            true,
            12,
        ));
        assert_eq!(out, "│ one two\n│ three four\n• alpha beta\n  gamma\n");
        // A word longer than the line is not broken.
        let out = render_w(&["a https://example.com/very/long/path b\n"], false, 10);
        assert_eq!(out, "a\nhttps://example.com/very/long/path\nb\n");
    }

    #[test]
    fn colour_escapes_in_the_text_are_dropped() {
        let out = render(&["\x1b[31mred\x1b[0m text\n"], false);
        assert_eq!(out, "red text\n");
    }

    #[test]
    fn hidden_fences_not_proposed_are_handed_back() {
        let mut m = MarkdownStream::with_width(false, 0);
        m.set_defer_runnable(true);
        m.push("```python\nprint(1)\n```\n```sh\necho two\n```\n");
        m.finish();
        m.claim_hidden("print(1)");
        assert_eq!(
            m.take_unclaimed(),
            vec![("sh".to_string(), "echo two\n".to_string())]
        );
        assert!(m.take_unclaimed().is_empty());
    }

    #[test]
    fn runnable_fences_are_left_for_the_approval_block_when_deferred() {
        let text = "Let me look:\n```python\nprint(1)\n```\n```json\n{}\n```\ndone\n";
        let mut m = MarkdownStream::with_width(false, 0);
        m.set_defer_runnable(true);
        let mut out = m.push(text);
        out.push_str(&m.finish());
        assert_eq!(
            out,
            "Let me look:\n[python code: shown below with its risk, before it runs]\n```json\n{}\n```\ndone\n"
        );
        // The setting outlives the message; a fence cut off never runs, so it is shown.
        let mut out = m.push("```sh\necho cut");
        out.push_str(&m.finish());
        assert_eq!(
            out,
            "[sh code: shown below with its risk, before it runs]\necho cut\n"
        );
        // Not deferred: the code streams as written.
        assert_eq!(
            render(&["```python\nprint(1)\n```\n"], false),
            "```python\nprint(1)\n```\n"
        );
    }

    #[test]
    fn code_is_highlighted_in_colour() {
        let out = render(&["```python\nimport os\n```\n"], true);
        assert!(out.contains("\x1b[3"), "{out:?}");
        assert!(out.contains("import"));
    }

    #[test]
    fn colour_depth_and_background_follow_the_environment() {
        let l = Look::detect(None, Some("truecolor"), Some("xterm-256color"), None);
        assert_eq!((l.depth, l.background), (Depth::True, Background::Dark));
        let l = Look::detect(None, None, Some("xterm-256color"), Some("0;15"));
        assert_eq!((l.depth, l.background), (Depth::Ansi256, Background::Light));
        let l = Look::detect(Some(Background::Dark), None, Some("xterm"), Some("0;15"));
        assert_eq!((l.depth, l.background), (Depth::Ansi16, Background::Dark));
        let l = Look::detect(None, None, Some("screen"), Some("15;0"));
        assert_eq!(l.background, Background::Dark);
    }

    #[test]
    fn colours_map_to_smaller_palettes() {
        let fg = Color::WHITE;
        let c = Color {
            r: 0xbf,
            g: 0x61,
            b: 0x6a,
            a: 0xff,
        };
        assert_eq!(
            fg_sgr(c, fg, Depth::True).as_deref(),
            Some("38;2;191;97;106")
        );
        assert_eq!(fg_sgr(c, fg, Depth::Ansi256).as_deref(), Some("38;5;131"));
        assert_eq!(fg_sgr(c, fg, Depth::Ansi16).as_deref(), Some("31"));
        // The theme's own foreground is the terminal's: readable on any background.
        assert_eq!(fg_sgr(fg, fg, Depth::True), None);
        // Greys never become black or white.
        let grey = Color {
            r: 0x65,
            g: 0x73,
            b: 0x7e,
            a: 0xff,
        };
        assert_eq!(to_16(grey.r, grey.g, grey.b), None);
        assert_eq!(to_256(0x80, 0x80, 0x80), 244);
        assert_eq!(to_256(0, 0, 255), 21);
    }
}

//! A streaming terminal sanitizer for everything interlock displays.
//!
//! Model text, program output and error text are untrusted: printed raw, they
//! could move the cursor, rewrite what is already on screen, set the window
//! title, write the clipboard (OSC 52), plant fake hyperlinks (OSC 8), answer
//! device queries into the terminal's input, end a bracketed paste early or
//! hide text. [`Sanitizer`] keeps what is safe and turns everything else into
//! *visible* text, so the user sees that something tried:
//!
//! | input                                            | output                          |
//! |--------------------------------------------------|---------------------------------|
//! | printable text, `\n`, `\t`                        | unchanged                       |
//! | SGR colours/styles `ESC [ 1;31 m` (except conceal `8`) | unchanged                  |
//! | any other escape sequence (CSI, OSC, DCS, SOS/PM/APC, ESC x) | shown literally: `\x1b]52;c;…\x07` |
//! | `\r\n`                                            | `\n`                            |
//! | a lone `\r`, backspace `\x08`                     | `\r`, `\b` (literally)          |
//! | other C0 controls and DEL                         | `\x07`, `\x7f`, ...             |
//! | C1 controls U+0080–U+009F                         | `\u{9b}`, ...                   |
//! | bidi controls, zero-width and other invisible characters | `<U+202E>`, `<U+200B>`, ... |
//! | invalid UTF-8                                     | U+FFFD                          |
//!
//! Decisions:
//! - `\r` and backspace are shown, not executed, so later text can never
//!   overwrite earlier text (progress bars therefore show their steps on one
//!   line separated by `\r`). `\r\n` is an ordinary line end and becomes `\n`.
//! - Zero-width joiner U+200D and non-joiner U+200C pass when they sit
//!   between two visible non-ASCII characters (emoji ZWJ sequences such as
//!   👩‍💻, Persian and Indic text); anywhere else (e.g. inside ASCII words,
//!   where they hide differences between identifiers) they are shown.
//! - Variation selectors pass after a visible character, once; a second one in
//!   a row (a way to smuggle invisible data) is shown. Unicode tag characters
//!   (U+E0000–U+E007F, invisible "ASCII smuggling") are always shown.
//! - A neutralised sequence is shown up to 256 bytes, then `…(+N bytes)`; a
//!   sequence still open after 4 KiB is abandoned and what follows is treated
//!   as text, so memory stays bounded.
//! - If colours were set, [`Sanitizer::finish`] appends a reset `ESC[0m`.
//!
//! Escape sequences are parsed by [`vte`] (the Williams DEC ANSI state
//! machine); state is kept across chunks, so a sequence split anywhere is
//! handled as if it arrived whole.

use std::fmt::Write as _;

use vte::{Params, Parser, Perform};

/// Bytes of a neutralised sequence shown before eliding the rest.
const SHOW_MAX: usize = 256;
/// A sequence still open after this many bytes is abandoned.
const SEQ_MAX: usize = 4096;

/// Sanitizes `text` in one go (see the module docs).
pub fn sanitize(text: &str) -> String {
    let mut s = Sanitizer::new();
    let mut out = s.push(text.as_bytes());
    out.push_str(&s.finish());
    out
}

/// Sanitizes `bytes` in one go; invalid UTF-8 becomes U+FFFD.
pub fn sanitize_bytes(bytes: &[u8]) -> String {
    let mut s = Sanitizer::new();
    let mut out = s.push(bytes);
    out.push_str(&s.finish());
    out
}

/// Streaming sanitizer: feed chunks with [`push`](Sanitizer::push), end with
/// [`finish`](Sanitizer::finish). Output is the same however the input is
/// split.
pub struct Sanitizer {
    parser: Parser,
    in_seq: bool,
    /// Shown part of the current sequence (raw bytes).
    raw: Vec<u8>,
    /// Bytes of the current sequence beyond [`SHOW_MAX`].
    hidden: usize,
    seq_len: usize,
    /// Bytes since the last ESC (0 = the ESC itself).
    since_esc: usize,
    csi: bool,
    /// Partial UTF-8 character at the end of the last chunk.
    utf8: [u8; 4],
    utf8_len: usize,
    pending_cr: bool,
    /// ZWJ / ZWNJ waiting to see the next character.
    pending_joiner: Option<char>,
    /// The last character emitted (for the joiner and variation selector rules).
    prev: char,
    sgr_active: bool,
}

impl Default for Sanitizer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Sanitizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sanitizer")
            .field("in_seq", &self.in_seq)
            .finish_non_exhaustive()
    }
}

/// What vte reported for one byte.
#[derive(Default)]
struct Ev {
    printed: Option<char>,
    /// `Some(allowed)` when a CSI sequence was dispatched.
    csi: Option<bool>,
    esc: bool,
    osc_bell: bool,
}

impl Perform for Ev {
    fn print(&mut self, c: char) {
        self.printed = Some(c);
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], ignore: bool, action: char) {
        self.csi =
            Some(action == 'm' && intermediates.is_empty() && !ignore && sgr_allowed(params));
    }

    fn esc_dispatch(&mut self, _intermediates: &[u8], _ignore: bool, _byte: u8) {
        self.esc = true;
    }

    fn osc_dispatch(&mut self, _params: &[&[u8]], bell_terminated: bool) {
        if bell_terminated {
            self.osc_bell = true;
        }
    }
}

/// SGR parameters we pass: everything except conceal (8), which hides text.
fn sgr_allowed(params: &Params) -> bool {
    let mut it = params.iter();
    while let Some(p) = it.next() {
        match p.first().copied().unwrap_or(0) {
            8 => return false,
            // Extended colours with ';' separators: skip their arguments.
            38 | 48 | 58 if p.len() == 1 => match it.next().and_then(|q| q.first().copied()) {
                Some(5) => {
                    it.next();
                }
                Some(2) => {
                    for _ in 0..3 {
                        it.next();
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    true
}

/// `ESC [ [0-9;:]* m`, nothing else.
fn is_plain_sgr(raw: &[u8]) -> bool {
    raw.len() >= 3
        && raw.len() <= 128
        && raw.starts_with(b"\x1b[")
        && raw.ends_with(b"m")
        && raw[2..raw.len() - 1]
            .iter()
            .all(|c| c.is_ascii_digit() || *c == b';' || *c == b':')
}

fn is_sgr_reset(raw: &[u8]) -> bool {
    matches!(raw, b"\x1b[m" | b"\x1b[0m" | b"\x1b[00m")
}

/// Characters that are invisible or reorder text: shown as `<U+XXXX>`.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E007F}')
}

fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// A character a joiner may follow or precede: visible, non-ASCII.
fn joinable(c: char) -> bool {
    !c.is_ascii() && !c.is_whitespace() && !c.is_control() && !is_invisible(c) && c != '\u{FFFD}'
}

fn push_visible_char(out: &mut String, c: char) {
    match c {
        '\r' => out.push_str("\\r"),
        '\x08' => out.push_str("\\b"),
        '\0'..='\x1f' | '\x7f' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        '\u{80}'..='\u{9f}' => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        _ => {
            let _ = write!(out, "<U+{:04X}>", c as u32);
        }
    }
}

impl Sanitizer {
    pub fn new() -> Self {
        Sanitizer {
            parser: Parser::new(),
            in_seq: false,
            raw: Vec::new(),
            hidden: 0,
            seq_len: 0,
            since_esc: 0,
            csi: false,
            utf8: [0; 4],
            utf8_len: 0,
            pending_cr: false,
            pending_joiner: None,
            prev: '\n',
            sgr_active: false,
        }
    }

    /// Sanitizes the next chunk; returns the text to display now.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len() + bytes.len() / 8 + 8);
        let mut i = 0;
        if self.utf8_len > 0 {
            i = self.complete_utf8(bytes, &mut out);
        }
        while i < bytes.len() {
            if self.in_seq {
                self.seq_byte(bytes[i], &mut out);
                i += 1;
            } else {
                i = self.ground(bytes, i, &mut out);
            }
        }
        out
    }

    /// Ends the stream: shows an unterminated sequence, a dangling partial
    /// character (U+FFFD), a pending `\r` or joiner; resets colours if set.
    pub fn finish(&mut self) -> String {
        let mut out = String::new();
        if self.in_seq {
            self.end_seq(false, &mut out);
            self.parser = Parser::new();
        }
        if self.utf8_len > 0 {
            self.utf8_len = 0;
            self.emit_char('\u{FFFD}', &mut out);
        }
        self.flush_pending(&mut out);
        if self.sgr_active {
            out.push_str("\x1b[0m");
            self.sgr_active = false;
        }
        self.prev = '\n';
        out
    }

    fn flush_pending(&mut self, out: &mut String) {
        if self.pending_cr {
            self.pending_cr = false;
            out.push_str("\\r");
            self.prev = '\r';
        }
        if let Some(j) = self.pending_joiner.take() {
            push_visible_char(out, j);
        }
    }

    /// Ground state: text up to the next ESC. Returns the new position.
    fn ground(&mut self, b: &[u8], mut j: usize, out: &mut String) -> usize {
        let n = b.len();
        while j < n {
            if !self.pending_cr && self.pending_joiner.is_none() {
                let start = j;
                while j < n && matches!(b[j], 0x20..=0x7e | b'\n' | b'\t') {
                    j += 1;
                }
                if j > start {
                    // SAFETY-free: ASCII is valid UTF-8.
                    out.push_str(std::str::from_utf8(&b[start..j]).expect("ascii"));
                    self.prev = b[j - 1] as char;
                    if j == n {
                        break;
                    }
                }
            }
            let c = b[j];
            if c == 0x1b {
                self.flush_pending(out);
                self.start_seq();
                self.seq_byte(0x1b, out);
                return j + 1;
            }
            if c < 0x80 {
                self.emit_char(c as char, out);
                j += 1;
                continue;
            }
            let end = (j + 4).min(n);
            match std::str::from_utf8(&b[j..end]) {
                Ok(s) => {
                    let ch = s.chars().next().expect("non-empty");
                    self.emit_char(ch, out);
                    j += ch.len_utf8();
                }
                Err(e) if e.valid_up_to() > 0 => {
                    let s = std::str::from_utf8(&b[j..j + e.valid_up_to()]).expect("valid prefix");
                    let ch = s.chars().next().expect("non-empty");
                    self.emit_char(ch, out);
                    j += ch.len_utf8();
                }
                Err(e) => match e.error_len() {
                    Some(len) => {
                        self.emit_char('\u{FFFD}', out);
                        j += len;
                    }
                    None => {
                        // Incomplete character at the end of the chunk.
                        let rest = &b[j..];
                        self.utf8[..rest.len()].copy_from_slice(rest);
                        self.utf8_len = rest.len();
                        return n;
                    }
                },
            }
        }
        n
    }

    /// Completes a character split across chunks. Returns bytes consumed.
    fn complete_utf8(&mut self, b: &[u8], out: &mut String) -> usize {
        let old = self.utf8_len;
        let take = (4 - old).min(b.len());
        let mut buf = self.utf8;
        buf[old..old + take].copy_from_slice(&b[..take]);
        let all = &buf[..old + take];
        let (ch, used) = match std::str::from_utf8(all) {
            Ok(s) => {
                let c = s.chars().next().expect("non-empty");
                (Some(c), c.len_utf8())
            }
            Err(e) if e.valid_up_to() > 0 => {
                let s = std::str::from_utf8(&all[..e.valid_up_to()]).expect("valid");
                let c = s.chars().next().expect("non-empty");
                (Some(c), c.len_utf8())
            }
            Err(e) => match e.error_len() {
                Some(len) => (Some('\u{FFFD}'), len),
                None => {
                    // Still incomplete: keep everything.
                    self.utf8[old..old + take].copy_from_slice(&b[..take]);
                    self.utf8_len = old + take;
                    return take;
                }
            },
        };
        self.utf8_len = 0;
        if let Some(c) = ch {
            self.emit_char(c, out);
        }
        // `used` counts bytes from the start of the partial buffer.
        used.saturating_sub(old)
    }

    /// One character in ground state.
    fn emit_char(&mut self, c: char, out: &mut String) {
        if self.pending_cr {
            self.pending_cr = false;
            if c == '\n' {
                out.push('\n');
                self.prev = '\n';
                return;
            }
            out.push_str("\\r");
            self.prev = '\r';
        }
        if let Some(j) = self.pending_joiner.take() {
            if joinable(c) {
                out.push(j);
            } else {
                push_visible_char(out, j);
            }
        }
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => {
                self.pending_cr = true;
                return;
            }
            '\0'..='\x1f' | '\x7f'..='\u{9f}' => push_visible_char(out, c),
            '\u{200C}' | '\u{200D}' if joinable(self.prev) || is_variation_selector(self.prev) => {
                self.pending_joiner = Some(c);
                return;
            }
            _ if is_invisible(c) => push_visible_char(out, c),
            _ if is_variation_selector(c) => {
                if is_variation_selector(self.prev)
                    || self.prev.is_whitespace()
                    || self.prev.is_control()
                {
                    push_visible_char(out, c);
                } else {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
        self.prev = c;
    }

    fn start_seq(&mut self) {
        self.in_seq = true;
        self.raw.clear();
        self.hidden = 0;
        self.seq_len = 0;
    }

    /// One byte inside an escape sequence.
    fn seq_byte(&mut self, byte: u8, out: &mut String) {
        self.seq_len += 1;
        if self.raw.len() < SHOW_MAX {
            self.raw.push(byte);
        } else {
            self.hidden += 1;
        }
        if byte >= 0x80 {
            // Not fed to vte (7-bit parser): part of the sequence's payload.
            if self.seq_len >= SEQ_MAX {
                self.abandon_seq(out);
            }
            return;
        }
        if byte == 0x1b {
            self.since_esc = 0;
            self.csi = false;
        } else {
            self.since_esc += 1;
            if self.since_esc == 1 {
                self.csi = byte == b'[';
            }
        }
        let mut ev = Ev::default();
        self.parser.advance(&mut ev, &[byte]);
        let ground = ev.csi.is_some()
            || ev.esc
            || ev.osc_bell
            || ev.printed.is_some()
            || byte == 0x18
            || byte == 0x1a
            || (self.csi && self.since_esc >= 2 && (0x40..=0x7e).contains(&byte));
        if ground {
            if ev.printed.is_some() && self.hidden == 0 {
                // vte was already back in ground (defensive): the byte is text.
                self.raw.pop();
            }
            self.end_seq(ev.csi == Some(true), out);
            if let Some(c) = ev.printed {
                self.emit_char(c, out);
            }
        } else if self.seq_len >= SEQ_MAX {
            self.abandon_seq(out);
        }
    }

    /// Gives up on a sequence that has not ended after [`SEQ_MAX`] bytes: vte
    /// returns to ground on CAN, and what follows is treated as text.
    fn abandon_seq(&mut self, out: &mut String) {
        let mut ev = Ev::default();
        self.parser.advance(&mut ev, &[0x18]);
        self.end_seq(false, out);
    }

    fn end_seq(&mut self, sgr_ok: bool, out: &mut String) {
        self.in_seq = false;
        if sgr_ok && self.hidden == 0 && is_plain_sgr(&self.raw) {
            out.push_str(std::str::from_utf8(&self.raw).expect("ascii"));
            self.sgr_active = !is_sgr_reset(&self.raw);
        } else {
            show_raw(&self.raw, out);
            if self.hidden > 0 {
                let _ = write!(out, "…(+{} bytes)", self.hidden);
            }
            self.prev = '\\';
        }
        self.raw.clear();
        self.hidden = 0;
        self.seq_len = 0;
        self.since_esc = 0;
        self.csi = false;
    }
}

/// Renders the raw bytes of a neutralised sequence as visible text.
fn show_raw(raw: &[u8], out: &mut String) {
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if c >= 0x80 {
            let start = i;
            while i < raw.len() && raw[i] >= 0x80 {
                i += 1;
            }
            for ch in String::from_utf8_lossy(&raw[start..i]).chars() {
                if ch.is_control() || is_invisible(ch) || is_variation_selector(ch) {
                    push_visible_char(out, ch);
                } else {
                    out.push(ch);
                }
            }
            continue;
        }
        match c {
            0x1b => out.push_str("\\x1b"),
            b'\n' | b'\t' | 0x20..=0x7e => out.push(c as char),
            _ => push_visible_char(out, c as char),
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert_eq!(sanitize("a\x1b[31mb\x1b[0m"), "a\x1b[31mb\x1b[0m");
        assert_eq!(
            sanitize("a\x1b]52;c;ZXZpbA==\x07b"),
            "a\\x1b]52;c;ZXZpbA==\\x07b"
        );
        assert_eq!(sanitize("x\r\ny\rz"), "x\ny\\rz");
        assert_eq!(sanitize("ab\u{202e}cd"), "ab<U+202E>cd");
        assert_eq!(sanitize("\x1b[2J"), "\\x1b[2J");
        assert_eq!(sanitize("\x1b[8mhidden"), "\\x1b[8mhidden");
        assert_eq!(sanitize("\x1b[38;5;8mgrey"), "\x1b[38;5;8mgrey\x1b[0m");
    }
}

//! Redaction of text that arrives in chunks.

use super::{Placeholders, Redactor};

/// Bytes of already-emitted text kept as look-behind context (for detectors
/// that need the name before a value, e.g. `aws_secret_access_key = …`).
const CONTEXT: usize = 256;
/// A tail without whitespace is held back up to this size...
const MAX_HOLD: usize = 16 * 1024;
/// ...after which all but this much of it is released.
const KEEP_WHEN_FORCED: usize = 4 * 1024;
/// An unterminated private key block is held back up to this size.
const MAX_PEM_HOLD: usize = 64 * 1024;

/// Redacts a stream of text chunks (model output, program output).
///
/// [`push`](StreamRedactor::push) returns the text that is safe to emit now,
/// redacted; it holds back the tail that might still be the beginning of a
/// secret: the last whitespace-free run (up to 16 KiB), an unterminated
/// private key block (up to 64 KiB), an unfinished line containing `==` or
/// `!=` (up to 16 KiB) and a tail that begins a known secret containing
/// spaces. [`finish`](StreamRedactor::finish) releases the rest.
/// Concatenating every returned string gives the same text as redacting the
/// whole input at once (as long as no hold-back limit is reached).
pub struct StreamRedactor<'a> {
    redactor: &'a Redactor,
    placeholders: Placeholders,
    /// `win[..ctx]` was already emitted (look-behind only); `win[ctx..]` is pending.
    win: String,
    ctx: usize,
    found: usize,
}

impl<'a> StreamRedactor<'a> {
    /// `placeholders` may be a [`Placeholders`], `&Placeholders` or
    /// `&mut Placeholders`; the stream shares its numbering.
    pub fn new(redactor: &'a Redactor, placeholders: impl Into<Placeholders>) -> Self {
        StreamRedactor {
            redactor,
            placeholders: placeholders.into(),
            win: String::new(),
            ctx: 0,
            found: 0,
        }
    }

    /// Adds a chunk; returns the redacted text that can be emitted now.
    pub fn push(&mut self, chunk: &str) -> String {
        self.win.push_str(chunk);
        self.drain(false)
    }

    /// Ends the stream; returns everything still held back, redacted.
    pub fn finish(&mut self) -> String {
        let out = self.drain(true);
        self.win.clear();
        self.ctx = 0;
        out
    }

    /// How many secrets this stream has redacted so far.
    pub fn redacted_count(&self) -> usize {
        self.found
    }

    /// Bytes currently held back.
    pub fn pending_len(&self) -> usize {
        self.win.len() - self.ctx
    }

    fn drain(&mut self, all: bool) -> String {
        let ctx = self.ctx;
        if self.win.len() == ctx {
            return String::new();
        }
        let cands = self.redactor.candidates(&self.win);
        let mut cut = if all {
            self.win.len()
        } else {
            self.cut_point()
        };
        // Never cut through a secret: move the cut back to its start.
        for c in cands.iter().rev() {
            if c.start < cut && c.end > cut && c.start >= ctx {
                cut = c.start;
            }
        }
        if cut <= ctx {
            return String::new();
        }
        let mut out = String::with_capacity(cut - ctx);
        let mut pos = ctx;
        {
            let mut ph = self.placeholders.lock();
            for c in &cands {
                if c.end <= ctx || c.start >= cut {
                    continue;
                }
                // A secret that began in already-emitted text: redact what is left of it.
                let s = c.start.max(ctx);
                let e = c.end.min(cut);
                out.push_str(&self.win[pos..s]);
                let label = match c.known {
                    Some(_) => self.redactor.label(c).to_owned(),
                    None => c.kind.to_owned(),
                };
                out.push_str(&ph.get(&label, &self.win[c.start..c.end]));
                pos = e;
                self.found += 1;
            }
        }
        out.push_str(&self.win[pos..cut]);
        // Keep CONTEXT bytes of emitted text as look-behind.
        let mut keep_from = cut.saturating_sub(CONTEXT);
        while !self.win.is_char_boundary(keep_from) {
            keep_from += 1;
        }
        self.win.drain(..keep_from);
        self.ctx = cut - keep_from;
        out
    }

    /// Where pending text must stop being released.
    fn cut_point(&self) -> usize {
        let w = self.win.as_bytes();
        let ctx = self.ctx;
        let len = w.len();
        // 1. The trailing whitespace-free run.
        let mut cut = match w[ctx..].iter().rposition(|b| b.is_ascii_whitespace()) {
            Some(i) => ctx + i + 1,
            None => ctx,
        };
        if len - cut > MAX_HOLD {
            cut = len - KEEP_WHEN_FORCED;
            while !self.win.is_char_boundary(cut) {
                cut -= 1;
            }
        }
        // 2. An unterminated private key block.
        if let Some(i) = find_last(&w[ctx..], b"-----BEGIN") {
            let b = ctx + i;
            let rest = &w[b..];
            let is_private = rest.len() < 80 || rest[..80].windows(11).any(|x| x == b"PRIVATE KEY");
            // Ended only once the whole `-----END ...-----` line is here.
            let ended = rest
                .windows(8)
                .position(|x| x == b"-----END")
                .is_some_and(|e| rest[e + 8..].windows(5).any(|x| x == b"-----"));
            if is_private && !ended && len - b <= MAX_PEM_HOLD {
                cut = cut.min(b);
            }
        }
        // 3. An unfinished line with a comparison: in `if "…" != admin_secret`
        // the name that makes the literal a secret comes after it.
        let ls = w[ctx..]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(ctx, |i| ctx + i + 1);
        if len - ls <= MAX_HOLD && w[ls..].windows(2).any(|x| x == b"==" || x == b"!=") {
            cut = cut.min(ls);
        }
        // 4. A tail that is the beginning of a known secret containing spaces.
        for v in self.redactor.spaced_known() {
            let v = v.as_bytes();
            for k in (1..v.len()).rev() {
                if k <= len - ctx && w[len - k..] == v[..k] {
                    cut = cut.min(len - k);
                    break;
                }
            }
        }
        cut.max(ctx)
    }
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let mut i = hay.len().checked_sub(needle.len())?;
    loop {
        if hay[i] == needle[0] && hay[i..].starts_with(needle) {
            return Some(i);
        }
        if i == 0 {
            return None;
        }
        i -= 1;
    }
}

//! Output capture: head + tail of a run's interleaved output within a byte cap, and the
//! forwarding limit that protects the caller's memory and terminal.

use interlock_protocol::OutputStream;
use std::collections::VecDeque;

/// A run's captured output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapturedOutput {
    /// stdout and stderr interleaved in arrival order, as lossy UTF-8. When the output
    /// was over the cap, the head and the tail are kept around a marked cut such as
    /// `\n[... 49.0 MB cut ...]\n`.
    pub text: String,
    /// Every byte the run wrote to stdout and stderr, kept or not.
    pub total_bytes: u64,
    /// True when bytes were cut from the middle.
    pub truncated: bool,
}

/// Keeps the first and last `cap / 2` bytes of a byte stream.
#[derive(Debug)]
pub(crate) struct Capper {
    head_cap: usize,
    tail_cap: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
}

impl Capper {
    pub(crate) fn new(cap: usize) -> Self {
        let head_cap = cap / 2;
        Capper {
            head_cap,
            tail_cap: cap - head_cap,
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        if self.head.len() < self.head_cap {
            let n = bytes.len().min(self.head_cap - self.head.len());
            self.head.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
        if bytes.len() >= self.tail_cap {
            self.tail.clear();
            self.tail.extend(&bytes[bytes.len() - self.tail_cap..]);
        } else {
            self.tail.extend(bytes);
            let excess = self.tail.len().saturating_sub(self.tail_cap);
            self.tail.drain(..excess);
        }
    }

    pub(crate) fn finish(self) -> CapturedOutput {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let tail: Vec<u8> = self.tail.into();
        if kept == self.total {
            let mut all = self.head;
            all.extend_from_slice(&tail);
            return CapturedOutput {
                text: String::from_utf8_lossy(&all).into_owned(),
                total_bytes: self.total,
                truncated: false,
            };
        }
        let head = trim_partial_end(&self.head);
        let tail = trim_partial_start(&tail);
        let cut = self.total - head.len() as u64 - tail.len() as u64;
        let mut text = String::from_utf8_lossy(head).into_owned();
        text.push_str(&format!("\n[... {} cut ...]\n", human_bytes(cut)));
        text.push_str(&String::from_utf8_lossy(tail));
        CapturedOutput {
            text,
            total_bytes: self.total,
            truncated: true,
        }
    }
}

/// Drops an incomplete UTF-8 sequence at the end (so the cut does not add U+FFFD).
fn trim_partial_end(b: &[u8]) -> &[u8] {
    let start = b.len().saturating_sub(3);
    for i in (start..b.len()).rev() {
        let byte = b[i];
        if byte & 0xC0 == 0x80 {
            continue; // continuation byte: keep looking for the lead byte
        }
        let need = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return b,
        };
        return if b.len() - i < need { &b[..i] } else { b };
    }
    b
}

/// Drops UTF-8 continuation bytes at the start (the rest of a character that was cut).
fn trim_partial_start(b: &[u8]) -> &[u8] {
    let skip = b.iter().take(3).take_while(|&&c| c & 0xC0 == 0x80).count();
    &b[skip..]
}

/// "512 bytes", "1.5 kB", "49.9 MB", "2.0 GB" (decimal units).
pub(crate) fn human_bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} bytes"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.1} GB", n as f64 / 1e9),
    }
}

/// Everything that happens to one chunk of output: captured, and forwarded to the
/// caller until the forwarding limit, after which one notice chunk is forwarded instead.
pub(crate) struct Sink<'a> {
    pub(crate) capper: Capper,
    forwarded: usize,
    limit: usize,
    on_output: &'a mut (dyn FnMut(OutputStream, &[u8]) + Send),
}

impl<'a> Sink<'a> {
    pub(crate) fn new(
        cap: usize,
        on_output: &'a mut (dyn FnMut(OutputStream, &[u8]) + Send),
    ) -> Self {
        Sink {
            capper: Capper::new(cap),
            forwarded: 0,
            limit: cap.saturating_mul(10),
            on_output,
        }
    }

    pub(crate) fn push(&mut self, stream: OutputStream, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.capper.push(bytes);
        if self.forwarded >= self.limit {
            return;
        }
        let n = bytes.len().min(self.limit - self.forwarded);
        (self.on_output)(stream, &bytes[..n]);
        self.forwarded += n;
        if self.forwarded >= self.limit {
            let notice = format!(
                "\n[interlock: output passed {}; the rest is not shown, the code keeps running]\n",
                human_bytes(self.limit as u64)
            );
            (self.on_output)(OutputStream::Stderr, notice.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_is_kept_whole() {
        let mut c = Capper::new(100);
        c.push(b"hello ");
        c.push(b"world");
        let out = c.finish();
        assert_eq!(out.text, "hello world");
        assert_eq!(out.total_bytes, 11);
        assert!(!out.truncated);
    }

    #[test]
    fn exactly_cap_bytes_is_not_truncated() {
        let mut c = Capper::new(10);
        for b in b"0123456789" {
            c.push(&[*b]);
        }
        let out = c.finish();
        assert_eq!(out.text, "0123456789");
        assert!(!out.truncated);
    }

    #[test]
    fn large_output_keeps_head_and_tail_with_marker() {
        let mut c = Capper::new(10);
        c.push(b"HEAD");
        c.push(&vec![b'x'; 5_000]);
        c.push(b"mid");
        c.push(b"TAIL!");
        let out = c.finish();
        assert!(out.truncated);
        assert_eq!(out.total_bytes, 5_012);
        assert_eq!(out.text, "HEADx\n[... 5.0 kB cut ...]\nTAIL!");
    }

    #[test]
    fn one_huge_chunk_is_capped() {
        let mut c = Capper::new(8);
        let data: Vec<u8> = (0..=255u8).cycle().take(50_000_000).collect();
        c.push(&data);
        let out = c.finish();
        assert!(out.truncated);
        assert_eq!(out.total_bytes, 50_000_000);
        assert!(out.text.contains("[... 50.0 MB cut ...]"));
        assert!(out.text.len() < 100);
    }

    #[test]
    fn cut_does_not_split_characters() {
        let mut c = Capper::new(6);
        c.push("ééééééééé".as_bytes()); // 18 bytes, 2 per char
        c.push("a€".as_bytes()); // tail would start inside the euro sign
        let out = c.finish();
        assert!(!out.text.contains('\u{FFFD}'), "{:?}", out.text);
        assert!(out.text.starts_with("é\n[... "), "{:?}", out.text);
        assert!(out.text.ends_with("\n€"), "{:?}", out.text);
    }

    #[test]
    fn invalid_utf8_is_lossy_not_fatal() {
        let mut c = Capper::new(1000);
        c.push(&(0..=255u8).collect::<Vec<_>>());
        let out = c.finish();
        assert_eq!(out.total_bytes, 256);
        assert!(out.text.contains('\u{FFFD}'));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(5), "5 bytes");
        assert_eq!(human_bytes(1_500), "1.5 kB");
        assert_eq!(human_bytes(49_900_000), "49.9 MB");
        assert_eq!(human_bytes(2_000_000_000), "2.0 GB");
    }

    #[test]
    fn forwarding_stops_after_ten_times_the_cap_with_one_notice() {
        let mut seen: Vec<(OutputStream, Vec<u8>)> = Vec::new();
        let mut cb = |s: OutputStream, b: &[u8]| seen.push((s, b.to_vec()));
        let mut sink = Sink::new(10, &mut cb);
        for _ in 0..30 {
            sink.push(OutputStream::Stdout, b"0123456");
        }
        let out = sink.capper.finish();
        assert_eq!(out.total_bytes, 210);
        let forwarded: usize = seen
            .iter()
            .filter(|(s, _)| *s == OutputStream::Stdout)
            .map(|(_, b)| b.len())
            .sum();
        assert_eq!(forwarded, 100);
        let notices: Vec<_> = seen
            .iter()
            .filter(|(s, _)| *s == OutputStream::Stderr)
            .collect();
        assert_eq!(notices.len(), 1);
        assert!(String::from_utf8_lossy(&notices[0].1).contains("not shown"));
    }
}

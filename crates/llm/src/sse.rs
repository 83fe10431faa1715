//! A small incremental Server-Sent-Events parser (the subset chat APIs use).
//!
//! Bytes go in as they arrive; complete events come out. Lines end in LF,
//! CRLF or CR (a CRLF split across two reads is handled). Lines are decoded as
//! UTF-8 only once complete, so reads may split characters anywhere.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Longest line accepted (a guard against a server that never sends `\n`).
const MAX_LINE: usize = 16 * 1024 * 1024;

#[derive(Debug, Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    after_cr: bool,
    data: String,
    has_data: bool,
    event: Option<String>,
}

impl SseParser {
    /// Feeds bytes; pushes every event completed by them.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), String> {
        for &b in bytes {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' => self.end_line(out)?,
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(out)?;
                }
                _ => {
                    if self.line.len() >= MAX_LINE {
                        return Err("an SSE line exceeds 16 MiB".into());
                    }
                    self.line.push(b);
                }
            }
        }
        Ok(())
    }

    /// At end of input: completes a last unterminated line and dispatches a
    /// pending event even without its blank line (lenient).
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) -> Result<(), String> {
        if !self.line.is_empty() {
            self.end_line(out)?;
        }
        self.dispatch(out);
        Ok(())
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) -> Result<(), String> {
        let raw = std::mem::take(&mut self.line);
        let line = String::from_utf8(raw).map_err(|_| "invalid UTF-8 in the event stream")?;
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if line.starts_with(':') {
            return Ok(()); // comment / keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_string()),
            _ => {} // id, retry, unknown: not used by chat APIs
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if self.has_data {
            out.push(SseEvent {
                event: self.event.take(),
                data: std::mem::take(&mut self.data),
            });
        }
        self.has_data = false;
        self.event = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(input: &[u8], cut: usize) -> Vec<SseEvent> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        let cut = cut.min(input.len());
        p.feed(&input[..cut], &mut out).unwrap();
        p.feed(&input[cut..], &mut out).unwrap();
        p.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let input = ": ping\r\n\r\ndata: {\"a\":\"é🦀\"}\r\n\r\nevent: error\ndata: x\ndata:y\n\n\rdata: [DONE]\r\r";
        let expected = vec![
            SseEvent {
                event: None,
                data: "{\"a\":\"é🦀\"}".into(),
            },
            SseEvent {
                event: Some("error".into()),
                data: "x\ny".into(),
            },
            SseEvent {
                event: None,
                data: "[DONE]".into(),
            },
        ];
        for cut in 0..=input.len() {
            assert_eq!(
                parse_in_pieces(input.as_bytes(), cut),
                expected,
                "cut {cut}"
            );
        }
    }

    #[test]
    fn final_event_without_blank_line_is_dispatched() {
        assert_eq!(
            parse_in_pieces(b"data: [DONE]", 3),
            vec![SseEvent {
                event: None,
                data: "[DONE]".into()
            }]
        );
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        assert!(p.feed(b"data: \xff\xfe\n", &mut out).is_err());
    }
}

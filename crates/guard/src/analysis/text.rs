//! Text helpers: normalisation before parsing, and the small decoders used to
//! look inside statically visible payloads (base64, hex, rot13/`tr`, printf
//! escapes).

/// Text with invisible characters removed, and a map back to the original.
pub(crate) struct Normalized<'a> {
    /// Borrowed when nothing had to be removed (the usual case).
    pub text: std::borrow::Cow<'a, str>,
    /// For each byte of `text`, its offset in the original (only when
    /// something was removed).
    map: Option<Vec<usize>>,
    pub removed_count: usize,
    /// Original byte offset of the first removed character.
    pub first_removed: Option<usize>,
}

impl Normalized<'_> {
    pub fn original_offset(&self, offset: usize) -> usize {
        match &self.map {
            None => offset,
            Some(map) => match map.get(offset) {
                Some(&o) => o,
                None => map.last().map(|&o| o + 1).unwrap_or(0),
            },
        }
    }
}

/// Zero-width, bidirectional-control and other invisible format characters.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{00AD}'
            | '\u{180E}'
            | '\u{061C}'
    )
}

/// Removes invisible characters (a leading BOM is removed silently).
pub(crate) fn normalize(code: &str) -> Normalized<'_> {
    // Every invisible character (and the BOM) is outside ASCII.
    if code.is_ascii() {
        return Normalized {
            text: std::borrow::Cow::Borrowed(code),
            map: None,
            removed_count: 0,
            first_removed: None,
        };
    }
    let bom = code.starts_with('\u{feff}');
    let body_start = if bom { '\u{feff}'.len_utf8() } else { 0 };
    if !code[body_start..].chars().any(is_invisible) && !bom {
        return Normalized {
            text: std::borrow::Cow::Borrowed(code),
            map: None,
            removed_count: 0,
            first_removed: None,
        };
    }
    let mut text = String::with_capacity(code.len());
    let mut map = Vec::with_capacity(code.len());
    let mut removed_count = 0;
    let mut first_removed = None;
    for (i, c) in code.char_indices() {
        if is_invisible(c) {
            if !(bom && i == 0) {
                removed_count += 1;
                first_removed.get_or_insert(i);
            }
            continue;
        }
        let len = c.len_utf8();
        text.push(c);
        for k in 0..len {
            map.push(i + k);
        }
    }
    Normalized {
        text: std::borrow::Cow::Owned(text),
        map: Some(map),
        removed_count,
        first_removed,
    }
}

/// Decodes standard or URL-safe base64, ignoring whitespace; `None` when the
/// input is not base64.
pub(crate) fn base64_decode(input: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut buf: u32 = 0;
    let mut bits = 0u32;
    let mut seen = 0usize;
    for c in input.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        seen += 1;
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    if seen < 2 {
        return None;
    }
    Some(out)
}

/// Decodes hex digits (whitespace ignored, optional `\x` / `0x` prefixes).
pub(crate) fn hex_decode(input: &str) -> Option<Vec<u8>> {
    let cleaned: String = input
        .replace("\\x", "")
        .replace("0x", "")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ',')
        .collect();
    if cleaned.is_empty() || !cleaned.len().is_multiple_of(2) {
        return None;
    }
    let bytes = cleaned.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 2);
    for pair in bytes.chunks(2) {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out.push((hi * 16 + lo) as u8);
    }
    Some(out)
}

/// Decoded bytes as text, if they are mostly printable (a script, not a blob).
pub(crate) fn printable(bytes: &[u8]) -> Option<String> {
    let s = String::from_utf8(bytes.to_vec()).ok()?;
    let bad = s
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .count();
    if s.trim().is_empty() || bad * 10 > s.len() {
        return None;
    }
    Some(s)
}

/// ROT13.
pub(crate) fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' => (((c as u8 - b'a') + 13) % 26 + b'a') as char,
            'A'..='Z' => (((c as u8 - b'A') + 13) % 26 + b'A') as char,
            _ => c,
        })
        .collect()
}

/// Expands a `tr` set like `a-zA-Z` (no classes).
fn tr_set(set: &str) -> Vec<char> {
    let chars: Vec<char> = set.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if i + 2 < chars.len() && chars[i + 1] == '-' && chars[i] <= chars[i + 2] {
            let (a, b) = (chars[i] as u32, chars[i + 2] as u32);
            if b - a > 1024 {
                return Vec::new();
            }
            out.extend((a..=b).filter_map(char::from_u32));
            i += 3;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// `tr SET1 SET2` applied to `s`; `None` for forms it does not model.
pub(crate) fn tr(s: &str, set1: &str, set2: &str) -> Option<String> {
    let a = tr_set(set1);
    let b = tr_set(set2);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    Some(
        s.chars()
            .map(|c| match a.iter().position(|&x| x == c) {
                Some(i) => *b.get(i).unwrap_or(b.last().unwrap_or(&c)),
                None => c,
            })
            .collect(),
    )
}

/// Interprets backslash escapes as `printf`/`echo -e`/`$'…'` do.
pub(crate) fn unescape_c(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut bytes: Vec<u8> = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let flush = |bytes: &mut Vec<u8>, out: &mut String| {
        if !bytes.is_empty() {
            out.push_str(&String::from_utf8_lossy(bytes));
            bytes.clear();
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 >= chars.len() {
            flush(&mut bytes, &mut out);
            out.push(c);
            i += 1;
            continue;
        }
        let n = chars[i + 1];
        i += 2;
        match n {
            'n' => bytes.push(b'\n'),
            't' => bytes.push(b'\t'),
            'r' => bytes.push(b'\r'),
            'a' => bytes.push(7),
            'b' => bytes.push(8),
            'e' | 'E' => bytes.push(27),
            'f' => bytes.push(12),
            'v' => bytes.push(11),
            '\\' => bytes.push(b'\\'),
            '\'' => bytes.push(b'\''),
            '"' => bytes.push(b'"'),
            'x' => {
                let mut v = 0u32;
                let mut k = 0;
                while k < 2 && i < chars.len() && chars[i].is_ascii_hexdigit() {
                    v = v * 16 + chars[i].to_digit(16).unwrap_or(0);
                    i += 1;
                    k += 1;
                }
                if k == 0 {
                    flush(&mut bytes, &mut out);
                    out.push_str("\\x");
                } else {
                    bytes.push(v as u8);
                }
            }
            '0'..='7' => {
                let mut v = n.to_digit(8).unwrap_or(0);
                let mut k = 1;
                while k < 4 && i < chars.len() && chars[i].is_digit(8) {
                    v = v * 8 + chars[i].to_digit(8).unwrap_or(0);
                    i += 1;
                    k += 1;
                }
                bytes.push((v & 0xff) as u8);
            }
            'u' | 'U' => {
                let max = if n == 'u' { 4 } else { 8 };
                let mut v = 0u32;
                let mut k = 0;
                while k < max && i < chars.len() && chars[i].is_ascii_hexdigit() {
                    v = v * 16 + chars[i].to_digit(16).unwrap_or(0);
                    i += 1;
                    k += 1;
                }
                flush(&mut bytes, &mut out);
                if let Some(ch) = char::from_u32(v) {
                    out.push(ch);
                }
            }
            other => {
                flush(&mut bytes, &mut out);
                out.push('\\');
                out.push(other);
            }
        }
    }
    flush(&mut bytes, &mut out);
    out
}

/// Quotes a word for a shell command line (used to re-assemble argv lists).
pub(crate) fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,~*".contains(c))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_roundtrip() {
        assert_eq!(base64_decode("cm0gLXJmIC8K").unwrap(), b"rm -rf /\n");
        assert_eq!(base64_decode("ZWNobyBoaQ==").unwrap(), b"echo hi");
        assert!(base64_decode("not base64!").is_none());
    }

    #[test]
    fn normalizes_invisible() {
        let n = normalize("r\u{200b}m -rf /");
        assert_eq!(n.text, "rm -rf /");
        assert_eq!(n.removed_count, 1);
        assert_eq!(n.original_offset(1), 4);
    }

    #[test]
    fn escapes_and_tr() {
        assert_eq!(unescape_c("\\x72\\x6d\\040x"), "rm x");
        assert_eq!(tr("ez znpuvar", "a-z", "n-za-m").unwrap(), "rm machine");
        assert_eq!(rot13("vzcbeg"), "import");
        assert_eq!(shell_quote("a b"), "'a b'");
    }
}

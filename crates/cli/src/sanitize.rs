//! Makes untrusted text safe to print on a terminal.
//!
//! Model text and program output must not be able to move the cursor, set the
//! title, write the clipboard or hide text. Until the full streaming sanitizer
//! lands (it will keep colours), this conservative version shows every control
//! character as a visible escape instead of sending it to the terminal. It
//! works character by character, so splitting input into chunks anywhere
//! gives the same result.

/// Returns `text` with every control and invisible formatting character
/// replaced by a visible escape; `\n` and `\t` pass.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\x1b' => out.push_str("\\x1b"),
            '\r' => out.push_str("\\r"),
            '\u{0}'..='\u{1f}' | '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            '\u{80}'..='\u{9f}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            // Bidi controls and zero-width characters can make text read differently
            // from what runs; show them.
            '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}' => out.push_str(&format!("<U+{:04X}>", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_made_visible() {
        assert_eq!(
            sanitize("a\x1b]52;c;ZXZpbA==\x07b"),
            "a\\x1b]52;c;ZXZpbA==\\x07b"
        );
        assert_eq!(sanitize("x\ry"), "x\\ry");
        assert_eq!(sanitize("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(sanitize("ab\u{202e}cd"), "ab<U+202E>cd");
        assert_eq!(sanitize("line\n\tindent"), "line\n\tindent");
    }

    #[test]
    fn no_control_character_survives() {
        let all: String = (0u32..0x250).filter_map(char::from_u32).collect();
        let s = sanitize(&all);
        assert!(
            !s.chars()
                .any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{202e}')
        );
    }
}

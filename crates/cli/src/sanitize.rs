//! Makes untrusted text safe to print on a terminal: the guard's sanitizer
//! (colours pass; every other escape, control, bidi and invisible character is
//! shown as a visible escape, never sent to the terminal).

pub use interlock_guard::sanitize::sanitize;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_made_visible_and_colours_pass() {
        let s = sanitize("a\x1b]52;c;ZXZpbA==\x07b");
        assert!(!s.contains('\x1b'), "{s:?}");
        assert!(s.contains("52;c;ZXZpbA=="));
        assert_eq!(sanitize("ab\u{202e}cd"), "ab<U+202E>cd");
        assert!(sanitize("\x1b[31mred\x1b[0m").contains("\x1b[31m"));
    }
}

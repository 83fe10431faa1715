//! Capping text that goes back to the model: keep the head and the tail, mark
//! the cut so the model knows something is missing.

/// Returns `text` unchanged when it has at most `max` characters; otherwise
/// keeps about 60% from the start and 40% from the end with a marker between
/// that says how much was left out. Works on characters, never splits one.
pub fn head_tail(text: &str, max: usize) -> String {
    let total = text.chars().count();
    if total <= max {
        return text.to_string();
    }
    let head_n = max * 6 / 10;
    let tail_n = max - head_n;
    let head: String = text.chars().take(head_n).collect();
    let tail: String = text.chars().skip(total - tail_n).collect();
    let cut = total - head_n - tail_n;
    format!("{head}\n[... {cut} characters cut by interlock (--max-output {max}) ...]\n{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_untouched() {
        assert_eq!(head_tail("abc", 3), "abc");
    }

    #[test]
    fn long_text_keeps_head_and_tail_with_marker() {
        let t: String = (0..1000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let out = head_tail(&t, 100);
        assert!(out.starts_with(&t[..60]));
        assert!(out.ends_with(&t[960..]));
        assert!(out.contains("[... 900 characters cut by interlock"));
    }

    #[test]
    fn multibyte_characters_are_not_split() {
        let t = "é".repeat(500);
        let out = head_tail(&t, 10);
        assert!(out.starts_with("éééééé\n"));
    }
}

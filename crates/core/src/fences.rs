//! Extraction of fenced code blocks from model text, for models without tool
//! calling (`--tool-mode markdown`).
//!
//! Only fences whose info string names a known language become runnable blocks;
//! untagged or unknown fences are reported so they can be shown, never run.

use interlock_protocol::Language;

/// One fenced block found in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The info string's first word, as written (may be empty).
    pub tag: String,
    /// The language it maps to, if it is one interlock runs.
    pub language: Option<Language>,
    pub code: String,
}

/// Finds every fenced block (``` or ~~~, three or more) in `text`.
///
/// An unterminated fence at the end of text is ignored: the model was cut off,
/// and half a program must not run.
pub fn extract(text: &str) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut open: Option<(char, usize, String, Vec<&str>)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut open {
            None => {
                if indent > 3 {
                    continue;
                }
                if let Some((ch, n)) = fence_run(trimmed) {
                    let info = trimmed[n..].trim();
                    // A backtick fence's info string may not contain backticks.
                    if ch == '`' && info.contains('`') {
                        continue;
                    }
                    let tag = info.split_whitespace().next().unwrap_or("").to_string();
                    open = Some((ch, n, tag, Vec::new()));
                }
            }
            Some((ch, n, tag, lines)) => {
                if let Some((c2, n2)) = fence_run(trimmed)
                    && c2 == *ch
                    && n2 >= *n
                    && trimmed[n2..].trim().is_empty()
                    && indent <= 3
                {
                    let tag = std::mem::take(tag);
                    let mut code = lines.join("\n");
                    if !code.is_empty() {
                        code.push('\n');
                    }
                    out.push(Fence {
                        language: Language::from_alias(&tag),
                        tag,
                        code,
                    });
                    open = None;
                } else {
                    lines.push(line);
                }
            }
        }
    }
    out
}

fn fence_run(s: &str) -> Option<(char, usize)> {
    let ch = s.chars().next()?;
    if ch != '`' && ch != '~' {
        return None;
    }
    let n = s.chars().take_while(|c| *c == ch).count();
    (n >= 3).then_some((ch, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_fences_map_to_languages() {
        let text = "Let me look.\n```python\nimport os\nprint(os.getcwd())\n```\nand\n```sh\nls -la\n```\n~~~js\nconsole.log(1)\n~~~\n";
        let f = extract(text);
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].language, Some(Language::Python));
        assert_eq!(f[0].code, "import os\nprint(os.getcwd())\n");
        assert_eq!(f[1].language, Some(Language::Shell));
        assert_eq!(f[2].language, Some(Language::Javascript));
    }

    #[test]
    fn untagged_and_unknown_fences_are_not_runnable() {
        let f = extract("```\nrm -rf /\n```\n```ruby\nputs 1\n```\n");
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].language, None);
        assert_eq!(f[0].tag, "");
        assert_eq!(f[1].language, None);
        assert_eq!(f[1].tag, "ruby");
    }

    #[test]
    fn unterminated_fence_is_ignored() {
        assert!(extract("```python\nprint(1)\n").is_empty());
    }

    #[test]
    fn longer_fence_contains_shorter_ones() {
        let f = extract("````bash\ncat <<'X'\n```\nX\n````\n");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, "cat <<'X'\n```\nX\n");
    }

    #[test]
    fn info_string_extra_words_are_ignored() {
        let f = extract("```python title=\"x\"\n1\n```");
        assert_eq!(f[0].language, Some(Language::Python));
    }
}

//! Code a model wrote in its reply text rather than passed in a tool call:
//! fenced code blocks (`--tool-mode markdown`, and in tools mode a reply
//! without tool calls), and tool calls written out as text.
//!
//! Only fences whose info string names a known language become runnable blocks;
//! untagged or unknown fences are reported so they can be shown, never run.
//! Whatever is found here is only *proposed*: it goes through the same guard,
//! approval and sandbox as a real tool call.

use interlock_protocol::{EXECUTE_TOOL, Language};
use serde_json::Value;

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

/// An `execute` call the model wrote as text: what a chat template produces
/// when the server does not turn it into a real tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextCall {
    /// As written (aliases are mapped by the caller).
    pub language: String,
    pub code: String,
}

/// Finds `execute` calls written as text, in the shapes chat templates use:
/// an object `{"name": "execute", "arguments": {...}}` (or `"parameters"`,
/// or OpenAI's `{"function": {...}}`), bare or inside `<tool_call>` tags, and
/// `functions.execute:` followed by the `{"language": .., "code": ..}`
/// arguments. Objects that are not such a call (a JSON example, a Python
/// dict) are skipped; arguments that do not parse are skipped too, since
/// the text may only be talking about a call.
pub fn text_tool_calls(text: &str) -> Vec<TextCall> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = text[i..].find('{') {
        let start = i + off;
        let Some(end) = object_end(&text[start..]).map(|n| start + n) else {
            i = start + 1;
            continue;
        };
        let found = interlock_llm::parse_json_lenient(&text[start..end])
            .and_then(|v| call_arguments(&v, &text[..start]))
            .and_then(|args| interlock_llm::parse_execute_arguments(&args).ok());
        match found {
            Some((language, code)) => {
                out.push(TextCall { language, code });
                i = end;
            }
            // Not a call itself, but one may be nested inside it.
            None => i = start + 1,
        }
    }
    out
}

/// The arguments text of a call object, or of a bare arguments object that
/// directly follows `functions.execute:` / `<tool_call>`.
fn call_arguments(v: &Value, before: &str) -> Option<String> {
    let obj = v.as_object()?;
    let func = match obj.get("function") {
        Some(f @ Value::Object(_)) => f,
        _ => v,
    };
    if func.get("name").and_then(Value::as_str) == Some(EXECUTE_TOOL) {
        let args = func.get("arguments").or_else(|| func.get("parameters"))?;
        return Some(match args {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    let before = before.trim_end();
    let announced = before.ends_with("functions.execute:")
        || before.ends_with("functions.execute")
        || before.ends_with("<tool_call>");
    (announced && obj.contains_key("code") && obj.contains_key("language")).then(|| v.to_string())
}

/// The length of the JSON object at the start of `s` (which starts with
/// `{`), by matching braces outside strings; None when it never closes.
fn object_end(s: &str) -> Option<usize> {
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for (i, c) in s.char_indices() {
        if in_str {
            match c {
                _ if esc => esc = false,
                '\\' => esc = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
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

    fn calls(text: &str) -> Vec<(String, String)> {
        text_tool_calls(text)
            .into_iter()
            .map(|c| (c.language, c.code))
            .collect()
    }

    #[test]
    fn tool_calls_written_as_text_are_found() {
        let want = vec![("python".to_string(), "print(1)\nprint(2)".to_string())];
        // Hermes / Qwen templates.
        assert_eq!(
            calls(
                "<tool_call>\n{\"name\": \"execute\", \"arguments\": {\"language\": \"python\", \"code\": \"print(1)\\nprint(2)\"}}\n</tool_call>"
            ),
            want
        );
        // llama-cpp-python's chatml-function-calling, with a raw newline in the code.
        assert_eq!(
            calls(
                "functions.execute:\n{\"language\": \"python\", \"code\": \"print(1)\nprint(2)\"}"
            ),
            want
        );
        // A bare object, arguments double-encoded, "parameters", OpenAI's shape.
        assert_eq!(
            calls(
                "Sure. {\"name\":\"execute\",\"arguments\":\"{\\\"language\\\":\\\"python\\\",\\\"code\\\":\\\"print(1)\\\\nprint(2)\\\"}\"}"
            ),
            want
        );
        assert_eq!(
            calls(
                "{\"name\": \"execute\", \"parameters\": {\"language\": \"shell\", \"code\": \"ls\"}}"
            ),
            vec![("shell".to_string(), "ls".to_string())]
        );
        assert_eq!(
            calls(
                "[{\"type\": \"function\", \"function\": {\"name\": \"execute\", \"arguments\": {\"language\": \"js\", \"code\": \"1\"}}}, {\"name\": \"execute\", \"arguments\": {\"language\": \"sh\", \"code\": \"2\"}}]"
            ),
            vec![
                ("js".to_string(), "1".to_string()),
                ("sh".to_string(), "2".to_string())
            ]
        );
    }

    #[test]
    fn other_json_is_not_a_call() {
        // Another tool's name, an unannounced arguments-like object, a dict
        // in code, braces in strings, and an object that never closes.
        for text in [
            "{\"name\": \"browse\", \"arguments\": {\"language\": \"python\", \"code\": \"1\"}}",
            "The arguments look like {\"language\": \"python\", \"code\": \"1\"}.",
            "d = {'a': 1}\nprint(\"}{\")",
            "{\"name\": \"execute\", \"arguments\": {\"language\": \"python\"}}",
            "functions.execute:\n{\"language\": \"python\", \"code\": \"1\"",
            "functions.execute:",
        ] {
            assert!(calls(text).is_empty(), "{text:?}");
        }
    }

    #[test]
    fn info_string_extra_words_are_ignored() {
        let f = extract("```python title=\"x\"\n1\n```");
        assert_eq!(f[0].language, Some(Language::Python));
    }
}

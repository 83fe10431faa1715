//! Parsing the arguments of an `execute` tool call.

use serde_json::Value;

/// What is wrong with an `execute` call's arguments. The message is written
/// to be sent back to the model so it can correct itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgumentsError {
    #[error("the arguments are not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the arguments must be a JSON object with \"language\" and \"code\", got {0}")]
    NotAnObject(&'static str),
    #[error("the arguments lack the required field \"{0}\"")]
    MissingField(&'static str),
    #[error("the field \"{field}\" must be a string, got {found}")]
    WrongType {
        field: &'static str,
        found: &'static str,
    },
}

/// Parses `{"language": "...", "code": "..."}` into `(language, code)`.
///
/// Tolerates what models commonly get slightly wrong: surrounding whitespace,
/// the object double-encoded as a JSON string, raw newlines/tabs inside
/// strings, extra fields. The language is returned as given (mapping aliases
/// is the caller's job).
pub fn parse_execute_arguments(args: &str) -> Result<(String, String), ArgumentsError> {
    let trimmed = args.trim();
    if trimmed.is_empty() {
        return Err(ArgumentsError::InvalidJson("they are empty".into()));
    }
    let mut value = parse_lenient(trimmed)?;
    if let Value::String(inner) = &value
        && inner.trim_start().starts_with('{')
    {
        value = parse_lenient(inner.trim())?;
    }
    let Value::Object(map) = value else {
        return Err(ArgumentsError::NotAnObject(type_name(&value)));
    };
    let field = |name: &'static str| -> Result<String, ArgumentsError> {
        match map.get(name) {
            None | Some(Value::Null) => Err(ArgumentsError::MissingField(name)),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(ArgumentsError::WrongType {
                field: name,
                found: type_name(other),
            }),
        }
    };
    Ok((field("language")?, field("code")?))
}

/// Parses JSON the way [`parse_execute_arguments`] does: raw newlines and
/// tabs inside strings (a common mistake of small models) are accepted.
/// For tool calls a model wrote as text rather than made.
pub fn parse_json_lenient(text: &str) -> Option<Value> {
    parse_lenient(text.trim()).ok()
}

fn parse_lenient(text: &str) -> Result<Value, ArgumentsError> {
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(first) => match escape_raw_controls(text) {
            Some(fixed) => serde_json::from_str(&fixed)
                .map_err(|_| ArgumentsError::InvalidJson(first.to_string())),
            None => Err(ArgumentsError::InvalidJson(first.to_string())),
        },
    }
}

/// Escapes raw control characters inside JSON strings (a common mistake of
/// small models: literal newlines in `code`). `None` if there were none.
fn escape_raw_controls(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 16);
    let (mut in_str, mut esc, mut changed) = (false, false, false);
    for c in text.chars() {
        if in_str && !esc && (c as u32) < 0x20 {
            changed = true;
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                _ => out.push_str(&format!("\\u{:04x}", c as u32)),
            }
            continue;
        }
        if in_str {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
        }
        out.push(c);
    }
    changed.then_some(out)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> (String, String) {
        parse_execute_arguments(s).unwrap()
    }

    #[test]
    fn valid_arguments() {
        assert_eq!(
            ok(r#"{"language":"python","code":"print(\"hi\")\n"}"#),
            ("python".into(), "print(\"hi\")\n".into())
        );
        assert_eq!(
            ok(r#"  {"code": "ls", "language": "shell", "extra": 1} "#),
            ("shell".into(), "ls".into())
        );
    }

    #[test]
    fn tolerates_double_encoding_and_raw_newlines() {
        assert_eq!(
            ok(r#""{\"language\":\"python\",\"code\":\"1\"}""#),
            ("python".into(), "1".into())
        );
        assert_eq!(
            ok("{\"language\":\"python\",\"code\":\"a = 1\nprint(a)\"}"),
            ("python".into(), "a = 1\nprint(a)".into())
        );
    }

    #[test]
    fn invalid_json() {
        for s in [
            "",
            "   ",
            "{",
            "{\"language\":\"python\",\"code\":\"x\"",
            "nope",
        ] {
            let e = parse_execute_arguments(s).unwrap_err();
            assert!(matches!(e, ArgumentsError::InvalidJson(_)), "{s:?}: {e:?}");
            assert!(e.to_string().contains("not valid JSON"));
        }
    }

    #[test]
    fn not_an_object() {
        assert_eq!(
            parse_execute_arguments("[1,2]").unwrap_err(),
            ArgumentsError::NotAnObject("an array")
        );
        assert_eq!(
            parse_execute_arguments("\"print(1)\"").unwrap_err(),
            ArgumentsError::NotAnObject("a string")
        );
    }

    #[test]
    fn missing_fields() {
        assert_eq!(
            parse_execute_arguments(r#"{"language":"python"}"#).unwrap_err(),
            ArgumentsError::MissingField("code")
        );
        assert_eq!(
            parse_execute_arguments(r#"{"code":"1","language":null}"#).unwrap_err(),
            ArgumentsError::MissingField("language")
        );
        let msg = parse_execute_arguments("{}").unwrap_err().to_string();
        assert!(msg.contains("\"language\""), "{msg}");
    }

    #[test]
    fn non_string_fields() {
        assert_eq!(
            parse_execute_arguments(r#"{"language":"python","code":42}"#).unwrap_err(),
            ArgumentsError::WrongType {
                field: "code",
                found: "a number"
            }
        );
        assert_eq!(
            parse_execute_arguments(r#"{"language":["python"],"code":"1"}"#).unwrap_err(),
            ArgumentsError::WrongType {
                field: "language",
                found: "an array"
            }
        );
    }
}

//! Context-window and cost helpers: pure functions, no I/O.
//!
//! * [`estimate_tokens`] — a cheap, tokenizer-free estimate;
//! * [`trim_to_window`] — fits a conversation into a window, shortening old
//!   tool outputs first and then dropping the oldest turns, never separating
//!   a tool call from its result;
//! * [`price_per_million`] / [`cost_usd`] — list prices of a few well-known
//!   models (the core may let the user extend or override them).

use interlock_protocol::{Message, Usage};

/// Tokens counted for each message's role and framing.
const MESSAGE_OVERHEAD: usize = 4;
/// Tokens counted for each tool call's framing (id, name, type).
const TOOL_CALL_OVERHEAD: usize = 8;
/// Characters kept at each end of a shortened tool output.
const KEEP_CHARS: usize = 300;

fn text_tokens(s: &str) -> usize {
    let (mut ascii, mut other) = (0usize, 0usize);
    for c in s.chars() {
        if c.is_ascii() {
            ascii += 1;
        } else {
            other += 1;
        }
    }
    ascii.div_ceil(4) + other
}

/// An estimate of the tokens a message costs in a request: one token per 4
/// ASCII characters (rounded up) plus one per non-ASCII character (accented
/// letters, CJK and emoji take about one token each), plus 4 for the role
/// and framing, plus each tool call's id, name and arguments the same way
/// and 8 for its framing. Real tokenizers differ by model; English prose is
/// close, code runs some 20 % over this. Leave margin in `reserve`.
pub fn estimate_tokens(message: &Message) -> usize {
    let mut n = MESSAGE_OVERHEAD + text_tokens(message.content());
    if let Message::Assistant { tool_calls, .. } = message {
        for c in tool_calls {
            n += TOOL_CALL_OVERHEAD
                + text_tokens(&c.id)
                + text_tokens(&c.name)
                + text_tokens(&c.arguments);
        }
    }
    n
}

/// The estimate for a whole conversation.
pub fn estimate_total(messages: &[Message]) -> usize {
    messages.iter().map(estimate_tokens).sum()
}

/// The result of [`trim_to_window`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trimmed {
    /// The conversation to send.
    pub messages: Vec<Message>,
    /// How many messages were left out.
    pub dropped: usize,
    /// How many tool outputs were shortened (head and tail kept).
    pub shortened: usize,
}

impl Trimmed {
    /// Whether anything was changed (worth telling the user).
    pub fn changed(&self) -> bool {
        self.dropped > 0 || self.shortened > 0
    }
}

/// Fits `messages` into `window - reserve` estimated tokens (`reserve` is
/// kept free for the reply).
///
/// What is kept: every `System` message, and the latest exchange (from the
/// last `User` message on). Within budget nothing changes. Otherwise, in
/// this order until it fits:
/// 1. tool outputs longer than ~700 characters are shortened to their first
///    and last 300 characters, oldest first — all but those after the last
///    assistant message (results the model has not seen yet);
/// 2. whole turns (a `User` message and the assistant messages and tool
///    results that follow it) are dropped, oldest first, so a tool result is
///    never left without the assistant message that called it, nor a call
///    without its result.
///
/// If even the system prompt and the latest exchange exceed the budget, they
/// are returned anyway (shortened where allowed): the caller decides whether
/// to send or to refuse.
pub fn trim_to_window(messages: &[Message], window: usize, reserve: usize) -> Trimmed {
    let budget = window.saturating_sub(reserve);
    let mut msgs: Vec<Message> = messages.to_vec();
    let mut total = estimate_total(&msgs);
    let mut shortened = 0;
    if total <= budget {
        return Trimmed {
            messages: msgs,
            dropped: 0,
            shortened,
        };
    }

    // 1. Shorten tool outputs the model has already answered, oldest first.
    let last_assistant = msgs
        .iter()
        .rposition(|m| matches!(m, Message::Assistant { .. }));
    let seen = last_assistant.map_or(0, |a| a + 1);
    for m in msgs.iter_mut().take(seen) {
        if total <= budget {
            break;
        }
        if let Message::Tool { content, .. } = m
            && let Some(short) = shorten(content)
        {
            let before = text_tokens(content);
            *content = short;
            total = total - before + text_tokens(content);
            shortened += 1;
        }
    }

    // 2. Drop the oldest turns before the latest exchange.
    let latest = msgs
        .iter()
        .rposition(|m| matches!(m, Message::User { .. }))
        .unwrap_or(0); // no user message: nothing is old enough to drop
    let mut keep = vec![true; msgs.len()];
    let mut i = 0;
    while total > budget && i < latest {
        // A turn: from i up to (not including) the next User message.
        let end = (i + 1..latest)
            .find(|&j| matches!(msgs[j], Message::User { .. }))
            .unwrap_or(latest);
        for (j, k) in keep.iter_mut().enumerate().take(end).skip(i) {
            if !matches!(msgs[j], Message::System { .. }) && *k {
                *k = false;
                total -= estimate_tokens(&msgs[j]);
            }
        }
        i = end;
    }
    let before = msgs.len();
    let mut it = keep.into_iter();
    msgs.retain(|_| it.next().unwrap_or(true));
    Trimmed {
        dropped: before - msgs.len(),
        messages: msgs,
        shortened,
    }
}

/// Head and tail of a long output with a note in between; `None` when it is
/// short enough already.
fn shorten(content: &str) -> Option<String> {
    let n = content.chars().count();
    if n <= 2 * KEEP_CHARS + 100 {
        return None;
    }
    let head: String = content.chars().take(KEEP_CHARS).collect();
    let tail: String = content.chars().skip(n - KEEP_CHARS).collect();
    Some(format!(
        "{head}\n[... {} characters of output omitted to fit the context window ...]\n{tail}",
        n - 2 * KEEP_CHARS
    ))
}

/// List prices in USD per million tokens, (input, output), by model-name
/// prefix; the longest matching prefix wins. Approximate list prices at the
/// time of writing, without batch or cache discounts.
const PRICES: &[(&str, f64, f64)] = &[
    ("gpt-5-nano", 0.05, 0.40),
    ("gpt-5-mini", 0.25, 2.00),
    ("gpt-5", 1.25, 10.00),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4-turbo", 10.00, 30.00),
    ("gpt-3.5-turbo", 0.50, 1.50),
    ("o4-mini", 1.10, 4.40),
    ("o3-mini", 1.10, 4.40),
    ("o3", 2.00, 8.00),
    ("o1-mini", 1.10, 4.40),
    ("o1", 15.00, 60.00),
    ("claude-opus-4-5", 5.00, 25.00),
    ("claude-opus-4", 15.00, 75.00),
    ("claude-sonnet-4", 3.00, 15.00),
    ("claude-haiku-4-5", 1.00, 5.00),
    ("claude-3-7-sonnet", 3.00, 15.00),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-3-opus", 15.00, 75.00),
    ("claude-3-haiku", 0.25, 1.25),
];

/// `(input, output)` USD per million tokens for a well-known model, matched
/// by the longest known prefix of its name (case-insensitive; a
/// `provider/` prefix such as `openai/` is ignored, and dated versions such
/// as `gpt-4o-2024-08-06` match their family). `None` for unknown and local
/// models.
pub fn price_per_million(model: &str) -> Option<(f64, f64)> {
    let m = model.trim().to_ascii_lowercase();
    let m = m.rsplit('/').next().unwrap_or(&m);
    PRICES
        .iter()
        .filter(|(prefix, _, _)| {
            m.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '.', ':', '@']))
        })
        .max_by_key(|(prefix, _, _)| prefix.len())
        .map(|&(_, i, o)| (i, o))
}

/// The cost of `usage` at [`price_per_million`] prices; `None` for unknown
/// models.
pub fn cost_usd(model: &str, usage: &Usage) -> Option<f64> {
    let (input, output) = price_per_million(model)?;
    Some(
        (usage.prompt_tokens as f64 * input + usage.completion_tokens as f64 * output)
            / 1_000_000.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use interlock_protocol::ToolCall;

    fn sys() -> Message {
        Message::System {
            content: "You are helpful.".into(),
        }
    }
    fn user(s: &str) -> Message {
        Message::User { content: s.into() }
    }
    fn say(s: &str) -> Message {
        Message::Assistant {
            content: s.into(),
            tool_calls: vec![],
        }
    }
    fn call(id: &str) -> Message {
        Message::Assistant {
            content: String::new(),
            tool_calls: vec![ToolCall {
                id: id.into(),
                name: "execute".into(),
                arguments: r#"{"language":"python","code":"print(1)"}"#.into(),
            }],
        }
    }
    fn result(id: &str, out: &str) -> Message {
        Message::Tool {
            tool_call_id: id.into(),
            content: out.into(),
        }
    }

    /// Every tool result follows an assistant message that made its call,
    /// and every call has its result.
    fn assert_paired(msgs: &[Message]) {
        let mut open: Vec<String> = Vec::new();
        for m in msgs {
            match m {
                Message::Assistant { tool_calls, .. } => {
                    assert!(open.is_empty(), "calls without results: {open:?}");
                    open = tool_calls.iter().map(|c| c.id.clone()).collect();
                }
                Message::Tool { tool_call_id, .. } => {
                    let p = open.iter().position(|o| o == tool_call_id);
                    assert!(p.is_some(), "orphan result {tool_call_id}");
                    open.remove(p.unwrap());
                }
                _ => assert!(open.is_empty(), "calls without results: {open:?}"),
            }
        }
    }

    #[test]
    fn estimates() {
        assert_eq!(estimate_tokens(&user("")), 4);
        assert_eq!(estimate_tokens(&user("abcd")), 5);
        assert_eq!(estimate_tokens(&user("abcde")), 6);
        assert_eq!(estimate_tokens(&user("🦀é")), 6);
        let c = call("c1");
        let args = r#"{"language":"python","code":"print(1)"}"#.len();
        assert_eq!(estimate_tokens(&c), 4 + 8 + 1 + 2 + args.div_ceil(4));
        let long = "word ".repeat(1000);
        assert_eq!(estimate_tokens(&user(&long)), 4 + 1250);
    }

    #[test]
    fn within_budget_nothing_changes() {
        let msgs = vec![sys(), user("hi"), say("hello")];
        let t = trim_to_window(&msgs, 1000, 100);
        assert_eq!(t.messages, msgs);
        assert!(!t.changed());
    }

    #[test]
    fn old_tool_outputs_are_shortened_first() {
        let big = "x".repeat(5000);
        let msgs = vec![
            sys(),
            user("one"),
            call("c1"),
            result("c1", &big),
            say("done one"),
            user("two"),
            say("done two"),
        ];
        let full = estimate_total(&msgs);
        let t = trim_to_window(&msgs, full - 100, 0);
        assert_eq!(t.shortened, 1);
        assert_eq!(t.dropped, 0);
        assert_eq!(t.messages.len(), msgs.len());
        let Message::Tool { content, .. } = &t.messages[3] else {
            panic!()
        };
        assert!(
            content.contains("4400 characters of output omitted"),
            "{content}"
        );
        assert!(content.starts_with(&"x".repeat(300)));
        assert!(estimate_total(&t.messages) <= full - 100);
        assert_paired(&t.messages);
    }

    #[test]
    fn unseen_tool_results_are_not_shortened() {
        let big = "y".repeat(5000);
        let msgs = vec![sys(), user("go"), call("c1"), result("c1", &big)];
        let t = trim_to_window(&msgs, 100, 0);
        assert_eq!(t.messages, msgs, "latest exchange and unseen result kept");
        assert_eq!((t.dropped, t.shortened), (0, 0));
    }

    #[test]
    fn then_oldest_turns_are_dropped_whole() {
        let mut msgs = vec![sys()];
        for i in 0..10 {
            msgs.push(user(&format!("question {i} {}", "q".repeat(200))));
            msgs.push(call(&format!("c{i}")));
            msgs.push(result(&format!("c{i}"), &"o".repeat(200)));
            msgs.push(say(&format!("answer {i}")));
        }
        msgs.push(user("latest question"));
        let full = estimate_total(&msgs);
        let t = trim_to_window(&msgs, full / 2, 50);
        assert!(t.dropped > 0);
        assert_eq!(t.dropped % 4, 0, "whole turns only");
        assert_eq!(t.messages[0], sys());
        assert_eq!(t.messages.last(), Some(&user("latest question")));
        assert!(matches!(t.messages[1], Message::User { .. }));
        assert!(estimate_total(&t.messages) <= full / 2 - 50);
        assert_paired(&t.messages);
        // The newest turns are the ones kept.
        assert!(t.messages.contains(&say("answer 9")));
        assert!(!t.messages.contains(&say("answer 0")));
    }

    #[test]
    fn pairs_survive_every_window_size() {
        let mut msgs = vec![sys()];
        for i in 0..6 {
            msgs.push(user(&format!("u{i}")));
            msgs.push(say("thinking"));
            msgs.push(call(&format!("a{i}")));
            msgs.push(result(&format!("a{i}"), &"z".repeat(900 * (i + 1))));
            msgs.push(call(&format!("b{i}")));
            msgs.push(result(&format!("b{i}"), "ok"));
            msgs.push(say(&format!("done {i}")));
        }
        msgs.push(user("now"));
        msgs.push(call("last"));
        msgs.push(result("last", &"r".repeat(3000)));
        for window in (0..estimate_total(&msgs) + 50).step_by(97) {
            let t = trim_to_window(&msgs, window, 0);
            assert_paired(&t.messages);
            assert!(matches!(t.messages[0], Message::System { .. }));
            let n = t.messages.len();
            assert_eq!(&t.messages[n - 3..], &msgs[msgs.len() - 3..]);
            assert_eq!(t.dropped, msgs.len() - n);
        }
    }

    #[test]
    fn prices() {
        assert_eq!(price_per_million("gpt-4o"), Some((2.5, 10.0)));
        assert_eq!(
            price_per_million("gpt-4o-mini-2024-07-18"),
            Some((0.15, 0.6))
        );
        assert_eq!(price_per_million("GPT-4o-2024-08-06"), Some((2.5, 10.0)));
        assert_eq!(price_per_million("openai/gpt-4.1-mini"), Some((0.4, 1.6)));
        assert_eq!(
            price_per_million("claude-sonnet-4-20250514"),
            Some((3.0, 15.0))
        );
        assert_eq!(price_per_million("claude-opus-4-5"), Some((5.0, 25.0)));
        assert_eq!(
            price_per_million("claude-opus-4-1-20250805"),
            Some((15.0, 75.0))
        );
        assert_eq!(price_per_million("o3"), Some((2.0, 8.0)));
        assert_eq!(price_per_million("o3x"), None);
        assert_eq!(price_per_million("llama3.2:latest"), None);
        assert_eq!(price_per_million("smollm2"), None);
        let u = Usage {
            prompt_tokens: 1_000_000,
            completion_tokens: 500_000,
        };
        assert_eq!(cost_usd("gpt-4o", &u), Some(2.5 + 5.0));
        assert_eq!(cost_usd("local-model", &u), None);
    }
}

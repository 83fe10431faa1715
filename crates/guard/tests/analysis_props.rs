//! Property tests: the analyser never panics, whatever the input.

use interlock_guard::analysis::{Risk, Rules, analyze, analyze_with};
use interlock_protocol::Language;
use proptest::prelude::*;

fn corpus_blocks() -> Vec<String> {
    let dir = format!("{}/tests/corpus", env!("CARGO_MANIFEST_DIR"));
    let mut blocks = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).expect("corpus file");
        for block in text.split("\n@@@ ") {
            let body = block.split_once('\n').map(|x| x.1).unwrap_or("");
            blocks.push(body.to_string());
        }
    }
    blocks
}

fn language() -> impl Strategy<Value = Language> {
    prop_oneof![
        Just(Language::Shell),
        Just(Language::Python),
        Just(Language::Javascript)
    ]
}

/// Characters that matter to the parsers and the normaliser.
fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        any::<char>(),
        prop::sample::select(vec![
            '\'', '"', '`', '$', '(', ')', '{', '}', '[', ']', '\\', '|', '&', ';', '<', '>', '\n',
            '#', '=', '*', '~', '/', '\u{200b}', '\u{202e}', '\u{feff}', ' ', '-', '@', ':', '%',
        ]),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, char),
    Delete(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), interesting_char()).prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn apply(code: &str, muts: &[Mutation]) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    for m in muts {
        match *m {
            Mutation::Insert(i, c) => {
                let i = i % (chars.len() + 1);
                chars.insert(i, c);
            }
            Mutation::Delete(i) => {
                if !chars.is_empty() {
                    let i = i % chars.len();
                    chars.remove(i);
                }
            }
            Mutation::Duplicate(i, n) => {
                if !chars.is_empty() {
                    let i = i % chars.len();
                    let end = (i + n).min(chars.len());
                    let piece: Vec<char> = chars[i..end].to_vec();
                    for (k, c) in piece.into_iter().enumerate() {
                        chars.insert(end + k, c);
                    }
                }
            }
        }
    }
    chars.into_iter().collect()
}

fn check(lang: Language, code: &str) {
    let r = analyze(lang, code);
    // The report is consistent: risk is the max of the findings.
    let max = r
        .findings
        .iter()
        .map(|f| f.risk)
        .max()
        .unwrap_or(Risk::None);
    assert_eq!(r.risk, max);
    for f in &r.findings {
        assert!(f.span.start_line >= 1 && f.span.start_col >= 1);
        assert!(!f.message.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_strings(lang in language(), code in ".{0,300}") {
        check(lang, &code);
    }

    #[test]
    fn never_panics_on_interesting_characters(
        lang in language(),
        code in prop::collection::vec(interesting_char(), 0..200),
    ) {
        let code: String = code.into_iter().collect();
        check(lang, &code);
    }

    #[test]
    fn never_panics_on_mutated_corpus_blocks(
        idx in any::<usize>(),
        lang in language(),
        muts in prop::collection::vec(mutation(), 1..8),
    ) {
        let blocks = corpus_blocks();
        let code = apply(&blocks[idx % blocks.len()], &muts);
        check(lang, &code);
        let rules = Rules {
            allow_commands: vec!["rm".into()],
            deny_commands: vec!["curl".into()],
            deny_paths: vec!["~/.ssh".into()],
        };
        let _ = analyze_with(lang, &code, &rules);
    }
}

#[test]
fn deep_nesting_terminates() {
    let mut code = "rm -rf /".to_string();
    for _ in 0..10 {
        code = format!("bash -c {}", shell_words_quote(&code));
    }
    let r = analyze(Language::Shell, &code);
    assert!(r.risk >= Risk::Medium);
    let deep = "(".repeat(5000);
    let _ = analyze(Language::Shell, &deep);
    let _ = analyze(Language::Python, &"[".repeat(5000));
    let _ = analyze(Language::Javascript, &"{".repeat(5000));
}

fn shell_words_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

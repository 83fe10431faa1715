//! Terminal sanitizer: hostile sequences of every class are neutralised and
//! shown visibly (also when split across chunks at every position); benign
//! text passes intact; a property test checks that no control character other
//! than `\n`, `\t` and the ESC of a well-formed SGR sequence ever comes out.

use interlock_guard::sanitize::{Sanitizer, sanitize, sanitize_bytes};
use proptest::prelude::*;

/// `(class, input, a visible marker the output must contain)`.
const HOSTILE: &[(&str, &[u8], &str)] = &[
    ("osc52 clipboard bel", b"a\x1b]52;c;ZWNobyBwd25lZA==\x07b", "\\x1b]52;c;ZWNobyBwd25lZA==\\x07"),
    ("osc52 clipboard st", b"a\x1b]52;c;ZWNobyBwd25lZA==\x1b\\b", "\\x1b]52;c;ZWNobyBwd25lZA==\\x1b\\"),
    ("osc8 hyperlink", b"\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\", "\\x1b]8;;https://evil.example/"),
    ("osc0 title", b"\x1b]0;sudo rm -rf ~\x07", "\\x1b]0;sudo rm -rf ~\\x07"),
    ("osc2 title", b"\x1b]2;pwned\x1b\\", "\\x1b]2;pwned"),
    ("osc4 palette", b"\x1b]4;1;rgb:ff/00/00\x07", "\\x1b]4;1;rgb:ff/00/00"),
    ("osc 1337 iterm", b"\x1b]1337;File=name=eA==;inline=1:AAAA\x07", "\\x1b]1337;File="),
    ("dcs decrqss", b"\x1bP$qm\x1b\\", "\\x1bP$qm\\x1b\\"),
    ("dcs tmux passthrough", b"\x1bPtmux;\x1b\x1b]52;c;eA==\x07\x1b\\", "\\x1bPtmux;"),
    ("dcs sixel", b"\x1bPq#0;2;0;0;0#1;2;100;100;0#1~~@@vv@@~~\x1b\\", "\\x1bPq#0;2;0;0;0"),
    ("apc", b"\x1b_Gf=24,s=10,v=20;AAAA\x1b\\", "\\x1b_Gf=24,s=10,v=20;AAAA\\x1b\\"),
    ("pm", b"\x1b^privacy message\x1b\\", "\\x1b^privacy message"),
    ("sos", b"\x1bXstart of string\x1b\\", "\\x1bXstart of string"),
    ("cursor up", b"done\x1b[1Aoverwrite", "\\x1b[1A"),
    ("cursor position", b"\x1b[10;20H", "\\x1b[10;20H"),
    ("cursor save restore", b"\x1b7x\x1b8", "\\x1b7"),
    ("erase display", b"\x1b[2J\x1b[3J", "\\x1b[2J"),
    ("erase line", b"secret\x1b[2K\x1b[1Gok", "\\x1b[2K"),
    ("scroll region", b"\x1b[1;5r", "\\x1b[1;5r"),
    ("insert delete", b"\x1b[5P\x1b[3@", "\\x1b[5P"),
    ("bracketed paste end", b"\x1b[201~rm -rf ~\n", "\\x1b[201~"),
    ("bracketed paste mode", b"\x1b[?2004l", "\\x1b[?2004l"),
    ("alt screen", b"\x1b[?1049h", "\\x1b[?1049h"),
    ("hide cursor", b"\x1b[?25l", "\\x1b[?25l"),
    ("mouse reporting", b"\x1b[?1000h\x1b[?1006h", "\\x1b[?1000h"),
    ("keypad mode", b"\x1b=\x1b>", "\\x1b="),
    ("modify other keys", b"\x1b[>4;2m", "\\x1b[>4;2m"),
    ("device status report", b"\x1b[6n", "\\x1b[6n"),
    ("device attributes", b"\x1b[c\x1b[>c", "\\x1b[c"),
    ("window ops report", b"\x1b[21t\x1b[14t", "\\x1b[21t"),
    ("window resize", b"\x1b[8;100;100t", "\\x1b[8;100;100t"),
    ("decrqm", b"\x1b[?2004$p", "\\x1b[?2004$p"),
    ("reset", b"\x1bc", "\\x1bc"),
    ("index reverse index", b"\x1bD\x1bM\x1bE", "\\x1bM"),
    ("charset g0 dec graphics", b"\x1b(0lqk\x1b(B", "\\x1b(0"),
    ("sgr conceal", b"\x1b[8mhidden\x1b[0m", "\\x1b[8m"),
    ("sgr with private marker", b"\x1b[?1m", "\\x1b[?1m"),
    ("csi ignored", b"\x1b[1;2<5xtail", "\\x1b[1;2<5x"),
    ("esc esc", b"\x1b\x1b[2J", "\\x1b\\x1b[2J"),
    ("bel", b"ding\x07dong", "\\x07"),
    ("backspace", b"password\x08\x08\x08\x08\x08\x08\x08\x08********", "\\b"),
    ("carriage return", b"rm -rf /\rls -la   ", "\\r"),
    ("vertical tab form feed", b"a\x0bb\x0cc", "\\x0b"),
    ("nul", b"a\x00b", "\\x00"),
    ("shift out", b"\x0eabc\x0f", "\\x0e"),
    ("del", b"a\x7fb", "\\x7f"),
    ("can sub", b"\x1b[31\x18x", "\\x18"),
    ("c1 csi utf8", "\u{9b}2J".as_bytes(), "\\u{9b}"),
    ("c1 osc utf8", "\u{9d}52;c;eA==\u{9c}".as_bytes(), "\\u{9d}"),
    ("c1 dcs utf8", "\u{90}q\u{9c}".as_bytes(), "\\u{90}"),
    ("c1 nel ind ri", "a\u{85}b\u{84}c\u{8d}".as_bytes(), "\\u{8d}"),
    ("c1 raw bytes", b"a\x9b2Jb", "\u{FFFD}"),
    ("bidi rlo", "access \u{202E}exe.txt".as_bytes(), "<U+202E>"),
    ("bidi isolates", "if x \u{2066}\u{2069} admin".as_bytes(), "<U+2066>"),
    ("bidi marks", "a\u{200F}b\u{200E}c\u{061C}".as_bytes(), "<U+200F>"),
    ("zero width space", "pay\u{200B}pal".as_bytes(), "<U+200B>"),
    ("zwj in ascii word", "ad\u{200D}min".as_bytes(), "<U+200D>"),
    ("zwnj in ascii word", "ad\u{200C}min".as_bytes(), "<U+200C>"),
    ("word joiner", "a\u{2060}b".as_bytes(), "<U+2060>"),
    ("bom", "\u{FEFF}text".as_bytes(), "<U+FEFF>"),
    ("soft hyphen", "pass\u{AD}word".as_bytes(), "<U+00AD>"),
    ("tag characters", "hi\u{E0041}\u{E0042}".as_bytes(), "<U+E0041>"),
    ("line separator", "a\u{2028}b".as_bytes(), "<U+2028>"),
    ("hangul filler", "a\u{3164}b".as_bytes(), "<U+3164>"),
    ("variation selector smuggling", "😀\u{FE0F}\u{E0100}\u{E0101}".as_bytes(), "<U+E0100>"),
    ("invalid utf8", b"ok\xff\xfe\xc3(", "\u{FFFD}"),
    ("truncated utf8 at end", b"ok\xe2\x82", "\u{FFFD}"),
    ("long osc", b"\x1b]52;c;AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x07", "bytes)"),
    ("unterminated osc", b"\x1b]52;c;ZXZpbA==", "\\x1b]52;c;ZXZpbA=="),
];

/// Benign text: must come out byte-for-byte identical.
const BENIGN: &[(&str, &str)] = &[
    ("ascii", "hello, world\n\tindented\n"),
    ("sgr colours", "\x1b[1;31merror\x1b[0m: \x1b[32mok\x1b[m\n"),
    (
        "sgr 256 and truecolor",
        "\x1b[38;5;208morange\x1b[0m \x1b[38;2;10;20;30mrgb\x1b[0m \x1b[48;5;8mgrey bg\x1b[0m",
    ),
    (
        "sgr colon subparams",
        "\x1b[4:3mcurly\x1b[0m \x1b[38:2::255:0:0mred\x1b[0m",
    ),
    (
        "emoji zwj family",
        "family: 👨\u{200D}👩\u{200D}👧\u{200D}👦 done",
    ),
    ("emoji zwj profession", "dev: 👩🏽\u{200D}💻 and 🏳️\u{200D}🌈"),
    ("emoji vs16", "❤\u{FE0F} ☀\u{FE0F} ✔\u{FE0F}"),
    ("flags", "🇩🇪 🇯🇵 🇧🇷"),
    ("arabic", "مرحبا بالعالم — السلام عليكم"),
    ("hebrew", "שלום עולם, מה שלומך?"),
    ("persian zwnj", "می\u{200C}خواهم"),
    ("devanagari", "नमस्ते दुनिया क्षत्रिय"),
    (
        "combining accents",
        "e\u{301}te\u{301} cafe\u{301} n\u{303} Z\u{327}\u{30C}",
    ),
    ("cjk", "你好，世界。こんにちは 안녕하세요"),
    ("math and symbols", "∀x ∈ ℝ: x² ≥ 0 → √x² = |x|; ≤ ≠ ∞ ±"),
    ("box drawing", "┌──┐\n│ok│\n└──┘"),
    ("crlf", "line one\nline two\n"),
];

fn sanitize_chunks(chunks: &[&[u8]]) -> String {
    let mut s = Sanitizer::new();
    let mut out = String::new();
    for c in chunks {
        out.push_str(&s.push(c));
    }
    out.push_str(&s.finish());
    out
}

/// No control character except `\n`, `\t` and the ESC of `ESC [ [0-9;:]* m`;
/// no C1 controls; no bidi or zero-width characters outside emoji/joining.
fn assert_safe(out: &str, ctx: &str) {
    let b = out.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == 0x1b {
            let mut j = i + 1;
            assert!(j < b.len() && b[j] == b'[', "{ctx}: bare ESC in {out:?}");
            j += 1;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b';' || b[j] == b':') {
                j += 1;
            }
            assert!(j < b.len() && b[j] == b'm', "{ctx}: non-SGR CSI in {out:?}");
            i = j + 1;
            continue;
        }
        assert!(
            c >= 0x20 && c != 0x7f || c == b'\n' || c == b'\t',
            "{ctx}: control byte {c:#04x} in {out:?}"
        );
        i += 1;
    }
    for ch in out.chars() {
        assert!(
            !('\u{80}'..='\u{9f}').contains(&ch),
            "{ctx}: C1 {ch:?} in {out:?}"
        );
        assert!(
            !matches!(ch, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}'),
            "{ctx}: invisible {ch:?} in {out:?}"
        );
    }
}

#[test]
fn hostile_sequences_are_neutralised_and_visible() {
    for (name, input, marker) in HOSTILE {
        let out = sanitize_bytes(input);
        assert_safe(&out, name);
        assert!(
            out.contains(marker),
            "{name}: expected {marker:?} in {out:?}"
        );
    }
}

#[test]
fn hostile_sequences_split_at_every_position() {
    for (name, input, marker) in HOSTILE {
        let whole = sanitize_bytes(input);
        for cut in 0..=input.len() {
            let out = sanitize_chunks(&[&input[..cut], &input[cut..]]);
            assert_eq!(out, whole, "{name}: split at {cut}");
            assert!(out.contains(marker), "{name}: split at {cut}");
        }
        // And byte by byte.
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(sanitize_chunks(&bytes), whole, "{name}: byte by byte");
    }
}

#[test]
fn benign_text_is_intact() {
    for (name, input) in BENIGN {
        let out = sanitize(input);
        let colour_left_on = input.rfind("\x1b[").is_some_and(|i| {
            !input[i..].starts_with("\x1b[0m") && !input[i..].starts_with("\x1b[m")
        });
        let expected = if colour_left_on {
            format!("{input}\x1b[0m")
        } else {
            input.to_string()
        };
        assert_eq!(out, expected, "{name}");
        for cut in 0..=input.len() {
            let out = sanitize_chunks(&[&input.as_bytes()[..cut], &input.as_bytes()[cut..]]);
            assert_eq!(out, expected, "{name}: split at {cut}");
        }
    }
}

#[test]
fn specific_renderings() {
    assert_eq!(
        sanitize("a\x1b]52;c;ZXZpbA==\x07b"),
        "a\\x1b]52;c;ZXZpbA==\\x07b"
    );
    assert_eq!(sanitize("x\r\ny"), "x\ny");
    assert_eq!(sanitize("50%\r100%\n"), "50%\\r100%\n");
    assert_eq!(sanitize("ab\x08c"), "ab\\bc");
    assert_eq!(sanitize("\u{9b}2J"), "\\u{9b}2J");
    assert_eq!(sanitize("ab\u{202e}cd"), "ab<U+202E>cd");
    assert_eq!(sanitize("\x1b[201~"), "\\x1b[201~");
    assert_eq!(sanitize_bytes(b"a\xffb"), "a\u{FFFD}b");
    // A colour left on is reset at the end.
    assert_eq!(sanitize("\x1b[31mred"), "\x1b[31mred\x1b[0m");
    // ZWJ at the very end has nothing to join.
    assert_eq!(sanitize("👩\u{200D}"), "👩<U+200D>");
    // Overlong sequences are elided but counted.
    let long = format!("\x1b]52;c;{}\x07", "A".repeat(1000));
    let out = sanitize(&long);
    assert!(out.starts_with("\\x1b]52;c;AAAA"), "{out}");
    assert!(out.ends_with("…(+752 bytes)"), "{out}");
    // A sequence that never ends is abandoned; what follows is text.
    let open = format!("\x1b]52;c;{}", "B".repeat(10_000));
    let out = sanitize(&open);
    assert!(out.contains("…(+3840 bytes)"), "{}", &out[..400]);
    assert!(out.ends_with(&"B".repeat(5911)));
}

#[test]
fn streaming_keeps_state_across_chunks() {
    let mut s = Sanitizer::new();
    let mut out = s.push(b"\x1b]5");
    out += &s.push(b"2;c;eA");
    out += &s.push(b"==\x07after \x1b[3");
    out += &s.push(b"2mgreen\x1b[0m \xe2\x9c");
    out += &s.push(b"\x94");
    out += &s.finish();
    assert_eq!(out, "\\x1b]52;c;eA==\\x07after \x1b[32mgreen\x1b[0m ✔");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn output_has_no_dangerous_controls(
        input in proptest::collection::vec(
            prop_oneof![
                any::<u8>(),
                Just(0x1bu8), Just(b'['), Just(b']'), Just(b';'), Just(b'm'), Just(0x07),
                Just(b'P'), Just(b'\\'), Just(b'\r'), Just(b'\n'), Just(0x9b), Just(0xc2),
            ],
            0..200,
        ),
        cut in 0usize..200,
    ) {
        let out = sanitize_bytes(&input);
        assert_safe(&out, "proptest");
        let cut = cut.min(input.len());
        let split = sanitize_chunks(&[&input[..cut], &input[cut..]]);
        prop_assert_eq!(split, out);
    }

    #[test]
    fn arbitrary_strings_are_safe(s in "\\PC*|[\\x00-\\x7f\u{80}-\u{9f}\u{200b}-\u{200f}\u{202a}-\u{202e}]{0,64}") {
        assert_safe(&sanitize(&s), "proptest str");
    }
}

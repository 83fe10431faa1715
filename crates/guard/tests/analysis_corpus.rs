//! The labelled corpus (tests/corpus/*.txt): recall on dangerous blocks and
//! false positives on benign blocks, per language and category, printed and
//! asserted.

use interlock_guard::analysis::{Risk, analyze};
use interlock_protocol::Language;
use std::collections::BTreeMap;

struct Block {
    category: String,
    min: Option<Risk>,
    max: Option<Risk>,
    code: String,
    line: usize,
}

fn load(name: &str) -> Vec<Block> {
    let path = format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut blocks: Vec<Block> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(header) = line.strip_prefix("@@@ ") {
            let mut parts = header.split_whitespace();
            let category = parts.next().expect("category").to_string();
            let mut b = Block {
                category,
                min: None,
                max: None,
                code: String::new(),
                line: i + 1,
            };
            for p in parts {
                let (k, v) = p.split_once('=').expect("key=value");
                let r = Risk::from_name(v).unwrap_or_else(|| panic!("bad risk {v}"));
                match k {
                    "min" => b.min = Some(r),
                    "max" => b.max = Some(r),
                    _ => panic!("bad key {k}"),
                }
            }
            blocks.push(b);
        } else if let Some(b) = blocks.last_mut() {
            b.code.push_str(line);
            b.code.push('\n');
        }
    }
    for b in &mut blocks {
        let trimmed = b.code.trim_end().to_string();
        b.code = trimmed + "\n";
    }
    blocks
}

const LANGS: [(Language, &str); 3] = [
    (Language::Shell, "shell"),
    (Language::Python, "python"),
    (Language::Javascript, "javascript"),
];

#[derive(Default)]
struct Tally {
    ok: usize,
    total: usize,
    misses: Vec<String>,
}

fn verbose() -> bool {
    std::env::var("CORPUS_VERBOSE").is_ok()
}

#[test]
fn dangerous_recall_per_category() {
    let mut all = 0;
    let mut failures = Vec::new();
    let mut total_ok = 0;
    for (lang, name) in LANGS {
        let blocks = load(&format!("{name}_dangerous.txt"));
        let mut per: BTreeMap<String, Tally> = BTreeMap::new();
        for b in &blocks {
            let report = analyze(lang, &b.code);
            let min = b.min.unwrap_or(Risk::High);
            let ok = report.risk >= min && b.max.is_none_or(|m| report.risk <= m);
            let t = per.entry(b.category.clone()).or_default();
            t.total += 1;
            if ok {
                t.ok += 1;
            } else {
                t.misses.push(format!(
                    "  line {}: expected >= {min}, got {}: {}",
                    b.line,
                    report.risk,
                    b.code.lines().next().unwrap_or("")
                ));
            }
            if verbose() {
                println!("--- {name}:{} [{}] -> {}", b.line, b.category, report.risk);
                for f in &report.findings {
                    println!("    {} {} {}", f.risk, f.rule, f.message);
                }
            }
        }
        for (cat, t) in &per {
            let pct = 100.0 * t.ok as f64 / t.total as f64;
            println!("{name}/{cat}: recall {}/{} = {pct:.0}%", t.ok, t.total);
            for m in &t.misses {
                println!("{m}");
            }
            all += t.total;
            total_ok += t.ok;
            if pct < 90.0 {
                failures.push(format!("{name}/{cat}: recall {pct:.0}% < 90%"));
            }
        }
    }
    println!(
        "dangerous overall: recall {total_ok}/{all} = {:.1}%",
        100.0 * total_ok as f64 / all as f64
    );
    assert!(all >= 150, "corpus must hold at least 150 dangerous blocks");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn benign_false_positives_per_category() {
    let mut all = 0;
    let mut all_fp = 0;
    let mut failures = Vec::new();
    for (lang, name) in LANGS {
        let blocks = load(&format!("{name}_benign.txt"));
        let mut per: BTreeMap<String, (usize, usize, usize, Vec<String>)> = BTreeMap::new();
        for b in &blocks {
            let report = analyze(lang, &b.code);
            let max = b.max.unwrap_or(Risk::Low);
            let e = per.entry(b.category.clone()).or_default();
            e.0 += 1;
            if report.risk > max {
                e.1 += 1;
                let why: Vec<String> = report
                    .findings_at_least(Risk::Medium)
                    .map(|f| format!("{} ({})", f.rule, f.message))
                    .collect();
                e.3.push(format!(
                    "  FP line {}: expected <= {max}, got {}: {} -- {}",
                    b.line,
                    report.risk,
                    b.code.lines().next().unwrap_or(""),
                    why.join("; ")
                ));
            } else if b.min.is_some_and(|m| report.risk < m) {
                e.2 += 1;
                e.3.push(format!(
                    "  under-rated line {}: expected >= {}, got {}: {}",
                    b.line,
                    b.min.unwrap_or(Risk::None),
                    report.risk,
                    b.code.lines().next().unwrap_or("")
                ));
            }
            if verbose() {
                println!("--- {name}:{} [{}] -> {}", b.line, b.category, report.risk);
                for f in &report.findings {
                    println!("    {} {} {}", f.risk, f.rule, f.message);
                }
            }
        }
        for (cat, (total, fp, under, notes)) in &per {
            let pct = 100.0 * *fp as f64 / *total as f64;
            println!(
                "{name}/{cat}: false positives {fp}/{total} = {pct:.0}%, under-rated {under}/{total}"
            );
            for n in notes {
                println!("{n}");
            }
            all += total;
            all_fp += fp;
            if pct > 5.0 {
                failures.push(format!("{name}/{cat}: FP {pct:.0}% > 5%"));
            }
            if *under * 10 > *total {
                failures.push(format!("{name}/{cat}: under-rated {under}/{total} > 10%"));
            }
        }
    }
    println!(
        "benign overall: false positives {all_fp}/{all} = {:.1}%",
        100.0 * all_fp as f64 / all as f64
    );
    assert!(all >= 150, "corpus must hold at least 150 benign blocks");
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A second, smaller corpus written after the rules, never tuned against:
/// an honest estimate of how the rules generalise. Printed per language and
/// asserted loosely (overall).
#[test]
fn holdout_corpus() {
    let langs = |cat: &str| -> (Language, String) {
        let (l, c) = cat.split_once(':').expect("lang:category");
        let lang = match l {
            "shell" => Language::Shell,
            "python" => Language::Python,
            _ => Language::Javascript,
        };
        (lang, format!("{l}/{c}"))
    };
    let mut detected = 0;
    let mut total = 0;
    for b in load("holdout_dangerous.txt") {
        let (lang, cat) = langs(&b.category);
        let r = analyze(lang, &b.code);
        let min = b.min.unwrap_or(Risk::High);
        total += 1;
        if r.risk >= min {
            detected += 1;
        } else {
            println!(
                "holdout miss {cat} line {}: expected >= {min}, got {}: {}",
                b.line,
                r.risk,
                b.code.lines().next().unwrap_or("")
            );
        }
    }
    let mut fp = 0;
    let mut benign = 0;
    for b in load("holdout_benign.txt") {
        let (lang, cat) = langs(&b.category);
        let r = analyze(lang, &b.code);
        let max = b.max.unwrap_or(Risk::Low);
        benign += 1;
        if r.risk > max || b.min.is_some_and(|m| r.risk < m) {
            fp += 1;
            let why: Vec<String> = r
                .findings
                .iter()
                .map(|f| format!("{} {}", f.risk, f.message))
                .collect();
            println!(
                "holdout wrong {cat} line {}: expected {:?}..={max}, got {}: {} -- {}",
                b.line,
                b.min,
                r.risk,
                b.code.lines().next().unwrap_or(""),
                why.join("; ")
            );
        }
    }
    let recall = 100.0 * detected as f64 / total as f64;
    let fpr = 100.0 * fp as f64 / benign as f64;
    println!("holdout dangerous: recall {detected}/{total} = {recall:.0}%");
    println!("holdout benign: wrongly rated {fp}/{benign} = {fpr:.0}%");
    assert!(recall >= 85.0, "holdout recall {recall:.0}%");
    assert!(fpr <= 10.0, "holdout false positives {fpr:.0}%");
}

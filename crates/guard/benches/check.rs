//! `interlock check` as a library call: analysis of 100-line blocks.
//!
//! Run: `cargo bench -p interlock-guard --bench check`
//! Target: median ≤ 1 ms per 100-line block.

use criterion::{Criterion, criterion_group, criterion_main};
use interlock_guard::analysis::analyze;
use interlock_protocol::Language;
use std::hint::black_box;

/// Repeats `lines` until the block has exactly 100 lines.
fn block(lines: &[&str]) -> String {
    let mut out = String::new();
    for i in 0..100 {
        out.push_str(lines[i % lines.len()]);
        out.push('\n');
    }
    out
}

const SHELL: &[&str] = &[
    "set -euo pipefail",
    "cd \"$(git rev-parse --show-toplevel)\"",
    "git status --short | grep -v '^??' || true",
    "find . -name '*.tmp' -delete",
    "rm -rf build/ dist/",
    "mkdir -p out/plots && cp data/*.csv out/",
    "for f in data/*.csv; do wc -l \"$f\"; done",
    "curl -fsSL https://example.com/data.csv -o data/latest.csv",
    "pip install -r requirements.txt",
    "python3 -c 'import sys; print(sys.version)'",
    "du -sh * | sort -h | tail -5",
    "cat <<'EOF' > notes.md",
    "# Notes",
    "EOF",
    "export PATH=\"$HOME/.local/bin:$PATH\"",
    "tar czf backup.tar.gz data/ && ls -la backup.tar.gz",
    "grep -rn TODO src/ | wc -l",
    "if [ -f .env ]; then echo 'found env'; fi",
    "sudo apt-get install -y jq",
    "awk -F, '{ s += $3 } END { print s }' out/sales.csv",
];

const PYTHON: &[&str] = &[
    "import os",
    "import subprocess",
    "import pandas as pd",
    "import matplotlib.pyplot as plt",
    "df = pd.read_csv('data/sales.csv')",
    "summary = df.groupby('region')['revenue'].sum()",
    "print(summary.sort_values(ascending=False).head())",
    "fig, ax = plt.subplots(figsize=(8, 4))",
    "summary.plot(kind='bar', ax=ax)",
    "fig.savefig('out/revenue.png', dpi=150)",
    "sizes = {f: os.path.getsize(f) for f in os.listdir('.') if os.path.isfile(f)}",
    "for name, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:10]:",
    "    print(f'{size:>10} {name}')",
    "out = subprocess.run(['git', 'log', '-1'], capture_output=True, text=True)",
    "with open('out/report.txt', 'w') as fh:",
    "    fh.write(out.stdout)",
    "def normalise(values):",
    "    total = sum(values) or 1",
    "    return [v / total for v in values]",
    "print(normalise([1, 2, 3]))",
];

const JAVASCRIPT: &[&str] = &[
    "const fs = require('fs');",
    "const path = require('path');",
    "const { execSync } = require('child_process');",
    "const text = fs.readFileSync('data.txt', 'utf8');",
    "const lines = text.split('\\n').filter(Boolean);",
    "console.log(lines.length);",
    "const branch = execSync('git rev-parse --abbrev-ref HEAD').toString().trim();",
    "fs.writeFileSync(path.join('out', 'branch.txt'), branch);",
    "function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }",
    "console.log(fib(10));",
    "const counts = new Map();",
    "for (const l of lines) counts.set(l, (counts.get(l) || 0) + 1);",
    "fs.rmSync('dist', { recursive: true, force: true });",
    "const total = [1, 2, 3].reduce((a, b) => a + b, 0);",
    "console.log(`total: ${total}`);",
    "class Counter { constructor() { this.n = 0; } inc() { return ++this.n; } }",
    "const c = new Counter(); c.inc();",
    "const obj = JSON.parse('{\"a\": 1}');",
    "console.log(obj.a, c.n);",
    "process.on('exit', (code) => console.log('exit', code));",
];

fn bench(c: &mut Criterion) {
    let shell = block(SHELL);
    let python = block(PYTHON);
    let js = block(JAVASCRIPT);
    // Mixed: each language's block, as a user session would produce them.
    let mut g = c.benchmark_group("check_100_lines");
    g.bench_function("shell", |b| {
        b.iter(|| analyze(Language::Shell, black_box(&shell)))
    });
    g.bench_function("python", |b| {
        b.iter(|| analyze(Language::Python, black_box(&python)))
    });
    g.bench_function("javascript", |b| {
        b.iter(|| analyze(Language::Javascript, black_box(&js)))
    });
    g.finish();

    // Baseline: tree-sitter parsing alone (a fresh parser per call would cost
    // more; this reuses one like the analyser does).
    let mut g = c.benchmark_group("parse_only_100_lines");
    for (name, lang, code) in [
        (
            "shell",
            tree_sitter::Language::from(tree_sitter_bash::LANGUAGE),
            &shell,
        ),
        ("python", tree_sitter_python::LANGUAGE.into(), &python),
        ("javascript", tree_sitter_javascript::LANGUAGE.into(), &js),
    ] {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&lang).expect("grammar");
        g.bench_function(name, |b| {
            b.iter(|| parser.parse(black_box(code.as_str()), None))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

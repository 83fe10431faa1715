//! Runs `analyze` N times on one file, for counting instructions with
//! valgrind (stable where wall-clock benchmarks are too noisy; see
//! BENCHMARKS.md):
//!
//! ```sh
//! cargo build --release -p interlock-guard --example instr
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/instr py block.py 100   # minus the same with 0
//! ```

use interlock_guard::analysis::analyze;
use interlock_protocol::Language;
use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: instr sh|py|js FILE N");
        std::process::exit(2);
    }
    let language = match args[1].as_str() {
        "sh" => Language::Shell,
        "py" => Language::Python,
        "js" => Language::Javascript,
        other => {
            eprintln!("unknown language {other:?}: sh, py or js");
            std::process::exit(2);
        }
    };
    let code = std::fs::read_to_string(&args[2]).expect("readable file");
    let n: usize = args[3].parse().expect("a count");
    let mut findings = 0;
    for _ in 0..n {
        findings += black_box(analyze(language, black_box(&code)))
            .findings
            .len();
    }
    println!("{findings}");
}

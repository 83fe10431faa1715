//! Throughput of the text guards on a 10 MB mixed log (generated):
//! `cargo bench -p interlock-guard --bench text`.
//! Targets (issue 5): redaction ≥ 200 MB/s, sanitizer ≥ 200 MB/s.
//! `TEXT_BENCH_WRITE_LOG=FILE cargo bench -p interlock-guard --bench text`
//! only writes the generated log to FILE.
//! `TEXT_BENCH_REDACT_FILE=FILE` redacts FILE with the bench's redactor and
//! stops, so that an instruction profile (`valgrind --tool=callgrind`) covers
//! the scan without the CLI around it; `TEXT_BENCH_PASSES=N` redacts it N
//! times (the difference between 2 and 1 passes is the steady-state scan, with
//! the detector regexes already compiled, as in the timed benchmark).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use interlock_guard::redact::{Placeholders, Redactor, StreamRedactor};
use interlock_guard::sanitize::Sanitizer;

const SIZE: usize = 10 * 1024 * 1024;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn string(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";

/// A realistic mix: service logs, JSON, stack traces, build output with
/// colours, package lockfile lines, some non-ASCII text, and about one secret
/// per 200 lines.
fn mixed_log() -> String {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let mut s = String::with_capacity(SIZE + 4096);
    let mut line = 0usize;
    while s.len() < SIZE {
        line += 1;
        let l = match rng.below(20) {
            0..=5 => format!(
                "2024-03-05T12:{:02}:{:02}.{:06}Z INFO  http: GET /api/v1/users/{}/orders?page={} 200 OK {}ms\n",
                rng.below(60), rng.below(60), rng.below(999_999), rng.below(100_000), rng.below(50), rng.below(900)
            ),
            6 | 7 => format!(
                "{{\"ts\":{},\"level\":\"debug\",\"msg\":\"cache miss\",\"key\":\"user:{}:profile\",\"request_id\":\"{}-{}-4{}-a{}-{}\"}}\n",
                1_700_000_000 + rng.below(1_000_000), rng.below(100_000),
                rng.string(HEX, 8), rng.string(HEX, 4), rng.string(HEX, 3), rng.string(HEX, 3), rng.string(HEX, 12)
            ),
            8 => "    at com.example.orders.OrderService.process(OrderService.java:214)\n    at java.base/java.lang.Thread.run(Thread.java:833)\n".to_owned(),
            9 => format!("\x1b[1m\x1b[32m   Compiling\x1b[0m crate-{} v0.{}.{} (/home/dev/work/crate-{})\n", rng.below(300), rng.below(20), rng.below(10), rng.below(300)),
            10 => format!("\x1b[33mwarning\x1b[0m: unused variable: `x{}` --> src/lib.rs:{}:{}\n", rng.below(99), rng.below(999), rng.below(80)),
            11 => format!("  \"integrity\": \"sha512-{}==\",\n", rng.string(ALNUM, 86)),
            12 => format!("commit {}\nAuthor: Dev <dev@example.org>\n", rng.string(HEX, 40)),
            13 => "Grüße aus München — naïve café, 東京, مرحبا, 👩‍💻 déjà vu\n".to_owned(),
            14 => format!("def handler(event, context):\n    return {{\"statusCode\": 200, \"body\": json.dumps(result_{})}}\n", rng.below(99)),
            15 => format!("[{:>5}] tokens: prompt={} completion={} total={}\n", line, rng.below(4000), rng.below(2000), rng.below(6000)),
            _ => format!("{} {} the quick brown fox jumps over the lazy dog, iteration {} of {}\n", line, rng.below(1000), rng.below(1000), rng.below(1000)),
        };
        s.push_str(&l);
        if line.is_multiple_of(200) {
            let secret = match rng.below(5) {
                0 => format!("export GITHUB_TOKEN=ghp_{}\n", rng.string(ALNUM, 36)),
                1 => format!("OPENAI_API_KEY=sk-proj-{}\n", rng.string(ALNUM, 120)),
                2 => format!("aws_secret_access_key = {}\n", rng.string(ALNUM, 40)),
                3 => format!(
                    "DATABASE_URL=postgres://app:{}@db:5432/app\n",
                    rng.string(ALNUM, 16)
                ),
                _ => format!("Authorization: Bearer {}\n", rng.string(ALNUM, 40)),
            };
            s.push_str(&secret);
        }
    }
    s
}

fn bench(c: &mut Criterion) {
    let log = mixed_log();
    // `TEXT_BENCH_WRITE_LOG=FILE`: write the log and stop, so that the same
    // mix can be fed to `interlock redact` under an instruction counter
    // (`valgrind --tool=callgrind`) when the machine is too loaded to time.
    if let Some(path) = std::env::var_os("TEXT_BENCH_WRITE_LOG") {
        std::fs::write(&path, &log).expect("write the mixed log");
        return;
    }
    let mut redactor = Redactor::new();
    redactor.add_known_secret("OPENAI_API_KEY", "sk-known-value-0123456789abcdef");
    redactor.add_known_secret("DB_PASSWORD", "correct horse battery staple");
    if let Some(path) = std::env::var_os("TEXT_BENCH_REDACT_FILE") {
        let text = std::fs::read_to_string(&path).expect("read the file to redact");
        let passes: usize = std::env::var("TEXT_BENCH_PASSES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        for _ in 0..passes {
            black_box(redactor.redact(black_box(&text)));
        }
        return;
    }

    let mut g = c.benchmark_group("text");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(log.len() as u64));
    g.bench_function("redact_10MB", |b| {
        b.iter(|| black_box(redactor.redact(black_box(&log))))
    });
    g.bench_function("redact_stream_64KiB_chunks", |b| {
        b.iter(|| {
            let ph = Placeholders::new();
            let mut st = StreamRedactor::new(&redactor, &ph);
            let mut n = 0;
            let mut rest = log.as_str();
            while !rest.is_empty() {
                let mut cut = rest.len().min(64 * 1024);
                while !rest.is_char_boundary(cut) {
                    cut += 1;
                }
                n += st.push(&rest[..cut]).len();
                rest = &rest[cut..];
            }
            n += st.finish().len();
            black_box(n)
        })
    });
    g.bench_function("sanitize_10MB", |b| {
        b.iter(|| {
            let mut s = Sanitizer::new();
            let mut n = 0;
            for chunk in log.as_bytes().chunks(64 * 1024) {
                n += s.push(chunk).len();
            }
            n += s.finish().len();
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Warm round-trip latency per language: `cargo bench -p interlock-kernels --bench roundtrip`.
//! Runs N warm blocks per language and prints median and p90 in milliseconds.

use interlock_kernels::{
    CancellationToken, DirectBackend, ExecStatus, KernelConfig, Kernels, Language, OutputStream,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

const N: usize = 300;

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async {
        let dir = std::env::temp_dir();
        let config = KernelConfig {
            workspace: dir,
            ..KernelConfig::default()
        };
        let mut kernels = Kernels::new(config, Arc::new(DirectBackend));
        let cancel = CancellationToken::new();
        let available = Kernels::available();
        for (language, code) in [
            (Language::Python, "print(1)"),
            (Language::Shell, "echo hi"),
            (Language::Javascript, "console.log(1)"),
        ] {
            if !available.contains(&language) {
                println!("{language:<10} skipped (not on PATH)");
                continue;
            }
            let mut sink = |_: OutputStream, _: &[u8]| {};
            // Warm up: start the session and let the interpreter settle.
            for _ in 0..20 {
                kernels
                    .run(language, code, &cancel, &mut sink)
                    .await
                    .expect("run");
            }
            let mut times: Vec<Duration> = Vec::with_capacity(N);
            for _ in 0..N {
                let start = Instant::now();
                let out = kernels
                    .run(language, code, &cancel, &mut sink)
                    .await
                    .expect("run");
                times.push(start.elapsed());
                assert!(
                    out.status == ExecStatus::Ok && out.output.total_bytes > 0,
                    "{language}: {out:?}"
                );
            }
            times.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "{language:<10} {code:<16} n={N} median {:.3} ms  p90 {:.3} ms  max {:.3} ms",
                ms(times[N / 2]),
                ms(times[N * 9 / 10]),
                ms(times[N - 1]),
            );
        }
        kernels.shutdown().await;
    });
}

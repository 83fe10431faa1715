//! Helpers shared by the integration tests (real python3, bash and node).
#![allow(dead_code)]

pub use interlock_kernels::*;
use std::sync::Arc;
use std::time::Duration;

/// True if the interpreter is on PATH; otherwise prints why the test is skipped.
pub fn have(language: Language) -> bool {
    let ok = Kernels::available().contains(&language);
    if !ok {
        eprintln!("skipping: the {language} interpreter is not on PATH");
    }
    ok
}

/// A `Kernels` over a fresh temporary workspace, with `tweak` applied to the config.
pub fn kernels_with(tweak: impl FnOnce(&mut KernelConfig)) -> (Kernels, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = KernelConfig {
        workspace: dir.path().to_path_buf(),
        timeout: Duration::from_secs(20),
        ..KernelConfig::default()
    };
    tweak(&mut config);
    (Kernels::new(config, Arc::new(DirectBackend)), dir)
}

pub fn kernels() -> (Kernels, tempfile::TempDir) {
    kernels_with(|_| {})
}

/// One run's outcome plus every chunk passed to `on_output`.
#[derive(Debug)]
pub struct Ran {
    pub outcome: RunOutcome,
    pub chunks: Vec<(OutputStream, Vec<u8>)>,
}

impl Ran {
    pub fn text(&self) -> &str {
        &self.outcome.output.text
    }
    pub fn status(&self) -> ExecStatus {
        self.outcome.status.clone()
    }
    pub fn note(&self) -> &str {
        self.outcome.note.as_deref().unwrap_or("")
    }
    pub fn bytes(&self, stream: OutputStream) -> Vec<u8> {
        self.chunks
            .iter()
            .filter(|(s, _)| *s == stream)
            .flat_map(|(_, b)| b.iter().copied())
            .collect()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.bytes(OutputStream::Stdout)).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.bytes(OutputStream::Stderr)).into_owned()
    }
}

/// Runs a block with a generous overall guard (tests must never hang).
pub async fn run_with(
    k: &mut Kernels,
    language: Language,
    code: &str,
    cancel: &CancellationToken,
) -> Ran {
    let mut chunks = Vec::new();
    let mut cb = |s: OutputStream, b: &[u8]| chunks.push((s, b.to_vec()));
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        k.run(language, code, cancel, &mut cb),
    )
    .await
    .expect("run did not finish within 60 s")
    .expect("run failed");
    Ran { outcome, chunks }
}

pub async fn run(k: &mut Kernels, language: Language, code: &str) -> Ran {
    run_with(k, language, code, &CancellationToken::new()).await
}

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        }
        Err(_) => false,
    }
}

/// Waits up to 10 s for `pid` to be gone.
pub async fn gone(pid: i32) -> bool {
    for _ in 0..100 {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

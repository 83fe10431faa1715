//! Shared helpers: run the real `interlock` binary against the scripted server.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Env {
    pub dir: tempfile::TempDir,
}

/// Where test directories go: under `/var/tmp` (or `INTERLOCK_SANDBOX_TEST_TMP`,
/// which crates/sandbox/tests/run-as-user.sh sets), not `/tmp`. The sandbox
/// replaces `/tmp` with its own, so a secret planted under `/tmp` would be out
/// of reach whether or not hiding works, and a test of hiding would prove
/// nothing.
pub fn test_base() -> PathBuf {
    std::env::var_os("INTERLOCK_SANDBOX_TEST_TMP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp"))
}

impl Env {
    pub fn new() -> Env {
        Env::in_dir(&test_base())
    }
    /// Like [`Env::new`], with everything under the system's temp dir (`/tmp`).
    pub fn in_tmp() -> Env {
        Env::in_dir(&std::env::temp_dir())
    }
    fn in_dir(base: &Path) -> Env {
        let dir = tempfile::Builder::new()
            .prefix("il-cli-")
            .tempdir_in(base)
            .unwrap();
        std::fs::create_dir_all(dir.path().join("ws")).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Env { dir }
    }
    pub fn ws(&self) -> PathBuf {
        self.dir.path().join("ws")
    }
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("il")
    }
    /// `interlock` with a clean environment, no terminal, pointed at `base`.
    pub fn cmd(&self, base: &str) -> Command {
        let mut c = Command::new(bin());
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("INTERLOCK_HOME", self.home())
            .env("LANG", "C.UTF-8")
            .arg("--api-base")
            .arg(base)
            .arg("--workspace")
            .arg(self.ws())
            .stdin(Stdio::null());
        c
    }
}

/// The `interlock` binary under test. `INTERLOCK_TEST_BIN` overrides it when
/// the test executables are copied elsewhere to run as another user
/// (crates/sandbox/tests/run-as-user.sh); only tests read it.
pub fn bin() -> PathBuf {
    std::env::var_os("INTERLOCK_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_interlock")))
}

pub fn run(mut c: Command) -> Output {
    c.output().expect("run interlock")
}

/// Parses NDJSON stdout; every line must be a JSON object with a `type`.
pub fn events(out: &Output) -> Vec<Value> {
    let text = String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8");
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| {
                panic!(
                    "not JSON: {l:?}: {e}\nstderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
            assert!(v["type"].is_string(), "no type field: {l}");
            v
        })
        .collect()
}

pub fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == t).collect()
}

/// All text of `output` events concatenated.
pub fn output_text(events: &[Value]) -> String {
    of_type(events, "output")
        .iter()
        .map(|e| e["text"].as_str().unwrap_or("").to_string())
        .collect()
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// Writes `text` to `path`, creating its parent directories.
pub fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

/// The text inside interlock's untrusted-data marker (`<<untrusted K>>` …
/// `<</untrusted K>>`), or `s` as it is when it is not wrapped.
pub fn unwrap_untrusted(s: &str) -> String {
    let Some(rest) = s.strip_prefix("<<untrusted ") else {
        return s.to_string();
    };
    let Some((key, body)) = rest.split_once(">>\n") else {
        return s.to_string();
    };
    let end = format!("<</untrusted {key}>>");
    body.strip_suffix(&end).unwrap_or(body).to_string()
}

//! The sandbox helper as a standalone binary (tests and benchmarks use it; the `interlock` binary
//! calls the same `helper_main` when its first argument is `__sandbox-exec`).
//!
//! Extra developer modes, not used by interlock itself:
//! - `interlock-sandbox-exec --request WORKSPACE [full-net]` prints the request argument for the
//!   default policy of WORKSPACE (HOME from the environment), e.g. for benchmarks;
//! - `interlock-sandbox-exec --explain WORKSPACE` prints `explain()` for it.

use std::ffi::OsString;
use std::path::PathBuf;

use interlock_sandbox::{
    NetworkMode, Policy, SandboxMode, explain, helper_main, helper_request, plan, probe,
};

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    let mode = args.get(1).and_then(|a| a.to_str()).unwrap_or("");
    if mode == "--request" || mode == "--explain" {
        let ws = PathBuf::from(args.get(2).cloned().unwrap_or_else(|| ".".into()));
        let ws = std::fs::canonicalize(&ws).unwrap_or(ws);
        let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()));
        let mut policy = Policy::for_workspace(SandboxMode::WorkspaceWrite, &ws, &home, &[], &[]);
        if args.get(3).and_then(|a| a.to_str()) == Some("full-net") {
            policy.network = NetworkMode::Full;
        }
        let support = probe();
        if mode == "--explain" {
            print!("{}", explain(&policy, &support));
            return;
        }
        match plan(&policy, &support) {
            Ok(p) => println!("{}", helper_request(&p, &ws)),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        return;
    }
    helper_main(&args)
}

//! `interlock-scripted-server SCRIPT.json [--port N] [--record FILE]`
//!
//! Serves the script (a JSON array of replies, see `interlock_testkit::Reply`)
//! on 127.0.0.1, prints `listening on http://127.0.0.1:PORT/v1` and serves until
//! killed. With `--record FILE` every request is appended to FILE as one JSON
//! line (method, path, headers, body).

use interlock_testkit::{RecordedRequest, Reply, ScriptedServer, ServerOptions};
use std::io::Write;
use std::sync::{Arc, Mutex};

const USAGE: &str = "usage: interlock-scripted-server SCRIPT.json [--port N] [--record FILE]";

fn fail(msg: &str) -> ! {
    eprintln!("interlock-scripted-server: {msg}");
    std::process::exit(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut script_path = None;
    let mut port = 0u16;
    let mut record = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            "--port" => {
                let v = args.next().unwrap_or_else(|| fail(USAGE));
                port = v.parse().unwrap_or_else(|_| fail("--port needs a number"));
            }
            "--record" => record = Some(args.next().unwrap_or_else(|| fail(USAGE))),
            _ if script_path.is_none() && !a.starts_with('-') => script_path = Some(a),
            _ => fail(USAGE),
        }
    }
    let script_path = script_path.unwrap_or_else(|| fail(USAGE));
    let text = std::fs::read_to_string(&script_path)
        .unwrap_or_else(|e| fail(&format!("cannot read {script_path}: {e}")));
    let script: Vec<Reply> = serde_json::from_str(&text)
        .unwrap_or_else(|e| fail(&format!("bad script {script_path}: {e}")));

    let record_file = record.map(|p| {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .unwrap_or_else(|e| fail(&format!("cannot open {p}: {e}")));
        Mutex::new(f)
    });
    let hook = Arc::new(move |r: &RecordedRequest| {
        eprintln!("{} {}", r.method, r.path);
        if let Some(f) = &record_file {
            let line = serde_json::to_string(r).unwrap_or_default();
            let _ = writeln!(f.lock().unwrap(), "{line}");
        }
    });
    let opts = ServerOptions {
        port,
        on_request: Some(hook),
    };
    let srv = ScriptedServer::start_with(script, opts)
        .await
        .unwrap_or_else(|e| fail(&format!("cannot listen: {e}")));
    println!("listening on {}", srv.base_url());
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
}

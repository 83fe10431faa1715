//! The `interlock-scripted-server` binary: reads a script, prints its URL, serves.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn post(addr: &str, body: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer k\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_a_script_file_and_records_requests() {
    let dir = std::env::temp_dir().join(format!("scripted-server-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("script.json");
    let record = dir.join("requests.ndjson");
    std::fs::write(
        &script,
        r#"[{"text": "hi there"}, {"tool_call": {"language": "python", "code": "print(1)"}}]"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_interlock-scripted-server"))
        .arg(&script)
        .arg("--record")
        .arg(&record)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    let addr = url
        .strip_prefix("http://")
        .unwrap()
        .strip_suffix("/v1")
        .unwrap()
        .to_string();

    let first = post(&addr, r#"{"model":"m","messages":[],"stream":false}"#);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(first.contains("\"content\":\"hi there\""), "{first}");
    let second = post(&addr, r#"{"model":"m","messages":[],"stream":true}"#);
    assert!(second.contains("text/event-stream"), "{second}");
    assert!(second.contains("tool_calls"), "{second}");
    assert!(second.contains("[DONE]"), "{second}");
    let third = post(&addr, r#"{"model":"m","messages":[]}"#);
    assert!(third.contains("(script exhausted)"), "{third}");

    child.kill().unwrap();
    let _ = child.wait();
    let recorded = std::fs::read_to_string(&record).unwrap();
    let lines: Vec<serde_json::Value> = recorded
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["path"], "/v1/chat/completions");
    assert_eq!(lines[1]["body"]["stream"], true);
    let _ = std::fs::remove_dir_all(&dir);
}

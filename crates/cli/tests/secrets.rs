//! Secrets never leave: the API key in interlock's environment and a token in
//! a workspace file, printed by the model's code, reach neither the model
//! server, the history, the audit log nor `--json` output.

mod common;

use common::*;
use interlock_testkit::{Reply, ScriptedServer};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

/// Fake but well-formed secrets, made at run time (none are committed).
fn fake(prefix: &str, n: usize, seed: u64) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seed;
    let body: String = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize] as char
        })
        .collect();
    format!("{prefix}{body}")
}

fn all_files_under(dir: &std::path::Path) -> String {
    let mut text = String::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                text.push_str(&all_files_under(&p));
            } else if let Ok(bytes) = std::fs::read(&p) {
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    text
}

#[test]
fn planted_secrets_reach_no_request_history_audit_or_json_event() {
    let env = Env::new();
    let api_key = fake("sk-proj-", 48, 7);
    let gh_token = fake("ghp_", 36, 11);
    write(
        &env.ws().join("token.txt"),
        &format!("GITHUB_TOKEN={gh_token}\n"),
    );
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "shell", "env; cat token.txt"),
        Reply::tool_call_stream("c2", "python", "print(open('token.txt').read())"),
        Reply::text_stream("I saw a token and will not repeat it."),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.env("OPENAI_API_KEY", &api_key);
    c.args([
        "exec",
        "--auto-run",
        "--auto-run-max-risk",
        "high",
        "--json",
    ]);
    c.arg(format!("check my token {gh_token} and the environment"));
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // The code really printed the token (so the test can fail).
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(json.contains("[REDACTED:github_token#1]"), "{json}");

    let requests: String = srv
        .chat_requests()
        .iter()
        .map(|r| r.body_text.clone())
        .collect();
    let history = all_files_under(&env.home().join("history"));
    let state = all_files_under(&env.home().join("state"));
    for (what, text) in [
        ("requests to the model", &requests),
        ("history", &history),
        ("audit log", &state),
        ("--json output", &json),
        ("stderr", &stderr(&out)),
    ] {
        assert!(!text.contains(&gh_token), "the token reached the {what}");
        assert!(!text.contains(&api_key), "the API key reached the {what}");
    }
    // Stable placeholders: the token is #1 wherever it appears.
    assert!(requests.contains("[REDACTED:github_token#1]"), "{requests}");
    assert!(!requests.contains("github_token#2"));
}

#[test]
fn redact_prints_what_the_model_would_see() {
    let env = Env::new();
    let gh_token = fake("ghp_", 36, 5);
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["redact", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            format!("token={gh_token}\nsha=3f786850e387550fdab836ed7e6dc881de23001b\n").as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(&gh_token), "{text}");
    assert!(text.contains("[REDACTED:"), "{text}");
    assert!(
        text.contains("3f786850e387550fdab836ed7e6dc881de23001b"),
        "a git SHA is not a secret"
    );
}

#[test]
fn a_key_file_other_users_can_read_is_refused() {
    let env = Env::new();
    let keys = env.home().join("state").join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let file = keys.join("openai.key");
    write(&file, &fake("sk-", 40, 3));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["exec", "hi"]);
    let out = run(c);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let srv = ScriptedServer::start_background(vec![Reply::text_stream("hi")]);
    let mut c = env.cmd(&srv.base_url());
    c.args(["exec", "--json", "hi"]);
    assert_eq!(code(&run(c)), 0);
    let auth = srv.chat_requests()[0]
        .header("authorization")
        .unwrap()
        .to_string();
    assert!(auth.starts_with("Bearer sk-"), "the stored key is used");
}

#[test]
fn auth_set_stores_a_private_key_and_status_never_prints_it() {
    let env = Env::new();
    let key = fake("sk-", 40, 9);
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["auth", "set", "openai"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{key}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let file = env.home().join("state/keys/openai.key");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["auth", "status"]);
    let out = run(c);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("stored in"), "{text}");
    assert!(!text.contains(&key));
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["config", "show"]);
    let out = run(c);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&key));
}

/// Issue 16 item 5: a keyword-context secret (a YAML `password:` line, a
/// `mysql -p…` command line in a script's output) and provider formats from
/// the wider set (an AWS Bedrock `ABSK…` key, a legacy Slack `xoxa-` token)
/// are redacted at every boundary, each by its own rule (the placeholder
/// kind names the rule, so removing one fails this test).
#[test]
fn keyword_context_and_new_provider_secrets_reach_no_boundary() {
    let env = Env::new();
    // 16 characters: below the generic detector's length, so only the
    // keyword rules can catch them.
    let yaml_pw = fake("", 16, 21);
    let mysql_pw = fake("", 16, 23);
    let bedrock = format!("{}=", fake("ABSK", 131, 29));
    let slack = fake("xoxa-2-", 30, 31);
    write(
        &env.ws().join("config.yaml"),
        &format!("db:\n  host: db.internal\n  user: app\n  password: \"{yaml_pw}\"\n"),
    );
    write(
        &env.ws().join("deploy.sh"),
        &format!("echo 'running: mysql -h db.internal -u app -p{mysql_pw} app_db'\n"),
    );
    write(
        &env.ws().join("keys.env"),
        &format!("BEDROCK={bedrock}\nSLACK={slack}\n"),
    );
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "shell", "cat config.yaml; bash deploy.sh"),
        Reply::tool_call_stream("c2", "python", "print(open('keys.env').read())"),
        Reply::text_stream("Done; the values are redacted."),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--auto-run",
        "--auto-run-max-risk",
        "high",
        "--json",
        "show me the database config and the keys",
    ]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    // The code really printed each secret, and each was caught by its rule.
    for kind in ["password", "aws_bedrock_key", "slack_token"] {
        assert!(
            json.contains(&format!("[REDACTED:{kind}#")),
            "{kind}: {json}"
        );
    }
    assert!(json.contains("password: \\\"[REDACTED:password#"), "{json}");
    assert!(json.contains("-u app -p[REDACTED:password#"), "{json}");

    let requests: String = srv
        .chat_requests()
        .iter()
        .map(|r| r.body_text.clone())
        .collect();
    assert!(
        requests.contains("[REDACTED:aws_bedrock_key#"),
        "{requests}"
    );
    let history = all_files_under(&env.home().join("history"));
    let state = all_files_under(&env.home().join("state"));
    for (what, text) in [
        ("requests to the model", &requests),
        ("history", &history),
        ("audit log", &state),
        ("--json output", &json),
        ("stderr", &stderr(&out)),
    ] {
        for (name, secret) in [
            ("YAML password", &yaml_pw),
            ("mysql password", &mysql_pw),
            ("Bedrock key", &bedrock),
            ("Slack token", &slack),
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "the {name} reached the {what}"
            );
        }
    }
}

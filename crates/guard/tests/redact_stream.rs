//! Streaming redaction and placeholder stability.

use interlock_guard::redact::{Placeholders, Redactor, StreamRedactor};

// Assembled at run time so no key-shaped literal sits in the source.
fn fake(prefix: &str, body_seed: u64, n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = body_seed;
    let body: String = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            A[(x % A.len() as u64) as usize] as char
        })
        .collect();
    format!("{prefix}{body}")
}

fn stream(r: &Redactor, ph: &Placeholders, chunks: &[&str]) -> String {
    let mut s = StreamRedactor::new(r, ph);
    let mut out = String::new();
    for c in chunks {
        out.push_str(&s.push(c));
    }
    out.push_str(&s.finish());
    out
}

fn samples() -> Vec<(String, Vec<String>)> {
    let gh = fake("ghp_", 1, 36);
    let oa = fake("sk-proj-", 2, 80);
    let aws = fake("", 3, 40);
    let pw = fake("", 4, 14);
    let jwt = format!(
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.{}",
        fake("", 5, 43)
    );
    let pem_body: Vec<String> = (0..6).map(|i| fake("", 10 + i, 64)).collect();
    let pem = format!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----",
        pem_body.join("\n")
    );
    vec![
        (
            format!("export GITHUB_TOKEN={gh}\necho done\n"),
            vec![gh.clone()],
        ),
        (format!("{{\"key\": \"{oa}\", \"n\": 1}}"), vec![oa.clone()]),
        (
            format!("aws_secret_access_key = {aws}\n"),
            vec![aws.clone()],
        ),
        (format!("password: \"{pw}\"\n"), vec![pw.clone()]),
        (format!("Authorization: Bearer {jwt}"), vec![jwt.clone()]),
        (format!("key file:\n{pem}\nend\n"), pem_body.clone()),
        (
            format!("a {gh} b {oa} c {gh}"),
            vec![gh.clone(), oa.clone()],
        ),
    ]
}

#[test]
fn secret_split_at_every_byte_is_redacted() {
    let r = Redactor::new();
    for (text, secrets) in samples() {
        let whole = r.redact(&text).text;
        for s in &secrets {
            assert!(
                !whole.contains(s.as_str()),
                "one-shot missed {s} in {whole}"
            );
        }
        for cut in 0..=text.len() {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let out = stream(&r, &Placeholders::new(), &[&text[..cut], &text[cut..]]);
            for s in &secrets {
                assert!(
                    !out.contains(s.as_str()),
                    "split at {cut}: {s} survived in {out:?}"
                );
            }
            assert_eq!(out, whole, "split at {cut} differs from one-shot");
        }
        // Three-way splits around the first secret.
        let at = text.find(secrets[0].as_str()).unwrap();
        for a in at..at + secrets[0].len() {
            for b in [a + 1, a + 7, at + secrets[0].len()] {
                let b = b.min(text.len());
                let out = stream(
                    &r,
                    &Placeholders::new(),
                    &[&text[..a], &text[a..b], &text[b..]],
                );
                assert_eq!(out, whole, "split at {a}/{b}");
            }
        }
        // One byte at a time (model token streams are this fine-grained).
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let refs: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(
            stream(&r, &Placeholders::new(), &refs),
            whole,
            "char by char"
        );
    }
}

#[test]
fn known_secret_split_across_chunks() {
    let mut r = Redactor::new();
    r.add_known_secret("DB_PASSWORD", "correct horse battery staple");
    r.add_known_secret("SHORT", "abc"); // ignored: too short
    let text = "login with correct horse battery staple now; abc stays";
    let whole = r.redact(text);
    assert_eq!(
        whole.text,
        "login with [REDACTED:DB_PASSWORD#1] now; abc stays"
    );
    for cut in 0..=text.len() {
        let out = stream(&r, &Placeholders::new(), &[&text[..cut], &text[cut..]]);
        assert_eq!(out, whole.text, "split at {cut}");
    }
}

#[test]
fn placeholders_are_stable_across_calls() {
    let r = Redactor::new();
    let a = fake("ghp_", 21, 36);
    let b = fake("ghp_", 22, 36);
    let ph = Placeholders::new();
    let one = r.redact_with(&format!("first {a}"), &ph);
    let two = r.redact_with(&format!("then {b} and {a} again"), &ph);
    assert_eq!(one.text, "first [REDACTED:github_token#1]");
    assert_eq!(
        two.text,
        "then [REDACTED:github_token#2] and [REDACTED:github_token#1] again"
    );
    // A stream sharing the placeholders agrees.
    let out = stream(
        &r,
        &ph,
        &[&format!("again {b}")[..9], &format!("again {b}")[9..]],
    );
    assert_eq!(out, "again [REDACTED:github_token#2]");
    assert_eq!(ph.len(), 2);
    // Without shared placeholders each call numbers afresh.
    assert_eq!(r.redact(&b).text, "[REDACTED:github_token#1]");
}

#[test]
fn findings_report_input_offsets() {
    let r = Redactor::new();
    let gh = fake("ghp_", 31, 36);
    let text = format!("tok={gh} ok");
    let out = r.redact(&text);
    assert_eq!(out.findings.len(), 1);
    let f = out.findings[0];
    assert_eq!(f.kind, "github_token");
    assert_eq!(&text[f.start..f.end], gh);
}

#[test]
fn from_env_redacts_secret_looking_variables_only() {
    let vars = vec![
        (
            "OPENAI_API_KEY".to_owned(),
            "local-model-key-1234".to_owned(),
        ),
        ("MY_SERVICE_TOKEN".to_owned(), "tok.en.value.99".to_owned()),
        ("DB_PASSWORD".to_owned(), "plain words here".to_owned()),
        ("HOME".to_owned(), "/home/someone".to_owned()),
        ("AWS_REGION".to_owned(), "eu-central-1".to_owned()),
        (
            "SSH_KEY_PATH".to_owned(),
            "/home/someone/.ssh/id_rsa".to_owned(),
        ),
    ];
    let r = Redactor::from_env(vars.into_iter());
    let text = "key local-model-key-1234, token tok.en.value.99, pw plain words here, home /home/someone in eu-central-1";
    let out = r.redact(text).text;
    assert_eq!(
        out,
        "key [REDACTED:OPENAI_API_KEY#1], token [REDACTED:MY_SERVICE_TOKEN#1], pw [REDACTED:DB_PASSWORD#1], home /home/someone in eu-central-1"
    );
    // Debug output never shows the values.
    let dbg = format!("{r:?}");
    assert!(!dbg.contains("local-model-key-1234"), "{dbg}");
}

#[test]
fn redaction_is_idempotent_and_placeholders_are_inert() {
    let r = Redactor::new();
    let text = format!("a {} b {} c", fake("ghp_", 41, 36), fake("sk-", 42, 48));
    let once = r.redact(&text).text;
    let twice = r.redact(&once);
    assert_eq!(twice.text, once);
    assert!(twice.findings.is_empty());
}

#[test]
fn json_stays_valid() {
    let r = Redactor::new();
    let v =
        serde_json::json!({"token": fake("ghp_", 51, 36), "password": "S3cure!pass#word", "n": 1});
    let text = serde_json::to_string(&v).unwrap();
    let out = r.redact(&text).text;
    let back: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(back["token"], "[REDACTED:github_token#1]");
    assert_eq!(back["password"], "[REDACTED:password#1]");
}

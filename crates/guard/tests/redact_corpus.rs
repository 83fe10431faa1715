//! Labelled redaction corpus: generated fake secrets for every detector in
//! varied contexts, and look-alikes that must survive. Recall and the
//! false-positive rate are printed per detector and asserted.
//!
//! The fake secrets are generated here from a seeded PRNG (nothing that looks
//! like a live key is committed); the hand-written look-alikes live in
//! `tests/redact-corpus/lookalikes.txt`.

use std::collections::BTreeMap;

use interlock_guard::redact::{Placeholders, Redactor, StreamRedactor};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn string(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| *self.pick(alphabet) as char).collect()
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const URLSAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX: &[u8] = b"0123456789abcdef";
const DIGITS: &[u8] = b"0123456789";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const PASSWORD_CHARS: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%^*-_+?";

fn b64(data: &[u8], alphabet: &[u8], pad: bool) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if pad {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

/// A fake secret and (for private keys) the lines that must not survive.
struct Secret {
    value: String,
    must_vanish: Vec<String>,
}

impl Secret {
    fn one(value: String) -> Secret {
        Secret {
            must_vanish: vec![value.clone()],
            value,
        }
    }
}

fn pem(rng: &mut Rng, label: &str, escaped_newlines: bool) -> Secret {
    let n = 48 * (8 + rng.below(20));
    let body = b64(&rng.bytes(n), B64, true);
    let lines: Vec<String> = body
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let nl = if escaped_newlines { "\\n" } else { "\n" };
    let value = format!(
        "-----BEGIN {label}-----{nl}{}{nl}-----END {label}-----",
        lines.join(nl)
    );
    Secret {
        value,
        must_vanish: lines.into_iter().filter(|l| l.len() >= 16).collect(),
    }
}

fn jwt(rng: &mut Rng) -> String {
    let header = format!(
        r#"{{"alg":"{}","typ":"JWT"}}"#,
        rng.pick(&["HS256", "RS256", "ES256"])
    );
    let payload = format!(
        r#"{{"sub":"{}","name":"user{}","iat":{},"exp":{}}}"#,
        rng.string(DIGITS, 10),
        rng.below(10000),
        1_700_000_000 + rng.below(10_000_000),
        1_800_000_000 + rng.below(10_000_000)
    );
    format!(
        "{}.{}.{}",
        b64(header.as_bytes(), URLSAFE, false),
        b64(payload.as_bytes(), URLSAFE, false),
        rng.string(URLSAFE, 43)
    )
}

/// Generic high-entropy values: random, with every character class present.
fn random_token(rng: &mut Rng, n: usize) -> String {
    loop {
        let s = rng.string(ALNUM, n);
        let u = s.bytes().filter(u8::is_ascii_uppercase).count();
        let l = s.bytes().filter(u8::is_ascii_lowercase).count();
        let d = s.bytes().filter(u8::is_ascii_digit).count();
        if u >= 2 && l >= 2 && d >= 2 {
            return s;
        }
    }
}

fn password(rng: &mut Rng) -> String {
    loop {
        let n = 10 + rng.below(8);
        let s = rng.string(PASSWORD_CHARS, n);
        if s.bytes().any(|b| b.is_ascii_digit()) && s.bytes().any(|b| b.is_ascii_alphabetic()) {
            return s;
        }
    }
}

/// Places a self-identifying secret (a provider key with its prefix) in one of
/// many contexts.
fn anywhere(rng: &mut Rng, name: &str, s: &str) -> String {
    let lname = name.to_ascii_lowercase();
    match rng.below(15) {
        0 => format!("{name}={s}"),
        1 => format!("export {name}=\"{s}\"\n"),
        2 => format!("{{\"{lname}\": \"{s}\", \"region\": \"eu-west-1\"}}"),
        3 => format!("GET /v1/models HTTP/1.1\r\nHost: api.example.com\r\nX-Api-Key: {s}\r\n\r\n"),
        4 => format!("curl -s -H \"X-Auth: {s}\" https://api.example.com/v1/models"),
        5 => format!("client = Client(api_key=\"{s}\")\nclient.list()"),
        6 => format!("const key = '{s}';\nfetch(url, {{ headers: {{ key }} }});"),
        7 => format!("config:\n  {lname}: {s}\n  timeout: 30\n"),
        8 => format!("2024-03-05 12:00:01 DEBUG using credentials {s} for upstream"),
        9 => format!(
            "curl https://api.example.com/v1/chat \\\n  -H 'Content-Type: application/json' \\\n  -H \"Authorization: Bearer {s}\" \\\n  -d '{{\"model\": \"m\"}}'"
        ),
        10 => format!("https://api.example.com/callback?access_token={s}&state=xyz"),
        11 => format!("Here is the key you asked about:\n\n    {s}\n\nKeep it safe."),
        12 => format!("[{{\"id\": 1, \"cfg\": {{\"k\": \"{s}\"}}}}]"),
        13 => format!("print(\"token is\", \"{s}\")"),
        _ => format!("docker run -e {name}={s} --rm app:latest"),
    }
}

/// `(label, text, must_vanish, known secrets to register)`.
type SecretSample = (&'static str, String, Vec<String>, Vec<(String, String)>);

/// Generates the labelled secrets.
fn secret_samples(rng: &mut Rng, per: usize) -> Vec<SecretSample> {
    let mut out = Vec::new();
    for i in 0..per {
        let mut add = |label: &'static str, text: String, secret: Secret| {
            out.push((label, text, secret.must_vanish, Vec::new()));
        };
        // OpenAI
        let s = match i % 4 {
            0 => format!("sk-{}", random_token(rng, 48)),
            1 => format!("sk-proj-{}", rng.string(URLSAFE, 156)),
            2 => format!("sk-admin-{}", rng.string(URLSAFE, 64)),
            _ => format!("sk-svcacct-{}", rng.string(URLSAFE, 120)),
        };
        add(
            "openai_key",
            anywhere(rng, "OPENAI_API_KEY", &s),
            Secret::one(s),
        );
        // Anthropic
        let kind = if i % 3 == 0 { "admin01" } else { "api03" };
        let s = format!("sk-ant-{kind}-{}AA", rng.string(URLSAFE, 93));
        add(
            "anthropic_key",
            anywhere(rng, "ANTHROPIC_API_KEY", &s),
            Secret::one(s),
        );
        // AWS access key id
        let s = format!("{}{}", rng.pick(&["AKIA", "ASIA"]), rng.string(BASE32, 16));
        add(
            "aws_access_key_id",
            anywhere(rng, "AWS_ACCESS_KEY_ID", &s),
            Secret::one(s),
        );
        // AWS secret key: needs context.
        let s = random_token(rng, 36) + &rng.string(b"/+", 1) + &rng.string(ALNUM, 3);
        let id = format!("AKIA{}", rng.string(BASE32, 16));
        let text = match i % 5 {
            0 => format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {s}\n"),
            1 => format!("export AWS_SECRET_ACCESS_KEY={s}"),
            2 => format!(
                "{{\"AccessKeyId\": \"{id}\", \"SecretAccessKey\": \"{s}\", \"SessionToken\": null}}"
            ),
            3 => format!("User name,Access key ID,Secret access key\nci-bot,{id},{s}\n"),
            _ => format!("docker run -e AWS_SECRET_ACCESS_KEY='{s}' amazon/aws-cli s3 ls"),
        };
        add("aws_secret_key", text, Secret::one(s));
        // GitHub
        let s = format!(
            "{}_{}",
            rng.pick(&["ghp", "gho", "ghu", "ghs", "ghr"]),
            random_token(rng, 36)
        );
        add(
            "github_token",
            anywhere(rng, "GITHUB_TOKEN", &s),
            Secret::one(s),
        );
        let s = format!(
            "github_pat_{}_{}",
            rng.string(UPPER_DIGITS, 22),
            random_token(rng, 59)
        );
        add("github_pat", anywhere(rng, "GH_TOKEN", &s), Secret::one(s));
        // GitLab
        let s = format!("glpat-{}", rng.string(URLSAFE, 20));
        add(
            "gitlab_token",
            anywhere(rng, "GITLAB_TOKEN", &s),
            Secret::one(s),
        );
        // Slack
        let s = format!(
            "{}-{}-{}-{}",
            rng.pick(&["xoxb", "xoxp"]),
            rng.string(DIGITS, 12),
            rng.string(DIGITS, 13),
            random_token(rng, 24)
        );
        add(
            "slack_token",
            anywhere(rng, "SLACK_BOT_TOKEN", &s),
            Secret::one(s),
        );
        let s = format!(
            "https://hooks.slack.com/services/T{}/B{}/{}",
            rng.string(UPPER_DIGITS, 10),
            rng.string(UPPER_DIGITS, 10),
            random_token(rng, 24)
        );
        let text = match i % 3 {
            0 => format!("SLACK_WEBHOOK_URL={s}"),
            1 => format!("requests.post(\"{s}\", json={{\"text\": \"deploy done\"}})"),
            _ => format!("curl -X POST -d '{{\"text\":\"hi\"}}' {s}"),
        };
        add("slack_webhook", text, Secret::one(s));
        // Stripe
        let s = format!("{}_{}", rng.pick(&["sk_live", "rk_live", "sk_test"]), {
            let n = 24 + rng.below(75);
            random_token(rng, n)
        });
        add(
            "stripe_key",
            anywhere(rng, "STRIPE_SECRET_KEY", &s),
            Secret::one(s),
        );
        // Google
        let s = format!("AIza{}", rng.string(URLSAFE, 35));
        add(
            "google_api_key",
            anywhere(rng, "GOOGLE_API_KEY", &s),
            Secret::one(s),
        );
        // Twilio
        let s = format!("{}{}", rng.pick(&["SK", "AC"]), rng.string(HEX, 32));
        add(
            "twilio_key",
            anywhere(rng, "TWILIO_API_KEY", &s),
            Secret::one(s),
        );
        // SendGrid
        let s = format!("SG.{}.{}", rng.string(URLSAFE, 22), rng.string(URLSAFE, 43));
        add(
            "sendgrid_key",
            anywhere(rng, "SENDGRID_API_KEY", &s),
            Secret::one(s),
        );
        // npm
        let s = format!("npm_{}", random_token(rng, 36));
        let text = if i % 2 == 0 {
            format!("//registry.npmjs.org/:_authToken={s}\n")
        } else {
            anywhere(rng, "NPM_TOKEN", &s)
        };
        add("npm_token", text, Secret::one(s));
        // PyPI
        let s = format!("pypi-AgEIcHlwaS5vcmc{}", rng.string(URLSAFE, 150));
        let text = if i % 2 == 0 {
            format!("[pypi]\n  username = __token__\n  password = {s}\n")
        } else {
            anywhere(rng, "TWINE_PASSWORD", &s)
        };
        add("pypi_token", text, Secret::one(s));
        // Hugging Face
        let s = format!("hf_{}", rng.string(LETTERS, 34));
        add(
            "huggingface_token",
            anywhere(rng, "HF_TOKEN", &s),
            Secret::one(s),
        );
        // JWT
        let s = jwt(rng);
        let text = match i % 3 {
            0 => format!("Cookie: session={s}; Path=/; HttpOnly"),
            1 => anywhere(rng, "ID_TOKEN", &s),
            _ => format!("{{\"access_token\": \"{s}\", \"token_type\": \"bearer\"}}"),
        };
        add("jwt", text, Secret::one(s));
        // Private keys
        let label = *rng.pick(&[
            "RSA PRIVATE KEY",
            "OPENSSH PRIVATE KEY",
            "EC PRIVATE KEY",
            "PRIVATE KEY",
            "ENCRYPTED PRIVATE KEY",
        ]);
        let escaped = i % 4 == 3;
        let key = pem(rng, label, escaped);
        let text = if escaped {
            format!(
                "{{\"type\": \"service_account\", \"private_key_id\": \"{}\", \"private_key\": \"{}\\n\"}}",
                rng.string(HEX, 40),
                key.value
            )
        } else if i % 4 == 2 {
            format!("$ cat ~/.ssh/id_ed25519\n{}\n$ ls\n", key.value)
        } else {
            format!("{}\n", key.value)
        };
        add("private_key", text, key);
        // URL passwords
        let pw = password(rng).replace(['#', '?', '%', '+'], "x");
        let text = match i % 5 {
            0 => format!("DATABASE_URL=postgres://app:{pw}@db.internal:5432/app"),
            1 => format!("mysql://root:{pw}@127.0.0.1:3306/shop?charset=utf8mb4"),
            2 => format!("REDIS_URL=redis://:{pw}@cache:6379/0"),
            3 => format!("git clone https://oauth2:{pw}@gitlab.example.com/group/repo.git"),
            _ => format!(
                "engine = create_engine(\"postgresql+psycopg2://scott:{pw}@localhost/test\")"
            ),
        };
        add("url_password", text, Secret::one(pw));
        // Authorization headers
        let tok = rng.string(URLSAFE, 40);
        let text = match i % 4 {
            0 => format!("Authorization: Bearer {tok}"),
            1 => format!("curl -H \"Authorization: token {tok}\" https://api.example.com/user"),
            2 => format!("headers = {{\"Authorization\": \"Bearer {tok}\"}}"),
            _ => format!(
                "> GET / HTTP/2\n> authorization: Basic {}\n",
                b64(format!("admin:{}", password(rng)).as_bytes(), B64, true)
            ),
        };
        let tok = if i % 4 == 3 {
            text.split("Basic ").nth(1).unwrap().trim().to_owned()
        } else {
            tok
        };
        add("auth_header", text, Secret::one(tok));
        // curl -u
        let pw = password(rng).replace(['\'', '"'], "x");
        let text = match i % 2 {
            0 => format!("curl -u admin:{pw} https://jenkins.example.com/api/json"),
            _ => format!("curl --user 'deploy:{pw}' -X POST https://example.com/hook"),
        };
        add("basic_auth", text, Secret::one(pw));
        // password assignments
        let pw = password(rng).replace(['\'', '"', '`'], "x");
        let text = match i % 7 {
            0 => format!("DB_PASSWORD={pw}"),
            1 => format!("password = \"{pw}\""),
            2 => format!("{{\"username\": \"admin\", \"password\": \"{pw}\"}}"),
            3 => format!("spring.datasource.password={pw}"),
            4 => format!("  POSTGRES_PASSWORD: '{pw}'"),
            5 => format!("conn = psycopg2.connect(host=\"db\", user=\"app\", password=\"{pw}\")"),
            _ => format!("Server=db;Database=app;User Id=sa;Password={pw};"),
        };
        add("password", text, Secret::one(pw));
        // secret / token assignments with random values
        let v = if i % 3 == 0 {
            rng.string(HEX, 32)
        } else {
            random_token(rng, 32)
        };
        let text = match i % 6 {
            0 => format!("TWILIO_AUTH_TOKEN={v}"),
            1 => format!("SECRET_KEY = '{v}'"),
            2 => format!("{{\"client_id\": \"app\", \"client_secret\": \"{v}\"}}"),
            3 => format!("mailgun:\n  api_key: {v}\n"),
            4 => format!("Private-Token: {v}"),
            _ => format!("app.config['JWT_SECRET'] = \"{v}\""),
        };
        add("secret", text, Secret::one(v));
        // generic: random tokens with no telling name
        let n = 24 + rng.below(40);
        let v = random_token(rng, n);
        let text = match i % 5 {
            0 => format!("{{\"data\": {{\"value\": \"{v}\"}}}}"),
            1 => format!("2024-03-05T10:00:00Z INFO issued {v} to client 42"),
            2 => format!("signature={v}"),
            3 => format!("X-Custom-Auth: {v}"),
            _ => format!("ENTRY {v}"),
        };
        add("high_entropy", text, Secret::one(v));
        // known secrets of arbitrary shape
        let v = match i % 3 {
            0 => format!("correct horse battery staple {}", rng.string(DIGITS, 3)),
            1 => format!("hunter{}", rng.string(DIGITS, 4)),
            _ => format!(
                "{}.{}",
                rng.string(b"abcdefghij", 6),
                rng.string(b"klmnopqrst", 6)
            ),
        };
        let text = format!("the value is {v} (from the vault)\nand again: '{v}'");
        out.push((
            "known_secret",
            text,
            vec![v.clone()],
            vec![("MY_SERVICE_PASSWORD".to_owned(), v)],
        ));
    }
    out
}

fn uuid(rng: &mut Rng) -> String {
    let h = rng.string(HEX, 32);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..]
    )
}

fn words(rng: &mut Rng, n: usize, camel: bool) -> String {
    const W: &[&str] = &[
        "user", "account", "order", "service", "manager", "factory", "handler", "request",
        "response", "config", "data", "value", "index", "buffer", "stream", "client", "server",
        "session", "cache", "queue", "payment", "invoice", "report", "builder",
    ];
    let mut s = String::new();
    for i in 0..n {
        let w = *rng.pick(W);
        if camel && i > 0 {
            s.push_str(&w[..1].to_ascii_uppercase());
            s.push_str(&w[1..]);
        } else {
            s.push_str(w);
        }
    }
    s
}

/// Generated look-alikes: `(category, text)`.
fn lookalike_samples(rng: &mut Rng, per: usize) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for i in 0..per {
        let sha = rng.string(HEX, 40);
        out.push((
            "git_sha",
            match i % 3 {
                0 => format!("commit {sha}\nMerge: {} {}", &sha[..7], &rng.string(HEX, 7)),
                1 => format!("HEAD is now at {} Fix the thing", &sha[..7]),
                _ => format!(
                    "{{\"sha\": \"{sha}\", \"parents\": [\"{}\"]}}",
                    rng.string(HEX, 40)
                ),
            },
        ));
        out.push((
            "checksum",
            match i % 4 {
                0 => format!("{}  dist/app-{}.tar.gz", rng.string(HEX, 64), i),
                1 => format!("md5: {}", rng.string(HEX, 32)),
                2 => format!("sha1={}", rng.string(HEX, 40)),
                _ => format!("Digest: sha256:{}", rng.string(HEX, 64)),
            },
        ));
        out.push((
            "uuid",
            match i % 3 {
                0 => format!("request_id={} status=200", uuid(rng)),
                1 => format!(
                    "{{\"id\": \"{}\", \"parent\": \"{}\"}}",
                    uuid(rng),
                    uuid(rng)
                ),
                _ => format!(
                    "INSERT INTO t VALUES ('{}', 'ok');",
                    uuid(rng).to_ascii_uppercase()
                ),
            },
        ));
        let integ = b64(&rng.bytes(64), B64, true);
        out.push((
            "lockfile",
            match i % 6 {
                0 => format!("      \"integrity\": \"sha512-{integ}\","),
                1 => format!("  integrity sha512-{integ}"),
                2 => format!("checksum = \"{}\"", rng.string(HEX, 64)),
                3 => format!(
                    "example.com/mod v1.{}.0 h1:{}",
                    i,
                    b64(&rng.bytes(32), B64, true)
                ),
                4 => format!("    --hash=sha256:{} \\", rng.string(HEX, 64)),
                _ => format!(
                    "  \"integrity\": \"sha1-{}\"",
                    b64(&rng.bytes(20), B64, true)
                ),
            },
        ));
        out.push(("base64_image", {
            let img = b64(&rng.bytes(if i % 2 == 0 { 60 } else { 900 }), B64, true);
            match i % 3 {
                0 => format!("<img src=\"data:image/png;base64,{img}\">"),
                1 => format!("background: url(data:image/gif;base64,{img});"),
                _ => format!("![plot](data:image/jpeg;base64,{img})"),
            }
        }));
        out.push((
            "placeholder",
            match i % 10 {
                0 => format!("OPENAI_API_KEY=sk-{}", "x".repeat(20 + rng.below(30))),
                1 => format!(
                    "api_key = \"<{}>\"",
                    rng.pick(&["YOUR_API_KEY", "your-token", "API KEY"])
                ),
                2 => format!(
                    "export GITHUB_TOKEN=${{{}}}",
                    rng.pick(&["GH_TOKEN", "SECRET", "TOKEN"])
                ),
                3 => format!(
                    "token: ${}",
                    rng.pick(&["TOKEN", "CI_JOB_TOKEN", "github_token"])
                ),
                4 => format!(
                    "aws_access_key_id={} # docs",
                    rng.pick(&["AKIAIOSFODNN7EXAMPLE", "AKIAI44QH8DHBEXAMPLE"])
                ),
                5 => format!(
                    "password: {}",
                    rng.pick(&["changeme", "********", "<password>", "\"\"", "null"])
                ),
                6 => format!("ghp_{}", "X".repeat(36)),
                7 => format!("sk_live_{}", "0".repeat(24)),
                8 => format!(
                    "Authorization: Bearer {}",
                    rng.pick(&["<token>", "$TOKEN", "{{token}}", "YOUR_TOKEN_HERE"])
                ),
                _ => format!(
                    "api_key={}",
                    rng.pick(&[
                        "os.environ['API_KEY']",
                        "settings.API_KEY",
                        "get_key()",
                        "None"
                    ])
                ),
            },
        ));
        out.push((
            "identifier",
            match i % 4 {
                0 => format!("{}{}", words(rng, 3, true), rng.below(100_000)),
                1 => {
                    let w = words(rng, 3, true);
                    let w = w[..1].to_ascii_uppercase() + &w[1..];
                    format!("{w}V{}{}", rng.below(9), words(rng, 2, true))
                }
                2 => format!(
                    "test_{}_{}_returns_{}{}",
                    words(rng, 2, false),
                    rng.below(99),
                    words(rng, 2, true),
                    rng.below(99)
                ),
                _ => format!(
                    "{}.{}{}.{}()",
                    words(rng, 1, false),
                    words(rng, 3, true),
                    rng.below(2030),
                    words(rng, 2, true)
                ),
            },
        ));
        out.push((
            "code",
            match i % 8 {
                0 => format!(
                    "let {} = {}::new();",
                    words(rng, 3, false),
                    words(rng, 3, true)
                ),
                1 => format!(
                    "public {}{} {}(String {});",
                    words(rng, 2, true),
                    rng.below(2024),
                    words(rng, 3, true),
                    words(rng, 1, false)
                ),
                2 => format!(
                    "/home/dev/projects/{}/src/{}/{}.rs:{}:{}",
                    words(rng, 1, false),
                    words(rng, 2, false),
                    words(rng, 1, false),
                    rng.below(900),
                    rng.below(80)
                ),
                3 => format!(
                    "token_count={} max_tokens={} prompt_tokens={}",
                    rng.below(5000),
                    rng.below(9000),
                    rng.below(900)
                ),
                4 => format!(
                    "def {}(self, {}: str, password: str | None = None) -> bool:",
                    words(rng, 2, false),
                    words(rng, 1, false)
                ),
                5 => format!(
                    "import {{ {} }} from './{}';",
                    words(rng, 3, true),
                    words(rng, 2, false)
                ),
                6 => format!(
                    "ERROR {}Exception: {} failed after {} retries",
                    words(rng, 2, true),
                    words(rng, 2, true),
                    rng.below(9)
                ),
                _ => format!(
                    "https://cdn.example.com/assets/{}-{}.min.js?v={}",
                    words(rng, 2, false),
                    rng.string(HEX, 8),
                    rng.below(99)
                ),
            },
        ));
        out.push(("log", format!(
            "2024-0{}-1{}T{:02}:{:02}:{:02}.{:06}Z INFO {}: took {}ms (p99 {}ms) from 10.0.{}.{}",
            1 + i % 9, i % 10, i % 24, i % 60, (i * 7) % 60, rng.below(999_999),
            words(rng, 2, false), rng.below(900), rng.below(2000), rng.below(255), rng.below(255)
        )));
    }
    out
}

fn static_lookalikes() -> Vec<(&'static str, String)> {
    let text = include_str!("redact-corpus/lookalikes.txt");
    text.split("\n----\n")
        .map(|b| {
            b.lines()
                .filter(|l| !l.starts_with("# "))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|b| !b.trim().is_empty())
        .map(|b| ("static", b))
        .collect()
}

/// Splits `text` into 1..=6 chunks at random char boundaries.
fn split_random(rng: &mut Rng, text: &str) -> Vec<String> {
    let mut cuts: Vec<usize> = (0..rng.below(6))
        .map(|_| rng.below(text.len() + 1))
        .filter(|&c| text.is_char_boundary(c))
        .collect();
    cuts.sort();
    let mut out = Vec::new();
    let mut prev = 0;
    for c in cuts {
        out.push(text[prev..c].to_owned());
        prev = c;
    }
    out.push(text[prev..].to_owned());
    out
}

fn survived<'a>(output: &str, must_vanish: &'a [String]) -> Option<&'a str> {
    for s in must_vanish {
        // The secret, or any 12-byte piece of it, must be gone.
        if output.contains(s.as_str()) {
            return Some(s);
        }
        if s.len() > 16 {
            let b = s.as_bytes();
            for w in b.windows(12) {
                if let Ok(w) = std::str::from_utf8(w)
                    && output.contains(w)
                {
                    return Some(s);
                }
            }
        }
    }
    None
}

#[test]
fn corpus_recall_and_false_positives() {
    let mut rng = Rng(0x1e7_10c4);
    let base = Redactor::new();
    let secrets = secret_samples(&mut rng, 16);
    let mut stats: BTreeMap<&str, (usize, usize, usize, usize)> = BTreeMap::new(); // total, caught, caught in stream, kind right
    let mut misses = Vec::new();
    let mut kind_mismatch = Vec::new();
    for (label, text, vanish, known) in &secrets {
        let mut r = base.clone();
        for (n, v) in known {
            r.add_known_secret(n, v);
        }
        let out = r.redact(text);
        let e = stats.entry(label).or_default();
        e.0 += 1;
        match survived(&out.text, vanish) {
            None => e.1 += 1,
            Some(s) => misses.push(format!("[{label}] {s:?} survived in {:?}", out.text)),
        }
        if out.findings.iter().any(|f| f.kind == *label) {
            e.3 += 1;
        } else {
            let kinds: Vec<_> = out.findings.iter().map(|f| f.kind).collect();
            kind_mismatch.push(format!("[{label}] found as {kinds:?} in {text:?}"));
        }
        // The same text arriving in chunks.
        let ph = Placeholders::new();
        let mut st = StreamRedactor::new(&r, &ph);
        let mut streamed = String::new();
        for c in split_random(&mut rng, text) {
            streamed.push_str(&st.push(&c));
        }
        streamed.push_str(&st.finish());
        match survived(&streamed, vanish) {
            None => e.2 += 1,
            Some(s) => misses.push(format!("[{label} stream] {s:?} survived in {streamed:?}")),
        }
    }

    let mut looks = static_lookalikes();
    looks.extend(lookalike_samples(&mut rng, 40));
    let mut fp: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut fp_by_detector: BTreeMap<&str, usize> = BTreeMap::new();
    let mut fps = Vec::new();
    for (cat, text) in &looks {
        let out = base.redact(text);
        let e = fp.entry(cat).or_default();
        e.0 += 1;
        if !out.findings.is_empty() {
            e.1 += 1;
            for f in &out.findings {
                *fp_by_detector.entry(f.kind).or_default() += 1;
                fps.push(format!(
                    "[{cat}] {} fired on {:?} in {text:?}",
                    f.kind,
                    &text[f.start..f.end]
                ));
            }
        }
    }

    let total: usize = stats.values().map(|s| s.0).sum();
    let caught: usize = stats.values().map(|s| s.1).sum();
    let caught_stream: usize = stats.values().map(|s| s.2).sum();
    println!("\nsecrets: {total} samples, {} detectors", stats.len());
    println!(
        "{:<20} {:>5} {:>8} {:>8} {:>10}",
        "detector", "n", "recall", "stream", "kind-match"
    );
    for (k, (n, c, s, kr)) in &stats {
        println!(
            "{k:<20} {n:>5} {:>7.1}% {:>7.1}% {:>9.1}%",
            100.0 * *c as f64 / *n as f64,
            100.0 * *s as f64 / *n as f64,
            100.0 * *kr as f64 / *n as f64
        );
    }
    println!(
        "{:<20} {total:>5} {:>7.1}% {:>7.1}%",
        "ALL",
        100.0 * caught as f64 / total as f64,
        100.0 * caught_stream as f64 / total as f64
    );
    let ltotal: usize = fp.values().map(|s| s.0).sum();
    let lfp: usize = fp.values().map(|s| s.1).sum();
    println!("\nlook-alikes: {ltotal} samples");
    println!("{:<20} {:>5} {:>8}", "category", "n", "FP rate");
    for (k, (n, f)) in &fp {
        println!("{k:<20} {n:>5} {:>7.1}%", 100.0 * *f as f64 / *n as f64);
    }
    println!(
        "{:<20} {ltotal:>5} {:>7.1}%",
        "ALL",
        100.0 * lfp as f64 / ltotal as f64
    );
    println!("false positives by detector: {fp_by_detector:?}");
    for m in misses.iter().take(40) {
        println!("MISS {m}");
    }
    for m in kind_mismatch.iter().take(20) {
        println!("KIND {m}");
    }
    for f in fps.iter().take(40) {
        println!("FP   {f}");
    }

    assert!(total >= 300, "at least 300 secrets");
    assert!(ltotal >= 300, "at least 300 look-alikes");
    for (k, (n, c, s, _)) in &stats {
        assert!(*c as f64 / *n as f64 >= 0.95, "recall of {k} below 95%");
        assert!(
            *s as f64 / *n as f64 >= 0.95,
            "stream recall of {k} below 95%"
        );
    }
    assert!(
        caught as f64 / total as f64 >= 0.98,
        "overall recall below 98%"
    );
    assert!(
        lfp as f64 / ltotal as f64 <= 0.01,
        "false-positive rate above 1%"
    );
}

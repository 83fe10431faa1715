//! The pattern detectors: literal anchors found in one Aho-Corasick pass,
//! each anchor hit confirmed by its rule's regex on a small window and a
//! validation of the candidate; plus one pass over "tokens" for the
//! entropy-based generic detector.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;

use super::Cand;

pub(super) fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(Rules::build)
}

const PRIO_PEM: u8 = 90;
const PRIO_PROVIDER: u8 = 50;
const PRIO_CONTEXT: u8 = 30;
const PRIO_GENERIC: u8 = 10;

/// Minimum and maximum token length for the generic detector.
const GENERIC_MIN: usize = 20;
const GENERIC_MAX: usize = 160;

/// A regex match handed to a rule's validation.
struct Hit<'a> {
    text: &'a str,
    /// The whole match.
    whole: (usize, usize),
    /// The part to redact.
    secret: (usize, usize),
    /// Capture group 1 when the rule has a name group (assignments).
    name: Option<&'a str>,
}

impl Hit<'_> {
    fn secret(&self) -> &str {
        &self.text[self.secret.0..self.secret.1]
    }
}

type Check = fn(&Hit<'_>) -> Option<&'static str>;

enum Matcher {
    /// Regex; the secret is the first participating capture group at or after
    /// `group` (0 = the whole match). With `named`, group 1 is a name passed to
    /// the check and the secret is the first participating group after it.
    Re {
        re: Lazy,
        group: usize,
        named: bool,
    },
    Pem,
    PemBase64,
    /// `NAME = VALUE` around a keyword anchor (hand-written: hot path).
    Assign,
}

struct Rule {
    anchors: Vec<&'static str>,
    m: Matcher,
    /// How many bytes before the anchor the match may start (within its line).
    back: usize,
    /// How many bytes after the anchor the match may extend (within its line).
    fwd: usize,
    /// The byte before the match must not be alphanumeric.
    left_boundary: bool,
    /// The byte after the secret must not be alphanumeric.
    right_boundary: bool,
    check: Check,
    prio: u8,
    /// A cheap test at the anchor before running the regex.
    prefilter: Option<fn(&[u8], usize) -> bool>,
    /// The finding's kind when the check passes (overrides the check's).
    kind: Option<&'static str>,
    /// The match may continue on the next line (`- name: DB_PASSWORD` then
    /// `value: …`).
    next_line: bool,
}

pub(super) struct Rules {
    rules: Vec<Rule>,
    anchors: AhoCorasick,
    /// Per anchor pattern: the rules it triggers.
    anchor_rules: Vec<Vec<usize>>,
    /// The anchor patterns (lowercase).
    patterns: Vec<String>,
}

fn build_automaton<'a>(
    patterns: impl Iterator<Item = &'a str>,
) -> Result<AhoCorasick, aho_corasick::BuildError> {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .prefilter(false)
        .byte_classes(true)
        .build(patterns)
}

/// A regex compiled on first use: most rules never see their anchor in a
/// given run, so `interlock redact` on one line compiles one or two of them.
pub(super) struct Lazy {
    pattern: &'static str,
    /// Written for an engine whose `\w`, `\d`, `\s` and `\b` are ASCII (the
    /// rule data): compiled with those classes spelled out in ASCII.
    ascii: bool,
    cell: OnceLock<Regex>,
}

impl Lazy {
    fn get(&self) -> &Regex {
        self.cell.get_or_init(|| {
            let re = if self.ascii {
                Regex::new(&ascii_classes(self.pattern))
            } else {
                Regex::new(self.pattern)
            };
            re.expect("detector regex")
        })
    }
}

fn re(pattern: &'static str) -> Lazy {
    Lazy {
        pattern,
        ascii: false,
        cell: OnceLock::new(),
    }
}

/// Rewrites the Perl classes of a pattern written for an ASCII engine (Go's
/// RE2, which the rule data targets) into their ASCII meaning. Besides
/// matching as the rule's authors meant, this keeps compilation cheap: the
/// data repeats `[\w.-]{0,50}`-style classes, and a repeated Unicode `\w` is
/// a large automaton (about 55 ms to compile one such rule against 1 ms).
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 32);
    let mut chars = pattern.chars().peekable();
    // Depth of nested `[...]` classes; a `]` right after `[` or `[^` is literal.
    let mut depth = 0usize;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_class_start = std::mem::take(&mut class_start);
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push(c);
                    break;
                };
                let body = match e {
                    'w' => Some("0-9A-Za-z_"),
                    'd' => Some("0-9"),
                    's' => Some("\\t\\n\\x0C\\r "),
                    _ => None,
                };
                match (body, depth) {
                    (Some(b), 0) => {
                        out.push('[');
                        out.push_str(b);
                        out.push(']');
                    }
                    (Some(b), _) => out.push_str(b),
                    (None, 0) if matches!(e, 'b' | 'B') => {
                        out.push_str("(?-u:\\");
                        out.push(e);
                        out.push(')');
                    }
                    (None, _) => {
                        out.push(c);
                        out.push(e);
                    }
                }
            }
            '[' => {
                out.push(c);
                depth += 1;
                class_start = true;
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            ']' if depth > 0 && !at_class_start => {
                out.push(c);
                depth -= 1;
            }
            _ => out.push(c),
        }
    }
    out
}

fn rule(
    anchors: &'static [&'static str],
    pattern: &'static str,
    group: usize,
    check: Check,
    prio: u8,
) -> Rule {
    Rule {
        anchors: anchors.to_vec(),
        m: Matcher::Re {
            re: re(pattern),
            group,
            named: false,
        },
        back: 0,
        fwd: 1024,
        left_boundary: true,
        right_boundary: true,
        check,
        prio,
        prefilter: None,
        kind: None,
        next_line: false,
    }
}

const ASSIGN_ANCHORS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "credential",
    "key",
    "pass",
    "auth",
];

/// A provider format recognised by its prefix: `kind` when the match is not
/// a placeholder and looks random enough.
fn provider(anchors: &'static [&'static str], pattern: &'static str, kind: &'static str) -> Rule {
    Rule {
        kind: Some(kind),
        ..rule(anchors, pattern, 0, check_provider, PRIO_PROVIDER)
    }
}

/// Provider formats added for issue 16 (prefixes and shapes as published by
/// the providers and by the public secret-scanner rule sets).
fn provider_rules() -> Vec<Rule> {
    vec![
        Rule {
            fwd: 4096,
            ..provider(
                &["ABSK"],
                r"ABSK[A-Za-z0-9+/]{109,269}={0,2}",
                "aws_bedrock_key",
            )
        },
        Rule {
            fwd: 8192,
            ..provider(
                &["bedrock-api-key-"],
                r"bedrock-api-key-[A-Za-z0-9+/]{40,6000}={0,2}",
                "aws_bedrock_key",
            )
        },
        provider(
            &["discord.com/api/webhooks/", "discordapp.com/api/webhooks/"],
            r"discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,68}",
            "discord_webhook",
        ),
        provider(
            &["squ_", "sqp_", "sqa_"],
            r"sq[upa]_[a-f0-9]{40}",
            "sonar_token",
        ),
        provider(
            &["AGE-SECRET-KEY-1"],
            r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
            "age_secret_key",
        ),
        provider(
            &["dop_v1_", "doo_v1_", "dor_v1_"],
            r"do[por]_v1_[a-f0-9]{64}",
            "digitalocean_token",
        ),
        provider(
            &[
                "dp.pt.",
                "dp.st.",
                "dp.sa.",
                "dp.ct.",
                "dp.scim.",
                "dp.audit.",
            ],
            r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}",
            "doppler_token",
        ),
        provider(
            &["shpat_", "shpca_", "shppa_", "shpss_"],
            r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",
            "shopify_token",
        ),
        provider(
            &["xkeysib-", "xsmtpsib-"],
            r"(?:xkeysib|xsmtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}",
            "brevo_key",
        ),
        provider(
            &["glc_", "glsa_"],
            r"(?:glc_[A-Za-z0-9+/]{32,400}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})",
            "grafana_token",
        ),
        provider(&["lin_api_"], r"lin_api_[A-Za-z0-9]{40}", "linear_key"),
        provider(
            &["pscale_tkn_", "pscale_pw_", "pscale_oauth_"],
            r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9=._-]{32,64}",
            "planetscale_token",
        ),
        provider(&["pul-"], r"pul-[a-f0-9]{40}", "pulumi_token"),
        provider(&["rubygems_"], r"rubygems_[a-f0-9]{48}", "rubygems_key"),
        provider(
            &["sntryu_", "sntrys_"],
            r"(?:sntryu_[a-f0-9]{64}|sntrys_eyJ[A-Za-z0-9+/=_]{60,400})",
            "sentry_token",
        ),
        provider(
            &["hvs.", "hvb."],
            r"hv[sb]\.[A-Za-z0-9_-]{90,300}",
            "vault_token",
        ),
        provider(&["dckr_pat_"], r"dckr_pat_[A-Za-z0-9_-]{27}", "docker_pat"),
        provider(&["gsk_"], r"gsk_[A-Za-z0-9]{52}", "groq_key"),
        provider(&["xai-"], r"xai-[A-Za-z0-9]{80}", "xai_key"),
        provider(&["r8_"], r"r8_[A-Za-z0-9]{37}", "replicate_token"),
        provider(&["pplx-"], r"pplx-[A-Za-z0-9]{48}", "perplexity_key"),
        Rule {
            fwd: 4096,
            ..provider(
                &["ya29."],
                r"ya29\.[A-Za-z0-9_-]{30,2000}",
                "google_oauth_token",
            )
        },
        provider(
            &["GOCSPX-"],
            r"GOCSPX-[A-Za-z0-9_-]{28}",
            "google_oauth_secret",
        ),
        provider(
            &["ATATT3"],
            r"ATATT3[A-Za-z0-9_=-]{180,200}",
            "atlassian_token",
        ),
        provider(
            &["sq0atp-", "sq0csp-"],
            r"sq0(?:atp-[A-Za-z0-9_-]{22,60}|csp-[A-Za-z0-9_-]{43})",
            "square_token",
        ),
        provider(
            &["dapi"],
            r"dapi[a-f0-9]{32}(?:-[0-9])?",
            "databricks_token",
        ),
        provider(&["PMAK-"], r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}", "postman_key"),
        provider(&["NRAK-"], r"NRAK-[A-Z0-9]{27}", "newrelic_key"),
        Rule {
            back: 16,
            ..provider(
                &[".atlasv1."],
                r"[a-z0-9]{14}\.atlasv1\.[a-z0-9_=-]{60,70}",
                "terraform_token",
            )
        },
        provider(
            &["lsv2_pt_", "lsv2_sk_"],
            r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}",
            "langsmith_key",
        ),
        provider(&["HRKU-AA"], r"HRKU-AA[A-Za-z0-9_-]{58}", "heroku_key"),
        provider(&["oy2"], r"oy2[a-z0-9]{43}", "nuget_key"),
        Rule {
            back: 4,
            ..provider(
                &["Q~"],
                r"[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}",
                "azure_client_secret",
            )
        },
        Rule {
            back: 33,
            ..provider(&["-us"], r"[a-f0-9]{32}-us[0-9]{1,2}", "mailchimp_key")
        },
        Rule {
            back: 17,
            ..provider(
                &[":AA"],
                r"[0-9]{5,16}:AA[A-Za-z0-9_-]{33}",
                "telegram_bot_token",
            )
        },
        provider(
            &["dt0c01."],
            r"dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}",
            "dynatrace_token",
        ),
        provider(&["figd_"], r"figd_[A-Za-z0-9_-]{38,43}", "figma_token"),
        Rule {
            fwd: 8192,
            ..provider(
                &["ops_eyJ"],
                r"ops_eyJ[A-Za-z0-9+/]{250,4000}={0,3}",
                "onepassword_token",
            )
        },
        provider(&["sk-or-v1-"], r"sk-or-v1-[a-f0-9]{64}", "openrouter_key"),
        // Held-out misses (issue 16): Microsoft Teams incoming webhooks, Sourcegraph
        // and Tavily tokens.
        provider(
            &["webhook.office.com/", "outlook.office.com/webhook"],
            r"(?:[a-z0-9-]+\.webhook|outlook)\.office\.com/webhook(?:b2)?/[a-f0-9-]{36}@[a-f0-9-]{36}/IncomingWebhook/[a-f0-9]{32}/[a-f0-9-]{36}",
            "teams_webhook",
        ),
        provider(
            &["sgp_"],
            r"sgp_(?:[a-f0-9]{16}_)?[a-f0-9]{40}",
            "sourcegraph_token",
        ),
        provider(&["tvly-"], r"tvly-(?:dev-)?[A-Za-z0-9]{32}", "tavily_key"),
        // New Relic licence (`…NRAL`) and admin (`NRAA-`) keys, Pixie deploy and
        // API keys (a UUID behind the prefix).
        Rule {
            back: 36,
            ..provider(&["NRAL"], r"[a-z0-9]{36}NRAL", "newrelic_key")
        },
        provider(&["NRAA-"], r"NRAA-[a-f0-9]{27}", "newrelic_key"),
        provider(
            &["px-dep-", "px-api-"],
            r"px-(?:dep|api)-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
            "newrelic_key",
        ),
        // Azure DevOps personal access tokens (84 characters, `AZDO` at 77).
        Rule {
            back: 76,
            ..provider(
                &["AZDO"],
                r"[a-zA-Z0-9]{76}AZDO[a-zA-Z0-9]{4}",
                "azure_devops_pat",
            )
        },
        // ThingsBoard device access tokens in the telemetry URL path.
        Rule {
            right_boundary: false,
            kind: Some("provider_token"),
            ..rule(
                &["thingsboard.cloud/api/v1/"],
                r"thingsboard\.cloud/api/v1/([a-z0-9]{20})/",
                1,
                check_provider,
                PRIO_PROVIDER,
            )
        },
        // Keyword-anchored: a Snyk token is a UUID, telling only by its name.
        Rule {
            kind: Some("snyk_token"),
            ..rule(
                &["snyk"],
                r#"(?i:snyk[\w. -]{0,40}?(?:key|api|token|auth))[\w.-]{0,12}\\?["']?\s*(?::=|=|:|\s)\s*\\?["']?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"#,
                1,
                check_provider,
                PRIO_PROVIDER,
            )
        },
    ]
}

/// Credentials passed on command lines: `mysql -pSECRET`, `sshpass -p SECRET`,
/// `docker login -p SECRET`, `curl -u TOKEN:`, XML elements and attributes.
fn command_line_rules() -> Vec<Rule> {
    let named = |anchors: &'static [&'static str], pattern: &'static str, back: usize| Rule {
        back,
        left_boundary: false,
        right_boundary: false,
        m: Matcher::Re {
            re: re(pattern),
            group: 2,
            named: true,
        },
        ..rule(anchors, "x", 0, check_assignment, PRIO_CONTEXT)
    };
    let cli = |anchors: &'static [&'static str], pattern: &'static str, back: usize| Rule {
        check: check_cli_password,
        ..named(anchors, pattern, back)
    };
    vec![
        // The value glued to `-p` (a bare `-p` prompts, and is left alone).
        cli(
            &["mysql", "mariadb"],
            r#"\b((?:mysql|mysqldump|mysqladmin|mysqlimport|mariadb|mariadb-dump)(?:\s+[^\s|;&]+)*?\s+-p)(?:'([^'\r\n]{1,300})'|"([^"\r\n]{1,300})"|([^\s'"|;&]{1,300}))"#,
            0,
        ),
        cli(
            &["sshpass"],
            r#"\b(sshpass(?:\s+-[a-oq-zA-Z]\S*)*\s+-p)\s*(?:'([^'\r\n]{1,300})'|"([^"\r\n]{1,300})"|([^\s'"|;&]{1,300}))"#,
            0,
        ),
        cli(
            &["login"],
            r#"\b((?:docker|podman|buildah|helm\s+registry|oras|skopeo|nerdctl)\s+login(?:\s+[^\s|;&]+)*?\s+(?:-p|--password)[ =])\s*(?:'([^'\r\n]{1,300})'|"([^"\r\n]{1,300})"|([^\s'"|;&]{1,300}))"#,
            40,
        ),
        // `psexec \\host -u USER -p VALUE`
        cli(
            &["psexec"],
            r#"\b((?i:psexec(?:\.exe)?)(?:\s+[^\s|;&]+)*?\s+-p)\s+(?:'([^'\r\n]{1,300})'|"([^"\r\n]{1,300})"|([^\s'"|;&]{1,300}))"#,
            0,
        ),
        // PowerShell: `Connect-VIServer … -Password VALUE`.
        cli(
            &["-password "],
            r#"(?:^|\s)(-(?i:password))\s+(?:'([^'\r\n]{1,300})'|"([^"\r\n]{1,300})"|([^\s'"|;&]{1,300}))"#,
            1,
        ),
        // `{"key": "db_password", "value": "…"}`, `- name: DB_PASSWORD` then
        // `value: …` (Kubernetes env lists), `<name>…</name><value>…</value>`.
        Rule {
            check: check_named_value,
            next_line: true,
            prefilter: Some(value_follows),
            ..named(
                &["password", "passwd", "pwd", "secret", "token", "key"],
                r#"(?i:name|key)["']?\s*:\s*["']?([A-Za-z0-9_.-]*(?i:password|passwd|pwd|secret|token|api_?key|apikey|pass))["']?\s*,?\s*(?:\r?\n\s*)?["']?(?i:value)["']?\s*:\s*(?:"([^"\r\n]{1,300})"|'([^'\r\n]{1,300})'|([^\s,}"']{1,300}))"#,
                64,
            )
        },
        Rule {
            check: check_named_value,
            next_line: true,
            prefilter: Some(value_follows),
            ..named(
                &["password<", "passwd<", "pwd<", "secret<", "token<", "key<"],
                r#"<(?:name|key)>\s*([A-Za-z0-9_.-]*(?i:password|passwd|pwd|secret|token|api_?key|apikey))\s*</(?:name|key)>\s*<value>([^<\r\n]{1,300})</value>"#,
                64,
            )
        },
        // Prose: `the password is 'Secret123'`, `the default password for user
        // "x" is "y"`.
        cli(
            &["password"],
            r#"\b((?i:password))\s+(?:for\s+(?:the\s+)?(?:user\s+)?['"]?[^\s'"]{1,64}['"]?\s+)?is\s+(?:'([^'\s]{1,64})'|"([^"\s]{1,64})")"#,
            0,
        ),
        // SonarQube: `-Dsonar.login=…`, `$sonarLogin = "…"`.
        Rule {
            kind: Some("sonar_token"),
            left_boundary: false,
            ..rule(
                &["sonar.login", "sonarlogin", "sonar_login"],
                r#"(?i:sonar[._]?login)['"]?\s*(?:=|:|,)\s*['"]?([a-f0-9]{40})\b"#,
                1,
                check_provider,
                PRIO_CONTEXT,
            )
        },
        // A default in code: `os.getenv("DB_PASSWORD", "…")`,
        // `environ.get("pwd", "…")`, PHP `define("DB_PASSWORD", "…")`.
        named(
            &["getenv(", "environ.get(", "define("],
            r#"\b(?:getenv|environ\.get|define)\(\s*["']([A-Za-z0-9_.-]*(?i:password|passwd|pwd|secret|token|api_?key|apikey))["']\s*,\s*(?:"([^"\r\n]{1,300})"|'([^'\r\n]{1,300})')"#,
            0,
        ),
        // `<password>VALUE</password>`, `<db_passwords>VALUE</db_passwords>`
        named(
            &[
                "password>",
                "passwd>",
                "pwd>",
                "secret>",
                "token>",
                "key>",
                "passwords>",
                "secrets>",
                "tokens>",
            ],
            r#"<([A-Za-z0-9_:.-]*(?i:password|passwd|pwd|secret|token|api_?key|apikey|private_?key|access_?key)s?)>([^<\r\n]{1,300})</"#,
            64,
        ),
        // `<add key="ApiKey" value="VALUE"/>`, `<entry name="client_secret">VALUE</entry>`
        Rule {
            prefilter: Some(xml_value_follows),
            ..named(
                &[
                    "password\"",
                    "passwd\"",
                    "pwd\"",
                    "secret\"",
                    "token\"",
                    "key\"",
                ],
                r#"(?i:key|name)\s*=\s*"([A-Za-z0-9_:.-]*(?i:password|passwd|pwd|secret|token|api_?key|apikey|private_?key|access_?key))"\s*(?:(?i:value)\s*=\s*"([^"\r\n]{1,300})"|>([^<\r\n]{1,300})<)"#,
                64,
            )
        },
        // Java and C# setters: `ds.setPassword("…")`, `setClientSecret("…")`.
        named(
            &["password(", "passwd(", "secret(", "token(", "apikey("],
            r#"\b(set[A-Za-z0-9_]{0,40}?(?i:password|passwd|secret|token|api_?key|apikey))\(\s*"([^"\r\n]{1,300})"\s*[,)]"#,
            64,
        ),
        // C#: `new NetworkCredential("user", "…")`, the second argument.
        cli(
            &["networkcredential("],
            r#"\b(NetworkCredential\(\s*[^,()"\r\n]{0,200}(?:"[^"\r\n]{0,200}")?\s*,\s*)"([^"\r\n]{1,300})""#,
            64,
        ),
        // `curl -u TOKEN:` (an API key as the user name, no password).
        Rule {
            right_boundary: false,
            ..rule(
                &["-u ", "-u=", "--user "],
                r#"(?:-u|--user)[ =]+["']?([^\s:"']{8,128}):(?:["'\s]|$)"#,
                1,
                check_user_token,
                PRIO_CONTEXT,
            )
        },
    ]
}

/// Provider rule data from gitleaks (MIT licence; notice and pinned commit in
/// the file's header): id, secret group, keywords, regex per line.
const GITLEAKS_RULES: &str = include_str!("data/gitleaks.tsv");

/// Secret group "the first capture group if the regex has one, else the
/// whole match" (how the rule data's missing `secretGroup` reads).
const AUTO_GROUP: usize = usize::MAX;

/// The finding kind of every rule that comes from rule data.
const DATA_KIND: &str = "provider_token";

/// Rules read from tab-separated rule data. Each is anchored on its
/// keywords, so its regex is compiled only when a keyword occurs; the
/// window is the keyword's line, since the data's regexes put the keyword
/// anywhere in the match and bring their own boundaries.
fn data_rules(data: &'static str) -> Vec<Rule> {
    data.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut cols = l.splitn(4, '\t');
            let _id = cols.next()?;
            let group = match cols.next()? {
                "-" => AUTO_GROUP,
                g => g.parse().ok()?,
            };
            let anchors: Vec<&'static str> = cols.next()?.split(',').collect();
            let pattern = cols.next()?;
            Some(Rule {
                anchors,
                m: Matcher::Re {
                    re: Lazy {
                        ascii: true,
                        ..re(pattern)
                    },
                    group,
                    named: false,
                },
                back: 128,
                fwd: 1024,
                left_boundary: false,
                right_boundary: false,
                check: check_provider,
                prio: PRIO_PROVIDER - 1,
                prefilter: None,
                kind: Some(DATA_KIND),
                next_line: false,
            })
        })
        .collect()
}

impl Rules {
    fn build() -> Rules {
        let mut rules = vec![
            Rule {
                anchors: vec!["-----BEGIN"],
                m: Matcher::Pem,
                back: 0,
                fwd: 0,
                left_boundary: false,
                right_boundary: false,
                check: |_| Some("private_key"),
                prio: PRIO_PEM,
                prefilter: None,
                kind: None,
                next_line: false,
            },
            Rule {
                anchors: vec!["LS0tLS1CRUdJTi"],
                m: Matcher::PemBase64,
                back: 0,
                fwd: 0,
                left_boundary: true,
                right_boundary: false,
                check: |_| Some("private_key"),
                prio: PRIO_PEM,
                prefilter: None,
                kind: None,
                next_line: false,
            },
            rule(
                &["sk-ant-"],
                r"sk-ant-[a-z]{2,10}[0-9]{0,3}-[A-Za-z0-9_-]{32,300}",
                0,
                |h| prefixed(h, 3.5).then_some("anthropic_key"),
                PRIO_PROVIDER + 1,
            ),
            rule(
                &["sk-"],
                r"sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_-]{20,300}",
                0,
                check_openai,
                PRIO_PROVIDER,
            ),
            rule(
                &["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
                r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}",
                0,
                check_aws_id,
                PRIO_PROVIDER,
            ),
            // An access key id followed by its secret (credentials CSV, `aws configure` pastes).
            Rule {
                right_boundary: true,
                ..rule(
                    &["AKIA", "ASIA"],
                    r#"(?:AKIA|ASIA)[A-Z0-9]{16}[\s,;:|"']{1,6}([A-Za-z0-9/+]{40})"#,
                    1,
                    check_aws_secret,
                    PRIO_PROVIDER,
                )
            },
            Rule {
                back: 24,
                ..rule(
                    &[
                        "aws_secret",
                        "aws-secret",
                        "awssecret",
                        "secret_access",
                        "secretaccess",
                        "secret-access",
                    ],
                    r#"(?i:aws[_-]?secret(?:[_-]?access)?(?:[_-]?key)?|secret[_-]?access[_-]?key)[A-Za-z0-9_]*\\?["']?\s*(?:=>|:=|=|:)\s*\\?["']?([A-Za-z0-9/+]{40})"#,
                    1,
                    check_aws_secret,
                    PRIO_PROVIDER,
                )
            },
            rule(
                &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
                r"gh[pousr]_[A-Za-z0-9]{30,251}",
                0,
                |h| prefixed(h, 3.0).then_some("github_token"),
                PRIO_PROVIDER,
            ),
            rule(
                &["github_pat_"],
                r"github_pat_[A-Za-z0-9_]{40,255}",
                0,
                |h| prefixed(h, 3.0).then_some("github_pat"),
                PRIO_PROVIDER,
            ),
            rule(
                &[
                    "glpat-",
                    "gldt-",
                    "glrt-",
                    "glptt-",
                    "glcbt-",
                    "glft-",
                    "glsoat-",
                    "glimt-",
                    "glagent-",
                    "GR1348941",
                ],
                r"(?:gl(?:pat|dt|rt|ptt|cbt|ft|soat|imt|agent)-|GR1348941)[A-Za-z0-9_.-]{20,300}",
                0,
                |h| prefixed(h, 3.0).then_some("gitlab_token"),
                PRIO_PROVIDER,
            ),
            rule(
                &[
                    "xoxb-", "xoxp-", "xoxa-", "xoxo-", "xoxs-", "xoxr-", "xoxe", "xapp-",
                ],
                r"(?:xox[abposre](?:\.xox[a-z])?|xapp)-[0-9A-Za-z-]{8,250}",
                0,
                check_slack_token,
                PRIO_PROVIDER,
            ),
            rule(
                &["hooks.slack.com/"],
                r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{20,250}",
                0,
                check_slack_webhook,
                PRIO_PROVIDER,
            ),
            rule(
                &["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"],
                r"(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}|whsec_[A-Za-z0-9+/=]{24,128})",
                0,
                |h| prefixed(h, 3.0).then_some("stripe_key"),
                PRIO_PROVIDER,
            ),
            rule(
                &["AIza"],
                r"AIza[0-9A-Za-z_-]{35}",
                0,
                |h| prefixed(h, 3.0).then_some("google_api_key"),
                PRIO_PROVIDER,
            ),
            rule(
                &["SG."],
                r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}",
                0,
                |h| prefixed(h, 3.0).then_some("sendgrid_key"),
                PRIO_PROVIDER,
            ),
            rule(
                &["npm_"],
                r"npm_[A-Za-z0-9]{36}",
                0,
                |h| prefixed(h, 3.0).then_some("npm_token"),
                PRIO_PROVIDER,
            ),
            rule(
                &["pypi-AgE"],
                r"pypi-AgE[A-Za-z0-9_-]{50,500}",
                0,
                |h| prefixed(h, 3.0).then_some("pypi_token"),
                PRIO_PROVIDER,
            ),
            rule(
                &["hf_", "api_org_"],
                r"(?:hf|api_org)_[A-Za-z0-9]{30,60}",
                0,
                |h| {
                    (prefixed(h, 3.0) && !is_camel_identifier(body_after_prefix(h.secret())))
                        .then_some("huggingface_token")
                },
                PRIO_PROVIDER,
            ),
            Rule {
                fwd: 16 * 1024,
                ..rule(
                    &["eyJ"],
                    r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*",
                    0,
                    |h| (!is_placeholder(h.secret())).then_some("jwt"),
                    PRIO_PROVIDER,
                )
            },
            Rule {
                back: 32,
                prefilter: Some(userinfo_follows),
                left_boundary: false,
                right_boundary: false,
                ..rule(
                    &["://"],
                    r#"[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s:/?#@"'<>\\]{0,256}:([^\s/?#@"'<>\\]{1,256})@[A-Za-z0-9\[_-]"#,
                    1,
                    check_url_password,
                    PRIO_CONTEXT + 5,
                )
            },
            // No upper bound on the token: the window (`fwd`, 1 KiB) bounds it,
            // and a `{8,4096}` repetition cost 3 ms to compile.
            Rule {
                right_boundary: false,
                ..rule(
                    &["authorization"],
                    r#"(?i:authorization)\\?["']?\s*[:=]\s*\\?["']?(?i:bearer|basic|token|digest|apikey|api-key|bot|ssws)\s+([A-Za-z0-9._~+/=-]{8,})"#,
                    1,
                    check_auth_header,
                    PRIO_CONTEXT + 5,
                )
            },
            // Unbounded for the same reason as the header rule above.
            Rule {
                right_boundary: false,
                ..rule(
                    &["bearer"],
                    r"(?i:bearer)\s+([A-Za-z0-9._~+/=-]{16,})",
                    1,
                    check_bearer,
                    PRIO_CONTEXT,
                )
            },
            Rule {
                right_boundary: false,
                ..rule(
                    &["-u ", "-u=", "--user "],
                    r#"(?:-u|--user)[ =]+["']?[^\s:"']{1,128}:([^\s"']{1,256})"#,
                    1,
                    check_basic_auth,
                    PRIO_CONTEXT,
                )
            },
            Rule {
                back: 64,
                left_boundary: false,
                right_boundary: false,
                ..Rule {
                    m: Matcher::Assign,
                    prefilter: Some(assignment_follows),
                    ..rule(ASSIGN_ANCHORS, "x", 0, check_assignment, PRIO_CONTEXT)
                }
            },
            // Command-line flags: `--password VALUE`, `--api-key VALUE`.
            Rule {
                back: 40,
                left_boundary: false,
                right_boundary: false,
                ..Rule {
                    m: Matcher::Re {
                        re: re(concat!(
                            r#"(--(?i:[a-z0-9]+-)*(?i:password|passwd|token|api-?key|secret|secret-key|access-key))"#,
                            r#"\s+(?:"([^"\r\n]{1,300})"|'([^'\r\n]{1,300})'|([^\s"'`;|&<>]{1,300}))"#,
                        )),
                        group: 2,
                        named: true,
                    },
                    prefilter: Some(flag_before),
                    ..rule(ASSIGN_ANCHORS, "x", 0, check_assignment, PRIO_CONTEXT)
                }
            },
            // .netrc: `machine HOST login USER password PASS` or `password PASS` on its own line.
            Rule {
                back: 64,
                left_boundary: false,
                right_boundary: false,
                ..Rule {
                    m: Matcher::Re {
                        re: re(
                            r"(?i)(?:^\s*|\bmachine\s+\S+\s+(?:login\s+\S+\s+)?)(password|passwd)\s+(\S{1,300})\s*$",
                        ),
                        group: 2,
                        named: true,
                    },
                    prefilter: Some(space_follows),
                    ..rule(
                        &["password", "passwd"],
                        "x",
                        0,
                        check_assignment,
                        PRIO_CONTEXT,
                    )
                }
            },
        ];
        rules.extend(provider_rules());
        rules.extend(command_line_rules());
        rules.extend(data_rules(GITLEAKS_RULES));
        // Lines capped, so the `$` of the netrc rule means "end of line".
        rules.shrink_to_fit();

        let mut patterns: Vec<String> = Vec::new();
        let mut anchor_rules: Vec<Vec<usize>> = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            for a in &r.anchors {
                let a = a.to_ascii_lowercase();
                match patterns.iter().position(|p| *p == a) {
                    Some(j) => anchor_rules[j].push(i),
                    None => {
                        patterns.push(a);
                        anchor_rules.push(vec![i]);
                    }
                }
            }
        }
        let anchors =
            build_automaton(patterns.iter().map(String::as_str)).expect("anchor automaton");
        Rules {
            rules,
            anchors,
            anchor_rules,
            patterns,
        }
    }

    /// One automaton for the anchors and the known secret values (known
    /// values get pattern ids after the anchors), so a text is scanned once.
    pub(super) fn automaton_with<'a>(
        &'a self,
        known: impl Iterator<Item = &'a str>,
    ) -> Option<AhoCorasick> {
        build_automaton(self.patterns.iter().map(String::as_str).chain(known)).ok()
    }

    /// Appends every candidate in `text` (unresolved; may overlap). `ac` is
    /// [`Rules::automaton_with`] of `known` ((label index, value) pairs), or
    /// `None` for the anchors alone.
    pub(super) fn scan(
        &self,
        text: &str,
        out: &mut Vec<Cand>,
        ac: Option<&AhoCorasick>,
        known: &[(u32, String)],
    ) {
        let mut scanned_to = vec![0usize; self.rules.len()];
        // Public key and certificate blocks: the generic detector stays out.
        let mut safe = Vec::new();
        let n_anchors = self.patterns.len();
        for m in ac.unwrap_or(&self.anchors).find_overlapping_iter(text) {
            let pid = m.pattern().as_usize();
            if pid >= n_anchors {
                // A known secret: the automaton ignores ASCII case, the value must not.
                let (label, value) = &known[pid - n_anchors];
                if text.as_bytes()[m.start()..m.end()] == *value.as_bytes() {
                    out.push(Cand {
                        start: m.start(),
                        end: m.end(),
                        kind: "known_secret",
                        prio: 100,
                        known: Some(*label),
                    });
                }
                continue;
            }
            for &ri in &self.anchor_rules[pid] {
                if m.start() < scanned_to[ri] {
                    continue;
                }
                self.rules[ri].run(text, m.start(), &mut scanned_to[ri], out, &mut safe);
            }
        }
        token_scan(text, out, &safe);
    }
}

/// After the keyword at `at`: the rest of a name, an optional closing quote,
/// spaces, then `=` or `:`.
fn assignment_follows(b: &[u8], at: usize) -> bool {
    let mut i = at;
    let hi = (at + 64).min(b.len());
    while i < hi && (is_alnum(b[i]) || matches!(b[i], b'_' | b'.' | b'-')) {
        i += 1;
    }
    if i < hi && b[i] == b'\\' {
        i += 1;
    }
    if i < hi && matches!(b[i], b'"' | b'\'') {
        i += 1;
    }
    while i < hi && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    i < hi && matches!(b[i], b'=' | b':' | b'!') || comparison_before(b, at).is_some()
}

/// `"VALUE" == password`: the start of the operator before the name that
/// contains the keyword at `at` (spaces skipped), for `==`, `!=`, `===`, `!==`.
fn comparison_before(b: &[u8], at: usize) -> Option<usize> {
    let lo = at.saturating_sub(64);
    let mut j = at;
    while j > lo && is_name_byte(b[j - 1]) {
        j -= 1;
    }
    while j > 0 && matches!(b[j - 1], b' ' | b'\t') {
        j -= 1;
    }
    if j < 2 || b[j - 1] != b'=' || !matches!(b[j - 2], b'=' | b'!') {
        return None;
    }
    j -= 2;
    if j > 0 && b[j] == b'=' && matches!(b[j - 1], b'=' | b'!') {
        j -= 1;
    }
    Some(j)
}

/// `NAME" value=` or `NAME">`: an XML attribute naming a secret (JSON's
/// `"key":` is far more common and is left to the assignment rule).
fn xml_value_follows(b: &[u8], at: usize) -> bool {
    let hi = (at + 16).min(b.len());
    let Some(q) = b[at..hi].iter().position(|&c| c == b'"') else {
        return false;
    };
    let mut i = at + q + 1;
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    i < b.len() && matches!(b[i], b'v' | b'V' | b'>')
}

/// A `--flag` ends at the keyword at `at`: `--` earlier in the same word.
fn flag_before(b: &[u8], at: usize) -> bool {
    let lo = at.saturating_sub(40);
    let mut i = at;
    while i > lo && !b[i - 1].is_ascii_whitespace() {
        i -= 1;
        if i + 1 < b.len() && b[i] == b'-' && b[i + 1] == b'-' {
            return true;
        }
    }
    false
}

/// `password VALUE`: the keyword is followed by a space or tab.
fn space_follows(b: &[u8], at: usize) -> bool {
    let mut i = at;
    while i < b.len() && b[i].is_ascii_alphabetic() {
        i += 1;
    }
    i < b.len() && (b[i] == b' ' || b[i] == b'\t')
}

fn is_name_byte(c: u8) -> bool {
    is_alnum(c) || matches!(c, b'_' | b'.' | b'-')
}

/// `NAME = VALUE`, `"NAME": "VALUE"`, `NAME: VALUE`, `['NAME'] = VALUE`,
/// `\"NAME\": \"VALUE\"` around the keyword at `anchor`.
fn assignment_at(text: &str, anchor: usize) -> Option<Hit<'_>> {
    assignment_forward(text, anchor).or_else(|| {
        // `if "…" != admin_secret:`: the `:` after the name ends a statement.
        let b = text.as_bytes();
        let lo = anchor.saturating_sub(64);
        let mut ns = anchor;
        while ns > lo && is_name_byte(b[ns - 1]) {
            ns -= 1;
        }
        let mut ne = anchor;
        while ne < b.len() && ne - anchor < 64 && is_name_byte(b[ne]) {
            ne += 1;
        }
        comparison_literal_before(text, ns, ne)
    })
}

fn assignment_forward(text: &str, anchor: usize) -> Option<Hit<'_>> {
    let b = text.as_bytes();
    let n = b.len();
    let lo = anchor.saturating_sub(64);
    let mut ns = anchor;
    while ns > lo && is_name_byte(b[ns - 1]) {
        ns -= 1;
    }
    if ns >= 2 && &b[ns - 2..ns] == b"${" {
        return None;
    }
    let mut i = anchor;
    while i < n && i - anchor < 64 && is_name_byte(b[i]) {
        i += 1;
    }
    let ne = i;
    if i < n && b[i] == b'\\' {
        i += 1;
    }
    if i < n && matches!(b[i], b'"' | b'\'') {
        i += 1;
    }
    if i < n && b[i] == b']' {
        i += 1;
    }
    while i < n && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    // `password == "…"`, `secret !== '…'`: a comparison with a literal.
    let mut compare = false;
    match b.get(i..i + 2) {
        Some(b"=>") | Some(b":=") => i += 2,
        // `Auth::Unauthenticated`: a path in Rust or C++.
        Some(b"::") => return None,
        Some(b"==") | Some(b"!=") => {
            compare = true;
            i += 2;
            if b.get(i) == Some(&b'=') {
                i += 1;
            }
        }
        _ if i < n && matches!(b[i], b'=' | b':') => i += 1,
        _ => return comparison_literal_before(text, ns, ne),
    }
    while i < n && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    if i >= n || compare && !matches!(b[i], b'"' | b'\'' | b'`') {
        return None;
    }
    let stop = |c: u8| c == b'\n' || c == b'\r';
    let (vs, ve, end) = if b[i] == b'\\' && b.get(i + 1) == Some(&b'"') {
        let vs = i + 2;
        let mut j = vs;
        while j < n
            && j - vs <= 300
            && !stop(b[j])
            && !(b[j] == b'\\' && b.get(j + 1) == Some(&b'"'))
        {
            j += 1;
        }
        if j >= n || b[j] != b'\\' {
            return None;
        }
        (vs, j, j + 2)
    } else if matches!(b[i], b'"' | b'\'' | b'`') {
        let q = b[i];
        let vs = i + 1;
        let mut j = vs;
        while j < n && j - vs <= 300 && b[j] != q && !stop(b[j]) {
            j += 1;
        }
        if j >= n || b[j] != q {
            return None;
        }
        (vs, j, j + 1)
    } else {
        let vs = i;
        let mut j = vs;
        while j < n
            && j - vs < 300
            && !b[j].is_ascii_whitespace()
            && !matches!(
                b[j],
                b'"' | b'\''
                    | b'`'
                    | b','
                    | b';'
                    | b'('
                    | b')'
                    | b'{'
                    | b'}'
                    | b'['
                    | b']'
                    | b'<'
                    | b'>'
            )
        {
            j += 1;
        }
        // `secret: m{{h}o)p$#x}}`: brackets that do not pair up are part of
        // the value, not code around it.
        if j > vs && j < n && matches!(b[j], b'(' | b')' | b'{' | b'}' | b'[' | b']') {
            let mut k = j;
            while k < n
                && k - vs < 300
                && !b[k].is_ascii_whitespace()
                && !matches!(b[k], b'"' | b'\'' | b'`')
            {
                k += 1;
            }
            while k > j && matches!(b[k - 1], b',' | b';') {
                k -= 1;
            }
            // Only a value that ends its line (a stray closing quote or comma
            // aside), does not end in an opening bracket and is more than a
            // name with brackets (`secrets[`, `password}`).
            let mut r = k;
            while r < n
                && matches!(
                    b[r],
                    b'"' | b'\'' | b'`' | b',' | b';' | b' ' | b'\t' | b'\r'
                )
            {
                r += 1;
            }
            let ends_line = r >= n || b[r] == b'\n';
            let bare: Vec<u8> = b[vs..k]
                .iter()
                .copied()
                .filter(|c| !matches!(c, b'(' | b')' | b'{' | b'}' | b'[' | b']'))
                .collect();
            let name_only = bare
                .iter()
                .all(|&c| is_alnum(c) || matches!(c, b'_' | b'.'));
            if ends_line
                && !matches!(b[k - 1], b'(' | b'[' | b'{')
                && !name_only
                && !brackets_balanced(&b[vs..k])
            {
                j = k;
            }
        }
        (vs, j, j)
    };
    if ve <= vs || !text.is_char_boundary(vs) || !text.is_char_boundary(ve) {
        return None;
    }
    Some(Hit {
        text,
        whole: (ns, end),
        secret: (vs, ve),
        name: Some(&text[ns..ne]),
    })
}

/// Every `(`, `[`, `{` closed in order: code such as `get(x)` or `a[i]`.
fn brackets_balanced(v: &[u8]) -> bool {
    let mut stack = Vec::new();
    for &c in v {
        match c {
            b'(' | b'[' | b'{' => stack.push(c),
            b')' | b']' | b'}' => {
                let open = match c {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                if stack.pop() != Some(open) {
                    return false;
                }
            }
            _ => {}
        }
    }
    stack.is_empty()
}

/// `value` within the next 160 bytes: a name/value pair can follow (the
/// regex is far costlier than this test on logs full of `"key":`).
fn value_follows(b: &[u8], at: usize) -> bool {
    let hi = (at + 160).min(b.len());
    b[at..hi]
        .windows(5)
        .any(|w| w.eq_ignore_ascii_case(b"value"))
}

/// `"VALUE" == NAME` (`!=`, `===`, `!==`): the quoted literal before the
/// operator in front of the name `ns..ne`.
fn comparison_literal_before(text: &str, ns: usize, ne: usize) -> Option<Hit<'_>> {
    let b = text.as_bytes();
    let mut j = comparison_before(b, ns)?;
    while j > 0 && matches!(b[j - 1], b' ' | b'\t') {
        j -= 1;
    }
    let q = *b.get(j.checked_sub(1)?)?;
    if !matches!(q, b'"' | b'\'' | b'`') {
        return None;
    }
    let ve = j - 1;
    let lo = ve.saturating_sub(300);
    let vs = b[lo..ve]
        .iter()
        .rposition(|&c| c == q || c == b'\n')
        .map(|k| lo + k)?;
    if b[vs] != q || ve <= vs + 1 {
        return None;
    }
    let vs = vs + 1;
    if !text.is_char_boundary(vs) || !text.is_char_boundary(ve) {
        return None;
    }
    Some(Hit {
        text,
        whole: (vs - 1, ne),
        secret: (vs, ve),
        name: Some(&text[ns..ne]),
    })
}

/// `scheme://user:pass@`: a `:` and then an `@` before the path starts.
fn userinfo_follows(b: &[u8], at: usize) -> bool {
    let hi = (at + 3 + 520).min(b.len());
    let mut colon = false;
    for &c in &b[(at + 3).min(hi)..hi] {
        match c {
            b':' => colon = true,
            b'@' => return colon,
            b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'\\' => return false,
            c if c.is_ascii_whitespace() => return false,
            _ => {}
        }
    }
    false
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn line_start(b: &[u8], pos: usize, back: usize) -> usize {
    let lo = pos.saturating_sub(back);
    match b[lo..pos].iter().rposition(|&c| c == b'\n') {
        Some(i) => lo + i + 1,
        None => lo,
    }
}

fn line_end(b: &[u8], pos: usize, fwd: usize) -> usize {
    let hi = (pos + fwd).min(b.len());
    match b[pos..hi].iter().position(|&c| c == b'\n') {
        Some(i) => pos + i,
        None => hi,
    }
}

impl Rule {
    fn run(
        &self,
        text: &str,
        anchor: usize,
        scanned_to: &mut usize,
        out: &mut Vec<Cand>,
        safe: &mut Vec<(usize, usize)>,
    ) {
        let b = text.as_bytes();
        match &self.m {
            Matcher::Pem => match pem_block(b, anchor) {
                Some((s, e, true)) => {
                    *scanned_to = e;
                    out.push(self.cand(s, e, "private_key"));
                }
                Some((s, e, false)) => safe.push((s, e)),
                None => {}
            },
            Matcher::PemBase64 => {
                if anchor > 0 && is_alnum(b[anchor - 1]) {
                    return;
                }
                let mut e = anchor;
                while e < b.len() && (is_alnum(b[e]) || matches!(b[e], b'+' | b'/' | b'=')) {
                    e += 1;
                }
                *scanned_to = e;
                let head = base64_decode_prefix(&b[anchor..e.min(anchor + 96)]);
                if e - anchor >= 64 && contains(&head, b"PRIVATE KEY") {
                    out.push(self.cand(anchor, e, "private_key"));
                }
            }
            Matcher::Assign => {
                if anchor < *scanned_to {
                    return;
                }
                if let Some(hit) = assignment_at(text, anchor) {
                    *scanned_to = hit.secret.1;
                    if let Some(kind) = (self.check)(&hit) {
                        let (ss, se) = trim_secret(text, hit.secret.0, hit.secret.1);
                        if se > ss {
                            out.push(self.cand(ss, se, kind));
                        }
                    }
                }
            }
            Matcher::Re { re, group, named } => {
                if self.back == 0 && self.left_boundary && anchor > 0 && is_alnum(b[anchor - 1]) {
                    return;
                }
                if self.prefilter.is_some_and(|pre| !pre(b, anchor)) {
                    return;
                }
                let mut ws = if self.back == 0 {
                    anchor
                } else {
                    line_start(b, anchor, self.back)
                };
                ws = ws.max(*scanned_to);
                while !text.is_char_boundary(ws) {
                    ws += 1;
                }
                let mut we = line_end(b, anchor, self.fwd);
                if self.next_line && we < b.len() {
                    we = line_end(b, we + 1, self.fwd);
                }
                while !text.is_char_boundary(we) {
                    we -= 1;
                }
                if ws >= we {
                    return;
                }
                *scanned_to = we;
                let window = &text[ws..we];
                for caps in re.get().captures_iter(window) {
                    let whole = caps.get(0).expect("group 0");
                    let (ms, me) = (ws + whole.start(), ws + whole.end());
                    if self.left_boundary && ms > 0 && is_alnum(b[ms - 1]) {
                        continue;
                    }
                    let first = match *group {
                        AUTO_GROUP if caps.len() > 1 => 1,
                        AUTO_GROUP => 0,
                        g => g,
                    };
                    let Some(sec) = (first..caps.len()).find_map(|g| caps.get(g)) else {
                        continue;
                    };
                    let (ss, se) = (ws + sec.start(), ws + sec.end());
                    if self.right_boundary && se < b.len() && is_alnum(b[se]) {
                        continue;
                    }
                    let hit = Hit {
                        text,
                        whole: (ms, me),
                        secret: (ss, se),
                        name: if *named {
                            caps.get(1).map(|m| m.as_str())
                        } else {
                            None
                        },
                    };
                    if let Some(kind) = (self.check)(&hit) {
                        let kind = self.kind.unwrap_or(kind);
                        let (ss, se) = trim_secret(text, ss, se);
                        if se > ss {
                            out.push(self.cand(ss, se, kind));
                        }
                    }
                }
            }
        }
    }

    fn cand(&self, start: usize, end: usize, kind: &'static str) -> Cand {
        Cand {
            start,
            end,
            kind,
            prio: self.prio,
            known: None,
        }
    }
}

/// Drops sentence punctuation that a greedy pattern may have taken.
fn trim_secret(text: &str, s: usize, mut e: usize) -> (usize, usize) {
    let b = text.as_bytes();
    while e > s && matches!(b[e - 1], b'.' | b',') {
        e -= 1;
    }
    (s, e)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A private key block starting at `at` (`-----BEGIN ... PRIVATE KEY-----`):
/// through the matching `-----END ...-----` line, or, when the end is missing
/// (truncated output), through the last line that looks like key material.
/// Lines may be separated by real newlines or by `\n` escapes (keys in JSON).
/// Returns `(start, end, is_private)`; public blocks (certificates, public
/// keys) are returned too, so the generic detector can leave them alone.
fn pem_block(b: &[u8], at: usize) -> Option<(usize, usize, bool)> {
    const MAX: usize = 64 * 1024;
    let hdr_from = at + "-----BEGIN".len();
    let lim = (hdr_from + 80).min(b.len());
    let close = b[hdr_from..lim].windows(5).position(|w| w == b"-----")? + hdr_from;
    let private = contains(&b[hdr_from..close], b"PRIVATE KEY");
    let body = close + 5;
    let hi = (body + MAX).min(b.len());
    if let Some(i) = b[body..hi].windows(8).position(|w| w == b"-----END") {
        let end_from = body + i + 8;
        let lim = (end_from + 80).min(b.len());
        if let Some(j) = b[end_from..lim].windows(5).position(|w| w == b"-----") {
            return Some((at, end_from + j + 5, private));
        }
        return Some((at, lim, private));
    }
    // Unterminated: take the following lines of key material.
    let mut end = body;
    let mut i = body;
    loop {
        // Skip one separator: \r?\n or a literal "\n".
        let mut j = i;
        if b[j..hi].starts_with(b"\r\n") {
            j += 2;
        } else if b[j..hi].starts_with(b"\n") {
            j += 1;
        } else if b[j..hi].starts_with(b"\\n") {
            j += 2;
        } else if j != body {
            break;
        }
        let ls = j;
        while j < hi && (is_alnum(b[j]) || matches!(b[j], b'+' | b'/' | b'=')) {
            j += 1;
        }
        let header = b[ls..hi].starts_with(b"Proc-Type:")
            || b[ls..hi].starts_with(b"DEK-Info:")
            || b[ls..hi].starts_with(b"Comment:");
        if header {
            while j < hi && b[j] != b'\n' && b[j] != b'\\' {
                j += 1;
            }
        } else if j == ls {
            // Blank line between headers and body, or the end.
            if b[j..hi].starts_with(b"\n")
                || b[j..hi].starts_with(b"\r\n")
                || b[j..hi].starts_with(b"\\n")
            {
                i = j;
                continue;
            }
            break;
        }
        end = j;
        i = j;
        if i >= hi {
            break;
        }
    }
    Some((at, end, private))
}

fn base64_decode_prefix(s: &[u8]) -> Vec<u8> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for quad in s.chunks_exact(4) {
        let mut n = 0u32;
        for &c in quad {
            match val(c) {
                Some(v) => n = (n << 6) | v,
                None => return out,
            }
        }
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    out
}

// ---------------------------------------------------------------------------
// Validation

/// Character statistics of a candidate.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stats {
    pub len: usize,
    pub upper: usize,
    pub lower: usize,
    pub digit: usize,
    pub other: usize,
    pub distinct: usize,
    /// Changes of character class between neighbours.
    pub switches: usize,
    /// Neighbours that are consecutive (`ab`, `12`) or equal.
    pub runs: usize,
    pub hex: bool,
    pub entropy: f64,
}

impl Stats {
    pub(crate) fn classes(&self) -> usize {
        (self.upper > 0) as usize
            + (self.lower > 0) as usize
            + (self.digit > 0) as usize
            + (self.other > 0) as usize
    }
}

pub(crate) fn stats(s: &[u8]) -> Stats {
    let mut counts = [0u16; 128];
    let mut st = Stats {
        len: s.len(),
        hex: true,
        ..Stats::default()
    };
    let class = |c: u8| match c {
        b'A'..=b'Z' => 0u8,
        b'a'..=b'z' => 1,
        b'0'..=b'9' => 2,
        _ => 3,
    };
    let mut prev: Option<u8> = None;
    for &c in s {
        match class(c) {
            0 => st.upper += 1,
            1 => st.lower += 1,
            2 => st.digit += 1,
            _ => st.other += 1,
        }
        if !c.is_ascii_hexdigit() {
            st.hex = false;
        }
        counts[(c & 0x7f) as usize] += 1;
        if let Some(p) = prev {
            if class(p) != class(c) {
                st.switches += 1;
            }
            if c == p || c == p.wrapping_add(1) {
                st.runs += 1;
            }
        }
        prev = Some(c);
    }
    let n = s.len() as f64;
    for &k in counts.iter().filter(|&&k| k > 0) {
        st.distinct += 1;
        let p = k as f64 / n;
        st.entropy -= p * p.log2();
    }
    st
}

/// Obvious placeholders and documentation values: `sk-xxxx`, `<your-token>`,
/// `AKIAIOSFODNN7EXAMPLE`, `changeme`, `${TOKEN}`.
pub(crate) fn is_placeholder(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "example",
        "xxxx",
        "****",
        "....",
        "…",
        "your",
        "placeholder",
        "redacted",
        "dummy",
        "sample",
        "insert",
        "replace",
        "fixme",
        "todo",
        "changeme",
        "change_me",
        "change-me",
        "123456789",
        "abcdefgh",
        "qwerty",
        "fake",
    ];
    WORDS.iter().any(|w| l.contains(w)) || has_template_ref(s) || has_angle_placeholder(s)
}

/// `<your-token>`, `<API KEY>`: a word in angle brackets.
fn has_angle_placeholder(s: &str) -> bool {
    let Some(i) = s.find('<') else { return false };
    let rest = &s[i + 1..];
    match rest.find('>') {
        Some(j) => {
            j > 0
                && rest[..j]
                    .bytes()
                    .all(|c| is_alnum(c) || matches!(c, b'_' | b'-' | b' ' | b'.' | b':'))
        }
        None => false,
    }
}

/// A reference to a variable or template value somewhere in `s`:
/// `${NAME}`, `${NAME:-x}`, `{{ name }}`, `%(name)s`, `$(Name)`.
fn has_template_ref(s: &str) -> bool {
    let b = s.as_bytes();
    let ident = |c: u8| is_alnum(c) || matches!(c, b'_' | b'.' | b' ' | b'-');
    for i in 0..b.len() {
        let close = match (b[i], b.get(i + 1)) {
            (b'$', Some(b'{')) => b'}',
            (b'$', Some(b'(')) | (b'%', Some(b'(')) => b')',
            (b'{', Some(b'{')) => b'}',
            _ => continue,
        };
        let mut j = i + 2;
        while j < b.len() && ident(b[j]) {
            j += 1;
        }
        // `${NAME:-default}` / `${NAME:?msg}`
        if close == b'}' && b.get(j) == Some(&b':') {
            while j < b.len() && b[j] != b'}' && b[j] != b'{' {
                j += 1;
            }
        }
        let closed = b.get(j) == Some(&close) && (b[i] != b'{' || b.get(j + 1) == Some(&b'}'));
        if j > i + 2 && closed {
            return true;
        }
    }
    false
}

/// A random-looking secret body: long enough, varied, not a placeholder.
fn random_enough(body: &str, min_len: usize, min_entropy: f64) -> bool {
    let st = stats(body.as_bytes());
    st.len >= min_len
        && !is_placeholder(body)
        && st.distinct >= (st.len / 2).min(10)
        && st.entropy >= min_entropy
        && (st.runs as f64) < 0.4 * st.len as f64
        && (st.classes() >= 2 || (st.hex && st.len >= 32))
}

/// The part after the provider prefix (`AIza`, `GR1348941`, or up to the
/// first `_`, `-` or `.`).
fn body_after_prefix(s: &str) -> &str {
    for p in ["AIza", "GR1348941"] {
        if let Some(b) = s.strip_prefix(p) {
            return b;
        }
    }
    match s.find(['_', '-', '.']) {
        Some(i) => &s[i + 1..],
        None => s,
    }
}

fn prefixed(h: &Hit<'_>, min_entropy: f64) -> bool {
    random_enough(body_after_prefix(h.secret()), 16, min_entropy)
}

fn has_digit(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit())
}

fn check_openai(h: &Hit<'_>) -> Option<&'static str> {
    let s = h.secret();
    if s.starts_with("sk-ant-") {
        return None;
    }
    let body = s
        .strip_prefix("sk-")
        .map(|b| {
            ["proj-", "svcacct-", "admin-", "None-"]
                .iter()
                .find_map(|p| b.strip_prefix(p))
                .unwrap_or(b)
        })
        .unwrap_or(s);
    let st = stats(body.as_bytes());
    let varied = (st.upper > 0 && st.lower > 0 && st.digit > 0) || (st.hex && st.len >= 32);
    (varied && random_enough(body, 20, 3.5)).then_some("openai_key")
}

/// A provider-prefixed value: not a placeholder, varied enough.
fn check_provider(h: &Hit<'_>) -> Option<&'static str> {
    let s = h.secret();
    let st = stats(s.as_bytes());
    (!is_placeholder(s)
        && st.distinct >= 10
        && st.entropy >= 3.0
        && (st.runs as f64) < 0.4 * st.len as f64)
        .then_some("secret")
}

/// Slack tokens, including the short legacy workspace tokens (`xoxa-`, `xoxs-`).
fn check_slack_token(h: &Hit<'_>) -> Option<&'static str> {
    let s = h.secret();
    let body = s.get(5..).unwrap_or("");
    let st = stats(body.as_bytes());
    let ok = if st.len >= 20 {
        prefixed(h, 3.0)
    } else {
        st.distinct >= 6 && st.entropy >= 2.5 && st.classes() >= 2
    };
    (ok && has_digit(body) && !is_placeholder(s)).then_some("slack_token")
}

/// `setBackgroundImageWithURLString`: mostly lowercase words, few capitals
/// (a random mixed-case body has about as many capitals as lowercase).
fn is_camel_identifier(s: &str) -> bool {
    let b = s.as_bytes();
    let upper = b.iter().filter(|c| c.is_ascii_uppercase()).count();
    4 * upper < b.len() && 2 * wordy_chars(b) > b.len()
}

/// `mysql -pVALUE`, `sshpass -p VALUE`: judged like a `password=` value.
fn check_cli_password(h: &Hit<'_>) -> Option<&'static str> {
    let hit = Hit {
        text: h.text,
        whole: h.whole,
        secret: h.secret,
        name: Some("password"),
    };
    assignment_kind(&hit, true)
}

/// A value named by a separate key (`{"key": "db_password", "value": "…"}`,
/// `- name: DB_PASSWORD` / `value: …`, `<name>…</name><value>…</value>`): the
/// name is explicit, so a short password counts as with a command-line flag.
fn check_named_value(h: &Hit<'_>) -> Option<&'static str> {
    let name = h.name?.to_ascii_lowercase();
    let password = ["password", "passwd", "pwd", "pass"]
        .iter()
        .any(|w| name.contains(w));
    let hit = Hit {
        name: Some(if password { "password" } else { h.name? }),
        ..*h
    };
    assignment_kind(&hit, password)
}

/// `curl -u TOKEN:`: the user name is the secret when no password follows.
fn check_user_token(h: &Hit<'_>) -> Option<&'static str> {
    let v = h.secret();
    let st = stats(v.as_bytes());
    (!is_template(v)
        && !is_placeholder(v)
        && st.digit > 0
        && st.upper + st.lower > 0
        && st.distinct >= 8
        && st.entropy >= 3.0)
        .then_some("basic_auth")
}

fn check_aws_id(h: &Hit<'_>) -> Option<&'static str> {
    let s = h.secret();
    let st = stats(&s.as_bytes()[4..]);
    (!is_placeholder(s) && st.distinct >= 6 && (st.runs as f64) < 0.4 * st.len as f64)
        .then_some("aws_access_key_id")
}

fn check_aws_secret(h: &Hit<'_>) -> Option<&'static str> {
    let s = h.secret();
    let st = stats(s.as_bytes());
    (!is_placeholder(s) && st.upper > 0 && st.lower > 0 && st.digit > 0 && st.entropy >= 4.0)
        .then_some("aws_secret_key")
}

fn check_slack_webhook(h: &Hit<'_>) -> Option<&'static str> {
    let s = h.secret().trim_end_matches('/');
    let last = s.rsplit('/').next().unwrap_or("");
    let st = stats(last.as_bytes());
    (st.len >= 16 && st.distinct >= 8 && !is_placeholder(s)).then_some("slack_webhook")
}

/// Words that are placeholders when they are the whole value.
fn is_placeholder_word(v: &str) -> bool {
    const WORDS: &[&str] = &[
        "null",
        "none",
        "nil",
        "undefined",
        "true",
        "false",
        "yes",
        "no",
        "required",
        "optional",
        "string",
        "str",
        "int",
        "bytes",
        "bool",
        "env",
        "secret",
        "secrets",
        "password",
        "passwd",
        "pass",
        "pwd",
        "token",
        "key",
        "apikey",
        "api_key",
        "value",
        "test",
        "empty",
        "hidden",
        "masked",
        "unset",
        "default",
    ];
    let l = v.to_ascii_lowercase();
    WORDS.contains(&l.as_str())
        || v.bytes()
            .all(|b| b == b'*' || b == b'x' || b == b'X' || b == b'.')
}

fn is_template(v: &str) -> bool {
    let var = |rest: &[u8]| {
        rest.first()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'_' | b'{' | b'('))
    };
    v.starts_with("$$") && var(&v.as_bytes()[2..])
        || v.starts_with('$') && var(&v.as_bytes()[1..]) && !v.starts_with("$argon")
        || v.starts_with('%') && var(&v.as_bytes()[1..])
        // `{AQAAABAAA…}` is a Jenkins-encrypted secret, not a template.
        || v.starts_with('{') && !v.starts_with("{AQAAAB")
        || v.starts_with('[')
        || has_template_ref(v)
        || v.contains("%s")
        || v.contains("{}")
}

fn check_url_password(h: &Hit<'_>) -> Option<&'static str> {
    let p = h.secret();
    (!is_placeholder_word(p) && !is_template(p) && !is_placeholder(p)).then_some("url_password")
}

fn check_auth_header(h: &Hit<'_>) -> Option<&'static str> {
    let v = h.secret();
    (!is_placeholder_word(v) && !is_template(v) && !is_placeholder(v) && v.len() >= 8)
        .then_some("auth_header")
}

fn check_bearer(h: &Hit<'_>) -> Option<&'static str> {
    let v = h.secret();
    let st = stats(v.as_bytes());
    (!is_template(v) && !is_placeholder(v) && st.classes() >= 2 && st.entropy >= 3.0)
        .then_some("auth_header")
}

fn check_basic_auth(h: &Hit<'_>) -> Option<&'static str> {
    let v = h.secret();
    // `docker run -u 1000:1000`: a uid:gid pair.
    let user = h.text[h.whole.0..h.secret.0]
        .trim_end_matches(':')
        .rsplit([' ', '=', '"', '\''])
        .next()
        .unwrap_or("");
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if digits(user) && digits(v) {
        return None;
    }
    (!is_placeholder_word(v) && !is_template(v) && !is_placeholder(v) && v.len() >= 4)
        .then_some("basic_auth")
}

/// Code, not a value: `self.token`, `os.environ`, `get_password`, `API_TOKEN`.
fn is_identifier_like(v: &str) -> bool {
    let b = v.as_bytes();
    if b.is_empty() || !(b[0].is_ascii_alphabetic() || b[0] == b'_') {
        return false;
    }
    let ident = v
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.');
    ident && !has_digit(v)
}

/// `credentialsId`, `secret_key_id`, `token_ids`: the value names a secret
/// kept elsewhere.
fn names_an_id(name: &str) -> bool {
    let n = name.trim_end_matches(['"', '\'', '\\', ']']);
    let l = n.to_ascii_lowercase();
    ["_id", "-id", ".id", "_ids", "-ids"]
        .iter()
        .any(|s| l.ends_with(s))
        || n.ends_with("Id")
        || n.ends_with("Ids")
        || n.ends_with("ID")
}

/// An unquoted value that is code: a call (`X509_get_X509_PUBKEY(cert)`), a
/// dotted reference (`X25519.secret_length`, `settings.API_KEY_V2`) or a
/// constant name (`OPENAI_API_KEY_V2`).
fn is_code_reference(b: &[u8], s: usize, e: usize) -> bool {
    let mut v = &b[s..e];
    // A macro call: `unwrap_or_continue!(…)`.
    if v.last() == Some(&b'!') && b.get(e) == Some(&b'(') {
        v = &v[..v.len() - 1];
    }
    let ident_start = |c: u8| c.is_ascii_alphabetic() || c == b'_';
    if v.is_empty()
        || !ident_start(v[0])
        || !v.iter().all(|c| is_alnum(*c) || matches!(c, b'_' | b'.'))
    {
        return false;
    }
    if b.get(e) == Some(&b'(') {
        return true;
    }
    let segments_ok = v.split(|c| *c == b'.').all(|seg| {
        !seg.is_empty()
            && ident_start(seg[0])
            && seg.iter().filter(|c| c.is_ascii_digit()).count() <= 6
    });
    if v.contains(&b'.') {
        return segments_ok;
    }
    // SCREAMING_CASE constant made of words.
    v.contains(&b'_')
        && !v.iter().any(|c| c.is_ascii_lowercase())
        && v.split(|c| *c == b'_')
            .all(|seg| seg.iter().filter(|c| c.is_ascii_digit()).count() <= 2)
}

/// Whether a name says its value is not the secret itself (`max_tokens`,
/// `password_hint`, `token_expiry`). Long entries match anywhere in the name;
/// short ones (`min`, `count`, `date`, `uri`, `file`, …) only as a whole word of
/// it, split at separators and camelCase humps, so that `admin_password`,
/// `account_password`, `security_token` and `update_secret` stay secrets.
fn names_not_a_secret(original: &str, lower: &str, not: &[&str]) -> bool {
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in original.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    not.iter().any(|w| {
        let bare = w.trim_start_matches('_');
        if w.len() >= 6 {
            lower.contains(w)
        } else {
            words.iter().any(|x| {
                x == bare
                    || x.strip_suffix('s') == Some(bare)
                    || (bare == "expir" && x.starts_with(bare))
            })
        }
    })
}

/// `password = "…"`, `"api_key": "…"`, `TOKEN=…`, `--token …`: the name decides
/// how random the value has to look.
fn check_assignment(h: &Hit<'_>) -> Option<&'static str> {
    assignment_kind(h, is_comparison(h) || config_line_value(h))
}

/// `password == "…"` or `"…" != password`.
fn is_comparison(h: &Hit<'_>) -> bool {
    let Some(name) = h.name else { return false };
    // The literal before the name (`"…" == password`) ends at least an
    // operator and the name before the match does.
    let between = if h.whole.1 >= h.secret.1 + name.len() + 2 {
        h.text.get(h.secret.1..h.whole.1 - name.len())
    } else {
        h.text.get(h.whole.0 + name.len()..h.secret.0)
    };
    between.is_some_and(|t| t.contains("==") || t.contains("!="))
}

/// `explicit`: the context leaves no doubt that the value is the password (a
/// `-p` flag, a comparison with a literal, `NAME=value` alone on a config
/// line), so a short single-case password such as `whiteduke` counts too.
fn assignment_kind(h: &Hit<'_>, explicit: bool) -> Option<&'static str> {
    let name = h.name?.to_ascii_lowercase();
    let v = h.secret();
    let quoted =
        h.secret.0 > h.whole.0 && matches!(h.text.as_bytes()[h.secret.0 - 1], b'"' | b'\'' | b'`');
    const NOT_SECRET_NAMES: &[&str] = &[
        "public", "keyboard", "keyword", "keys", "primary", "foreign", "monkey", "turkey",
        "donkey", "hockey", "whiskey", "jockey", "_id", "type", "name", "file", "path", "dir",
        "len", "size", "expir", "ttl", "count", "max", "min", "limit", "header", "field", "prefix",
        "hint", "policy", "format", "version", "endpoint", "usage", "tokeniz", "tokens", "sort",
        "cache", "index", "label", "_at", "time", "date", "mode", "enabled", "strength", "pattern",
        "regex", "prompt", "length", "url", "uri",
    ];
    if v.len() < 6 || !v.bytes().any(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    // Quick class test before the full statistics.
    let (mut up, mut lo, mut di) = (false, false, false);
    for c in v.bytes() {
        up |= c.is_ascii_uppercase();
        lo |= c.is_ascii_lowercase();
        di |= c.is_ascii_digit();
    }
    let other = v.bytes().any(|c| !c.is_ascii_alphanumeric());
    let classes = up as usize + lo as usize + di as usize + other as usize;
    let tier_password = ["password", "passwd", "passphrase", "pwd"]
        .iter()
        .any(|w| name.contains(w))
        || ends_with_word(h.name?, "pass");
    let tier_secret_name = [
        "secret",
        "token",
        "credential",
        "api_key",
        "apikey",
        "api-key",
    ]
    .iter()
    .any(|w| name.contains(w));
    // `if creds.Secret != "open-sesame"`: a literal compared with a secret.
    let compared = tier_secret_name && !tier_password && is_comparison(h) && v.len() >= 8;
    let explicit = explicit && tier_password;
    if classes < 2 && v.len() < 10 && !explicit {
        return None;
    }
    let tier_secret = [
        "secret",
        "token",
        "credential",
        "api_key",
        "apikey",
        "api-key",
        "access_key",
        "private_key",
        "auth",
        "license_key",
        "licence_key",
    ]
    .iter()
    .any(|w| name.contains(w));
    let quick = if tier_password {
        classes >= 2 || v.len() >= 10 || explicit
    } else if tier_secret {
        (v.len() >= 12 || compared) && classes >= 2
    } else {
        v.len() >= 16 && lo && di && (up || v.len() >= 20)
    };
    if !quick {
        return None;
    }
    // The value test first (most benign values fail it), then the name and
    // placeholder exclusions.
    let st = stats(v.as_bytes());
    let kind = if tier_password {
        (st.len >= 6 && (st.classes() >= 2 || st.len >= 10 || explicit) && st.distinct >= 4)
            .then_some("password")
    } else if tier_secret {
        (st.len >= 12 && st.entropy >= 3.0 && st.classes() >= 2 && st.distinct >= 8
            || compared && st.classes() >= 2 && st.distinct >= 6)
            .then_some("secret")
    } else {
        // Only "…key": must look like a random key.
        let mixed = st.upper > 0 && st.lower > 0 && st.digit > 0;
        // `chartmogul_key: "e8hwspf9…"`: lower case and digits, not hex (a
        // hash is often a cache or object key).
        let lower_digits = st.len >= 20
            && st.upper == 0
            && st.digit >= 4
            && v.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && v.bytes().any(|c| c.is_ascii_lowercase() && c > b'f');
        (st.len >= 16 && (mixed || lower_digits) && st.entropy >= 3.5).then_some("secret")
    }?;
    // A YAML tag (`!vault |`, `!Ref DbPassword`, `"!Ref 'DbPassword'"`): the
    // value follows elsewhere.
    let yaml_tag = v.starts_with('!')
        && v[1..]
            .split(' ')
            .next()
            .is_some_and(|t| !t.is_empty() && t.bytes().all(|c| c.is_ascii_alphanumeric()));
    if yaml_tag || names_not_a_secret(h.name?, &name, NOT_SECRET_NAMES) || names_an_id(h.name?) {
        return None;
    }
    if !quoted && is_code_reference(h.text.as_bytes(), h.secret.0, h.secret.1) {
        return None;
    }
    // `Credential = &pb.Token{`, `key = *ptr`: a reference in code.
    if !quoted
        && (v.starts_with('&') || v.starts_with('*'))
        && v[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && v[1..]
            .bytes()
            .all(|c| is_alnum(c) || matches!(c, b'_' | b'.' | b':'))
    {
        return None;
    }
    // `author_timestamp`, `authors`: not `auth`.
    if name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w.starts_with("author") && !w.starts_with("authoriz"))
    {
        return None;
    }
    // `Auth::PersonalAccessToken(…)`, `Require2FactorAuthentication`,
    // `"obj.aFunctionCall()"`: code.
    if !quoted && (v.contains("::") && is_path_expr(v) || !tier_password && is_camel_type(v))
        || quoted && is_call_expr(v)
    {
        return None;
    }
    // `' + access_key + '`: the gap between two concatenated literals.
    if quoted && (v.trim_start().starts_with("+ ") || v.trim_end().ends_with(" +")) {
        return None;
    }
    if is_placeholder_word(v)
        || is_template(v)
        || is_placeholder(v)
        || (!quoted && is_identifier_like(v) && !explicit)
        || (!quoted && is_snake_identifier(v) && !explicit)
        || (quoted && is_identifier_like(v) && v.contains('_') && v.len() < 40)
        || is_location(v)
        || names_a_secret(v)
        || (!tier_password && is_prose(v))
    {
        return None;
    }
    Some(kind)
}

/// `db_pass`, `REACT_APP_PASS`, `smtpPass`: `word` is the name's last word.
fn ends_with_word(name: &str, word: &str) -> bool {
    let n = name.trim_end_matches(['"', '\'', '\\', ']']);
    let l = n.to_ascii_lowercase();
    let Some(head) = l.strip_suffix(word) else {
        return false;
    };
    let camel = n.len() >= word.len() && n.as_bytes()[n.len() - word.len()].is_ascii_uppercase();
    head.is_empty() || head.ends_with(['_', '-', '.']) || camel
}

/// `NAME=value` alone on its line (env files, ini, `.properties`): a bare word
/// there is the value itself, not a variable of some code.
fn config_line_value(h: &Hit<'_>) -> bool {
    let b = h.text.as_bytes();
    let (ns, (vs, ve)) = (h.whole.0, h.secret);
    let Some(name) = h.name else { return false };
    let ne = ns + name.len();
    if b.get(ne..vs) != Some(b"=".as_slice()) {
        return false;
    }
    let ls = line_start(b, ns, 200);
    let before = h.text[ls..ns].trim();
    let le = line_end(b, ve, 400);
    let after = h.text[ve..le].trim();
    // Also a commented-out line (`# DB_PASS=…`) and a connection string
    // (`Server=db;User Id=app;Password=…;`).
    (before.is_empty() || before == "export" || before == "#" || before.ends_with(';'))
        && (after.is_empty() || after.starts_with('#') || after.starts_with(';'))
}

/// A URL without credentials or an absolute path (`"/api/2.0/git-credentials"`,
/// `"https://app.example.com/tokens"`): where a secret is, not the secret.
fn is_location(v: &str) -> bool {
    let url = ["http://", "https://"]
        .iter()
        .any(|p| v.starts_with(p) && !v.contains('@') && !v.contains('?'));
    let path = v.starts_with('/')
        && v.bytes().filter(|&c| c == b'/').count() >= 2
        && v.bytes()
            .all(|c| is_alnum(c) || matches!(c, b'/' | b'_' | b'-' | b'.'));
    url || path
}

/// A scope or permission name that itself names a secret
/// (`"codespace_secrets:read"`, `"user.password.update"`).
fn names_a_secret(v: &str) -> bool {
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    let underscores = v.bytes().filter(|&c| c == b'_').count();
    v.bytes().all(|c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'.' | b':' | b'-')
    }) && digits <= 2
        && (v.bytes().any(|c| matches!(c, b'.' | b':')) || underscores >= 3)
        && ["secret", "password", "token", "key", "credential", "auth"]
            .iter()
            .any(|w| v.contains(w))
}

/// `Auth::Unauthenticated`: a Rust or C++ path.
fn is_path_expr(v: &str) -> bool {
    v.split("::").all(|seg| {
        seg.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && seg.bytes().all(|c| is_alnum(c) || c == b'_')
    })
}

/// `Require2FactorAuthentication`: a type or constant name in CamelCase
/// (three humps or more, few digits).
fn is_camel_type(v: &str) -> bool {
    let b = v.as_bytes();
    let humps = b
        .windows(2)
        .filter(|w| {
            w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase()
                || w[0].is_ascii_digit() && w[1].is_ascii_uppercase()
        })
        .count();
    b.first().is_some_and(u8::is_ascii_uppercase)
        && b.iter().all(|c| c.is_ascii_alphanumeric())
        && humps >= 2
        && b.iter().filter(|c| c.is_ascii_digit()).count() <= 2
}

/// `obj.aFunctionCall()`, `getenv("X")`: a call.
fn is_call_expr(v: &str) -> bool {
    let Some(open) = v.find('(') else {
        return false;
    };
    let head = &v[..open];
    v.ends_with(')')
        && head.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && head
            .bytes()
            .all(|c| is_alnum(c) || matches!(c, b'_' | b'.'))
}

/// `v4auth_header`: a lower-case snake_case name, which unquoted is a
/// variable in code.
fn is_snake_identifier(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_lowercase())
        && v.contains('_')
        && v.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// A sentence (`"Get this from elsewhere"`, `"Repository Access Token (Can
/// access 1 repository)"`): four or more words, nearly all plain letters. Not
/// applied to passwords, which may be pass phrases.
fn is_prose(v: &str) -> bool {
    let words: Vec<&str> = v.split(' ').filter(|w| !w.is_empty()).collect();
    let plain = words
        .iter()
        .filter(|w| {
            let t = w.trim_matches(|c: char| c.is_ascii_punctuation());
            !t.is_empty() && t.bytes().all(|c| c.is_ascii_alphabetic())
        })
        .count();
    words.len() >= 4 && plain * 4 >= words.len() * 3
}

// ---------------------------------------------------------------------------
// Generic: random-looking tokens.

const fn tok_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'_' || c == b'-';
        i += 1;
    }
    t
}
static TOK: [bool; 256] = tok_table();
static TOK_MASK: [usize; 256] = {
    let mut m = [0usize; 256];
    let mut i = 0;
    while i < 256 {
        if TOK[i] {
            m[i] = usize::MAX;
        }
        i += 1;
    }
    m
};

/// Characters in runs of 3+ lowercase letters (with a leading capital).
fn wordy_chars(t: &[u8]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < t.len() {
        if t[i].is_ascii_lowercase() {
            let s = i;
            while i < t.len() && t[i].is_ascii_lowercase() {
                i += 1;
            }
            if i - s >= 3 {
                total += i - s + (s > 0 && t[s - 1].is_ascii_uppercase()) as usize;
            }
        } else {
            i += 1;
        }
    }
    total
}

fn token_scan(text: &str, out: &mut Vec<Cand>, safe: &[(usize, usize)]) {
    let b = text.as_bytes();
    let n = b.len();
    // Length of the current token run, kept without branches (a token byte
    // extends it, anything else resets it); only runs reaching GENERIC_MIN
    // leave the hot loop.
    let mut run = 0usize;
    let mut i = 0;
    while i < n {
        run = (run + 1) & TOK_MASK[b[i] as usize];
        if run < GENERIC_MIN {
            i += 1;
            continue;
        }
        let s = i + 1 - run;
        let mut e = i + 1;
        while e < n && TOK[b[e] as usize] {
            e += 1;
        }
        let tok_end = e;
        while e < n && b[e] == b'=' && e - tok_end < 2 {
            e += 1;
        }
        let in_safe = safe.iter().any(|&(ss, se)| ss <= s && s < se);
        if tok_end < n
            && b[tok_end] == b'.'
            && let Some(de) = discord_token(b, s, tok_end)
        {
            out.push(Cand {
                start: s,
                end: de,
                kind: "discord_token",
                prio: PRIO_PROVIDER,
                known: None,
            });
            run = 0;
            i = de;
            continue;
        }
        if !in_safe
            && e - s <= GENERIC_MAX + 8
            && let Some(c) = generic_token(b, s, e)
        {
            out.push(c);
        }
        run = 0;
        i = e.max(i + 1);
    }
}

fn is_b64(c: u8) -> bool {
    is_alnum(c) || c == b'+' || c == b'/'
}

/// Line separators between wrapped base64 lines: a newline or a `\n` escape.
const SEPARATORS: &[&[u8]] = &[b"\r\n", b"\n", b"\\r\\n", b"\\n"];

/// The length of the whole-line base64 run just before the line that starts
/// at `s` (`None` when the previous line is something else).
fn prev_b64_line(b: &[u8], s: usize) -> Option<usize> {
    let mut i = s;
    while i > 0 && matches!(b[i - 1], b' ' | b'\t') {
        i -= 1;
    }
    let sep = SEPARATORS.iter().find(|sep| b[..i].ends_with(sep))?;
    let end = i - sep.len();
    let mut j = end;
    while j > 0 && b[j - 1] == b'=' && end - j < 2 {
        j -= 1;
    }
    while j > 0 && is_b64(b[j - 1]) {
        j -= 1;
    }
    // The `n` of a `\n` escape before the run is not part of it.
    let escaped = j > 0 && b[j - 1] == b'\\' && j < end && matches!(b[j], b'n' | b'r');
    if escaped {
        j += 1;
    }
    let line_start = escaped || j == 0 || matches!(b[j - 1], b'\n' | b' ' | b'\t' | b'"' | b'\'');
    line_start.then_some(end - j)
}

/// The length of the base64 run that fills the line after the one ending at `e`.
fn next_b64_line(b: &[u8], e: usize) -> Option<usize> {
    let sep = SEPARATORS.iter().find(|sep| b[e..].starts_with(sep))?;
    let mut i = e + sep.len();
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    let s = i;
    while i < b.len() && is_b64(b[i]) {
        i += 1;
    }
    while i < b.len() && b[i] == b'=' && i - s < 2 + 200 {
        i += 1;
    }
    Some(i - s)
}

/// Wrapped base64 data (`base64` output, an encoded image or archive): the
/// token fills its line and a neighbouring line is a full-width base64 line.
/// Secrets are not wrapped over several lines of equal width.
fn in_base64_block(b: &[u8], s0: usize, e0: usize) -> bool {
    let mut s = s0;
    if s > 0 && b[s - 1] == b'\\' && matches!(b[s], b'n' | b'r') {
        s += 1;
    }
    if !b[s..e0].iter().all(|c| is_b64(*c) || *c == b'=') {
        return false;
    }
    let len = e0 - s;
    prev_b64_line(b, s).is_some_and(|p| p >= 60 && p >= len)
        || (len >= 60 && next_b64_line(b, e0).is_some_and(|n| n >= 4 && n <= len))
}

/// Base64 of ordinary text or of a file with a well-known header.
fn decodes_to_data(t: &[u8]) -> bool {
    let d = base64_decode_prefix(t);
    if d.len() < 12 {
        return false;
    }
    const MAGIC: &[&[u8]] = &[
        b"\x89PNG",
        b"\xff\xd8\xff",
        b"GIF8",
        b"PK\x03\x04",
        b"%PDF",
        b"\x1f\x8b",
        b"RIFF",
    ];
    if MAGIC.iter().any(|m| d.starts_with(m)) {
        return true;
    }
    let printable = d
        .iter()
        .filter(|c| (0x20..0x7f).contains(*c) || matches!(c, b'\n' | b'\t' | b'\r'))
        .count();
    let words = d.iter().filter(|c| **c == b' ').count();
    printable == d.len() && words >= 2
}

/// A Discord bot token: base64 of the bot's id (24–26 characters, starting
/// with M, N or O), a dot, 6 characters, a dot, 27–38 characters. Returns
/// its end when the token starting at `s` (first part ending at `e`) is one.
fn discord_token(b: &[u8], s: usize, e: usize) -> Option<usize> {
    let url = |c: u8| is_alnum(c) || c == b'_' || c == b'-';
    let first = &b[s..e];
    if !(24..=26).contains(&first.len())
        || !matches!(first[0], b'M' | b'N' | b'O')
        || !first.iter().all(|c| is_alnum(*c))
    {
        return None;
    }
    let p2 = e + 1;
    let mut j = p2;
    while j < b.len() && url(b[j]) {
        j += 1;
    }
    if j - p2 != 6 || b.get(j) != Some(&b'.') {
        return None;
    }
    let p3 = j + 1;
    let mut k = p3;
    while k < b.len() && url(b[k]) {
        k += 1;
    }
    if !(27..=38).contains(&(k - p3)) || (k < b.len() && TOK[b[k] as usize]) {
        return None;
    }
    let st = stats(&b[p3..k]);
    let st1 = stats(first);
    (st1.digit > 0 && st1.upper > 1 && st1.lower > 1 && st.entropy >= 3.5 && st.classes() >= 3)
        .then_some(k)
}

fn generic_token(b: &[u8], s0: usize, e0: usize) -> Option<Cand> {
    // Twilio: AC/SK + 32 hex.
    let t = &b[s0..e0];
    if t.len() == 34
        && (t.starts_with(b"AC") || t.starts_with(b"SK"))
        && t[2..]
            .iter()
            .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    {
        let st = stats(&t[2..]);
        if st.distinct >= 8 && (st.runs as f64) < 0.4 * 32.0 {
            return Some(Cand {
                start: s0,
                end: e0,
                kind: "twilio_key",
                prio: PRIO_PROVIDER,
                known: None,
            });
        }
    }
    // Trim separators that belong to the surroundings.
    let (mut s, mut e) = (s0, e0);
    while s < e && matches!(b[s], b'-' | b'_' | b'/' | b'+') {
        s += 1;
    }
    while e > s && matches!(b[e - 1], b'-' | b'_' | b'/' | b'+') {
        e -= 1;
    }
    let t = &b[s..e];
    if t.len() < GENERIC_MIN || t.len() > GENERIC_MAX {
        return None;
    }
    let lower_prefix: [u8; 8] =
        std::array::from_fn(|i| t.get(i).map_or(0, |c| c.to_ascii_lowercase()));
    for p in [
        &b"sha1-"[..],
        b"sha256-",
        b"sha384-",
        b"sha512-",
        b"md5-",
        b"nonce-",
    ] {
        if lower_prefix.starts_with(p) {
            return None;
        }
    }
    // Hex (git SHAs, checksums) and UUIDs.
    if t.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-') {
        return None;
    }
    // Cheap class counts first; most tokens stop here.
    let (mut upper, mut lower, mut digit, mut switches) = (0usize, 0usize, 0usize, 0usize);
    let mut prev = 255u8;
    for &c in t {
        let class = match c {
            b'A'..=b'Z' => {
                upper += 1;
                0
            }
            b'a'..=b'z' => {
                lower += 1;
                1
            }
            b'0'..=b'9' => {
                digit += 1;
                2
            }
            _ => 3,
        };
        switches += (prev != 255 && prev != class) as usize;
        prev = class;
    }
    if upper < 2 || lower < 2 || digit < 2 {
        return None;
    }
    if (switches as f64) < 0.3 * (t.len() - 1) as f64 {
        return None;
    }
    // camelCase / PascalCase identifiers: mostly lowercase words of 3+ letters.
    if 2 * wordy_chars(t) > t.len() {
        return None;
    }
    let st = stats(t);
    let min_entropy = if st.len < 32 { 3.7 } else { 4.1 };
    if st.entropy < min_entropy {
        return None;
    }
    // Paths and hyphenated words: a '/'- or '-'-separated segment that is a word.
    if t.contains(&b'/') || t.contains(&b'-') {
        let wordy = t.split(|c| *c == b'/' || *c == b'-').any(|seg| {
            (seg.len() >= 2 && seg.iter().all(|c| c.is_ascii_lowercase()))
                || (seg.len() >= 5 && seg.iter().all(|c| c.is_ascii_alphabetic()))
        });
        if wordy {
            return None;
        }
    }
    // Context on the same line: integrity / checksum / digest values, data URIs.
    let ls = line_start(b, s0, 64);
    let before: Vec<u8> = b[ls..s0].iter().map(|c| c.to_ascii_lowercase()).collect();
    const CONTEXT: &[&[u8]] = &[
        b"integrity",
        b"checksum",
        b"digest",
        b"sha1",
        b"sha256",
        b"sha384",
        b"sha512",
        b"md5",
        b"hash",
        b"etag",
        b"commit",
        b"h1:",
        b"base64,",
        b"nonce",
        b"ssh-",
        b"ecdsa-",
    ];
    if CONTEXT.iter().any(|w| contains(&before, w)) {
        return None;
    }
    let text = std::str::from_utf8(t).ok()?;
    if is_placeholder(text) {
        return None;
    }
    if in_base64_block(b, s0, e0) || decodes_to_data(t) {
        return None;
    }
    Some(Cand {
        start: s,
        end: e,
        kind: "high_entropy",
        prio: PRIO_GENERIC,
        known: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_prefix() {
        assert_eq!(
            base64_decode_prefix(b"LS0tLS1CRUdJTiBQUklW"),
            b"-----BEGIN PRIV"
        );
    }

    /// Every rule from the data file is read and its regex compiles with the
    /// `regex` crate (the data was written for another engine).
    #[test]
    fn data_rules_load_and_compile() {
        let data_lines = GITLEAKS_RULES
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count();
        let rules = data_rules(GITLEAKS_RULES);
        assert_eq!(rules.len(), data_lines, "a data line did not parse");
        assert!(rules.len() >= 100);
        for r in &rules {
            assert!(r.anchors.iter().all(|a| a.len() >= 2), "{:?}", r.anchors);
            let Matcher::Re { re, .. } = &r.m else {
                panic!("data rules are regex rules")
            };
            assert!(re.ascii);
            let pattern = ascii_classes(re.pattern);
            if let Err(e) = Regex::new(&pattern) {
                panic!("{pattern}: {e}");
            }
        }
    }

    /// The rule data's classes mean ASCII, as in the engine it was written for.
    #[test]
    fn ascii_classes_rewrite() {
        assert_eq!(
            ascii_classes(r"[\w.-]{0,5}\w"),
            r"[0-9A-Za-z_.-]{0,5}[0-9A-Za-z_]"
        );
        assert_eq!(
            ascii_classes(r"\bab\d[^\s]"),
            r"(?-u:\b)ab[0-9][^\t\n\x0C\r ]"
        );
        assert_eq!(
            ascii_classes(r"[]\w][\x60'\\]\\w"),
            r"[]0-9A-Za-z_][\x60'\\]\\w"
        );
        let re = Regex::new(&ascii_classes(r"\b(\w{3})\b")).unwrap();
        assert_eq!(
            re.captures("é abc").unwrap().get(1).unwrap().as_str(),
            "abc"
        );
        assert!(!re.is_match("ééé"));
    }

    #[test]
    fn stats_basics() {
        let st = stats(b"aA1-");
        assert_eq!((st.upper, st.lower, st.digit, st.other), (1, 1, 1, 1));
        assert_eq!(st.distinct, 4);
        assert!((st.entropy - 2.0).abs() < 1e-9);
    }
}

//! The environment allowlist given to interpreters.

use std::ffi::OsString;

/// Variables passed through unchanged when present (besides `LC_*`).
const ALLOWED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "TZ",
    "TMPDIR",
    "TMP",
    "TEMP",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_RUNTIME_DIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "CONDA_DEFAULT_ENV",
    "PYENV_VERSION",
];

/// Prefixes passed through (locale settings).
const ALLOWED_PREFIXES: &[&str] = &["LC_"];

/// Name fragments that are never passed, even when allowed above (checked upper-cased).
const DENIED_FRAGMENTS: &[&str] = &[
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "CREDENTIAL",
    "PRIVATE",
    "AUTH",
    "COOKIE",
    "SESSION",
];

/// Prefixes of provider / cloud variables that are never passed.
const DENIED_PREFIXES: &[&str] = &[
    "AWS_",
    "AZURE_",
    "GOOGLE_",
    "GCP_",
    "GCLOUD_",
    "OPENAI_",
    "ANTHROPIC_",
    "GITHUB_",
    "GH_",
    "GITLAB_",
    "HF_",
    "HUGGINGFACE",
    "INTERLOCK_",
];

/// True if a variable of this name may be given to code.
fn allowed(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let listed = ALLOWED.contains(&name) || ALLOWED_PREFIXES.iter().any(|p| name.starts_with(p));
    listed
        && !DENIED_FRAGMENTS.iter().any(|f| upper.contains(f))
        && !DENIED_PREFIXES.iter().any(|p| upper.starts_with(p))
}

/// Environment allowlist given to interpreters.
///
/// Keeps `PATH`, `HOME`, `USER`, `LOGNAME`, `SHELL`, `LANG`, `LANGUAGE`, `LC_*`, `TERM`,
/// `COLORTERM`, `NO_COLOR`, `TZ`, `TMPDIR`/`TMP`/`TEMP`, the `XDG_*_HOME` dirs, CA bundle
/// locations and python environment selectors; drops everything else. A name that looks
/// like a secret (`*KEY*`, `*TOKEN*`, `*SECRET*`, `*PASSWORD*`, `*CREDENTIAL*`, ...) or a
/// provider/cloud variable (`AWS_*`, `OPENAI_*`, `ANTHROPIC_*`, `GITHUB_*`, ...) is dropped
/// even if it matches an allowed prefix, so `LC_SECRET_TOKEN` never passes. Names that are
/// not valid UTF-8 are dropped.
pub fn scrubbed_env(from: impl Iterator<Item = (OsString, OsString)>) -> Vec<(OsString, OsString)> {
    from.filter(|(name, _)| name.to_str().is_some_and(allowed))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub(pairs: &[(&str, &str)]) -> Vec<String> {
        scrubbed_env(
            pairs
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        )
        .into_iter()
        .map(|(k, _)| k.into_string().unwrap())
        .collect()
    }

    #[test]
    fn keeps_harmless_variables() {
        let kept = scrub(&[
            ("PATH", "/usr/bin"),
            ("HOME", "/home/u"),
            ("LANG", "C.UTF-8"),
            ("LC_ALL", "C"),
            ("TERM", "xterm"),
            ("TZ", "UTC"),
            ("TMPDIR", "/tmp"),
        ]);
        assert_eq!(
            kept,
            ["PATH", "HOME", "LANG", "LC_ALL", "TERM", "TZ", "TMPDIR"]
        );
    }

    #[test]
    fn drops_secrets_and_unlisted_variables() {
        let kept = scrub(&[
            ("OPENAI_API_KEY", "sk-test"),
            ("ANTHROPIC_API_KEY", "x"),
            ("FOO_TOKEN", "x"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
            ("GITHUB_TOKEN", "x"),
            ("DB_PASSWORD", "x"),
            ("MY_CREDENTIALS", "x"),
            ("LC_SECRET_TOKEN", "x"),
            ("LC_API_KEY", "x"),
            ("LC_PASSWORD", "x"),
            ("BASH_ENV", "/tmp/evil"),
            ("LD_PRELOAD", "/tmp/evil.so"),
            ("NODE_OPTIONS", "--require x"),
            ("PWD", "/somewhere"),
            ("path", "/lowercase-is-another-variable"),
            ("LANG", "C"),
        ]);
        assert_eq!(kept, ["LANG"]);
    }

    #[test]
    fn drops_non_utf8_names() {
        use std::os::unix::ffi::OsStringExt;
        let kept = scrubbed_env(
            [(
                OsString::from_vec(vec![b'L', b'C', b'_', 0xff]),
                OsString::from("x"),
            )]
            .into_iter(),
        );
        assert!(kept.is_empty());
    }
}

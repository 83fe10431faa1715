//! The auto-run gate and the rules of issue 15, one test per rule.

use interlock_guard::analysis::{Risk, analyze, known_safe_programs};
use interlock_protocol::Language;

fn sh(code: &str) -> Risk {
    analyze(Language::Shell, code).risk
}

fn has_rule(code: &str, rule: &str) -> bool {
    analyze(Language::Shell, code)
        .findings
        .iter()
        .any(|f| f.rule == rule)
}

#[test]
fn unknown_programs_are_medium_known_ones_low() {
    assert_eq!(sh("frobnicate --all"), Risk::Medium);
    assert!(has_rule("frobnicate --all", "shell.not-known-safe"));
    // Wrapped commands are gated too.
    for code in [
        "nohup frob &",
        "timeout 5 frob",
        "env A=1 frob",
        "xargs -a l frob",
    ] {
        assert_eq!(sh(code), Risk::Medium, "{code}");
    }
    for code in [
        "ls -la",
        "cat README.md | head -20",
        "git status && git log --oneline -5",
        "sort data.txt | uniq -c | sort -rn",
        "python3 script.py",
        "./build.sh",
        "find . -name '*.py' -type f",
        "sed 's/a/b/g' f.txt",
    ] {
        assert!(sh(code) <= Risk::Low, "{code}: {:?}", sh(code));
    }
    assert!(known_safe_programs().any(|(n, r)| n == "ls" && !r.is_empty()));
}

#[test]
fn programs_that_run_other_programs_are_at_least_medium() {
    for code in [
        "tar cf /dev/null /dev/null --checkpoint=1 --checkpoint-action=exec=/bin/sh",
        "find . -exec /bin/sh \\; -quit",
        "git -ccore.pager=cat log",
        "rg --pre ./x.sh foo",
        "echo ',p' | ed",
        "less README.md",
        "sed -n '1e id' f",
        "find . -fprint /tmp/list",
    ] {
        assert!(sh(code) >= Risk::Medium, "{code}");
    }
    // The command tar runs is analysed.
    assert_eq!(
        sh("tar cf /dev/null x --checkpoint=1 --checkpoint-action=exec='rm -rf ~'"),
        Risk::Critical
    );
    assert!(has_rule("git -ccore.pager=cat log", "exec.git-config"));
}

#[test]
fn credential_hunting_and_recon_are_high() {
    assert!(has_rule(
        "find / -name id_rsa -exec cp --parents {} /tmp/x \\;",
        "cred.hunt"
    ));
    assert!(has_rule("grep -r password /etc", "cred.hunt"));
    assert!(has_rule("cat ~/.bash_history | grep pass", "cred.history"));
    assert!(has_rule(
        "find / -perm -4000 -type f",
        "recon.privilege-escalation"
    ));
    for code in [
        "find / -name id_rsa",
        "grep -r password /etc",
        "cat ~/.bash_history",
        "find / -perm -u=s 2>/dev/null",
    ] {
        assert!(sh(code) >= Risk::High, "{code}");
    }
    // In the workspace these are everyday searches.
    assert!(sh("grep -rn password src/") <= Risk::Low);
    assert!(sh("find . -name '*.pem'") <= Risk::Low);
}

#[test]
fn keyloggers_and_defence_impairment_are_high() {
    assert!(has_rule(
        "trap 'echo $BASH_COMMAND >> /tmp/.k' DEBUG",
        "spy.keylogger"
    ));
    assert!(sh("trap 'rm -f \"$tmp\"' EXIT") <= Risk::Low);
    assert!(sh("PROMPT_COMMAND='history 1 >> /tmp/.k'") >= Risk::High);
    assert!(has_rule("setenforce 0", "tamper.defence"));
    assert!(sh("setenforce 0") >= Risk::High);
}

#[test]
fn critical_only_when_sure() {
    let r = analyze(Language::Shell, "find ~ -atime +100 -delete");
    assert_eq!(r.risk, Risk::High);
    assert!(r.findings[0].message.contains("matching files"), "{r:?}");
    assert!(sh("find / -nouser -exec rm {} \\;") <= Risk::High);
    assert_eq!(sh("mv * /foo"), Risk::Medium);
    assert!(has_rule("mv * /foo", "files.move-all"));
    assert!(sh("sysctl -n hw.model") <= Risk::Low);
    assert!(sh("sysctl -w kernel.x=1") >= Risk::High);
    assert!(sh("tail -n +2 \"$F\" > \"$F.tmp\" && mv \"$F.tmp\" \"$F\"") <= Risk::Medium);
    // Moving a sensitive place away is still flagged.
    assert!(sh("mv ~/.ssh /tmp/x") >= Risk::High);
}

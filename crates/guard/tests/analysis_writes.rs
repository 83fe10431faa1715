//! Which files a shell block writes (`write.file`, risk none, with the target
//! path) and which git commands change repository state (`git.state`, low):
//! facts the agent needs to tell overwriting an existing file from creating
//! a new one once untrusted text is in the conversation.

use interlock_guard::analysis::{Finding, Risk, WRITE_FILE_RULE, analyze};
use interlock_protocol::Language;

fn writes(code: &str) -> Vec<Option<String>> {
    analyze(Language::Shell, code)
        .findings
        .into_iter()
        .filter(|f| f.rule == WRITE_FILE_RULE)
        .map(|f| f.target)
        .collect()
}

fn known(code: &str) -> Vec<String> {
    writes(code).into_iter().flatten().collect()
}

#[test]
fn redirections_and_writing_commands_name_their_target() {
    let cases: &[(&str, &[&str])] = &[
        ("echo x > notes.txt", &["notes.txt"]),
        ("echo x >> notes.txt", &["notes.txt"]),
        ("echo x >| notes.txt", &["notes.txt"]),
        ("cat a > b", &["b"]),
        ("ls &> out.log", &["out.log"]),
        ("sort data.csv | tee sorted.csv", &["sorted.csv"]),
        ("echo x | tee -a log1 log2", &["log1", "log2"]),
        ("truncate -s 0 data.db", &["data.db"]),
        ("sed -i 's/a/b/' conf.ini", &["conf.ini"]),
        ("sed -i.bak -e 's/a/b/' conf.ini", &["conf.ini"]),
        ("dd if=/dev/zero of=image.bin bs=1k count=1", &["image.bin"]),
        ("echo x > ./sub/dir/f.txt", &["./sub/dir/f.txt"]),
        ("bash -c 'echo x > inner.txt'", &["inner.txt"]),
    ];
    for (code, want) in cases {
        let got = known(code);
        for w in *want {
            assert!(got.iter().any(|g| g == w), "{code}: {got:?}");
        }
        assert_eq!(got.len(), want.len(), "{code}: {got:?}");
    }
}

#[test]
fn moves_and_copies_name_the_destination_and_the_file_inside_it() {
    // DEST itself, and DEST/NAME in case DEST is a directory.
    assert_eq!(known("mv a.txt b.txt"), ["b.txt", "b.txt/a.txt"]);
    assert_eq!(known("cp x y"), ["y", "y/x"]);
    let got = known("cp -r src/one.txt src/two.txt backup/");
    for w in ["backup/", "backup/one.txt", "backup/two.txt"] {
        assert!(got.iter().any(|g| g == w), "{got:?}");
    }
}

#[test]
fn names_known_only_at_run_time_are_reported_without_a_target() {
    for code in [
        "echo x > \"$OUT\"",
        "for f in *.txt; do sed -i 's/a/b/' \"$f\"; done",
        "sed -i 's/a/b/' *.txt",
        "echo x > \"$(date +%s).log\"",
        // After a `cd`, a relative name no longer says which file it is.
        "cd sub && echo x > notes.txt",
    ] {
        let w = writes(code);
        assert!(!w.is_empty(), "{code}: no write reported");
        assert!(w.iter().all(Option::is_none), "{code}: {w:?}");
    }
}

#[test]
fn literal_shell_commands_in_python_and_javascript_are_seen() {
    for (lang, code) in [
        (
            Language::Python,
            "import subprocess\nsubprocess.run('echo x > notes.txt', shell=True)\n",
        ),
        (
            Language::Javascript,
            "require('child_process').execSync('cp a.txt notes.txt');",
        ),
    ] {
        let got: Vec<_> = analyze(lang, code)
            .findings
            .into_iter()
            .filter(|f| f.rule == WRITE_FILE_RULE)
            .filter_map(|f| f.target)
            .collect();
        assert!(got.iter().any(|t| t == "notes.txt"), "{code}: {got:?}");
    }
}

#[test]
fn descriptors_and_special_files_are_not_writes() {
    for code in [
        "ls -R 2>&1 | tail",
        "echo oops >&2",
        "ls > /dev/null 2>&1",
        "exec 3>&-",
        "cat notes.txt",
        "grep -c x notes.txt < input.txt",
    ] {
        assert!(writes(code).is_empty(), "{code}: {:?}", writes(code));
    }
}

#[test]
fn write_findings_do_not_change_the_rating() {
    for code in ["echo x > notes.txt", "cat a > b", "cp x y"] {
        let r = analyze(Language::Shell, code);
        assert!(r.risk <= Risk::Low, "{code}: {r:?}");
        assert!(
            r.findings
                .iter()
                .filter(|f| f.rule == WRITE_FILE_RULE)
                .all(|f| f.risk == Risk::None),
            "{code}: {r:?}"
        );
    }
    assert_eq!(
        analyze(Language::Shell, "echo hi > out.txt").risk,
        Risk::None
    );
    // Sensitive places keep their own, stronger findings.
    let r = analyze(Language::Shell, "echo x >> ~/.bashrc");
    assert!(r.risk >= Risk::High, "{r:?}");
}

#[test]
fn git_commands_that_change_the_repository_are_git_state() {
    let state = |code: &str| {
        analyze(Language::Shell, code)
            .findings
            .iter()
            .any(|f| f.rule == "git.state" && f.risk == Risk::Low)
    };
    for code in [
        "git commit -am x",
        "git reset HEAD~1",
        "git reset --hard",
        "git checkout -- notes.txt",
        "git restore notes.txt",
        "git rm notes.txt",
        "git stash",
        "git stash drop",
        "git tag -d v1",
        "git tag v2",
        "git branch -D feature",
        "git branch new-work",
        "git clean -fd",
        "git -C repo commit -m msg",
        "git rebase main",
        "git merge topic",
    ] {
        assert!(state(code), "{code}: no git.state");
    }
    for code in [
        "git status",
        "git log --oneline",
        "git diff",
        "git show HEAD",
        "git branch",
        "git branch -a",
        "git tag",
        "git tag -l 'v*'",
        "git stash list",
        "git clean -n",
        "git add notes.txt",
    ] {
        assert!(!state(code), "{code}: git.state");
    }
}

#[test]
fn the_target_field_is_optional_in_the_serialized_form() {
    let r = analyze(Language::Shell, "echo x > notes.txt\nrm a.txt");
    let json = serde_json::to_value(&r).unwrap();
    let findings = json["findings"].as_array().unwrap();
    let write = findings
        .iter()
        .find(|f| f["rule"] == WRITE_FILE_RULE)
        .unwrap();
    assert_eq!(write["target"], "notes.txt");
    let other = findings
        .iter()
        .find(|f| f["rule"] != WRITE_FILE_RULE)
        .unwrap();
    assert!(other.get("target").is_none(), "{other}");
    // A finding serialised before the field existed still reads.
    let old = serde_json::json!({
        "rule": "delete.files", "risk": "low", "message": "m", "language": "shell",
        "span": {"start_line": 1, "start_col": 1, "end_line": 1, "end_col": 2}
    });
    let f: Finding = serde_json::from_value(old).unwrap();
    assert_eq!(f.target, None);
}

//! The git tripwire as users meet it: a command run with `interlock sandbox`
//! creates repositories that would make the user's next git command run code
//! outside the sandbox. interlock must name each one on stderr, and once
//! the findings are neutralised, git on the host must run nothing.
//!
//! The attack scripts are written into the test's workspace and run only
//! inside the sandbox. On the host, git is asked only questions that run
//! nothing (rev-parse, config) until the findings were made inert; then the
//! host runs `git status` and `git commit` and the hooks' markers must not
//! appear.

mod common;

use common::*;
use interlock_core::tripwire;
use interlock_testkit::{Reply, ScriptedServer};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::UNIX_EPOCH;

/// `git init` two levels down, then a pre-commit hook.
const NESTED: &str = r#"set -e
ws=$(pwd)
mkdir -p a/b
cd a/b
git init -q .
printf '#!/bin/sh\ntouch %s/MARK-nested\n' "$ws" > .git/hooks/pre-commit
chmod +x .git/hooks/pre-commit
"#;

/// `fsmonitor` on the `[core]` header line of a new repository's config.
const HEADER_FSMONITOR: &str = r#"set -e
ws=$(pwd)
printf '#!/bin/sh\ntouch %s/MARK-fsmonitor\n' "$ws" > fsm.sh
mkdir -p m
cd m
git init -q .
printf '[core] fsmonitor = sh %s/fsm.sh\n' "$ws" >> .git/config
"#;

/// A `.git` *file* whose `gitdir:` leads to a repository with a hook.
const GITDIR_FILE: &str = r#"set -e
ws=$(pwd)
git init -q tmp-src
mv tmp-src/.git elsewhere
rmdir tmp-src
printf '#!/bin/sh\ntouch %s/MARK-gitdir\n' "$ws" > elsewhere/hooks/pre-commit
chmod +x elsewhere/hooks/pre-commit
mkdir d
printf 'gitdir: ../elsewhere\n' > d/.git
"#;

/// A new repository whose `commondir` leads to a config and hooks elsewhere
/// in the workspace.
const COMMONDIR: &str = r#"set -e
ws=$(pwd)
git init -q tmp-src
mkdir c
mv tmp-src/.git c/store
rmdir tmp-src
printf '#!/bin/sh\ntouch %s/MARK-commondir\n' "$ws" > c/store/hooks/pre-commit
chmod +x c/store/hooks/pre-commit
mkdir -p c/w/.git
printf 'ref: refs/heads/main\n' > c/w/.git/HEAD
printf '../../store\n' > c/w/.git/commondir
"#;

/// A new repository whose config includes a file elsewhere in the
/// workspace that sets `core.fsmonitor`: only git itself knows that the
/// setting comes from the included file.
const INCLUDED_FSMONITOR: &str = r#"set -e
ws=$(pwd)
printf '#!/bin/sh\ntouch %s/MARK-include\n' "$ws" > fsm.sh
mkdir -p cfg
printf '[core]\n\tfsmonitor = sh %s/fsm.sh\n' "$ws" > cfg/inc.cfg
mkdir -p i
cd i
git init -q .
printf '[include]\n\tpath = ../../cfg/inc.cfg\n' >> .git/config
"#;

/// Writes `script` into the workspace and runs it with `interlock sandbox`.
/// Returns interlock's stderr.
fn attack(env: &Env, script: &str) -> String {
    write(&env.ws().join("attack.sh"), script);
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(["sandbox", "--", "sh", "attack.sh"]);
    let out = run(c);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "the attack script ran: {err}");
    err
}

/// The host's git with a private home and no system config, for questions
/// and for the control runs.
fn host_git(env: &Env, dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.dir.path().join("home"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .current_dir(dir)
        .stdin(Stdio::null());
    c
}

/// Where git in `dir` looks for hooks — a question that runs nothing.
fn hooks_dir(env: &Env, dir: &Path) -> PathBuf {
    let out = host_git(env, dir)
        .args(["rev-parse", "--path-format=absolute", "--git-path", "hooks"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Makes everything the tripwire finds inert, as the offer in the CLI does.
fn neutralise_all(env: &Env) {
    let found = tripwire::scan(&env.ws(), UNIX_EPOCH);
    assert!(!found.is_empty(), "the scan finds the planted repository");
    for f in &found {
        tripwire::neutralise(f).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

/// The user's next git commands on the host, after neutralising.
fn host_status_and_commit(env: &Env, dir: &Path) {
    for args in [
        &["status"][..],
        &["commit", "--allow-empty", "-q", "-m", "x"][..],
    ] {
        let _ = host_git(env, dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn assert_names(err: &str, parts: &[&str]) {
    for p in parts {
        assert!(
            err.contains(p),
            "interlock's stderr does not name {p:?}:\n{err}"
        );
    }
    assert!(err.contains("the next time you run git in"), "{err}");
    assert!(err.contains("to make it inert:"), "{err}");
}

#[test]
fn a_hook_in_a_repository_two_levels_down_is_named_and_can_be_disarmed() {
    if !have("git") {
        eprintln!("skipped: no git");
        return;
    }
    let env = Env::new();
    let err = attack(&env, NESTED);
    assert_names(&err, &["pre-commit hook", "a/b/.git/hooks/pre-commit"]);
    let dir = env.ws().join("a/b");
    assert!(
        is_executable(&hooks_dir(&env, &dir).join("pre-commit")),
        "host git would run the planted hook"
    );
    neutralise_all(&env);
    host_status_and_commit(&env, &dir);
    assert!(
        !env.ws().join("MARK-nested").exists(),
        "the hook ran on the host"
    );
}

#[test]
fn fsmonitor_on_the_core_header_line_is_named_and_can_be_disarmed() {
    if !have("git") {
        eprintln!("skipped: no git");
        return;
    }
    let env = Env::new();
    let err = attack(&env, HEADER_FSMONITOR);
    assert_names(&err, &["(core.fsmonitor)", "m/.git/config", "fsm.sh"]);
    let dir = env.ws().join("m");
    let out = host_git(&env, &dir)
        .args(["config", "core.fsmonitor"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("fsm.sh"),
        "host git would run the planted fsmonitor"
    );
    neutralise_all(&env);
    host_status_and_commit(&env, &dir);
    assert!(
        !env.ws().join("MARK-fsmonitor").exists(),
        "fsmonitor ran on the host"
    );
}

#[test]
fn a_git_file_redirecting_to_a_repository_with_a_hook_is_named_and_can_be_disarmed() {
    if !have("git") {
        eprintln!("skipped: no git");
        return;
    }
    let env = Env::new();
    let err = attack(&env, GITDIR_FILE);
    assert_names(&err, &["d/.git", "elsewhere/hooks/pre-commit"]);
    assert!(err.contains("as redirected by"), "{err}");
    let dir = env.ws().join("d");
    assert!(
        is_executable(&hooks_dir(&env, &dir).join("pre-commit")),
        "host git in d would run the hook in elsewhere"
    );
    neutralise_all(&env);
    host_status_and_commit(&env, &dir);
    assert!(
        !env.ws().join("MARK-gitdir").exists(),
        "the hook ran on the host"
    );
}

#[test]
fn a_commondir_redirect_to_hooks_elsewhere_is_named_and_can_be_disarmed() {
    if !have("git") {
        eprintln!("skipped: no git");
        return;
    }
    let env = Env::new();
    let err = attack(&env, COMMONDIR);
    assert_names(&err, &["c/w/.git/commondir", "c/store/hooks/pre-commit"]);
    let dir = env.ws().join("c/w");
    assert!(
        is_executable(&hooks_dir(&env, &dir).join("pre-commit")),
        "host git in c/w would run the hook in c/store"
    );
    neutralise_all(&env);
    host_status_and_commit(&env, &dir);
    assert!(
        !env.ws().join("MARK-commondir").exists(),
        "the hook ran on the host"
    );
}

#[test]
fn a_setting_from_an_included_file_is_named_with_that_file() {
    if !have("git") {
        eprintln!("skipped: no git");
        return;
    }
    let env = Env::new();
    let err = attack(&env, INCLUDED_FSMONITOR);
    assert_names(&err, &["(include.path)", "i/.git/config"]);
    // Git's own answer (`--show-origin`) names the included file.
    assert!(
        err.contains("(core.fsmonitor) from ")
            && err.contains("cfg/inc.cfg (set by sandboxed code)"),
        "{err}"
    );
    let dir = env.ws().join("i");
    neutralise_all(&env);
    host_status_and_commit(&env, &dir);
    assert!(
        !env.ws().join("MARK-include").exists(),
        "fsmonitor ran on the host"
    );
}

#[test]
fn a_chat_block_that_plants_a_setting_gets_git_s_answer_in_the_warning() {
    if !have("git") {
        eprintln!("skipped: no git");
        return;
    }
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::tool_call_stream("c1", "shell", INCLUDED_FSMONITOR),
        Reply::text_stream("done"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "exec",
        "--auto-run",
        "--auto-run-max-risk",
        "high",
        "--json",
        "attack",
    ]);
    let out = run(c);
    let ev = events(&out);
    let warning = ev
        .iter()
        .find(|e| e["type"] == "notice" && e["level"] == "warning")
        .unwrap_or_else(|| panic!("no warning notice: {ev:?}\n{}", stderr(&out)));
    let msg = warning["message"].as_str().unwrap();
    assert!(msg.contains("(include.path)"), "{msg}");
    assert!(
        msg.contains("cfg/inc.cfg (set by sandboxed code)"),
        "git's --show-origin names the included file: {msg}"
    );
    assert!(msg.contains("to make it inert:"), "{msg}");
}

#[test]
fn a_command_that_leaves_no_repository_gets_no_warning() {
    let env = Env::new();
    let err = attack(&env, "mkdir -p x/y && echo hi > x/y/f\n");
    assert!(!err.contains("git would"), "{err}");
}

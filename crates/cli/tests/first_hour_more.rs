//! More of the first hour of a new user (issue 17): `--resume` continues a
//! conversation with its own model and server.

mod common;

use common::*;
use interlock_testkit::{Reply, ScriptedServer};
use std::process::{Command, Stdio};

/// `interlock` as [`Env::cmd`] starts it, but without `--api-base`: what a
/// person types to resume.
fn bare_cmd(env: &Env) -> Command {
    let mut c = Command::new(bin());
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.dir.path().join("home"))
        .env("INTERLOCK_HOME", env.home())
        .env("LANG", "C.UTF-8")
        .arg("--workspace")
        .arg(env.ws())
        .stdin(Stdio::null());
    c
}

#[test]
fn resume_goes_on_with_the_conversations_model_server_and_tool_mode() {
    let env = Env::new();
    let srv = ScriptedServer::start_background(vec![
        Reply::text_stream("first answer"),
        Reply::text_stream("second answer"),
        Reply::text_stream("third answer"),
    ]);
    let mut c = env.cmd(&srv.base_url());
    c.args([
        "--model",
        "the-conversations-model",
        "--tool-mode",
        "markdown",
        "exec",
        "remember the word banana",
    ]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // No --api-base, --model or --tool-mode: the defaults would be OpenAI's
    // server and another model.
    let mut c = bare_cmd(&env);
    c.args(["exec", "--resume", "what was the word?"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let reqs = srv.chat_requests();
    assert_eq!(
        reqs.len(),
        2,
        "the resumed turn reached the conversation's server"
    );
    assert_eq!(reqs[1].body["model"], "the-conversations-model");
    assert!(
        reqs[1].body.get("tools").is_none(),
        "markdown tool mode is kept: {}",
        reqs[1].body
    );

    // A flag given on the command line still wins.
    let mut c = bare_cmd(&env);
    c.args(["--model", "another-model", "exec", "--resume", "and now?"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let reqs = srv.chat_requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[2].body["model"], "another-model");
}

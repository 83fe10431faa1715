//! The sandbox's view of the user's files through `interlock sandbox`: home
//! directories are default-deny, interlock's own state is never visible
//! wherever it lives, `--read` opens exactly what it names, a hidden file in
//! the workspace cannot be renamed out from under its cover, inherited
//! descriptors do not reach the command, and a system directory is no
//! workspace.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const SECRET: &str = "SECRET-3c1f9a7e";

fn sandbox_sh(env: &Env, extra: &[&str], script: &str) -> (String, i32) {
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args(extra).args(["sandbox", "--", "sh", "-c", script]);
    let out = run(c);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (text, code(&out))
}

#[test]
fn interlocks_default_state_dirs_stay_hidden_when_interlock_home_points_elsewhere() {
    let env = Env::new();
    let base = env.dir.path();
    // interlock's default places, moved outside the home directory by XDG variables, as a user
    // with a custom layout has them; this run uses INTERLOCK_HOME (Env::cmd sets it).
    let key = base.join("xdg-state/interlock/keys/openai.key");
    let hist = base.join("xdg-data/interlock/history/h.jsonl");
    let conf = base.join("xdg-config/interlock/config.toml");
    for f in [&key, &hist, &conf] {
        write(f, SECRET);
    }
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.env("XDG_STATE_HOME", base.join("xdg-state"))
        .env("XDG_DATA_HOME", base.join("xdg-data"))
        .env("XDG_CONFIG_HOME", base.join("xdg-config"))
        .args(["sandbox", "--", "sh", "-c"])
        .arg(format!(
            "cat {} {} {} 2>&1; ls -A {} 2>&1 | sed 's/^/LS:/'; echo END",
            key.display(),
            hist.display(),
            conf.display(),
            base.join("xdg-state/interlock").display()
        ));
    let out = run(c);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("END"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(
        !text.contains("LS:keys"),
        "the key directory is listed: {text}"
    );
}

#[test]
fn home_shows_nothing_but_what_read_names() {
    let env = Env::new();
    let home = env.dir.path().join("home");
    write(&home.join(".gitconfig"), "[user]\n\tname = Tester\n");
    write(&home.join(".config/new-tool/token"), SECRET);
    write(&home.join("notes.txt"), SECRET);
    let script = format!(
        "cat {h}/.gitconfig {h}/.config/new-tool/token {h}/notes.txt 2>&1; ls -A {h} 2>&1; echo END",
        h = home.display()
    );
    let (text, status) = sandbox_sh(&env, &[], &script);
    assert_eq!(status, 0, "{text}");
    assert!(text.contains("END"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(!text.contains("Tester"), "{text}");

    let gitconfig = home.join(".gitconfig");
    let (text, _) = sandbox_sh(&env, &["--read", gitconfig.to_str().unwrap()], &script);
    assert!(
        text.contains("name = Tester"),
        "--read did not open it: {text}"
    );
    assert!(!text.contains(SECRET), "{text}");
    // Read-only, like the rest of the home view.
    let (text, _) = sandbox_sh(
        &env,
        &["--read", gitconfig.to_str().unwrap()],
        &format!(
            "echo evil >> {} 2>&1 && echo WROTE; echo END",
            gitconfig.display()
        ),
    );
    assert!(!text.contains("WROTE"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&gitconfig).unwrap(),
        "[user]\n\tname = Tester\n"
    );

    // `--explain` says what shows through and why.
    let mut c = env.cmd("http://127.0.0.1:9/v1");
    c.args([
        "--read",
        gitconfig.to_str().unwrap(),
        "sandbox",
        "--explain",
    ]);
    let out = run(c);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not visible at all"), "{text}");
    assert!(
        text.contains(&format!("{} (--read)", gitconfig.display())),
        "{text}"
    );
}

#[test]
fn a_hidden_file_in_the_workspace_cannot_be_renamed_out_from_under_its_cover() {
    let env = Env::new();
    let secret = env.ws().join("config/app/.env");
    write(&secret, SECRET);
    let hide = ["--hide", secret.to_str().unwrap()];
    let (text, _) = sandbox_sh(
        &env,
        &hide,
        "mv config config2 2>&1 || echo MOVE1-FAILED; mv config/app config/app2 2>&1 || echo MOVE2-FAILED; \
         mv config/app/.env config/app/x 2>&1 || echo MOVE3-FAILED; \
         cat config/app/.env config2/app/.env config/app2/.env config/app/x 2>&1; echo END",
    );
    assert!(text.contains("END"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    for m in ["MOVE1-FAILED", "MOVE2-FAILED", "MOVE3-FAILED"] {
        assert!(text.contains(m), "{m}: {text}");
    }
    // So the next session finds it where the user's --hide expects it.
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), SECRET);
    let (text, _) = sandbox_sh(&env, &hide, "cat config/app/.env 2>&1; echo END");
    assert!(!text.contains(SECRET), "{text}");
}

#[test]
fn inherited_descriptors_do_not_reach_the_command() {
    if !have("python3") {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path().join("home/.ssh");
    write(&dir.join("id_ed25519"), SECRET);
    // A launcher that leaves an open directory at fd 3 and a file at fd 4, then execs interlock.
    let launcher = env.dir.path().join("launch.py");
    write(
        &launcher,
        "import os, sys\n\
         d = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n\
         os.dup2(d, 3)\n\
         os.set_inheritable(3, True)\n\
         f = os.open(sys.argv[2], os.O_RDONLY)\n\
         os.dup2(f, 4)\n\
         os.set_inheritable(4, True)\n\
         os.execv(sys.argv[3], sys.argv[3:])\n",
    );
    let probe = env.ws().join("probe.py");
    write(
        &probe,
        "import os\n\
         for fd in (3, 4):\n\
         \x20   try:\n\
         \x20       print('fd', fd, os.listdir(fd) if fd == 3 else os.read(fd, 100))\n\
         \x20   except OSError as e:\n\
         \x20       print('fd', fd, 'closed', e.errno)\n\
         try:\n\
         \x20   print(open('/proc/self/fd/3/id_ed25519').read())\n\
         except OSError as e:\n\
         \x20   print('via proc: closed', e.errno)\n\
         print('END')\n",
    );
    let template = env.cmd("http://127.0.0.1:9/v1");
    let mut c = Command::new("python3");
    c.arg(&launcher)
        .arg(&dir)
        .arg(dir.join("id_ed25519"))
        .arg(bin());
    c.env_clear();
    for (k, v) in template.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    c.args(template.get_args())
        .args(["sandbox", "--", "python3"])
        .arg(&probe)
        .stdin(std::process::Stdio::null());
    let out = run(c);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("END"), "{text}{}", stderr(&out));
    assert!(!text.contains(SECRET), "{text}");
    assert!(!text.contains("id_ed25519"), "{text}");
    assert!(
        text.contains("fd 3 closed") && text.contains("fd 4 closed"),
        "{text}"
    );
}

/// `interlock` as [`Env::cmd`] sets it up, but in workspace `dir`.
fn cmd_in(env: &Env, dir: &str) -> Command {
    let mut c = Command::new(bin());
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.dir.path().join("home"))
        .env("INTERLOCK_HOME", env.home())
        .env("LANG", "C.UTF-8")
        .args(["--api-base", "http://127.0.0.1:9/v1", "--workspace", dir])
        .stdin(std::process::Stdio::null());
    c
}

#[test]
fn a_system_directory_is_no_writable_workspace() {
    let env = Env::new();
    for dir in ["/etc", "/usr/local/bin", "/"] {
        let mut c = cmd_in(&env, dir);
        c.args(["sandbox", "--", "true"]);
        let out = run(c);
        let err = stderr(&out);
        assert_ne!(code(&out), 0, "{dir}: {err}");
        assert!(err.contains("is a system directory"), "{dir}: {err}");
        assert!(
            err.contains("--dangerously-allow-system-workspace"),
            "{err}"
        );
    }
    // Read-only is harmless, and the explicit flag is honoured with a warning.
    let mut c = cmd_in(&env, "/etc");
    c.args(["--sandbox", "read-only", "sandbox", "--", "true"]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut c = cmd_in(&env, "/usr/local/bin");
    c.args([
        "--dangerously-allow-system-workspace",
        "sandbox",
        "--",
        "true",
    ]);
    let out = run(c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("system directory"),
        "{}",
        stderr(&out)
    );
    assert!(Path::new("/usr/local/bin").is_dir());
}

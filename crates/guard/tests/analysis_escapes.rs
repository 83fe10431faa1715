//! Programs that run other programs (issue 15, the GTFOBins family): the
//! command they run is analysed as its own, an interactive shell started
//! from inside another program is high, and the known-safe gate does not
//! pass build tools or package managers with options that run other code.
//! Everyday uses of the same programs keep their rating.

use interlock_guard::analysis::{Report, Risk, analyze};
use interlock_protocol::Language;

fn sh(code: &str) -> Report {
    analyze(Language::Shell, code)
}

fn at_least(risk: Risk, cases: &[&str]) {
    for code in cases {
        let r = sh(code);
        assert!(r.risk >= risk, "{code}: want >= {risk}, got {r:?}");
    }
}

fn at_most(risk: Risk, cases: &[&str]) {
    for code in cases {
        let r = sh(code);
        assert!(r.risk <= risk, "{code}: want <= {risk}, got {r:?}");
    }
}

fn has_rule(code: &str, rule: &str) -> bool {
    sh(code).findings.iter().any(|f| f.rule == rule)
}

#[test]
fn project_environments_run_the_command_they_are_given() {
    at_least(
        Risk::High,
        &[
            "bundle exec /bin/sh",
            "BUNDLE_GEMFILE=x bundle exec /bin/sh",
            "uv run /bin/sh",
            "poetry run bash",
            "pipenv run sh",
            "conda run -n base /bin/sh",
            "rbenv exec /bin/sh",
            "ip netns exec foo /bin/sh",
            "cabal exec --project-file=/dev/null -- /bin/sh",
        ],
    );
    at_least(Risk::Critical, &["bundle exec rm -rf ~", "uv run rm -rf /"]);
    at_most(
        Risk::Low,
        &[
            "bundle exec rspec",
            "bundle exec rake test",
            "uv run pytest -q",
            "uv run script.py",
            "poetry run python -m mypy src",
            "poetry run black .",
        ],
    );
}

#[test]
fn cmake_tools_are_checked_as_the_commands_they_stand_for() {
    at_least(
        Risk::High,
        &["cmake -E cat ~/.ssh/id_rsa", "cmake -E env /bin/sh"],
    );
    at_least(Risk::High, &["cmake -E chdir /tmp /bin/sh"]);
    at_least(
        Risk::Critical,
        &["cmake -E rm -rf ~", "cmake -E remove_directory /"],
    );
    // An unknown tool is asked about.
    at_least(Risk::Medium, &["cmake -E server --experimental"]);
    at_most(
        Risk::Low,
        &[
            "cmake -E make_directory build",
            "cmake -E copy a.txt b.txt",
            "cmake -E rm -f build/CMakeCache.txt",
            "cmake -E echo hello",
        ],
    );
}

#[test]
fn an_interactive_shell_started_by_another_program_is_high() {
    at_least(
        Risk::High,
        &[
            "find . -exec /bin/sh \\; -quit",
            "env /bin/sh",
            "nice /bin/sh",
            "timeout 7d /bin/sh",
            "xargs -a /dev/null /bin/sh",
            "echo x | xargs -o -a /dev/null /bin/sh",
            "bash -c 'exec sh -i'",
            "python3 -c 'import os; os.system(\"/bin/sh\")'",
            "sg $(id -ng)",
            "systemd-run -S",
            "start-stop-daemon -S -x /bin/sh",
            "firejail /bin/sh",
            "valgrind /bin/sh",
            "sshpass /bin/sh",
            "split --filter='/bin/sh -i 0<&2 1>&2' /etc/hosts",
            "rsync -e '/bin/sh -c \"/bin/sh 0<&2 1>&2\"' x:x",
            "scp -S /bin/sh x y:",
            "scp -o 'ProxyCommand=;/bin/sh 0<&2 1>&2' x x:",
            "gcc -wrapper /bin/sh,-s x",
            "make --eval='$(shell /bin/sh 1>&0)' .",
            "pip config --editor '/bin/sh -s' edit",
            "gem open -e '/bin/sh -s' debug",
        ],
    );
    assert!(has_rule("env /bin/sh", "exec.shell-escape"));
    // A shell started directly is asked about, but is not an escape.
    for code in ["bash", "sh -i"] {
        let r = sh(code);
        assert_eq!(r.risk, Risk::Medium, "{code}: {r:?}");
        assert!(!has_rule(code, "exec.shell-escape"), "{code}");
    }
    // Runners that are not known to be safe still need a yes.
    at_least(Risk::Medium, &["firejail ls", "valgrind ./app"]);
    // Everyday wrapping stays quiet.
    at_most(
        Risk::Low,
        &[
            "bash build.sh",
            "sh -c 'echo hi'",
            "nice -n 10 make",
            "timeout 60 pytest",
            "env FOO=1 python3 app.py",
            "time make",
        ],
    );
}

#[test]
fn a_descriptor_zero_redirect_is_not_an_argument() {
    // tree-sitter-bash reads `0` in `sh 0<&2` as an argument (a script
    // named 0); it is the shell's standard input.
    at_least(Risk::Medium, &["sh 0<&2", "bash 0</dev/tty"]);
    at_least(Risk::High, &["env sh 0<&2 1>&2"]);
    at_most(Risk::Low, &["echo 0>&2", "cat 0<notes.txt"]);
}

#[test]
fn build_tools_with_options_that_run_other_code_are_not_known_safe() {
    at_least(
        Risk::Medium,
        &[
            "make -s --eval='$(file >out.txt,DATA)' .",
            "make SHELL=./x.sh",
            "make -C /tmp/other",
            "make -f /tmp/Makefile",
            "cmake /path/to/",
            "cmake -P /tmp/x.cmake",
            "gcc -fplugin=./x.so a.c",
            "gcc -B /tmp/bin a.c",
            "go build -toolexec ./x .",
            "go run example.com/tool@latest",
            "cargo --config 'target.x86_64-unknown-linux-gnu.runner=\"./x\"' run",
            "rustc -C linker=./x main.rs",
            "npm --script-shell ./x run build",
            "npm -C /tmp/pkg run build",
            "yarn --cwd /tmp/pkg build",
            "pip config edit",
            "gem open rake",
            "bundle console",
            "poetry shell",
            "rake -e 'puts 1'",
            "rake -f /tmp/Rakefile",
            "pandoc --filter ./x.py a.md -o a.html",
            "openssl req -engine ./lib.so",
            "service ../../bin/sh",
            "mysql --default-auth ../lib",
            "systemctl edit nginx",
            "crontab -e",
            "open -a Terminal",
            "xdg-open run.desktop",
            "convert '|ls' out.png",
        ],
    );
    at_most(
        Risk::Low,
        &[
            "make",
            "make -j8 test",
            "make -C build",
            "cmake -S . -B build",
            "cmake --build build -j 4",
            "cd build && cmake ..",
            "gcc -O2 -o app main.c",
            "cc -Wall -c x.c",
            "cargo build --release",
            "cargo test -p foo",
            "go test ./...",
            "go run ./cmd/x",
            "npm run build",
            "npm test",
            "yarn build",
            "pip list",
            "pip show requests",
            "rake test",
            "rsync -av src/ backup/",
            "split -l 1000 data.csv part_",
            "pandoc README.md -o out.html",
            "openssl rand -hex 16",
            "convert in.png -resize 50% out.png",
            "open report.pdf",
            "crontab -l",
            "systemctl status nginx",
        ],
    );
}

#[test]
fn a_program_by_path_is_only_known_when_it_is_the_systems() {
    at_least(
        Risk::Medium,
        &["/tmp/x/ls", "/path/to/command", "/tmp/x/cat notes.txt"],
    );
    at_least(Risk::Medium, &["nohup /path/to/command"]);
    at_most(
        Risk::Low,
        &[
            "/usr/bin/ls -la",
            "/bin/cat notes.txt",
            "~/.cargo/bin/cargo build",
        ],
    );
}

#[test]
fn a_shell_on_another_host_is_a_login_not_an_escape() {
    for code in ["ssh host bash", "ssh -t host 'bash -l'"] {
        assert!(!has_rule(code, "exec.shell-escape"), "{code}");
    }
    at_most(
        Risk::Low,
        &["bundle exec jekyll build", "bundle exec rails test"],
    );
    at_least(Risk::Medium, &["bundle exec rails runner 'puts 1'"]);
}

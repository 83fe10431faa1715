//! The auto-run gate for shell commands: the programs known to be safe, and
//! with which options.
//!
//! A block is rated at most low (and so auto-runnable) only when every
//! command in it passes this gate; any other command is rated at least
//! medium, either because the program is not in [`KNOWN_SAFE`] ("not known to
//! be safe") or because an option makes a known program run other programs
//! or write where it should not. The danger rules in `shell.rs` still run for
//! every command: they explain what is dangerous and decide high and
//! critical. The table is data: one entry per program family, each with the
//! reason it is safe and the options that void that reason.

/// How the arguments of a known program are checked.
pub(crate) enum Check {
    /// Safe with any arguments (its risky uses, such as paths it writes or
    /// deletes, are rated by the danger rules).
    Any,
    /// Safe unless one of these options is given. `--long` entries also match
    /// `--long=…` and every option they are a prefix of (`--fprint` matches
    /// `--fprint0`); `-x` entries match a short option cluster holding `x`;
    /// entries of a find-style program (`-exec`) match exactly.
    Without(&'static [&'static str]),
    /// Program-specific check: `Err` says why it is not safe.
    Custom(fn(&[&str]) -> Result<(), String>),
    /// Never safe: the program runs commands on request (editors, pagers).
    Never(&'static str),
}

/// One family of programs known to be safe.
pub(crate) struct Entry {
    pub(crate) names: &'static [&'static str],
    pub(crate) check: Check,
    /// Why these programs are safe to run without asking.
    pub(crate) reason: &'static str,
}

use Check::*;

/// The known-safe programs, with the reason per entry.
pub(crate) static KNOWN_SAFE: &[Entry] = &[
    Entry {
        names: &[
            "ls",
            "cat",
            "head",
            "tail",
            "wc",
            "cut",
            "tr",
            "nl",
            "tac",
            "rev",
            "fold",
            "fmt",
            "column",
            "paste",
            "join",
            "expand",
            "unexpand",
            "comm",
            "cmp",
            "diff",
            "stat",
            "file",
            "du",
            "df",
            "tree",
            "strings",
            "od",
            "hexdump",
            "xxd",
            "md5sum",
            "sha1sum",
            "sha256sum",
            "sha512sum",
            "shasum",
            "cksum",
            "b2sum",
            "basename",
            "dirname",
            "realpath",
            "readlink",
            "jq",
            "base64",
            "iconv",
            "numfmt",
            "shuf",
            "seq",
            "look",
            "diff3",
            "colordiff",
            "wdiff",
            "yq",
            "csvlook",
            "csvcut",
            "csvstat",
            "bat",
        ],
        check: Any,
        reason: "reads files and prints them or facts about them; writes nothing",
    },
    Entry {
        names: &["grep", "egrep", "fgrep", "zgrep", "ag", "ack"],
        check: Without(&["--pre"]),
        reason: "searches files and prints matches",
    },
    Entry {
        names: &["rg"],
        check: Without(&["--pre", "--search-zip", "-z", "--hostname-bin"]),
        reason: "searches files; --pre and --search-zip would run other programs",
    },
    Entry {
        names: &["sort"],
        check: Without(&["-o", "--output", "--compress-program"]),
        reason: "sorts its input to standard output",
    },
    Entry {
        names: &["uniq", "split", "csplit"],
        check: Without(&["--filter"]),
        reason: "filters lines or splits a file into pieces in the current directory",
    },
    Entry {
        names: &[
            "echo", "printf", "pwd", "true", "false", "test", "[", "[[", "which", "type", "whoami",
            "id", "uname", "nproc", "free", "uptime", "groups", "tty", "locale", "getconf",
            "whereis", "cal", "sleep", "printenv", "arch", "lscpu", "ps", "pgrep", "wait", "jobs",
            "expr", "dirs", "hash", "times", "umask", "logname", "users",
        ],
        check: Any,
        reason: "prints text or facts about the system, or only waits",
    },
    Entry {
        names: &["date"],
        check: Without(&["-s", "--set"]),
        reason: "prints the date; -s would set the clock",
    },
    Entry {
        names: &["hostname"],
        check: Custom(no_positional),
        reason: "prints the host name; an argument would set it",
    },
    Entry {
        names: &[
            "cd", "pushd", "popd", "export", "set", "shopt", "local", "declare", "typeset",
            "readonly", "read", "return", "exit", "shift", "alias", "unalias", "getopts", "let",
            ":", "break", "continue", "unset", "history", "trap",
        ],
        check: Any,
        reason: "a shell built-in that changes only the shell's own state (trap's code is analysed)",
    },
    Entry {
        names: &[
            "mkdir", "touch", "cp", "mv", "rm", "rmdir", "unlink", "ln", "chmod", "tee",
            "truncate", "install", "mktemp", "mkfifo", "chown", "chgrp",
        ],
        check: Any,
        reason: "file operations whose targets the path rules rate (in the workspace: low; elsewhere: higher)",
    },
    Entry {
        names: &[
            "gzip", "gunzip", "zcat", "bzip2", "bunzip2", "bzcat", "xz", "unxz", "xzcat", "zstd",
            "unzstd", "zstdcat", "lz4",
        ],
        check: Without(&["--use-compress-program"]),
        reason: "compresses or decompresses the files named",
    },
    Entry {
        names: &["zip"],
        check: Without(&["-T", "-TT", "--unzip-command", "--test"]),
        reason: "packs files into an archive; -TT would run a program",
    },
    Entry {
        names: &["unzip"],
        check: Any,
        reason: "lists or extracts an archive (extracted paths are files in the workspace)",
    },
    Entry {
        names: &["tar"],
        check: Custom(tar_safe),
        reason: "lists, creates or extracts archives without running programs",
    },
    Entry {
        names: &["find"],
        check: Without(&[
            "-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprint0", "-fprintf", "-fls",
        ]),
        reason: "lists files; actions that run programs are analysed as their own commands",
    },
    Entry {
        names: &["docker", "podman", "docker-compose"],
        check: Any,
        reason: "container commands: the container rules rate host access (privileged, host mounts, host namespaces)",
    },
    Entry {
        names: &["perl"],
        check: Custom(perl_safe),
        reason: "only a substitution (`perl -pi -e 's/a/b/g' files`): other Perl code is not analysed",
    },
    Entry {
        names: &[
            "psql",
            "mysql",
            "pg_dump",
            "mysqldump",
            "redis-cli",
            "mongosh",
        ],
        check: Custom(db_client_safe),
        reason: "database clients: queries, without the client's shell escapes",
    },
    Entry {
        names: &[
            "ffmpeg",
            "ffprobe",
            "jupyter",
            "pre-commit",
            "csvsort",
            "csvjson",
            "csvgrep",
            "conda",
            "mamba",
            "clear",
        ],
        check: Any,
        reason: "converts or opens files, or runs project tooling, in the workspace",
    },
    Entry {
        names: &[
            "journalctl",
            "top",
            "htop",
            "lsof",
            "dig",
            "nslookup",
            "host",
            "kill",
            "pkill",
            "killall",
            "ulimit",
            "dd",
            "ping",
            "netstat",
            "ss",
            "vmstat",
            "iostat",
            "dmesg",
            "lsblk",
            "nvidia-smi",
            "sw_vers",
            "system_profiler",
            "ip",
            "ifconfig",
        ],
        check: Any,
        reason: "system tools whose dangerous uses (uploads, raw connections, disk writes, services, schedules, firewall) have their own rules",
    },
    Entry {
        names: &["convert", "magick"],
        check: Custom(imagemagick_safe),
        reason: "converts images; `|cmd` file names and MSL/MVG scripts would run programs",
    },
    Entry {
        names: &["open", "xdg-open"],
        check: Custom(open_safe),
        reason: "opens documents with their usual viewer; applications, scripts and -a would run programs",
    },
    Entry {
        names: &["crontab"],
        check: Without(&["-e"]),
        reason: "lists or installs schedules (rated by the persistence rules); -e runs an editor",
    },
    Entry {
        names: &["systemctl"],
        check: Custom(systemctl_safe),
        reason: "service management, rated by the service rules; `edit` runs an editor",
    },
    Entry {
        names: &["pandoc"],
        check: Without(&["--filter", "-F", "--lua-filter", "-L"]),
        reason: "converts documents; filters are programs or Lua code it runs",
    },
    Entry {
        names: &["openssl"],
        check: Without(&["-engine", "-provider-path", "-provider"]),
        reason: "cryptography on files and connections (uploads and raw connections have their own rules); -engine and providers load libraries",
    },
    Entry {
        names: &["rsync", "scp"],
        check: Custom(remote_copy_safe),
        reason: "copies files (uploads are rated by their own rules); -e, --rsync-path, -S and ProxyCommand run other programs",
    },
    Entry {
        names: &["service"],
        check: Custom(service_safe),
        reason: "manages services (rated by the service rules); a name with a path runs that file",
    },
    Entry {
        names: &["sed"],
        check: Custom(sed_safe),
        reason: "edits text (with -i, the named files, which the path rules rate); the e and w commands are not safe",
    },
    Entry {
        names: &["awk", "gawk", "mawk", "nawk"],
        check: Custom(awk_safe),
        reason: "processes text; the commands it runs (system, pipes, getline) are analysed as their own commands; writes outside the workspace are not safe",
    },
    Entry {
        names: &["git"],
        check: Custom(git_safe),
        reason: "read-only or workspace git subcommands, without options that run programs",
    },
    Entry {
        names: &[
            "rustfmt",
            "ninja",
            "meson",
            "gofmt",
            "ld",
            "javac",
            "tsc",
            "pytest",
            "py.test",
            "black",
            "ruff",
            "mypy",
            "flake8",
            "pylint",
            "isort",
            "eslint",
            "prettier",
            "jest",
            "vitest",
            "mocha",
            "shellcheck",
            "shfmt",
            "rspec",
            "rubocop",
            "jekyll",
            "uv",
            "mvn",
            "gradle",
            "dotnet",
            "coverage",
            "tox",
            "nox",
            "clippy-driver",
            "ctest",
        ],
        check: Any,
        reason: "builds, tests or formats the project in the workspace (running only the project's own code); installs and network use are rated by their own rules",
    },
    Entry {
        names: &["rake"],
        check: Without(&[
            "-e",
            "--execute",
            "-p",
            "--execute-print",
            "-E",
            "--execute-continue",
            "-f",
            "--rakefile",
            "-r",
            "--require",
            "-I",
            "--libdir",
            "-R",
            "--rakelibdir",
        ]),
        reason: "runs the workspace Rakefile's tasks; -e/-p run Ruby code, -f/-r load other files",
    },
    Entry {
        names: &["rails"],
        check: Custom(rails_safe),
        reason: "runs the workspace Rails app's tasks, server and tests; runner and the consoles run code given to them",
    },
    Entry {
        names: &["make", "gmake"],
        check: Custom(make_safe),
        reason: "builds the workspace project; --eval, a SHELL override or a Makefile from elsewhere would run other code",
    },
    Entry {
        names: &["cmake"],
        check: Custom(cmake_safe),
        reason: "configures or builds the workspace project (`cmake -E` tools are checked as the commands they stand for)",
    },
    Entry {
        names: &["gcc", "g++", "cc", "c++", "clang", "clang++"],
        check: Custom(cc_safe),
        reason: "compiles the workspace's sources; -wrapper, plugins, -B and spec files would run other programs",
    },
    Entry {
        names: &["cargo"],
        check: Custom(cargo_safe),
        reason: "builds, tests or runs the workspace crate; --config could set a runner or wrapper program",
    },
    Entry {
        names: &["rustc"],
        check: Custom(rustc_safe),
        reason: "compiles Rust sources; -C linker=… would run another program",
    },
    Entry {
        names: &["go"],
        check: Custom(go_safe),
        reason: "builds, tests or runs the workspace module; -toolexec and -exec run other programs, `go run pkg@version` downloads and runs",
    },
    Entry {
        names: &["npm", "yarn", "pnpm"],
        check: Custom(npm_safe),
        reason: "runs the workspace package's scripts; --script-shell or a project elsewhere would run other code (installs are rated by their own rules)",
    },
    Entry {
        names: &["pip", "pip3"],
        check: Custom(pip_safe),
        reason: "package queries and installs (rated by their own rules); `pip config edit` and --editor run an editor program",
    },
    Entry {
        names: &["gem", "bundle", "poetry"],
        check: Custom(ruby_py_env_safe),
        reason: "package managers (installs rated by their own rules); open, console, shell and --editor start editors or interpreters",
    },
    Entry {
        names: &[
            "sh", "bash", "zsh", "dash", "ksh", "python", "python3", "python2", "node", "nodejs",
            "source", ".", "deno", "bun", "pypy", "pypy3",
        ],
        check: Custom(interpreter_safe),
        reason: "runs code that is analysed here (inline code) or a script file of the workspace",
    },
    Entry {
        names: &["sqlite3"],
        check: Custom(sqlite_safe),
        reason: "queries a database file; dot-commands that run programs or load code are not safe",
    },
    Entry {
        names: &["sysctl"],
        check: Custom(sysctl_safe),
        reason: "reads kernel settings (with -n, -a or a name alone)",
    },
    Entry {
        names: &[
            "less", "more", "most", "man", "vi", "vim", "nvim", "view", "ed", "red", "ex", "emacs",
            "nano", "pico", "joe", "mc", "dc",
        ],
        check: Never(
            "can run other commands on request (a pager, editor or calculator with shell escapes)",
        ),
        reason: "never safe: these run commands from their own input",
    },
];

/// Whether `path` (a program given by path) is in one of the usual program
/// directories, where the programs [`KNOWN_SAFE`] describes are installed.
pub(crate) fn system_program_path(path: &str) -> bool {
    const DIRS: &[&str] = &[
        "/bin/",
        "/usr/bin/",
        "/usr/local/bin/",
        "/sbin/",
        "/usr/sbin/",
        "/usr/local/sbin/",
        "/opt/homebrew/bin/",
        "/usr/local/go/bin/",
        "~/.cargo/bin/",
        "~/.local/bin/",
        "~/go/bin/",
        "$HOME/.cargo/bin/",
        "$HOME/.local/bin/",
    ];
    DIRS.iter().any(|d| {
        path.strip_prefix(d)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    })
}

/// The verdict of the gate for one program and its arguments.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Known to be safe with these arguments.
    Safe,
    /// Not in the table.
    Unknown,
    /// In the table, but not with these arguments (or never): why.
    Unsafe(String),
}

/// Looks `name` (a base name) up and checks `args`.
pub(crate) fn verdict(name: &str, args: &[&str]) -> Verdict {
    let Some(entry) = KNOWN_SAFE.iter().find(|e| e.names.contains(&name)) else {
        return Verdict::Unknown;
    };
    match &entry.check {
        Any => Verdict::Safe,
        Without(opts) => match forbidden_option(name == "find", opts, args) {
            Some(o) => Verdict::Unsafe(format!("{name} {o} can run other programs or write files")),
            None => Verdict::Safe,
        },
        Custom(f) => match f(args) {
            Ok(()) => Verdict::Safe,
            Err(why) => Verdict::Unsafe(format!("{name}: {why}")),
        },
        Never(why) => Verdict::Unsafe(format!("{name} {why}")),
    }
}

/// The first argument that is one of `opts` (see [`Check::Without`]).
fn forbidden_option<'a>(exact: bool, opts: &[&str], args: &[&'a str]) -> Option<&'a str> {
    for &a in args {
        if a == "--" {
            return None;
        }
        if exact {
            if opts.contains(&a) {
                return Some(a);
            }
            continue;
        }
        if let Some(long) = a.strip_prefix("--") {
            let long = long.split('=').next().unwrap_or(long);
            if opts
                .iter()
                .filter_map(|o| o.strip_prefix("--"))
                .any(|o| long.starts_with(o))
            {
                return Some(a);
            }
        } else if let Some(short) = a.strip_prefix('-') {
            if short.is_empty() || short.starts_with(|c: char| c.is_ascii_digit()) {
                continue;
            }
            let hit = opts.iter().any(|o| {
                o.len() == 2 && !o.starts_with("--") && short.contains(&o[1..])
                    || (o.len() > 2 && !o.starts_with("--") && *o == a)
            });
            if hit {
                return Some(a);
            }
        }
    }
    None
}

/// A path outside the workspace: absolute, or in the home directory.
fn outside(p: &str) -> bool {
    p.starts_with(['/', '~']) || p.starts_with("$HOME") || p.starts_with("${HOME}")
}

/// Each value of an option: `--long=V`, `--long V`, `-sV` or `-s V` (`short`
/// and `long` may be empty).
fn values<'a>(args: &[&'a str], short: &str, long: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if !long.is_empty() {
            if *a == long {
                out.extend(args.get(i + 1).copied());
                continue;
            }
            if let Some(v) = a.strip_prefix(long).and_then(|r| r.strip_prefix('=')) {
                out.push(v);
                continue;
            }
        }
        if !short.is_empty() && a.starts_with(short) && !a.starts_with("--") {
            if *a == short {
                out.extend(args.get(i + 1).copied());
            } else {
                out.push(&a[short.len()..]);
            }
        }
    }
    out
}

/// GNU make: `--eval` (and its short form `-E`) runs make code from the
/// command line (`$(shell …)`); `SHELL=` replaces the program recipes run
/// with; `-f`/`-C` outside the workspace run another project's Makefile.
fn make_safe(args: &[&str]) -> Result<(), String> {
    for a in args {
        if *a == "-E" || a.starts_with("--eval") {
            return Err(format!("{a} runs make code given on the command line"));
        }
        let var = a.split('=').next().unwrap_or("");
        if a.contains('=') && matches!(var, "SHELL" | ".SHELLFLAGS" | "MAKESHELL" | "MAKEFLAGS") {
            return Err(format!("{a} changes the program make runs recipes with"));
        }
    }
    for v in values(args, "-f", "--file")
        .into_iter()
        .chain(values(args, "", "--makefile"))
        .chain(values(args, "-C", "--directory"))
    {
        if outside(v) || v.starts_with("/dev/") || v == "-" {
            return Err(format!("runs a Makefile from outside the workspace ({v})"));
        }
    }
    Ok(())
}

/// CMake: configuring runs the project's CMakeLists.txt, `-P` a script and
/// `-C` a cache script; outside the workspace those are someone else's code.
fn cmake_safe(args: &[&str]) -> Result<(), String> {
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        match a {
            "-G" | "-T" | "-A" | "--prefix" | "--config" | "--target" | "-t" | "-j"
            | "--parallel" | "--component" | "--preset" | "--log-level" => i += 2,
            "-S" | "-B" | "-P" | "-C" | "--build" | "--install" => {
                if let Some(v) = args.get(i + 1)
                    && outside(v)
                {
                    return Err(format!("runs CMake code from outside the workspace ({v})"));
                }
                i += 2;
            }
            _ if a.starts_with('-') => i += 1,
            _ => {
                if outside(a) {
                    return Err(format!("runs CMake code from outside the workspace ({a})"));
                }
                i += 1;
            }
        }
    }
    Ok(())
}

/// C compilers: `-wrapper PROG` runs PROG around every tool, `-fplugin`
/// loads code, `-B DIR` takes the compiler's own programs from DIR and spec
/// files can run commands.
fn cc_safe(args: &[&str]) -> Result<(), String> {
    for a in args {
        if *a == "-wrapper"
            || a.starts_with("-fplugin")
            || a.starts_with("-B")
            || a.starts_with("-specs")
            || a.starts_with("--specs")
            || a.starts_with("-fuse-ld=/")
        {
            return Err(format!(
                "{a} makes the compiler run or load another program"
            ));
        }
    }
    Ok(())
}

fn cargo_safe(args: &[&str]) -> Result<(), String> {
    if let Some(a) = args.iter().find(|a| a.starts_with("--config")) {
        return Err(format!(
            "{a} can set a program cargo runs (runner, wrapper, linker)"
        ));
    }
    if let Some(v) = values(args, "", "--manifest-path")
        .into_iter()
        .find(|v| outside(v))
    {
        return Err(format!("builds a crate outside the workspace ({v})"));
    }
    Ok(())
}

fn rustc_safe(args: &[&str]) -> Result<(), String> {
    for v in values(args, "-C", "--codegen") {
        if v.starts_with("linker") {
            return Err(format!("-C {v} runs another program as the linker"));
        }
    }
    Ok(())
}

fn go_safe(args: &[&str]) -> Result<(), String> {
    for a in args {
        if a.starts_with("-toolexec") || a.starts_with("--toolexec") || *a == "-exec" {
            return Err(format!("{a} makes go run another program"));
        }
    }
    if args.first() == Some(&"run")
        && let Some(p) = args.iter().skip(1).find(|a| !a.starts_with('-'))
        && p.contains('@')
    {
        return Err(format!("go run {p} downloads and runs a module"));
    }
    Ok(())
}

fn npm_safe(args: &[&str]) -> Result<(), String> {
    if let Some(a) = args.iter().find(|a| a.starts_with("--script-shell")) {
        return Err(format!(
            "{a} replaces the shell that package scripts run with"
        ));
    }
    if args.windows(2).any(|w| w[0] == "config" && w[1] == "set")
        && args
            .iter()
            .any(|a| a.contains("script-shell") || a.contains("shell"))
    {
        return Err("sets the shell that package scripts run with".into());
    }
    for v in values(args, "-C", "--prefix")
        .into_iter()
        .chain(values(args, "", "--cwd"))
        .chain(values(args, "", "--dir"))
    {
        if outside(v) {
            return Err(format!(
                "runs the scripts of a package outside the workspace ({v})"
            ));
        }
    }
    Ok(())
}

fn pip_safe(args: &[&str]) -> Result<(), String> {
    if args.iter().any(|a| a.starts_with("--editor")) {
        return Err("--editor runs a program".into());
    }
    if args.first() == Some(&"config") && args.contains(&"edit") {
        return Err("`pip config edit` runs an editor, which can run commands".into());
    }
    Ok(())
}

fn ruby_py_env_safe(args: &[&str]) -> Result<(), String> {
    if let Some(a) = args
        .iter()
        .find(|a| *a == &"-e" || a.starts_with("--editor"))
    {
        return Err(format!("{a} runs a program as the editor"));
    }
    match args.iter().find(|a| !a.starts_with('-')).copied() {
        Some(sub @ ("open" | "console" | "shell" | "irb")) => Err(format!(
            "`{sub}` starts an editor, an interpreter or a shell, which run commands"
        )),
        _ => Ok(()),
    }
}

fn remote_copy_safe(args: &[&str]) -> Result<(), String> {
    // `-e ssh` / `-e "ssh -p 2222"` is the usual transport.
    let plain_ssh = |v: &str| {
        let mut words = v.split_whitespace();
        words
            .next()
            .is_some_and(|p| p.rsplit('/').next() == Some("ssh"))
            && words.all(|w| {
                w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./~=@:".contains(c))
            })
            && !v.to_ascii_lowercase().contains("command")
    };
    for v in values(args, "-e", "--rsh") {
        if !plain_ssh(v) {
            return Err(format!("-e {v} runs another program to connect"));
        }
    }
    for (i, a) in args.iter().enumerate() {
        let opt = a.split('=').next().unwrap_or(a);
        if matches!(opt, "--rsync-path" | "-S" | "-F") {
            return Err(format!("{a} runs another program to connect"));
        }
        let o = if *a == "-o" {
            args.get(i + 1).copied()
        } else {
            a.strip_prefix("-o")
        };
        if let Some(o) = o
            && (o.to_ascii_lowercase().contains("proxycommand")
                || o.to_ascii_lowercase().contains("localcommand"))
        {
            return Err(format!("-o {o} runs a command"));
        }
    }
    Ok(())
}

fn service_safe(args: &[&str]) -> Result<(), String> {
    match args.iter().find(|a| !a.starts_with('-')) {
        Some(a) if a.contains('/') => Err(format!("{a} names a file to run, not a service")),
        _ => Ok(()),
    }
}

fn imagemagick_safe(args: &[&str]) -> Result<(), String> {
    for a in args {
        let l = a.to_ascii_lowercase();
        if a.starts_with('|')
            || l.starts_with("msl:")
            || l.starts_with("mvg:")
            || l.contains("ephemeral:")
        {
            return Err(format!("{a} makes ImageMagick run a command or a script"));
        }
    }
    Ok(())
}

fn open_safe(args: &[&str]) -> Result<(), String> {
    const RUNS: &[&str] = &[
        ".app", ".command", ".desktop", ".sh", ".jar", ".tool", ".pkg", ".exe",
    ];
    for a in args {
        let l = a.trim_end_matches('/').to_ascii_lowercase();
        if *a == "-a" || a.starts_with("-b") || RUNS.iter().any(|e| l.ends_with(e)) {
            return Err(format!("{a}: opening it runs a program"));
        }
    }
    Ok(())
}

fn systemctl_safe(args: &[&str]) -> Result<(), String> {
    if args.contains(&"edit") {
        return Err("`systemctl edit` runs an editor".into());
    }
    Ok(())
}

fn rails_safe(args: &[&str]) -> Result<(), String> {
    match args.iter().find(|a| !a.starts_with('-')).copied() {
        Some(sub @ ("runner" | "r" | "console" | "c" | "dbconsole" | "db")) => {
            Err(format!("`rails {sub}` runs code or a console given to it"))
        }
        _ => Ok(()),
    }
}

fn no_positional(args: &[&str]) -> Result<(), String> {
    match args.iter().find(|a| !a.starts_with('-')) {
        Some(a) => Err(format!("an argument ({a}) changes the setting")),
        None => Ok(()),
    }
}

fn tar_safe(args: &[&str]) -> Result<(), String> {
    for a in args {
        let long = a.split('=').next().unwrap_or(a);
        if matches!(
            long,
            "--checkpoint-action"
                | "--to-command"
                | "--use-compress-program"
                | "--info-script"
                | "--new-volume-script"
                | "--rsh-command"
                | "--rmt-command"
                | "-I"
                | "-F"
        ) {
            return Err(format!("{a} makes tar run another program"));
        }
        // Old-style clustered options: `tar xIf prog` is rare; `-I` above.
    }
    Ok(())
}

/// `sed` without in-place editing and without the `e` (execute) and `w`
/// (write file) commands or the `W` command and `s///e`, `s///w` flags.
fn sed_safe(args: &[&str]) -> Result<(), String> {
    let mut scripts: Vec<&str> = Vec::new();
    let mut i = 0;
    let mut saw_script_opt = false;
    while i < args.len() {
        let a = args[i];
        if a == "-e" || a == "--expression" {
            if let Some(s) = args.get(i + 1) {
                scripts.push(s);
            }
            saw_script_opt = true;
            i += 2;
            continue;
        }
        if a == "-f" || a == "--file" {
            return Err("runs a sed script from a file".into());
        }
        if !a.starts_with('-') && !saw_script_opt && scripts.is_empty() {
            scripts.push(a);
            saw_script_opt = true;
        }
        i += 1;
    }
    for s in scripts {
        if sed_script_runs_or_writes(s) {
            return Err("the script runs commands or writes files (e or w)".into());
        }
    }
    Ok(())
}

/// Whether a sed script uses `e`, `w`/`W` commands or `s///e`/`s///w`.
/// Conservative: any `e`, `w` or `W` in command position or among the flags
/// after a substitution counts.
fn sed_script_runs_or_writes(script: &str) -> bool {
    let b = script.as_bytes();
    let mut i = 0;
    let mut at_command = true;
    while i < b.len() {
        let c = b[i];
        if at_command {
            match c {
                b' ' | b'\t' | b';' | b'\n' | b'{' | b'}' | b'!' => {
                    i += 1;
                    continue;
                }
                b'0'..=b'9' | b'$' | b',' | b'~' | b'+' => {
                    i += 1;
                    continue;
                }
                b'/' | b'\\' => {
                    // An address regex: skip to its end.
                    let delim = if c == b'\\' {
                        i += 1;
                        *b.get(i).unwrap_or(&b'/')
                    } else {
                        b'/'
                    };
                    i += 1;
                    while i < b.len() && b[i] != delim {
                        if b[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    i += 1;
                    continue;
                }
                b'e' | b'w' | b'W' | b'r' | b'R' => return c != b'r' && c != b'R',
                b's' | b'y' => {
                    // s/re/repl/flags: skip two delimited parts.
                    let Some(&delim) = b.get(i + 1) else {
                        return false;
                    };
                    i += 2;
                    for _ in 0..2 {
                        while i < b.len() && b[i] != delim {
                            if b[i] == b'\\' {
                                i += 1;
                            }
                            i += 1;
                        }
                        i += 1;
                    }
                    while i < b.len() && !matches!(b[i], b';' | b'\n' | b'}') {
                        if c == b's' && matches!(b[i], b'e' | b'w' | b'W') {
                            return true;
                        }
                        i += 1;
                    }
                    continue;
                }
                b'a' | b'i' | b'c' | b'b' | b't' | b'T' | b':' | b'#' | b'l' | b'q' | b'Q' => {
                    // Text or label to the end of the line.
                    while i < b.len()
                        && b[i] != b'\n'
                        && !(c != b'a' && c != b'i' && c != b'c' && c != b'#' && b[i] == b';')
                    {
                        i += 1;
                    }
                    continue;
                }
                _ => {
                    i += 1;
                    continue;
                }
            }
        }
        i += 1;
        at_command = true;
    }
    false
}

/// awk without `system(`, pipes to or from commands, `getline` and output
/// redirection (`print > "file"`).
fn awk_safe(args: &[&str]) -> Result<(), String> {
    let mut i = 0;
    let mut program: Option<&str> = None;
    while i < args.len() {
        let a = args[i];
        if a == "-f" || a.starts_with("--file") || a == "-E" {
            return Err("runs an awk program from a file".into());
        }
        if a == "-v" || a == "-F" {
            i += 2;
            continue;
        }
        if a.starts_with('-') {
            i += 1;
            continue;
        }
        program = Some(a);
        break;
    }
    let Some(p) = program else {
        return Ok(());
    };
    // Commands run by system(), pipes and getline are analysed as shell
    // commands of their own (and so pass this gate or not themselves).
    // `print … > "/abs/file"`: a redirection to a literal path outside
    // the workspace. Names built from the data (`print > ($1 ".csv")`) are
    // files in the current directory.
    for stmt in p.split([';', '{', '}', '\n']) {
        let t = stmt.trim_start();
        if (t.starts_with("print") || t.starts_with("printf"))
            && let Some((_, target)) = t.split_once('>')
        {
            let target = target
                .trim_start_matches('>')
                .trim()
                .trim_start_matches(['(', '"']);
            if target.starts_with('/') || target.starts_with('~') || target.starts_with("..") {
                return Err("the program writes to files outside the workspace (print > …)".into());
            }
        }
    }
    Ok(())
}

/// git subcommands that only read, or write only inside the repository,
/// without global options that run programs.
fn git_safe(args: &[&str]) -> Result<(), String> {
    let mut i = 0;
    while i < args.len() && args[i].starts_with('-') {
        let a = args[i];
        if a == "-c" || a.starts_with("-c") {
            let kv = if a == "-c" {
                args.get(i + 1).copied().unwrap_or("")
            } else {
                &a[2..]
            };
            let key = kv.split('=').next().unwrap_or("").to_ascii_lowercase();
            let harmless = [
                "user.", "color.", "advice.", "init.", "log.", "i18n.", "pull.",
            ]
            .iter()
            .any(|p| key.starts_with(p))
                || matches!(
                    key.as_str(),
                    "safe.directory" | "core.quotepath" | "core.autocrlf"
                );
            if !harmless {
                return Err(format!("-c {key} can make git run another program"));
            }
            i += if a == "-c" { 2 } else { 1 };
            continue;
        }
        if a.starts_with("--config-env")
            || a == "-p"
            || a == "--paginate"
            || a.starts_with("--exec-path")
        {
            return Err(format!("{a} can make git run another program"));
        }
        i += if a == "-C" || a == "--git-dir" || a == "--work-tree" {
            2
        } else {
            1
        };
    }
    let sub = args.get(i).copied().unwrap_or("");
    let rest = args.get(i + 1..).unwrap_or(&[]);
    let read_only = matches!(
        sub,
        "" | "status"
            | "log"
            | "diff"
            | "show"
            | "branch"
            | "rev-parse"
            | "ls-files"
            | "blame"
            | "shortlog"
            | "describe"
            | "tag"
            | "remote"
            | "rev-list"
            | "cat-file"
            | "ls-tree"
            | "reflog"
            | "grep"
            | "version"
            | "help"
            | "whatchanged"
            | "stash"
            | "add"
            | "commit"
            | "checkout"
            | "switch"
            | "restore"
            | "init"
            | "mv"
            | "rm"
            | "merge"
            | "rebase"
            | "cherry-pick"
            | "revert"
            | "reset"
            | "clean"
            | "worktree"
            | "fetch"
            | "pull"
            | "push"
            | "clone"
            | "config"
            | "notes"
            | "format-patch"
            | "apply"
            | "am"
            | "bisect"
            | "show-ref"
            | "for-each-ref"
            | "count-objects"
            | "fsck"
            | "gc"
            | "archive"
            | "check-ignore"
            | "symbolic-ref"
            | "name-rev"
            | "merge-base"
            | "range-diff"
            | "submodule"
    );
    if !read_only {
        return Err(format!("git {sub} is not known to be safe"));
    }
    for a in rest {
        let long = a.split('=').next().unwrap_or(a);
        if matches!(
            long,
            "--output"
                | "--ext-diff"
                | "--textconv"
                | "--exec"
                | "--upload-pack"
                | "--receive-pack"
                | "--open-files-in-pager"
                | "-O"
                | "--extcmd"
                | "--tool"
                | "--config"
        ) {
            return Err(format!(
                "{a} can make git run another program or write files"
            ));
        }
        if sub == "rebase" && (a.starts_with("-x") || long == "--exec") {
            return Err("rebase --exec runs commands".into());
        }
    }
    Ok(())
}

/// Interpreters: inline code (`-c`, `-e`) is analysed by the nested
/// analysis and a script file in the workspace is the project's code; an
/// interpreter with neither reads commands from somewhere not shown.
fn interpreter_safe(args: &[&str]) -> Result<(), String> {
    if args.iter().any(|a| {
        !a.starts_with('-') || matches!(*a, "-c" | "-e" | "-p" | "--eval" | "--print" | "-m")
    }) {
        return Ok(());
    }
    if args
        .iter()
        .any(|a| matches!(*a, "--version" | "-V" | "--help" | "-h"))
    {
        return Ok(());
    }
    Err("starts an interactive interpreter or reads code from its input".into())
}

/// Perl code that is only substitutions or transliterations.
fn perl_safe(args: &[&str]) -> Result<(), String> {
    static SUBST: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^\s*((s|y|tr)/[^/]*/[^/]*/[gimsxr]*\s*;?\s*)+$").expect("valid regex")
    });
    let mut code = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        if a.starts_with('-') && !a.starts_with("--") && (a.ends_with('e') || a.ends_with('E')) {
            code = args.get(i + 1).copied();
            break;
        }
        i += 1;
    }
    match code {
        Some(c) if SUBST.is_match(c) => Ok(()),
        _ => Err("runs Perl code that is not analysed".into()),
    }
}

/// Database clients without shell escapes (`\!` in psql, `system` in
/// mysql) or output to programs.
fn db_client_safe(args: &[&str]) -> Result<(), String> {
    for a in args {
        let l = a.to_ascii_lowercase();
        if l.contains("\\!")
            || l.contains("system ")
            || l.contains("\\o |")
            || l.contains("copy") && l.contains("program")
            || l.starts_with("--default-auth")
            || l.starts_with("--plugin-dir")
            || l.starts_with("--pager")
        {
            return Err("the commands run programs".into());
        }
    }
    Ok(())
}

fn sqlite_safe(args: &[&str]) -> Result<(), String> {
    for a in args {
        let l = a.to_ascii_lowercase();
        if [
            ".shell",
            ".system",
            ".load",
            "load_extension",
            "edit(",
            ".output",
            ".once",
            "writefile(",
        ]
        .iter()
        .any(|k| l.contains(k))
        {
            return Err("the commands run programs, load code or write files".into());
        }
        if l == "-cmd" || l == "-init" {
            return Err("runs commands from an option".into());
        }
    }
    Ok(())
}

fn sysctl_safe(args: &[&str]) -> Result<(), String> {
    for a in args {
        if *a == "-w"
            || *a == "--write"
            || *a == "-p"
            || *a == "--load"
            || *a == "--system"
            || a.contains('=')
        {
            return Err("changes kernel settings".into());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Python and JavaScript
// ---------------------------------------------------------------------------

/// A family of Python or JavaScript modules known to be safe to import.
pub(crate) struct ModuleEntry {
    /// Module names; each also covers its submodules (`matplotlib` covers
    /// `matplotlib.pyplot`) unless [`PY_UNSAFE_MODULES`] names one.
    pub(crate) names: &'static [&'static str],
    /// Why importing these is safe without asking.
    pub(crate) reason: &'static str,
}

/// Python modules known to be safe. Their risky functions (`os.system`,
/// `subprocess.run`, `shutil.rmtree`, `pickle.loads`, writes outside the
/// workspace, …) are rated by the danger rules and, for `os`, by
/// [`PY_OS_SAFE`]; commands handed to `subprocess` pass the shell gate.
pub(crate) static PY_SAFE_MODULES: &[ModuleEntry] = &[
    ModuleEntry {
        names: &[
            "json",
            "csv",
            "math",
            "cmath",
            "statistics",
            "re",
            "datetime",
            "time",
            "calendar",
            "collections",
            "itertools",
            "functools",
            "operator",
            "string",
            "textwrap",
            "decimal",
            "fractions",
            "random",
            "typing",
            "dataclasses",
            "enum",
            "abc",
            "copy",
            "pprint",
            "heapq",
            "bisect",
            "array",
            "uuid",
            "hashlib",
            "hmac",
            "secrets",
            "base64",
            "binascii",
            "struct",
            "io",
            "difflib",
            "unicodedata",
            "locale",
            "numbers",
            "types",
            "__future__",
            "html",
            "tomllib",
            "configparser",
            "zoneinfo",
            "graphlib",
            "weakref",
        ],
        reason: "pure computation and data formats: no processes, network or files of their own",
    },
    ModuleEntry {
        names: &[
            "pathlib",
            "glob",
            "fnmatch",
            "tempfile",
            "shutil",
            "filecmp",
            "gzip",
            "zlib",
            "bz2",
            "lzma",
            "zipfile",
            "tarfile",
            "sqlite3",
            "fileinput",
        ],
        reason: "files and archives: what they read, write or delete is rated by the path rules",
    },
    ModuleEntry {
        names: &[
            "os",
            "sys",
            "platform",
            "shlex",
            "subprocess",
            "getpass",
            "socket",
        ],
        reason: "the process itself: commands passed to subprocess go through the shell gate, os and socket calls through PY_OS_SAFE and PY_SOCKET_SAFE",
    },
    ModuleEntry {
        names: &[
            "argparse",
            "logging",
            "warnings",
            "contextlib",
            "traceback",
            "inspect",
            "ast",
            "tokenize",
            "dis",
            "gc",
            "timeit",
            "cProfile",
            "profile",
            "pstats",
            "unittest",
            "doctest",
            "pytest",
            "threading",
            "queue",
            "concurrent",
            "asyncio",
            "signal",
            "multiprocessing",
            "atexit",
            "sched",
            "select",
            "selectors",
            "errno",
            "stat",
        ],
        reason: "program structure, tests and concurrency inside this process",
    },
    ModuleEntry {
        names: &[
            "numpy",
            "pandas",
            "matplotlib",
            "seaborn",
            "scipy",
            "sklearn",
            "PIL",
            "openpyxl",
            "xlrd",
            "tabulate",
            "tqdm",
            "yaml",
            "dateutil",
            "pytz",
            "sympy",
            "statsmodels",
            "polars",
            "pyarrow",
            "plotly",
            "torch",
            "joblib",
            "dotenv",
            "rich",
            "click",
            "xml",
            "email",
            "mimetypes",
            "colorsys",
            "imghdr",
            "wave",
        ],
        reason: "everyday data work (loading pickles and yaml.load are rated by the deserialisation rules)",
    },
    ModuleEntry {
        names: &["venv", "importlib", "pickle"],
        reason: "run-time imports, virtual environments and pickles are rated by their own rules",
    },
];

/// Python modules (or submodules of safe ones) that are never safe: they
/// open a network connection or a terminal, run code or load native code.
pub(crate) static PY_UNSAFE_MODULES: &[(&str, &str)] = &[
    ("ctypes", "calls native code directly"),
    ("cffi", "calls native code directly"),
    (
        "pty",
        "starts programs on a pseudo-terminal (a common reverse-shell helper)",
    ),
    ("socketserver", "serves the network"),
    ("telnetlib", "opens a remote terminal session"),
    ("ftplib", "transfers files over the network"),
    ("smtplib", "sends e-mail"),
    ("poplib", "reads e-mail over the network"),
    ("imaplib", "reads e-mail over the network"),
    ("paramiko", "runs commands on other machines over SSH"),
    ("fabric", "runs commands on other machines over SSH"),
    ("pexpect", "drives interactive programs"),
    ("marshal", "loads compiled code objects"),
    ("code", "starts an interactive interpreter"),
    ("codeop", "compiles code built at run time"),
    ("webbrowser", "opens a browser on any address"),
    (
        "multiprocessing.connection",
        "listens for or connects to other processes over sockets",
    ),
    ("multiprocessing.managers", "serves objects over sockets"),
    ("xmlrpc", "calls or serves procedures over the network"),
    ("http.server", "serves files over the network"),
    ("asyncio.subprocess", "runs programs"),
    ("keyboard", "reads every key pressed (a keylogger's tool)"),
    ("pynput", "reads every key pressed (a keylogger's tool)"),
    ("pyautogui", "controls the mouse and keyboard"),
    ("mss", "captures the screen"),
    ("winreg", "changes the Windows registry"),
    ("crontab", "installs scheduled jobs"),
    ("resource", "changes process limits"),
    ("fcntl", "low-level file and terminal control"),
    ("termios", "controls the terminal"),
    ("mmap", "maps memory of files and devices"),
];

/// The functions of `os` known to be safe: reading directories, paths and
/// metadata, and the file operations the path rules rate (`os.remove`,
/// `os.rename`, `os.makedirs`, `os.chmod`). Any other `os` call (`os.kill`,
/// `os.fork`, `os.chroot`, `os.mkfifo`, …) is not known to be safe; the
/// ones that run programs (`os.system`, `os.exec*`) have their own rules.
pub(crate) static PY_OS_SAFE: &[&str] = &[
    "listdir",
    "scandir",
    "walk",
    "fwalk",
    "getcwd",
    "getcwdb",
    "chdir",
    "stat",
    "lstat",
    "fstat",
    "access",
    "readlink",
    "makedirs",
    "mkdir",
    "remove",
    "unlink",
    "rmdir",
    "removedirs",
    "rename",
    "renames",
    "replace",
    "chmod",
    "utime",
    "getenv",
    "getenvb",
    "putenv",
    "cpu_count",
    "getpid",
    "getppid",
    "getuid",
    "getgid",
    "geteuid",
    "getlogin",
    "urandom",
    "get_terminal_size",
    "fspath",
    "fsencode",
    "fsdecode",
    "symlink",
    "link",
    "open",
    "close",
    "read",
    "write",
    "fdopen",
    "isatty",
    "strerror",
    "devnull",
    "times",
    "uname",
    "getloadavg",
    "umask",
    "truncate",
    "path",
    "environ",
];

/// The functions of `socket` known to be safe: names of this machine and
/// conversions. Connections (`socket.socket`, `create_connection`) are
/// rated by the network rules; any other call is not known to be safe.
pub(crate) static PY_SOCKET_SAFE: &[&str] = &[
    "gethostname",
    "getfqdn",
    "htons",
    "ntohs",
    "htonl",
    "ntohl",
    "inet_aton",
    "inet_ntoa",
    "inet_pton",
    "inet_ntop",
    "socket",
    "create_connection",
    "timeout",
    "error",
];

/// Whether importing the Python module `module` (dotted) is known to be
/// safe: `Err` says why not (unknown, or never safe).
pub(crate) fn py_module(module: &str) -> Result<(), String> {
    if let Some((m, why)) = PY_UNSAFE_MODULES
        .iter()
        .find(|(m, _)| module == *m || module.strip_prefix(m).is_some_and(|r| r.starts_with('.')))
    {
        return Err(format!("imports {m}, which {why}"));
    }
    let top = module.split('.').next().unwrap_or(module);
    if PY_SAFE_MODULES.iter().any(|e| e.names.contains(&top)) {
        Ok(())
    } else {
        Err(format!("imports {module}, which is not known to be safe"))
    }
}

/// Whether the call `q` (qualified: `os.kill`) is known to be safe, for
/// the modules whose functions are gated one by one (`os`).
pub(crate) fn py_call(q: &str) -> Result<(), String> {
    if let Some(f) = q.strip_prefix("socket.") {
        return if PY_SOCKET_SAFE.contains(&f) {
            Ok(())
        } else {
            Err(format!("calls {q}, which is not known to be safe"))
        };
    }
    match q.strip_prefix("os.") {
        Some(f) => {
            let head = f.split('.').next().unwrap_or(f);
            // Programs run by `os.system`/`os.exec*`/… pass the shell gate.
            if PY_OS_SAFE.contains(&head)
                || ["exec", "spawn", "posix_spawn", "system", "popen"]
                    .iter()
                    .any(|p| head.starts_with(p))
            {
                Ok(())
            } else {
                Err(format!("calls {q}, which is not known to be safe"))
            }
        }
        None => Ok(()),
    }
}

/// JavaScript modules (Node built-ins and everyday packages) known to be
/// safe. What `fs` writes or deletes is rated by the path rules; commands
/// passed to `child_process`, `shelljs` and `zx` go through the shell gate.
pub(crate) static JS_SAFE_MODULES: &[ModuleEntry] = &[
    ModuleEntry {
        names: &[
            "fs",
            "fs/promises",
            "path",
            "os",
            "util",
            "events",
            "stream",
            "readline",
            "zlib",
            "crypto",
            "url",
            "querystring",
            "string_decoder",
            "buffer",
            "assert",
            "timers",
            "timers/promises",
            "perf_hooks",
            "worker_threads",
            "process",
            "console",
        ],
        reason: "Node built-ins for files, paths, data and computation inside this process",
    },
    ModuleEntry {
        names: &[
            "child_process",
            "shelljs",
            "zx",
            "execa",
            "cross-spawn",
            "rimraf",
            "fs-extra",
            "glob",
            "mkdirp",
        ],
        reason: "run commands or touch files: each command passes the shell gate, each path the path rules",
    },
    ModuleEntry {
        names: &[
            "lodash",
            "underscore",
            "dayjs",
            "moment",
            "chalk",
            "commander",
            "yargs",
            "minimist",
            "csv-parse",
            "csv-stringify",
            "papaparse",
            "js-yaml",
            "yaml",
            "better-sqlite3",
            "sqlite3",
            "dotenv",
            "uuid",
            "date-fns",
            "mathjs",
            "d3",
            "xlsx",
            "marked",
        ],
        reason: "everyday data work: parsing, formatting, local databases",
    },
];

/// JavaScript modules never safe to import without asking.
pub(crate) static JS_UNSAFE_MODULES: &[(&str, &str)] = &[
    ("net", "opens network connections"),
    ("tls", "opens network connections"),
    ("dgram", "sends network packets"),
    ("http", "uses the network"),
    ("https", "uses the network"),
    ("http2", "uses the network"),
    ("dns", "queries the network"),
    ("vm", "runs code built at run time"),
    ("inspector", "debugs and runs code in this process"),
    ("cluster", "forks worker processes"),
    ("repl", "starts an interactive interpreter"),
    ("module", "loads code at run time"),
    ("ssh2", "runs commands on other machines over SSH"),
    ("node-pty", "starts programs on a pseudo-terminal"),
    ("ffi-napi", "calls native code directly"),
    ("puppeteer", "drives a browser"),
    ("nodemailer", "sends e-mail"),
];

/// Whether requiring the JavaScript module `module` is known to be safe:
/// `Err` says why not. Relative paths (`./lib/util.js`) are the project's
/// own code, like running a workspace script in the shell gate.
pub(crate) fn js_module(module: &str) -> Result<(), String> {
    let m = module.strip_prefix("node:").unwrap_or(module);
    if m.starts_with("./") || m.starts_with("../") {
        return Ok(());
    }
    if let Some((_, why)) = JS_UNSAFE_MODULES.iter().find(|(u, _)| *u == m) {
        return Err(format!("loads {m}, which {why}"));
    }
    // `lodash/fp`, `@scope/pkg/sub`: the package decides.
    let pkg = if m.starts_with('@') {
        m.splitn(3, '/').take(2).collect::<Vec<_>>().join("/")
    } else {
        m.split('/').next().unwrap_or(m).to_string()
    };
    if JS_SAFE_MODULES
        .iter()
        .any(|e| e.names.contains(&m) || e.names.contains(&pkg.as_str()))
    {
        Ok(())
    } else {
        Err(format!("loads {m}, which is not known to be safe"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(cmd: &str) -> Verdict {
        let w: Vec<&str> = cmd.split_whitespace().collect();
        verdict(w[0], &w[1..])
    }

    #[test]
    fn every_entry_has_a_reason_and_names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for e in KNOWN_SAFE {
            assert!(!e.reason.is_empty());
            for n in e.names {
                assert!(seen.insert(*n), "{n} listed twice");
            }
        }
    }

    #[test]
    fn module_tables_have_reasons() {
        for e in PY_SAFE_MODULES.iter().chain(JS_SAFE_MODULES) {
            assert!(!e.reason.is_empty());
        }
        for (m, why) in PY_UNSAFE_MODULES.iter().chain(JS_UNSAFE_MODULES) {
            assert!(!why.is_empty(), "{m}");
        }
        assert!(py_module("matplotlib.pyplot").is_ok());
        assert!(py_module("multiprocessing.connection").is_err());
        assert!(py_module("ctypes").is_err());
        assert!(py_module("frobnicate").is_err());
        assert!(py_call("os.path.join").is_ok());
        assert!(py_call("os.kill").is_err());
        assert!(js_module("node:fs").is_ok());
        assert!(js_module("./lib/util.js").is_ok());
        assert!(js_module("net").is_err());
        assert!(js_module("left-pad").is_err());
    }

    #[test]
    fn verdicts() {
        assert_eq!(v("ls -la"), Verdict::Safe);
        assert_eq!(v("frobnicate --all"), Verdict::Unknown);
        assert!(matches!(v("rg --pre ./x.sh foo"), Verdict::Unsafe(_)));
        assert!(matches!(v("rg --pre=./x.sh foo"), Verdict::Unsafe(_)));
        assert_eq!(v("rg -n foo src"), Verdict::Safe);
        assert!(matches!(v("find . -exec /bin/sh ;"), Verdict::Unsafe(_)));
        assert!(matches!(v("find . -fprint0 /tmp/x"), Verdict::Unsafe(_)));
        assert_eq!(v("find . -name *.rs -type f"), Verdict::Safe);
        assert_eq!(v("sed -i s/a/b/ f"), Verdict::Safe);
        assert!(matches!(v("sed -n 1e f"), Verdict::Unsafe(_)));
        assert_eq!(v("perl -pi -e s/a/b/g f"), Verdict::Safe);
        assert!(matches!(v("perl -e system(\"id\")"), Verdict::Unsafe(_)));
        assert!(matches!(v("psql -c \\!id"), Verdict::Unsafe(_)));
        assert!(matches!(v("sed 1e f"), Verdict::Unsafe(_)));
        assert!(matches!(v("sed s/a/b/w out f"), Verdict::Unsafe(_)));
        assert_eq!(v("sed -n 1,10p f"), Verdict::Safe);
        assert_eq!(v("sed s/foo/bar/g f"), Verdict::Safe);
        assert!(matches!(v("awk {print>\"/tmp/x\"} f"), Verdict::Unsafe(_)));
        assert_eq!(v("awk {print>($1\".csv\")} f"), Verdict::Safe);
        assert_eq!(v("awk $3>100{print} f"), Verdict::Safe);
        assert!(matches!(v("git -ccore.pager=cat log"), Verdict::Unsafe(_)));
        assert!(matches!(v("git -c core.pager=cat log"), Verdict::Unsafe(_)));
        assert_eq!(v("git -c color.ui=always log"), Verdict::Safe);
        assert!(matches!(
            v("git --config-env=core.pager=X log"),
            Verdict::Unsafe(_)
        ));
        assert!(matches!(v("git diff --ext-diff"), Verdict::Unsafe(_)));
        assert!(matches!(v("git log --output=/tmp/x"), Verdict::Unsafe(_)));
        assert_eq!(v("git log --oneline"), Verdict::Safe);
        assert!(matches!(
            v("tar cf /dev/null x --checkpoint-action=exec=sh"),
            Verdict::Unsafe(_)
        ));
        assert!(matches!(v("tar -I prog -xf a.tar"), Verdict::Unsafe(_)));
        assert_eq!(v("tar -tzf a.tgz"), Verdict::Safe);
        assert!(matches!(v("less README.md"), Verdict::Unsafe(_)));
        assert!(matches!(v("ed"), Verdict::Unsafe(_)));
        assert!(matches!(v("bash"), Verdict::Unsafe(_)));
        assert_eq!(v("python3 script.py"), Verdict::Safe);
        assert!(matches!(v("sysctl -w kernel.x=1"), Verdict::Unsafe(_)));
        assert_eq!(v("sysctl -n hw.model"), Verdict::Safe);
        assert!(matches!(v("hostname evil"), Verdict::Unsafe(_)));
        assert!(matches!(v("sort -o /etc/x f"), Verdict::Unsafe(_)));
        assert!(matches!(v("date -s 2020-01-01"), Verdict::Unsafe(_)));
    }
}

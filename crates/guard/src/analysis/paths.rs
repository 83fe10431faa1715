//! Classification of statically known paths: how broad a deletion target is,
//! and whether a path holds credentials, makes code run later (persistence),
//! is a history/log file, a raw device or a system location.

use super::Risk;
use std::borrow::Cow;

/// How much a path covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `/`, `/*`.
    Root,
    /// The home directory itself (`~`, `$HOME`, `/root`, `/home/u`, `~/*`).
    Home,
    /// Every user's home (`/home`, `/Users`).
    AllHomes,
    /// The parent of the workspace (`..`, `../*`).
    Parent,
    /// Everything in the current directory (`*`, `.`, `./*`).
    Cwd,
    /// A top-level system directory itself (`/etc`, `/usr`, `/usr/*`).
    SystemTop,
    /// Something under a system directory.
    System,
    /// A raw disk or memory device.
    Device,
    /// Something under the home directory.
    HomeSub,
    /// Under /tmp or /var/tmp.
    Tmp,
    /// Harmless special files (`/dev/null`, `/dev/stdout`, …).
    Special,
    /// Another absolute path.
    Outside,
    /// A path relative to the workspace.
    Relative,
    /// Known only at run time (an unresolved variable or substitution).
    Dynamic,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct PathClass {
    pub scope: Scope,
    /// Holds secrets (keys, tokens, browser profiles, /etc/shadow).
    pub credential: bool,
    /// Writing here makes code run later (rc files, cron, systemd, hooks, …).
    pub persistence: Option<&'static str>,
    /// Writing here changes who may do what (sudoers, passwd, ld.so.preload).
    pub privilege: bool,
    /// A shell/REPL history file.
    pub history: bool,
    /// A system log.
    pub log: bool,
    /// Part of the path is known only at run time (`/etc/$x`, `"/etc/" + f`):
    /// the scope is what the known parts say, with `*` for the rest.
    pub dynamic: bool,
}

impl Scope {
    /// Scopes where a relative path means something sensitive once code has
    /// changed into them.
    fn is_sensitive(self) -> bool {
        matches!(
            self,
            Scope::Root
                | Scope::AllHomes
                | Scope::Home
                | Scope::SystemTop
                | Scope::System
                | Scope::Device
        )
    }
}

impl PathClass {
    /// Adds what makes `other` sensitive (credential, persistence, privilege,
    /// history, log) to `self`.
    fn absorb_flags(&mut self, other: &PathClass) {
        self.credential |= other.credential;
        self.persistence = self.persistence.or(other.persistence);
        self.privilege |= other.privilege;
        self.history |= other.history;
        self.log |= other.log;
    }
}

/// The marker Python and JavaScript put where a path has a part known only at
/// run time (`"/etc/" + name` becomes `/etc/<dynamic>`).
pub(crate) const DYNAMIC: &str = "<dynamic>";

macro_rules! hole_var {
    () => {
        "$INTERLOCK_RUNTIME_VALUE"
    };
}

/// The shell variable that stands, in a command built by Python or
/// JavaScript, for an argument known only at run time (zx template holes,
/// `subprocess.run(["git", "show", sha])`): the shell rules treat it as any
/// unknown `"$x"`.
pub(crate) const HOLE_VAR: &str = hole_var!();

/// [`HOLE_VAR`] quoted, as one whole argument.
pub(crate) const HOLE: &str = concat!("\"", hole_var!(), "\"");

/// How a part known only at run time is shown to the user.
const RUNTIME_DISPLAY: &str = "{…}";

/// `message` as the user sees it: the internal markers for run-time parts
/// ([`DYNAMIC`], [`HOLE_VAR`]) shown as `{…}` (`writes to /etc/{…}`).
/// Matching and classification never see this form.
pub(crate) fn display_message(message: String) -> String {
    if !message.contains(DYNAMIC) && !message.contains(HOLE_VAR) {
        return message;
    }
    message
        .replace(DYNAMIC, RUNTIME_DISPLAY)
        .replace(HOLE, RUNTIME_DISPLAY)
        .replace(HOLE_VAR, RUNTIME_DISPLAY)
}

/// A string made of `parts` (joined with `sep`) when some of them are known
/// only at run time (`None`): the known parts with [`DYNAMIC`] between them.
/// `None` when no part is known (nothing worth classifying) or the result
/// would be unreasonably long.
pub(crate) fn shape_of<'a>(
    parts: impl IntoIterator<Item = Option<&'a str>>,
    sep: &str,
) -> Option<String> {
    let mut out = String::new();
    let mut any_known = false;
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        match part {
            Some(t) => {
                any_known = true;
                out.push_str(t);
            }
            None => out.push_str(DYNAMIC),
        }
        if out.len() > 4096 {
            return None;
        }
    }
    any_known.then_some(out)
}

/// `p` with every part known only at run time (`$x`, `${x}`, `$(…)`,
/// [`DYNAMIC`]) replaced by `*`, or `None` when `p` has no such part.
fn wildcard_dynamic(p: &str) -> Option<String> {
    if !p.contains('$') && !p.contains(DYNAMIC) {
        return None;
    }
    let mut out = String::with_capacity(p.len());
    let mut rest = p;
    while let Some(c) = rest.chars().next() {
        if let Some(r) = rest.strip_prefix(DYNAMIC) {
            out.push('*');
            rest = r;
            continue;
        }
        if c != '$' {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let after = &rest[1..];
        let skip = match after.chars().next() {
            Some(open @ ('{' | '(')) => {
                let close = if open == '{' { '}' } else { ')' };
                let mut depth = 0usize;
                let mut end = after.len();
                for (i, ch) in after.char_indices() {
                    if ch == open {
                        depth += 1;
                    } else if ch == close {
                        depth -= 1;
                        if depth == 0 {
                            end = i + 1;
                            break;
                        }
                    }
                }
                end
            }
            Some(ch) if ch.is_ascii_alphabetic() || ch == '_' => after
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                .unwrap_or(after.len()),
            Some(ch) if ch.is_ascii_digit() || "@*#?$!-".contains(ch) => 1,
            _ => 0,
        };
        out.push('*');
        rest = &after[skip..];
    }
    // `**` and `*/*` say no more than `*` here.
    while out.contains("**") {
        out = out.replace("**", "*");
    }
    Some(out)
}

const SYSTEM_DIRS: &[&str] = &[
    "etc",
    "usr",
    "bin",
    "sbin",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "boot",
    "var",
    "opt",
    "sys",
    "proc",
    "dev",
    "srv",
    "snap",
    "mnt",
    "media",
    "System",
    "Library",
    "Applications",
    "private",
    "Volumes",
];

const CRED_HOME: &[&str] = &[
    ".ssh",
    ".aws",
    ".gnupg",
    ".config/gcloud",
    ".azure",
    ".kube",
    ".docker/config.json",
    ".netrc",
    ".git-credentials",
    ".pgpass",
    ".my.cnf",
    ".npmrc",
    ".pypirc",
    ".config/gh",
    ".config/hub",
    ".local/share/keyrings",
    ".password-store",
    ".mozilla",
    ".config/google-chrome",
    ".config/chromium",
    ".config/BraveSoftware",
    ".config/microsoft-edge",
    ".config/vivaldi",
    ".config/opera",
    "snap/firefox",
    "Library/Keychains",
    "Library/Cookies",
    "Library/Application Support/Google/Chrome",
    "Library/Application Support/Firefox",
    "Library/Application Support/BraveSoftware",
    "Library/Safari",
    ".vault-token",
    ".terraform.d/credentials.tfrc.json",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".gem/credentials",
    ".boto",
    ".s3cfg",
    ".config/rclone",
    ".config/interlock",
    ".local/share/interlock",
    ".pki",
    ".thunderbird",
    ".electrum",
    ".bitcoin/wallet.dat",
];

const CRED_ABS: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/sudoers",
    "/etc/ssh/ssh_host_",
    "/etc/ssl/private",
    "/proc/self/environ",
    "/run/secrets",
    "/var/run/secrets",
    "/etc/krb5.keytab",
    "/var/lib/docker",
];

const CRED_NAMES: &[&str] = &[
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "id_ecdsa_sk",
    "id_ed25519_sk",
    "Login Data",
    "key4.db",
    "key3.db",
    "logins.json",
    "cookies.sqlite",
    ".git-credentials",
    ".netrc",
    ".pgpass",
    "wallet.dat",
    "login.keyring",
];

const PERSIST_HOME: &[(&str, &str)] = &[
    (".bashrc", "a shell startup file"),
    (".bash_profile", "a shell startup file"),
    (".bash_login", "a shell startup file"),
    (".bash_logout", "a shell startup file"),
    (".profile", "a shell startup file"),
    (".zshrc", "a shell startup file"),
    (".zshenv", "a shell startup file"),
    (".zprofile", "a shell startup file"),
    (".zlogin", "a shell startup file"),
    (".kshrc", "a shell startup file"),
    (".cshrc", "a shell startup file"),
    (".tcshrc", "a shell startup file"),
    (".config/fish", "a shell startup file"),
    (".xinitrc", "a session startup file"),
    (".xprofile", "a session startup file"),
    (".xsession", "a session startup file"),
    (".pam_environment", "the login environment"),
    (".config/environment.d", "the login environment"),
    (".config/autostart", "desktop autostart"),
    (".config/systemd", "a systemd user unit"),
    (".local/share/systemd", "a systemd user unit"),
    (".ssh/authorized_keys", "SSH authorized_keys (remote login)"),
    (
        ".ssh/authorized_keys2",
        "SSH authorized_keys (remote login)",
    ),
    (".ssh/rc", "an SSH login script"),
    (".ssh/config", "the SSH client configuration"),
    ("Library/LaunchAgents", "a launchd agent"),
    (".gitconfig", "the global git configuration"),
    (".config/git/config", "the global git configuration"),
    (".vimrc", "an editor startup file"),
    (".pythonrc", "a Python startup file"),
    (".npmrc", "the npm configuration"),
    (".pip/pip.conf", "the pip configuration"),
    (".config/pip/pip.conf", "the pip configuration"),
];

const PERSIST_ABS: &[(&str, &str)] = &[
    ("/etc/profile", "a system shell startup file"),
    ("/etc/bash.bashrc", "a system shell startup file"),
    ("/etc/bashrc", "a system shell startup file"),
    ("/etc/zsh", "a system shell startup file"),
    ("/etc/environment", "the system environment"),
    ("/etc/cron", "a cron job"),
    ("/etc/crontab", "a cron job"),
    ("/var/spool/cron", "a cron job"),
    ("/etc/anacrontab", "a cron job"),
    ("/etc/systemd", "a systemd unit"),
    ("/lib/systemd", "a systemd unit"),
    ("/usr/lib/systemd", "a systemd unit"),
    ("/run/systemd", "a systemd unit"),
    ("/etc/init.d", "an init script"),
    ("/etc/init", "an init script"),
    ("/etc/rc.local", "an init script"),
    ("/etc/rc", "an init script"),
    ("/etc/xdg/autostart", "desktop autostart"),
    ("/etc/update-motd.d", "a login script"),
    ("/etc/udev/rules.d", "a udev rule"),
    ("/etc/ld.so.preload", "the dynamic loader preload list"),
    ("/etc/ld.so.conf", "the dynamic loader configuration"),
    ("/etc/ssh/sshd_config", "the SSH server configuration"),
    ("/etc/pam.d", "the PAM login configuration"),
    ("/Library/LaunchDaemons", "a launchd daemon"),
    ("/Library/LaunchAgents", "a launchd agent"),
    ("/etc/apt/sources.list", "the package sources"),
];

const PRIV_ABS: &[&str] = &[
    "/etc/sudoers",
    "/etc/passwd",
    "/etc/group",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/ld.so.preload",
    "/etc/security",
    "/etc/pam.d",
];

const HISTORY_NAMES: &[&str] = &[
    ".bash_history",
    ".zsh_history",
    ".zhistory",
    ".sh_history",
    ".history",
    ".python_history",
    ".node_repl_history",
    ".mysql_history",
    ".psql_history",
    ".sqlite_history",
    ".lesshst",
    ".viminfo",
    ".rediscli_history",
    "fish_history",
];

const LOG_ABS: &[&str] = &[
    "/var/log",
    "/var/run/utmp",
    "/run/utmp",
    "/var/adm",
    "/var/audit",
    "/private/var/log",
];

const SPECIAL_DEVS: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/stdout",
    "/dev/stderr",
    "/dev/stdin",
    "/dev/tty",
    "/dev/random",
    "/dev/urandom",
    "/dev/full",
    "/dev/ptmx",
];

const DISK_DEVS: &[&str] = &[
    "/dev/sd",
    "/dev/hd",
    "/dev/vd",
    "/dev/xvd",
    "/dev/nvme",
    "/dev/mmcblk",
    "/dev/md",
    "/dev/dm-",
    "/dev/mapper/",
    "/dev/disk",
    "/dev/rdisk",
    "/dev/mem",
    "/dev/kmem",
    "/dev/port",
    "/dev/loop",
    "/dev/sr",
    "/dev/fd0",
    "/dev/root",
    "/dev/nbd",
    "/dev/zd",
    "/dev/bcache",
];

/// Rewrites a leading `$HOME`, `${HOME}` or `~` to `~`.
pub(crate) fn canonical_home(p: &str) -> Cow<'_, str> {
    for prefix in ["${HOME}", "$HOME", "~"] {
        if let Some(rest) = p.strip_prefix(prefix)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return if prefix == "~" {
                Cow::Borrowed(p)
            } else {
                Cow::Owned(format!("~{rest}"))
            };
        }
    }
    Cow::Borrowed(p)
}

/// Collapses `//`, `/./`, `a/..` and trailing slashes (keeps a lone `/`).
///
/// `..` is resolved lexically (symlinks are not followed): never above `/`;
/// above `~` it goes to `/home`; a relative path keeps its leading `..`
/// (`build/../../x` is `../x`). A part known only at run time (`$x`) may
/// hold several parts, so a `..` after it is kept.
pub(crate) fn tidy(p: &str) -> Cow<'_, str> {
    // Most paths are tidy already: no empty part (besides the one before a
    // leading `/`), no `.` after the first part and no `..` after a part
    // that is not itself `..`.
    let mut parts = p.split('/');
    let first = parts.next().unwrap_or("");
    let first_ok = !first.is_empty() || p.len() > 1;
    let mut climbing = first == "..";
    if first_ok
        && parts.all(|part| {
            let ok = !part.is_empty() && part != "." && (part != ".." || climbing);
            climbing &= part == "..";
            ok
        })
    {
        return Cow::Borrowed(p);
    }
    Cow::Owned(tidy_slow(p))
}

fn tidy_slow(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut absolute = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        if part.is_empty() || (part == "." && !parts.is_empty()) {
            continue;
        }
        if part == ".." {
            match parts.last().copied() {
                // `/..` is `/`.
                None if absolute => continue,
                None | Some("..") => {}
                Some(".") => {
                    parts.pop();
                }
                Some("~") if parts.len() == 1 && !absolute => {
                    parts.clear();
                    parts.push("home");
                    absolute = true;
                    continue;
                }
                Some(last) if !last.contains('$') && !last.contains(DYNAMIC) => {
                    parts.pop();
                    continue;
                }
                Some(_) => {}
            }
        }
        parts.push(part);
    }
    if absolute {
        out.push('/');
    }
    out.push_str(&parts.join("/"));
    if out.is_empty() {
        out.push('.');
    }
    out
}

/// `~user` and `~user/…` (another user's home) as `~` and `~/…`; `~+` and
/// `~-` (the working directories) are left alone.
fn any_user_home(p: &str) -> Cow<'_, str> {
    let Some(rest) = p.strip_prefix('~') else {
        return Cow::Borrowed(p);
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let user = &rest[..end];
    let valid = !user.is_empty()
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !user.starts_with(['-', '.']);
    if valid {
        Cow::Owned(format!("~{}", &rest[end..]))
    } else {
        Cow::Borrowed(p)
    }
}

/// The part of `p` below the home directory ("" for home itself).
fn home_rel(p: &str) -> Option<&str> {
    if p == "~" {
        return Some("");
    }
    if let Some(rest) = p.strip_prefix("~/") {
        return Some(rest);
    }
    if p == "/root" {
        return Some("");
    }
    if let Some(rest) = p.strip_prefix("/root/") {
        return Some(rest);
    }
    for base in ["/home/", "/Users/"] {
        if let Some(rest) = p.strip_prefix(base) {
            return match rest.find('/') {
                Some(i) => Some(&rest[i + 1..]),
                None => Some(""),
            };
        }
    }
    None
}

/// `s.trim_start_matches("./")`, without building a substring searcher.
pub(crate) fn strip_dot_slashes(mut s: &str) -> &str {
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s
}

fn under(p: &str, prefix: &str) -> bool {
    match p.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || prefix.ends_with('/'),
        None => false,
    }
}

fn is_glob_all(s: &str) -> bool {
    matches!(s, "*" | ".*" | "*.*" | ".[!.]*" | "{*,.*}" | "" | ".")
}

/// `*/*`, `**/*`, `**`: every part matches anything, so together they cover
/// everything below (files in every subdirectory).
fn is_glob_all_parts(s: &str) -> bool {
    is_glob_all(s) || s.split('/').all(|part| part == "**" || is_glob_all(part))
}

/// Whether the shell glob `pat` (`*`, `?`, `[…]`) matches the file name
/// `name`. A leading `.` is never matched by a wildcard, as in the shell.
fn glob_matches(pat: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pat.first() != Some(&b'.') {
        return false;
    }
    // Backtracking only to the last `*`: linear in practice, never
    // exponential, whatever the pattern.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pat.get(p) {
            Some(b'*') => {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => match bracket(pat, p, name[n]) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                None => (name[n] == b'[').then_some(p + 1),
            },
            Some(&c) => (c == name[n]).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                p = next;
                n += 1;
            }
            (None, Some((sp, sn))) => {
                p = sp;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            (None, None) => return false,
        }
    }
    pat[p..].iter().all(|&b| b == b'*')
}

/// Whether the bracket expression at `pat[at]` (`[abc]`, `[a-z]`, `[!x]`)
/// matches `c`, and where the pattern goes on; `None` when it is not closed
/// (a literal `[`).
fn bracket(pat: &[u8], at: usize, c: u8) -> Option<(bool, usize)> {
    // A `]` right after `[` (or `[!`) is part of the set.
    let close = pat.get(at + 2..)?.iter().position(|&b| b == b']')? + at + 2;
    let set = &pat[at + 1..close];
    let (neg, set) = match set.first() {
        Some(b'!' | b'^') => (true, &set[1..]),
        _ => (false, set),
    };
    let mut hit = false;
    let mut i = 0;
    while i < set.len() {
        if i + 2 < set.len() && set[i + 1] == b'-' {
            hit |= set[i] <= c && c <= set[i + 2];
            i += 3;
        } else {
            hit |= set[i] == c;
            i += 1;
        }
    }
    Some((hit != neg, close + 1))
}

fn has_glob(s: &str) -> bool {
    s.bytes().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// Whether the parts of `path` (some of them globs) name `entry` or
/// something below it. A glob part must hold a literal besides `.`, so
/// `~/*` and `~/.*` (the whole home, rated by scope) do not count.
fn glob_under(path: &str, entry: &str) -> bool {
    let mut pp = path.split('/');
    for e in entry.split('/') {
        let Some(part) = pp.next() else {
            return false;
        };
        let literal = part
            .bytes()
            .any(|b| !matches!(b, b'*' | b'?' | b'[' | b']' | b'.' | b'!'));
        if part != e && !(literal && glob_matches(part.as_bytes(), e.as_bytes())) {
            return false;
        }
    }
    true
}

/// A file-name glob specific enough to stand for a sensitive name: no `*`,
/// or at least three literal characters before the first `*` (`id_*`, not
/// `*.json`).
fn specific_name_glob(base: &str) -> bool {
    match base.find('*') {
        None => true,
        Some(i) => i >= 3 && !has_glob(&base[..i]),
    }
}

/// Classifies a statically known path (already stripped of quotes).
pub(crate) fn classify(raw: &str) -> PathClass {
    let mut c = classify_inner(raw);
    // `${DEST:-$HOME/.bashrc}`: unless DEST is set, the path is the default,
    // so what makes the default sensitive makes this one sensitive too.
    if let Some((_, default, rest)) = defaulted_var(raw.trim())
        && !default.is_empty()
    {
        c.absorb_flags(&classify_inner(&format!("{default}{rest}")));
    }
    // Public keys (`id_ed25519.pub`) are meant to be shared.
    if raw.trim_end().ends_with(".pub") {
        c.credential = false;
    }
    c
}

fn classify_inner(raw: &str) -> PathClass {
    let canon = canonical_home(raw.trim());
    let canon = any_user_home(&canon);
    let p = tidy(&canon);
    let p: &str = &p;
    let mut class = PathClass {
        scope: Scope::Relative,
        credential: false,
        persistence: None,
        privilege: false,
        history: false,
        log: false,
        dynamic: false,
    };
    let base = p.rsplit('/').next().unwrap_or(p);
    if CRED_NAMES.contains(&base) {
        class.credential = true;
    }
    if HISTORY_NAMES.contains(&base) {
        class.history = true;
    }
    // `~/.ssh/id_rs?`, `.bash_h*`: a glob standing for a sensitive name.
    let globbed = has_glob(p);
    if globbed && has_glob(base) && specific_name_glob(base) {
        let m = |n: &&str| glob_matches(base.as_bytes(), n.as_bytes());
        class.credential |= CRED_NAMES.iter().any(m);
        class.history |= HISTORY_NAMES.iter().any(m);
    }
    if p.len() >= 10 && p.contains(".git/hooks") {
        class.persistence = Some("a git hook");
    }
    if p.ends_with(".service") || p.ends_with(".timer") || p.ends_with(".socket") {
        class.persistence.get_or_insert("a systemd unit");
    }
    if let Some(rel) = home_rel(p) {
        let rel_tidy = strip_dot_slashes(rel);
        // `~/$x`: an empty or unlucky `$x` makes it the home directory.
        let rel_shape = wildcard_dynamic(rel_tidy);
        class.dynamic = rel_shape.is_some();
        let rel_glob = rel_shape.as_deref().unwrap_or(rel_tidy);
        class.scope = if is_glob_all_parts(rel_glob) {
            Scope::Home
        } else {
            Scope::HomeSub
        };
        for c in CRED_HOME {
            if under(rel_tidy, c) || (globbed && glob_under(rel_tidy, c)) {
                class.credential = true;
            }
        }
        for (c, what) in PERSIST_HOME {
            if under(rel_tidy, c) || (globbed && glob_under(rel_tidy, c)) {
                class.persistence = Some(what);
            }
        }
        if rel_tidy.starts_with(".local/share/fish/") {
            class.history |= rel_tidy.ends_with("history");
        }
        // `/home/*`, `/home/*/*`: every user's home.
        if let Some(users) = p
            .strip_prefix("/home/")
            .or_else(|| p.strip_prefix("/Users/"))
            && is_glob_all_parts(users)
            && users.contains('*')
        {
            class.scope = Scope::AllHomes;
        }
        return class;
    }
    if p.contains('$') || (p.contains('<') && p.contains(DYNAMIC)) {
        if p.starts_with('/')
            && let Some(shape) = wildcard_dynamic(p)
        {
            // `/etc/$x`: the known prefix says where it is (`/etc/*`).
            let mut c = classify_inner(&shape);
            c.dynamic = true;
            return c;
        }
        class.scope = Scope::Dynamic;
        class.dynamic = true;
        // `$DIR/.ssh/...` is still obviously a credential path.
        if let Some(i) = p.find('/') {
            let rest = &p[i + 1..];
            for c in CRED_HOME {
                if under(rest, c) {
                    class.credential = true;
                }
            }
            for (c, what) in PERSIST_HOME {
                if under(rest, c) {
                    class.persistence = Some(what);
                }
            }
        }
        return class;
    }
    if p.starts_with('/') {
        if p == "/" || p == "/*" || p == "/.*" || is_glob_all_parts(p.trim_start_matches('/')) {
            class.scope = Scope::Root;
            return class;
        }
        if matches!(p, "/home" | "/home/*" | "/Users" | "/Users/*") {
            class.scope = Scope::AllHomes;
            return class;
        }
        for c in CRED_ABS {
            if p.starts_with(c) || (globbed && glob_under(p, c)) {
                class.credential = true;
            }
        }
        if p.starts_with("/proc/") && p.ends_with("/environ") {
            class.credential = true;
        }
        for (c, what) in PERSIST_ABS {
            if p.starts_with(c) || (globbed && glob_under(p, c)) {
                class.persistence = Some(what);
            }
        }
        for c in PRIV_ABS {
            if under(p, c) || (globbed && glob_under(p, c)) {
                class.privilege = true;
            }
        }
        for c in LOG_ABS {
            if under(p, c) {
                class.log = true;
            }
        }
        if SPECIAL_DEVS.contains(&p) || p.starts_with("/dev/fd/") || p.starts_with("/dev/shm") {
            class.scope = Scope::Special;
            return class;
        }
        if DISK_DEVS.iter().any(|d| p.starts_with(d)) {
            class.scope = Scope::Device;
            return class;
        }
        if under(p, "/tmp") || under(p, "/var/tmp") || under(p, "/private/tmp") {
            class.scope = Scope::Tmp;
            return class;
        }
        let below_root = p.strip_prefix('/').unwrap_or(p);
        let first = below_root.split('/').next().unwrap_or("");
        if SYSTEM_DIRS.contains(&first) {
            let rest = below_root.split_once('/').map(|x| x.1).unwrap_or("");
            class.scope = if is_glob_all(rest) {
                Scope::SystemTop
            } else {
                Scope::System
            };
            return class;
        }
        class.scope = Scope::Outside;
        return class;
    }
    // Relative paths.
    let rel = strip_dot_slashes(p);
    if is_glob_all_parts(rel) || p == "." {
        class.scope = Scope::Cwd;
    } else if rel == ".." || rel.starts_with("../") {
        let after = rel.trim_start_matches("../").trim_start_matches("..");
        class.scope = if is_glob_all_parts(after) || after.trim_start_matches("../") == ".." {
            Scope::Parent
        } else {
            Scope::Outside
        };
    }
    class
}

/// The risk of deleting `path` (recursively or not), with a rule id and a
/// message. `ROOT/<found>` stands for the files a filtered `find ROOT` matches
/// (`find / -name '*.conf' -exec rm {} ;`): see [`filtered_deletion_risk`].
pub(crate) fn deletion_risk(path: &str, recursive: bool) -> (Risk, &'static str, String) {
    if let Some(root) = path.strip_suffix("<found>") {
        let root = root.trim_end_matches('/');
        return filtered_deletion_risk(if root.is_empty() { "/" } else { root });
    }
    let (risk, rule, desc, names_path) = deletion_target(path, recursive);
    let what = if recursive {
        "recursively deletes"
    } else {
        "deletes"
    };
    let msg = if names_path {
        format!("{what} {desc}")
    } else {
        format!("{what} {desc} ({path})")
    };
    (risk, rule, msg)
}

/// The risk of deleting only the files under `root` that match a filter
/// (`find ROOT -name … -delete`, or `-exec rm {}`): a broad root stays
/// worrying, one step less than deleting all of it; ordinary places are
/// ordinary work; credentials, logs and devices stay what they are.
pub(crate) fn filtered_deletion_risk(root: &str) -> (Risk, &'static str, String) {
    let (risk, rule, desc, names_path) = deletion_target(root, true);
    let risk = match rule {
        "destroy.credentials" | "tamper.history-or-log" | "destroy.device" => risk,
        _ => match risk {
            Risk::Critical => Risk::High,
            Risk::High | Risk::Medium => Risk::Low,
            r => r,
        },
    };
    let msg = if names_path {
        format!("deletes matching files in {desc}")
    } else if rule == "delete.files" {
        format!("deletes matching files under {root}")
    } else {
        // Only matching files go: not "everything in" the place.
        let place = desc.strip_prefix("everything in ").unwrap_or(&desc);
        format!("deletes matching files anywhere under {root} ({place})")
    };
    (risk, rule, msg)
}

/// Risk, rule id and description of what deleting `path` destroys; the flag
/// says whether the description already names `path`.
fn deletion_target(path: &str, recursive: bool) -> (Risk, &'static str, String, bool) {
    let class = classify(path);
    if class.history || class.log {
        return (
            Risk::High,
            "tamper.history-or-log",
            format!("{path}, a history or log file (hides what happened)"),
            true,
        );
    }
    if class.credential {
        return (
            Risk::High,
            "destroy.credentials",
            format!("{path}, which holds credentials"),
            true,
        );
    }
    let (risk, rule, desc) = match (class.scope, recursive) {
        (Scope::Root, _) => (Risk::Critical, "destroy.broad", "the whole filesystem"),
        (Scope::Home, true) => (Risk::Critical, "destroy.broad", "your home directory"),
        (Scope::Home, false) => (Risk::High, "destroy.broad", "files in your home directory"),
        (Scope::AllHomes, _) => (
            Risk::Critical,
            "destroy.broad",
            "every user's home directory",
        ),
        (Scope::Parent, true) => (
            Risk::Critical,
            "destroy.broad",
            "the directory above the workspace",
        ),
        (Scope::Parent, false) => (Risk::High, "destroy.broad", "files above the workspace"),
        (Scope::SystemTop, true) => (Risk::Critical, "destroy.system", "a system directory"),
        (Scope::SystemTop, false) | (Scope::System, _) => {
            (Risk::High, "destroy.system", "system files")
        }
        (Scope::Device, _) => (Risk::Critical, "destroy.device", "a disk device"),
        (Scope::Cwd, true) => (
            Risk::High,
            "destroy.workspace-all",
            "everything in the current directory",
        ),
        (Scope::Cwd, false) => (
            Risk::Medium,
            "destroy.workspace-all",
            "every file in the current directory",
        ),
        (Scope::HomeSub, true) => (
            Risk::Medium,
            "destroy.outside-workspace",
            "a directory in your home, outside the workspace",
        ),
        (Scope::HomeSub, false) => (Risk::Low, "delete.files", "a file in your home directory"),
        (Scope::Outside, true) => (
            Risk::Medium,
            "destroy.outside-workspace",
            "a directory outside the workspace",
        ),
        (Scope::Dynamic, true) if let Some((var, default, rest)) = defaulted_var(path) => {
            // `rm -rf "${OUT:-out}"`: the default, or whatever the variable
            // holds; never empty. As bad as the default, and worth a look.
            if default.is_empty() {
                // `${DIR:?}`: no default, the shell stops when it is empty.
                return (
                    Risk::Medium,
                    "destroy.dynamic-target",
                    format!("{path}, a path known only at run time (never empty)"),
                    true,
                );
            }
            let target = format!("{default}{rest}");
            let (risk, rule, desc, names_path) = deletion_target(&target, recursive);
            if risk > Risk::Medium {
                return (risk, rule, desc, names_path);
            }
            return (
                Risk::Medium,
                "destroy.dynamic-target",
                format!("{path}, {target} unless {var} is set to something else"),
                true,
            );
        }
        (Scope::Dynamic, true) => {
            // `rm -rf "$DIR"` / `"$DIR/"*`: the target is decided at run time.
            let bare = {
                let t = path.trim_end_matches(['/', '*']);
                (t.starts_with('$') && !t[1..].contains('/')) || t == DYNAMIC
            };
            if bare && path.len() > path.trim_end_matches(['/', '*']).len() {
                // `"$DIR/"`, `"$DIR"/*`: empty, it is `/` or `/*`.
                (
                    Risk::High,
                    "destroy.dynamic-target",
                    "a path known only at run time (an empty variable would make it /)",
                )
            } else if bare {
                (
                    Risk::High,
                    "destroy.dynamic-target",
                    "a path known only at run time (it could be anything, / or ~ included)",
                )
            } else {
                (
                    Risk::Medium,
                    "destroy.dynamic-target",
                    "a path built at run time",
                )
            }
        }
        (Scope::Special, _) => (Risk::None, "delete.files", "a special file"),
        _ => (Risk::Low, "delete.files", "files"),
    };
    if class.dynamic && class.scope != Scope::Dynamic {
        // Known prefix, run-time rest (`/etc/$x`, `"/usr/" + name`): where it
        // points is known, how much of it is not. Never rated below a
        // wholly run-time target, never refused outright on a guess.
        let floor = if recursive { Risk::Medium } else { Risk::Low };
        if risk < floor || (risk == Risk::Low && recursive) {
            return (
                floor,
                "destroy.dynamic-target",
                format!("{path}, a path built at run time"),
                true,
            );
        }
        let risk = risk.min(Risk::High);
        return (
            risk,
            rule,
            format!("{desc}, via a path built at run time"),
            false,
        );
    }
    (risk, rule, desc.to_string(), false)
}

/// `${NAME:-default}REST` or `${NAME:?}REST` (as the shell analysis writes
/// expansions that are never empty): `(NAME, default, REST)`, the default
/// empty for `:?`.
fn defaulted_var(path: &str) -> Option<(&str, &str, &str)> {
    let inner = path.strip_prefix("${")?;
    let close = inner.find('}')?;
    let (body, rest) = (&inner[..close], &inner[close + 1..]);
    if let Some((var, default)) = body.split_once(":-") {
        return Some((var, default, rest));
    }
    let var = body.strip_suffix(":?")?;
    Some((var, "", rest))
}

/// True when `dir` is a directory whose relative paths mean something
/// sensitive after code changes into it (`cd ~`, `os.chdir("/etc")`).
pub(crate) fn sensitive_dir(dir: &str) -> bool {
    let c = classify(dir);
    c.scope.is_sensitive()
        || c.credential
        || c.persistence.is_some()
        || c.privilege
        || c.history
        || c.log
}

/// `p` under `cwd` (a directory the code changed into), when `p` is a
/// relative path.
pub(crate) fn under_dir(cwd: Option<&str>, p: &str) -> Option<String> {
    let cwd = cwd?;
    if p.is_empty() || p.starts_with(['/', '~', '$', '-', '<']) || p.contains("://") {
        return None;
    }
    Some(format!("{}/{p}", cwd.trim_end_matches('/')))
}

/// Whether a move to `dest` takes files out of the workspace (to an
/// absolute path, the home directory or a parent): they are gone from it,
/// which the agent treats like a deletion. `/dev/null` has its own rule;
/// a name known only at run time is not judged here.
pub(crate) fn leaves_workspace(dest: &str) -> bool {
    !matches!(
        classify(dest).scope,
        Scope::Relative | Scope::Cwd | Scope::Dynamic | Scope::Special | Scope::Device
    )
}

/// [`classify`] of `p` as written and as seen from `cwd`: what is sensitive
/// in either reading counts (so a misplaced `cwd` can only over-rate).
pub(crate) fn classify_in(cwd: Option<&str>, p: &str) -> PathClass {
    let mut c = classify(p);
    if let Some(joined) = under_dir(cwd, p) {
        let j = classify(&joined);
        c.absorb_flags(&j);
        if j.scope.is_sensitive() {
            c.scope = j.scope;
        }
    }
    c
}

/// [`deletion_risk`], the worse of `p` as written and as seen from `cwd`
/// (on a tie, the message names the real directory).
pub(crate) fn deletion_risk_in(
    cwd: Option<&str>,
    p: &str,
    recursive: bool,
) -> (Risk, &'static str, String) {
    let raw = deletion_risk(p, recursive);
    match under_dir(cwd, p) {
        Some(joined) => {
            let j = deletion_risk(&joined, recursive);
            if j.0 >= raw.0 { j } else { raw }
        }
        None => raw,
    }
}

/// [`write_risk`], the worse of `p` as written and as seen from `cwd`.
pub(crate) fn write_risk_in(
    cwd: Option<&str>,
    p: &str,
    verb: &str,
) -> Option<(Risk, &'static str, String)> {
    let raw = write_risk(p, verb);
    let Some(joined) = under_dir(cwd, p) else {
        return raw;
    };
    match (raw, write_risk(&joined, verb)) {
        (Some(r), Some(j)) => Some(if j.0 >= r.0 { j } else { r }),
        (r, j) => r.or(j),
    }
}

/// The finding for code that writes to `p` (Python and JavaScript), or `None`
/// when writing there is ordinary.
pub(crate) fn write_risk(p: &str, verb: &str) -> Option<(Risk, &'static str, String)> {
    let c = classify(p);
    let (risk, rule, msg) = if c.history || c.log {
        (
            Risk::High,
            "tamper.history-or-log",
            format!("{verb} {p}, a history or log file"),
        )
    } else if c.privilege {
        (
            Risk::Critical,
            "privilege.system-auth",
            format!("{verb} {p}, which controls users, privileges or every program's libraries"),
        )
    } else if let Some(what) = c.persistence {
        (
            Risk::High,
            "persist.file",
            format!("{verb} {p}, {what}: code placed there runs again later"),
        )
    } else if c.credential {
        (
            Risk::High,
            "cred.write",
            format!("{verb} {p}, which holds credentials"),
        )
    } else if c.scope == Scope::Device {
        (
            Risk::Critical,
            "destroy.device",
            format!("{verb} the disk device {p}"),
        )
    } else if matches!(c.scope, Scope::System | Scope::SystemTop | Scope::Root) {
        (
            Risk::High,
            "system.write",
            format!("{verb} {p}, a system file"),
        )
    } else {
        return None;
    };
    Some((risk, rule, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(classify("/").scope, Scope::Root);
        assert_eq!(classify("~").scope, Scope::Home);
        assert_eq!(classify("$HOME/*").scope, Scope::Home);
        assert_eq!(classify("${HOME}/").scope, Scope::Home);
        assert_eq!(classify("..").scope, Scope::Parent);
        assert_eq!(classify("*").scope, Scope::Cwd);
        assert_eq!(classify("/etc").scope, Scope::SystemTop);
        assert_eq!(classify("/usr/lib/x").scope, Scope::System);
        assert_eq!(classify("/dev/sda").scope, Scope::Device);
        assert_eq!(classify("/dev/null").scope, Scope::Special);
        assert_eq!(classify("build/x.o").scope, Scope::Relative);
        assert_eq!(classify("/tmp/x").scope, Scope::Tmp);
        assert!(classify("~/.ssh/id_rsa").credential);
        assert!(classify("/home/bob/.aws/credentials").credential);
        assert!(classify("~/.bashrc").persistence.is_some());
        assert!(classify(".git/hooks/pre-commit").persistence.is_some());
        assert!(classify("~/.bash_history").history);
        assert!(classify("/var/log/auth.log").log);
    }

    #[test]
    fn tidy_fast_path_matches_the_full_rewrite() {
        for p in [
            "",
            "/",
            "//",
            "/.",
            "/./",
            "/./x",
            ".",
            "./",
            "./x",
            "..",
            "../x",
            "a",
            "a/",
            "a//b",
            "a/./b",
            "a/.",
            "/etc",
            "/etc/",
            "//etc",
            "/etc//x",
            "~",
            "~/",
            "~/.ssh",
            "~/./.ssh",
            "x/../y",
            ".x",
            "a/.b/c",
            "$HOME/x",
            "/dev/null",
            "a/b/c/d",
            "../..",
            "../../x",
            "../x/..",
            "a/..",
            "./..",
            "/..",
            "/../etc",
            "/tmp/../etc",
            "~/..",
            "~/../..",
            "build/../../x",
            "$D/../x",
        ] {
            assert_eq!(tidy(p), tidy_slow(p), "{p:?}");
        }
        // `..` is resolved lexically, never above `/`; relative paths keep
        // their leading `..`; a run-time part may hold several parts.
        for (p, want) in [
            ("x/../y", "y"),
            ("a/..", "."),
            ("./..", ".."),
            ("../x/..", ".."),
            ("build/../../x", "../x"),
            ("/dev/shm/../../*", "/*"),
            ("/../..", "/"),
            ("/tmp/../etc/passwd", "/etc/passwd"),
            ("~/.cache/..", "~"),
            ("~/..", "/home"),
            ("~/../..", "/"),
            ("$D/../x", "$D/../x"),
        ] {
            assert_eq!(tidy(p), want, "{p:?}");
        }
        assert_eq!(any_user_home("~root"), "~");
        assert_eq!(any_user_home("~bob/.ssh"), "~/.ssh");
        assert_eq!(any_user_home("~+/x"), "~+/x");
        assert_eq!(canonical_home("$HOME/x"), "~/x");
        assert_eq!(canonical_home("${HOME}"), "~");
        assert_eq!(canonical_home("~/x"), "~/x");
        assert_eq!(canonical_home("$HOMEx"), "$HOMEx");
    }

    #[test]
    fn globs() {
        assert!(glob_matches(b".bash?c", b".bashrc"));
        assert!(glob_matches(b".[bz]shrc", b".zshrc"));
        assert!(glob_matches(b"id_*", b"id_ed25519"));
        assert!(glob_matches(b"[!a]b", b"cb"));
        assert!(!glob_matches(b"[!a]b", b"ab"));
        assert!(!glob_matches(b"*rc", b".bashrc"));
        assert!(!glob_matches(b"a?", b"a"));
        assert!(glob_matches(b"a*b*c", b"aXbYbZc"));
        assert!(glob_matches(b"[]x]", b"]"));
        assert!(glob_matches(b"a[", b"a["));
        let slow = [b'a', b'*'].repeat(2000);
        assert!(!glob_matches(&slow, b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
        assert!(glob_under(".aw?/credentials", ".aws"));
        assert!(!glob_under(".*", ".ssh"));
        assert!(!glob_under("*", ".ssh"));
        assert!(classify("~/.aw?/credentials").credential);
        assert!(classify("~/.bash?c").persistence.is_some());
        assert!(!classify("*.json").credential);
        assert_eq!(classify("~/*/*").scope, Scope::Home);
        assert_eq!(classify("~/**").scope, Scope::Home);
        assert_eq!(classify("~/src/*").scope, Scope::HomeSub);
    }

    #[test]
    fn deletions() {
        assert_eq!(deletion_risk("/", true).0, Risk::Critical);
        assert_eq!(deletion_risk("build/*.o", false).0, Risk::Low);
        assert_eq!(deletion_risk("build/", true).0, Risk::Low);
        assert_eq!(deletion_risk("*", true).0, Risk::High);
        assert_eq!(deletion_risk("$DIR", true).0, Risk::High);
    }

    #[test]
    fn paths_with_run_time_parts_keep_what_their_known_parts_say() {
        assert_eq!(wildcard_dynamic("/etc/x"), None);
        assert_eq!(wildcard_dynamic("/etc/$x").as_deref(), Some("/etc/*"));
        assert_eq!(
            wildcard_dynamic("/opt/${APP}/$(date)/<dynamic>.log").as_deref(),
            Some("/opt/*/*/*.log")
        );
        assert_eq!(wildcard_dynamic("/a/$1$x").as_deref(), Some("/a/*"));
        assert_eq!(wildcard_dynamic("/a/$").as_deref(), Some("/a/*"));

        // A system directory, whatever the variable holds: high, not refused.
        assert_eq!(classify("/etc/$x").scope, Scope::SystemTop);
        assert!(classify("/etc/$x").dynamic);
        assert_eq!(deletion_risk("/etc/$x", true).0, Risk::High);
        assert_eq!(deletion_risk("/usr/<dynamic>", false).0, Risk::High);
        assert_eq!(deletion_risk("/$x", true).0, Risk::High);
        assert_eq!(deletion_risk("~/$x", true).0, Risk::High);
        assert_eq!(deletion_risk("~/<dynamic>", true).0, Risk::High);
        assert!(classify("/home/<dynamic>/.ssh/id_rsa").credential);
        assert!(classify("<dynamic>/.aws/credentials").credential);
        assert!(classify("/etc/cron.d/<dynamic>").persistence.is_some());

        // Never below a wholly run-time target.
        assert_eq!(deletion_risk("/tmp/$x", true).0, Risk::Medium);
        assert_eq!(deletion_risk("/data/projects/$x", true).0, Risk::Medium);
        assert_eq!(deletion_risk("/srv/data/$x", true).0, Risk::High);
        assert_eq!(deletion_risk("/tmp/<dynamic>.txt", false).0, Risk::Low);
        assert_eq!(deletion_risk("~/projects/$x/build", true).0, Risk::Medium);
    }
}

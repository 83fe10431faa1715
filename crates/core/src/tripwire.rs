//! Git tripwire: notices when sandboxed code leaves behind git hooks, git
//! config settings or repository redirects that git would act on later,
//! outside the sandbox, the next time the user runs git.
//!
//! The sandbox keeps the control files of the repositories that already exist
//! read-only, but it cannot protect a repository that does not exist yet: code
//! may `git init` (at any depth), write a `.git` *file* whose `gitdir:` points
//! at a directory it filled, or give a new repository a `commondir` leading to
//! a config and hooks elsewhere in the workspace. Nothing stops that at the
//! kernel level, so after every block (and after `interlock sandbox`) the
//! tripwire finds every repository in the workspace with a bounded walk and
//! asks the host's git itself what it would run there — the effective config
//! with the file each value comes from, the effective hooks directory and the
//! common directory — using only commands that never run anything. Without
//! git on the host it falls back to reading the files itself.
//!
//! Only what is new is reported: a repository that was not there (or not the
//! same directory) when the tripwire was armed is new with everything in it;
//! in a repository that was, a setting or hook counts when the file it comes
//! from changed since (its inode change time, which code cannot set back).
//! [`neutralise`] makes a finding inert.

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{Read, Seek};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Git config keys (lowercase `section.key`, subsection removed) whose value
/// git runs as a command or uses to find code to run.
const EXECUTING_KEYS: &[&str] = &[
    "core.fsmonitor",
    "core.hookspath",
    "core.sshcommand",
    "core.pager",
    "core.editor",
    "core.askpass",
    "core.gitproxy",
    "core.alternaterefscommand",
    "sequence.editor",
    "credential.helper",
    "gpg.program",
    "gpg.defaultkeycommand",
    "diff.external",
    "diff.textconv",
    "diff.command",
    "difftool.cmd",
    "difftool.path",
    "merge.driver",
    "mergetool.cmd",
    "mergetool.path",
    "filter.clean",
    "filter.smudge",
    "filter.process",
    "include.path",
    "includeif.path",
    "uploadpack.packobjectshook",
    "remote.uploadpack",
    "remote.receivepack",
    "pager.log",
    "pager.diff",
    "pager.show",
    "web.browser",
    "browser.cmd",
    "browser.path",
    "man.cmd",
    "man.path",
    "ssh.variant",
    "http.proxy",
    "tar.command",
    "trailer.command",
    "trailer.cmd",
    "hook.command",
    "interactive.difffilter",
    "sendemail.tocmd",
    "sendemail.cccmd",
    "sendemail.sendmailcmd",
    "sendemail.smtpserver",
    "guitool.cmd",
];

/// Suffix given to a hook or redirect file that [`neutralise`] disabled.
pub const DISABLED_SUFFIX: &str = ".disabled-by-interlock";

/// Files changed this long before the tripwire was armed still count as new:
/// inode times come from a coarse clock and some filesystems keep whole seconds.
const MARGIN: Duration = Duration::from_secs(2);
/// Bounds of the walk for repositories.
const MAX_DEPTH: usize = 16;
const MAX_ENTRIES: usize = 20_000;
const MAX_REPOS: usize = 64;
/// Bounds of one git call and of all git calls of one check (a config file
/// may be a FIFO that never answers).
const GIT_TIMEOUT: Duration = Duration::from_secs(5);
const GIT_BUDGET: Duration = Duration::from_secs(20);
/// Small files read by the fallback (configs, `.git` files, hooks to hash).
const MAX_READ: u64 = 1 << 20;
/// `O_NONBLOCK` on Linux: opening a FIFO planted as a config must not hang.
const O_NONBLOCK: i32 = 0o4000;

/// Directory names whose contents are dependencies or build output: large,
/// and not where anyone runs git. They are not searched for repositories.
const SKIPPED_DIRS: &[&str] = &[
    "node_modules",
    "__pycache__",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
];

/// Why a finding could not be made inert.
#[derive(Debug, thiserror::Error)]
pub enum TripwireError {
    #[error("cannot change {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("nothing to make inert automatically in {0}: look for `.git` entries by hand")]
    Manual(PathBuf),
    #[error("git could not remove {key} from {file}: {why}; remove that line by hand")]
    Unset {
        key: String,
        file: PathBuf,
        why: String,
    },
}

/// What git would act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingKind {
    /// A hook; `name` is the file name (`pre-commit`). git runs it only when
    /// `executable`; one that is not yet is reported too, as it is one
    /// `chmod` from running.
    Hook { name: String, executable: bool },
    /// A config setting that runs a command or points git at code.
    Setting { key: String, value: String },
    /// A `.git` file or symlink, or a `commondir`, sending git to the
    /// repository control files at `target`.
    Redirect { target: PathBuf },
    /// The workspace changed but was too large or deep to search completely.
    Unchecked { why: String },
}

/// One thing git would run (or be redirected by) later, outside the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where running git triggers it (the repository's working directory).
    pub dir: PathBuf,
    /// The file it comes from: the hook, the config file, the redirect file.
    pub file: PathBuf,
    /// What it is.
    pub kind: FindingKind,
    /// Identity for reporting each finding once (includes a hook's content).
    id: String,
}

impl Finding {
    fn new(dir: &Path, file: &Path, kind: FindingKind, extra: &str) -> Finding {
        let id = format!("{}\0{}\0{kind:?}\0{extra}", dir.display(), file.display());
        Finding {
            dir: dir.to_path_buf(),
            file: file.to_path_buf(),
            kind,
            id,
        }
    }

    /// A shell command the user can run to make this finding inert (what
    /// [`neutralise`] does).
    pub fn how_to_neutralise(&self) -> String {
        let f = shell_quote(&self.file.to_string_lossy());
        let off = shell_quote(&format!("{}{DISABLED_SUFFIX}", self.file.display()));
        match &self.kind {
            FindingKind::Hook { .. } => format!("chmod a-x {f} && mv {f} {off}"),
            FindingKind::Setting { key, .. } => {
                format!("git config --file {f} --unset-all {}", shell_quote(key))
            }
            FindingKind::Redirect { .. } => format!("mv {f} {off}"),
            FindingKind::Unchecked { .. } => format!("find {f} -name .git"),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = self.dir.display();
        let file = self.file.display();
        match &self.kind {
            FindingKind::Hook {
                name,
                executable: true,
            } => write!(
                f,
                "git would run the {name} hook {file} (set by sandboxed code) the next time you run git in {dir}"
            )?,
            FindingKind::Hook {
                name,
                executable: false,
            } => write!(
                f,
                "git would run the {name} hook {file} (set by sandboxed code, not executable yet) once it is made executable, when you run git in {dir}"
            )?,
            FindingKind::Setting { key, value } => {
                let verb = match generic_key(key).as_str() {
                    "include.path" | "includeif.path" => "load config",
                    "core.hookspath" => "run hooks from",
                    "http.proxy" => "send its traffic through",
                    _ => "run",
                };
                write!(
                    f,
                    "git would {verb} `{value}` ({key}) from {file} (set by sandboxed code) the next time you run git in {dir}"
                )?
            }
            FindingKind::Redirect { target } => write!(
                f,
                "git would use the repository control files (config, hooks) at {} as redirected by {file} (set by sandboxed code) the next time you run git in {dir}",
                target.display()
            )?,
            FindingKind::Unchecked { why } => write!(
                f,
                "interlock could not search all of {dir} for repositories the sandboxed code may have created ({why}); look for new `.git` entries before you run git in its subdirectories"
            )?,
        }
        if matches!(self.kind, FindingKind::Unchecked { .. }) {
            return write!(f, "; to list them: {}", self.how_to_neutralise());
        }
        write!(f, "; to make it inert: {}", self.how_to_neutralise())
    }
}

/// Quotes for a POSIX shell: the path is shown to the user to copy.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Makes a finding inert and says what was done. Hooks lose their execute
/// bits and get [`DISABLED_SUFFIX`]; settings are removed with
/// `git config --file F --unset-all KEY`; redirect files are renamed.
pub fn neutralise(finding: &Finding) -> Result<String, TripwireError> {
    let file = &finding.file;
    let io = |source| TripwireError::Io {
        path: file.clone(),
        source,
    };
    match &finding.kind {
        FindingKind::Setting { key, .. } => {
            let git = find_git().ok_or_else(|| TripwireError::Unset {
                key: key.clone(),
                file: file.clone(),
                why: "git is not installed".into(),
            })?;
            let mut cmd = git_command(&git);
            cmd.current_dir("/")
                .args(["config", "--file"])
                .arg(file)
                .args(["--unset-all", key]);
            match run_bounded(cmd, GIT_TIMEOUT) {
                // 5: the key is not there (any more).
                Ok((code, _)) if code == 0 || code == 5 => {
                    Ok(format!("removed {key} from {}", file.display()))
                }
                Ok((code, _)) => Err(TripwireError::Unset {
                    key: key.clone(),
                    file: file.clone(),
                    why: format!("git exited with {code}"),
                }),
                Err(why) => Err(TripwireError::Unset {
                    key: key.clone(),
                    file: file.clone(),
                    why,
                }),
            }
        }
        FindingKind::Unchecked { .. } => Err(TripwireError::Manual(file.clone())),
        FindingKind::Hook { .. } | FindingKind::Redirect { .. } => {
            let meta = match std::fs::symlink_metadata(file) {
                Ok(meta) => meta,
                // Already made inert (one hook can be found through two repositories).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Ok(format!("{} is already gone", file.display()));
                }
                Err(e) => return Err(io(e)),
            };
            if meta.file_type().is_file() {
                let mut perm = meta.permissions();
                perm.set_mode(perm.mode() & !0o111);
                std::fs::set_permissions(file, perm).map_err(io)?;
            }
            let mut to = PathBuf::from(format!("{}{DISABLED_SUFFIX}", file.display()));
            let mut n = 1;
            while std::fs::symlink_metadata(&to).is_ok() {
                to = PathBuf::from(format!("{}{DISABLED_SUFFIX}.{n}", file.display()));
                n += 1;
            }
            std::fs::rename(file, &to).map_err(io)?;
            Ok(format!("renamed {} to {}", file.display(), to.display()))
        }
    }
}

/// A repository's identity: the inodes of its `.git` entry, its git
/// directory and its common directory. A different identity at the same
/// place is a new repository.
type Ident = (u64, u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    /// `dir/.git` is a directory.
    Dir,
    /// `dir/.git` is a file (`gitdir: …`).
    File,
    /// `dir/.git` is a symlink.
    Symlink,
    /// `dir` itself is a bare repository (HEAD, objects, refs).
    Bare,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RepoId {
    marker: Marker,
    entry: Ident,
    git_dir: Option<Ident>,
    common: Option<Ident>,
}

#[derive(Debug, Default)]
struct Walk {
    repos: BTreeMap<PathBuf, RepoId>,
    /// Some entry (or a repository control file) changed since `since`.
    changed: bool,
    /// Why some directories were not searched (a bound was hit).
    unchecked: Option<String>,
}

/// Watches the workspace's repositories for things git would run. Armed at
/// construction; [`GitTripwire::check`] reports what is new since.
#[derive(Debug)]
pub struct GitTripwire {
    workspace: PathBuf,
    since: SystemTime,
    baseline: BTreeMap<PathBuf, RepoId>,
    git: Option<PathBuf>,
    reported: BTreeSet<String>,
}

impl GitTripwire {
    /// Arms the tripwire: records which repositories exist now. Cheap (a
    /// bounded walk, no git), spawns nothing and starts no thread, so it may
    /// run right before the sandbox forks.
    pub fn new(workspace: &Path) -> GitTripwire {
        GitTripwire::armed_at(workspace, SystemTime::now() - MARGIN)
    }

    /// Like [`GitTripwire::new`], counting files changed at or after `since`
    /// as new.
    pub fn armed_at(workspace: &Path, since: SystemTime) -> GitTripwire {
        let workspace = workspace
            .canonicalize()
            .unwrap_or_else(|_| workspace.to_path_buf());
        let baseline = walk(&workspace, since, false).repos;
        GitTripwire {
            git: find_git(),
            workspace,
            since,
            baseline,
            reported: BTreeSet::new(),
        }
    }

    /// New findings as messages (see [`GitTripwire::check_findings`]).
    pub fn check(&mut self) -> Vec<String> {
        self.check_findings()
            .iter()
            .map(|f| f.to_string())
            .collect()
    }

    /// Findings that appeared since the tripwire was armed or last checked.
    /// Each is reported once.
    pub fn check_findings(&mut self) -> Vec<Finding> {
        let started = SystemTime::now();
        let now = walk(&self.workspace, self.since, true);
        let mut found = Vec::new();
        // Nothing changed: no repository can hold anything new. (A change
        // deep inside a dependency or build directory that existed before is
        // not seen; see `walk`.)
        let unchanged = !now.changed && now.repos == self.baseline;
        if !unchanged {
            let deadline = Instant::now() + GIT_BUDGET;
            // New repositories first: git is asked about MAX_REPOS of them at
            // most; the rest are read directly (no process per repository).
            let mut repos: Vec<(&PathBuf, &RepoId, bool)> = now
                .repos
                .iter()
                .map(|(dir, id)| (dir, id, self.baseline.get(dir) != Some(id)))
                .collect();
            repos.sort_by_key(|(_, _, is_new)| !is_new);
            for (n, (dir, id, is_new)) in repos.into_iter().enumerate() {
                let ctx = RepoCtx {
                    dir,
                    marker: id.marker,
                    is_new,
                    since: self.since,
                    workspace: &self.workspace,
                };
                let by_git = self
                    .git
                    .as_deref()
                    .filter(|_| n < MAX_REPOS)
                    .and_then(|git| ask_git(git, &ctx, deadline));
                match by_git {
                    Some(f) => found.extend(f),
                    None => found.extend(read_files(&ctx)),
                }
            }
            if let Some(why) = &now.unchecked {
                found.push(Finding::new(
                    &self.workspace,
                    &self.workspace,
                    FindingKind::Unchecked { why: why.clone() },
                    "",
                ));
            }
        }
        self.baseline = now.repos;
        // Never earlier than before: what was old stays old.
        self.since = self.since.max(started - MARGIN);
        found.retain(|f| self.reported.insert(f.id.clone()));
        found
    }

    /// Prints a loud warning for each new finding to `out` (sanitised for a
    /// terminal) and, when `interactive`, offers to make them inert, reading
    /// the answer from stdin. Returns the findings.
    pub fn warn(&mut self, out: &mut dyn std::io::Write, interactive: bool) -> Vec<Finding> {
        let found = self.check_findings();
        if found.is_empty() {
            return found;
        }
        let say = |out: &mut dyn std::io::Write, s: &str| {
            let _ = writeln!(out, "{}", interlock_guard::sanitize::sanitize(s));
        };
        for f in &found {
            say(out, &format!("interlock: WARNING: {f}"));
        }
        say(
            out,
            "interlock: git runs these outside the sandbox, with your rights; make them inert (the commands above) or delete the repositories before running git there.",
        );
        if !interactive {
            return found;
        }
        let _ = write!(out, "interlock: make all of them inert now? [y/N] ");
        let _ = out.flush();
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if answer.trim().eq_ignore_ascii_case("y") {
            for f in &found {
                match neutralise(f) {
                    Ok(done) => say(out, &format!("interlock: {done}")),
                    Err(e) => say(out, &format!("interlock: could not: {e}")),
                }
            }
        }
        found
    }
}

/// Every repository git could use in the workspace, with the findings git
/// itself reports that are not older than `since`. Public for tests and
/// callers that want a one-off look; [`GitTripwire`] also filters by what
/// existed when it was armed.
pub fn scan(workspace: &Path, since: SystemTime) -> Vec<Finding> {
    let mut t = GitTripwire {
        workspace: workspace
            .canonicalize()
            .unwrap_or_else(|_| workspace.to_path_buf()),
        since,
        baseline: BTreeMap::new(),
        git: find_git(),
        reported: BTreeSet::new(),
    };
    t.check_findings()
}

// ---------------------------------------------------------------- the walk

fn ident(meta: &std::fs::Metadata) -> Ident {
    (meta.dev(), meta.ino())
}

fn ctime(meta: &std::fs::Metadata) -> SystemTime {
    let secs = u64::try_from(meta.ctime()).unwrap_or(0);
    let nanos = u32::try_from(meta.ctime_nsec()).unwrap_or(0);
    UNIX_EPOCH + Duration::new(secs, nanos)
}

/// `path` with its directory resolved (`..` and symlinks), its own name kept:
/// a hook that is a symlink stays named as the hook.
fn resolved(path: &Path) -> PathBuf {
    match (
        path.parent().and_then(|d| d.canonicalize().ok()),
        path.file_name(),
    ) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// True when `path` (not followed) or, for a symlink, its target changed at
/// or after `since`. Missing files are not new.
fn changed_since(path: &Path, since: SystemTime) -> bool {
    let own = std::fs::symlink_metadata(path).is_ok_and(|m| ctime(&m) >= since);
    own || std::fs::metadata(path).is_ok_and(|m| ctime(&m) >= since)
}

/// Searches the workspace for repositories: `.git` directories, files and
/// symlinks, and bare repositories. Never follows symlinks; does not enter
/// `.git`, dependency or build-output directories; bounded in depth and
/// entries. Without `changes` (the baseline only needs the repositories) it
/// reads each entry's type from the directory instead of one `lstat` per
/// entry, and `changed` is not computed.
fn walk(workspace: &Path, since: SystemTime, changes: bool) -> Walk {
    let mut w = Walk::default();
    let mut entries = 0usize;
    let mut stack = vec![(workspace.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(list) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names = BTreeSet::new();
        let mut subdirs = Vec::new();
        for e in list.flatten() {
            entries += 1;
            if entries > MAX_ENTRIES {
                w.unchecked = Some(format!("more than {MAX_ENTRIES} entries"));
                break;
            }
            let path = e.path();
            // Whether the entry changed since `since`: known here when
            // `changes`, else asked only where it decides something.
            let (file_type, fresh) = if changes {
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                let fresh = ctime(&meta) >= since;
                w.changed |= fresh;
                (meta.file_type(), Some(fresh))
            } else {
                let Ok(t) = e.file_type() else { continue };
                (t, None)
            };
            let name = e.file_name();
            if name == ".git" {
                if let Some(id) = repo_id(&dir, Marker::of(file_type), since, &mut w.changed) {
                    w.repos.insert(dir.clone(), id);
                }
                continue;
            }
            names.insert(name.to_string_lossy().into_owned());
            if file_type.is_dir() {
                subdirs.push((path, name, fresh));
            }
        }
        if names.contains("HEAD") && names.contains("objects") && names.contains("refs") {
            // A bare repository: git run inside it uses its config and hooks.
            if let Some(id) = repo_id(&dir, Marker::Bare, since, &mut w.changed) {
                w.repos.insert(dir.clone(), id);
            }
            continue;
        }
        for (path, name, fresh) in subdirs {
            // Dependencies and build output are skipped — but only when they
            // are older than the tripwire: marking a fresh directory as a
            // cache must not hide a repository planted in it.
            let skip = fresh != Some(true)
                && (SKIPPED_DIRS.iter().any(|s| name == *s)
                    || path.join("CACHEDIR.TAG").exists()
                    || path.join("pyvenv.cfg").exists())
                && (fresh == Some(false)
                    || !std::fs::symlink_metadata(&path).is_ok_and(|m| ctime(&m) >= since));
            if skip {
                let git = path.join(".git");
                if let Ok(meta) = std::fs::symlink_metadata(&git)
                    && let Some(id) =
                        repo_id(&path, Marker::of(meta.file_type()), since, &mut w.changed)
                {
                    w.repos.insert(path, id);
                }
            } else if depth + 1 > MAX_DEPTH {
                w.unchecked = Some(format!("directories deeper than {MAX_DEPTH} levels"));
            } else {
                stack.push((path, depth + 1));
            }
        }
        if entries > MAX_ENTRIES {
            break;
        }
    }
    w
}

impl Marker {
    fn of(t: std::fs::FileType) -> Marker {
        if t.is_symlink() {
            Marker::Symlink
        } else if t.is_dir() {
            Marker::Dir
        } else {
            Marker::File
        }
    }
}

/// Reads a small regular file without following a FIFO or device into a hang.
fn read_small(path: &Path) -> Option<Vec<u8>> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut out = Vec::new();
    f.take(MAX_READ).read_to_end(&mut out).ok()?;
    Some(out)
}

/// Where a repository's git directory and common directory are, read from
/// the files as git reads them (`gitdir:` in a `.git` file, `commondir`).
fn locate(dir: &Path, marker: Marker) -> (Option<PathBuf>, Option<PathBuf>) {
    let git_dir = match marker {
        Marker::Bare => Some(dir.to_path_buf()),
        Marker::Dir | Marker::Symlink => Some(dir.join(".git")),
        Marker::File => read_small(&dir.join(".git")).and_then(|b| {
            let text = String::from_utf8_lossy(&b).into_owned();
            let target = text.strip_prefix("gitdir:")?.trim().to_string();
            let p = dir.join(target);
            Some(p.canonicalize().unwrap_or(p))
        }),
    };
    let common = git_dir.as_ref().map(|g| {
        read_small(&g.join("commondir"))
            .map(|b| g.join(String::from_utf8_lossy(&b).trim()))
            .map(|p| p.canonicalize().unwrap_or(p))
            .unwrap_or_else(|| g.clone())
    });
    (git_dir, common)
}

/// The repository's identity, noting in `changed` whether any of its control
/// files changed since `since`.
fn repo_id(dir: &Path, marker: Marker, since: SystemTime, changed: &mut bool) -> Option<RepoId> {
    let entry_path = if marker == Marker::Bare {
        dir.to_path_buf()
    } else {
        dir.join(".git")
    };
    let entry = ident(&std::fs::symlink_metadata(&entry_path).ok()?);
    let (git_dir, common) = locate(dir, marker);
    let id_of = |p: &Option<PathBuf>| {
        p.as_ref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| ident(&m))
    };
    let mut control = vec![entry_path];
    for d in git_dir.iter().chain(common.iter()) {
        for f in ["config", "config.worktree", "commondir", "hooks"] {
            control.push(d.join(f));
        }
        if let Ok(hooks) = std::fs::read_dir(d.join("hooks")) {
            control.extend(hooks.flatten().map(|e| e.path()));
        }
    }
    if control.iter().any(|p| changed_since(p, since)) {
        *changed = true;
    }
    Some(RepoId {
        marker,
        entry,
        git_dir: id_of(&git_dir),
        common: id_of(&common),
    })
}

// ------------------------------------------------------------ asking git

/// What one repository check needs to know.
struct RepoCtx<'a> {
    dir: &'a Path,
    marker: Marker,
    /// Not there (or a different repository) when the tripwire was armed.
    is_new: bool,
    since: SystemTime,
    workspace: &'a Path,
}

impl RepoCtx<'_> {
    /// True when the file at `path` is new enough to have been written by
    /// sandboxed code: changed since the tripwire was armed, in the workspace.
    fn fresh(&self, path: &Path) -> bool {
        // Lexically `ws/../x` starts with `ws`: compare the resolved directory.
        let inside = path
            .parent()
            .and_then(|d| d.canonicalize().ok())
            .is_some_and(|d| d.starts_with(self.workspace));
        inside && changed_since(path, self.since)
    }
}

/// The host's git, searched on `PATH` as the user's shell would.
fn find_git() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("git"))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0))
}

/// git with nothing that could make it run code while it answers: no pager,
/// no fsmonitor, no optional locks (which would refresh the index), no
/// terminal prompts, no lazy fetches, and none of the caller's `GIT_*`
/// variables (they could point it elsewhere). `GIT_CONFIG_NOSYSTEM` stays
/// unset: the effective config is wanted. `safe.directory=*` only lets it
/// *read* a repository owned by someone else.
fn git_command(git: &Path) -> Command {
    let mut cmd = Command::new(git);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("GIT_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("GIT_PAGER", "cat")
        .env("PAGER", "cat")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_NO_LAZY_FETCH", "1")
        .env_remove("SSH_ASKPASS")
        .args([
            "--no-pager",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "safe.directory=*",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Runs `cmd` with its output in an unnamed temporary file (no pipe to
/// fill, no reader thread), killing it after `timeout`.
fn run_bounded(mut cmd: Command, timeout: Duration) -> Result<(i32, Vec<u8>), String> {
    let mut out = tempfile::tempfile().map_err(|e| format!("no temporary file: {e}"))?;
    let copy = out
        .try_clone()
        .map_err(|e| format!("no temporary file: {e}"))?;
    cmd.stdout(Stdio::from(copy));
    let mut child = cmd.spawn().map_err(|e| format!("cannot start git: {e}"))?;
    let until = Instant::now() + timeout;
    let mut pause = Duration::from_micros(200);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < until => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("git did not answer within {} s", timeout.as_secs()));
            }
        }
    };
    let mut bytes = Vec::new();
    out.rewind()
        .and_then(|_| out.take(16 * MAX_READ).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read git's answer: {e}"))?;
    Ok((status.code().unwrap_or(-1), bytes))
}

/// Asks git what it would run in the repository at `ctx.dir`. None when git
/// could not answer (the caller reads the files itself).
fn ask_git(git: &Path, ctx: &RepoCtx<'_>, deadline: Instant) -> Option<Vec<Finding>> {
    let remaining = deadline.checked_duration_since(Instant::now())?;
    let run = |args: &[&str]| {
        let mut cmd = git_command(git);
        cmd.arg("-C").arg(ctx.dir).args(args);
        run_bounded(cmd, GIT_TIMEOUT.min(remaining))
    };
    let (_, paths) = run(&[
        "rev-parse",
        "--path-format=absolute",
        "--absolute-git-dir",
        "--git-common-dir",
        "--git-path",
        "hooks",
    ])
    .ok()?;
    let text = String::from_utf8_lossy(&paths);
    let lines: Vec<&str> = text.lines().collect();
    let [git_dir, common, hooks, ..] = lines.as_slice() else {
        return None;
    };
    // git prints `w/.git/../../store`: resolved, for messages and for
    // telling whether a file is inside the workspace.
    let real = |p: &str| {
        Path::new(p)
            .canonicalize()
            .unwrap_or_else(|_| PathBuf::from(p))
    };
    let (git_dir, common, hooks) = (real(git_dir), real(common), real(hooks));
    // git in this directory must use this repository, not one further up
    // (which is checked on its own): otherwise this `.git` is not one. The
    // git directory is compared, not the top level: `core.worktree` may put
    // the working tree anywhere, and the repository still acts here.
    if locate(ctx.dir, ctx.marker)
        .0
        .and_then(|p| p.canonicalize().ok())
        != Some(git_dir.clone())
    {
        return Some(Vec::new());
    }
    let (git_dir, common) = (git_dir.as_path(), common.as_path());
    let mut out = Vec::new();
    redirects(ctx, Some(git_dir), Some(common), &mut out);

    let (code, list) = run(&["config", "--list", "--show-origin", "--show-scope", "-z"]).ok()?;
    if code != 0 {
        return None;
    }
    let mut hooks_path_new = false;
    for (scope, origin, key, value) in parse_config_list(&list) {
        if scope == "command" || !runs_something(&key, &value) {
            continue;
        }
        let Some(file) = origin.strip_prefix("file:") else {
            continue;
        };
        let file = resolved(&ctx.dir.join(file));
        let local = scope == "local" || scope == "worktree";
        if (ctx.is_new && local) || ctx.fresh(&file) {
            if generic_key(&key) == "core.hookspath" {
                hooks_path_new = true;
            }
            out.push(Finding::new(
                ctx.dir,
                &file,
                FindingKind::Setting { key, value },
                "",
            ));
        }
    }
    hook_findings(ctx, &hooks, ctx.is_new || hooks_path_new, &mut out);
    Some(out)
}

/// `.git` files and symlinks and `commondir` files that send git elsewhere.
fn redirects(
    ctx: &RepoCtx<'_>,
    git_dir: Option<&Path>,
    common: Option<&Path>,
    out: &mut Vec<Finding>,
) {
    let entry = ctx.dir.join(".git");
    if matches!(ctx.marker, Marker::File | Marker::Symlink)
        && (ctx.is_new || changed_since(&entry, ctx.since))
    {
        let target = git_dir.map(Path::to_path_buf).unwrap_or_default();
        out.push(Finding::new(
            ctx.dir,
            &entry,
            FindingKind::Redirect { target },
            "",
        ));
    }
    if let (Some(g), Some(c)) = (git_dir, common) {
        let file = g.join("commondir");
        let same = g.canonicalize().ok() == c.canonicalize().ok();
        if !same && (ctx.is_new || changed_since(&file, ctx.since)) {
            out.push(Finding::new(
                ctx.dir,
                &file,
                FindingKind::Redirect {
                    target: c.to_path_buf(),
                },
                "",
            ));
        }
    }
}

/// Hooks in `hooks` (any file but samples): all of them when `all_new`, else
/// those whose file changed since the tripwire was armed.
fn hook_findings(ctx: &RepoCtx<'_>, hooks: &Path, all_new: bool, out: &mut Vec<Finding>) {
    let Ok(list) = std::fs::read_dir(hooks) else {
        return;
    };
    for e in list.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".sample") || name.contains(DISABLED_SUFFIX) {
            continue;
        }
        let path = e.path();
        // Followed, as git follows it.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let executable = meta.mode() & 0o111 != 0;
        if all_new || changed_since(&path, ctx.since) {
            let digest = read_small(&path)
                .map(|b| format!("{:x}", Sha256::digest(&b)))
                .unwrap_or_default();
            out.push(Finding::new(
                ctx.dir,
                &path,
                FindingKind::Hook { name, executable },
                &digest,
            ));
        }
    }
}

/// Splits `git config --list --show-origin --show-scope -z` output into
/// (scope, origin, key, value).
fn parse_config_list(bytes: &[u8]) -> Vec<(String, String, String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let mut fields = text.split('\0');
    let mut out = Vec::new();
    while let (Some(scope), Some(origin), Some(kv)) = (fields.next(), fields.next(), fields.next())
    {
        let (key, value) = kv.split_once('\n').unwrap_or((kv, ""));
        out.push((scope.into(), origin.into(), key.into(), value.into()));
    }
    out
}

// ------------------------------------------------- reading files ourselves

/// The fallback when git is missing or did not answer: reads the `.git`
/// file, `commondir`, the configs and the hooks directory as git would.
fn read_files(ctx: &RepoCtx<'_>) -> Vec<Finding> {
    let (git_dir, common) = locate(ctx.dir, ctx.marker);
    let mut out = Vec::new();
    redirects(ctx, git_dir.as_deref(), common.as_deref(), &mut out);
    let mut hooks = common.as_ref().map(|c| c.join("hooks"));
    let mut hooks_path_new = false;
    let configs = [
        common.as_ref().map(|c| c.join("config")),
        git_dir.as_ref().map(|g| g.join("config.worktree")),
    ];
    for file in configs.into_iter().flatten() {
        let Some(bytes) = read_small(&file) else {
            continue;
        };
        let fresh = ctx.is_new || ctx.fresh(&file);
        for s in executing_settings(&String::from_utf8_lossy(&bytes)) {
            if generic_key(&s.key) == "core.hookspath" {
                let base = if ctx.marker == Marker::Bare {
                    common.clone().unwrap_or_default()
                } else {
                    ctx.dir.to_path_buf()
                };
                hooks = Some(base.join(&s.value));
                hooks_path_new |= fresh;
            }
            if fresh {
                out.push(Finding::new(
                    ctx.dir,
                    &file,
                    FindingKind::Setting {
                        key: s.key,
                        value: s.value,
                    },
                    "",
                ));
            }
        }
    }
    if let Some(h) = hooks {
        hook_findings(ctx, &h, ctx.is_new || hooks_path_new, &mut out);
    }
    out
}

/// `section.name` of a `section[.subsection].name` key, lowercase.
fn generic_key(key: &str) -> String {
    let section = key.split('.').next().unwrap_or("");
    let name = key.rsplit('.').next().unwrap_or("");
    format!("{section}.{name}").to_ascii_lowercase()
}

fn is_false(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "" | "false" | "no" | "off" | "0"
    )
}

fn is_bool(value: &str) -> bool {
    is_false(value)
        || matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "true" | "yes" | "on" | "1"
        )
}

/// True when git would run `value` as a command (or load code/config
/// through it) for the config `key`.
pub fn runs_something(key: &str, value: &str) -> bool {
    let generic = generic_key(key);
    let section = generic.split('.').next().unwrap_or("");
    match section {
        "alias" => return value.trim_start().starts_with('!'),
        // `submodule.<name>.update = !cmd` runs cmd on `git submodule update`.
        "submodule" => return generic == "submodule.update" && value.trim_start().starts_with('!'),
        // `pager.<cmd> = program`; true/false only switch the default pager.
        "pager" => return !is_bool(value),
        _ => {}
    }
    if generic == "core.fsmonitor" {
        // `true` starts git's own daemon; any other value is a command.
        return !is_bool(value);
    }
    EXECUTING_KEYS.contains(&generic.as_str()) && !is_false(value)
}

/// One setting read from a config file by [`executing_settings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSetting {
    /// `section[.subsection].name`, section and name lowercase as git prints them.
    pub key: String,
    /// The value with quotes and escapes resolved.
    pub value: String,
}

/// The settings in a git config file that make git run something, read the
/// way git reads them: a setting may follow its `[section]` header on the
/// same line, values may be quoted, escaped and continued with `\`.
pub fn executing_settings(config: &str) -> Vec<ConfigSetting> {
    parse_config(config)
        .into_iter()
        .filter(|s| runs_something(&s.key, &s.value))
        .collect()
}

/// Every `key = value` of a config file.
fn parse_config(config: &str) -> Vec<ConfigSetting> {
    let mut out = Vec::new();
    let mut section = String::new();
    let chars: Vec<char> = config.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && (chars[*i] == ' ' || chars[*i] == '\t' || chars[*i] == '\r') {
            *i += 1;
        }
    };
    let skip_line = |i: &mut usize| {
        while *i < chars.len() && chars[*i] != '\n' {
            *i += 1;
        }
    };
    while i < chars.len() {
        skip_ws(&mut i);
        if i >= chars.len() {
            break;
        }
        match chars[i] {
            '\n' => i += 1,
            '#' | ';' => skip_line(&mut i),
            '[' => {
                i += 1;
                let mut name = String::new();
                while i < chars.len() && !matches!(chars[i], ']' | ' ' | '\t' | '"' | '\n') {
                    name.push(chars[i]);
                    i += 1;
                }
                // `[section.sub]` (old syntax) names the subsection in lowercase.
                let mut sec = name.to_ascii_lowercase();
                skip_ws(&mut i);
                if i < chars.len() && chars[i] == '"' {
                    i += 1;
                    let mut sub = String::new();
                    while i < chars.len() && chars[i] != '"' && chars[i] != '\n' {
                        if chars[i] == '\\' && i + 1 < chars.len() {
                            i += 1;
                        }
                        sub.push(chars[i]);
                        i += 1;
                    }
                    i += 1;
                    sec = format!("{sec}.{sub}");
                }
                while i < chars.len() && chars[i] != ']' && chars[i] != '\n' {
                    i += 1;
                }
                if i < chars.len() && chars[i] == ']' {
                    i += 1;
                }
                section = sec;
                // A setting may follow on the same line: `[core] fsmonitor = x`.
            }
            _ => {
                let mut key = String::new();
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '-') {
                    key.push(chars[i]);
                    i += 1;
                }
                if key.is_empty() {
                    skip_line(&mut i);
                    continue;
                }
                skip_ws(&mut i);
                let mut value = String::new();
                if i < chars.len() && chars[i] == '=' {
                    i += 1;
                    skip_ws(&mut i);
                    let mut quoted = false;
                    let mut pending_ws = String::new();
                    while i < chars.len() {
                        let c = chars[i];
                        if c == '\n' {
                            break;
                        }
                        if !quoted && (c == '#' || c == ';') {
                            skip_line(&mut i);
                            break;
                        }
                        i += 1;
                        match c {
                            '"' => quoted = !quoted,
                            '\\' if i < chars.len() => {
                                let e = chars[i];
                                i += 1;
                                if e == '\n' {
                                    continue; // continuation line
                                }
                                value.push_str(&pending_ws);
                                pending_ws.clear();
                                value.push(match e {
                                    'n' => '\n',
                                    't' => '\t',
                                    'b' => '\u{8}',
                                    other => other,
                                });
                            }
                            ' ' | '\t' | '\r' if !quoted => pending_ws.push(c),
                            _ => {
                                value.push_str(&pending_ws);
                                pending_ws.clear();
                                value.push(c);
                            }
                        }
                    }
                } else {
                    skip_line(&mut i);
                }
                if !section.is_empty() {
                    out.push(ConfigSetting {
                        key: format!("{section}.{}", key.to_ascii_lowercase()),
                        value,
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(cfg: &str) -> Vec<String> {
        executing_settings(cfg)
            .into_iter()
            .map(|s| format!("{}={}", s.key, s.value))
            .collect()
    }

    #[test]
    fn finds_executing_settings_only() {
        let cfg = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tfsmonitor = ./x.sh\n\
                   [alias]\n\tst = status\n\tpwn = \"!sh -c 'id'\"\n\
                   [diff \"bin\"]\n\ttextconv = hexdump\n\
                   [remote \"origin\"]\n\turl = https://example.com/r.git\n\
                   [Core]\n\tHooksPath = /tmp/h\n";
        assert_eq!(
            keys(cfg),
            [
                "core.fsmonitor=./x.sh",
                "alias.pwn=!sh -c 'id'",
                "diff.bin.textconv=hexdump",
                "core.hookspath=/tmp/h"
            ]
        );
    }

    #[test]
    fn a_setting_on_the_header_line_is_found() {
        assert_eq!(
            keys("[core] fsmonitor = ./x.sh\n"),
            ["core.fsmonitor=./x.sh"]
        );
        assert_eq!(
            keys("[diff \"a]b\"]textconv=cat # comment\n"),
            ["diff.a]b.textconv=cat"]
        );
        assert_eq!(keys("[core]fsmonitor=x;y\n"), ["core.fsmonitor=x"]);
    }

    #[test]
    fn quotes_escapes_and_continuations_are_resolved() {
        assert_eq!(
            keys("[core]\n\tpager = \"less \\\n -R\" ; c\n[include]\npath = \"a b.cfg\"\n"),
            ["core.pager=less  -R", "include.path=a b.cfg"]
        );
        assert_eq!(
            keys("[diff.Bin]\n\ttextconv = x\n"),
            ["diff.bin.textconv=x"]
        );
        assert_eq!(
            keys("[includeIf \"gitdir:~/w/\"]\n\tpath = w.cfg\n"),
            ["includeif.gitdir:~/w/.path=w.cfg"]
        );
    }

    #[test]
    fn booleans_and_plain_settings_run_nothing() {
        assert!(!runs_something("core.fsmonitor", "true"));
        assert!(!runs_something("core.fsmonitor", "false"));
        assert!(runs_something("core.fsmonitor", "/x/y"));
        assert!(!runs_something("pager.log", "false"));
        assert!(runs_something("pager.log", "sh -c x"));
        assert!(runs_something("filter.lfs.smudge", "x"));
        assert!(runs_something("merge.ours.driver", "x"));
        assert!(runs_something("submodule.lib.update", "!x"));
        assert!(!runs_something("submodule.lib.update", "rebase"));
        assert!(!runs_something("alias.st", "status"));
        assert!(!runs_something("user.name", "x"));
    }

    #[test]
    fn config_list_output_is_split_into_scope_origin_key_value() {
        let raw = b"local\0file:.git/config\0core.fsmonitor\nsh x\0local\0file:.git/config\0core.bare\nfalse\0global\0file:/h/.gitconfig\0a.b\0";
        let got = parse_config_list(raw);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, "local");
        assert_eq!(got[0].1, "file:.git/config");
        assert_eq!(got[0].2, "core.fsmonitor");
        assert_eq!(got[0].3, "sh x");
        assert_eq!(got[2].3, "");
    }

    #[test]
    fn neutralise_hints_are_quoted_for_a_shell() {
        let f = Finding::new(
            Path::new("/w/a"),
            Path::new("/w/a/.git/hooks/it's"),
            FindingKind::Hook {
                name: "x".into(),
                executable: true,
            },
            "",
        );
        assert!(f.how_to_neutralise().contains("'/w/a/.git/hooks/it'\\''s'"));
    }

    fn exec_file(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A repository as git accepts it, made by hand.
    fn fake_repo(git: &Path, config: &str) {
        for d in ["objects", "refs/heads", "hooks"] {
            std::fs::create_dir_all(git.join(d)).unwrap();
        }
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(git.join("config"), config).unwrap();
    }

    const PLAIN: &str = "[core]\n\trepositoryformatversion = 0\n\tbare = false\n";

    #[test]
    fn a_fresh_repo_is_quiet_and_a_planted_hook_is_reported_once() {
        let ws = tempfile::tempdir().unwrap();
        let mut t = GitTripwire::new(ws.path());
        assert!(t.check().is_empty());
        let git = ws.path().join("a/b/.git");
        fake_repo(&git, PLAIN);
        exec_file(&git.join("hooks/pre-commit.sample"), "#!/bin/sh\n");
        assert!(
            t.check().is_empty(),
            "a plain new repository is not reported"
        );
        exec_file(&git.join("hooks/post-checkout"), "#!/bin/sh\ncurl x\n");
        std::fs::write(
            git.join("config"),
            "[core] bare = false\n\tfsmonitor = .git/x\n",
        )
        .unwrap();
        let found = t.check();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().any(|f| f.contains("post-checkout hook")));
        assert!(
            found
                .iter()
                .any(|f| f.contains("`.git/x` (core.fsmonitor)"))
        );
        assert!(found.iter().all(|f| f.contains("a/b")));
        assert!(t.check().is_empty(), "reported once");
        // A rewritten hook is new again.
        exec_file(&git.join("hooks/post-checkout"), "#!/bin/sh\ncurl longer\n");
        assert_eq!(t.check().len(), 1);
        // One `chmod` from running: said, without claiming it runs now.
        std::fs::write(git.join("hooks/pre-push"), "#!/bin/sh\n").unwrap();
        let found = t.check();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("pre-push hook"), "{found:?}");
        assert!(found[0].contains("not executable yet"), "{found:?}");
    }

    #[test]
    fn a_git_file_and_a_commondir_redirect_are_reported_with_what_they_lead_to() {
        let ws = tempfile::tempdir().unwrap();
        let mut t = GitTripwire::new(ws.path());
        let elsewhere = ws.path().join("elsewhere");
        fake_repo(&elsewhere, PLAIN);
        exec_file(&elsewhere.join("hooks/pre-commit"), "#!/bin/sh\n");
        std::fs::create_dir_all(ws.path().join("d")).unwrap();
        std::fs::write(ws.path().join("d/.git"), "gitdir: ../elsewhere\n").unwrap();
        let common = ws.path().join("c/store");
        fake_repo(&common, "[core] fsmonitor = sh c/evil\n");
        let cgit = ws.path().join("c/w/.git");
        std::fs::create_dir_all(&cgit).unwrap();
        std::fs::write(cgit.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(cgit.join("commondir"), "../../store\n").unwrap();
        let found = t.check_findings();
        let text: Vec<String> = found.iter().map(|f| f.to_string()).collect();
        let has = |s: &str| text.iter().any(|f| f.contains(s));
        assert!(has("d/.git (set by"), "{text:#?}");
        assert!(has("elsewhere/hooks/pre-commit"), "{text:#?}");
        assert!(has("c/w/.git/commondir"), "{text:#?}");
        assert!(has("`sh c/evil` (core.fsmonitor) from"), "{text:#?}");
        for f in &found {
            neutralise(f).unwrap();
        }
        assert!(!ws.path().join("d/.git").exists());
        assert!(!elsewhere.join("hooks/pre-commit").exists());
        assert!(!cgit.join("commondir").exists());
        let left = std::fs::read_to_string(common.join("config")).unwrap_or_default();
        assert!(!left.contains("fsmonitor"), "{left}");
        assert!(scan(ws.path(), UNIX_EPOCH).is_empty() || find_git().is_none());
    }

    #[test]
    fn what_was_there_at_the_start_is_not_reported() {
        let ws = tempfile::tempdir().unwrap();
        let git = ws.path().join(".git");
        fake_repo(
            &git,
            "[core]\n\tfsmonitor = make watch\n[alias]\n\tx = !make\n",
        );
        exec_file(&git.join("hooks/pre-push"), "#!/bin/sh\nmake test\n");
        // Armed just after the files were written: they are old.
        let newest = std::fs::symlink_metadata(git.join("hooks/pre-push")).unwrap();
        let since = ctime(&newest) + Duration::from_nanos(1);
        let mut t = GitTripwire::armed_at(ws.path(), since);
        assert!(t.check().is_empty());
        // A new repository at another place is.
        fake_repo(&ws.path().join("x/y/.git"), "[alias]\n\tx = !make\n");
        let found = t.check();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("x/y"), "{found:?}");
    }

    #[test]
    fn git_names_the_included_file_a_setting_comes_from() {
        if find_git().is_none() {
            return;
        }
        let ws = tempfile::tempdir().unwrap();
        let mut t = GitTripwire::new(ws.path());
        fake_repo(
            &ws.path().join("r/.git"),
            "[include]\n\tpath = ../../inc.cfg\n",
        );
        std::fs::write(ws.path().join("inc.cfg"), "[core]\n\tpager = sh inc\n").unwrap();
        let found = t.check();
        let inc = ws.path().canonicalize().unwrap().join("inc.cfg");
        assert!(
            found
                .iter()
                .any(|f| f.contains(&format!("`sh inc` (core.pager) from {}", inc.display()))),
            "{found:#?}"
        );
        assert!(
            found.iter().any(|f| f.contains("(include.path)")),
            "{found:#?}"
        );
    }

    #[test]
    fn a_repository_whose_worktree_is_elsewhere_is_still_checked() {
        if find_git().is_none() {
            return;
        }
        let ws = tempfile::tempdir().unwrap();
        let mut t = GitTripwire::new(ws.path());
        std::fs::create_dir_all(ws.path().join("other")).unwrap();
        fake_repo(
            &ws.path().join("x/.git"),
            "[core]\n\tworktree = ../../other\n\tfsmonitor = sh evil\n",
        );
        let found = t.check();
        assert!(
            found
                .iter()
                .any(|f| f.contains("`sh evil` (core.fsmonitor)")),
            "{found:#?}"
        );
    }

    #[test]
    fn work_in_an_existing_repository_is_quiet() {
        let ws = tempfile::tempdir().unwrap();
        let git = ws.path().join(".git");
        fake_repo(&git, "[core]\n\tfsmonitor = make watch\n");
        exec_file(&git.join("hooks/pre-commit"), "#!/bin/sh\nmake lint\n");
        let newest = std::fs::symlink_metadata(git.join("hooks/pre-commit")).unwrap();
        let mut t = GitTripwire::armed_at(ws.path(), ctime(&newest) + Duration::from_nanos(1));
        // What a commit in the sandbox changes: files in .git, the worktree.
        std::fs::write(git.join("ORIG_HEAD"), "x\n").unwrap();
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        std::fs::write(git.join("refs/heads/main"), "x\n").unwrap();
        std::fs::write(ws.path().join("file.txt"), "x\n").unwrap();
        assert!(t.check().is_empty());
    }

    #[test]
    fn a_workspace_too_deep_to_search_is_said_to_be_unchecked() {
        let ws = tempfile::tempdir().unwrap();
        let mut t = GitTripwire::new(ws.path());
        let mut deep = ws.path().to_path_buf();
        for _ in 0..=MAX_DEPTH + 1 {
            deep.push("d");
        }
        fake_repo(&deep.join(".git"), "[alias]\n\tx = !make\n");
        let found = t.check_findings();
        let unchecked = found
            .iter()
            .find(|f| matches!(f.kind, FindingKind::Unchecked { .. }))
            .unwrap_or_else(|| panic!("{found:#?}"));
        assert!(unchecked.to_string().contains("deeper than"), "{unchecked}");
        assert!(neutralise(unchecked).is_err(), "only the user can look");
    }

    #[test]
    fn the_walk_does_not_follow_symlinks_or_enter_dependencies() {
        let ws = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fake_repo(&outside.path().join("r/.git"), "[alias]\n\tx = !make\n");
        std::os::unix::fs::symlink(outside.path(), ws.path().join("link")).unwrap();
        fake_repo(
            &ws.path().join("node_modules/p/.git"),
            "[alias]\n\tx = !make\n",
        );
        // The baseline's walk (no change detection) finds the same.
        for changes in [true, false] {
            // Old enough to be skipped as a dependency directory.
            let since = SystemTime::now() + Duration::from_secs(60);
            let w = walk(ws.path(), since, changes);
            assert!(w.repos.is_empty(), "{:?}", w.repos);
            assert!(w.unchecked.is_none());
            // A fresh one is searched: calling a new directory a cache hides nothing.
            let w = walk(ws.path(), UNIX_EPOCH, changes);
            assert_eq!(w.repos.len(), 1, "{:?}", w.repos);
        }
    }

    #[test]
    fn the_fallback_reads_the_files_as_git_does() {
        let ws = tempfile::tempdir().unwrap();
        let mut t = GitTripwire::new(ws.path());
        t.git = None;
        let git = ws.path().join("p/q/.git");
        fake_repo(&git, "[core] hooksPath = .hooks\n");
        exec_file(&ws.path().join("p/q/.hooks/pre-commit"), "#!/bin/sh\n");
        let found = t.check();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().any(|f| f.contains("core.hookspath")));
        assert!(found.iter().any(|f| f.contains(".hooks/pre-commit")));
    }
}

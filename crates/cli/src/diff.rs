//! `/diff` in the chat: what changed in the workspace.
//!
//! In a git repository this is `git diff HEAD` plus the untracked files, run
//! on the host (outside the sandbox) with everything that could make git run
//! a program switched off: no pager, fsmonitor, external diff, textconv,
//! filter drivers or submodule recursion, and none of the caller's `GIT_*`
//! variables. Sandboxed code can write the repository's config, so the diff
//! must not run what it says. Elsewhere, a listing of the workspace (size and
//! modification time of every file) taken when the conversation started is
//! compared with one taken now.

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// Files listed at most; a larger workspace is compared in part (and says so).
const MAX_FILES: usize = 50_000;
/// Lines of diff shown at most.
const MAX_LINES: usize = 2_000;
/// How long one git command may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The workspace as it was when the conversation started.
pub enum Baseline {
    /// A git work tree: git knows what changed.
    Git,
    /// Every file's size and modification time; `complete` is false when
    /// the listing stopped at [`MAX_FILES`].
    Files {
        files: BTreeMap<PathBuf, (u64, SystemTime)>,
        complete: bool,
    },
}

impl Baseline {
    /// Takes the baseline for `workspace` now.
    pub fn take(workspace: &Path) -> Baseline {
        if is_git_work_tree(workspace) {
            Baseline::Git
        } else {
            let (files, complete) = listing(workspace);
            Baseline::Files { files, complete }
        }
    }

    /// What changed since the baseline, for a person to read (not yet
    /// sanitized: it holds file names and contents the code wrote).
    pub fn report(&self, workspace: &Path) -> String {
        match self {
            Baseline::Git => git_report(workspace),
            Baseline::Files { files, complete } => {
                let (now, now_complete) = listing(workspace);
                files_report(files, &now, *complete && now_complete)
            }
        }
    }
}

fn is_git_work_tree(workspace: &Path) -> bool {
    matches!(git(workspace, &["rev-parse", "--is-inside-work-tree"]), Ok(out) if out.trim() == "true")
}

/// git as the module comment describes it. Filter drivers can only be
/// defined in config, so the ones defined there are each turned off.
fn git_command(workspace: &Path, filters: &[String]) -> Command {
    let mut cmd = Command::new("git");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("GIT_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(workspace)
        .env("GIT_PAGER", "cat")
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
            "core.hooksPath=/dev/null",
            "-c",
            "safe.directory=*",
        ]);
    for name in filters {
        for (key, value) in [
            ("process", ""),
            ("clean", "cat"),
            ("smudge", "cat"),
            ("required", "false"),
        ] {
            cmd.arg("-c").arg(format!("filter.{name}.{key}={value}"));
        }
    }
    cmd.stdin(Stdio::null()).stderr(Stdio::null());
    cmd
}

/// Runs git with `args` and returns its stdout, killing it after
/// [`GIT_TIMEOUT`]. Output goes to an unnamed file, so a large diff cannot
/// block on a full pipe.
fn git_with(workspace: &Path, filters: &[String], args: &[&str]) -> Result<String, String> {
    let mut out = tempfile::tempfile().map_err(|e| format!("no temporary file: {e}"))?;
    let copy = out
        .try_clone()
        .map_err(|e| format!("no temporary file: {e}"))?;
    let mut cmd = git_command(workspace, filters);
    cmd.args(args).stdout(Stdio::from(copy));
    let mut child = cmd.spawn().map_err(|e| format!("cannot run git: {e}"))?;
    let until = Instant::now() + GIT_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("git {} took too long", args.join(" ")));
            }
            Err(e) => return Err(format!("git failed: {e}")),
        }
    };
    if !status.success() {
        return Err(format!("git {} failed ({status})", args.join(" ")));
    }
    let mut text = Vec::new();
    out.rewind()
        .and_then(|()| out.read_to_end(&mut text))
        .map_err(|e| format!("cannot read git's output: {e}"))?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}

fn git(workspace: &Path, args: &[&str]) -> Result<String, String> {
    git_with(workspace, &[], args)
}

/// The names of the filter drivers the repository's config defines.
fn filter_names(workspace: &Path) -> Vec<String> {
    let Ok(out) = git(workspace, &["config", "--get-regexp", r"^filter\..*\."]) else {
        return Vec::new();
    };
    let mut names: Vec<String> = out
        .lines()
        .filter_map(|l| {
            let key = l.split_whitespace().next()?;
            let rest = key.strip_prefix("filter.")?;
            Some(rest.rsplit_once('.')?.0.to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

fn git_report(workspace: &Path) -> String {
    let filters = filter_names(workspace);
    let common = [
        "--no-ext-diff",
        "--no-textconv",
        "--no-color",
        "--ignore-submodules=all",
    ];
    let has_head = git(workspace, &["rev-parse", "--verify", "--quiet", "HEAD"]).is_ok();
    let mut args = vec!["diff"];
    if has_head {
        args.push("HEAD");
    }
    args.extend(common);
    args.extend(["--", "."]);
    let diff = match git_with(workspace, &filters, &args) {
        Ok(d) => d,
        Err(e) => return format!("cannot show the changes: {e}"),
    };
    let untracked = git_with(
        workspace,
        &filters,
        &["ls-files", "--others", "--exclude-standard", "--", "."],
    )
    .unwrap_or_default();
    let mut out = String::new();
    if diff.trim().is_empty() && untracked.trim().is_empty() {
        return "no changes in the workspace since the last commit (git)".to_string();
    }
    out.push_str("changes since the last commit (git diff HEAD, run outside the sandbox):\n");
    let lines: Vec<&str> = diff.lines().collect();
    for line in lines.iter().take(MAX_LINES) {
        out.push_str(line);
        out.push('\n');
    }
    if lines.len() > MAX_LINES {
        out.push_str(&format!(
            "… {} more lines (run `git diff` to see them)\n",
            lines.len() - MAX_LINES
        ));
    }
    if !untracked.trim().is_empty() {
        out.push_str("new files git does not track yet:\n");
        for f in untracked.lines() {
            out.push_str(&format!("  {f}\n"));
        }
    }
    out.trim_end().to_string()
}

/// Every regular file and symlink under `root` (not followed), without
/// `.git`, with size and modification time.
fn listing(root: &Path) -> (BTreeMap<PathBuf, (u64, SystemTime)>, bool) {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if files.len() >= MAX_FILES {
                return (files, false);
            }
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                if entry.file_name() != ".git" {
                    stack.push(path);
                }
                continue;
            }
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            files.insert(rel, (meta.len(), mtime));
        }
    }
    (files, true)
}

fn files_report(
    before: &BTreeMap<PathBuf, (u64, SystemTime)>,
    now: &BTreeMap<PathBuf, (u64, SystemTime)>,
    complete: bool,
) -> String {
    let mut lines = Vec::new();
    for (path, (size, mtime)) in now {
        match before.get(path) {
            None => lines.push(format!("  added    {} ({size} bytes)", path.display())),
            Some((old, _)) if old != size => lines.push(format!(
                "  changed  {} ({old} → {size} bytes)",
                path.display()
            )),
            Some((_, old)) if old != mtime => {
                lines.push(format!("  changed  {} (same size)", path.display()))
            }
            Some(_) => {}
        }
    }
    for path in before.keys() {
        if !now.contains_key(path) {
            lines.push(format!("  removed  {}", path.display()));
        }
    }
    let mut out = if lines.is_empty() {
        "no files changed in the workspace during this conversation".to_string()
    } else {
        format!(
            "files changed in the workspace during this conversation (not a git repository: sizes and times compared):\n{}",
            lines.join("\n")
        )
    };
    if !complete {
        out.push_str(&format!(
            "\n(the workspace has more than {MAX_FILES} files: only part of it was compared)"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_directory_is_compared_by_listing() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path();
        std::fs::write(ws.join("kept.txt"), "same").unwrap();
        std::fs::write(ws.join("grows.txt"), "a").unwrap();
        std::fs::write(ws.join("gone.txt"), "x").unwrap();
        let base = Baseline::take(ws);
        assert!(matches!(base, Baseline::Files { .. }));
        assert_eq!(
            base.report(ws),
            "no files changed in the workspace during this conversation"
        );
        std::fs::write(ws.join("grows.txt"), "abc").unwrap();
        std::fs::remove_file(ws.join("gone.txt")).unwrap();
        std::fs::create_dir(ws.join("sub")).unwrap();
        std::fs::write(ws.join("sub/new.txt"), "hello").unwrap();
        let r = base.report(ws);
        assert!(r.contains("added    sub/new.txt (5 bytes)"), "{r}");
        assert!(r.contains("changed  grows.txt (1 → 3 bytes)"), "{r}");
        assert!(r.contains("removed  gone.txt"), "{r}");
        assert!(!r.contains("kept.txt"), "{r}");
    }
}

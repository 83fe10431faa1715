//! Git tripwire: notices when sandboxed code leaves behind git hooks or git
//! config settings that git would run as commands later, outside the sandbox.
//!
//! The sandbox keeps an existing `.git/hooks` and `.git/config` read-only, but
//! it cannot protect a repository that does not exist yet: code may `git init`
//! (or create `sub/.git`) and write a hook or `core.fsmonitor` there, which
//! runs the next time the user types `git status` in that directory. Nothing
//! stops that at the kernel level, so after every block interlock looks at the
//! repositories in the workspace (its `.git` and those one level down) and
//! reports what is new.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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
    "sequence.editor",
    "credential.helper",
    "gpg.program",
    "diff.external",
    "diff.textconv",
    "diff.command",
    "merge.driver",
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
    "ssh.variant",
    "http.proxy",
];

/// Things git would execute, as `path` or `path: setting` strings.
pub type Findings = BTreeSet<String>;

/// What was there when the session started; later scans report only new
/// findings.
#[derive(Debug)]
pub struct GitTripwire {
    workspace: PathBuf,
    baseline: Findings,
}

impl GitTripwire {
    /// Records what the workspace's repositories contain now.
    pub fn new(workspace: &Path) -> GitTripwire {
        GitTripwire {
            workspace: workspace.to_path_buf(),
            baseline: scan(workspace),
        }
    }

    /// Findings that appeared since the baseline (or the last call). Each is
    /// reported once.
    pub fn check(&mut self) -> Vec<String> {
        let now = scan(&self.workspace);
        let new: Vec<String> = now.difference(&self.baseline).cloned().collect();
        self.baseline.extend(now);
        new
    }
}

/// The repositories to look at: the workspace's own, one level down, and their submodules.
fn git_dirs(workspace: &Path) -> Vec<PathBuf> {
    // The same repositories whose hooks the sandbox keeps read-only, submodules included.
    interlock_sandbox::workspace_git_dirs(workspace)
}

/// Every hook that is not a sample, and every executing config setting, in
/// the workspace's repositories. Hooks carry their size so a rewritten hook
/// counts as new.
pub fn scan(workspace: &Path) -> Findings {
    let mut out = Findings::new();
    for git in git_dirs(workspace) {
        if let Ok(entries) = std::fs::read_dir(git.join("hooks")) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".sample") {
                    continue;
                }
                let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                out.insert(format!("{} ({len} bytes)", e.path().display()));
            }
        }
        let config = git.join("config");
        if let Ok(text) = std::fs::read_to_string(&config) {
            for setting in executing_settings(&text) {
                out.insert(format!("{}: {setting}", config.display()));
            }
        }
    }
    out
}

/// The settings in a git config file that make git run something, as
/// `section.key = value` lines.
pub fn executing_settings(config: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut display_section = String::new();
    for raw in config.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let header = rest.split(']').next().unwrap_or("");
            display_section = header.trim().to_string();
            // `[diff "foo"]` and `[diff.foo]` both belong to `diff`.
            section = header
                .split(|c: char| c == '"' || c == '.' || c.is_whitespace())
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), v.trim()),
            None => (line.to_ascii_lowercase(), "true"),
        };
        let full = format!("{section}.{key}");
        let runs = EXECUTING_KEYS.contains(&full.as_str())
            || (section == "alias" && value.trim_start_matches('"').starts_with('!'));
        if runs {
            out.push(format!("[{display_section}] {key} = {value}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_executing_settings_only() {
        let cfg = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tfsmonitor = ./x.sh\n\
                   [alias]\n\tst = status\n\tpwn = \"!sh -c 'id'\"\n\
                   [diff \"bin\"]\n\ttextconv = hexdump\n\
                   [remote \"origin\"]\n\turl = https://example.com/r.git\n\
                   [Core]\n\tHooksPath = /tmp/h\n";
        let found = executing_settings(cfg);
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().any(|f| f.contains("fsmonitor = ./x.sh")));
        assert!(found.iter().any(|f| f.contains("pwn")));
        assert!(found.iter().any(|f| f.contains("textconv")));
        assert!(found.iter().any(|f| f.contains("hookspath")));
        assert!(!found.iter().any(|f| f.contains("url")));
    }

    #[test]
    fn a_fresh_git_init_is_quiet_and_a_planted_hook_is_reported_once() {
        let ws = tempfile::tempdir().unwrap();
        let mut t = GitTripwire::new(ws.path());
        assert!(t.check().is_empty());
        // What `git init` leaves: samples and a plain config.
        let git = ws.path().join("sub/.git");
        std::fs::create_dir_all(git.join("hooks")).unwrap();
        std::fs::write(git.join("hooks/pre-commit.sample"), "#!/bin/sh\n").unwrap();
        std::fs::write(
            git.join("config"),
            "[core]\n\trepositoryformatversion = 0\n\tbare = false\n",
        )
        .unwrap();
        assert!(t.check().is_empty(), "git init alone is not reported");
        std::fs::write(git.join("hooks/post-checkout"), "#!/bin/sh\ncurl x\n").unwrap();
        std::fs::write(
            git.join("config"),
            "[core]\n\tbare = false\n\tfsmonitor = .git/x\n",
        )
        .unwrap();
        let found = t.check();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().any(|f| f.contains("post-checkout")));
        assert!(found.iter().any(|f| f.contains("fsmonitor")));
        assert!(t.check().is_empty(), "reported once");
        // A rewritten hook is new again.
        std::fs::write(git.join("hooks/post-checkout"), "#!/bin/sh\ncurl longer\n").unwrap();
        assert_eq!(t.check().len(), 1);
    }

    #[test]
    fn a_hook_planted_in_a_new_submodule_is_reported() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(ws.path().join(".git/hooks")).unwrap();
        let mut t = GitTripwire::new(ws.path());
        let module = ws.path().join(".git/modules/lib");
        std::fs::create_dir_all(module.join("hooks")).unwrap();
        std::fs::write(module.join("config"), "[core]\n\tbare = false\n").unwrap();
        assert!(t.check().is_empty(), "a submodule alone is not reported");
        std::fs::write(module.join("hooks/post-merge"), "#!/bin/sh\ncurl x\n").unwrap();
        let found = t.check();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("modules/lib/hooks/post-merge"),
            "{found:?}"
        );
    }

    #[test]
    fn what_was_there_at_the_start_is_not_reported() {
        let ws = tempfile::tempdir().unwrap();
        let git = ws.path().join(".git");
        std::fs::create_dir_all(git.join("hooks")).unwrap();
        std::fs::write(git.join("hooks/pre-push"), "#!/bin/sh\nmake test\n").unwrap();
        let mut t = GitTripwire::new(ws.path());
        assert!(t.check().is_empty());
    }
}

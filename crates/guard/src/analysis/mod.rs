//! Static pre-execution risk analysis of shell, Python and JavaScript.
//!
//! [`analyze`] parses a code block with tree-sitter (never regexes alone),
//! walks the syntax tree and reports a [`Risk`] with [`Finding`]s a user can
//! read: a rule id, one line of explanation, the language and the span.
//!
//! What it understands, in short:
//! - **shell**: every command wherever it occurs (pipelines, `$(…)`, backticks,
//!   subshells, process substitution, `xargs`, `find -exec`, and the wrappers
//!   `sudo`/`env`/`nohup`/`timeout`/`nice`/`command`/`exec`/…), with words
//!   normalised (quotes and backslashes removed, statically known variables
//!   and `for` loop variables substituted); nested code (`bash -c`, `python -c`, `node -e`, `eval`,
//!   heredocs and here-strings fed to interpreters, statically decodable
//!   `base64 -d` payloads) is analysed recursively with the right language.
//! - **python** / **javascript**: calls resolved through imports, aliases,
//!   `__import__`/`importlib`/`getattr`/`require` indirection, with a small
//!   constant evaluator for strings and paths; literal shell commands handed to
//!   `subprocess`/`child_process` are re-analysed with the shell rules.
//!
//! Before parsing, zero-width and bidirectional-control characters are removed
//! (and reported). Code that does not parse is analysed as far as possible and
//! is rated at least [`Risk::Medium`].
//!
//! Everything here is a pure function of its input: no I/O, no environment.
//! Parsers are cached per thread; within one analysis, evaluations of nested
//! expressions and the findings of repeated nested code are reused (the
//! walks stay linear in the size of the code).

use interlock_protocol::Language;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

mod javascript;
mod known_safe;
mod paths;
mod python;
mod shell;
mod text;

/// How risky a block of code is, from harmless to must-not-run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Nothing notable.
    #[default]
    None,
    /// Ordinary work: reads and writes in the workspace, deleting named files.
    Low,
    /// Worth a look: network access, package installs, code that cannot be
    /// fully analysed, running code built at run time.
    Medium,
    /// Likely harmful or sensitive: credentials, persistence, exfiltration,
    /// download-and-execute, privilege changes, log tampering.
    High,
    /// Destroys data or hands over the machine: `rm -rf ~`, disk wipes,
    /// reverse shells, fork bombs, credential exfiltration.
    Critical,
}

impl Risk {
    /// Lowercase name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::None => "none",
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
            Risk::Critical => "critical",
        }
    }

    /// Parses the lowercase name.
    pub fn from_name(name: &str) -> Option<Risk> {
        match name.trim().to_ascii_lowercase().as_str() {
            "none" => Some(Risk::None),
            "low" => Some(Risk::Low),
            "medium" => Some(Risk::Medium),
            "high" => Some(Risk::High),
            "critical" => Some(Risk::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A region of the analysed code. Lines and columns are 1-based; columns count
/// characters (not bytes); the end is exclusive. Findings inside nested code
/// (`bash -c '…'`, `os.system("…")`) carry the span of the enclosing string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Span {
    pub start_line: usize,
    pub start_col: usize,
    pub end_line: usize,
    pub end_col: usize,
}

/// One reason for the risk of a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, e.g. `shell.rm-recursive-broad` (compare with `==` or
    /// `as_ref()`; owned only after deserialising).
    pub rule: Cow<'static, str>,
    pub risk: Risk,
    /// One line a user understands.
    pub message: String,
    /// Language of the code the rule fired in (nested code has its own).
    pub language: Language,
    pub span: Span,
    /// For `write.file` findings: the file written, moved onto, truncated
    /// or edited in place, as the code names it (relative paths are relative
    /// to the directory the block starts in; `~` is the home directory).
    /// `None` when the name is known only at run time (variables, globs, a
    /// `cd` earlier in the block) and for every other rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// Rule id of the findings that name a file the code writes: risk none on
/// their own, they let a caller see which existing files would change.
pub const WRITE_FILE_RULE: &str = "write.file";

/// The result of analysing one block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Maximum of the findings' risks ([`Risk::None`] when there are none).
    pub risk: Risk,
    /// Sorted by descending risk, then position.
    pub findings: Vec<Finding>,
    pub language: Language,
}

impl Report {
    /// The findings at or above `risk`.
    pub fn findings_at_least(&self, risk: Risk) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.risk >= risk)
    }
}

/// User rules from the configuration (data only).
///
/// - `deny_commands`: command prefixes (`"git push"`, `"docker"`). A shell
///   command whose words start with the prefix's words — after wrappers like
///   `sudo`/`env`/`xargs` are removed and the program name is reduced to its
///   base name — gets a critical `user.denied-command` finding. This also
///   applies to commands inside nested shell code and to literal commands
///   passed to Python `subprocess`/`os.system` or JavaScript `child_process`.
/// - `deny_paths`: any statically known path in the code (shell words and
///   redirections, Python/JavaScript string values) equal to or below a denied
///   path gets a critical `user.denied-path` finding. `~`, `$HOME` and
///   `${HOME}` are treated as the same home directory on both sides.
/// - `allow_commands`: command prefixes matched the same way. For a matching
///   command, the findings that the command raises *by itself* (from its own
///   name, options and arguments: installs, network access, `sudo`, deletions,
///   chmod, …) are dropped **unless they are critical**. Never suppressed:
///   critical findings, findings that come from combining commands (pipelines
///   like download-and-execute or decode-and-execute, reverse shells,
///   exfiltration of piped data), redirections, and anything found in code
///   nested inside the command (`bash -c '…'`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rules {
    pub allow_commands: Vec<String>,
    pub deny_commands: Vec<String>,
    pub deny_paths: Vec<PathBuf>,
}

/// Analyses `code` written in `language` with no user rules.
pub fn analyze(language: Language, code: &str) -> Report {
    analyze_with(language, code, &Rules::default())
}

/// Analyses `code` written in `language`, applying the user's rules.
pub fn analyze_with(language: Language, code: &str, rules: &Rules) -> Report {
    let norm = text::normalize(code);
    let mut cx = Ctx::new(rules, code, &norm);
    if let Some(first) = norm.first_removed {
        cx.push_at_offset(
            "input.invisible-characters",
            Risk::High,
            format!(
                "contains {} invisible or text-direction character(s) that can hide what really runs; they were removed before checking",
                norm.removed_count
            ),
            language,
            first,
        );
    }
    cx.analyze_code(language, &norm.text);
    cx.finish_budget(language);
    cx.into_report(language)
}

/// Analyses code whose language is unknown: it is checked with the shell
/// rules (the most common untagged block), and a medium
/// `input.unknown-language` finding says the language could not be determined.
pub fn analyze_unknown(code: &str, rules: &Rules) -> Report {
    let mut report = analyze_with(Language::Shell, code, rules);
    report.findings.push(Finding {
        rule: Cow::Borrowed("input.unknown-language"),
        risk: Risk::Medium,
        message: "the language of this code is unknown, so it could not be checked properly".into(),
        target: None,
        language: Language::Shell,
        span: Span {
            start_line: 1,
            start_col: 1,
            end_line: 1,
            end_col: 1,
        },
    });
    report.risk = report.risk.max(Risk::Medium);
    sort_findings(&mut report.findings);
    report
}

/// The shell programs the auto-run gate knows to be safe, each with the
/// reason (options that void the reason are checked per program; see
/// SECURITY.md). Any other program makes a block at least [`Risk::Medium`].
pub fn known_safe_programs() -> impl Iterator<Item = (&'static str, &'static str)> {
    known_safe::KNOWN_SAFE
        .iter()
        .flat_map(|e| e.names.iter().map(move |n| (*n, e.reason)))
}

/// The Python or JavaScript modules the auto-run gate knows to be safe to
/// import, each with the reason; any other import makes a block at least
/// [`Risk::Medium`] (empty for the shell: see [`known_safe_programs`]).
pub fn known_safe_modules(
    language: Language,
) -> impl Iterator<Item = (&'static str, &'static str)> {
    let table = match language {
        Language::Python => known_safe::PY_SAFE_MODULES,
        Language::Javascript => known_safe::JS_SAFE_MODULES,
        _ => &[],
    };
    table
        .iter()
        .flat_map(|e| e.names.iter().map(move |n| (*n, e.reason)))
}

/// Guesses the language from a file extension, then from a shebang line.
pub fn guess_language(path: Option<&Path>, code: &str) -> Option<Language> {
    if let Some(ext) = path.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
        let ext = ext.to_ascii_lowercase();
        let by_ext = match ext.as_str() {
            "sh" | "bash" | "zsh" | "ksh" | "dash" | "command" => Some(Language::Shell),
            "py" | "pyw" | "py3" => Some(Language::Python),
            "js" | "mjs" | "cjs" => Some(Language::Javascript),
            _ => None,
        };
        if by_ext.is_some() {
            return by_ext;
        }
    }
    let first = code.trim_start_matches('\u{feff}').lines().next()?;
    let rest = first.strip_prefix("#!")?.trim();
    let mut words = rest.split_whitespace();
    let mut prog = words.next()?;
    if prog.rsplit('/').next() == Some("env") {
        prog = words.find(|w| !w.starts_with('-') && !w.contains('='))?;
    }
    let base = prog.rsplit('/').next().unwrap_or(prog);
    if matches!(
        base,
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "busybox"
    ) {
        return Some(Language::Shell);
    }
    if base.starts_with("python") || base == "pypy" || base == "pypy3" {
        return Some(Language::Python);
    }
    if matches!(base, "node" | "nodejs" | "deno" | "bun") {
        return Some(Language::Javascript);
    }
    None
}

// ---------------------------------------------------------------------------
// Shared machinery
// ---------------------------------------------------------------------------

/// At most this many values of one `for` loop over a literal list are tried
/// (the body is analysed once per value).
pub(crate) const MAX_LOOP_VALUES: usize = 16;
/// At most this many extra loop-body analyses per block (bounds nested
/// loops).
pub(crate) const LOOP_BUDGET: usize = 256;

/// The shell word for an argument known only at run time, in a command that
/// Python or JavaScript passes as an argument list (no shell in between):
/// the known parts of its shape quoted, each run-time part as
/// [`paths::HOLE`] (`"/etc/" + name` becomes `'/etc/'"$…"`), so the shell
/// rules see it as they see a quoted variable. Walk results (`<found>`)
/// have no such form: `None`.
pub(crate) fn runtime_word(shape: Option<&str>) -> Option<String> {
    let Some(shape) = shape else {
        return Some(paths::HOLE.to_string());
    };
    if shape.contains("<found>") {
        return None;
    }
    let mut out = String::with_capacity(shape.len() + 16);
    for (i, part) in shape.split(paths::DYNAMIC).enumerate() {
        if i > 0 {
            out.push_str(paths::HOLE);
        }
        if !part.is_empty() {
            out.push_str(&text::shell_quote(part));
        }
    }
    Some(out)
}

/// Adds a run-time argument to `words` in shell form ([`runtime_word`]),
/// noting its index in `holes`; `false` (nothing added) when it has none.
pub(crate) fn push_runtime_word(
    words: &mut Vec<String>,
    holes: &mut Vec<usize>,
    shape: Option<&str>,
) -> bool {
    let Some(w) = runtime_word(shape) else {
        return false;
    };
    holes.push(words.len());
    words.push(w);
    true
}

/// The shell command line for an argument list: known words quoted, those at
/// `holes` (already in shell form, see [`runtime_word`]) as they are.
pub(crate) fn argv_command_line(words: &[String], holes: &[usize]) -> String {
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if holes.contains(&i) {
                w.clone()
            } else {
                text::shell_quote(w)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits a command line into words the way Python's `shlex.split` and
/// most `shell-quote` helpers do (quotes and backslashes removed, no
/// expansions); `None` for an unterminated quote.
pub(crate) fn split_shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        x => cur.push(x),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => {
                            let n = chars.next()?;
                            if !matches!(n, '"' | '\\' | '$' | '`') {
                                cur.push('\\');
                            }
                            cur.push(n);
                        }
                        x => cur.push(x),
                    }
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

/// Files a block wrote with content from the network, in order, so that
/// running one later (`exec(open(p).read())`, `sh p`, `require(p)`) is
/// linked into one download-and-run finding naming both lines.
#[derive(Default)]
pub(crate) struct Downloads {
    /// Path as written (without a leading `./`) and 1-based line.
    files: Vec<(String, usize)>,
}

/// The 1-based line of byte `offset` in `src`.
fn line_at(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Programs (and wrappers) that run the file named by their first operand.
fn runs_file_operand(prog: &str) -> bool {
    let p = prog.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let p = if p.is_empty() { prog } else { p };
    matches!(
        p,
        "python"
            | "pypy"
            | "sh"
            | "bash"
            | "zsh"
            | "dash"
            | "ksh"
            | "node"
            | "deno"
            | "bun"
            | "perl"
            | "ruby"
            | "php"
            | "source"
            | "."
            | "exec"
            | "nohup"
            | "setsid"
            | "sudo"
            | "env"
            | "timeout"
    )
}

impl Downloads {
    /// No file was downloaded (the usual case: nothing to link).
    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Notes that `path` was written with downloaded content at `offset`.
    pub(crate) fn record(&mut self, path: &str, src: &str, offset: usize) {
        self.files.push((
            path.trim_start_matches("./").to_string(),
            line_at(src, offset),
        ));
    }

    /// The latest download that wrote `path`.
    pub(crate) fn find(&self, path: &str) -> Option<usize> {
        if self.files.is_empty() {
            return None;
        }
        let p = path.trim_start_matches("./");
        self.files.iter().rposition(|(f, _)| f == p)
    }

    /// The download that a command (argument words) runs: as the program,
    /// or as the first operand of an interpreter or wrapper.
    pub(crate) fn run_by(&self, words: &[String]) -> Option<usize> {
        if self.files.is_empty() {
            return None;
        }
        let mut w = words.iter().map(String::as_str).peekable();
        while let Some(word) = w.next() {
            if let Some(i) = self.find(word) {
                return Some(i);
            }
            let base = word.rsplit('/').next().unwrap_or(word);
            if !runs_file_operand(base) {
                return None;
            }
            while w.peek().is_some_and(|x| x.starts_with('-')) {
                w.next();
            }
        }
        None
    }

    /// [`Downloads::run_by`] for each simple command of a shell line.
    pub(crate) fn run_by_line(&self, cmd: &str) -> Option<usize> {
        if self.files.is_empty() {
            return None;
        }
        cmd.split([';', '&', '|', '\n'])
            .filter_map(split_shell_words)
            .find_map(|words| self.run_by(&words))
    }

    /// The message of the finding for download `i` run by `how` at `offset`.
    pub(crate) fn message(&self, i: usize, how: &str, src: &str, offset: usize) -> String {
        let (path, line) = &self.files[i];
        format!(
            "downloads {path} from the network (line {line}) and runs it with {how} (line {}): whoever controls that address controls this machine",
            line_at(src, offset)
        )
    }
}

/// How deep nested code (`bash -c "python -c '…'"`) is followed.
const MAX_DEPTH: usize = 6;

/// How deep the syntax tree is walked recursively (keeps stack use bounded;
/// deeper code gets a high `input.too-deep` finding).
pub(crate) const MAX_TREE_DEPTH: usize = 160;

/// The analysis of a block may take this many steps (nodes walked, words and
/// expressions evaluated) plus [`WORK_PER_BYTE`] per byte of the block; then
/// it stops with a high `input.too-complex` finding, like code nested past
/// [`MAX_TREE_DEPTH`]. Everyday code takes 1-3 steps per byte (no block of
/// the corpus takes more than 13,000 steps), so the limit only bounds the time
/// that crafted input, a shape the analysers handle badly, can cost.
const WORK_BASE: u64 = 200_000;
/// See [`WORK_BASE`].
const WORK_PER_BYTE: u64 = 50;

/// The first ERROR or MISSING node, found without recursion.
pub(crate) fn first_error(root: tree_sitter::Node) -> Option<tree_sitter::Node> {
    let mut n = root;
    'outer: loop {
        if n.is_error() || n.is_missing() {
            return Some(n);
        }
        let mut c = n.walk();
        for ch in n.children(&mut c) {
            if ch.has_error() || ch.is_missing() {
                n = ch;
                continue 'outer;
            }
        }
        return None;
    }
}

/// Per-grammar lookup tables built once: node kind names by kind id and field
/// ids by name. `Node::kind()` measures and UTF-8-checks the C string on
/// every call and `child_by_field_name` compares field names on every call;
/// the analysers do both for almost every node, so they use these instead.
pub(crate) struct Grammar {
    language: tree_sitter::Language,
    kinds: Box<[Box<str>]>,
}

impl Grammar {
    fn new(language: tree_sitter::Language) -> Grammar {
        let kinds = (0..language.node_kind_count())
            .map(|id| {
                u16::try_from(id)
                    .ok()
                    .and_then(|id| language.node_kind_for_id(id))
                    .unwrap_or("")
                    .into()
            })
            .collect();
        Grammar { language, kinds }
    }

    /// The kind of `n`, exactly as `n.kind()` reports it.
    #[inline]
    pub(crate) fn kind<'t>(&'t self, n: tree_sitter::Node<'t>) -> &'t str {
        match self.kinds.get(usize::from(n.kind_id())) {
            Some(k) if !k.is_empty() => k,
            // `ERROR` (outside the table): rare.
            _ => n.kind(),
        }
    }

    /// The id of a field (0, which matches nothing, if the grammar has no
    /// such field).
    pub(crate) fn field(&self, name: &str) -> u16 {
        self.language
            .field_id_for_name(name)
            .map_or(0, std::num::NonZeroU16::get)
    }
}

/// Tree cursors kept for reuse: `Node::walk()` allocates a new cursor (and
/// frees it afterwards) on every call, and the walks ask for one per node.
pub(crate) struct Cursors<'t> {
    free: Vec<tree_sitter::TreeCursor<'t>>,
}

impl<'t> Cursors<'t> {
    pub(crate) fn new() -> Self {
        Cursors { free: Vec::new() }
    }

    /// A cursor positioned on `n`.
    #[inline]
    pub(crate) fn take(&mut self, n: tree_sitter::Node<'t>) -> tree_sitter::TreeCursor<'t> {
        match self.free.pop() {
            Some(mut c) => {
                c.reset(n);
                c
            }
            None => n.walk(),
        }
    }

    /// Returns a cursor for reuse.
    #[inline]
    pub(crate) fn put(&mut self, c: tree_sitter::TreeCursor<'t>) {
        self.free.push(c);
    }

    /// Appends the children of `n` (only the named ones if `named`).
    pub(crate) fn children(
        &mut self,
        n: tree_sitter::Node<'t>,
        named: bool,
        out: &mut Vec<tree_sitter::Node<'t>>,
    ) {
        let mut c = self.take(n);
        if c.goto_first_child() {
            loop {
                let ch = c.node();
                if !named || ch.is_named() {
                    out.push(ch);
                }
                if !c.goto_next_sibling() {
                    break;
                }
            }
        }
        self.put(c);
    }

    /// The children of `n` (only the named ones if `named`), collected.
    pub(crate) fn collect(
        &mut self,
        n: tree_sitter::Node<'t>,
        named: bool,
    ) -> Vec<tree_sitter::Node<'t>> {
        let mut out = Vec::new();
        self.children(n, named, &mut out);
        out
    }

    /// The children of `n` that have the field `field`, in order.
    pub(crate) fn by_field(
        &mut self,
        n: tree_sitter::Node<'t>,
        field: u16,
    ) -> Vec<tree_sitter::Node<'t>> {
        let mut out = Vec::new();
        let mut c = self.take(n);
        if field != 0 && c.goto_first_child() {
            loop {
                if c.field_id().map(std::num::NonZeroU16::get) == Some(field) {
                    out.push(c.node());
                }
                if !c.goto_next_sibling() {
                    break;
                }
            }
        }
        self.put(c);
        out
    }
}

/// A walk over a syntax tree that visits named children with a pooled cursor
/// (the three analysers share this recursion).
pub(crate) trait NamedWalk<'t> {
    fn cursors(&mut self) -> &mut Cursors<'t>;

    /// Visits one node (and, through [`NamedWalk::walk_children`], its subtree).
    fn walk(&mut self, n: tree_sitter::Node<'t>);

    /// Walks every named child of `n`. A reused cursor instead of a collected
    /// Vec: no allocation per node.
    fn walk_children(&mut self, n: tree_sitter::Node<'t>) {
        if n.child_count() == 0 {
            return;
        }
        let mut cur = self.cursors().take(n);
        if cur.goto_first_child() {
            loop {
                let ch = cur.node();
                if ch.is_named() {
                    self.walk(ch);
                }
                if !cur.goto_next_sibling() {
                    break;
                }
            }
        }
        self.cursors().put(cur);
    }
}

/// Hasher for node ids (already unique pointers): one multiplication.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(26);
    }
}

/// Results of pure evaluations over syntax nodes, keyed by node id (plus a
/// tag in the low bit: ids are pointers, so it is free).
///
/// The evaluators are pure functions of the node and of the analyser's
/// bindings (variables, imports), except for the depth limit: a computation
/// started deeper may hit [`MAX_TREE_DEPTH`] where the cached one did not.
/// So each entry remembers how deep below its start the computation went,
/// and is reused only where that stays under the limit: then the result is
/// exactly what computing it again would give. Callers clear the memo
/// whenever the bindings change.
///
/// A computation that did hit the limit (the code is already reported as
/// too deep) is reused wherever it started at least as deep: computing it
/// again there would stop at least as early, so the cached result has seen
/// at least as much. Without that, code nested past the limit
/// (`$($($(…)))`) would be evaluated again exponentially often.
pub(crate) struct Memo<V> {
    map: std::collections::HashMap<usize, Entry<V>, std::hash::BuildHasherDefault<IdHasher>>,
    /// Deepest nesting level seen by the computations being recorded.
    peak: usize,
}

struct Entry<V> {
    /// Nesting level the computation started at.
    start: usize,
    /// How far below `start` it went; `None` if it reached the limit.
    depth: Option<usize>,
    value: V,
}

impl<V: Clone> Memo<V> {
    pub(crate) fn new() -> Self {
        Memo {
            map: std::collections::HashMap::default(),
            peak: 0,
        }
    }

    pub(crate) fn clear(&mut self) {
        if !self.map.is_empty() {
            self.map.clear();
        }
    }

    /// Every depth check of an evaluator reports its level here.
    #[inline]
    pub(crate) fn touch(&mut self, nest: usize) {
        self.peak = self.peak.max(nest);
    }

    /// A cached result for `key`, if it may be reused at nesting level `nest`.
    #[inline]
    pub(crate) fn get(&mut self, key: usize, nest: usize) -> Option<V> {
        let e = self.map.get(&key)?;
        let reached = match e.depth {
            Some(depth) if nest + depth < MAX_TREE_DEPTH => nest + depth,
            None if nest >= e.start => MAX_TREE_DEPTH,
            _ => return None,
        };
        self.peak = self.peak.max(reached);
        Some(e.value.clone())
    }

    /// Starts recording a computation at nesting level `nest`; returns the
    /// state to hand to [`Memo::end`].
    #[inline]
    pub(crate) fn begin(&mut self, nest: usize) -> usize {
        std::mem::replace(&mut self.peak, nest)
    }

    /// Finishes recording: caches `v` for `key`.
    #[inline]
    pub(crate) fn end(&mut self, key: usize, nest: usize, saved: usize, v: &V) {
        let depth = (self.peak < MAX_TREE_DEPTH).then(|| self.peak - nest);
        self.map.insert(
            key,
            Entry {
                start: nest,
                depth,
                value: v.clone(),
            },
        );
        self.peak = self.peak.max(saved);
    }
}

/// The grammar tables of one language (built on first use, shared by all
/// threads).
pub(crate) fn grammar(language: Language) -> &'static Grammar {
    use std::sync::LazyLock;
    static SHELL: LazyLock<Grammar> =
        LazyLock::new(|| Grammar::new(tree_sitter_bash::LANGUAGE.into()));
    static PYTHON: LazyLock<Grammar> =
        LazyLock::new(|| Grammar::new(tree_sitter_python::LANGUAGE.into()));
    static JAVASCRIPT: LazyLock<Grammar> =
        LazyLock::new(|| Grammar::new(tree_sitter_javascript::LANGUAGE.into()));
    match language {
        Language::Shell => &SHELL,
        Language::Python => &PYTHON,
        Language::Javascript => &JAVASCRIPT,
    }
}

thread_local! {
    static PARSERS: RefCell<[Option<tree_sitter::Parser>; 3]> = const { RefCell::new([None, None, None]) };
}

/// Parses `code` with a per-thread cached parser.
pub(crate) fn parse(language: Language, code: &str) -> Option<tree_sitter::Tree> {
    let idx = match language {
        Language::Shell => 0,
        Language::Python => 1,
        Language::Javascript => 2,
    };
    PARSERS.with(|cell| {
        let mut parsers = cell.borrow_mut();
        if parsers[idx].is_none() {
            let mut p = tree_sitter::Parser::new();
            let lang: tree_sitter::Language = match language {
                Language::Shell => tree_sitter_bash::LANGUAGE.into(),
                Language::Python => tree_sitter_python::LANGUAGE.into(),
                Language::Javascript => tree_sitter_javascript::LANGUAGE.into(),
            };
            p.set_language(&lang).ok()?;
            parsers[idx] = Some(p);
        }
        let p = parsers[idx].as_mut()?;
        p.reset();
        p.parse(code, None)
    })
}

/// Where the findings being produced are placed.
#[derive(Clone, Copy)]
enum Placement {
    /// Top-level code: byte ranges map to the original text.
    Top,
    /// Nested code: everything is placed on the enclosing node.
    Fixed(Span),
}

struct RawFinding {
    rule: &'static str,
    risk: Risk,
    message: String,
    language: Language,
    span: Span,
    target: Option<String>,
}

/// Analysis context shared by the language analysers.
pub(crate) struct Ctx<'a> {
    rules: &'a Rules,
    original: &'a str,
    norm: &'a text::Normalized<'a>,
    placement: Placement,
    depth: usize,
    findings: Vec<RawFinding>,
    /// While > 0, findings below critical are being suppressed (allowed command).
    suppress: usize,
    /// Current recursion depth of the tree walks (across nested code).
    pub(crate) nest: usize,
    /// Set once shell code changed directory (`cd`, `pushd`): relative
    /// names written after it are no longer known relative to the start.
    pub(crate) changed_dir: bool,
    /// While > 0, the code being analysed runs on another host (`ssh host
    /// CMD`).
    pub(crate) remote: usize,
    /// Byte offsets where lines of `original` start (computed on first use).
    line_starts: Vec<usize>,
    /// Findings of nested code already analysed, by language, depth, tree
    /// depth and text: the same string (`bash -c '…'` in a loop, the same
    /// `subprocess.run([…])` twice) gives the same findings, only placed on
    /// another span.
    nested_seen: HashMap<NestedKey, Vec<NestedFinding>>,
    /// The syntax tree of the top-level code, freed only after the report
    /// is built: freeing its thousands of nodes first would make the
    /// report's allocations pay for merging them in the allocator.
    tree: Option<tree_sitter::Tree>,
    /// Steps left before the analysis stops (see [`WORK_BASE`]).
    budget: u64,
    /// Set once the budget has run out.
    exhausted: bool,
}

type NestedKey = (Language, usize, usize, String);

/// A finding of nested code, without its span.
#[derive(Clone)]
struct NestedFinding {
    rule: &'static str,
    risk: Risk,
    message: String,
    language: Language,
    target: Option<String>,
}

impl<'a> Ctx<'a> {
    fn new(rules: &'a Rules, original: &'a str, norm: &'a text::Normalized<'a>) -> Self {
        Ctx {
            rules,
            original,
            norm,
            placement: Placement::Top,
            depth: 0,
            findings: Vec::new(),
            suppress: 0,
            nest: 0,
            changed_dir: false,
            remote: 0,
            line_starts: Vec::new(),
            nested_seen: HashMap::new(),
            tree: None,
            budget: WORK_BASE.saturating_add(WORK_PER_BYTE.saturating_mul(original.len() as u64)),
            exhausted: false,
        }
    }

    /// Takes one step of the analysis. False once the budget has run out:
    /// the caller then stops, as it does at the depth limit.
    #[inline]
    pub(crate) fn spend(&mut self) -> bool {
        match self.budget.checked_sub(1) {
            Some(left) => {
                self.budget = left;
                true
            }
            None => {
                self.exhausted = true;
                false
            }
        }
    }

    /// Reports a budget that ran out.
    fn finish_budget(&mut self, language: Language) {
        if self.exhausted {
            self.push_at_offset(
                "input.too-complex",
                Risk::High,
                "the code is too complex to be checked completely (the analysis stopped early)"
                    .into(),
                language,
                0,
            );
        }
    }

    fn analyze_code(&mut self, language: Language, code: &str) {
        match language {
            Language::Shell => shell::analyze(self, code),
            Language::Python => python::analyze(self, code),
            Language::Javascript => javascript::analyze(self, code),
        }
    }

    /// Analyses nested code found at `range` (a byte range of the code being
    /// analysed now) in `language`; its findings are placed on `range`.
    pub(crate) fn nested(&mut self, language: Language, code: &str, range: std::ops::Range<usize>) {
        if self.depth >= MAX_DEPTH {
            self.push(
                "input.nesting-too-deep",
                Risk::High,
                "code is nested too deeply to be checked completely".into(),
                language,
                range,
            );
            return;
        }
        let span = self.span_of(range);
        // The findings depend only on the key (and the rules, which are
        // fixed for the whole analysis); every one is placed on `span`.
        let key: NestedKey = (language, self.depth, self.nest, code.to_string());
        if let Some(seen) = self.nested_seen.get(&key) {
            self.findings.extend(seen.iter().map(|f| RawFinding {
                rule: f.rule,
                risk: f.risk,
                message: f.message.clone(),
                language: f.language,
                span,
                target: f.target.clone(),
            }));
            return;
        }
        let first = self.findings.len();
        let saved = self.placement;
        let saved_suppress = self.suppress;
        self.placement = Placement::Fixed(span);
        self.suppress = 0;
        self.depth += 1;
        let cleaned = text::normalize(code);
        if cleaned.removed_count > 0 {
            self.push(
                "input.invisible-characters",
                Risk::High,
                "nested code contains invisible or text-direction characters that can hide what really runs".into(),
                language,
                0..0,
            );
        }
        self.analyze_code(language, &cleaned.text);
        self.depth -= 1;
        self.placement = saved;
        self.suppress = saved_suppress;
        let found = self.findings[first..]
            .iter()
            .map(|f| NestedFinding {
                rule: f.rule,
                risk: f.risk,
                message: f.message.clone(),
                language: f.language,
                target: f.target.clone(),
            })
            .collect();
        self.nested_seen.insert(key, found);
    }

    /// Hands over a syntax tree that is no longer used (see [`Ctx::tree`]).
    pub(crate) fn retire(&mut self, tree: tree_sitter::Tree) {
        if self.depth == 0 {
            self.tree = Some(tree);
        }
    }

    pub(crate) fn rules(&self) -> &'a Rules {
        self.rules
    }

    fn span_of(&mut self, range: std::ops::Range<usize>) -> Span {
        match self.placement {
            Placement::Fixed(span) => span,
            Placement::Top => {
                let start = self.norm.original_offset(range.start);
                let end = self.norm.original_offset(range.end.max(range.start));
                if self.line_starts.is_empty() {
                    self.line_starts.push(0);
                    self.line_starts
                        .extend(self.original.match_indices('\n').map(|(i, _)| i + 1));
                }
                let (sl, sc) = line_col_fast(self.original, &self.line_starts, start);
                let (el, ec) = line_col_fast(self.original, &self.line_starts, end);
                Span {
                    start_line: sl,
                    start_col: sc,
                    end_line: el,
                    end_col: ec,
                }
            }
        }
    }

    /// Records a finding at a byte range of the code currently analysed.
    pub(crate) fn push(
        &mut self,
        rule: &'static str,
        risk: Risk,
        message: String,
        language: Language,
        range: std::ops::Range<usize>,
    ) {
        if self.suppress > 0 && risk < Risk::Critical {
            return;
        }
        let span = self.span_of(range);
        self.findings.push(RawFinding {
            rule,
            risk,
            message,
            language,
            span,
            target: None,
        });
    }

    /// Records a [`WRITE_FILE_RULE`] finding (risk none) for a write to
    /// `target` (`None`: known only at run time).
    pub(crate) fn push_write(
        &mut self,
        target: Option<String>,
        message: String,
        language: Language,
        range: std::ops::Range<usize>,
    ) {
        // A fact about the block, not a rating: kept even for commands the
        // user allowed (their risk is unchanged by it).
        let saved = std::mem::replace(&mut self.suppress, 0);
        let before = self.findings.len();
        self.push(WRITE_FILE_RULE, Risk::None, message, language, range);
        if let Some(f) = self.findings.get_mut(before) {
            f.target = target;
        }
        self.suppress = saved;
    }

    /// Records which ordinary file (not a device, system, credential,
    /// persistence, history or log path: those have their own findings) the
    /// code writes, so that a caller can tell overwriting an existing file
    /// from creating a new one. The target is dropped (known only at run
    /// time) when the name is computed, or relative after a change of
    /// directory. Returns whether it recorded one.
    pub(crate) fn note_write(
        &mut self,
        path: &str,
        class: &paths::PathClass,
        verb: &str,
        language: Language,
        range: std::ops::Range<usize>,
    ) -> bool {
        use paths::Scope;
        let sensitive = class.history
            || class.log
            || class.privilege
            || class.persistence.is_some()
            || class.credential;
        if sensitive
            || matches!(
                class.scope,
                Scope::Special | Scope::Device | Scope::System | Scope::SystemTop | Scope::Root
            )
        {
            return false;
        }
        let relative = !path.starts_with(['/', '~']);
        let unknown = class.scope == Scope::Dynamic
            || path.is_empty()
            || path.contains(['$', '`', '*', '?', '['])
            || path.contains(paths::DYNAMIC)
            || (relative && self.changed_dir);
        let target = (!unknown).then(|| path.to_string());
        self.push_write(target, format!("{verb} {path}"), language, range);
        true
    }

    /// Records a finding at a byte offset of the *original* text.
    fn push_at_offset(
        &mut self,
        rule: &'static str,
        risk: Risk,
        message: String,
        language: Language,
        offset: usize,
    ) {
        let (l, c) = line_col(self.original, offset);
        self.findings.push(RawFinding {
            rule,
            risk,
            message,
            language,
            span: Span {
                start_line: l,
                start_col: c,
                end_line: l,
                end_col: c + 1,
            },
            target: None,
        });
    }

    /// Starts suppressing non-critical findings (an allowed command).
    pub(crate) fn begin_suppress(&mut self) {
        self.suppress += 1;
    }

    pub(crate) fn end_suppress(&mut self) {
        self.suppress = self.suppress.saturating_sub(1);
    }

    /// Checks a statically known path against the user's denied paths.
    pub(crate) fn check_denied_path(
        &mut self,
        value: &str,
        language: Language,
        range: std::ops::Range<usize>,
    ) {
        if self.rules.deny_paths.is_empty() || value.is_empty() {
            return;
        }
        // `/srv//prod`, `/tmp/../srv/prod` name `/srv/prod` too.
        let v = paths::canonical_home(value);
        let v = paths::tidy(&v);
        let mut hit = None;
        for deny in &self.rules.deny_paths {
            let d = deny.to_string_lossy();
            let d = paths::canonical_home(&d);
            let d = paths::tidy(&d);
            let d = d.trim_end_matches('/');
            if d.is_empty() {
                continue;
            }
            let v = v.trim_end_matches('/');
            if v == d || v.starts_with(&format!("{d}/")) {
                hit = Some(deny.display().to_string());
                break;
            }
        }
        if let Some(d) = hit {
            let saved = self.suppress;
            self.suppress = 0;
            self.push(
                "user.denied-path",
                Risk::Critical,
                format!("denied by your rule: path {d} (used as {value})"),
                language,
                range,
            );
            self.suppress = saved;
        }
    }

    fn into_report(self, language: Language) -> Report {
        let mut findings: Vec<Finding> = Vec::with_capacity(self.findings.len());
        for mut f in self.findings {
            f.message = paths::display_message(f.message);
            let dup = findings
                .iter()
                .any(|g| g.rule == f.rule && g.span == f.span && g.message == f.message);
            if !dup {
                findings.push(Finding {
                    rule: Cow::Borrowed(f.rule),
                    risk: f.risk,
                    message: f.message,
                    language: f.language,
                    span: f.span,
                    target: f.target,
                });
            }
        }
        sort_findings(&mut findings);
        let risk = findings.iter().map(|f| f.risk).max().unwrap_or(Risk::None);
        Report {
            risk,
            findings,
            language,
        }
    }
}

fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.risk
            .cmp(&a.risk)
            .then(a.span.start_line.cmp(&b.span.start_line))
            .then(a.span.start_col.cmp(&b.span.start_col))
    });
}

/// [`line_col`] with precomputed line starts.
fn line_col_fast(text: &str, line_starts: &[usize], offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line = line_starts.partition_point(|&s| s <= offset).max(1);
    let start = line_starts[line - 1];
    let col = text
        .get(start..offset)
        .map(|s| s.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// 1-based line and character column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The first line of `s`, shortened to 80 characters, for messages.
pub(crate) fn first_line(s: &str) -> String {
    let l = s.lines().next().unwrap_or("");
    if l.chars().count() > 80 {
        let t: String = l.chars().take(77).collect();
        format!("{t}...")
    } else {
        l.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Analyses `code` as `analyze` does, with a budget of `steps`.
    fn analyze_within(language: Language, code: &str, steps: u64) -> Report {
        let rules = Rules::default();
        let norm = text::normalize(code);
        let mut cx = Ctx::new(&rules, code, &norm);
        cx.budget = steps;
        cx.analyze_code(language, &norm.text);
        cx.finish_budget(language);
        cx.into_report(language)
    }

    #[test]
    fn analysis_stops_with_a_finding_when_the_work_budget_runs_out() {
        let cases = [
            (Language::Shell, "ls -la\n".repeat(40) + "rm -rf /\n"),
            (
                Language::Python,
                "x = 1\n".repeat(40) + "import shutil\nshutil.rmtree('/')\n",
            ),
            (
                Language::Javascript,
                "let x = 1;\n".repeat(40) + "require('fs').rmSync('/', {recursive: true});\n",
            ),
        ];
        for (lang, code) in cases {
            // With the normal budget the dangerous last line is seen...
            let full = analyze(lang, &code);
            assert_eq!(full.risk, Risk::Critical, "{lang:?}: {full:?}");
            assert!(!full.findings.iter().any(|f| f.rule == "input.too-complex"));
            // ...with a budget spent before it, the report says it stopped,
            // and the block is rated high: never auto-run below that.
            let cut = analyze_within(lang, &code, 30);
            assert!(
                cut.findings.iter().any(|f| f.rule == "input.too-complex"),
                "{lang:?}: {cut:?}"
            );
            assert_eq!(cut.risk, Risk::High, "{lang:?}: {cut:?}");
        }
    }

    #[test]
    fn guesses_language() {
        assert_eq!(
            guess_language(Some(Path::new("a.py")), ""),
            Some(Language::Python)
        );
        assert_eq!(
            guess_language(None, "#!/usr/bin/env bash\nls"),
            Some(Language::Shell)
        );
        assert_eq!(
            guess_language(None, "#!/usr/bin/env -S node --x\n"),
            Some(Language::Javascript)
        );
        assert_eq!(
            guess_language(None, "#!/usr/bin/python3\n"),
            Some(Language::Python)
        );
        assert_eq!(guess_language(Some(Path::new("x.txt")), "hello"), None);
    }

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
        assert_eq!(line_col("", 0), (1, 1));
        let t = "ab\ncé d\n";
        let starts = [0, 3, 10];
        for off in 0..t.len() {
            if t.is_char_boundary(off) {
                assert_eq!(line_col_fast(t, &starts, off), line_col(t, off), "{off}");
            }
        }
    }
}

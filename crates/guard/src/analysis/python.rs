//! Python analysis.
//!
//! Calls are resolved to qualified names through imports and aliases
//! (`import subprocess as sp`, `from os import system`), `__import__`,
//! `importlib.import_module` and `getattr` with constant names. A small
//! evaluator computes constant strings and paths (`os.path.join`,
//! `Path.home() / ".ssh"`, `os.environ["HOME"]`, base64/hex/rot13 literals)
//! and tracks where data comes from (network, decoding, files, environment,
//! user input) so that sinks like `exec`, `requests.post` or `subprocess`
//! can be judged. Literal shell commands are re-analysed with the shell rules.

use super::known_safe;
use super::{Ctx, NamedWalk, Risk, paths, text};
use interlock_protocol::Language;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;
use tree_sitter::Node;

const PY: Language = Language::Python;

struct Fields {
    alias: u16,
    alternative: u16,
    arguments: u16,
    attribute: u16,
    body: u16,
    condition: u16,
    expression: u16,
    function: u16,
    left: u16,
    module_name: u16,
    name: u16,
    object: u16,
    operator: u16,
    right: u16,
    subscript: u16,
    value: u16,
}

/// Field ids of the Python grammar.
static F: LazyLock<Fields> = LazyLock::new(|| {
    let g = super::grammar(PY);
    Fields {
        alias: g.field("alias"),
        alternative: g.field("alternative"),
        arguments: g.field("arguments"),
        attribute: g.field("attribute"),
        body: g.field("body"),
        condition: g.field("condition"),
        expression: g.field("expression"),
        function: g.field("function"),
        left: g.field("left"),
        module_name: g.field("module_name"),
        name: g.field("name"),
        object: g.field("object"),
        operator: g.field("operator"),
        right: g.field("right"),
        subscript: g.field("subscript"),
        value: g.field("value"),
    }
});

/// `n.kind()`, through the kind table.
#[inline]
fn kind(n: Node<'_>) -> &str {
    super::grammar(PY).kind(n)
}

const T_DOWNLOAD: u16 = 1;
const T_DECODE: u16 = 2;
const T_INPUT: u16 = 4;
const T_FILE: u16 = 8;
const T_ENV: u16 = 16;
const T_CRED: u16 = 32;
const T_SOCKET: u16 = 64;
/// Data received from a socket.
const T_NET: u16 = 128;
/// Values whose content is hidden or comes from elsewhere: code built from
/// them is never given the benefit of the doubt.
const HIDDEN_TAINT: u16 = T_DOWNLOAD | T_DECODE | T_CRED | T_SOCKET | T_NET;

#[derive(Debug, Clone, Default)]
struct Val {
    /// Statically known string value.
    text: Option<String>,
    taint: u16,
    /// The value is a module (or a module attribute), e.g. `__import__("os")`.
    module: Option<String>,
    /// Resolved through an indirection (`getattr`, `__import__`, …).
    indirect: bool,
    /// An open file handle: the path.
    file: Option<String>,
    /// When `text` is unknown but some of it is not: the string with
    /// [`paths::DYNAMIC`] for the run-time parts (`"/etc/" + name`).
    shape: Option<String>,
    /// Read from a file downloaded earlier in the block: where (see
    /// [`Download`]).
    downloaded: Option<usize>,
}

impl Val {
    fn text(s: impl Into<String>) -> Val {
        Val {
            text: Some(s.into()),
            ..Val::default()
        }
    }
    fn taint(t: u16) -> Val {
        Val {
            taint: t,
            ..Val::default()
        }
    }
    /// The value as a path: known text, or its shape with run-time holes.
    fn path(&self) -> Option<&str> {
        self.text.as_deref().or(self.shape.as_deref())
    }
}

#[derive(Default)]
struct Facts {
    socket: Option<Range<usize>>,
    dup2: bool,
    pty_spawn: bool,
    shell_on_fd: bool,
    network: bool,
    reported_reverse: bool,
}

/// What [`Py::eval`] and [`Py::resolve`] computed for a node.
#[derive(Clone)]
enum Cached {
    Val(Val),
    Resolved(Option<(String, bool)>),
}

struct Py<'c, 'a, 't> {
    cx: &'c mut Ctx<'a>,
    cursors: super::Cursors<'t>,
    /// Evaluations done since the bindings last changed (calls are evaluated
    /// again by every enclosing call and assignment).
    memo: super::Memo<Cached>,
    src: &'c str,
    aliases: HashMap<String, String>,
    star_modules: Vec<String>,
    vars: HashMap<String, Val>,
    facts: Facts,
    loop_true_depth: usize,
    /// How many more times loop bodies may be analysed again, once per
    /// value of their loop variable.
    loop_budget: usize,
    /// A sensitive directory the code changed into (`os.chdir("/etc")`):
    /// relative paths are also rated under it.
    cwd: Option<String>,
    too_deep: bool,
    /// Files written with downloaded content so far (download-then-run
    /// across statements).
    downloads: super::Downloads,
    /// Modules and calls the known-safe gate already reported.
    gated: Vec<String>,
    /// The block put a workspace directory on `sys.path`: its other
    /// imports may be the project's own code.
    local_imports: bool,
}

pub(crate) fn analyze(cx: &mut Ctx, code: &str) {
    let Some(tree) = super::parse(PY, code) else {
        cx.push(
            "input.unparsable",
            Risk::Medium,
            "the Python code could not be parsed, so it could not be checked".into(),
            PY,
            0..code.len(),
        );
        return;
    };
    let root = tree.root_node();
    let mut py = Py {
        cx: &mut *cx,
        cursors: super::Cursors::new(),
        memo: super::Memo::new(),
        src: code,
        aliases: HashMap::new(),
        star_modules: Vec::new(),
        vars: HashMap::new(),
        facts: Facts::default(),
        loop_true_depth: 0,
        loop_budget: super::LOOP_BUDGET,
        cwd: None,
        too_deep: false,
        downloads: super::Downloads::default(),
        gated: Vec::new(),
        local_imports: false,
    };
    if root.has_error() {
        let at = super::first_error(root)
            .map(|n| n.byte_range())
            .unwrap_or(0..0);
        py.cx.push(
            "input.parse-error",
            Risk::Medium,
            "part of the Python code could not be parsed, so it may not have been fully checked"
                .into(),
            PY,
            at,
        );
    }
    py.walk(root);
    py.finish();
    if py.too_deep {
        py.cx.push(
            "input.too-deep",
            Risk::High,
            "the code is nested too deeply to be checked completely".into(),
            PY,
            0..0,
        );
    }
    drop(py);
    cx.retire(tree);
}

const SHELL_STRING_CALLS: &[&str] = &[
    "os.system",
    "os.popen",
    "os.popen2",
    "os.popen3",
    "os.popen4",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "commands.getoutput",
    "commands.getstatusoutput",
    "asyncio.create_subprocess_shell",
    "platform.popen",
    // The C library's, through ctypes (see `eval_call`).
    "libc.system",
    "libc.popen",
];

const ARGV_CALLS: &[&str] = &[
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.Popen",
    "pty.spawn",
];

const DESERIALIZE: &[&str] = &[
    "pickle.load",
    "pickle.loads",
    "pickle.Unpickler",
    "cPickle.load",
    "cPickle.loads",
    "_pickle.load",
    "_pickle.loads",
    "dill.load",
    "dill.loads",
    "joblib.load",
    "marshal.load",
    "marshal.loads",
    "shelve.open",
    "yaml.unsafe_load",
    "yaml.full_load",
    "yaml.load_all",
    "jsonpickle.decode",
    "torch.load",
    "pandas.read_pickle",
    "cloudpickle.load",
    "cloudpickle.loads",
];

const NET_MODULES: &[&str] = &[
    "requests",
    "httpx",
    "urllib.request",
    "urllib3",
    "aiohttp",
    "http.client",
    "ftplib",
    "smtplib",
    "socket",
    "paramiko",
    "telnetlib",
    "websocket",
    "websockets",
    "socketserver",
    "http.server",
    "xmlrpc.client",
    "pycurl",
    "asyncio.open_connection",
    "asyncssh",
];

/// `fmt % args` for printf-style formats: the text when every argument a
/// conversion takes is known, otherwise the shape with run-time parts marked.
fn percent_format(fmt: &str, args: &[Val], taint: u16) -> Val {
    let mut out = String::new();
    let mut known = true;
    let mut next = args.iter();
    let mut taint = taint;
    let mut rest = fmt;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('%') {
            out.push('%');
            rest = r;
            continue;
        }
        // Flags, width, precision, then the conversion character.
        let spec_end = rest
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let keyed = rest[..spec_end].starts_with('(');
        rest = rest.get(spec_end + 1..).unwrap_or("");
        match next.next().filter(|_| !keyed) {
            Some(v) => {
                taint |= v.taint;
                match v.path() {
                    Some(t) => out.push_str(t),
                    None => out.push_str(paths::DYNAMIC),
                }
                known &= v.text.is_some();
            }
            None => {
                out.push_str(paths::DYNAMIC);
                known = false;
            }
        }
        if out.len() > 4096 {
            return Val::taint(taint);
        }
    }
    out.push_str(rest);
    if known {
        Val {
            text: Some(out),
            taint,
            ..Val::default()
        }
    } else {
        Val {
            shape: Some(out),
            taint,
            ..Val::default()
        }
    }
}

fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "eval"
            | "exec"
            | "compile"
            | "open"
            | "__import__"
            | "getattr"
            | "input"
            | "print"
            | "str"
            | "bytes"
            | "dict"
            | "list"
            | "len"
            | "globals"
            | "locals"
            | "vars"
            | "setattr"
            | "breakpoint"
    )
}

/// The module a name really refers to, when it is a known other name for
/// it: `posix`/`nt` are what `os` re-exports, `_socket` is `socket`, and a
/// vendored copy (`pip._vendor.requests`) is the package itself. `None` when
/// `q` is already canonical.
fn canonical_module(q: &str) -> Option<String> {
    let unvendored = q.rfind("._vendor.").map(|i| &q[i + "._vendor.".len()..]);
    let base = unvendored.unwrap_or(q);
    let (top, rest) = match base.split_once('.') {
        Some((t, r)) => (t, Some(r)),
        None => (base, None),
    };
    let top_canon = match top {
        "posix" | "nt" => "os",
        "posixpath" | "ntpath" => "os.path",
        "_socket" => "socket",
        "subprocess32" => "subprocess",
        _ if unvendored.is_some() => top,
        _ => return None,
    };
    Some(match rest {
        Some(r) => format!("{top_canon}.{r}"),
        None => top_canon.to_string(),
    })
}

/// [`canonical_module`], or `q` itself.
fn canonical(q: String) -> String {
    canonical_module(&q).unwrap_or(q)
}

/// Members a star import (`from socket import *`) brings in that matter
/// here: a bare name resolves to `module.name` only for these modules, whose
/// every public function is worth tracking.
fn star_member(module: &str, name: &str) -> bool {
    match module {
        "socket" => matches!(
            name,
            "socket" | "create_connection" | "socketpair" | "fromfd"
        ),
        "os" => {
            matches!(
                name,
                "system"
                    | "popen"
                    | "remove"
                    | "unlink"
                    | "rmdir"
                    | "removedirs"
                    | "dup2"
                    | "fork"
                    | "forkpty"
                    | "chmod"
                    | "chown"
                    | "putenv"
                    | "setuid"
                    | "setgid"
                    | "walk"
                    | "listdir"
                    | "scandir"
                    | "rename"
                    | "replace"
                    | "symlink"
            ) || name.starts_with("exec")
                || name.starts_with("spawn")
                || name.starts_with("posix_spawn")
        }
        "subprocess" | "shutil" | "pty" => !name.starts_with('_'),
        _ => false,
    }
}

/// A string node with no interpolation: `string_start`, at most one
/// `string_content` and `string_end`.
fn plain_string(n: Node<'_>) -> bool {
    match n.child_count() {
        2 => true,
        3 => n.child(1).is_some_and(|c| kind(c) == "string_content"),
        _ => false,
    }
}

fn join_path(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        if p.starts_with('/') || out.is_empty() {
            out = p.clone();
        } else if out.ends_with('/') {
            out.push_str(p);
        } else {
            out.push('/');
            out.push_str(p);
        }
    }
    out
}

/// Marks where a path stands for every file found below a directory
/// (`os.walk`, `rglob`, `glob('…/**')`): `ROOT/<found>[/FILTER]`, the form
/// [`paths::deletion_risk`] also knows from `find ROOT … -delete`.
const FOUND: &str = "<found>";

/// The shape of what walking `root` finds, optionally filtered by a name
/// pattern (`*.pyc`; empty or `*` is everything).
fn found_shape(root: &str, pattern: &str) -> String {
    let root = if root.is_empty() { "." } else { root };
    let mut out = join_path(&[root.to_string(), FOUND.to_string()]);
    if !pattern.is_empty() {
        out.push('/');
        out.push_str(pattern);
    }
    out
}

/// A glob pattern with a `**` component (`~/**`, `dist/**/*.whl`): the
/// files found below the part before it, as [`found_shape`].
fn recursive_glob(p: &str) -> Option<String> {
    let i = p.split('/').position(|c| c.contains("**"))?;
    let parts: Vec<&str> = p.split('/').collect();
    let root = if i == 0 {
        "."
    } else if i == 1 && parts[0].is_empty() {
        "/"
    } else {
        &p[..parts[..i].iter().map(|c| c.len() + 1).sum::<usize>() - 1]
    };
    let rest = parts[i + 1..].join("/");
    Some(found_shape(root, &rest))
}

/// `fmt.format(*pos, **kw)` for the forms `{}`, `{0}` and `{name}`: the
/// text when every argument used is known, else the shape (run-time parts
/// as [`paths::DYNAMIC`]). `None` for format specs, conversions and field
/// lookups, which this does not model.
fn format_string(
    fmt: &str,
    pos: &[Val],
    kw: &[(&str, Val)],
) -> Option<(Option<String>, Option<String>)> {
    let mut text = String::new();
    let mut shape = String::new();
    let mut known = true;
    let mut auto = 0usize;
    let mut chars = fmt.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().is_some_and(|&(_, d)| d == '{') => {
                chars.next();
                text.push('{');
                shape.push('{');
            }
            '}' if chars.peek().is_some_and(|&(_, d)| d == '}') => {
                chars.next();
                text.push('}');
                shape.push('}');
            }
            '{' => {
                let end = fmt[i..].find('}')? + i;
                let field = &fmt[i + 1..end];
                while chars.peek().is_some_and(|&(j, _)| j <= end) {
                    chars.next();
                }
                let v = if field.is_empty() {
                    auto += 1;
                    pos.get(auto - 1)?
                } else if let Ok(k) = field.parse::<usize>() {
                    pos.get(k)?
                } else if field.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    &kw.iter().find(|(k, _)| *k == field)?.1
                } else {
                    return None;
                };
                match &v.text {
                    Some(t) => text.push_str(t),
                    None => known = false,
                }
                shape.push_str(v.path().unwrap_or(paths::DYNAMIC));
            }
            '}' => return None,
            c => {
                text.push(c);
                shape.push(c);
            }
        }
        if shape.len() > 4096 {
            return None;
        }
    }
    Some(if known {
        (Some(text), None)
    } else {
        (None, Some(shape))
    })
}

impl<'t> NamedWalk<'t> for Py<'_, '_, 't> {
    fn cursors(&mut self) -> &mut super::Cursors<'t> {
        &mut self.cursors
    }

    fn walk(&mut self, n: Node<'t>) {
        Py::walk(self, n)
    }
}

impl<'c, 'a, 't> Py<'c, 'a, 't> {
    fn text(&self, n: Node<'t>) -> &'c str {
        self.src.get(n.byte_range()).unwrap_or("")
    }

    fn push(&mut self, rule: &'static str, risk: Risk, msg: String, range: Range<usize>) {
        self.cx.push(rule, risk, msg, PY, range);
    }

    /// Binds a variable (cached evaluations may depend on it).
    fn set_var(&mut self, name: String, v: Val) {
        self.vars.insert(name, v);
        self.memo.clear();
    }

    /// Binds an import alias (cached evaluations may depend on it).
    fn set_alias(&mut self, name: String, module: String) {
        self.aliases.insert(name, canonical(module));
        self.memo.clear();
    }

    // -----------------------------------------------------------------
    // Walk
    // -----------------------------------------------------------------

    fn walk(&mut self, n: Node<'t>) {
        if self.cx.nest >= super::MAX_TREE_DEPTH {
            self.too_deep = true;
            return;
        }
        if !self.cx.spend() {
            return;
        }
        self.cx.nest += 1;
        self.walk_inner(n);
        self.cx.nest -= 1;
    }

    fn walk_inner(&mut self, n: Node<'t>) {
        match kind(n) {
            // A string without interpolations holds nothing to check: skip
            // its tokens (noting, as walking them would, a depth overflow).
            "string" if !n.has_error() && plain_string(n) => {
                let nest = self.cx.nest;
                if nest >= super::MAX_TREE_DEPTH
                    || (nest + 1 >= super::MAX_TREE_DEPTH
                        && n.child(1).is_some_and(|c| c.named_child_count() > 0))
                {
                    self.too_deep = true;
                }
            }
            "import_statement" => self.import(n),
            "import_from_statement" => self.import_from(n),
            "assignment" => {
                self.walk_children(n);
                self.assignment(n);
            }
            "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression" => self.comprehension(n),
            "for_statement" => {
                let body = n.child_by_field_id(F.body);
                let mut unrolled = false;
                if let (Some(left), Some(right)) =
                    (n.child_by_field_id(F.left), n.child_by_field_id(F.right))
                {
                    self.walk(right);
                    if let Some(body) = body {
                        unrolled = self.unroll_loop(left, right, body);
                    }
                    if !unrolled {
                        self.bind_loop(left, right);
                    }
                }
                if let Some(body) = body
                    && !unrolled
                {
                    self.walk(body);
                }
                if let Some(alt) = n.child_by_field_id(F.alternative) {
                    self.walk(alt);
                }
            }
            "while_statement" => {
                let infinite = n
                    .child_by_field_id(F.condition)
                    .is_some_and(|c| matches!(self.text(c), "True" | "1"));
                if infinite {
                    self.loop_true_depth += 1;
                }
                self.walk_children(n);
                if infinite {
                    self.loop_true_depth -= 1;
                }
            }
            "with_statement" => {
                // Bound first: the body uses the handles (`f.write(…)`).
                self.bind_with(n);
                self.walk_children(n);
            }
            "call" => {
                self.walk_children(n);
                self.call(n);
            }
            "identifier" => {
                // `eval` / `exec` passed around as a value.
                if matches!(self.text(n), "eval" | "exec")
                    && let Some(p) = n.parent()
                    && kind(p) == "argument_list"
                {
                    self.push(
                        "exec.dynamic-code",
                        Risk::Medium,
                        format!(
                            "passes {} as a function: runs code built at run time",
                            self.text(n)
                        ),
                        n.byte_range(),
                    );
                }
            }
            _ => self.walk_children(n),
        }
    }

    fn finish(&mut self) {
        if let Some(r) = self.facts.socket.clone()
            && (self.facts.dup2 || self.facts.pty_spawn || self.facts.shell_on_fd)
            && !self.facts.reported_reverse
        {
            self.push(
                "python.reverse-shell",
                Risk::Critical,
                "connects a socket to a shell's input and output (a reverse shell: someone else gets control of this machine)".into(),
                r,
            );
        }
    }

    /// The known-safe gate for one import (see `known_safe::py_module`).
    fn gate_module(&mut self, module: &str, range: &Range<usize>) {
        let Err(why) = known_safe::py_module(module) else {
            return;
        };
        let unknown = why.ends_with("not known to be safe");
        // The project's own packages, put on the path by the block itself.
        if (unknown && self.local_imports) || self.gated.iter().any(|g| g == module) {
            return;
        }
        self.gated.push(module.to_string());
        self.push("python.not-known-safe", Risk::Medium, why, range.clone());
    }

    /// A name imported from a safe module: only a never-safe submodule
    /// (`multiprocessing.connection`) is reported.
    fn gate_submodule(&mut self, full: &str, range: Range<usize>) {
        if known_safe::py_module(full).is_err_and(|why| !why.ends_with("not known to be safe")) {
            self.gate_module(full, &range);
        }
    }

    fn note_module(&mut self, module: &str, range: Range<usize>) {
        self.gate_module(module, &range);
        if !self.downloads.is_empty()
            && let Some(i) = self
                .downloads
                .find(&format!("{}.py", module.replace('.', "/")))
        {
            self.download_run(i, "import", &range);
        }
        let top = module.split('.').next().unwrap_or(module);
        if matches!(top, "ctypes" | "cffi" | "_ctypes") {
            self.push(
                "python.native-code",
                Risk::Medium,
                format!("imports {top}: calls native code directly, outside Python's checks"),
                range.clone(),
            );
        }
        if matches!(
            top,
            "browser_cookie3" | "win32crypt" | "keyring" | "secretstorage" | "pycookiecheat"
        ) {
            self.push(
                "cred.keyring",
                Risk::High,
                format!("imports {top}, which reads saved passwords, keys or browser cookies"),
                range,
            );
        }
    }

    fn import(&mut self, n: Node<'t>) {
        let names = self.cursors.by_field(n, F.name);
        for name in names {
            match kind(name) {
                "dotted_name" => {
                    let full = self.text(name).to_string();
                    let top = full.split('.').next().unwrap_or(&full).to_string();
                    self.set_alias(top.clone(), top);
                    self.note_module(&full, n.byte_range());
                }
                "aliased_import" => {
                    if let (Some(m), Some(a)) = (
                        name.child_by_field_id(F.name),
                        name.child_by_field_id(F.alias),
                    ) {
                        let m = self.text(m).to_string();
                        self.note_module(&m, n.byte_range());
                        self.set_alias(self.text(a).to_string(), m);
                    }
                }
                _ => {}
            }
        }
    }

    fn import_from(&mut self, n: Node<'t>) {
        let Some(module) = n.child_by_field_id(F.module_name) else {
            return;
        };
        let module = self.text(module).to_string();
        self.note_module(&module, n.byte_range());
        let mut any = false;
        let names = self.cursors.by_field(n, F.name);
        for name in names {
            any = true;
            match kind(name) {
                "dotted_name" => {
                    let t = self.text(name).to_string();
                    // `from multiprocessing import connection`.
                    if known_safe::py_module(&module).is_ok() {
                        self.gate_submodule(&format!("{module}.{t}"), n.byte_range());
                    }
                    self.set_alias(t.clone(), format!("{module}.{t}"));
                }
                "aliased_import" => {
                    if let (Some(m), Some(a)) = (
                        name.child_by_field_id(F.name),
                        name.child_by_field_id(F.alias),
                    ) {
                        let m = self.text(m).to_string();
                        if known_safe::py_module(&module).is_ok() {
                            self.gate_submodule(&format!("{module}.{m}"), n.byte_range());
                        }
                        self.set_alias(self.text(a).to_string(), format!("{module}.{m}"));
                    }
                }
                _ => {}
            }
        }
        if !any {
            self.star_modules.push(canonical(module));
            self.memo.clear();
        }
    }

    fn assignment(&mut self, n: Node<'t>) {
        let (Some(left), Some(right)) = (n.child_by_field_id(F.left), n.child_by_field_id(F.right))
        else {
            return;
        };
        // `a, b = os.system, os.popen`: each name gets its own value.
        if matches!(kind(left), "pattern_list" | "tuple_pattern")
            && matches!(kind(right), "expression_list" | "tuple")
        {
            let names = self.cursors.collect(left, true);
            let values = self.cursors.collect(right, true);
            if names.len() == values.len() {
                for (name, value) in names.into_iter().zip(values) {
                    if kind(name) == "identifier" {
                        self.bind_name(name, value);
                    }
                }
                return;
            }
        }
        let v = self.eval(right);
        match kind(left) {
            "identifier" => self.bind_name_to(left, right, v),
            "attribute" => {
                // `self.run = os.system`: `self.run(…)` is then os.system.
                let target = self.text(left);
                if target.len() < 200
                    && target
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
                    && let Some((q, _)) = self.member_alias(right)
                {
                    self.set_alias(target.to_string(), q);
                }
            }
            "subscript" => {
                // os.environ["LD_PRELOAD"] = …
                if let (Some(obj), Some(key)) = (
                    left.child_by_field_id(F.value),
                    left.child_by_field_id(F.subscript),
                ) && self.qualify_expr(obj).as_deref() == Some("os.environ")
                    && let Some(k) = self.eval(key).text
                {
                    self.env_set(&k, n.byte_range());
                }
            }
            "pattern_list" | "tuple_pattern" => {
                let names = self.cursors.collect(left, true);
                for name in names {
                    if kind(name) == "identifier" {
                        self.set_var(self.text(name).to_string(), Val::taint(v.taint));
                    }
                }
            }
            _ => {}
        }
    }

    /// `name = value` for one identifier.
    fn bind_name(&mut self, name: Node<'t>, value: Node<'t>) {
        let v = self.eval(value);
        self.bind_name_to(name, value, v);
    }

    /// Binds `name` to `v`, the value of `value`; `f = os.system` makes
    /// `f(…)` a call of os.system.
    fn bind_name_to(&mut self, name: Node<'t>, value: Node<'t>, mut v: Val) {
        if v.module.is_none()
            && v.text.is_none()
            && let Some((q, ind)) = self.member_alias(value)
        {
            v.module = Some(q);
            v.indirect |= ind;
        }
        self.set_var(self.text(name).to_string(), v);
    }

    /// The qualified name `right` stands for when it names a module member
    /// (`os.system`, `__import__('os').system`, a star-imported `system`) or a
    /// code-running builtin (`exec`); `None` for anything else, so that
    /// `x = obj.attr` on ordinary objects binds nothing.
    fn member_alias(&mut self, right: Node<'t>) -> Option<(String, bool)> {
        match kind(right) {
            "identifier" => {
                let t = self.text(right);
                if self.vars.contains_key(t) {
                    // `eval` already copied what the variable holds.
                    return None;
                }
                let (q, ind) = self.resolve(right)?;
                (q != t || is_sensitive(t)).then_some((q, ind))
            }
            "attribute" => {
                let mut root = right;
                while kind(root) == "attribute" {
                    root = root.child_by_field_id(F.object)?;
                }
                if kind(root) == "identifier" {
                    let t = self.text(root);
                    let known = match self.vars.get(t) {
                        Some(v) => v.module.is_some(),
                        None => {
                            self.aliases.contains_key(t)
                                || self.resolve(root).is_some_and(|(q, _)| q != t)
                        }
                    };
                    if !known {
                        return None;
                    }
                }
                // Other roots (`__import__('os')`, `sys.modules['os']`)
                // resolve only through a module value.
                self.resolve(right)
            }
            _ => None,
        }
    }

    fn env_set(&mut self, key: &str, range: Range<usize>) {
        if matches!(key, "LD_PRELOAD" | "LD_AUDIT" | "DYLD_INSERT_LIBRARIES") {
            self.push(
                "persist.ld-preload",
                Risk::High,
                format!("sets {key}, which injects a library into every program started from here"),
                range,
            );
        }
    }

    /// `[os.remove(p) for p in glob.glob('/etc/*')]`: the loop variables are
    /// bound as a `for` statement binds them, for the comprehension only.
    fn comprehension(&mut self, n: Node<'t>) {
        let kids = self.cursors.collect(n, true);
        let mut saved: Vec<(String, Option<Val>)> = Vec::new();
        for k in &kids {
            if kind(*k) != "for_in_clause" {
                continue;
            }
            let (Some(left), Some(right)) =
                (k.child_by_field_id(F.left), k.child_by_field_id(F.right))
            else {
                continue;
            };
            self.walk(right);
            let mut names = vec![left];
            if kind(left) != "identifier" {
                names = self.cursors.collect(left, true);
            }
            for t in names {
                if kind(t) == "identifier" {
                    let name = self.text(t).to_string();
                    let old = self.vars.get(&name).cloned();
                    saved.push((name, old));
                }
            }
            self.bind_loop(left, right);
        }
        for k in kids {
            if kind(k) != "for_in_clause" {
                self.walk(k);
            }
        }
        // Python 3 keeps comprehension variables local: restore the outer ones.
        for (name, old) in saved.into_iter().rev() {
            match old {
                Some(v) => self.set_var(name, v),
                None => {
                    self.vars.remove(&name);
                    self.memo.clear();
                }
            }
        }
    }

    /// `for name in ["numpy", "pandas"]:` — a loop over a literal list of
    /// known strings: the body is analysed once per value (within
    /// [`super::LOOP_BUDGET`]), as the shell does, so `import_module(name)`
    /// or `rmtree(name)` is checked with each real value. `false` when the
    /// loop is not of that form (the caller binds and walks as usual).
    fn unroll_loop(&mut self, left: Node<'t>, right: Node<'t>, body: Node<'t>) -> bool {
        if kind(left) != "identifier" || !matches!(kind(right), "list" | "tuple" | "set") {
            return false;
        }
        let elems = self.cursors.collect(right, true);
        let unroll = elems.len().saturating_sub(1);
        if elems.is_empty() || elems.len() > super::MAX_LOOP_VALUES || unroll > self.loop_budget {
            return false;
        }
        let mut values = Vec::with_capacity(elems.len());
        for e in elems {
            let v = self.eval(e);
            if v.text.is_none() || v.taint != 0 {
                return false;
            }
            values.push(v);
        }
        self.loop_budget -= unroll;
        let name = self.text(left).to_string();
        for v in values {
            self.set_var(name.clone(), v);
            self.walk(body);
        }
        true
    }

    fn bind_loop(&mut self, left: Node<'t>, right: Node<'t>) {
        let mut targets: Vec<Node<'t>> = Vec::new();
        if kind(left) == "identifier" {
            targets.push(left);
        } else {
            self.cursors.children(left, true, &mut targets);
            targets.retain(|x| kind(*x) == "identifier");
        }
        let mut values: Vec<Option<String>> = vec![None; targets.len()];
        if kind(right) == "call"
            && let Some(f) = right.child_by_field_id(F.function)
        {
            let q = self.qualify_expr(f).unwrap_or_default();
            let arg0 = right
                .child_by_field_id(F.arguments)
                .and_then(|a| a.named_child(0))
                .map(|a| self.eval(a).text)
                .unwrap_or(None);
            let method_obj = if kind(f) == "attribute" {
                f.child_by_field_id(F.object)
                    .and_then(|o| self.eval(o).text)
            } else {
                None
            };
            let attr = if kind(f) == "attribute" {
                f.child_by_field_id(F.attribute)
                    .map(|a| self.text(a).to_string())
            } else {
                None
            };
            match q.as_str() {
                "os.walk" => {
                    // The directory variable is every directory below the
                    // root: `ROOT/<found>` (see `found_deletion`).
                    let base = arg0.unwrap_or_else(|| ".".into());
                    for (i, v) in values.iter_mut().enumerate() {
                        *v = Some(if i == 0 {
                            found_shape(&base, "")
                        } else {
                            "*".into()
                        });
                    }
                }
                "glob.glob" | "glob.iglob" => {
                    if let Some(v) = values.first_mut() {
                        *v = arg0.map(|p| recursive_glob(&p).unwrap_or(p));
                    }
                }
                "os.listdir" | "os.scandir" => {
                    if let Some(v) = values.first_mut() {
                        *v = Some("*".into());
                    }
                }
                _ => {
                    if let (Some(obj), Some(attr)) = (method_obj, attr) {
                        let v = match attr.as_str() {
                            "rglob" => Some(found_shape(&obj, &arg0.unwrap_or_default())),
                            "glob" => {
                                let p = join_path(&[obj, arg0.unwrap_or_else(|| "*".into())]);
                                Some(recursive_glob(&p).unwrap_or(p))
                            }
                            "iterdir" => Some(join_path(&[obj, "*".into()])),
                            _ => None,
                        };
                        if let Some(first) = values.first_mut() {
                            *first = v;
                        }
                    }
                }
            }
        }
        if kind(right) == "identifier"
            && let Some(t) = self.vars.get(self.text(right)).and_then(|v| v.text.clone())
            && let Some(first) = values.first_mut()
        {
            *first = Some(t);
        }
        for (t, v) in targets.iter().zip(values) {
            let name = self.text(*t).to_string();
            match v {
                // Found files are not a literal path: a shape only.
                Some(s) if s.contains(FOUND) => self.set_var(
                    name,
                    Val {
                        shape: Some(s),
                        ..Val::default()
                    },
                ),
                Some(s) => self.set_var(name, Val::text(s)),
                None => self.set_var(name, Val::default()),
            };
        }
    }

    fn bind_with(&mut self, n: Node<'t>) {
        // with open(p) as f:  → f is a file handle.
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            if kind(x) == "as_pattern" {
                let value = x.named_child(0);
                let alias = x
                    .child_by_field_id(F.alias)
                    .and_then(|a| a.named_child(0).or(Some(a)));
                if let (Some(v), Some(a)) = (value, alias)
                    && kind(a) == "identifier"
                {
                    let val = self.eval(v);
                    self.set_var(self.text(a).to_string(), val);
                }
                continue;
            }
            if kind(x) == "block" {
                continue;
            }
            self.cursors.children(x, true, &mut stack);
        }
    }

    // -----------------------------------------------------------------
    // Evaluation
    // -----------------------------------------------------------------

    /// Qualified name of an expression naming a module attribute, if known.
    fn qualify_expr(&mut self, n: Node<'t>) -> Option<String> {
        self.resolve(n).map(|(q, _)| q)
    }

    /// Resolves a callee to a qualified name, and whether it went through an
    /// indirection.
    fn resolve(&mut self, n: Node<'t>) -> Option<(String, bool)> {
        let nest = self.cx.nest;
        self.memo.touch(nest);
        if nest >= super::MAX_TREE_DEPTH {
            self.too_deep = true;
            return None;
        }
        if !self.cx.spend() {
            return None;
        }
        if kind(n) == "identifier" {
            self.cx.nest += 1;
            let out = self.resolve_inner(n);
            self.cx.nest -= 1;
            return out;
        }
        let key = (n.id() << 1) | 1;
        if let Some(Cached::Resolved(r)) = self.memo.get(key, nest) {
            return r;
        }
        let saved = self.memo.begin(nest);
        self.cx.nest += 1;
        let out = self.resolve_inner(n);
        self.cx.nest -= 1;
        self.memo
            .end(key, nest, saved, &Cached::Resolved(out.clone()));
        out
    }

    fn resolve_inner(&mut self, n: Node<'t>) -> Option<(String, bool)> {
        match kind(n) {
            "identifier" => {
                let t = self.text(n);
                if let Some(q) = self.aliases.get(t) {
                    return Some((q.clone(), false));
                }
                if let Some(v) = self.vars.get(t) {
                    if let Some(m) = &v.module {
                        return Some((m.clone(), v.indirect));
                    }
                    return None;
                }
                if !is_builtin(t) {
                    for m in &self.star_modules {
                        if star_member(m, t) {
                            return Some((format!("{m}.{t}"), false));
                        }
                        let q = format!("{m}.{t}");
                        if SHELL_STRING_CALLS.contains(&q.as_str())
                            || ARGV_CALLS.contains(&q.as_str())
                            || DESERIALIZE.contains(&q.as_str())
                        {
                            return Some((q, false));
                        }
                    }
                }
                Some((t.to_string(), false))
            }
            "attribute" => {
                // `self.run = os.system` bound the whole dotted name.
                if !self.aliases.is_empty()
                    && let Some(q) = self.aliases.get(self.text(n))
                {
                    return Some((q.clone(), false));
                }
                let obj = n.child_by_field_id(F.object)?;
                let attr = self.text(n.child_by_field_id(F.attribute)?).to_string();
                if matches!(kind(obj), "identifier" | "attribute") {
                    let (base, ind) = self.resolve(obj)?;
                    // `pip._vendor.requests` is `requests`.
                    if base == "_vendor" || base.ends_with("._vendor") {
                        return Some((canonical(attr), ind));
                    }
                    return Some((format!("{base}.{attr}"), ind));
                }
                let v = self.eval(obj);
                let m = v.module?;
                Some((format!("{m}.{attr}"), true))
            }
            "call" | "subscript" => {
                let v = self.eval(n);
                v.module.map(|m| (m, true))
            }
            "parenthesized_expression" => self.resolve(n.named_child(0)?),
            _ => None,
        }
    }

    fn eval(&mut self, n: Node<'t>) -> Val {
        let nest = self.cx.nest;
        self.memo.touch(nest);
        if nest >= super::MAX_TREE_DEPTH {
            self.too_deep = true;
            return Val::default();
        }
        if !self.cx.spend() {
            return Val::default();
        }
        // Only composite expressions are worth caching (literals and names
        // are cheaper to evaluate again than to look up).
        let cache = matches!(
            kind(n),
            "call"
                | "attribute"
                | "subscript"
                | "binary_operator"
                | "concatenated_string"
                | "list"
                | "tuple"
                | "dictionary"
                | "argument_list"
        );
        if !cache {
            self.cx.nest += 1;
            let out = self.eval_inner(n);
            self.cx.nest -= 1;
            return out;
        }
        let key = n.id() << 1;
        if let Some(Cached::Val(v)) = self.memo.get(key, nest) {
            return v;
        }
        let saved = self.memo.begin(nest);
        self.cx.nest += 1;
        let out = self.eval_inner(n);
        self.cx.nest -= 1;
        self.memo.end(key, nest, saved, &Cached::Val(out.clone()));
        out
    }

    fn eval_inner(&mut self, n: Node<'t>) -> Val {
        match kind(n) {
            "string" => self.eval_string(n),
            "concatenated_string" => {
                let mut taint = 0;
                let parts = self.cursors.collect(n, true);
                let vals: Vec<Val> = parts.into_iter().map(|p| self.eval(p)).collect();
                let mut out = Some(String::new());
                for v in &vals {
                    taint |= v.taint;
                    out = match (out, &v.text) {
                        (Some(mut a), Some(b)) => {
                            a.push_str(b);
                            Some(a)
                        }
                        _ => None,
                    };
                }
                let shape = if out.is_none() {
                    paths::shape_of(vals.iter().map(Val::path), "")
                } else {
                    None
                };
                Val {
                    text: out,
                    taint,
                    shape,
                    ..Val::default()
                }
            }
            "binary_operator" => {
                let (Some(l), Some(r)) =
                    (n.child_by_field_id(F.left), n.child_by_field_id(F.right))
                else {
                    return Val::default();
                };
                let op = n
                    .child_by_field_id(F.operator)
                    .map(|o| self.text(o))
                    .unwrap_or("");
                let lv = self.eval(l);
                if op == "%"
                    && let Some(fmt) = lv.text.as_deref()
                {
                    // `'/etc/%s' % name`: printf-style formatting.
                    let args: Vec<Val> = if kind(r) == "tuple" {
                        let items = self.cursors.collect(r, true);
                        items.into_iter().map(|a| self.eval(a)).collect()
                    } else {
                        vec![self.eval(r)]
                    };
                    return percent_format(fmt, &args, lv.taint);
                }
                let rv = self.eval(r);
                let taint = lv.taint | rv.taint;
                let text = match (op, &lv.text, &rv.text) {
                    ("+", Some(a), Some(b)) => Some(format!("{a}{b}")),
                    ("/", Some(a), Some(b)) => Some(join_path(&[a.clone(), b.clone()])),
                    _ => None,
                };
                let shape = match op {
                    "+" if text.is_none() => paths::shape_of([lv.path(), rv.path()], ""),
                    "/" if text.is_none() => paths::shape_of([lv.path(), rv.path()], "/"),
                    _ => None,
                };
                Val {
                    text,
                    taint,
                    shape,
                    ..Val::default()
                }
            }
            "parenthesized_expression" => {
                n.named_child(0).map(|x| self.eval(x)).unwrap_or_default()
            }
            "identifier" => {
                let t = self.text(n);
                if let Some(v) = self.vars.get(t) {
                    return v.clone();
                }
                if let Some(q) = self.aliases.get(t) {
                    return Val {
                        module: Some(q.clone()),
                        ..Val::default()
                    };
                }
                match t {
                    "__builtins__" | "builtins" => Val {
                        module: Some("builtins".into()),
                        ..Val::default()
                    },
                    _ => Val::default(),
                }
            }
            "attribute" => {
                let q = self.qualify_expr(n).unwrap_or_default();
                match q.as_str() {
                    "os.environ" => return Val::taint(T_ENV),
                    "sys.argv" => return Val::taint(T_INPUT),
                    "sys.executable" => return Val::text("python3"),
                    "os.sep" => return Val::text("/"),
                    "sys.stdin" => return Val::taint(T_INPUT),
                    "builtins.__dict__" => {
                        return Val {
                            module: Some("builtins".into()),
                            indirect: true,
                            ..Val::default()
                        };
                    }
                    _ => {}
                }
                let obj = n
                    .child_by_field_id(F.object)
                    .map(|o| self.eval(o))
                    .unwrap_or_default();
                if obj.module.as_deref() == Some("builtins")
                    && n.child_by_field_id(F.attribute)
                        .is_some_and(|a| self.text(a) == "__dict__")
                {
                    return Val {
                        module: Some("builtins".into()),
                        indirect: true,
                        ..Val::default()
                    };
                }
                Val::taint(obj.taint)
            }
            "subscript" => {
                let (Some(obj), Some(key)) = (
                    n.child_by_field_id(F.value),
                    n.child_by_field_id(F.subscript),
                ) else {
                    return Val::default();
                };
                let q = self.qualify_expr(obj).unwrap_or_default();
                let k = self.eval(key);
                if q == "sys.modules"
                    && let Some(m) = k.text
                {
                    return Val {
                        module: Some(canonical(m)),
                        indirect: true,
                        ..Val::default()
                    };
                }
                if q == "os.environ" {
                    return match k.text.as_deref() {
                        Some("HOME") => Val::text("~"),
                        Some("PWD") => Val::text("."),
                        _ => Val::taint(T_ENV),
                    };
                }
                let o = self.eval(obj);
                if let (Some(m), Some(kt)) = (&o.module, &k.text) {
                    // __builtins__.__dict__["exec"], module.__dict__[...]
                    let q = if m == "builtins" {
                        kt.clone()
                    } else {
                        format!("{m}.{kt}")
                    };
                    return Val {
                        module: Some(q),
                        indirect: true,
                        ..Val::default()
                    };
                }
                Val::taint(o.taint | k.taint)
            }
            "call" => self.eval_call(n),
            "list"
            | "tuple"
            | "set"
            | "dictionary"
            | "argument_list"
            | "pair"
            | "keyword_argument"
            | "list_comprehension"
            | "generator_expression"
            | "dictionary_comprehension" => {
                let mut taint = 0;
                let kids = self.cursors.collect(n, true);
                for k in kids {
                    taint |= self.eval(k).taint;
                }
                Val::taint(taint)
            }
            "await" | "conditional_expression" | "boolean_operator" => {
                let mut taint = 0;
                let mut text = None;
                let kids = self.cursors.collect(n, true);
                for k in kids {
                    let v = self.eval(k);
                    taint |= v.taint;
                    if text.is_none() {
                        text = v.text;
                    }
                }
                Val {
                    text: if kind(n) == "await" { text } else { None },
                    taint,
                    ..Val::default()
                }
            }
            _ => Val::default(),
        }
    }

    fn eval_string(&mut self, n: Node<'t>) -> Val {
        // Only whether the prefix makes a raw string matters.
        let mut raw_prefix = false;
        let mut out = String::new();
        let mut known = true;
        // `out` with a marker for each run-time part, while `known` holds.
        let mut shape = String::new();
        let mut taint = 0;
        let mut cur = self.cursors.take(n);
        let mut more = cur.goto_first_child();
        while more {
            let k = cur.node();
            more = cur.goto_next_sibling();
            match kind(k) {
                "string_start" => {
                    raw_prefix = self
                        .text(k)
                        .trim_end_matches(['"', '\''])
                        .contains(['r', 'R']);
                }
                "string_content" => {
                    let raw = self.text(k);
                    let start = out.len();
                    if raw_prefix {
                        out.push_str(raw);
                    } else {
                        out.push_str(&text::unescape_c(raw));
                    }
                    shape.push_str(&out[start..]);
                }
                "interpolation" => {
                    let v = k
                        .child_by_field_id(F.expression)
                        .or_else(|| k.named_child(0))
                        .map(|e| self.eval(e))
                        .unwrap_or_default();
                    taint |= v.taint;
                    match v.path() {
                        Some(t) => shape.push_str(t),
                        None => shape.push_str(paths::DYNAMIC),
                    }
                    match v.text {
                        Some(t) => out.push_str(&t),
                        None => known = false,
                    }
                }
                _ => {}
            }
        }
        self.cursors.put(cur);
        Val {
            text: known.then_some(out),
            taint,
            shape: (!known && shape.len() <= 4096).then_some(shape),
            ..Val::default()
        }
    }

    fn args_of(&mut self, call: Node<'t>) -> (Vec<Node<'t>>, Vec<(&'c str, Node<'t>)>) {
        let mut pos = Vec::new();
        let mut kw = Vec::new();
        if let Some(a) = call.child_by_field_id(F.arguments) {
            for ch in self.cursors.collect(a, true) {
                if kind(ch) == "keyword_argument" {
                    if let (Some(k), Some(v)) =
                        (ch.child_by_field_id(F.name), ch.child_by_field_id(F.value))
                    {
                        kw.push((self.text(k), v));
                    }
                } else if kind(ch) != "comment" {
                    pos.push(ch);
                }
            }
        }
        (pos, kw)
    }

    fn eval_call(&mut self, n: Node<'t>) -> Val {
        let Some(f) = n.child_by_field_id(F.function) else {
            return Val::default();
        };
        let (pos, kw) = self.args_of(n);
        let pos_vals: Vec<Val> = pos.iter().map(|a| self.eval(*a)).collect();
        let arg0 = pos_vals.first().cloned();
        let q = self.resolve(f).map(|x| x.0).unwrap_or_default();
        let attr = if kind(f) == "attribute" {
            f.child_by_field_id(F.attribute)
                .map(|a| self.text(a).to_string())
        } else {
            None
        };
        let obj = if kind(f) == "attribute" {
            f.child_by_field_id(F.object).map(|o| self.eval(o))
        } else {
            None
        };
        let all_taint = {
            let mut t = 0;
            for v in &pos_vals {
                t |= v.taint;
            }
            for (_, v) in &kw {
                t |= self.eval(*v).taint;
            }
            t
        };
        match q.as_str() {
            "__import__" | "importlib.import_module" | "importlib.__import__" => {
                return match arg0.and_then(|v| v.text) {
                    Some(m) => Val {
                        module: Some(canonical(m)),
                        indirect: true,
                        ..Val::default()
                    },
                    None => Val::default(),
                };
            }
            // sys.modules.get("os") is the module os.
            "sys.modules.get" => {
                return match arg0.and_then(|v| v.text) {
                    Some(m) => Val {
                        module: Some(canonical(m)),
                        indirect: true,
                        ..Val::default()
                    },
                    None => Val::default(),
                };
            }
            "getattr" => {
                if pos.len() >= 2 {
                    let o = self.eval(pos[0]);
                    let name = self.eval(pos[1]).text;
                    let base = o.module.clone().or_else(|| {
                        (kind(pos[0]) == "identifier").then(|| self.text(pos[0]).to_string())
                    });
                    if let (Some(b), Some(name)) = (base, name) {
                        let q = if b == "builtins" {
                            name
                        } else {
                            format!("{b}.{name}")
                        };
                        return Val {
                            module: Some(q),
                            indirect: true,
                            ..Val::default()
                        };
                    }
                }
                return Val::default();
            }
            "os.path.expanduser" | "os.path.abspath" | "os.path.realpath" | "os.path.normpath"
            | "os.fspath" | "str" | "pathlib.Path" | "pathlib.PurePath" | "pathlib.PosixPath"
            | "os.path.expandvars" | "Path" => {
                return arg0.unwrap_or_else(|| Val::text("."));
            }
            "os.path.join" | "posixpath.join" => {
                let mut parts = Vec::new();
                let mut taint = 0;
                for v in &pos_vals {
                    taint |= v.taint;
                    match &v.text {
                        Some(t) => parts.push(t.clone()),
                        None => {
                            return Val {
                                shape: paths::shape_of(pos_vals.iter().map(Val::path), "/"),
                                ..Val::taint(taint)
                            };
                        }
                    }
                }
                return Val {
                    text: Some(join_path(&parts)),
                    taint,
                    ..Val::default()
                };
            }
            "pathlib.Path.home" | "Path.home" | "os.path.expanduser.home" => return Val::text("~"),
            "os.getcwd" | "pathlib.Path.cwd" | "Path.cwd" => return Val::text("."),
            "os.getenv" | "os.environ.get" => {
                return match arg0.and_then(|v| v.text).as_deref() {
                    Some("HOME") => Val::text("~"),
                    _ => Val::taint(T_ENV),
                };
            }
            "open" | "io.open" | "codecs.open" | "builtins.open" => {
                let cred = arg0
                    .as_ref()
                    .and_then(Val::path)
                    .is_some_and(|p| paths::classify_in(self.cwd.as_deref(), p).credential);
                let path = arg0.and_then(|v| v.text);
                return Val {
                    taint: T_FILE | if cred { T_CRED } else { 0 },
                    file: path,
                    ..Val::default()
                };
            }
            "input" | "raw_input" | "sys.stdin.read" | "sys.stdin.readline" => {
                return Val::taint(T_INPUT);
            }
            "socket.socket"
            | "socket.create_connection"
            | "socket.socketpair"
            | "socket.fromfd" => {
                return Val::taint(T_SOCKET);
            }
            "base64.b64decode"
            | "base64.decodebytes"
            | "base64.standard_b64decode"
            | "base64.urlsafe_b64decode"
            | "binascii.a2b_base64" => {
                let text = arg0
                    .as_ref()
                    .and_then(|v| v.text.as_deref())
                    .and_then(text::base64_decode)
                    .and_then(|b| text::printable(&b));
                return Val {
                    text,
                    taint: T_DECODE | all_taint,
                    ..Val::default()
                };
            }
            "bytes.fromhex" | "binascii.unhexlify" | "binascii.a2b_hex" => {
                let text = arg0
                    .as_ref()
                    .and_then(|v| v.text.as_deref())
                    .and_then(text::hex_decode)
                    .and_then(|b| text::printable(&b));
                return Val {
                    text,
                    taint: T_DECODE | all_taint,
                    ..Val::default()
                };
            }
            "codecs.decode" | "codecs.encode" => {
                let enc = pos
                    .get(1)
                    .and_then(|e| self.eval(*e).text)
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let text = if enc.starts_with("rot") {
                    arg0.as_ref()
                        .and_then(|v| v.text.as_deref())
                        .map(text::rot13)
                } else {
                    None
                };
                return Val {
                    text,
                    taint: T_DECODE | all_taint,
                    ..Val::default()
                };
            }
            "zlib.decompress" | "gzip.decompress" | "bz2.decompress" | "lzma.decompress"
            | "marshal.loads" | "marshal.load" | "base64.b32decode" | "base64.b85decode"
            | "base64.a85decode" => {
                return Val::taint(T_DECODE | all_taint);
            }
            "compile" | "builtins.compile" => return arg0.unwrap_or_default(),
            // A loaded C library: `ctypes.CDLL(None).system(b'…')` runs a
            // shell command like os.system.
            "ctypes.CDLL" | "ctypes.PyDLL" | "ctypes.cdll.LoadLibrary" | "ctypes.LibraryLoader" => {
                return Val {
                    module: Some("libc".into()),
                    ..Val::default()
                };
            }
            _ => {}
        }
        if NET_MODULES.iter().any(|m| in_module(&q, m)) && !q.starts_with("socket.") {
            return Val::taint(T_DOWNLOAD | all_taint);
        }
        if let (Some(attr), Some(obj)) = (attr.as_deref(), obj) {
            match attr {
                "decode" | "encode" | "strip" | "lower" | "upper" | "format" | "replace"
                | "rstrip" | "lstrip" | "expanduser" | "resolve" | "absolute" | "as_posix"
                | "join" | "read" | "readlines" | "readline" | "read_text" | "read_bytes"
                | "json" | "getvalue" | "tobytes" => {
                    let mut v = obj.clone();
                    if matches!(attr, "format" | "join") {
                        v.text = None;
                    }
                    // 'https://{}/c'.format('evil.example') is a known URL.
                    if attr == "format"
                        && let Some(fmt) = obj.text.as_deref()
                    {
                        let kw_vals: Vec<(&str, Val)> =
                            kw.iter().map(|(k, n)| (*k, self.eval(*n))).collect();
                        if let Some((text, shape)) = format_string(fmt, &pos_vals, &kw_vals) {
                            v.text = text;
                            v.shape = shape;
                        }
                    }
                    // 'sep'.join([...]) over literal parts is as visible as
                    // concatenation: '_'.join(['o', 's']) is 'o_s'.
                    if attr == "join"
                        && pos.len() == 1
                        && let Some(sep) = obj.text.as_deref()
                        && matches!(kind(pos[0]), "list" | "tuple")
                    {
                        let mut parts = Vec::new();
                        for e in self.cursors.collect(pos[0], true) {
                            match self.eval(e).text {
                                Some(t) => parts.push(t),
                                None => {
                                    parts.clear();
                                    break;
                                }
                            }
                        }
                        if !parts.is_empty() {
                            v.text = Some(parts.join(sep));
                        }
                    }
                    if attr == "join" {
                        v.taint |= all_taint;
                    }
                    if matches!(
                        attr,
                        "read" | "readlines" | "readline" | "read_text" | "read_bytes"
                    ) {
                        let cred =
                            obj.file.as_deref().or(obj.path()).is_some_and(|p| {
                                paths::classify_in(self.cwd.as_deref(), p).credential
                            });
                        v.taint |= T_FILE | if cred { T_CRED } else { 0 };
                        if let Some(i) = obj.file.as_deref().and_then(|p| self.downloads.find(p)) {
                            v.downloaded = Some(i);
                        }
                        v.text = None;
                        v.file = None;
                        if obj.taint & T_SOCKET != 0 {
                            v.taint |= T_NET;
                        }
                    }
                    if attr == "decode" && obj.text.is_none() {
                        v.text = None;
                    }
                    return v;
                }
                "recv" | "recvfrom" | "recv_into" | "makefile" | "accept" => {
                    return Val::taint(T_NET | obj.taint);
                }
                "open" => {
                    // Path(p).open()
                    let cred = obj
                        .path()
                        .is_some_and(|p| paths::classify_in(self.cwd.as_deref(), p).credential);
                    return Val {
                        taint: T_FILE | if cred { T_CRED } else { 0 },
                        file: obj.text.clone(),
                        ..Val::default()
                    };
                }
                "text" | "content" => return Val::taint(obj.taint),
                _ => return Val::taint(obj.taint | all_taint),
            }
        }
        Val::taint(all_taint)
    }

    // -----------------------------------------------------------------
    // Calls
    // -----------------------------------------------------------------

    fn call(&mut self, n: Node<'t>) {
        let Some(f) = n.child_by_field_id(F.function) else {
            return;
        };
        let range = n.byte_range();
        let resolved = self.resolve(f);
        let (pos, kw) = self.args_of(n);
        let kwv = |name: &str| kw.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let attr = if kind(f) == "attribute" {
            f.child_by_field_id(F.attribute).map(|a| self.text(a))
        } else {
            None
        };
        let obj_val = if kind(f) == "attribute" {
            f.child_by_field_id(F.object).map(|o| self.eval(o))
        } else {
            None
        };
        let (q, indirect) = resolved.clone().unwrap_or_default();
        let q = q.strip_prefix("builtins.").map(str::to_string).unwrap_or(q);

        // Every static path argument: credentials and user-denied paths.
        let mut arg_vals: Vec<Val> = pos.iter().map(|a| self.eval(*a)).collect();
        for (_, v) in &kw {
            arg_vals.push(self.eval(*v));
        }
        if let Some(o) = &obj_val {
            arg_vals.push(o.clone());
        }
        for v in &arg_vals {
            if let Some(t) = &v.text {
                self.cx.check_denied_path(t, PY, range.clone());
            }
        }
        if let Some(cred) = arg_vals
            .iter()
            .filter_map(Val::path)
            .find(|t| t.len() < 300 && paths::classify_in(self.cwd.as_deref(), t).credential)
        {
            self.push(
                "cred.read",
                Risk::High,
                format!("accesses {cred}, which holds credentials"),
                range.clone(),
            );
        }

        if indirect && is_sensitive(&q) {
            self.push(
                "python.indirect-call",
                Risk::High,
                format!("calls {q} through getattr/__import__/__dict__ (hides what really runs)"),
                range.clone(),
            );
        }

        // Network use.
        let is_net =
            NET_MODULES.iter().any(|m| q == *m || in_module(&q, m)) && !is_local_socket_call(&q);
        if is_net {
            self.facts.network = true;
            let url = arg_vals
                .first()
                .and_then(|v| v.text.clone())
                .unwrap_or_default();
            if q == "socket.socket" || q == "socket.create_connection" {
                self.facts.socket.get_or_insert(range.clone());
                self.push(
                    "net.socket",
                    Risk::Medium,
                    "opens a network socket".into(),
                    range.clone(),
                );
            } else if q.starts_with("socketserver.") || q.starts_with("http.server.") {
                self.push(
                    "net.server",
                    Risk::Medium,
                    "starts a network server".into(),
                    range.clone(),
                );
            } else {
                self.push(
                    "net.request",
                    Risk::Medium,
                    if url.is_empty() {
                        format!("uses the network ({q})")
                    } else {
                        format!("uses the network: {url}")
                    },
                    range.clone(),
                );
            }
        } else if attr != Some("format")
            && let Some(url) = arg_vals.iter().filter_map(|v| v.text.as_deref()).find(|t| {
                t.starts_with("http://") || t.starts_with("https://") || t.starts_with("ftp://")
            })
        {
            self.facts.network = true;
            self.push(
                "net.request",
                Risk::Medium,
                format!("reads from the network: {url}"),
                range.clone(),
            );
        }
        if attr.is_some_and(|a| matches!(a, "connect" | "bind" | "connect_ex"))
            && obj_val.as_ref().is_some_and(|o| o.taint & T_SOCKET != 0)
        {
            self.facts.network = true;
            self.facts.socket.get_or_insert(range.clone());
        }

        // Data leaving: uploads of file contents / the environment.
        let sender = matches!(
            q.as_str(),
            "requests.post"
                | "requests.put"
                | "requests.patch"
                | "requests.request"
                | "httpx.post"
                | "httpx.put"
                | "httpx.patch"
                | "httpx.request"
                | "urllib.request.urlopen"
                | "urllib.request.Request"
                | "aiohttp.request"
        ) || (attr.is_some_and(|a| {
            matches!(
                a,
                "sendall"
                    | "send"
                    | "sendto"
                    | "sendmail"
                    | "send_message"
                    | "storbinary"
                    | "storlines"
                    | "upload_file"
                    | "put_object"
                    | "post"
                    | "put"
                    | "patch"
                    | "sendfile"
            )
        }) && (self.facts.network
            || obj_val.as_ref().is_some_and(|o| o.taint & T_SOCKET != 0)));
        if sender {
            let url_first = q.starts_with("requests.")
                || q.starts_with("httpx.")
                || q.starts_with("aiohttp.")
                || q == "urllib.request.Request"
                || q == "urllib.request.urlopen"
                || attr.is_some_and(|a| matches!(a, "post" | "put" | "patch"));
            let skip_first = url_first;
            let mut taint = 0;
            for (i, v) in arg_vals.iter().enumerate() {
                if i == 0 && skip_first && i < pos.len() {
                    continue;
                }
                taint |= v.taint;
            }
            if taint & T_CRED != 0 {
                self.push(
                    "exfil.credentials",
                    Risk::Critical,
                    "sends the contents of a credentials file to another machine".into(),
                    range.clone(),
                );
            } else if taint & (T_FILE | T_ENV) != 0 {
                self.push(
                    "exfil.upload",
                    Risk::High,
                    if taint & T_ENV != 0 {
                        "sends the environment variables (often secrets) to another machine".into()
                    } else {
                        "sends the contents of a file to another machine".into()
                    },
                    range.clone(),
                );
            }
        }

        // Shell spawned with a socket as its stdio.
        for (k, v) in &kw {
            if matches!(*k, "stdin" | "stdout" | "stderr") && self.text(*v).contains("fileno") {
                self.facts.shell_on_fd = true;
            }
        }

        self.note_download(&q, attr, &pos, &kw, &arg_vals, obj_val.as_ref(), &range);
        // The known-safe gate: run-time imports of known names, `os` calls,
        // and workspace directories put on the import path.
        match q.as_str() {
            "__import__" | "importlib.import_module" => {
                if let Some(m) = arg_vals.first().and_then(|v| v.text.clone()) {
                    self.gate_module(&m, &range);
                }
            }
            "sys.path.insert" | "sys.path.append" => {
                let dir = pos
                    .len()
                    .checked_sub(1)
                    .and_then(|i| arg_vals[i].text.as_deref());
                if dir.is_some_and(|d| !d.starts_with(['/', '~']) && !d.contains("..")) {
                    self.local_imports = true;
                }
            }
            _ => {
                if let Err(why) = known_safe::py_call(&q)
                    && !self.gated.contains(&q)
                {
                    self.gated.push(q.clone());
                    self.push("python.not-known-safe", Risk::Medium, why, range.clone());
                }
            }
        }
        if !self.downloads.is_empty()
            && let Some(name) = arg_vals.first().and_then(|v| v.text.clone())
        {
            let file = match q.as_str() {
                "__import__" | "importlib.import_module" | "runpy.run_module" => {
                    Some(format!("{}.py", name.replace('.', "/")))
                }
                "runpy.run_path" | "imp.load_source" => Some(name),
                _ => None,
            };
            // `imp.load_source(name, path)` names the file second.
            let file = if q == "imp.load_source" {
                arg_vals.get(1).and_then(|v| v.text.clone())
            } else {
                file
            };
            if let Some(i) = file.and_then(|f| self.downloads.find(&f)) {
                self.download_run(i, &q, &range);
            }
        }

        // Shell commands.
        if SHELL_STRING_CALLS.contains(&q.as_str()) {
            if let Some(v) = arg_vals.first() {
                let v = v.clone();
                let at = pos.first().map(|a| a.byte_range()).unwrap_or(range.clone());
                self.shell_string(&q, &v, at, &range);
            }
            return;
        }
        if ARGV_CALLS.contains(&q.as_str())
            || q.starts_with("os.exec")
            || q.starts_with("os.spawn")
            || q.starts_with("os.posix_spawn")
            || q == "asyncio.create_subprocess_exec"
        {
            self.argv_call(&q, n, &pos, &kw, &range);
            return;
        }

        match q.as_str() {
            "os.chdir" if !pos.is_empty() => {
                // A sensitive directory is remembered; anything else (or
                // unknown) reads relative paths as before.
                let dir = arg_vals[0].text.as_deref().and_then(|d| {
                    if d.starts_with(['/', '~']) {
                        Some(d.to_string())
                    } else {
                        paths::under_dir(self.cwd.as_deref(), d)
                    }
                });
                self.cwd = dir.filter(|d| paths::sensitive_dir(d));
                // Relative names written after this no longer say which file.
                self.cx.changed_dir = true;
            }
            "shutil.rmtree" | "os.remove" | "os.unlink" | "os.rmdir" | "os.removedirs"
                if !pos.is_empty() =>
            {
                let recursive = q == "shutil.rmtree";
                self.deletion(&arg_vals[0], recursive, &range, &q, n);
            }
            "shutil.move" if pos.len() >= 2 => {
                // A move keeps the files (at the destination): only moving a
                // sensitive place away breaks something, as with `mv`.
                let (risk, rule, msg) = match arg_vals[0].path() {
                    Some(p) => paths::deletion_risk_in(self.cwd.as_deref(), p, true),
                    None => (Risk::None, "", String::new()),
                };
                if risk >= Risk::High && rule != "destroy.workspace-all" {
                    self.push(
                        rule,
                        risk.min(Risk::High),
                        format!("moves away: {msg}"),
                        range.clone(),
                    );
                }
                let (src, dst) = (arg_vals[0].clone(), arg_vals[1].clone());
                self.copy_target(&src, &dst, &range, "moves onto");
                self.move_out(&dst, &range);
            }
            "os.rename" | "os.replace" | "shutil.copy" | "shutil.copy2" | "shutil.copyfile"
            | "shutil.copytree" | "os.symlink" | "os.link" | "shutil.copyfileobj"
                if pos.len() >= 2 =>
            {
                // `copy`/`copy2` put SRC inside DST when DST is a directory.
                let (src, dst) = (arg_vals[0].clone(), arg_vals[1].clone());
                if matches!(q.as_str(), "shutil.copy" | "shutil.copy2") {
                    self.copy_target(&src, &dst, &range, "copies onto");
                } else if q != "shutil.copyfileobj" {
                    self.write_val(&dst, &range, "writes to");
                }
                if matches!(q.as_str(), "os.rename" | "os.replace") {
                    self.move_out(&dst, &range);
                }
            }
            "os.truncate" if !pos.is_empty() => {
                let v = arg_vals[0].clone();
                self.write_val(&v, &range, "truncates");
            }
            "open" | "io.open" | "codecs.open" | "os.open" | "gzip.open" | "bz2.open"
            | "lzma.open" | "wave.open" | "tarfile.open" | "zipfile.ZipFile"
            | "tarfile.TarFile" => {
                let mode = kwv("mode")
                    .or_else(|| pos.get(1).copied())
                    .map(|m| {
                        self.eval(m)
                            .text
                            .unwrap_or_else(|| self.text(m).to_string())
                    })
                    .unwrap_or_default();
                let writes = if q == "os.open" {
                    mode.contains("O_WRONLY")
                        || mode.contains("O_RDWR")
                        || mode.contains("O_CREAT")
                        || mode.contains("O_APPEND")
                } else {
                    mode.contains(['w', 'a', 'x', '+'])
                };
                if writes && let Some(v) = arg_vals.first().cloned() {
                    // An integer is a file descriptor, opened elsewhere.
                    if pos.first().is_none_or(|a| kind(*a) != "integer") {
                        self.write_val(&v, &range, "writes to");
                    }
                }
            }
            "os.chmod" | "os.lchmod" | "pathlib.Path.chmod" if pos.len() >= 2 => {
                let mode_src = self.text(pos[1]).to_string();
                let path = arg_vals[0].path().unwrap_or_default().to_string();
                self.chmod(&path, &mode_src, &range);
            }
            "os.chown" | "os.lchown" | "shutil.chown" if !pos.is_empty() => {
                if let Some(p) = arg_vals[0].text.clone() {
                    let c = paths::classify_in(self.cwd.as_deref(), &p);
                    if matches!(
                        c.scope,
                        paths::Scope::Root | paths::Scope::SystemTop | paths::Scope::System
                    ) || c.privilege
                    {
                        self.push(
                            "privilege.chown-system",
                            Risk::High,
                            format!("changes the owner of the system path {p}"),
                            range.clone(),
                        );
                    }
                }
            }
            "os.setuid" | "os.setgid" | "os.seteuid" | "os.setegid" | "os.setreuid"
            | "os.setresuid" => {
                self.push(
                    "privilege.setuid",
                    Risk::Medium,
                    format!("{q} changes the process's user or group"),
                    range.clone(),
                );
            }
            "os.putenv" if !pos.is_empty() => {
                if let Some(k) = arg_vals[0].text.clone() {
                    self.env_set(&k, range.clone());
                }
            }
            "os.dup2" => self.facts.dup2 = true,
            "os.fork" | "os.forkpty" | "multiprocessing.Process" if self.loop_true_depth > 0 => {
                self.push(
                    "destroy.fork-bomb",
                    Risk::Critical,
                    "forks new processes in an endless loop (a fork bomb that freezes the machine)"
                        .into(),
                    range.clone(),
                );
            }
            "eval" | "exec" | "execfile" => {
                let v = arg_vals.first().cloned().unwrap_or_default();
                if let Some(i) = v.downloaded {
                    self.download_run(i, &q, &range);
                }
                let at = pos.first().map(|a| a.byte_range()).unwrap_or(range.clone());
                self.dynamic_code(&q, &v, at, &range);
            }
            "__import__" | "importlib.import_module"
                if arg_vals.first().is_some_and(|v| v.text.is_none()) =>
            {
                self.push(
                    "python.dynamic-import",
                    Risk::High,
                    "imports a module whose name is computed at run time (hides what is used)"
                        .into(),
                    range.clone(),
                );
            }
            "getattr" if pos.len() >= 2 => {
                let o = arg_vals[0].clone();
                let name_known = arg_vals[1].text.is_some();
                let is_module = o.module.is_some()
                    || (kind(pos[0]) == "identifier"
                        && self.aliases.contains_key(self.text(pos[0])));
                let dyn_module = kind(pos[0]) == "call"
                    && o.module.is_none()
                    && self.text(pos[0]).contains("__import__");
                if !name_known && (is_module || dyn_module) {
                    self.push(
                        "python.dynamic-attribute",
                        Risk::Medium,
                        "looks up a module function by a name computed at run time (hides what runs)".into(),
                        range.clone(),
                    );
                }
            }
            "keyring.get_password" | "keyring.get_credential" | "win32crypt.CryptUnprotectData" => {
                self.push(
                    "cred.keyring",
                    Risk::High,
                    format!("{q} reads a saved password"),
                    range.clone(),
                );
            }
            "yaml.load" => {
                let safe = kwv("Loader").is_some_and(|l| {
                    let t = self.text(l);
                    t.contains("SafeLoader") || t.contains("BaseLoader")
                });
                if !safe {
                    self.push(
                        "python.deserialize",
                        Risk::Medium,
                        "yaml.load without SafeLoader can construct arbitrary objects (runs code from the data)".into(),
                        range.clone(),
                    );
                }
            }
            "numpy.load" if kwv("allow_pickle").is_some_and(|v| self.text(v) == "True") => {
                self.push(
                    "python.deserialize",
                    Risk::Medium,
                    "numpy.load with allow_pickle runs code from the data".into(),
                    range.clone(),
                );
            }
            _ => {}
        }
        if DESERIALIZE.contains(&q.as_str()) {
            self.push(
                "python.deserialize",
                Risk::Medium,
                format!(
                    "{q} can run code hidden in the data it loads; only use it on files you trust"
                ),
                range.clone(),
            );
        }
        // pathlib methods on a known path.
        if let (Some(attr), Some(obj)) = (attr, obj_val.as_ref())
            && matches!(attr, "unlink" | "rmdir")
            && obj.text.is_none()
            && obj.shape.as_deref().is_some_and(|s| s.contains(FOUND))
            && !q.starts_with("os.")
            && !q.starts_with("shutil.")
        {
            // `for p in Path.home().rglob('*'): p.unlink()`
            let v = obj.clone();
            self.deletion(&v, false, &range, attr, n);
        }
        if let (Some(attr), Some(obj)) = (attr, obj_val.as_ref())
            && let Some(p) = obj.text.clone()
            && !q.starts_with("os.")
            && !q.starts_with("shutil.")
        {
            match attr {
                "unlink" | "rmdir" => self.deletion(&Val::text(p), false, &range, attr, n),
                "write_text" | "write_bytes" | "touch" | "symlink_to" | "hardlink_to" => {
                    self.write_target(&p, &range, "writes to")
                }
                "rename" | "replace" if !pos.is_empty() => {
                    let dst = self.eval(pos[0]);
                    self.write_val(&dst, &range, "moves onto");
                    self.move_out(&dst, &range);
                }
                "open" => {
                    let mode = pos
                        .first()
                        .copied()
                        .or_else(|| kwv("mode"))
                        .map(|m| self.eval(m).text.unwrap_or_default())
                        .unwrap_or_default();
                    if mode.contains(['w', 'a', 'x', '+']) {
                        self.write_target(&p, &range, "writes to");
                    }
                }
                "chmod" if !pos.is_empty() => {
                    let m = self.text(pos[0]).to_string();
                    self.chmod(&p, &m, &range);
                }
                _ => {}
            }
        }
        self.file_writes(&q, attr, obj_val.as_ref(), &pos, &kw, &range);
    }

    /// Writes through file and data APIs whose target the generic call
    /// rules above do not see: pathlib methods on a path known only at run
    /// time, data savers (`np.save`, `df.to_csv`, `plt.savefig`) and archive
    /// extraction, which can overwrite any file the archive names.
    #[allow(clippy::too_many_arguments)]
    fn file_writes(
        &mut self,
        q: &str,
        attr: Option<&str>,
        obj: Option<&Val>,
        pos: &[Node<'t>],
        kw: &[(&str, Node<'t>)],
        range: &Range<usize>,
    ) {
        let kwv = |name: &str| kw.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        // The module's own savers: the file is the first argument (numpy)
        // or the second (`torch.save(obj, f)`, `joblib.dump(obj, f)`).
        let saver_arg = match q {
            "numpy.save"
            | "numpy.savez"
            | "numpy.savez_compressed"
            | "numpy.savetxt"
            | "scipy.io.savemat"
            | "imageio.imwrite"
            | "cv2.imwrite" => Some(0),
            "torch.save" | "joblib.dump" | "pickle.dump" | "json.dump" | "yaml.dump"
            | "yaml.safe_dump" | "toml.dump" | "tomli_w.dump" => Some(1),
            _ => None,
        };
        if let Some(i) = saver_arg {
            let at = pos.get(i).copied().or_else(|| {
                kwv("file")
                    .or_else(|| kwv("f"))
                    .or_else(|| kwv("fname"))
                    .or_else(|| kwv("filename"))
                    .or_else(|| kwv("fp"))
                    .or_else(|| kwv("stream"))
            });
            // The dumpers of the second group take a file object, reported
            // where it was opened: only a name known here is a write.
            if let Some(a) = at {
                let v = self.eval(a);
                if i == 0 || v.text.is_some() {
                    self.write_val(&v, range, "saves to");
                }
            }
            return;
        }
        if matches!(q, "shutil.unpack_archive")
            || (matches!(attr, Some("extractall"))
                || (matches!(attr, Some("extract"))
                    && (q.starts_with("tarfile.") || q.starts_with("zipfile."))))
        {
            let dest = match q {
                "shutil.unpack_archive" => pos.get(1).copied().or_else(|| kwv("extract_dir")),
                _ => kwv("path").or_else(|| {
                    pos.get(if attr == Some("extract") { 1 } else { 0 })
                        .copied()
                }),
            };
            if let Some(d) = dest.and_then(|d| self.eval(d).text)
                && let Some((risk, rule, msg)) =
                    paths::write_risk_in(self.cwd.as_deref(), &d, "extracts an archive into")
            {
                self.push(rule, risk, msg, range.clone());
            }
            self.cx.push_write(
                None,
                "extracts an archive, which overwrites any existing file of the same name".into(),
                PY,
                range.clone(),
            );
            return;
        }
        let Some(attr) = attr else { return };
        // Methods of objects this analysis does not model (a DataFrame, a
        // figure, an image): the file is the first argument or the
        // conventional keyword.
        const SAVERS: &[&str] = &[
            "to_csv",
            "to_excel",
            "to_parquet",
            "to_json",
            "to_pickle",
            "to_feather",
            "to_hdf",
            "to_stata",
            "to_orc",
            "to_html",
            "to_latex",
            "to_markdown",
            "to_xml",
            "to_netcdf",
            "to_zarr",
            "savefig",
            "save",
            "write_csv",
            "write_parquet",
            "write_json",
            "write_ipc",
            "write_excel",
            "tofile",
            "write_image",
            "write_html",
        ];
        if SAVERS.contains(&attr) && !q.starts_with("os.") && !q.starts_with("shutil.") {
            let at = pos.first().copied().or_else(|| {
                [
                    "path_or_buf",
                    "path",
                    "fname",
                    "filename",
                    "excel_writer",
                    "file",
                    "fp",
                ]
                .iter()
                .find_map(|k| kwv(k))
            });
            if let Some(a) = at {
                // A literal that is not a name (`save(True)`) is no file.
                if !matches!(kind(a), "true" | "false" | "none" | "integer" | "float") {
                    let v = self.eval(a);
                    self.write_val(&v, range, "saves to");
                }
            }
            return;
        }
        // pathlib methods on a path known only at run time (a known one
        // was handled with its name).
        if obj.is_some_and(|o| o.text.is_none() && o.module.is_none()) {
            match attr {
                "write_text" | "write_bytes" => {
                    self.write_val(&Val::default(), range, "writes to");
                }
                "unlink"
                    if obj.is_some_and(|o| {
                        !o.shape.as_deref().is_some_and(|s| s.contains(FOUND))
                    }) =>
                {
                    self.push(
                        "delete.files",
                        Risk::Low,
                        "deletes a file named only at run time".into(),
                        range.clone(),
                    );
                }
                _ => {}
            }
        }
    }

    /// A write to the file `v` names: [`Self::write_target`] when the name
    /// is known, else a write whose target is known only at run time.
    fn write_val(&mut self, v: &Val, range: &Range<usize>, verb: &str) {
        match v.path() {
            Some(p) => {
                let p = p.to_string();
                self.write_target(&p, range, verb);
            }
            None => self.cx.push_write(
                None,
                format!("{verb} a file named only at run time"),
                PY,
                range.clone(),
            ),
        }
    }

    /// A move whose destination is outside the workspace takes the file
    /// out of it (see [`paths::leaves_workspace`]).
    fn move_out(&mut self, dst: &Val, range: &Range<usize>) {
        if let Some(d) = dst.text.as_deref()
            && paths::leaves_workspace(d)
        {
            self.push(
                "delete.move-out",
                Risk::Low,
                format!("moves files out of the workspace (to {d})"),
                range.clone(),
            );
        }
    }

    /// `shutil.copy`/`move(SRC, DST)`: DST itself, and DST/NAME in case DST
    /// is a directory (both may already exist).
    fn copy_target(&mut self, src: &Val, dst: &Val, range: &Range<usize>, verb: &str) {
        self.write_val(dst, range, verb);
        if let (Some(s), Some(d)) = (src.text.as_deref(), dst.text.as_deref()) {
            let name = s.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            let dir = d.trim_end_matches('/');
            if !name.is_empty() && !dir.is_empty() && !matches!(name, "." | "..") {
                let joined = format!("{dir}/{name}");
                let class = paths::classify_in(self.cwd.as_deref(), &joined);
                self.cx.note_write(
                    &joined,
                    &class,
                    &format!("{verb} (if {d} is a directory)"),
                    PY,
                    range.clone(),
                );
            }
        }
    }

    fn shell_string(&mut self, q: &str, v: &Val, at: Range<usize>, range: &Range<usize>) {
        match &v.text {
            Some(cmd) => {
                if let Some(i) = self.downloads.run_by_line(cmd) {
                    self.download_run(i, q, range);
                }
                self.push(
                    "python.shell",
                    Risk::Low,
                    format!("runs a shell command: {}", super::first_line(cmd)),
                    range.clone(),
                );
                self.cx.nested(Language::Shell, cmd, at);
            }
            None => self.dynamic_command(q, v.taint, range),
        }
    }

    fn dynamic_command(&mut self, q: &str, taint: u16, range: &Range<usize>) {
        let (risk, rule, msg) = if taint & T_NET != 0 {
            self.facts.reported_reverse = true;
            (
                Risk::Critical,
                "python.remote-shell",
                format!("{q} runs commands received over a network socket (a remote shell)"),
            )
        } else if taint & T_DOWNLOAD != 0 {
            (
                Risk::High,
                "exec.download-and-run",
                format!("{q} runs a command downloaded from the network"),
            )
        } else if taint & T_DECODE != 0 {
            (
                Risk::High,
                "exec.decode-and-run",
                format!("{q} runs a decoded (hidden) command"),
            )
        } else {
            (
                Risk::Medium,
                "python.dynamic-command",
                format!("{q} runs a command built at run time, which cannot be checked"),
            )
        };
        self.push(rule, risk, msg, range.clone());
    }

    fn argv_call(
        &mut self,
        q: &str,
        n: Node<'t>,
        pos: &[Node<'t>],
        kw: &[(&str, Node<'t>)],
        range: &Range<usize>,
    ) {
        let shell_true = kw
            .iter()
            .any(|(k, v)| *k == "shell" && self.text(*v) == "True");
        let args_node = kw.iter().find(|(k, _)| *k == "args").map(|(_, v)| *v);
        let mut nodes: Vec<Node<'t>> = Vec::new();
        if q.starts_with("os.exec")
            || q.starts_with("os.spawn")
            || q.starts_with("os.posix_spawn")
            || q == "asyncio.create_subprocess_exec"
        {
            nodes.extend(pos.iter().copied());
            // `os.execle(path, arg0, …, env)`: the environment is no argument.
            if list_form_exec(q) && q.ends_with('e') {
                nodes.pop();
            }
        } else if let Some(a) = args_node.or_else(|| pos.first().copied()) {
            nodes.push(a);
        }
        // Flatten lists / tuples into words.
        let mut words: Vec<String> = Vec::new();
        // Indexes of `words` already in shell form (run-time arguments).
        let mut holes: Vec<usize> = Vec::new();
        let mut taint = 0;
        let mut dynamic = false;
        let mut string_form = false;
        for node in &nodes {
            // `"rm -rf ~".split()` / `shlex.split("…")`: the same words as
            // the list literal.
            if let Some(split) = self.split_words(*node) {
                words.extend(split);
                continue;
            }
            match kind(*node) {
                "list" | "tuple" => {
                    let elems = self.cursors.collect(*node, true);
                    for e in elems {
                        let v = self.eval(e);
                        taint |= v.taint;
                        match v.text {
                            Some(t) => words.push(t),
                            // A run-time argument of a known program (no
                            // shell in between: it stays one argument) is
                            // checked as a quoted shell variable, like the
                            // shell's own `git show "$sha"`. Hidden or
                            // fetched values, splats and the program itself
                            // stay unknown commands.
                            None if !words.is_empty()
                                && !shell_true
                                && v.taint & HIDDEN_TAINT == 0
                                && kind(e) != "list_splat" =>
                            {
                                if !super::push_runtime_word(
                                    &mut words,
                                    &mut holes,
                                    v.shape.as_deref(),
                                ) {
                                    dynamic = true;
                                }
                            }
                            None => dynamic = true,
                        }
                    }
                }
                _ => {
                    let v = self.eval(*node);
                    taint |= v.taint;
                    match v.text {
                        Some(t) => {
                            if nodes.len() == 1 {
                                string_form = true;
                            }
                            words.push(t)
                        }
                        // One argument each (`os.execlp("rm", "rm", "-rf", d)`,
                        // `create_subprocess_exec("git", "show", sha)`): a
                        // run-time one is checked as a quoted shell variable,
                        // as in argument lists.
                        None if list_form_exec(q)
                            && !words.is_empty()
                            && v.taint & HIDDEN_TAINT == 0
                            && kind(*node) != "list_splat" =>
                        {
                            if !super::push_runtime_word(&mut words, &mut holes, v.shape.as_deref())
                            {
                                dynamic = true;
                            }
                        }
                        None => {
                            // os.spawnl(os.P_WAIT, …): skip the mode constant.
                            if !self.text(*node).starts_with("os.P_") {
                                dynamic = true;
                            }
                        }
                    }
                }
            }
        }
        if (q.starts_with("os.exec")
            || q.starts_with("os.spawn")
            || q.starts_with("os.posix_spawn"))
            && words.len() >= 2
        {
            let b0 = words[0].rsplit('/').next().unwrap_or("").to_string();
            let b1 = words[1].rsplit('/').next().unwrap_or("").to_string();
            if b0 == b1 {
                words.remove(0);
                for h in &mut holes {
                    *h -= 1;
                }
            }
        }
        let _ = n;
        if words.is_empty() || dynamic && words.is_empty() {
            self.dynamic_command(q, taint, range);
            return;
        }
        if dynamic {
            self.dynamic_command(q, taint, range);
        }
        let mut cmd = if string_form || shell_true {
            words.join(" ")
        } else {
            super::argv_command_line(&words, &holes)
        };
        // Arguments known only at run time (`*args`) are still arguments:
        // `bash` with them is not a bare shell.
        if dynamic && !string_form && !shell_true {
            cmd.push_str(&format!(" \"{}\"", paths::HOLE_VAR));
        }
        // A shell started on a socket (reverse shell) or interactively.
        let prog = words[0].rsplit('/').next().unwrap_or("");
        if matches!(prog, "sh" | "bash" | "zsh" | "dash")
            && (words.len() == 1 || words.iter().any(|w| w == "-i"))
        {
            self.facts.pty_spawn |= q == "pty.spawn";
            if self.facts.socket.is_some() && (self.facts.dup2 || self.facts.shell_on_fd) {
                self.facts.shell_on_fd = true;
            }
        }
        self.command_runs_download(&words, q, range);
        self.push(
            "python.shell",
            Risk::Low,
            format!("runs a command: {}", super::first_line(&cmd)),
            range.clone(),
        );
        let at = nodes
            .first()
            .map(|x| x.byte_range())
            .unwrap_or(range.clone());
        self.cx.nested(Language::Shell, &cmd, at);
    }

    /// Records a file written with downloaded content: `urlretrieve(url,
    /// p)`, `f.write(resp.content)`, `Path(p).write_bytes(…)`,
    /// `shutil.copyfileobj(resp, f)`, `wget.download(url, p)`.
    #[allow(clippy::too_many_arguments)]
    fn note_download(
        &mut self,
        q: &str,
        attr: Option<&str>,
        pos: &[Node<'t>],
        kw: &[(&str, Node<'t>)],
        arg_vals: &[Val],
        obj: Option<&Val>,
        range: &Range<usize>,
    ) {
        let first_downloaded = !pos.is_empty() && arg_vals[0].taint & T_DOWNLOAD != 0;
        let path = match q {
            "urllib.request.urlretrieve" | "urllib.urlretrieve" | "wget.download" => {
                let named = kw
                    .iter()
                    .find(|(k, _)| matches!(*k, "filename" | "out"))
                    .map(|(_, v)| *v);
                match named {
                    Some(v) => self.eval(v).text,
                    None if pos.len() >= 2 => arg_vals[1].text.clone(),
                    None => None,
                }
            }
            "shutil.copyfileobj" if first_downloaded && pos.len() >= 2 => arg_vals[1].file.clone(),
            _ => match (attr, obj) {
                (Some("write" | "writelines"), Some(o)) if first_downloaded => o.file.clone(),
                (Some("write_bytes" | "write_text"), Some(o)) if first_downloaded => o.text.clone(),
                _ => None,
            },
        };
        if let Some(p) = path {
            self.downloads.record(&p, self.src, range.start);
        }
    }

    /// A downloaded file (download `i`) is run by the call at `range`.
    fn download_run(&mut self, i: usize, how: &str, range: &Range<usize>) {
        let msg = self.downloads.message(i, how, self.src, range.start);
        self.push("exec.download-and-run", Risk::High, msg, range.clone());
    }

    /// A command (as words) that runs a file downloaded earlier.
    fn command_runs_download(&mut self, words: &[String], how: &str, range: &Range<usize>) {
        if let Some(i) = self.downloads.run_by(words) {
            self.download_run(i, how, range);
        }
    }

    /// The words of a literal split into an argument list:
    /// `"a b".split()`, `"a b".split(" ")`, `shlex.split("a 'b c'")`.
    fn split_words(&mut self, node: Node<'t>) -> Option<Vec<String>> {
        if kind(node) != "call" {
            return None;
        }
        let f = node.child_by_field_id(F.function)?;
        let (pos, kw) = self.args_of(node);
        if !kw.is_empty() {
            return None;
        }
        if self.resolve(f).is_some_and(|(q, _)| q == "shlex.split")
            && let [arg] = pos.as_slice()
        {
            return super::split_shell_words(&self.eval(*arg).text?);
        }
        if kind(f) == "attribute"
            && f.child_by_field_id(F.attribute)
                .is_some_and(|a| self.text(a) == "split")
        {
            let text = self.eval(f.child_by_field_id(F.object)?).text?;
            return match pos.as_slice() {
                [] => Some(text.split_whitespace().map(str::to_string).collect()),
                [sep] => {
                    let sep = self.eval(*sep).text.filter(|s| !s.is_empty())?;
                    Some(text.split(sep.as_str()).map(str::to_string).collect())
                }
                _ => None,
            };
        }
        None
    }

    fn dynamic_code(&mut self, q: &str, v: &Val, at: Range<usize>, range: &Range<usize>) {
        if v.taint & T_NET != 0 {
            self.push(
                "python.remote-shell",
                Risk::Critical,
                format!("{q} runs code received over a network socket"),
                range.clone(),
            );
        } else if v.taint & T_DOWNLOAD != 0 {
            self.push(
                "exec.download-and-run",
                Risk::High,
                format!("{q} runs code downloaded from the network"),
                range.clone(),
            );
        } else if v.taint & T_DECODE != 0 {
            self.push(
                "exec.decode-and-run",
                Risk::High,
                format!("{q} runs decoded (hidden) code"),
                range.clone(),
            );
        }
        match &v.text {
            Some(code) => {
                self.push(
                    "python.exec-string",
                    Risk::Low,
                    format!("{q} runs code from a string"),
                    range.clone(),
                );
                self.cx.nested(PY, code, at);
            }
            None if v.taint & (T_NET | T_DOWNLOAD | T_DECODE) == 0 => {
                self.push(
                    "exec.dynamic-code",
                    Risk::Medium,
                    format!("{q} runs code built at run time, which cannot be checked"),
                    range.clone(),
                );
            }
            None => {}
        }
    }

    fn deletion(
        &mut self,
        v: &Val,
        recursive: bool,
        range: &Range<usize>,
        what: &str,
        call: Node<'t>,
    ) {
        match v.path() {
            Some(p) if p.contains(FOUND) => {
                let (risk, rule, msg) = self.found_deletion(p, call);
                if risk > Risk::None {
                    self.push(rule, risk, msg, range.clone());
                }
            }
            Some(p) => {
                let (risk, rule, msg) = paths::deletion_risk_in(self.cwd.as_deref(), p, recursive);
                if risk > Risk::None {
                    self.push(rule, risk, msg, range.clone());
                }
            }
            None => {
                if recursive {
                    self.push(
                        "destroy.dynamic-target",
                        Risk::Medium,
                        format!("{what} deletes a directory known only at run time"),
                        range.clone(),
                    );
                } else {
                    self.push(
                        "delete.files",
                        Risk::Low,
                        format!("{what} deletes files"),
                        range.clone(),
                    );
                }
            }
        }
    }

    /// Deleting the files a walk of ROOT finds (`p` is `ROOT/<found>…`):
    /// rated like `find ROOT -delete`, whose matches a filter narrows; an
    /// unfiltered walk of the whole filesystem (or every home) is as bad as
    /// deleting it.
    fn found_deletion(&mut self, p: &str, call: Node<'t>) -> (Risk, &'static str, String) {
        let i = p.find(FOUND).unwrap_or(p.len());
        let root = p[..i].trim_end_matches('/');
        let root = match root {
            "" if p.starts_with('/') => "/",
            "" => ".",
            r => r,
        };
        let after = p.get(i + FOUND.len()..).unwrap_or("");
        let by_pattern = after
            .replace(paths::DYNAMIC, "")
            .chars()
            .any(|c| !matches!(c, '/' | '*'));
        let (risk, rule, msg) = paths::filtered_deletion_risk(root);
        if by_pattern || self.filtered_in_loop(call) {
            return (risk, rule, msg);
        }
        let everything = match paths::classify_in(self.cwd.as_deref(), root).scope {
            paths::Scope::Root => Some("the whole filesystem"),
            paths::Scope::AllHomes => Some("every user's home directory"),
            _ => None,
        };
        if let Some(what) = everything {
            return (
                Risk::Critical,
                "destroy.broad",
                format!("deletes every file it finds under {root} ({what})"),
            );
        }
        (
            risk,
            rule,
            format!("deletes every file it finds under {root}"),
        )
    }

    /// Whether the call `n` runs for only some of the files a loop finds: it
    /// sits under an `if` inside the loop (other than an "is it a file"
    /// check), the loop body has a `continue`, or a comprehension filters.
    fn filtered_in_loop(&self, n: Node<'t>) -> bool {
        let mut seen_if = false;
        let mut cur = n.parent();
        while let Some(p) = cur {
            match kind(p) {
                "if_statement" | "conditional_expression" | "boolean_operator" => {
                    let cond = p
                        .child_by_field_id(F.condition)
                        .map(|c| self.text(c))
                        .unwrap_or("");
                    let only_kind_check =
                        ["is_file", "isfile", "exists", "is_dir", "isdir", "islink"]
                            .iter()
                            .any(|k| cond.contains(k))
                            && !cond.contains(" and ")
                            && !cond.contains(" or ");
                    seen_if |= !only_kind_check;
                }
                "for_statement" => {
                    let body = p
                        .child_by_field_id(F.body)
                        .map(|b| self.text(b))
                        .unwrap_or("");
                    if seen_if || body.contains("continue") {
                        return true;
                    }
                }
                "list_comprehension"
                | "set_comprehension"
                | "dictionary_comprehension"
                | "generator_expression" => {
                    let mut c = p.walk();
                    if p.named_children(&mut c).any(|k| kind(k) == "if_clause") {
                        return true;
                    }
                }
                "function_definition" | "class_definition" | "module" => break,
                _ => {}
            }
            cur = p.parent();
        }
        false
    }

    fn write_target(&mut self, p: &str, range: &Range<usize>, verb: &str) {
        if let Some((risk, rule, msg)) = paths::write_risk_in(self.cwd.as_deref(), p, verb) {
            self.push(rule, risk, msg, range.clone());
        }
        let class = paths::classify_in(self.cwd.as_deref(), p);
        self.cx.note_write(p, &class, verb, PY, range.clone());
    }

    fn chmod(&mut self, path: &str, mode_src: &str, range: &Range<usize>) {
        let m = mode_src.trim().to_ascii_lowercase();
        let value = if let Some(o) = m.strip_prefix("0o") {
            u32::from_str_radix(o, 8).ok()
        } else {
            m.parse::<u32>().ok()
        };
        let setuid = m.contains("s_isuid")
            || m.contains("s_isgid")
            || value.is_some_and(|v| v & 0o6000 != 0);
        let world = m.contains("s_iwoth") || value.is_some_and(|v| v & 0o002 != 0);
        let c = paths::classify_in(self.cwd.as_deref(), path);
        let system = matches!(
            c.scope,
            paths::Scope::Root | paths::Scope::SystemTop | paths::Scope::System
        );
        if setuid {
            self.push(
                "privilege.setuid",
                Risk::High,
                format!("makes {path} run with its owner's (often root's) privileges"),
                range.clone(),
            );
        } else if world && system {
            self.push(
                "privilege.chmod-system",
                Risk::High,
                format!("makes the system path {path} writable by everyone"),
                range.clone(),
            );
        }
    }
}

/// Process starters taking each argument as its own parameter: `os.execl*`,
/// `os.spawnl*` and `asyncio.create_subprocess_exec`.
fn list_form_exec(q: &str) -> bool {
    q == "asyncio.create_subprocess_exec"
        || q.strip_prefix("os.exec")
            .or_else(|| q.strip_prefix("os.spawn"))
            .is_some_and(|rest| rest.starts_with('l'))
}

/// Functions of the `socket` module that only look at this machine or
/// convert values (`socket.gethostname()`): no traffic leaves.
fn is_local_socket_call(q: &str) -> bool {
    matches!(
        q,
        "socket.gethostname"
            | "socket.inet_aton"
            | "socket.inet_ntoa"
            | "socket.inet_pton"
            | "socket.inet_ntop"
            | "socket.htons"
            | "socket.htonl"
            | "socket.ntohs"
            | "socket.ntohl"
            | "socket.if_nameindex"
            | "socket.if_nametoindex"
            | "socket.if_indextoname"
            | "socket.getdefaulttimeout"
            | "socket.setdefaulttimeout"
    )
}

/// `q` is `module` or an attribute of it.
fn in_module(q: &str, module: &str) -> bool {
    q.strip_prefix(module).is_some_and(|r| r.starts_with('.'))
}

fn is_sensitive(q: &str) -> bool {
    SHELL_STRING_CALLS.contains(&q)
        || ARGV_CALLS.contains(&q)
        || matches!(
            q,
            "eval"
                | "exec"
                | "compile"
                | "__import__"
                | "shutil.rmtree"
                | "os.remove"
                | "os.unlink"
                | "open"
                | "os.execv"
                | "os.execl"
                | "os.execvp"
                | "os.popen"
                | "importlib.import_module"
        )
        || q.starts_with("os.exec")
        || q.starts_with("os.spawn")
        || q.starts_with("subprocess.")
        || q.starts_with("socket.")
        || q.starts_with("ctypes.")
}

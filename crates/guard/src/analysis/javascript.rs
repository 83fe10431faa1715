//! JavaScript (Node.js) analysis.
//!
//! Calls are resolved through `require`/`import` bindings (including
//! destructuring and `process.mainModule.require`), computed member names
//! with constant keys (`cp['exec' + 'Sync']`) and global lookups
//! (`global['ev' + 'al']`). A small evaluator computes constant strings and
//! paths (`os.homedir()`, `path.join`, template strings, joined arrays of
//! constants, `process.env.HOME`, base64 literals) and tracks data from files, the environment, decoding and
//! the network. Literal shell commands given to `child_process` are
//! re-analysed with the shell rules.

use super::{Ctx, NamedWalk, Risk, paths, text};
use interlock_protocol::Language;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;
use std::sync::LazyLock;
use tree_sitter::Node;

const JS: Language = Language::Javascript;

struct Fields {
    alias: u16,
    arguments: u16,
    body: u16,
    constructor: u16,
    function: u16,
    index: u16,
    key: u16,
    left: u16,
    name: u16,
    object: u16,
    operator: u16,
    parameter: u16,
    parameters: u16,
    property: u16,
    right: u16,
    source: u16,
    value: u16,
}

/// Field ids of the JavaScript grammar.
static F: LazyLock<Fields> = LazyLock::new(|| {
    let g = super::grammar(JS);
    Fields {
        alias: g.field("alias"),
        arguments: g.field("arguments"),
        body: g.field("body"),
        constructor: g.field("constructor"),
        function: g.field("function"),
        index: g.field("index"),
        key: g.field("key"),
        left: g.field("left"),
        name: g.field("name"),
        object: g.field("object"),
        operator: g.field("operator"),
        parameter: g.field("parameter"),
        parameters: g.field("parameters"),
        property: g.field("property"),
        right: g.field("right"),
        source: g.field("source"),
        value: g.field("value"),
    }
});

/// `n.kind()`, through the kind table.
#[inline]
fn kind(n: Node<'_>) -> &str {
    super::grammar(JS).kind(n)
}

const T_DOWNLOAD: u16 = 1;
const T_DECODE: u16 = 2;
const T_INPUT: u16 = 4;
const T_FILE: u16 = 8;
const T_ENV: u16 = 16;
const T_CRED: u16 = 32;

#[derive(Debug, Clone, Default)]
struct Val {
    text: Option<String>,
    taint: u16,
    /// A module or a member of one (`child_process`, `fs.rmSync`).
    module: Option<String>,
    indirect: bool,
    /// An object literal with `recursive: true` / `shell: true`.
    recursive: bool,
    shell: bool,
    /// When `text` is unknown but some of it is not: the string with
    /// [`paths::DYNAMIC`] for the run-time parts (`'/etc/' + name`).
    shape: Option<String>,
    /// An object literal's properties that hold modules or module members
    /// (`{run: cp.execSync}`), so `o.run(…)` resolves; shared, as values
    /// are cloned often.
    props: Option<Rc<Vec<(String, Val)>>>,
    /// A file write stream (`fs.createWriteStream(p)`): the path.
    stream: Option<String>,
    /// Read from a file downloaded earlier in the block (see
    /// [`super::Downloads`]).
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
    fn module(m: impl Into<String>, indirect: bool) -> Val {
        Val {
            module: Some(m.into()),
            indirect,
            ..Val::default()
        }
    }
}

#[derive(Default)]
struct Facts {
    net_socket: Option<Range<usize>>,
    shell_spawned: bool,
    network: bool,
    pipes: bool,
}

struct Js<'c, 'a, 't> {
    cx: &'c mut Ctx<'a>,
    cursors: super::Cursors<'t>,
    /// Evaluations done since the variables last changed (calls are
    /// evaluated again by every enclosing call).
    memo: super::Memo<Val>,
    src: &'c str,
    vars: HashMap<String, Val>,
    facts: Facts,
    /// A sensitive directory the code changed into (`process.chdir('/etc')`):
    /// relative paths are also rated under it.
    cwd: Option<String>,
    /// How many more times loop bodies may be analysed again, once per
    /// value of their loop variable.
    loop_budget: usize,
    too_deep: bool,
    /// Files written with downloaded content so far.
    downloads: super::Downloads,
    /// Modules the known-safe gate already reported.
    gated: Vec<String>,
}

pub(crate) fn analyze(cx: &mut Ctx, code: &str) {
    let Some(tree) = super::parse(JS, code) else {
        cx.push(
            "input.unparsable",
            Risk::Medium,
            "the JavaScript code could not be parsed, so it could not be checked".into(),
            JS,
            0..code.len(),
        );
        return;
    };
    let root = tree.root_node();
    let mut js = Js {
        cx: &mut *cx,
        cursors: super::Cursors::new(),
        memo: super::Memo::new(),
        src: code,
        vars: HashMap::new(),
        facts: Facts::default(),
        cwd: None,
        loop_budget: super::LOOP_BUDGET,
        too_deep: false,
        downloads: super::Downloads::default(),
        gated: Vec::new(),
    };
    if root.has_error() {
        let at = super::first_error(root)
            .map(|n| n.byte_range())
            .unwrap_or(0..0);
        js.cx.push(
            "input.parse-error",
            Risk::Medium,
            "part of the JavaScript code could not be parsed, so it may not have been fully checked"
                .into(),
            JS,
            at,
        );
    }
    // A `#!/usr/bin/env zx` script has zx's `$` as a global.
    if code.starts_with("#!") && code.lines().next().is_some_and(|l| l.contains("zx")) {
        js.set_var("$".into(), Val::module("zx.$", false));
    }
    js.walk(root);
    js.finish();
    if js.too_deep {
        js.cx.push(
            "input.too-deep",
            Risk::High,
            "the code is nested too deeply to be checked completely".into(),
            JS,
            0..0,
        );
    }
    drop(js);
    cx.retire(tree);
}

fn norm_module(m: &str) -> String {
    let m = m.strip_prefix("node:").unwrap_or(m);
    match m {
        "fs/promises" | "fs-extra" | "graceful-fs" => "fs".into(),
        "child-process-promise" => "child_process".into(),
        _ => m.to_string(),
    }
}

/// Member paths that are `require` under another name
/// (`process.mainModule.require`, `module.constructor._load`).
fn is_loader(q: &str) -> bool {
    matches!(
        q,
        "process.mainModule.require"
            | "process.mainModule.constructor._load"
            | "module.require"
            | "module._load"
            | "module.Module._load"
            | "module.constructor._load"
            | "require.main.require"
    )
}

/// Library functions that are `child_process` or `fs` calls under another
/// name: `(module, method)` to analyse them as.
fn library_alias(q: &str) -> Option<(&'static str, &'static str)> {
    Some(match q {
        "cross-spawn" | "cross-spawn.spawn" => ("child_process", "spawn"),
        "cross-spawn.sync" => ("child_process", "spawnSync"),
        // execa(file, args, opts) spawns without a shell, like spawn.
        "execa" | "execa.execa" | "execa.execaSync" | "execa.sync" => ("child_process", "spawn"),
        "execa.execaNode" | "execa.node" => ("child_process", "fork"),
        "execa.execaCommand" | "execa.execaCommandSync" | "execa.command" | "execa.commandSync" => {
            ("child_process", "exec")
        }
        "shelljs.exec" => ("child_process", "exec"),
        // rimraf deletes recursively, like fs-extra's remove.
        "rimraf" | "rimraf.sync" | "rimraf.rimraf" | "rimraf.rimrafSync" | "rimraf.native"
        | "rimraf.nativeSync" | "rimraf.manual" | "rimraf.manualSync" | "rimraf.windows"
        | "rimraf.posix" | "rimraf.moveRemove" => ("fs", "remove"),
        _ => return None,
    })
}

/// Tags whose template literal is a shell command (zx and execa's `$`).
fn is_shell_tag(q: &str) -> bool {
    matches!(
        q,
        "zx.$" | "execa.$" | "zx.$.sync" | "execa.$.sync" | "execa.$.s"
    )
}

/// What a function built from constant code returns when its body only
/// returns a global (`new Function("return process")`): that global's
/// module name.
fn returned_global(body: &str) -> Option<&'static str> {
    let e = body.trim().strip_prefix("return")?;
    let e = e.trim().trim_end_matches(';').trim();
    Some(match e {
        "this" | "global" | "globalThis" | "window" | "self" => "global",
        "process" => "process",
        "require" => "require",
        "module" => "module",
        _ => return None,
    })
}

/// Prefix of the module name of a function built by `Function(…)` that
/// returns a global (see [`returned_global`]).
const FN_RETURNS: &str = "fn-returns:";

/// The value of property `p` of an object literal value, when tracked.
fn prop_of(o: &Val, p: &str) -> Option<Val> {
    o.props
        .as_ref()?
        .iter()
        .find(|(k, _)| k == p)
        .map(|(_, v)| v.clone())
}

/// Stands for an interpolation known only at run time in a shell template:
/// a quoted shell variable, so the shell rules treat it as they treat
/// `"$x"` (next to other text, an empty value changes the path: zx turns
/// `/${x}` with an empty `x` into `/`).
const TEMPLATE_HOLE: &str = paths::HOLE;

fn join_path(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        if p.starts_with('/') || out.is_empty() {
            out = p.clone();
        } else if p.is_empty() {
            continue;
        } else if out.ends_with('/') {
            out.push_str(p);
        } else {
            out.push('/');
            out.push_str(p);
        }
    }
    out
}

const NET_PREFIXES: &[&str] = &[
    "net.",
    "tls.",
    "dgram.",
    "http.",
    "https.",
    "http2.",
    "axios",
    "got",
    "node-fetch",
    "superagent",
    "request",
    "undici",
    "ws",
    "socket.io-client",
    "ftp",
    "ssh2",
];

impl<'t> NamedWalk<'t> for Js<'_, '_, 't> {
    fn cursors(&mut self) -> &mut super::Cursors<'t> {
        &mut self.cursors
    }

    fn walk(&mut self, n: Node<'t>) {
        Js::walk(self, n)
    }
}

impl<'c, 'a, 't> Js<'c, 'a, 't> {
    fn text(&self, n: Node<'t>) -> &'c str {
        self.src.get(n.byte_range()).unwrap_or("")
    }

    fn push(&mut self, rule: &'static str, risk: Risk, msg: String, range: Range<usize>) {
        self.cx.push(rule, risk, msg, JS, range);
    }

    /// Binds a variable (cached evaluations may depend on it).
    fn set_var(&mut self, name: String, v: Val) {
        self.vars.insert(name, v);
        self.memo.clear();
    }

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
            // A string literal holds only text: skip its tokens (noting, as
            // walking them would, a depth overflow).
            "string" if !n.has_error() => {
                if self.cx.nest >= super::MAX_TREE_DEPTH && n.named_child_count() > 0 {
                    self.too_deep = true;
                }
            }
            "variable_declarator" => {
                self.walk_children(n);
                self.declarator(n);
            }
            "assignment_expression" => {
                self.walk_children(n);
                if let (Some(l), Some(r)) =
                    (n.child_by_field_id(F.left), n.child_by_field_id(F.right))
                    && kind(l) == "identifier"
                {
                    let v = self.eval(r);
                    self.set_var(self.text(l).to_string(), v);
                }
            }
            "import_statement" => self.import(n),
            "for_in_statement" if self.unroll_for_of(n) => {}
            "call_expression" if self.unroll_for_each(n) => {}
            "call_expression" | "new_expression" => {
                // The call first: callbacks passed to it run after it starts
                // (`net.connect(…, () => c.end(data))`).
                self.call(n);
                let saved = self.bind_then_callback(n);
                self.walk_children(n);
                self.restore(saved);
            }
            "identifier" => {
                if self.text(n) == "eval"
                    && let Some(p) = n.parent()
                    && kind(p) == "arguments"
                {
                    self.push(
                        "exec.dynamic-code",
                        Risk::Medium,
                        "passes eval as a function: runs code built at run time".into(),
                        n.byte_range(),
                    );
                }
            }
            // `process.env` passed to a sink is handled at the call.
            _ => self.walk_children(n),
        }
    }

    /// The values of a literal array of known strings (`['dist', 'build']`),
    /// within the loop limits; the budget is spent when they are returned.
    fn loop_values(&mut self, array: Node<'t>) -> Option<Vec<Val>> {
        if kind(array) != "array" {
            return None;
        }
        let elems = self.cursors.collect(array, true);
        let extra = elems.len().checked_sub(1)?;
        if elems.len() > super::MAX_LOOP_VALUES || extra > self.loop_budget {
            return None;
        }
        let mut values = Vec::with_capacity(elems.len());
        for e in elems {
            let v = self.eval(e);
            if kind(e) == "spread_element" || v.text.is_none() || v.taint != 0 {
                return None;
            }
            values.push(v);
        }
        self.loop_budget -= extra;
        Some(values)
    }

    /// Analyses `body` once per value bound to `name`, then restores what
    /// `name` was before (`const`/`let` loop variables do not outlive the
    /// loop).
    fn unrolled(&mut self, name: &str, values: Vec<Val>, body: Node<'t>) {
        let before = self.vars.get(name).cloned();
        for v in values {
            self.set_var(name.to_string(), v);
            self.walk(body);
        }
        match before {
            Some(v) => self.set_var(name.to_string(), v),
            None => {
                self.vars.remove(name);
                self.memo.clear();
            }
        }
    }

    /// `for (const d of ['dist', '/etc']) …`: the body is analysed once per
    /// value, as the shell and Python analysers do. `false` when the loop is
    /// not of that form (it is walked as usual).
    fn unroll_for_of(&mut self, n: Node<'t>) -> bool {
        let (Some(left), Some(right), Some(body)) = (
            n.child_by_field_id(F.left),
            n.child_by_field_id(F.right),
            n.child_by_field_id(F.body),
        ) else {
            return false;
        };
        let of = n
            .child_by_field_id(F.operator)
            .is_some_and(|o| self.text(o) == "of");
        if !of || kind(left) != "identifier" {
            return false;
        }
        let Some(values) = self.loop_values(right) else {
            return false;
        };
        let name = self.text(left).to_string();
        self.unrolled(&name, values, body);
        true
    }

    /// `['dist', 'build'].forEach(d => …)`: as [`Self::unroll_for_of`].
    fn unroll_for_each(&mut self, n: Node<'t>) -> bool {
        let Some(f) = n.child_by_field_id(F.function) else {
            return false;
        };
        if kind(f) != "member_expression"
            || f.child_by_field_id(F.property)
                .is_none_or(|p| self.text(p) != "forEach")
        {
            return false;
        }
        let Some(array) = f.child_by_field_id(F.object) else {
            return false;
        };
        let Some(args) = n.child_by_field_id(F.arguments) else {
            return false;
        };
        let args = self.cursors.collect(args, true);
        let [callback] = args.as_slice() else {
            return false;
        };
        if !matches!(kind(*callback), "arrow_function" | "function_expression") {
            return false;
        }
        let param = match callback.child_by_field_id(F.parameter) {
            Some(p) => Some(p),
            None => callback.child_by_field_id(F.parameters).and_then(|ps| {
                let ps = self.cursors.collect(ps, true);
                match ps.as_slice() {
                    [p] => Some(*p),
                    _ => None,
                }
            }),
        };
        let (Some(param), Some(body)) = (param, callback.child_by_field_id(F.body)) else {
            return false;
        };
        if kind(param) != "identifier" {
            return false;
        }
        let Some(values) = self.loop_values(array) else {
            return false;
        };
        let name = self.text(param).to_string();
        self.unrolled(&name, values, body);
        true
    }

    fn finish(&mut self) {
        if let Some(r) = self.facts.net_socket.clone()
            && self.facts.shell_spawned
            && self.facts.pipes
        {
            self.push(
                "javascript.reverse-shell",
                Risk::Critical,
                "pipes a network socket into a shell (a reverse shell: someone else gets control of this machine)".into(),
                r,
            );
        }
    }

    fn import(&mut self, n: Node<'t>) {
        let Some(source) = n.child_by_field_id(F.source) else {
            return;
        };
        let module = norm_module(&self.eval(source).text.unwrap_or_default());
        self.global_module(&module, n.byte_range());
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            match kind(x) {
                "import_clause" => {
                    for ch in self.cursors.collect(x, true) {
                        if kind(ch) == "identifier" {
                            self.set_var(
                                self.text(ch).to_string(),
                                Val::module(module.clone(), false),
                            );
                        } else {
                            stack.push(ch);
                        }
                    }
                }
                "namespace_import" => {
                    for ch in self.cursors.collect(x, true) {
                        if kind(ch) == "identifier" {
                            self.set_var(
                                self.text(ch).to_string(),
                                Val::module(module.clone(), false),
                            );
                        }
                    }
                }
                "import_specifier" => {
                    let name = x
                        .child_by_field_id(F.name)
                        .map(|n| self.text(n).to_string());
                    let alias = x
                        .child_by_field_id(F.alias)
                        .map(|n| self.text(n).to_string());
                    if let Some(name) = name {
                        let local = alias.unwrap_or_else(|| name.clone());
                        self.set_var(local, Val::module(format!("{module}.{name}"), false));
                    }
                }
                _ => {
                    for ch in self.cursors.collect(x, true) {
                        stack.push(ch);
                    }
                }
            }
        }
    }

    /// The known-safe gate for one loaded module (see
    /// `known_safe::js_module`).
    fn gate_module(&mut self, module: &str, at: Range<usize>) {
        if let Err(why) = super::known_safe::js_module(module)
            && !self.gated.iter().any(|g| g == module)
        {
            self.gated.push(module.to_string());
            self.push("javascript.not-known-safe", Risk::Medium, why, at);
        }
    }

    /// Modules that define globals when loaded: `zx/globals` (`$`) and
    /// `shelljs/global` (`exec`, `rm`, … as globals).
    fn global_module(&mut self, module: &str, at: Range<usize>) {
        self.gate_module(module, at);
        match module {
            "zx/globals" => self.set_var("$".into(), Val::module("zx.$", false)),
            "shelljs/global" => {
                for f in ["exec", "rm"] {
                    self.set_var(f.into(), Val::module(format!("shelljs.{f}"), false));
                }
            }
            _ => {}
        }
    }

    fn declarator(&mut self, n: Node<'t>) {
        let (Some(name), Some(value)) = (n.child_by_field_id(F.name), n.child_by_field_id(F.value))
        else {
            return;
        };
        let v = self.eval(value);
        self.bind_pattern(name, v);
    }

    /// `import('child_process').then(cp => …)` (or `({ execSync }) => …`):
    /// the callback's first parameter is the module, as if it had been
    /// declared with `const cp = require('child_process')`. Returns the
    /// outer bindings to restore once the call has been walked.
    fn bind_then_callback(&mut self, n: Node<'t>) -> Vec<(String, Option<Val>)> {
        let Some(f) = n.child_by_field_id(F.function) else {
            return Vec::new();
        };
        if kind(f) != "member_expression"
            || f.child_by_field_id(F.property)
                .is_none_or(|p| self.text(p) != "then")
        {
            return Vec::new();
        }
        let Some(obj) = f.child_by_field_id(F.object) else {
            return Vec::new();
        };
        let v = self.eval(obj);
        if v.module.is_none() {
            return Vec::new();
        }
        let Some(callback) = self.arg_nodes(n).first().copied() else {
            return Vec::new();
        };
        let param = match kind(callback) {
            "arrow_function" | "function_expression" | "function" => {
                callback.child_by_field_id(F.parameter).or_else(|| {
                    callback
                        .child_by_field_id(F.parameters)
                        .and_then(|ps| ps.named_child(0))
                })
            }
            _ => None,
        };
        let Some(param) = param else {
            return Vec::new();
        };
        let mut names = Vec::new();
        if kind(param) == "identifier" {
            names.push(self.text(param).to_string());
        } else {
            for k in self.cursors.collect(param, true) {
                match kind(k) {
                    "shorthand_property_identifier_pattern" => names.push(self.text(k).to_string()),
                    "pair_pattern" => {
                        if let Some(x) = k.child_by_field_id(F.value) {
                            names.push(self.text(x).to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        let saved = names
            .into_iter()
            .map(|name| {
                let old = self.vars.get(&name).cloned();
                (name, old)
            })
            .collect();
        self.bind_pattern(param, v);
        saved
    }

    /// Puts back bindings saved by [`Self::bind_then_callback`].
    fn restore(&mut self, saved: Vec<(String, Option<Val>)>) {
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

    /// Binds `v` to a declaration's name: an identifier, or the properties
    /// an object pattern takes from it (`const { exec } = require(…)`).
    fn bind_pattern(&mut self, name: Node<'t>, v: Val) {
        match kind(name) {
            "identifier" => {
                self.set_var(self.text(name).to_string(), v);
            }
            "object_pattern" => {
                let base = v.module.clone();
                let kids = self.cursors.collect(name, true);
                for k in kids {
                    let (prop, local) = match kind(k) {
                        "shorthand_property_identifier_pattern" => {
                            let t = self.text(k).to_string();
                            (t.clone(), t)
                        }
                        "pair_pattern" => {
                            let key = k.child_by_field_id(F.key).map(|x| self.text(x).to_string());
                            let val = k
                                .child_by_field_id(F.value)
                                .map(|x| self.text(x).to_string());
                            match (key, val) {
                                (Some(a), Some(b)) => (a, b),
                                _ => continue,
                            }
                        }
                        _ => continue,
                    };
                    let val = match &base {
                        Some(m) => Val::module(format!("{m}.{prop}"), v.indirect),
                        None => prop_of(&v, &prop).unwrap_or_else(|| Val::taint(v.taint)),
                    };
                    self.set_var(local, val);
                }
            }
            _ => {}
        }
    }

    // -----------------------------------------------------------------
    // Evaluation
    // -----------------------------------------------------------------

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
            "call_expression"
                | "new_expression"
                | "member_expression"
                | "subscript_expression"
                | "binary_expression"
                | "object"
                | "array"
                | "arguments"
        );
        if !cache {
            self.cx.nest += 1;
            let out = self.eval_inner(n);
            self.cx.nest -= 1;
            return out;
        }
        let key = n.id();
        if let Some(v) = self.memo.get(key, nest) {
            return v;
        }
        let saved = self.memo.begin(nest);
        self.cx.nest += 1;
        let out = self.eval_inner(n);
        self.cx.nest -= 1;
        self.memo.end(key, nest, saved, &out);
        out
    }

    fn eval_inner(&mut self, n: Node<'t>) -> Val {
        match kind(n) {
            "string" => {
                let raw = self.text(n);
                let mut chars = raw.chars();
                chars.next();
                chars.next_back();
                let inner = chars.as_str();
                Val::text(text::unescape_c(inner))
            }
            "template_string" => {
                let mut out = String::new();
                let mut known = true;
                // `out` with a marker for each run-time part, while `known` holds.
                let mut shape = String::new();
                let mut taint = 0;
                let kids = self.cursors.collect(n, true);
                for k in kids {
                    match kind(k) {
                        "string_fragment" => {
                            out.push_str(self.text(k));
                            shape.push_str(self.text(k));
                        }
                        "escape_sequence" => {
                            let e = text::unescape_c(self.text(k));
                            out.push_str(&e);
                            shape.push_str(&e);
                        }
                        "template_substitution" => {
                            let v = k.named_child(0).map(|e| self.eval(e)).unwrap_or_default();
                            taint |= v.taint;
                            shape.push_str(v.path().unwrap_or(paths::DYNAMIC));
                            match v.text {
                                Some(t) => out.push_str(&t),
                                None => known = false,
                            }
                        }
                        _ => {}
                    }
                }
                Val {
                    text: known.then_some(out),
                    taint,
                    shape: (!known && shape.len() <= 4096).then_some(shape),
                    ..Val::default()
                }
            }
            "binary_expression" => {
                let (Some(l), Some(r)) =
                    (n.child_by_field_id(F.left), n.child_by_field_id(F.right))
                else {
                    return Val::default();
                };
                let op = n
                    .child_by_field_id(F.operator)
                    .map(|o| self.text(o))
                    .unwrap_or("");
                let a = self.eval(l);
                let b = self.eval(r);
                let text = match (op, &a.text, &b.text) {
                    ("+", Some(x), Some(y)) => Some(format!("{x}{y}")),
                    _ => None,
                };
                let shape = if op == "+" && text.is_none() {
                    paths::shape_of([a.path(), b.path()], "")
                } else {
                    None
                };
                Val {
                    text,
                    taint: a.taint | b.taint,
                    shape,
                    ..Val::default()
                }
            }
            "parenthesized_expression" | "await_expression" => {
                n.named_child(0).map(|x| self.eval(x)).unwrap_or_default()
            }
            "identifier" => {
                let t = self.text(n);
                if let Some(v) = self.vars.get(t) {
                    return v.clone();
                }
                match t {
                    "__dirname" | "__filename" => Val::text("."),
                    "global" | "globalThis" | "window" | "self" => Val::module("global", false),
                    "Buffer" | "JSON" | "Object" | "String" | "process" | "console" | "Math"
                    | "Promise" | "fetch" | "atob" | "btoa" | "eval" | "Function" | "require"
                    | "setTimeout" | "setInterval" | "XMLHttpRequest" | "WebSocket" | "Reflect"
                    | "module" => Val::module(t, false),
                    _ => Val::default(),
                }
            }
            "member_expression" => {
                let t = self.text(n);
                match t {
                    "process.env.HOME" | "process.env.USERPROFILE" => return Val::text("~"),
                    "process.env" => return Val::taint(T_ENV),
                    "process.argv" => return Val::taint(T_INPUT),
                    "process.mainModule.require" | "module.require" => {
                        return Val::module("require", false);
                    }
                    _ => {}
                }
                let (Some(obj), Some(prop)) = (
                    n.child_by_field_id(F.object),
                    n.child_by_field_id(F.property),
                ) else {
                    return Val::default();
                };
                let o = self.eval(obj);
                let p = self.text(prop).to_string();
                if let Some(m) = o.module {
                    let q = if m == "global" { p } else { format!("{m}.{p}") };
                    // `globalThis.process.mainModule.require` is require.
                    if is_loader(&q) {
                        return Val::module("require", o.indirect);
                    }
                    return Val::module(q, o.indirect);
                }
                if let Some(v) = prop_of(&o, &p) {
                    return v;
                }
                if t.starts_with("process.env.") {
                    return Val::taint(T_ENV);
                }
                Val::taint(o.taint)
            }
            "subscript_expression" => {
                let (Some(obj), Some(idx)) =
                    (n.child_by_field_id(F.object), n.child_by_field_id(F.index))
                else {
                    return Val::default();
                };
                let o = self.eval(obj);
                let k = self.eval(idx);
                if let (Some(m), Some(key)) = (&o.module, &k.text) {
                    let q = if m == "global" {
                        key.clone()
                    } else {
                        format!("{m}.{key}")
                    };
                    if is_loader(&q) {
                        return Val::module("require", true);
                    }
                    return Val::module(q, true);
                }
                if let Some(key) = &k.text
                    && let Some(v) = prop_of(&o, key)
                {
                    return v;
                }
                if self.text(obj) == "process.env" {
                    return if k.text.as_deref() == Some("HOME") {
                        Val::text("~")
                    } else {
                        Val::taint(T_ENV)
                    };
                }
                Val::taint(o.taint | k.taint)
            }
            "call_expression" => self.eval_call(n),
            "new_expression" => {
                let c = n
                    .child_by_field_id(F.constructor)
                    .map(|c| self.eval(c))
                    .unwrap_or_default();
                let mut v = Val::taint(c.taint);
                if c.module.as_deref() == Some("Function")
                    && let Some(g) = self.function_returning_global(n)
                {
                    return Val::module(format!("{FN_RETURNS}{g}"), true);
                }
                if let Some(m) = c.module {
                    v.module = Some(format!("new {m}"));
                }
                v
            }
            "object" => {
                let mut v = Val::default();
                let mut props: Vec<(String, Val)> = Vec::new();
                let kids = self.cursors.collect(n, true);
                for k in kids {
                    if kind(k) == "shorthand_property_identifier" {
                        // `{ cp }`: the variable's value under its name.
                        let name = self.text(k);
                        if let Some(x) = self.vars.get(name)
                            && (x.module.is_some() || x.props.is_some())
                        {
                            props.push((name.to_string(), x.clone()));
                        }
                        continue;
                    }
                    if kind(k) == "pair" {
                        let key = k
                            .child_by_field_id(F.key)
                            .map(|x| self.text(x).trim_matches(['"', '\'']).to_string())
                            .unwrap_or_default();
                        let val_node = k.child_by_field_id(F.value);
                        let val_text = val_node.map(|x| self.text(x)).unwrap_or("");
                        if key == "recursive" && val_text == "true" {
                            v.recursive = true;
                        }
                        if key == "shell" && val_text != "false" {
                            v.shell = true;
                        }
                        if let Some(vn) = val_node {
                            let x = self.eval(vn);
                            v.taint |= x.taint;
                            if x.module.is_some() || x.props.is_some() {
                                props.push((key, x));
                            }
                        }
                    } else {
                        v.taint |= self.eval(k).taint;
                    }
                }
                if !props.is_empty() {
                    v.props = Some(Rc::new(props));
                }
                v
            }
            "array" | "arguments" | "spread_element" => {
                let mut taint = 0;
                let kids = self.cursors.collect(n, true);
                for k in kids {
                    taint |= self.eval(k).taint;
                }
                Val::taint(taint)
            }
            "ternary_expression" => Val::default(),
            _ => Val::default(),
        }
    }

    fn callee(&mut self, n: Node<'t>) -> Val {
        let f = n
            .child_by_field_id(F.function)
            .or_else(|| n.child_by_field_id(F.constructor));
        match f {
            // `import('m')` loads a module like `require('m')`.
            Some(f) if kind(f) == "import" => Val::module("require", false),
            Some(f) => {
                let v = self.eval(f);
                if v.module.is_none() && kind(f) == "identifier" {
                    return Val::module(self.text(f), false);
                }
                v
            }
            None => Val::default(),
        }
    }

    /// The function a call really calls and the arguments it gets:
    /// `f.call(self, a, b)`, `f.apply(self, [a, b])` and
    /// `Reflect.apply(f, self, [a, b])` all call `f` with `a, b` (a list
    /// known only at run time stays one unknown argument). The flag says
    /// the call went through one of them.
    fn target(&mut self, n: Node<'t>) -> (Val, Vec<Node<'t>>, bool) {
        let c = self.callee(n);
        let mut args = self.arg_nodes(n);
        if c.module.as_deref() == Some("Reflect.apply") && args.len() >= 2 {
            let f = self.eval(args[0]);
            if f.module.is_some() {
                let list = args.get(2).copied();
                args.clear();
                if let Some(l) = list {
                    self.spread_into(l, &mut args);
                }
                return (f, args, true);
            }
        }
        let Some(f) = n.child_by_field_id(F.function) else {
            return (c, args, false);
        };
        // `f.bind(self, a)(b)` calls `f` with `a, b`.
        if kind(f) == "call_expression"
            && let Some(bf) = f.child_by_field_id(F.function)
            && kind(bf) == "member_expression"
            && bf
                .child_by_field_id(F.property)
                .is_some_and(|p| self.text(p) == "bind")
            && let Some(obj) = bf.child_by_field_id(F.object)
        {
            let inner = self.eval(obj);
            if inner.module.is_some() {
                let mut bound = self.arg_nodes(f);
                if !bound.is_empty() {
                    bound.remove(0);
                }
                bound.extend(args);
                return (inner, bound, true);
            }
        }
        if kind(f) != "member_expression" {
            return (c, args, false);
        }
        let how = f.child_by_field_id(F.property).map(|p| self.text(p));
        // `f.bind(self, a)`: whoever calls the result later runs `f(a)`;
        // checked here, where `a` is visible.
        if how == Some("bind")
            && args.len() > 1
            && let Some(obj) = f.child_by_field_id(F.object)
        {
            let inner = self.eval(obj);
            if inner.module.is_some() {
                return (inner, args[1..].to_vec(), true);
            }
        }
        if !matches!(how, Some("call" | "apply")) {
            return (c, args, false);
        }
        let Some(obj) = f.child_by_field_id(F.object) else {
            return (c, args, false);
        };
        let inner = self.eval(obj);
        let Some(m) = inner.module.as_deref() else {
            return (c, args, false);
        };
        // `f.call.call(g, self, a)` (or `Function.prototype.call.call`):
        // the outer call's `this`, `g`, is what runs, with `a`.
        if how == Some("call") && (m.ends_with(".call") || m.ends_with(".apply")) && args.len() >= 2
        {
            let g = self.eval(args[0]);
            if g.module.is_some() {
                let rest = if m.ends_with(".call") {
                    args.split_off(2)
                } else {
                    let mut out = Vec::new();
                    if let Some(l) = args.get(2).copied() {
                        self.spread_into(l, &mut out);
                    }
                    out
                };
                return (g, rest, true);
            }
        }
        if how == Some("call") {
            if !args.is_empty() {
                args.remove(0);
            }
        } else {
            let list = args.get(1).copied();
            args.clear();
            if let Some(l) = list {
                self.spread_into(l, &mut args);
            }
        }
        (inner, args, true)
    }

    /// The elements of an array literal, or the node itself.
    fn spread_into(&mut self, list: Node<'t>, out: &mut Vec<Node<'t>>) {
        if kind(list) == "array" {
            self.cursors.children(list, true, out);
            out.retain(|x| kind(*x) != "comment");
        } else {
            out.push(list);
        }
    }

    /// `Function("return process")` / `new Function(…)`: the global its
    /// constant body returns.
    fn function_returning_global(&mut self, n: Node<'t>) -> Option<&'static str> {
        let body = *self.arg_nodes(n).last()?;
        returned_global(&self.eval(body).text?)
    }

    fn arg_nodes(&mut self, n: Node<'t>) -> Vec<Node<'t>> {
        let mut out = Vec::new();
        if let Some(a) = n.child_by_field_id(F.arguments) {
            self.cursors.children(a, true, &mut out);
            out.retain(|x| kind(*x) != "comment");
        }
        out
    }

    fn eval_call(&mut self, n: Node<'t>) -> Val {
        let (c, args, _) = self.target(n);
        let q = c.module.clone().unwrap_or_default();
        // zx / execa: `$({cwd: 'src'})` (and `$.sync({…})`) returns the tag
        // with options set, so `$({…})`cmd`` runs `cmd` like `$`cmd``.
        if is_shell_tag(&q)
            && n.child_by_field_id(F.arguments)
                .is_some_and(|a| kind(a) != "template_string")
        {
            return Val::module(q, c.indirect);
        }
        // A function built to return a global, called: that global.
        if let Some(g) = q.strip_prefix(FN_RETURNS) {
            return Val::module(g, true);
        }
        // `f.bind(self)` is `f` (bound leading arguments are not modelled).
        if let Some(f) = n.child_by_field_id(F.function)
            && kind(f) == "member_expression"
            && f.child_by_field_id(F.property)
                .is_some_and(|p| self.text(p) == "bind")
            && let Some(obj) = f.child_by_field_id(F.object)
        {
            let inner = self.eval(obj);
            if inner.module.is_some() && args.len() <= 1 {
                return inner;
            }
        }
        let a0 = args.first().map(|a| self.eval(*a)).unwrap_or_default();
        let mut all = 0;
        for a in &args {
            all |= self.eval(*a).taint;
        }
        let method = q.rsplit('.').next().unwrap_or("");
        match q.as_str() {
            "require" => {
                return match a0.text {
                    Some(m) => Val::module(norm_module(&m), c.indirect),
                    None => Val::default(),
                };
            }
            // createRequire(…) returns a require function.
            "module.createRequire" | "module.Module.createRequire" => {
                return Val::module("require", c.indirect);
            }
            "Function" => {
                if let Some(g) = self.function_returning_global(n) {
                    return Val::module(format!("{FN_RETURNS}{g}"), true);
                }
            }
            "eval" => {
                if let Some(g) = a0
                    .text
                    .as_deref()
                    .and_then(|t| returned_global(&format!("return {t}")))
                {
                    return Val::module(g, true);
                }
            }
            "os.homedir" => return Val::text("~"),
            "os.tmpdir" => return Val::text("/tmp"),
            "process.cwd" => return Val::text("."),
            "path.join" | "path.resolve" | "path.posix.join" => {
                let vals: Vec<Val> = args.iter().map(|a| self.eval(*a)).collect();
                let mut parts = Vec::new();
                for v in &vals {
                    match &v.text {
                        Some(t) => parts.push(t.clone()),
                        None => {
                            return Val {
                                shape: paths::shape_of(vals.iter().map(Val::path), "/"),
                                ..Val::default()
                            };
                        }
                    }
                }
                return Val::text(join_path(&parts));
            }
            "path.normalize" | "String" => return a0,
            "Buffer.from" => {
                let enc = args
                    .get(1)
                    .and_then(|e| self.eval(*e).text)
                    .unwrap_or_default();
                if enc == "base64" || enc == "hex" {
                    let decoded = a0.text.as_deref().and_then(|t| {
                        if enc == "base64" {
                            text::base64_decode(t)
                        } else {
                            text::hex_decode(t)
                        }
                    });
                    return Val {
                        text: decoded.and_then(|b| text::printable(&b)),
                        taint: T_DECODE | a0.taint,
                        ..Val::default()
                    };
                }
                return a0;
            }
            "atob" => {
                return Val {
                    text: a0
                        .text
                        .as_deref()
                        .and_then(text::base64_decode)
                        .and_then(|b| text::printable(&b)),
                    taint: T_DECODE | a0.taint,
                    ..Val::default()
                };
            }
            "JSON.stringify" | "JSON.parse" | "encodeURIComponent" | "Object.entries"
            | "Object.assign" => {
                return Val::taint(all);
            }
            "fetch" => return Val::taint(T_DOWNLOAD),
            _ => {}
        }
        if q.starts_with("fs.")
            && matches!(method, "readFileSync" | "readFile" | "createReadStream")
        {
            let cred = a0
                .path()
                .is_some_and(|p| paths::classify_in(self.cwd.as_deref(), p).credential);
            let downloaded = a0.text.as_deref().and_then(|p| self.downloads.find(p));
            return Val {
                downloaded,
                ..Val::taint(T_FILE | if cred { T_CRED } else { 0 } | a0.taint)
            };
        }
        if q.starts_with("fs.") && method == "createWriteStream" {
            return Val {
                stream: a0.text,
                ..Val::default()
            };
        }
        if NET_PREFIXES.iter().any(|p| q.starts_with(p)) {
            return Val::taint(T_DOWNLOAD);
        }
        // Method calls on values: keep the receiver's data.
        if let Some(f) = n.child_by_field_id(F.function)
            && kind(f) == "member_expression"
            && let Some(obj) = f.child_by_field_id(F.object)
        {
            let o = self.eval(obj);
            let prop = f
                .child_by_field_id(F.property)
                .map(|p| self.text(p))
                .unwrap_or("");
            return match prop {
                // ['child', 'process'].join('_'): like `'child_' + 'process'`.
                "join" if kind(obj) == "array" => {
                    let sep = match args.first() {
                        None => Some(",".to_string()),
                        Some(_) => a0.text,
                    };
                    Val {
                        text: sep.and_then(|sep| self.array_join(obj, &sep)),
                        taint: o.taint | all,
                        ..Val::default()
                    }
                }
                "toString" | "trim" | "text" | "json" | "then" => Val {
                    text: if prop == "toString" || prop == "trim" {
                        o.text
                    } else {
                        None
                    },
                    taint: o.taint | all,
                    downloaded: o.downloaded,
                    ..Val::default()
                },
                _ => Val::taint(o.taint | all),
            };
        }
        Val::taint(all)
    }

    /// The elements of an array literal joined with `sep`, when every
    /// element is a statically known string (no holes, no spreads).
    fn array_join(&mut self, arr: Node<'t>, sep: &str) -> Option<String> {
        let mut elems = Vec::new();
        // `[` (element `,`)* element? `]`: two commas in a row are a hole.
        let mut expect_elem = true;
        for ch in self.cursors.collect(arr, false) {
            match kind(ch) {
                "[" | "]" | "comment" => {}
                "," if !expect_elem => expect_elem = true,
                "," => return None,
                _ if ch.is_named() && expect_elem => {
                    elems.push(ch);
                    expect_elem = false;
                }
                _ => return None,
            }
        }
        let mut out = String::new();
        for (i, e) in elems.into_iter().enumerate() {
            if kind(e) == "spread_element" {
                return None;
            }
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(&self.eval(e).text?);
        }
        Some(out)
    }

    // -----------------------------------------------------------------
    // Calls
    // -----------------------------------------------------------------

    fn call(&mut self, n: Node<'t>) {
        let range = n.byte_range();
        let function = n.child_by_field_id(F.function);
        let (c, args, shifted) = self.target(n);
        let q = c.module.as_deref().unwrap_or_default();
        let q = q.strip_prefix("new ").unwrap_or(q).to_string();
        // zx / execa: $`rm -rf ${dir}` runs the template as a shell command.
        if is_shell_tag(&q)
            && let Some(t) = n.child_by_field_id(F.arguments)
            && kind(t) == "template_string"
        {
            self.shell_template(&q, t, &range);
            return;
        }
        let vals: Vec<Val> = args.iter().map(|a| self.eval(*a)).collect();
        // The resolved name's last part (`o.run` may be `cp.execSync`), or
        // the property called on a value no module is known for.
        let method = match function {
            Some(f) if kind(f) == "member_expression" && !shifted && q.is_empty() => f
                .child_by_field_id(F.property)
                .map(|p| self.text(p))
                .unwrap_or_default(),
            _ => q.rsplit('.').next().unwrap_or(""),
        };
        let (module, method) = match library_alias(&q) {
            Some((m, f)) => (m, f),
            None => (q.split('.').next().unwrap_or(""), method),
        };

        for v in &vals {
            if let Some(t) = &v.text {
                self.cx.check_denied_path(t, JS, range.clone());
            }
        }
        if q == "process.chdir" {
            // A sensitive directory is remembered; anything else (or unknown)
            // reads relative paths as before.
            let dir = vals.first().and_then(|v| v.text.as_deref()).and_then(|d| {
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
        if let Some(cred) = vals
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
        if c.indirect && is_sensitive(&q) {
            self.push(
                "javascript.indirect-call",
                Risk::High,
                format!("calls {q} through a computed name (hides what really runs)"),
                range.clone(),
            );
        }

        if q == "require"
            && let Some(m) = vals.first().and_then(|v| v.text.as_deref())
        {
            let m = norm_module(m);
            self.global_module(&m, range.clone());
        }
        // Unknown module names.
        if q == "require" && vals.first().is_some_and(|v| v.text.is_none()) {
            self.push(
                "javascript.dynamic-require",
                Risk::Medium,
                "loads a module whose name is computed at run time".into(),
                range.clone(),
            );
        }
        if let Some(f) = function
            && kind(f) == "subscript_expression"
            && let Some(idx) = f.child_by_field_id(F.index)
            && self.eval(idx).text.is_none()
            && let Some(obj) = f.child_by_field_id(F.object)
            && self.eval(obj).module.is_some()
        {
            self.push(
                "javascript.dynamic-member",
                Risk::Medium,
                "calls a module function chosen at run time".into(),
                range.clone(),
            );
        }

        self.note_download(&q, module, method, function, &vals, &range);
        if matches!(q.as_str(), "require" | "import")
            && let Some(m) = vals.first().and_then(|v| v.text.as_deref())
            && let Some(i) = self
                .downloads
                .find(m)
                .or_else(|| self.downloads.find(&format!("{m}.js")))
        {
            self.download_run(i, &q, &range);
        }

        if module == "child_process" {
            self.child_process(method, &args, &vals, &range);
            return;
        }
        if q == "shelljs.rm" {
            self.shelljs_rm(&vals, &range);
            return;
        }
        if module == "fs" {
            self.fs(method, &vals, &range);
        }
        // Archive extraction overwrites whatever the archive names.
        if (module == "tar" && matches!(method, "x" | "extract"))
            || matches!(method, "extractAllTo" | "extractEntryTo")
            || matches!(module, "extract-zip" | "decompress")
            || (module == "unzipper" && method == "Extract")
        {
            self.cx.push_write(
                None,
                "extracts an archive, which overwrites any existing file of the same name".into(),
                JS,
                range.clone(),
            );
        }
        // Code evaluation.
        match q.as_str() {
            "eval" | "Function" if vals.last().and_then(|v| v.downloaded).is_some() => {
                if let Some(i) = vals.last().and_then(|v| v.downloaded) {
                    self.download_run(i, &q, &range);
                }
            }
            "eval" => {
                let v = vals.first().cloned().unwrap_or_default();
                let at = args
                    .first()
                    .map(|a| a.byte_range())
                    .unwrap_or(range.clone());
                self.dynamic_code("eval", &v, at, &range);
            }
            "Function" => {
                let v = vals.last().cloned().unwrap_or_default();
                let at = args.last().map(|a| a.byte_range()).unwrap_or(range.clone());
                self.dynamic_code("Function", &v, at, &range);
            }
            "setTimeout" | "setInterval" => {
                if let Some(v) = vals.first()
                    && let Some(t) = &v.text
                {
                    let at = args[0].byte_range();
                    self.cx.nested(JS, &t.clone(), at);
                }
            }
            _ => {}
        }
        if module == "vm" && !method.is_empty() && method != "vm" {
            let v = vals.first().cloned().unwrap_or_default();
            let at = args
                .first()
                .map(|a| a.byte_range())
                .unwrap_or(range.clone());
            self.push(
                "exec.dynamic-code",
                Risk::Medium,
                format!("vm.{method} runs code in a context that is not a security boundary"),
                range.clone(),
            );
            if let Some(t) = v.text {
                self.cx.nested(JS, &t, at);
            }
        }
        // A web framework's app exists to listen (`express().listen(3000)`),
        // like `http.createServer`.
        if matches!(
            q.as_str(),
            "express" | "fastify" | "koa" | "@hapi/hapi.server"
        ) {
            self.facts.network = true;
            self.push(
                "net.server",
                Risk::Medium,
                format!("starts a network server ({q})"),
                range.clone(),
            );
        }
        // Network.
        let is_net = q == "fetch"
            || q == "XMLHttpRequest"
            || q == "WebSocket"
            || NET_PREFIXES
                .iter()
                .any(|p| q.starts_with(p) && q != "request");
        if is_net {
            self.facts.network = true;
            if q.starts_with("net.") || q.starts_with("tls.") || q.starts_with("dgram.") {
                self.facts.net_socket.get_or_insert(range.clone());
                self.push(
                    "net.socket",
                    Risk::Medium,
                    "opens a raw network connection".into(),
                    range.clone(),
                );
            } else if method == "createServer" {
                self.push(
                    "net.server",
                    Risk::Medium,
                    "starts a network server".into(),
                    range.clone(),
                );
            } else {
                let url = vals
                    .first()
                    .and_then(|v| v.text.clone())
                    .unwrap_or_else(|| "a remote server".into());
                self.push(
                    "net.request",
                    Risk::Medium,
                    format!("uses the network: {url}"),
                    range.clone(),
                );
            }
        }
        // Data leaving.
        let sender = matches!(
            method,
            "write" | "end" | "send" | "post" | "put" | "patch" | "request"
        ) || q == "fetch"
            || q.starts_with("axios");
        if sender && (self.facts.network || is_net) {
            let skip = usize::from(matches!(method, "post" | "put" | "patch") || q == "fetch");
            let mut taint = 0;
            for v in vals.iter().skip(skip) {
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
        if method == "pipe" {
            self.facts.pipes = true;
        }
    }

    fn child_process(
        &mut self,
        method: &str,
        args: &[Node<'t>],
        vals: &[Val],
        range: &Range<usize>,
    ) {
        let Some(first) = vals.first() else { return };
        let opts_shell = vals.iter().skip(1).any(|v| v.shell);
        let cmd: Option<String> = match method {
            "exec" | "execSync" => first.text.clone(),
            "spawn" | "spawnSync" | "execFile" | "execFileSync" | "fork" => {
                let mut words = vec![first.text.clone()];
                // Indexes of `words` already in shell form (run-time arguments).
                let mut holes: Vec<usize> = Vec::new();
                // `'-rf /'.split(' ')`: the same words as the array literal.
                if let Some(split) = args.get(1).and_then(|a| self.split_words(*a)) {
                    words.extend(split.into_iter().map(Some));
                } else if let Some(arr) = args.get(1)
                    && kind(*arr) == "array"
                {
                    let elems = self.cursors.collect(*arr, true);
                    for e in elems {
                        let v = self.eval(e);
                        // A run-time argument of a known program (no shell
                        // in between: it stays one argument) is checked as a
                        // quoted shell variable, like the shell's own
                        // `git show "$sha"`. Hidden or fetched values,
                        // spreads, `shell: true` and fork's script stay
                        // unknown commands.
                        let w = match v.text {
                            None if first.text.is_some()
                                && !opts_shell
                                && method != "fork"
                                && v.taint & (T_DOWNLOAD | T_DECODE | T_CRED) == 0
                                && kind(e) != "spread_element" =>
                            {
                                let w = super::runtime_word(v.shape.as_deref());
                                if w.is_some() {
                                    holes.push(words.len());
                                }
                                w
                            }
                            t => t,
                        };
                        words.push(w);
                    }
                }
                if words.iter().all(|w| w.is_some()) {
                    let words: Vec<String> = words.into_iter().flatten().collect();
                    let prog = words[0].rsplit('/').next().unwrap_or("").to_string();
                    if matches!(
                        prog.as_str(),
                        "sh" | "bash" | "zsh" | "dash" | "cmd.exe" | "powershell"
                    ) {
                        self.facts.shell_spawned = true;
                    }
                    if method == "fork" {
                        Some(format!("node {}", text::shell_quote(&words[0])))
                    } else if opts_shell {
                        Some(words.join(" "))
                    } else {
                        Some(super::argv_command_line(&words, &holes))
                    }
                } else {
                    None
                }
            }
            _ => return,
        };
        match cmd {
            Some(cmd) => {
                if let Some(i) = self.downloads.run_by_line(&cmd) {
                    self.download_run(i, &format!("child_process.{method}"), range);
                }
                self.push(
                    "javascript.shell",
                    Risk::Low,
                    format!("runs a command: {}", super::first_line(&cmd)),
                    range.clone(),
                );
                let at = args
                    .first()
                    .map(|a| a.byte_range())
                    .unwrap_or(range.clone());
                self.cx.nested(Language::Shell, &cmd, at);
            }
            None => {
                let taint = vals.iter().fold(0, |t, v| t | v.taint);
                let (risk, rule, msg) = if taint & T_DOWNLOAD != 0 {
                    (
                        Risk::High,
                        "exec.download-and-run",
                        format!(
                            "child_process.{method} runs a command downloaded from the network"
                        ),
                    )
                } else if taint & T_DECODE != 0 {
                    (
                        Risk::High,
                        "exec.decode-and-run",
                        format!("child_process.{method} runs a decoded (hidden) command"),
                    )
                } else {
                    (
                        Risk::Medium,
                        "javascript.dynamic-command",
                        format!(
                            "child_process.{method} runs a command built at run time, which cannot be checked"
                        ),
                    )
                };
                self.push(rule, risk, msg, range.clone());
            }
        }
    }

    /// Records a file written with downloaded content:
    /// `fs.writeFileSync(p, body)` of a fetched body, or a response piped
    /// into `fs.createWriteStream(p)` in code that uses the network.
    fn note_download(
        &mut self,
        q: &str,
        module: &str,
        method: &str,
        function: Option<Node<'t>>,
        vals: &[Val],
        range: &Range<usize>,
    ) {
        let path = if module == "fs"
            && matches!(
                method.trim_end_matches("Sync"),
                "writeFile" | "outputFile" | "appendFile"
            )
            && vals.get(1).is_some_and(|v| v.taint & T_DOWNLOAD != 0)
        {
            vals[0].text.clone()
        } else if method == "pipe"
            && q.is_empty()
            && let Some(stream) = vals.first().and_then(|v| v.stream.clone())
        {
            let from_net = self.facts.network
                || function
                    .and_then(|f| f.child_by_field_id(F.object))
                    .is_some_and(|o| self.eval(o).taint & T_DOWNLOAD != 0);
            from_net.then_some(stream)
        } else {
            None
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

    /// The words of a literal split into an argument array:
    /// `'a b'.split(' ')`, `'a b'.split(/\s+/)`.
    fn split_words(&mut self, n: Node<'t>) -> Option<Vec<String>> {
        if kind(n) != "call_expression" {
            return None;
        }
        let f = n.child_by_field_id(F.function)?;
        if kind(f) != "member_expression"
            || f.child_by_field_id(F.property).map(|p| self.text(p)) != Some("split")
        {
            return None;
        }
        let text = self.eval(f.child_by_field_id(F.object)?).text?;
        let args = self.arg_nodes(n);
        let [sep] = args.as_slice() else {
            return None;
        };
        if kind(*sep) == "regex" {
            // Only the whitespace patterns everyday code splits on.
            let pattern = sep.named_child(0).map(|p| self.text(p))?;
            return matches!(pattern, "\\s+" | " +" | "\\s" | " ")
                .then(|| text.split_whitespace().map(str::to_string).collect());
        }
        let sep = self.eval(*sep).text.filter(|s| !s.is_empty())?;
        Some(text.split(sep.as_str()).map(str::to_string).collect())
    }

    /// A shell command written as a tagged template (zx, execa `$`). Each
    /// interpolation is passed as one quoted argument; one known only at
    /// run time stands as a shell variable ([`TEMPLATE_HOLE`]).
    fn shell_template(&mut self, q: &str, t: Node<'t>, range: &Range<usize>) {
        let mut cmd = String::new();
        let mut taint = 0;
        let mut holes = false;
        let kids = self.cursors.collect(t, true);
        for k in kids {
            match kind(k) {
                "string_fragment" => cmd.push_str(self.text(k)),
                "escape_sequence" => cmd.push_str(&text::unescape_c(self.text(k))),
                "template_substitution" => {
                    let v = k.named_child(0).map(|e| self.eval(e)).unwrap_or_default();
                    taint |= v.taint;
                    match v.text {
                        Some(x) => cmd.push_str(&text::shell_quote(&x)),
                        None => {
                            holes = true;
                            cmd.push_str(TEMPLATE_HOLE);
                        }
                    }
                }
                _ => {}
            }
        }
        // The shell rules see the holes as variables; what the values are
        // made of is only known here.
        if holes && taint & (T_DOWNLOAD | T_DECODE) != 0 {
            let (rule, what) = if taint & T_DOWNLOAD != 0 {
                ("exec.download-and-run", "downloaded from the network")
            } else {
                ("exec.decode-and-run", "decoded (hidden)")
            };
            self.push(
                rule,
                Risk::High,
                format!("{q} runs a command with parts {what}"),
                range.clone(),
            );
        }
        self.push(
            "javascript.shell",
            Risk::Low,
            format!("runs a command: {}", super::first_line(&cmd)),
            range.clone(),
        );
        self.cx.nested(Language::Shell, &cmd, t.byte_range());
    }

    /// shelljs `rm([options,] path…)`: recursive with `-r`/`-R`.
    fn shelljs_rm(&mut self, vals: &[Val], range: &Range<usize>) {
        let mut paths_at = 0;
        let mut recursive = false;
        if let Some(opts) = vals.first().and_then(|v| v.text.as_deref())
            && opts.starts_with('-')
        {
            recursive = opts.contains(['r', 'R']);
            paths_at = 1;
        }
        for v in vals.iter().skip(paths_at) {
            match v.path() {
                Some(p) => {
                    let (risk, rule, msg) =
                        paths::deletion_risk_in(self.cwd.as_deref(), p, recursive);
                    if risk > Risk::None {
                        self.push(rule, risk, msg, range.clone());
                    }
                }
                None if recursive => self.push(
                    "destroy.dynamic-target",
                    Risk::Medium,
                    "shell.rm deletes a directory known only at run time".into(),
                    range.clone(),
                ),
                None => self.push(
                    "delete.files",
                    Risk::Low,
                    "shell.rm deletes files".into(),
                    range.clone(),
                ),
            }
        }
    }

    fn fs(&mut self, method: &str, vals: &[Val], range: &Range<usize>) {
        let m = method.trim_end_matches("Sync");
        let path = vals.first().and_then(Val::path).map(str::to_string);
        match m {
            "rm" | "rmdir" | "remove" | "emptyDir" | "unlink" => {
                let recursive =
                    matches!(m, "remove" | "emptyDir") || vals.iter().skip(1).any(|v| v.recursive);
                match path {
                    Some(p) => {
                        let (risk, rule, msg) =
                            paths::deletion_risk_in(self.cwd.as_deref(), &p, recursive);
                        if risk > Risk::None {
                            self.push(rule, risk, msg, range.clone());
                        }
                    }
                    None if recursive => self.push(
                        "destroy.dynamic-target",
                        Risk::Medium,
                        format!("fs.{method} deletes a directory known only at run time"),
                        range.clone(),
                    ),
                    None => self.push(
                        "delete.files",
                        Risk::Low,
                        format!("fs.{method} deletes files"),
                        range.clone(),
                    ),
                }
            }
            "writeFile" | "appendFile" | "createWriteStream" | "outputFile" | "outputJson"
            | "outputJSON" | "writeJson" | "writeJSON" | "truncate" => {
                let verb = if m == "truncate" {
                    "truncates"
                } else {
                    "writes to"
                };
                self.write_val(vals.first(), range, verb);
            }
            "open" => {
                // `fs.open(p, 'w')`: any flag but reading writes (numeric
                // flags are read as writes too, to be safe).
                let flags = vals.get(1).map(|v| v.text.as_deref());
                let writes = match flags {
                    None => false,
                    Some(Some(f)) => f.contains(['w', 'a', '+']),
                    Some(None) => true,
                };
                if writes {
                    self.write_val(vals.first(), range, "writes to");
                }
            }
            "copyFile" | "rename" | "symlink" | "link" | "copy" | "cp" | "move"
                if vals.len() >= 2 =>
            {
                self.write_val(vals.get(1), range, "writes to");
                if matches!(m, "rename" | "move")
                    && let Some(d) = vals[1].text.as_deref()
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
            "chmod" => {
                if let (Some(p), Some(mode)) = (path, vals.get(1)) {
                    let _ = mode;
                    let c = paths::classify_in(self.cwd.as_deref(), &p);
                    if matches!(
                        c.scope,
                        paths::Scope::System | paths::Scope::SystemTop | paths::Scope::Root
                    ) {
                        self.push(
                            "privilege.chmod-system",
                            Risk::High,
                            format!("changes permissions of the system path {p}"),
                            range.clone(),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    fn write_target(&mut self, p: &str, range: &Range<usize>, verb: &str) {
        if let Some((risk, rule, msg)) = paths::write_risk_in(self.cwd.as_deref(), p, verb) {
            self.push(rule, risk, msg, range.clone());
        }
        let class = paths::classify_in(self.cwd.as_deref(), p);
        self.cx.note_write(p, &class, verb, JS, range.clone());
    }

    /// A write to the file `v` names: [`Self::write_target`] when the name
    /// is known, else a write whose target is known only at run time.
    fn write_val(&mut self, v: Option<&Val>, range: &Range<usize>, verb: &str) {
        match v.and_then(Val::path) {
            Some(p) => {
                let p = p.to_string();
                self.write_target(&p, range, verb);
            }
            None => self.cx.push_write(
                None,
                format!("{verb} a file named only at run time"),
                JS,
                range.clone(),
            ),
        }
    }

    fn dynamic_code(&mut self, what: &str, v: &Val, at: Range<usize>, range: &Range<usize>) {
        if v.taint & T_DOWNLOAD != 0 {
            self.push(
                "exec.download-and-run",
                Risk::High,
                format!("{what} runs code downloaded from the network"),
                range.clone(),
            );
        } else if v.taint & T_DECODE != 0 {
            self.push(
                "exec.decode-and-run",
                Risk::High,
                format!("{what} runs decoded (hidden) code"),
                range.clone(),
            );
        }
        match &v.text {
            Some(code) => {
                self.push(
                    "javascript.eval-string",
                    Risk::Low,
                    format!("{what} runs code from a string"),
                    range.clone(),
                );
                self.cx.nested(JS, code, at);
            }
            None if v.taint & (T_DOWNLOAD | T_DECODE) == 0 => self.push(
                "exec.dynamic-code",
                Risk::Medium,
                format!("{what} runs code built at run time, which cannot be checked"),
                range.clone(),
            ),
            None => {}
        }
    }
}

fn is_sensitive(q: &str) -> bool {
    q.starts_with("child_process")
        || matches!(q, "eval" | "Function" | "require")
        || q.starts_with("fs.")
        || q.starts_with("vm.")
        || q.starts_with("net.")
}

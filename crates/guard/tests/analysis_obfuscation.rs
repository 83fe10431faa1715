//! Each normalisation / obfuscation named in the issue, plus the public API
//! contract (spans, serialisation, rules, unknown input).

use interlock_guard::analysis::{
    Risk, Rules, analyze, analyze_unknown, analyze_with, guess_language,
};
use interlock_protocol::Language;
use std::path::{Path, PathBuf};

fn risk(lang: Language, code: &str) -> Risk {
    analyze(lang, code).risk
}

fn sh(code: &str) -> Risk {
    risk(Language::Shell, code)
}

fn has_rule(lang: Language, code: &str, rule: &str) -> bool {
    analyze(lang, code).findings.iter().any(|f| f.rule == rule)
}

#[test]
fn baseline_is_critical() {
    assert_eq!(sh("rm -rf /"), Risk::Critical);
    assert_eq!(sh("rm -rf ~"), Risk::Critical);
}

#[test]
fn zero_width_characters_are_removed_and_reported() {
    for zw in ['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}'] {
        let code = format!("r{zw}m -rf /");
        let r = analyze(Language::Shell, &code);
        assert_eq!(r.risk, Risk::Critical, "{code:?}");
        assert!(
            r.findings
                .iter()
                .any(|f| f.rule == "input.invisible-characters")
        );
    }
}

#[test]
fn bidi_controls_are_removed_and_reported() {
    for bidi in ['\u{202e}', '\u{202d}', '\u{2066}', '\u{2069}', '\u{200f}'] {
        let code = format!("rm -rf {bidi}/");
        assert_eq!(sh(&code), Risk::Critical, "{code:?}");
        assert!(has_rule(
            Language::Shell,
            &code,
            "input.invisible-characters"
        ));
    }
    // Also in Python source.
    let py = "import os\nos.system(\"rm -rf \u{202e}/\")\n";
    assert_eq!(risk(Language::Python, py), Risk::Critical);
}

#[test]
fn quotes_splitting_a_word() {
    for code in [
        "r''m -rf /",
        "\"r\"m -rf /",
        "'r'\"m\" -rf /",
        "r\"\"m -rf ~",
        "\"/b\"\"in/rm\" -rf /",
        "'m'kfs.ext4 /dev/sda",
    ] {
        assert_eq!(sh(code), Risk::Critical, "{code}");
    }
}

#[test]
fn backslashes_inside_a_word() {
    for code in [
        "\\r\\m -rf /",
        "\\rm -rf /",
        "r\\m -rf ~",
        "d\\d if=/dev/zero of=/dev/sda",
    ] {
        assert_eq!(sh(code), Risk::Critical, "{code}");
    }
}

#[test]
fn ansi_c_quoting() {
    assert_eq!(sh("$'\\x72\\x6d' -rf /"), Risk::Critical);
    assert_eq!(sh("$'\\162\\155' -rf ~"), Risk::Critical);
}

#[test]
fn variable_indirection() {
    for code in [
        "c=rm; $c -rf /",
        "c=rm\n${c} -rf /",
        "a=r; b=m; $a$b -rf \"$HOME\"",
        "x=/; rm -rf $x",
        "CMD=\"rm -rf /\"; $CMD",
        "CMD=\"rm -rf /\"; eval \"$CMD\"",
        "export T=/; rm -rf \"$T\"",
    ] {
        assert_eq!(sh(code), Risk::Critical, "{code}");
    }
    // An unknown command name is never silent.
    assert!(sh("$UNKNOWN -rf /") >= Risk::High);
    assert!(sh("$TOOL --version") >= Risk::Medium);
}

#[test]
fn for_loop_variables() {
    // A static word list binds the loop variable: the body is checked once
    // per value, exactly as the command written out would be.
    for code in [
        "for c in rm; do $c -rf /; done",
        "for c in rm\ndo\n  ${c} -rf /\ndone",
        "for c in ls rm; do \"$c\" -rf ~; done",
        "for d in /tmp /; do rm -rf \"$d\"; done",
        "for c in $(echo rm); do $c -rf /; done",
        "for a in r; do for b in m; do $a$b -rf /; done; done",
        "select c in rm; do $c -rf /; done",
    ] {
        let r = analyze(Language::Shell, code);
        assert_eq!(r.risk, Risk::Critical, "{code}");
        assert!(
            r.findings.iter().any(|f| f.rule == "destroy.broad"),
            "{code}: {r:?}"
        );
    }
    assert_eq!(
        analyze(Language::Shell, "for c in rm; do $c -rf /; done").findings[0].message,
        analyze(Language::Shell, "rm -rf /").findings[0].message
    );
    // Each value is judged on its own: ordinary work stays quiet.
    assert!(sh("for d in build dist; do rm -rf \"$d\"; done") <= Risk::Low);
    assert!(sh("for f in data/*.csv; do wc -l \"$f\"; done") <= Risk::Low);
    // Values only known at run time stay unknown, and are never silent.
    assert!(sh("for c in $CMDS; do $c -rf /; done") >= Risk::High);
    assert!(sh("for c in \"$@\"; do $c --version; done") >= Risk::Medium);
    assert!(sh("for c; do $c -rf /; done") >= Risk::High);
}

#[test]
fn nested_for_loops_are_bounded() {
    // Five nested loops of 16 values would be a million bodies; the budget
    // keeps this quick and the inner command is still seen.
    let values: Vec<String> = (0..16).map(|i| format!("v{i}")).collect();
    let mut code = String::new();
    for v in ["a", "b", "c", "d", "e"] {
        code.push_str(&format!("for {v} in {}; do ", values.join(" ")));
    }
    code.push_str("echo $a$b$c$d$e; sudo true");
    for _ in 0..5 {
        code.push_str("; done");
    }
    let r = analyze(Language::Shell, &code);
    assert!(
        r.findings.iter().any(|f| f.rule == "privilege.sudo"),
        "{r:?}"
    );
}

#[test]
fn nested_expressions_are_evaluated_once() {
    // Each level used to evaluate the next one two or more times, so these
    // took exponential time (tens of seconds at depth 20-25).
    let sh_code = format!("echo {}ls{}", "\"$(echo ".repeat(30), ")\"".repeat(30));
    assert!(sh(&sh_code) <= Risk::Medium);
    let sh_code = format!("{}rm{} -rf /", "$(echo ".repeat(30), ")".repeat(30));
    assert_eq!(sh(&sh_code), Risk::Critical);
    let js = format!("{}'rm -rf /'{}", "String(".repeat(40), ")".repeat(40));
    let js = format!("require('child_process').execSync({js})");
    assert_eq!(risk(Language::Javascript, &js), Risk::Critical);
    let py = format!(
        "import os\nos.system({}'rm -rf /'{})",
        "str(".repeat(40),
        ")".repeat(40)
    );
    assert_eq!(risk(Language::Python, &py), Risk::Critical);
    // Past the depth limit the analysis stops (and says so) instead.
    let deep = format!("echo {}ls{}", "$(".repeat(70), ")".repeat(70));
    assert!(has_rule(Language::Shell, &deep, "input.too-deep"));
    // Only crafted code gets that deep: high, so `--auto-run-max-risk medium`
    // does not run what was not checked.
    assert_eq!(risk(Language::Shell, &deep), Risk::High);
    let nested = (0..8).fold("rm -rf ./build".to_string(), |inner, _| {
        format!("eval {}", shell_quote(&inner))
    });
    assert!(
        has_rule(Language::Shell, &nested, "input.nesting-too-deep"),
        "{nested}"
    );
    assert_eq!(risk(Language::Shell, &nested), Risk::High);
}

#[test]
fn substitutions_nested_far_past_the_depth_limit_stay_cheap() {
    // Each level used to walk every level below it again, and past the depth
    // limit computed results could not be reused: 400 levels took 7 s and
    // would now run out of the analysis's work budget (`input.too-complex`).
    for n in [200, 400, 1000] {
        for (open, close) in [("$(echo ", ")"), ("\"$(echo ", ")\""), ("<(cat ", ")")] {
            let code = format!("echo {}hi{}", open.repeat(n), close.repeat(n));
            let r = analyze(Language::Shell, &code);
            let rules: Vec<&str> = r.findings.iter().map(|f| f.rule.as_ref()).collect();
            assert!(rules.contains(&"input.too-deep"), "{n} {open}: {rules:?}");
            assert!(
                !rules.contains(&"input.too-complex"),
                "{n} {open}: {rules:?}"
            );
        }
    }
}

#[test]
fn command_substitution_as_command_name() {
    assert_eq!(sh("$(echo rm) -rf /"), Risk::Critical);
    assert_eq!(sh("`echo rm` -rf /"), Risk::Critical);
    assert_eq!(sh("\"$(printf 'r%s' m)\" -rf /"), Risk::Critical);
}

#[test]
fn wrappers_are_peeled() {
    for code in [
        "sudo rm -rf /",
        "sudo -u root env FOO=1 rm -rf /",
        "nohup rm -rf / &",
        "timeout 10 rm -rf /",
        "nice -n 19 rm -rf /",
        "command rm -rf /",
        "exec rm -rf /",
        "env -i rm -rf /",
        "xargs rm -rf <<< /",
        "find / -maxdepth 0 -exec rm -rf {} \\;",
        "busybox rm -rf /",
        "echo / | xargs rm -rf",
    ] {
        assert!(sh(code) >= Risk::High, "{code}");
    }
}

#[test]
fn commands_found_everywhere() {
    for code in [
        "echo $(rm -rf /)",
        "echo `rm -rf /`",
        "(rm -rf /)",
        "{ rm -rf /; }",
        "true && rm -rf /",
        "false || rm -rf /",
        "if true; then rm -rf /; fi",
        "for i in 1; do rm -rf /; done",
        "cat <(rm -rf /)",
        "f() { rm -rf /; }",
        "ls | rm -rf /",
    ] {
        assert_eq!(sh(code), Risk::Critical, "{code}");
    }
}

#[test]
fn nested_code_is_analysed_recursively() {
    assert_eq!(sh("bash -c 'rm -rf /'"), Risk::Critical);
    assert_eq!(sh("sh -c \"sh -c 'rm -rf ~'\""), Risk::Critical);
    assert_eq!(
        sh("python3 -c 'import shutil; shutil.rmtree(\"/\")'"),
        Risk::Critical
    );
    assert_eq!(
        sh("node -e \"require('fs').rmSync('/', {recursive: true})\""),
        Risk::Critical
    );
    assert_eq!(sh("bash <<'EOF'\nrm -rf ~\nEOF\n"), Risk::Critical);
    assert_eq!(
        sh("python3 <<'EOF'\nimport os\nos.system('rm -rf /')\nEOF\n"),
        Risk::Critical
    );
    assert_eq!(sh("sh <<< 'rm -rf /'"), Risk::Critical);
    assert_eq!(sh("eval 'rm -rf /'"), Risk::Critical);
    // Python → shell → Python.
    let py = "import subprocess\nsubprocess.run(['bash', '-c', \"python3 -c 'import os; os.system(\\\"rm -rf /\\\")'\"])\n";
    assert_eq!(risk(Language::Python, py), Risk::Critical);
}

#[test]
fn decodable_payloads_are_decoded() {
    // "rm -rf /" in base64 and hex: decoded and analysed.
    assert_eq!(sh("echo cm0gLXJmIC8K | base64 -d | sh"), Risk::Critical);
    assert_eq!(
        sh("echo 726d202d7266202f | xxd -r -p | bash"),
        Risk::Critical
    );
    assert_eq!(
        sh("printf '\\x72\\x6d\\x20\\x2d\\x72\\x66\\x20\\x2f' | sh"),
        Risk::Critical
    );
    assert_eq!(
        sh("cmd=$(echo cm0gLXJmIC8K | base64 -d); eval \"$cmd\""),
        Risk::Critical
    );
    // Opaque payloads are still high.
    assert!(sh("base64 -d blob | sh") >= Risk::High);
    let py =
        "import base64\nexec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oInJtIC1yZiAvIik='))\n";
    assert_eq!(risk(Language::Python, py), Risk::Critical);
    let js = "eval(Buffer.from('cmVxdWlyZSgiY2hpbGRfcHJvY2VzcyIpLmV4ZWNTeW5jKCJybSAtcmYgLyIp', 'base64').toString());";
    assert_eq!(risk(Language::Javascript, js), Risk::Critical);
}

#[test]
fn python_indirection() {
    for code in [
        "__import__('os').system('rm -rf /')",
        "import importlib\nimportlib.import_module('shutil').rmtree('/')",
        "import os\ngetattr(os, 'sys' + 'tem')('rm -rf /')",
        "m = __import__('o' + 's')\nm.system('rm -rf /')",
        "from os import system as s\ns('rm -rf /')",
        "import subprocess as sp\nsp.run(['r' 'm', '-rf', '/'])",
        "cmd = 'rm -rf /'\nimport os\nos.system(cmd)",
        "import os\nos.system(f\"rm -rf {'/'}\")",
    ] {
        assert_eq!(risk(Language::Python, code), Risk::Critical, "{code}");
    }
    assert!(risk(Language::Python, "getattr(__import__(n), f)(a)") >= Risk::High);
}

#[test]
fn javascript_indirection() {
    for code in [
        "require('child_' + 'process').execSync('rm -rf /')",
        "const m = 'child_process'; require(m)['exec' + 'Sync']('rm -rf /')",
        "const { execSync: run } = require('child_process'); run('rm -rf /')",
        "import * as cp from 'node:child_process'; cp.execSync('rm -rf /')",
        "process.mainModule.require('child_process').execSync('rm -rf /')",
        "require('child_process').spawn('rm', ['-rf', '/'])",
    ] {
        assert_eq!(risk(Language::Javascript, code), Risk::Critical, "{code}");
    }
}

#[test]
fn javascript_array_join_is_resolved_like_concatenation() {
    for code in [
        "require(['child', 'process'].join('_')).execSync('rm -rf /')",
        "const m = ['child', 'process'].join('_'); require(m).execSync('rm -rf /')",
        "const cp = require([\"child\", `process`].join(`_`));\ncp.execSync('rm -rf ~')",
        "require(['child_process'].join()).exec('rm -rf /')",
        "require(['child_', 'process',].join('')).execSync('rm -rf /')",
        "const s = '_'; require(['child', 'process'].join(s)).execSync('rm -rf /')",
        "require(['fs'].join('')).rmSync('/', { recursive: true })",
    ] {
        let r = analyze(Language::Javascript, code);
        assert_eq!(r.risk, Risk::Critical, "{code}");
        assert!(
            !r.findings
                .iter()
                .any(|f| f.rule == "javascript.dynamic-require"),
            "{code}: {r:?}"
        );
    }
    // Only statically known pieces: anything else stays a dynamic require.
    for code in [
        "require([a, 'process'].join('_'))",
        "require(['child', 'process'].join(sep))",
        "require(['child', , 'process'].join('_'))",
        "require([...parts, 'process'].join('_'))",
    ] {
        assert!(
            has_rule(Language::Javascript, code, "javascript.dynamic-require"),
            "{code}"
        );
    }
}

#[test]
fn filtered_find_deletions_are_rated_by_where_they_search() {
    // `-exec rm {}` and `| xargs rm` delete what `find` matches, like
    // `-delete`: a filter makes a broad root one step less severe, never
    // ordinary; credentials and logs stay high whatever the filter.
    for code in [
        "find / -name '*.conf' -exec rm -f {} \\;",
        "find / -name '*.conf' -delete",
        "find / -name '*.conf' | xargs rm -f",
        "find /etc -name '*.conf' -exec rm {} +",
        "find ~ -name '*.py' -exec rm {} +",
        "find ~/.ssh -name 'id_*' -delete",
        "find ~/.ssh -name 'id_*' -exec rm {} \\;",
        "find /var/log -name '*.log' -delete",
    ] {
        let r = sh(code);
        assert!(r >= Risk::High && r < Risk::Critical, "{code}: {r:?}");
    }
    for code in [
        "find . -name '*.tmp' -delete",
        "find . -name '*.tmp' -exec rm {} \\;",
        "find build -name '*.o' -exec rm -f {} +",
        "find . -name '*.pyc' | xargs rm -f",
    ] {
        assert!(sh(code) <= Risk::Low, "{code}");
    }
}

#[test]
fn python_comprehensions_bind_their_loop_variables_like_for_statements() {
    for code in [
        "import os\n[os.remove(os.path.join(r, f)) for r, d, fs in os.walk('/etc') for f in fs]",
        "from pathlib import Path\n[p.unlink() for p in Path.home().rglob('*')]",
        "import glob, shutil\nlist(shutil.rmtree(d) for d in glob.glob('/usr/*'))",
        "import os\n{f: os.remove('/etc/' + f) for f in os.listdir('/etc')}",
    ] {
        assert!(risk(Language::Python, code) >= Risk::High, "{code}");
    }
    assert!(
        risk(
            Language::Python,
            "import glob, os\n[os.remove(f) for f in glob.glob('build/*.o')]"
        ) <= Risk::Low
    );
    // The variables stay local to the comprehension, as in Python 3.
    let code = "p = 'out.txt'\nfrom pathlib import Path\nfiles = [p for p in Path.home().rglob('*')]\nimport os\nos.remove(p)";
    assert!(risk(Language::Python, code) <= Risk::Low, "{code}");
}

#[test]
fn javascript_dynamic_import_loads_modules_like_require() {
    for code in [
        "const cp = await import('child_process'); cp.execSync('rm -rf ~')",
        "const { execSync } = await import('node:child_process'); execSync('rm -rf /')",
        "import('child_process').then(cp => cp.execSync('rm -rf ~'))",
        "import('child_process').then(({ execSync }) => execSync('rm -rf ~'))",
        "import('child_process').then(function (m) { m.execSync('rm -rf /') })",
        "import('fs').then(fs => fs.rmSync('/', { recursive: true }))",
    ] {
        assert_eq!(risk(Language::Javascript, code), Risk::Critical, "{code}");
    }
    assert!(has_rule(
        Language::Javascript,
        "const m = await import(name)",
        "javascript.dynamic-require"
    ));
    // The callback's parameter is the module only inside the callback.
    let code = "const cp = { execSync() {} };\nimport('child_process').then(cp => 1);\ncp.execSync('rm -rf /')";
    assert!(risk(Language::Javascript, code) < Risk::Critical, "{code}");
    // A deletion whose target is unknown is still mentioned.
    assert!(has_rule(
        Language::Javascript,
        "require('fs').unlinkSync(x)",
        "delete.files"
    ));
}

#[test]
fn python_libc_system_through_ctypes_is_checked_like_os_system() {
    for code in [
        "import ctypes\nlibc = ctypes.CDLL('libc.so.6')\nlibc.system(b'rm -rf /')",
        "import ctypes\nctypes.CDLL(None).system(b'rm -rf ~')",
        "from ctypes import CDLL\nCDLL('libc.so.6').system(b'rm -rf /')",
        "import ctypes\nctypes.cdll.LoadLibrary('libc.so.6').popen(b'rm -rf /', b'r')",
    ] {
        assert_eq!(risk(Language::Python, code), Risk::Critical, "{code}");
    }
    // Other native calls stay the medium `python.native-code`.
    let code = "import ctypes\nlibc = ctypes.CDLL('libc.so.6')\nlibc.printf(b'hi')";
    assert_eq!(risk(Language::Python, code), Risk::Medium, "{code}");
}

#[test]
fn python_str_join_is_resolved_like_concatenation() {
    for code in [
        "__import__(''.join(['o', 's'])).system('rm -rf /')",
        "import os\nos.system(' '.join(['rm', '-rf', '/']))",
        "getattr(__import__('os'), ''.join(('sys', 'tem')))('rm -rf ~')",
        "import subprocess\nsep = ' '\nsubprocess.run(sep.join(['rm', '-rf', '/']), shell=True)",
        "import os\nos.system('-'.join(['rm -rf /']).strip())",
    ] {
        assert_eq!(risk(Language::Python, code), Risk::Critical, "{code}");
    }
    // Only statically known pieces: anything else stays dynamic.
    for (code, rule) in [
        ("__import__(''.join([a, 's']))", "python.dynamic-import"),
        ("__import__(''.join(parts))", "python.dynamic-import"),
        ("__import__(sep.join(['o', 's']))", "python.dynamic-import"),
        ("__import__(''.join([*p, 's']))", "python.dynamic-import"),
        (
            "import os\nos.system(' '.join(['rm', arg]))",
            "python.dynamic-command",
        ),
    ] {
        assert!(has_rule(Language::Python, code, rule), "{code}");
    }
}

#[test]
fn unknown_and_unparsable_input_is_never_none() {
    let r = analyze_unknown("whatever this is", &Rules::default());
    assert!(r.risk >= Risk::Medium);
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule == "input.unknown-language")
    );
    let r = analyze(Language::Python, "def f(:\n  pass((\n");
    assert!(r.risk >= Risk::Medium, "{r:?}");
    assert!(r.findings.iter().any(|f| f.rule == "input.parse-error"));
    let r = analyze(Language::Javascript, "function ( {");
    assert!(r.risk >= Risk::Medium);
    let r = analyze(Language::Shell, "if then fi (((");
    assert!(r.risk >= Risk::Medium);
    // Empty input runs nothing.
    assert_eq!(analyze(Language::Shell, "").risk, Risk::None);
}

#[test]
fn everyday_work_stays_quiet() {
    assert!(sh("rm build/*.o") <= Risk::Low);
    assert!(sh("find . -name '*.tmp' -delete") <= Risk::Low);
    assert_eq!(sh("ls"), Risk::None);
    assert_eq!(sh("git status"), Risk::None);
    assert_eq!(sh("pip install pandas"), Risk::Medium);
    assert_eq!(
        sh("curl https://example.com/data.csv -o data.csv"),
        Risk::Medium
    );
}

#[test]
fn spans_point_at_the_code() {
    let r = analyze(Language::Shell, "ls\necho ok && rm -rf /\n");
    let f = &r.findings[0];
    assert_eq!(f.risk, Risk::Critical);
    assert_eq!(f.language, Language::Shell);
    assert_eq!((f.span.start_line, f.span.start_col), (2, 12));
    assert_eq!((f.span.end_line, f.span.end_col), (2, 20));
    // Invisible characters do not shift columns of later findings.
    let r = analyze(Language::Shell, "r\u{200b}m -rf /");
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "destroy.broad")
        .unwrap();
    assert_eq!((f.span.start_col, f.span.end_col), (1, 10));
    // Nested findings carry the enclosing string's span and their own language.
    let r = analyze(Language::Python, "import os\nos.system('rm -rf /')\n");
    let f = r
        .findings
        .iter()
        .find(|f| f.risk == Risk::Critical)
        .unwrap();
    assert_eq!(f.language, Language::Shell);
    assert_eq!((f.span.start_line, f.span.start_col), (2, 11));
}

#[test]
fn report_serialises_with_lowercase_risks() {
    let r = analyze(Language::Shell, "rm -rf /");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["risk"], "critical");
    assert_eq!(json["language"], "shell");
    assert_eq!(json["findings"][0]["risk"], "critical");
    assert_eq!(json["findings"][0]["span"]["start_line"], 1);
    let back: interlock_guard::analysis::Report = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
    assert!(Risk::Critical > Risk::High && Risk::Low > Risk::None);
    assert_eq!(Risk::Medium.to_string(), "medium");
}

#[test]
fn guesses_language() {
    assert_eq!(
        guess_language(Some(Path::new("install.sh")), ""),
        Some(Language::Shell)
    );
    assert_eq!(
        guess_language(Some(Path::new("x.mjs")), ""),
        Some(Language::Javascript)
    );
    assert_eq!(
        guess_language(None, "#!/usr/bin/env python3\nprint(1)"),
        Some(Language::Python)
    );
    assert_eq!(
        guess_language(Some(Path::new("README")), "#!/bin/sh\n"),
        Some(Language::Shell)
    );
    assert_eq!(guess_language(None, "plain text"), None);
}

#[test]
fn user_rules() {
    let rules = Rules {
        allow_commands: vec!["pip install".into(), "rm".into()],
        deny_commands: vec!["git push".into()],
        deny_paths: vec![PathBuf::from("~/secret-project")],
    };
    // deny: a critical finding, also through wrappers and nested code.
    let r = analyze_with(Language::Shell, "sudo git push origin main", &rules);
    assert_eq!(r.risk, Risk::Critical);
    assert!(r.findings.iter().any(|f| f.rule == "user.denied-command"));
    let r = analyze_with(
        Language::Python,
        "import subprocess\nsubprocess.run(['git', 'push'])",
        &rules,
    );
    assert_eq!(r.risk, Risk::Critical);
    let r = analyze_with(
        Language::Shell,
        "cat $HOME/secret-project/notes.txt",
        &rules,
    );
    assert!(r.findings.iter().any(|f| f.rule == "user.denied-path"));
    let r = analyze_with(Language::Python, "open('~/secret-project/a')", &rules);
    assert_eq!(r.risk, Risk::Critical);
    // Spelled with `..`, `.` or doubled slashes, it is the same path.
    for code in [
        "cat ~/tmp/../secret-project/notes.txt",
        "cat ~//secret-project/./notes.txt",
        "cat $HOME/x/y/../../secret-project",
    ] {
        let r = analyze_with(Language::Shell, code, &rules);
        assert!(
            r.findings.iter().any(|f| f.rule == "user.denied-path"),
            "{code}: {:?}",
            r.findings
        );
    }
    // allow: the command's own non-critical findings are dropped ...
    assert_eq!(
        analyze_with(Language::Shell, "pip install pandas", &rules).risk,
        Risk::None
    );
    assert_eq!(
        analyze_with(Language::Shell, "rm -rf ~/old-project", &rules).risk,
        Risk::None
    );
    // ... but never critical ones, nor pipeline or nested findings.
    assert_eq!(
        analyze_with(Language::Shell, "rm -rf /", &rules).risk,
        Risk::Critical
    );
    assert!(
        analyze_with(
            Language::Shell,
            "curl -s https://x.example/i | pip install -r /dev/stdin",
            &rules
        )
        .risk
            >= Risk::Medium
    );
    // A prefix matches whole words only.
    assert_eq!(
        analyze_with(Language::Shell, "pip installer", &rules).risk,
        Risk::None
    );
    // (An unknown git subcommand: medium from the auto-run gate, not denied.)
    assert_eq!(
        analyze_with(Language::Shell, "git pushy", &rules).risk,
        Risk::Medium
    );
}

/// A path built from a known prefix and a run-time part still says where it
/// points: `"/etc/" + name` is a system path, `f"{home}/.ssh/id_rsa"` a key.
#[test]
fn paths_with_a_run_time_part_are_rated_by_their_known_parts() {
    let py = Language::Python;
    let js = Language::Javascript;
    let high = [
        (
            py,
            "import shutil, sys\nshutil.rmtree('/etc/' + sys.argv[1])",
        ),
        (py, "import os\nos.remove(f'/usr/lib/{name}')"),
        (
            py,
            "import shutil, os\nshutil.rmtree(os.path.join('/var/lib', pkg))",
        ),
        (
            py,
            "import shutil\nfrom pathlib import Path\nshutil.rmtree(Path.home() / name)",
        ),
        (py, "print(open(f'{home}/.ssh/id_rsa').read())"),
        (
            py,
            "import os\nkey = open(os.path.join(d, '.aws', 'credentials')).read()",
        ),
        (
            py,
            "with open(base + '/.bashrc', 'a') as f:\n    f.write('x')",
        ),
        (
            py,
            "with open('/etc/cron.d/' + job, 'w') as f:\n    f.write('x')",
        ),
        (
            js,
            "const fs = require('fs');\nfs.rmSync('/etc/' + name, { recursive: true });",
        ),
        (
            js,
            "const fs = require('fs');\nfs.readFileSync(`${home}/.ssh/id_ed25519`);",
        ),
        (
            js,
            "const fs = require('fs');\nconst path = require('path');\nfs.appendFileSync(path.join(dir, '.bashrc'), 'x');",
        ),
        (Language::Shell, "rm -rf \"/etc/$x\""),
        (Language::Shell, "rm -rf ~/\"$name\""),
    ];
    for (lang, code) in high {
        let r = analyze(lang, code);
        assert_eq!(r.risk, Risk::High, "{lang:?} {code:?}: {:?}", r.findings);
    }
    // Everyday code with run-time parts stays what it was.
    let ordinary = [
        (
            py,
            "with open(f'{outdir}/report.txt', 'w') as f:\n    f.write(s)",
            Risk::None,
        ),
        (
            py,
            "import os\nos.remove(os.path.join(tmp, name + '.csv'))",
            Risk::Low,
        ),
        (
            py,
            "import shutil\nshutil.rmtree(build_dir + '/cache')",
            Risk::Medium,
        ),
        (
            js,
            "const fs = require('fs');\nfs.writeFileSync(`${out}/data.json`, s);",
            Risk::None,
        ),
    ];
    for (lang, code, want) in ordinary {
        let r = analyze(lang, code);
        assert_eq!(r.risk, want, "{lang:?} {code:?}: {:?}", r.findings);
    }
}

/// `s` as one single-quoted shell word.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

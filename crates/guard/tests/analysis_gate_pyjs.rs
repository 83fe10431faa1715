//! Issue 15, Python and JavaScript: commands built by splitting a literal,
//! download-then-run across statements, and the known-safe gate.

use interlock_guard::analysis::{Report, Risk, analyze, known_safe_modules};
use interlock_protocol::Language;

fn py(code: &str) -> Report {
    analyze(Language::Python, code)
}

fn js(code: &str) -> Report {
    analyze(Language::Javascript, code)
}

fn rule<'r>(r: &'r Report, rule: &str) -> Option<&'r interlock_guard::analysis::Finding> {
    r.findings.iter().find(|f| f.rule == rule)
}

// ---------------------------------------------------------------------------
// 1. `.split()` / `shlex.split` of a literal is the list literal
// ---------------------------------------------------------------------------

#[test]
fn python_split_commands_are_the_list_literal() {
    let cases = [
        (
            "import subprocess\nsubprocess.Popen(\"dd if=/dev/random of=/dev/sda\".split())\n",
            "import subprocess\nsubprocess.Popen([\"dd\", \"if=/dev/random\", \"of=/dev/sda\"])\n",
        ),
        (
            "import subprocess, shlex\nsubprocess.run(shlex.split(\"rm -rf ~\"))\n",
            "import subprocess\nsubprocess.run([\"rm\", \"-rf\", \"~\"])\n",
        ),
        (
            "import subprocess\nsubprocess.call(\"rm -rf /\".split(\" \"))\n",
            "import subprocess\nsubprocess.call([\"rm\", \"-rf\", \"/\"])\n",
        ),
        (
            "import subprocess, shlex\nsubprocess.run(shlex.split(\"bash -c 'rm -rf ~'\"))\n",
            "import subprocess\nsubprocess.run([\"bash\", \"-c\", \"rm -rf ~\"])\n",
        ),
    ];
    for (split, list) in cases {
        let (a, b) = (py(split).risk, py(list).risk);
        assert_eq!(b, Risk::Critical, "{list}");
        assert_eq!(a, b, "{split}");
    }
    // Everyday split commands stay quiet.
    let r = py("import subprocess\nsubprocess.run(\"git status --short\".split())\n");
    assert!(r.risk <= Risk::Low, "{r:?}");
}

#[test]
fn javascript_split_commands_are_the_list_literal() {
    let cases = [
        (
            "const { spawn } = require('child_process');\nspawn('dd', 'if=/dev/zero of=/dev/sda'.split(' '));\n",
            "const { spawn } = require('child_process');\nspawn('dd', ['if=/dev/zero', 'of=/dev/sda']);\n",
        ),
        (
            "const cp = require('child_process');\ncp.execFile('rm', '-rf /'.split(' '));\n",
            "const cp = require('child_process');\ncp.execFile('rm', ['-rf', '/']);\n",
        ),
        (
            "const cp = require('child_process');\ncp.spawnSync('rm', '-rf ~'.split(/\\s+/));\n",
            "const cp = require('child_process');\ncp.spawnSync('rm', ['-rf', '~']);\n",
        ),
    ];
    for (split, list) in cases {
        let (a, b) = (js(split).risk, js(list).risk);
        assert_eq!(b, Risk::Critical, "{list}");
        assert_eq!(a, b, "{split}");
    }
}

// ---------------------------------------------------------------------------
// 2. Download-then-run across statements
// ---------------------------------------------------------------------------

fn download_and_run(r: &Report, lines: (usize, usize)) {
    let f = rule(r, "exec.download-and-run").unwrap_or_else(|| panic!("{r:#?}"));
    assert!(f.risk >= Risk::High, "{f:?}");
    let (a, b) = lines;
    assert!(
        f.message.contains(&format!("line {a}")) && f.message.contains(&format!("line {b}")),
        "{}",
        f.message
    );
}

#[test]
fn python_download_then_run_is_linked() {
    let cases = [
        (
            "from urllib.request import urlretrieve\nurlretrieve(\"https://example.com/x.py\", \"x.py\")\nexec(open(\"x.py\").read())\n",
            (2, 3),
        ),
        (
            "import urllib.request, subprocess\nurllib.request.urlretrieve(\"https://example.com/x.py\", \"x.py\")\nsubprocess.run([\"python3\", \"x.py\"])\n",
            (2, 3),
        ),
        (
            "import requests, os\nr = requests.get(\"https://example.com/i.sh\")\nwith open(\"i.sh\", \"wb\") as f:\n    f.write(r.content)\nos.system(\"sh i.sh\")\n",
            (4, 5),
        ),
        (
            "import urllib.request\ndata = urllib.request.urlopen(\"https://example.com/m.py\").read()\nopen(\"m.py\", \"wb\").write(data)\nimport m\n",
            (3, 4),
        ),
        (
            "import requests, importlib\nopen(\"plug.py\", \"w\").write(requests.get(\"https://example.com/p\").text)\nimportlib.import_module(\"plug\")\n",
            (2, 3),
        ),
        (
            "import urllib.request, os, subprocess\nurllib.request.urlretrieve(\"https://example.com/t\", \"./t\")\nos.chmod(\"t\", 0o755)\nsubprocess.call([\"./t\"])\n",
            (2, 4),
        ),
        (
            "import urllib.request\nurllib.request.urlretrieve(\"https://example.com/x.py\", \"x.py\")\ncode = open(\"x.py\").read()\nexec(compile(code, \"x.py\", \"exec\"))\n",
            (2, 4),
        ),
    ];
    for (code, lines) in cases {
        download_and_run(&py(code), lines);
    }
    // Downloading data and reading it is not running it.
    let r = py(
        "import urllib.request, json\nurllib.request.urlretrieve(\"https://example.com/d.json\", \"d.json\")\nprint(json.load(open(\"d.json\")))\n",
    );
    assert!(rule(&r, "exec.download-and-run").is_none(), "{r:#?}");
    // Running another file is not running the download.
    let r = py(
        "import urllib.request, subprocess\nurllib.request.urlretrieve(\"https://example.com/d.csv\", \"d.csv\")\nsubprocess.run([\"python3\", \"report.py\", \"d.csv\"])\n",
    );
    assert!(rule(&r, "exec.download-and-run").is_none(), "{r:#?}");
}

#[test]
fn javascript_download_then_run_is_linked() {
    let cases = [
        (
            "const https = require('https');\nconst fs = require('fs');\nconst file = fs.createWriteStream('x.js');\nhttps.get('https://example.com/x.js', (res) => {\n  res.pipe(file);\n  file.on('finish', () => require('./x.js'));\n});\n",
            (5, 6),
        ),
        (
            "const fs = require('fs');\nconst { execSync } = require('child_process');\nconst body = await (await fetch('https://example.com/i.sh')).text();\nfs.writeFileSync('i.sh', body);\nexecSync('sh i.sh');\n",
            (4, 5),
        ),
        (
            "const fs = require('fs');\nconst cp = require('child_process');\nconst r = await fetch('https://example.com/t');\nfs.writeFileSync('./t', await r.text(), { mode: 0o755 });\ncp.spawn('./t', []);\n",
            (4, 5),
        ),
        (
            "const fs = require('fs');\nconst r = await fetch('https://example.com/p.js');\nfs.writeFileSync('p.js', await r.text());\neval(fs.readFileSync('p.js', 'utf8'));\n",
            (3, 4),
        ),
    ];
    for (code, lines) in cases {
        download_and_run(&js(code), lines);
    }
    // eval of a fetched body.
    let r = js("const r = await fetch('https://example.com/c');\neval(await r.text());\n");
    assert!(rule(&r, "exec.download-and-run").is_some(), "{r:#?}");
    // Saving a download and reading it as data is not running it.
    let r = js(
        "const fs = require('fs');\nconst r = await fetch('https://example.com/d.json');\nfs.writeFileSync('d.json', await r.text());\nconsole.log(JSON.parse(fs.readFileSync('d.json', 'utf8')));\n",
    );
    assert!(rule(&r, "exec.download-and-run").is_none(), "{r:#?}");
}

// ---------------------------------------------------------------------------
// 3. The known-safe gate
// ---------------------------------------------------------------------------

#[test]
fn python_unknown_modules_and_calls_are_medium() {
    for code in [
        "import ctypes\n",
        "import pty\n",
        "import telnetlib\nt = telnetlib.Telnet\n",
        "import ftplib\n",
        "import paramiko\n",
        "import pickle\npickle.loads(blob)\n",
        "import marshal\n",
        "import code\ncode.interact(local=locals())\n",
        "import webbrowser\nwebbrowser.open_new_tab(page)\n",
        "import smtplib\n",
        "from multiprocessing.connection import Listener\n",
        "from multiprocessing import connection\n",
        "import frobnicate\nfrobnicate.run()\n",
        "import importlib\nimportlib.import_module('pynput')\n",
        "import os\nos.kill(1234, 9)\n",
        "import os\nos.mkfifo('pipe')\n",
        "import socket\nsocket.gethostbyname('example.com')\n",
        "import keyboard\nkeyboard.on_press(print)\n",
    ] {
        let r = py(code);
        assert!(r.risk >= Risk::Medium, "{code}: {r:#?}");
    }
    let r = py("import frobnicate\n");
    let f = rule(&r, "python.not-known-safe").expect("gate finding");
    assert!(f.message.contains("not known to be safe"), "{}", f.message);
}

#[test]
fn python_everyday_work_stays_low() {
    for code in [
        "import json, csv, math, statistics, re, datetime, collections, itertools\nprint(math.pi)\n",
        "import os\nfor root, dirs, files in os.walk('.'):\n    print(root, len(files))\nprint(os.listdir('.'), os.path.exists('x'))\n",
        "from pathlib import Path\nprint(Path('data.txt').read_text())\nPath('out.txt').write_text('hi')\n",
        "import pandas as pd\nimport numpy as np\nimport matplotlib.pyplot as plt\ndf = pd.read_csv('d.csv')\nplt.plot(np.arange(3))\nplt.savefig('p.png')\n",
        "import sys\nsys.path.insert(0, 'src')\nimport mypkg\nprint(mypkg.__version__)\n",
        "import socket\nprint(socket.gethostname())\n",
        "with open('out.txt', 'w') as f:\n    f.write('ok')\n",
    ] {
        let r = py(code);
        assert!(r.risk <= Risk::Low, "{code}: {r:#?}");
    }
}

#[test]
fn javascript_unknown_modules_are_medium() {
    for code in [
        "const vm = require('vm');\n",
        "const net = require('net');\n",
        "const repl = require('node:repl');\n",
        "import { Client } from 'ssh2';\n",
        "const pty = require('node-pty');\n",
        "const x = require('left-pad');\n",
        "const m = require('module');\n",
    ] {
        let r = js(code);
        assert!(r.risk >= Risk::Medium, "{code}: {r:#?}");
        assert!(
            rule(&r, "javascript.not-known-safe").is_some(),
            "{code}: {r:#?}"
        );
    }
    for code in [
        "const fs = require('fs');\nconst path = require('path');\nconst d = JSON.parse(fs.readFileSync(path.join('data', 'a.json'), 'utf8'));\nfs.writeFileSync('out.json', JSON.stringify(d));\nconsole.log(Math.max(1, 2));\n",
        "import { readFile } from 'node:fs/promises';\nconsole.log(await readFile('a.txt', 'utf8'));\n",
        "const util = require('./lib/util.js');\nutil.main();\n",
        "const _ = require('lodash/fp');\nconsole.log(_.map(x => x)([1]));\n",
    ] {
        let r = js(code);
        assert!(r.risk <= Risk::Low, "{code}: {r:#?}");
    }
}

#[test]
fn safe_module_tables_are_documented() {
    for lang in [Language::Python, Language::Javascript] {
        let all: Vec<_> = known_safe_modules(lang).collect();
        assert!(all.len() > 20, "{lang:?}");
        assert!(all.iter().all(|(_, why)| !why.is_empty()));
    }
    assert!(known_safe_modules(Language::Python).any(|(m, _)| m == "pandas"));
    assert!(known_safe_modules(Language::Javascript).any(|(m, _)| m == "path"));
}

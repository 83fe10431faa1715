//! What a block changes, as the agent's narrowed auto-run reads it (issue
//! 20): once untrusted text is in the conversation, a block that deletes,
//! overwrites an existing file or changes state elsewhere is asked about.
//! The agent decides from these findings: `write.file` (risk none) with the
//! file as `target` (`None`: named only at run time), and rule ids with the
//! prefixes below. These tests cover the Python and JavaScript file APIs,
//! archive extraction, and build tools that run the project's own code; the
//! shell redirections and commands are in analysis_writes.rs.

use interlock_guard::analysis::{Finding, Risk, WRITE_FILE_RULE, analyze};
use interlock_protocol::Language;

const PY: Language = Language::Python;
const JS: Language = Language::Javascript;
const SH: Language = Language::Shell;

/// The rule prefixes the agent counts as a change of state (its
/// `STATE_CHANGES`), besides `write.file`.
const STATE_PREFIXES: &[&str] = &[
    "delete.",
    "destroy.",
    "tamper.",
    "net.",
    "exfil.",
    "install.",
    "persist.",
    "system.",
    "privilege.",
    "cred.",
    "exec.git",
    "exec.download",
    "git.state",
];

fn findings(lang: Language, code: &str) -> Vec<Finding> {
    analyze(lang, code).findings
}

/// The `write.file` targets (`None`: named only at run time).
fn writes(lang: Language, code: &str) -> Vec<Option<String>> {
    findings(lang, code)
        .into_iter()
        .filter(|f| f.rule == WRITE_FILE_RULE)
        .map(|f| f.target)
        .collect()
}

fn known(lang: Language, code: &str) -> Vec<String> {
    writes(lang, code).into_iter().flatten().collect()
}

/// Rule ids of the findings the agent counts as a change of state (other
/// than writes, whose targets it checks itself).
fn state_rules(lang: Language, code: &str) -> Vec<String> {
    findings(lang, code)
        .into_iter()
        .filter(|f| STATE_PREFIXES.iter().any(|p| f.rule.starts_with(p)))
        .map(|f| f.rule.to_string())
        .collect()
}

fn assert_targets(lang: Language, cases: &[(&str, &[&str])]) {
    for (code, want) in cases {
        let got = known(lang, code);
        for w in *want {
            assert!(got.iter().any(|g| g == w), "{code}: {got:?}, want {w}");
        }
        assert_eq!(got.len(), want.len(), "{code}: {got:?}");
    }
}

#[test]
fn python_file_apis_that_overwrite_name_their_target() {
    assert_targets(
        PY,
        &[
            ("open('notes.txt', 'w').write('x')", &["notes.txt"]),
            ("open('notes.txt', 'a').write('x')", &["notes.txt"]),
            ("f = open('notes.txt', 'r+')", &["notes.txt"]),
            ("f = open('notes.txt', mode='x')", &["notes.txt"]),
            ("f = open('data.bin', 'wb')", &["data.bin"]),
            (
                "with open('out.json', 'w') as f:\n    json.dump({'a': 1}, f)\n",
                &["out.json"],
            ),
            ("import io\nio.open('n.txt', 'w')", &["n.txt"]),
            ("import gzip\ngzip.open('a.gz', 'wt')", &["a.gz"]),
            (
                "from pathlib import Path\nPath('notes.txt').write_text('x')",
                &["notes.txt"],
            ),
            (
                "from pathlib import Path\nPath('img.png').write_bytes(b'x')",
                &["img.png"],
            ),
            (
                "from pathlib import Path\nPath('a.txt').rename('notes.txt')",
                &["notes.txt"],
            ),
            (
                "from pathlib import Path\nPath('a.txt').replace('notes.txt')",
                &["notes.txt"],
            ),
            (
                "from pathlib import Path\nPath('stamp').touch()",
                &["stamp"],
            ),
            (
                "from pathlib import Path\nPath('notes.txt').open('w')",
                &["notes.txt"],
            ),
            ("import os\nos.rename('a.txt', 'notes.txt')", &["notes.txt"]),
            (
                "import os\nos.replace('a.txt', 'notes.txt')",
                &["notes.txt"],
            ),
            ("import os\nos.truncate('notes.txt', 0)", &["notes.txt"]),
            (
                "import shutil\nshutil.copyfile('a.txt', 'notes.txt')",
                &["notes.txt"],
            ),
            (
                "import shutil\nshutil.copy('a.txt', 'backup')",
                &["backup", "backup/a.txt"],
            ),
            (
                "import shutil\nshutil.move('a.txt', 'notes.txt')",
                &["notes.txt", "notes.txt/a.txt"],
            ),
            ("import numpy as np\nnp.save('arr.npy', a)", &["arr.npy"]),
            ("import numpy as np\nnp.savetxt('a.csv', a)", &["a.csv"]),
            (
                "import pandas as pd\ndf = pd.read_csv('in.csv')\ndf.to_csv('in.csv', index=False)",
                &["in.csv"],
            ),
            ("df.to_excel(excel_writer='report.xlsx')", &["report.xlsx"]),
            (
                "import matplotlib.pyplot as plt\nplt.savefig('plot.png')",
                &["plot.png"],
            ),
            ("img.save('thumb.jpg')", &["thumb.jpg"]),
            ("import torch\ntorch.save(model, 'model.pt')", &["model.pt"]),
        ],
    );
}

#[test]
fn python_deletions_are_deletions() {
    for code in [
        "import os\nos.remove('notes.txt')",
        "import os\nos.unlink('notes.txt')",
        "import os\nos.rmdir('old')",
        "import os\nos.removedirs('old/a')",
        "import shutil\nshutil.rmtree('build')",
        "from pathlib import Path\nPath('notes.txt').unlink()",
        "from pathlib import Path\np = Path(name)\np.unlink()",
        "import os\nos.remove(name)",
    ] {
        let s = state_rules(PY, code);
        assert!(
            s.iter().any(|r| r.starts_with("delete.")),
            "{code}: {:?}",
            findings(PY, code)
        );
    }
}

#[test]
fn python_writes_to_names_known_only_at_run_time_have_no_target() {
    for code in [
        "open(name, 'w').write('x')",
        "import os\nos.replace(tmp, path)",
        "import shutil\nshutil.move(src, dst)",
        "from pathlib import Path\nPath(p).write_text('x')",
        "import numpy as np\nnp.save(out_path, a)",
        "df.to_csv(out)",
        "open(f'{name}.txt', 'w')",
        // After a change of directory a relative name is another file.
        "import os\nos.chdir(somewhere)\nopen('notes.txt', 'w')",
    ] {
        let w = writes(PY, code);
        assert!(!w.is_empty(), "{code}: no write reported");
        assert!(w.iter().any(Option::is_none), "{code}: {w:?}");
    }
}

#[test]
fn python_reads_and_in_memory_calls_write_nothing() {
    for code in [
        "print(open('notes.txt').read())",
        "f = open('notes.txt', 'r')",
        "f = open('data.bin', 'rb')",
        "from pathlib import Path\nprint(Path('notes.txt').read_text())",
        "import pandas as pd\ndf = pd.read_csv('in.csv')\nprint(df.to_csv())",
        "s = df.to_json()",
        "import json\nprint(json.dumps({'a': 1}))",
        "import re\nm = df['a'].str.extract(r'(\\d+)')",
        "import os\nprint(os.listdir('.'))",
        "import shutil\nprint(shutil.disk_usage('.'))",
        "model.save(True)",
    ] {
        assert!(
            writes(PY, code).is_empty(),
            "{code}: {:?}",
            writes(PY, code)
        );
        assert!(state_rules(PY, code).is_empty(), "{code}");
    }
}

#[test]
fn javascript_fs_apis_that_overwrite_name_their_target() {
    assert_targets(
        JS,
        &[
            (
                "const fs = require('fs');\nfs.writeFileSync('notes.txt', 'x');",
                &["notes.txt"],
            ),
            (
                "const fs = require('fs');\nfs.writeFile('notes.txt', 'x', () => {});",
                &["notes.txt"],
            ),
            (
                "const fs = require('fs');\nfs.appendFileSync('log.txt', 'x');",
                &["log.txt"],
            ),
            (
                "const fs = require('fs');\nawait fs.promises.writeFile('notes.txt', 'x');",
                &["notes.txt"],
            ),
            (
                "import { writeFile } from 'fs/promises';\nawait writeFile('notes.txt', 'x');",
                &["notes.txt"],
            ),
            (
                "const fs = require('fs');\nconst s = fs.createWriteStream('out.log');",
                &["out.log"],
            ),
            (
                "const fs = require('fs');\nfs.truncateSync('notes.txt', 0);",
                &["notes.txt"],
            ),
            (
                "const fs = require('fs');\nfs.renameSync('a.txt', 'notes.txt');",
                &["notes.txt"],
            ),
            (
                "const fs = require('fs');\nfs.copyFileSync('a.txt', 'notes.txt');",
                &["notes.txt"],
            ),
            (
                "const fs = require('fs');\nfs.cpSync('a.txt', 'notes.txt');",
                &["notes.txt"],
            ),
            (
                "const fs = require('fs');\nconst fd = fs.openSync('notes.txt', 'w');",
                &["notes.txt"],
            ),
            (
                "const fs = require('fs');\nconst fd = fs.openSync('notes.txt', 'r+');",
                &["notes.txt"],
            ),
        ],
    );
}

#[test]
fn javascript_deletions_and_run_time_names() {
    for code in [
        "const fs = require('fs');\nfs.rmSync('notes.txt');",
        "const fs = require('fs');\nfs.unlinkSync('notes.txt');",
        "const fs = require('fs');\nfs.rm('notes.txt', () => {});",
        "const fs = require('fs');\nawait fs.promises.unlink('notes.txt');",
        "const fs = require('fs');\nfs.rmSync(p);",
    ] {
        assert!(
            state_rules(JS, code)
                .iter()
                .any(|r| r.starts_with("delete.")),
            "{code}: {:?}",
            findings(JS, code)
        );
    }
    for code in [
        "const fs = require('fs');\nfs.writeFileSync(p, 'x');",
        "const fs = require('fs');\nfs.renameSync(a, b);",
        "const fs = require('fs');\nprocess.chdir(dir);\nfs.writeFileSync('notes.txt', 'x');",
    ] {
        let w = writes(JS, code);
        assert!(!w.is_empty(), "{code}: no write reported");
        assert!(w.iter().all(Option::is_none), "{code}: {w:?}");
    }
    for code in [
        "const fs = require('fs');\nconsole.log(fs.readFileSync('notes.txt', 'utf8'));",
        "const fs = require('fs');\nconst fd = fs.openSync('notes.txt', 'r');",
        "const fs = require('fs');\nconsole.log(fs.readdirSync('.'));",
        "const fs = require('fs');\nconsole.log(fs.existsSync('notes.txt'));",
    ] {
        assert!(
            writes(JS, code).is_empty(),
            "{code}: {:?}",
            writes(JS, code)
        );
        assert!(state_rules(JS, code).is_empty(), "{code}");
    }
}

#[test]
fn archive_extraction_overwrites_files_named_only_at_run_time() {
    let extract = [
        (SH, "tar xf site.tar"),
        (SH, "tar -xzf site.tar.gz"),
        (SH, "tar --extract --file site.tar"),
        (SH, "tar -C out -xvf site.tar"),
        (SH, "unzip site.zip"),
        (SH, "unzip -o site.zip -d out"),
        (SH, "7z x site.7z"),
        (SH, "cpio -idv < site.cpio"),
        (PY, "import tarfile\ntarfile.open('site.tar').extractall()"),
        (
            PY,
            "import tarfile\nwith tarfile.open('site.tar') as t:\n    t.extractall(path='.')\n",
        ),
        (
            PY,
            "import zipfile\nzipfile.ZipFile('site.zip').extractall('.')",
        ),
        (PY, "import shutil\nshutil.unpack_archive('site.zip', '.')"),
        (
            JS,
            "const tar = require('tar');\ntar.x({ file: 'site.tgz' });",
        ),
        (
            JS,
            "const AdmZip = require('adm-zip');\nnew AdmZip('site.zip').extractAllTo('.', true);",
        ),
    ];
    for (lang, code) in extract {
        let w = writes(lang, code);
        assert!(w.contains(&None), "{code}: {:?}", findings(lang, code));
        // A fact for the agent, not a rating: extraction into the
        // workspace still auto-runs when nothing untrusted was read (7z,
        // cpio and the npm archive modules are not on the known-safe lists,
        // which is another matter).
        if lang != JS && !code.starts_with("7z") && !code.starts_with("cpio") {
            assert!(analyze(lang, code).risk <= Risk::Low, "{code}");
        }
    }
    // Listing, creating, and extracting that keeps existing files.
    for code in [
        "tar tf site.tar",
        "tar -tzf site.tar.gz",
        "tar czf site.tar.gz src",
        "tar -xkf site.tar",
        "tar --skip-old-files -xf site.tar",
        "tar -xOf site.tar notes.txt",
        "unzip -l site.zip",
        "unzip -n site.zip",
        "unzip -qn site.zip",
        "7z l site.7z",
        "zip -r site.zip src",
    ] {
        assert!(
            writes(SH, code).is_empty(),
            "{code}: {:?}",
            writes(SH, code)
        );
    }
    assert!(
        writes(
            PY,
            "import tarfile\nprint(tarfile.open('site.tar').getnames())"
        )
        .is_empty()
    );
}

#[test]
fn build_and_test_tools_run_project_code_that_can_change_any_file() {
    for code in [
        "make",
        "make test",
        "make -C sub all",
        "ninja -C build",
        "cmake -S . -B build",
        "cmake --build build",
        "cargo build",
        "cargo test --workspace",
        "cargo run -- --help",
        "cargo check",
        "npm run build",
        "npm test",
        "npm start",
        "yarn build",
        "pnpm lint",
        "python setup.py build",
        "python3 -m pytest -q",
        "pytest -v",
        "tox -e py312",
        "go test ./...",
        "go generate ./...",
        "mvn package",
        "./gradlew build",
        "rake",
    ] {
        let w = writes(SH, code);
        assert!(w.contains(&None), "{code}: {:?}", findings(SH, code));
        let f = findings(SH, code);
        let msg = &f
            .iter()
            .find(|f| f.rule == WRITE_FILE_RULE)
            .unwrap()
            .message;
        assert!(msg.contains("project's own"), "{code}: {msg}");
    }
    // Installing runs package scripts too; that is already an install.
    assert!(
        state_rules(SH, "pip install -e .")
            .iter()
            .any(|r| r.starts_with("install."))
    );
    for code in [
        "make --version",
        "cargo --version",
        "cargo fmt",
        "cargo tree",
        "cargo metadata --format-version 1",
        "npm ls",
        "npm view left-pad",
        "go version",
        "go fmt ./...",
        "pytest --version",
        "yarn why left-pad",
        "python script.py",
        "python3 -m json.tool data.json",
        "cmake --version",
    ] {
        assert!(
            writes(SH, code).iter().all(Option::is_some),
            "{code}: {:?}",
            writes(SH, code)
        );
    }
}

#[test]
fn everyday_writes_keep_their_rating() {
    // Writes in the workspace are ordinary work: at most low, and the
    // write facts carry no risk of their own.
    for (lang, code) in [
        (PY, "open('notes.txt', 'w').write('x')"),
        (
            PY,
            "import pandas as pd\ndf = pd.read_csv('in.csv')\ndf.to_csv('out.csv')",
        ),
        (
            PY,
            "from pathlib import Path\nPath('out/a.txt').write_text('x')",
        ),
        (PY, "import shutil\nshutil.copy('a.txt', 'backup/')"),
        (PY, "import os\nos.replace('a.tmp', 'a.txt')"),
        (
            JS,
            "const fs = require('fs');\nfs.writeFileSync('out.json', JSON.stringify({}));",
        ),
        (SH, "make test"),
        (SH, "cargo build"),
        (SH, "npm test"),
        (SH, "tar xf site.tar"),
        (SH, "pytest"),
    ] {
        let r = analyze(lang, code);
        assert!(r.risk <= Risk::Low, "{code}: {r:?}");
        assert!(
            r.findings
                .iter()
                .filter(|f| f.rule == WRITE_FILE_RULE)
                .all(|f| f.risk == Risk::None),
            "{code}"
        );
    }
}

#[test]
fn sensitive_targets_keep_their_own_findings() {
    // Writes outside the ordinary places are rated by the path rules, not
    // reduced to a write fact.
    for (lang, code, rule) in [
        (PY, "open('/etc/hosts', 'a').write('x')", "system.write"),
        (
            PY,
            "from pathlib import Path\nPath('~/.bashrc').expanduser().write_text('x')",
            "persist.",
        ),
        (
            JS,
            "const fs = require('fs');\nfs.appendFileSync('/etc/passwd', 'x');",
            "privilege.",
        ),
        (
            PY,
            "import tarfile\ntarfile.open('a.tar').extractall('/etc')",
            "system.write",
        ),
    ] {
        let f = findings(lang, code);
        assert!(
            f.iter()
                .any(|f| f.rule.starts_with(rule) && f.risk >= Risk::High),
            "{code}: {f:?}"
        );
    }
}

#[test]
fn moving_files_out_of_the_workspace_is_a_deletion_for_the_agent() {
    for (lang, code) in [
        (SH, "mv report.docx /tmp/.x"),
        (SH, "mv *.csv ~/old/"),
        (PY, "import shutil\nshutil.move('report.docx', '/tmp/.x')"),
        (PY, "import os\nos.rename('report.docx', '../report.docx')"),
        (
            PY,
            "from pathlib import Path\nPath('report.docx').rename('/tmp/r')",
        ),
        (
            JS,
            "const fs = require('fs');\nfs.renameSync('report.docx', '/tmp/r');",
        ),
    ] {
        let r = analyze(lang, code);
        assert!(
            r.findings.iter().any(|f| f.rule == "delete.move-out"),
            "{code}: {r:?}"
        );
        // Ordinary work when nothing untrusted was read.
        assert!(r.risk <= Risk::Low || lang == JS, "{code}: {r:?}");
    }
    // Renames inside the workspace keep the files.
    for (lang, code) in [
        (SH, "mv report.txt report-old.txt"),
        (SH, "mv a.txt sub/"),
        (PY, "import shutil\nshutil.move('a.txt', 'archive/a.txt')"),
        (PY, "import os\nos.replace('a.tmp', 'a.txt')"),
        (
            JS,
            "const fs = require('fs');\nfs.renameSync('a.tmp', 'a.txt');",
        ),
    ] {
        assert!(state_rules(lang, code).is_empty(), "{code}");
    }
}

#[test]
fn patches_and_compiler_outputs_are_writes() {
    assert!(writes(SH, "patch -p1 < fix.diff").contains(&None));
    assert!(writes(SH, "patch --dry-run -p1 < fix.diff").is_empty());
    for (code, target) in [
        ("gcc -O2 -o app main.c", "app"),
        ("cc -o build/tool tool.c", "build/tool"),
        ("rustc -o hello hello.rs", "hello"),
        ("go build -o bin/app ./cmd/app", "bin/app"),
    ] {
        assert!(
            known(SH, code).iter().any(|t| t == target),
            "{code}: {:?}",
            writes(SH, code)
        );
        assert!(analyze(SH, code).risk <= Risk::Low, "{code}");
    }
}

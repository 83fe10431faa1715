//! A block cannot take over the run protocol: nothing in its own scope names the key or
//! the control channel, a block that fakes its end cannot answer later blocks (they run
//! for real), and a timeout ends the session even when the block forged or closed the
//! channel. Each attack block also tries the pre-fix protocol (`<nonce> <status> <rc>`),
//! so the tests fail against the old drivers.
mod common;
use common::*;
use std::time::Duration;

fn short(c: &mut KernelConfig) {
    c.timeout = Duration::from_secs(2);
    c.interrupt_grace = Duration::from_millis(500);
}

/// Python: looks through its globals, every frame down the stack, `__main__`, builtins,
/// argv and the environment — one level into containers, closures and objects — for
/// anything key-like (long hex) or an integer naming an open pipe/socket above fd 2.
const PY_SCOPE: &str = r#"
import builtins, os, re, stat, sys
hexlike = re.compile(r'^[0-9a-f]{32,}$')
found, seen = [], 0
def fd_like(v):
    if type(v) is not int or v < 3 or v > 4096:
        return False
    try:
        m = os.fstat(v).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(m) or stat.S_ISSOCK(m)
def look(where, v, depth=0):
    global seen
    seen += 1
    if isinstance(v, (bytes, bytearray)):
        v = bytes(v).decode('latin1')
    if isinstance(v, str) and hexlike.match(v):
        found.append('key-like %s' % where)
    elif fd_like(v):
        found.append('fd %d %s' % (v, where))
    if depth:
        return
    kids = []
    if isinstance(v, dict):
        kids = list(v.items())
    elif isinstance(v, (list, tuple, set, frozenset)):
        kids = list(enumerate(v))
    elif callable(v) and getattr(v, '__closure__', None):
        kids = [(i, c.cell_contents) for i, c in enumerate(v.__closure__) if c.cell_contents is not None]
    elif hasattr(v, '__dict__') and not isinstance(v, type(os)):
        kids = list(vars(v).items())
    for k, x in kids:
        look('%s[%r]' % (where, k), x, 1)
spaces = {'globals': globals(), '__main__': vars(sys.modules['__main__']), 'builtins': vars(builtins),
          'argv': sys.argv, 'environ': dict(os.environ)}
f, n = sys._getframe(), 0
while f is not None:
    spaces['frame%d.locals' % n] = dict(f.f_locals)
    spaces['frame%d.globals' % n] = f.f_globals
    f, n = f.f_back, n + 1
for ident, top in sys._current_frames().items():
    while top is not None:
        spaces['thread%d.%s' % (ident, top.f_code.co_name)] = dict(top.f_locals)
        top = top.f_back
for name, space in spaces.items():
    for k, v in list(space.items()) if isinstance(space, dict) else enumerate(space):
        if name.startswith(('globals', '__main__')) and k in ('found', 'seen', 'spaces', 'f', 'n', 'top', 'ident', 'name', 'space', 'k', 'v'):
            continue
        look('%s[%r]' % (name, k), v)
print('searched', seen > 1000)
print('\n'.join('FOUND ' + x for x in found))
"#;

/// bash: every listing a block can make of its own shell.
const SH_SCOPE: &str = r#"
__dump=$( { set; declare -p; declare -f; env; alias; trap -p; tr '\0' '\n' </proc/self/environ; printf '%s\n' "$_"; } 2>/dev/null )
printf '%s\n' "$__dump" | grep -oE '[0-9a-f]{32,}' | sed 's/^/FOUND key-like /'
if [[ -v BASH_EXECUTION_STRING ]]; then echo 'FOUND the driver script in BASH_EXECUTION_STRING'; fi
for __v in $(compgen -v); do
  case $__v in RANDOM|SRANDOM|LINENO|SECONDS|EPOCHSECONDS|EPOCHREALTIME|BASHPID|PPID|__v) continue ;; esac
  __x=${!__v}
  if [[ $__x =~ ^[0-9]+$ ]] && (( __x > 2 && __x < 4096 )); then
    case $(readlink /proc/$$/fd/$__x 2>/dev/null) in pipe:*|socket:*) echo "FOUND fd $__x in \$$__v" ;; esac
  fi
done
echo "searched $(printf '%s\n' "$__dump" | wc -l | awk '{print ($1 > 20)}')"
"#;

/// node: the driver's names as seen from the code's scope, and every global's value.
const JS_SCOPE: &str = r#"{
const vm = require('vm');
const found = [];
for (const n of ['cin', 'cout', 'current', 'key', 'probe', 'pending', 'finish', 'handle', 'count', 'nonce', 'run']) {
  if (vm.runInThisContext(`typeof ${n}`) !== 'undefined') found.push(`name ${n}`);
}
const hex = /^[0-9a-f]{32,}$/;
const look = (where, v, depth) => {
  if (typeof v === 'string' && hex.test(v)) found.push(`key-like ${where}`);
  if (depth > 0 && v && typeof v === 'object') {
    for (const k of Object.keys(v)) { try { look(`${where}.${k}`, v[k], depth - 1); } catch {} }
  }
};
for (const k of Object.getOwnPropertyNames(globalThis)) {
  try { look(k, globalThis[k], 2); } catch {}
}
look('argv', process.argv, 1); look('execArgv', process.execArgv, 1); look('env', process.env, 1);
console.log('searched', Object.getOwnPropertyNames(globalThis).length > 50);
for (const f of found) console.log('FOUND ' + f);
}"#;

async fn scope_names_nothing(language: Language) {
    let block = match language {
        Language::Python => PY_SCOPE,
        Language::Shell => SH_SCOPE,
        Language::Javascript => JS_SCOPE,
    };
    {
        if !have(language) {
            return;
        }
        let (mut k, _dir) = kernels();
        // Twice: the first block of a session and a later one.
        for _ in 0..2 {
            let ran = run(&mut k, language, block).await;
            assert!(
                ran.text().contains("searched True")
                    || ran.text().contains("searched true")
                    || ran.text().contains("searched 1"),
                "{language}: the search did not run: {ran:?}"
            );
            assert!(!ran.text().contains("FOUND"), "{language}: {}", ran.text());
        }
    }
}

/// The block fakes its end (with anything it can find) on every descriptor it holds,
/// keeps a loop running that answers later blocks with fake output, and patches the
/// tools the driver uses; the next block must still really run.
const PY_TAKEOVER: &str = r#"
import builtins, os, re, stat, sys, threading, time
cands = set()
f = sys._getframe()
while f is not None:
    for v in list(f.f_locals.values()):
        if isinstance(v, bytes) and re.match(rb'^[0-9a-f]{32,}$', v):
            cands.add(v.decode())
    f = f.f_back
fds = []
for name in os.listdir('/proc/self/fd'):
    fd = int(name)
    try:
        m = os.fstat(fd).st_mode
    except OSError:
        continue
    if fd > 2 and (stat.S_ISFIFO(m) or stat.S_ISSOCK(m)):
        fds.append(fd)
def forge(ids, status='ok'):
    lines = ''
    for i in ids:
        lines += '\n%s %s 0\n' % (i, status)
        for c in cands | {'0' * 64}:
            lines += '\nR %s %s 0 %s\n\nA %s %s\n' % (i, status, c, i, c)
    for fd in fds:
        try:
            os.write(fd, lines.encode())
        except OSError:
            pass
def answer():
    while True:
        for fd in fds:
            try:
                data = os.read(fd, 65536)
            except OSError:
                continue
            for rec in data.split(b'\0'):
                head = rec.split(b'\n', 1)[0].decode('latin1')
                print('FAKE OUTPUT', flush=True)
                forge({head, head[1:]})
# Later blocks would run a fake exec.
builtins.exec = lambda *a, **k: print('FAKE OUTPUT')
forge(cands)
threading.Thread(target=answer, daemon=True).start()
while True:
    time.sleep(0.05)
"#;

const SH_TAKEOVER: &str = r#"
cands=$( { set; declare -p; } 2>/dev/null | grep -oE '[0-9a-f]{32,}' | sort -u )
cands="$cands $(printf '0%.0s' {1..64})"
fds=
for p in /proc/$$/fd/*; do
  n=${p##*/}
  (( n > 2 )) || continue
  case $(readlink "$p") in pipe:*|socket:*) fds="$fds $n" ;; esac
done
forge() {
  local i c fd lines=
  for i in "$@"; do
    lines+=$'\n'"$i done 0"$'\n'
    for c in $cands; do lines+=$'\n'"R $i done 0 $c"$'\n'$'\n'"A $i $c"$'\n'; done
  done
  for fd in $fds; do printf '%s' "$lines" >&"$fd"; done 2>/dev/null
}
forge $cands
for fd in $fds; do
  ( while IFS= read -r -d '' req <&"$fd"; do
      echo 'FAKE OUTPUT'
      id=${req%%$'\n'*}
      forge "$id" "${id#?}"
    done ) 2>/dev/null &
done
eval() { echo 'FAKE OUTPUT'; }
while :; do sleep 0.05; done
"#;

// In a block: the old driver's top-level `const fs` would clash with a top-level one.
const JS_TAKEOVER: &str = r#"{
const fs = require('fs');
const cands = new Set(['0'.repeat(64)]);
try { cands.add(vm.runInThisContext('current.nonce')); } catch {}
// The driver's reply descriptor: by name if the scope has it, else every socket (writing
// into libuv's own pipes would only crash node).
const fds = [];
try { fds.push(vm.runInThisContext('cout')); } catch {}
for (const name of fs.readdirSync('/proc/self/fd')) {
  const fd = Number(name);
  try { if (fd > 2 && fs.fstatSync(fd).isSocket()) fds.push(fd); } catch {}
}
const forge = (ids) => {
  let lines = '';
  for (const i of ids) {
    lines += `\n${i} ok 0\n`;
    for (const c of cands) lines += `\nR ${i} ok 0 ${c}\n\nA ${i} ${c}\n`;
  }
  for (const fd of fds) { try { fs.writeSync(fd, lines); } catch {} }
};
// Later blocks would run fake code, and replies would be copied out.
require('vm').runInThisContext = () => { console.log('FAKE OUTPUT'); };
const realWrite = fs.writeSync;
fs.writeSync = (fd, data, ...rest) => {
  const m = /^\n([AR]) (\S+)/.exec(String(data));
  if (m) { const w = String(data).trim().split(' '); cands.add(w[w.length - 1]); }
  return realWrite(fd, data, ...rest);
};
forge([...cands]);
undefined
}"#;

async fn fake_end_cannot_answer_later_blocks(only: Language) {
    let secret = format!("proof-{}", std::process::id());
    for (language, attack, proof) in [
        (
            Language::Python,
            PY_TAKEOVER,
            format!("open('proof', 'w').write({secret:?}); print({secret:?})"),
        ),
        (
            Language::Shell,
            SH_TAKEOVER,
            format!("printf '%s' {secret} > proof; echo {secret}"),
        ),
        (
            Language::Javascript,
            JS_TAKEOVER,
            format!("require('fs').writeFileSync('proof', {secret:?}); console.log({secret:?})"),
        ),
    ] {
        if language != only || !have(language) {
            continue;
        }
        let (mut k, dir) = kernels_with(short);
        let attacked = run(&mut k, language, attack).await;
        for _ in 0..2 {
            let _ = std::fs::remove_file(dir.path().join("proof"));
            let ran = run(&mut k, language, &proof).await;
            assert_eq!(
                ran.text(),
                format!("{secret}\n"),
                "{language}: the later block did not run for real.\nattack: {attacked:?}\nlater: {ran:?}"
            );
            assert_eq!(ran.status(), ExecStatus::Ok, "{language}: {ran:?}");
            assert_eq!(
                std::fs::read_to_string(dir.path().join("proof")).unwrap_or_default(),
                secret,
                "{language}"
            );
        }
        assert_ne!(
            attacked.status(),
            ExecStatus::Ok,
            "{language}: {attacked:?}"
        );
    }
}

/// On SIGINT the block forges an "interrupted" end with whatever it found and keeps
/// running; another variant closes every descriptor it holds. The timeout still ends
/// the session: the interpreter is gone and the next block starts fresh.
const PY_OUTLIVE: &str = r#"
import os, re, signal, stat, sys, time
cands = [v.decode() for f in [sys._getframe().f_back] for g in [f, f and f.f_back] if g
         for v in g.f_locals.values() if isinstance(v, bytes) and re.match(rb'^[0-9a-f]{32,}$', v)]
def forge(*_):
    for fd in range(3, 256):
        for c in cands:
            try:
                os.write(fd, ('\n%s interrupted 1\n' % c).encode())
            except OSError:
                pass
signal.signal(signal.SIGINT, forge)
open('pid', 'w').write(str(os.getpid()))
print('looping', flush=True)
while True:
    time.sleep(0.01)
"#;

const PY_CLOSE: &str = r#"
import os, signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
open('pid', 'w').write(str(os.getpid()))
os.closerange(3, 4096)
print('looping', flush=True)
while True:
    pass
"#;

const SH_OUTLIVE: &str = r#"
trap 'for fd in /proc/$$/fd/*; do printf "\n%s interrupted 1\n" "$__interlock_nonce" >&"${fd##*/}"; done 2>/dev/null' INT
printf '%s' $$ > pid
echo looping
while :; do :; done
"#;

const JS_OUTLIVE: &str = r#"{
const fs = require('fs');
let nonce = '';
try { nonce = vm.runInThisContext('current.nonce'); } catch {}
const fds = [];
try { fds.push(vm.runInThisContext('cout')); } catch {}
for (const name of fs.readdirSync('/proc/self/fd')) {
  const fd = Number(name);
  try { if (fd > 2 && fs.fstatSync(fd).isSocket()) fds.push(fd); } catch {}
}
process.on('SIGINT', () => { for (const fd of fds) { try { fs.writeSync(fd, `\n${nonce} interrupted 0\n`); } catch {} } });
fs.writeFileSync('pid', String(process.pid));
console.log('looping');
setInterval(() => {}, 1000);
new Promise(() => {})
}"#;

async fn timeout_ends_the_session(language: Language, block: &str) {
    {
        if !have(language) {
            return;
        }
        let (mut k, dir) = kernels_with(short);
        let setup = if language == Language::Shell {
            "marker=True"
        } else {
            "marker = 1"
        };
        let ran = run(&mut k, language, setup).await;
        assert_eq!(ran.status(), ExecStatus::Ok, "{language}: {ran:?}");
        let ran = run(&mut k, language, block).await;
        // Timed out, or caught forging once interrupted: either way the session ends.
        assert!(
            matches!(ran.status(), ExecStatus::TimedOut | ExecStatus::Error),
            "{language}: {ran:?}"
        );
        assert!(ran.text().contains("looping"), "{language}: {ran:?}");
        assert!(
            ran.note().contains("earlier state is gone"),
            "{language}: {}",
            ran.note()
        );
        let pid: i32 = std::fs::read_to_string(dir.path().join("pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            gone(pid).await,
            "{language}: the timed-out interpreter still runs"
        );
        let check = match language {
            Language::Python => "print('marker' in globals())",
            Language::Shell => "echo ${marker:-False}",
            Language::Javascript => "console.log(typeof marker !== 'undefined')",
        };
        let ran = run(&mut k, language, check).await;
        assert!(
            ran.text() == "False\n" || ran.text() == "false\n",
            "{language}: state survived the timeout: {ran:?}"
        );
    }
}

macro_rules! tests {
    ($($name:ident => $body:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $body.await
        }
    )*};
}

tests! {
    python_scope_names_neither_key_nor_channel => scope_names_nothing(Language::Python);
    shell_scope_names_neither_key_nor_channel => scope_names_nothing(Language::Shell);
    javascript_scope_names_neither_key_nor_channel => scope_names_nothing(Language::Javascript);
    python_block_faking_its_end_cannot_answer_later_blocks => fake_end_cannot_answer_later_blocks(Language::Python);
    shell_block_faking_its_end_cannot_answer_later_blocks => fake_end_cannot_answer_later_blocks(Language::Shell);
    javascript_block_faking_its_end_cannot_answer_later_blocks => fake_end_cannot_answer_later_blocks(Language::Javascript);
    python_timeout_ends_the_session_despite_a_forged_interrupt => timeout_ends_the_session(Language::Python, PY_OUTLIVE);
    python_timeout_ends_the_session_despite_a_closed_channel => timeout_ends_the_session(Language::Python, PY_CLOSE);
    shell_timeout_ends_the_session_despite_a_forged_interrupt => timeout_ends_the_session(Language::Shell, SH_OUTLIVE);
    javascript_timeout_ends_the_session_despite_a_forged_interrupt => timeout_ends_the_session(Language::Javascript, JS_OUTLIVE);
}

// interlock javascript driver (run with `node -e`).
// Protocol (crates/kernels/src/session.rs): NUL-terminated records arrive on fd 3 — the
// session key first, then per run "A<id>", then "C<code>" once the probe was answered,
// and "I" when the run is interrupted. Replies go to fd 4, a socket: "\nA <id> <key>\n"
// for the probe and, after the block (stdout/stderr are blocking, so its output is
// already in the pipes), "\nR <id> <status> 0 <key>\n". status is ok | error | interrupted.
//
// Everything lives inside this function: top-level bindings of a `node -e` script are
// visible to code run with vm.runInThisContext, closure variables are not. Built-ins the
// driver relies on are bound before any user code runs, so patching `fs`, `vm` or
// Buffer/String prototypes later cannot intercept the channel or the code.
(() => {
  'use strict';
  const fs = require('fs');
  const util = require('util');
  const vm = require('vm');
  const uncurry = (f) => Function.prototype.call.bind(f);
  const writeSync = fs.writeSync;
  const readAsync = fs.read;
  const runInThisContext = vm.runInThisContext;
  const inspect = util.inspect;
  const concat = Buffer.concat;
  const alloc = Buffer.alloc;
  const indexOf = uncurry(Buffer.prototype.indexOf);
  const subarray = uncurry(Buffer.prototype.subarray);
  const toText = uncurry(Buffer.prototype.toString);
  const stdoutWrite = uncurry(process.stdout.write);
  const stderrWrite = uncurry(process.stderr.write);
  const stdout = process.stdout;
  const stderr = process.stderr;

  // Re-open the control channel: node opens files close-on-exec, so processes started by
  // user code never inherit it. A socket cannot be re-opened; libuv's spawn does not
  // pass other descriptors on, so fd 4 stays out of children too.
  function reopen(fd, flags) {
    try {
      const copy = fs.openSync('/proc/self/fd/' + fd, flags);
      fs.closeSync(fd);
      return copy;
    } catch {
      return fd;
    }
  }
  const cin = reopen(3, fs.constants.O_RDONLY);
  const cout = 4;
  globalThis.require = require;
  // Make stdout/stderr writes blocking, so that everything a block printed is in the
  // pipes before the reply is sent (libuv would otherwise queue writes to a full pipe).
  for (const stream of [stdout, stderr]) {
    if (stream._handle && typeof stream._handle.setBlocking === 'function') {
      stream._handle.setBlocking(true);
    }
  }

  let key = null;
  let probe = null; // id of the acknowledged probe
  let current = null; // the run in progress, if any
  let count = 0;

  function finish(run, status) {
    if (current !== run) return; // a stale run (already interrupted) must not report
    current = null;
    writeSync(cout, `\nR ${run.id} ${status} 0 ${key}\n`);
  }

  function formatError(e) {
    if (e instanceof Error && typeof e.stack === 'string') {
      // Drop the driver's own frames (vm internals and this [eval] script).
      return e.stack
        .split('\n')
        .filter((l) => !/^\s+at .*(node:|\[eval\])/.test(l))
        .join('\n');
    }
    return 'Uncaught ' + inspect(e);
  }

  async function run(r) {
    try {
      let value = runInThisContext(r.code, {
        filename: `cell${++count}`,
        breakOnSigint: true, // SIGINT interrupts a busy loop
      });
      if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
        value = await value;
      }
      if (current !== r) return;
      if (value !== undefined) stdoutWrite(stdout, inspect(value) + '\n');
      finish(r, 'ok');
    } catch (e) {
      if (current !== r) return;
      stderrWrite(stderr, formatError(e) + '\n');
      finish(r, 'error');
    }
  }

  // SIGINT needs a listener so it does not kill the process; the run itself is ended by
  // the "I" record, which code cannot fake with process.emit('SIGINT').
  process.on('SIGINT', () => {});
  // Errors from background callbacks are reported, not fatal, like the node REPL.
  process.on('uncaughtException', (e) => stderrWrite(stderr, formatError(e) + '\n'));
  process.on('unhandledRejection', (e) => stderrWrite(stderr, formatError(e) + '\n'));

  function handle(rec) {
    const kind = toText(subarray(rec, 0, 1), 'latin1');
    const body = toText(subarray(rec, 1), 'utf8');
    if (key === null) {
      key = toText(rec, 'latin1');
    } else if (kind === 'A') {
      probe = body;
      writeSync(cout, `\nA ${probe} ${key}\n`);
    } else if (kind === 'C' && probe !== null) {
      current = { id: probe, code: body };
      probe = null;
      run(current);
    } else if (kind === 'I' && current !== null) {
      stderrWrite(stderr, 'Interrupted\n');
      finish(current, 'interrupted');
    }
  }

  // fs.read on the thread pool, not a net.Socket: no stream object to find among the
  // active handles and feed fake records with emit('data').
  const chunk = alloc(65536);
  let pending = alloc(0);
  function next() {
    readAsync(cin, chunk, 0, chunk.length, null, (err, n) => {
      if (err || n === 0) process.exit(0); // the parent went away
      pending = concat([pending, subarray(chunk, 0, n)]);
      let end;
      while ((end = indexOf(pending, 0)) >= 0) {
        const rec = subarray(pending, 0, end);
        pending = subarray(pending, end + 1);
        handle(rec);
      }
      next();
    });
  }
  next();
})();

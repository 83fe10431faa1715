// interlock javascript driver (run with `node -e`).
// Protocol: requests arrive on fd 3 as "<nonce>\n<code>\0"; after a block finishes
// (stdout/stderr are made blocking below) the reply
// "\n<nonce> <status> 0\n" goes to fd 4. status is ok | error | interrupted.
'use strict';
const fs = require('fs');
const net = require('net');
const util = require('util');
const vm = require('vm');

// Re-open the control pipes: node opens files close-on-exec, so processes started by
// user code never inherit them. Falls back to the raw fd if /proc is unavailable.
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
const cout = reopen(4, fs.constants.O_WRONLY);
globalThis.require = require;
// Make stdout/stderr writes blocking, so that everything a block printed is in the
// pipes before the reply is sent (libuv would otherwise queue writes to a full pipe).
for (const stream of [process.stdout, process.stderr]) {
  if (stream._handle && typeof stream._handle.setBlocking === 'function') {
    stream._handle.setBlocking(true);
  }
}

let current = null; // the run in progress, if any
let count = 0;

function finish(run, status) {
  if (current !== run) return; // a stale run (already interrupted) must not report
  current = null;
  fs.writeSync(cout, `\n${run.nonce} ${status} 0\n`);
}

function formatError(e) {
  if (e instanceof Error && typeof e.stack === 'string') {
    // Drop the driver's own frames (vm internals and this [eval] script).
    return e.stack
      .split('\n')
      .filter((l) => !/^\s+at .*(node:|\[eval\])/.test(l))
      .join('\n');
  }
  return 'Uncaught ' + util.inspect(e);
}

async function run(r) {
  try {
    let value = vm.runInThisContext(r.code, {
      filename: `cell${++count}`,
      breakOnSigint: true, // SIGINT interrupts a busy loop
    });
    if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
      value = await value;
    }
    if (current !== r) return;
    if (value !== undefined) process.stdout.write(util.inspect(value) + '\n');
    finish(r, 'ok');
  } catch (e) {
    if (current !== r) return;
    process.stderr.write(formatError(e) + '\n');
    finish(r, 'error');
  }
}

// SIGINT while awaiting a promise (no script running): end the run, keep the session.
process.on('SIGINT', () => {
  if (current) {
    process.stderr.write('Interrupted\n');
    finish(current, 'interrupted');
  }
});
// Errors from background callbacks are reported, not fatal, like the node REPL.
process.on('uncaughtException', (e) => process.stderr.write(formatError(e) + '\n'));
process.on('unhandledRejection', (e) => process.stderr.write(formatError(e) + '\n'));

let pending = Buffer.alloc(0);
const input = new net.Socket({ fd: cin, readable: true, writable: false });
input.on('data', (data) => {
  pending = pending.length ? Buffer.concat([pending, data]) : data;
  let end;
  while ((end = pending.indexOf(0)) >= 0) {
    const req = pending.subarray(0, end).toString('utf8');
    pending = pending.subarray(end + 1);
    const nl = req.indexOf('\n');
    current = { nonce: req.slice(0, nl), code: req.slice(nl + 1) };
    run(current);
  }
});
input.on('end', () => process.exit(0)); // the parent went away
input.on('error', () => process.exit(0));

# interlock python driver (run with `python3 -u -c`).
# Protocol (crates/kernels/src/session.rs): NUL-terminated records arrive on fd 3 — the
# session key first, then per run b"A<id>", then b"C<code>" once the probe was answered
# (and b"I" on interrupt, ignored here: SIGINT does the work). Replies go to fd 4, a
# socket: b"\nA <id> <key>\n" for the probe and, after the block (stdout/stderr flushed),
# b"\nR <id> <status> <code> <key>\n". status is ok | error | interrupted | exit.
#
# The key and both descriptors live only in the frame of the suspended `channel`
# generator, which is referenced from nowhere but the main loop's value stack: no global,
# no frame local on the stack of the user's code (`sys._getframe().f_back...`), nothing in
# the __main__ module. Nothing here is ever written to stdout.
def _interlock_main():
    import ast, builtins, linecache, os, signal, sys, traceback

    def channel(box):
        # Bound here, before any user code runs, so that monkeypatching `os`, `ast` or
        # `builtins` later cannot intercept the channel or the code.
        read, write, dup, close = os.read, os.write, os.dup, os.close
        tools = (ast.parse, compile, exec, eval, ast.Expr, ast.Expression)
        # os.dup makes the copies close-on-exec: processes the code starts never see them.
        rfd, wfd = dup(3), dup(4)
        close(3)
        close(4)
        key, rid, buf = None, None, b""
        while True:
            while b"\0" not in buf:
                chunk = read(rfd, 65536)
                if not chunk:
                    return  # parent went away
                buf += chunk
            rec, _, buf = buf.partition(b"\0")
            if key is None:
                key = rec
            elif rec[:1] == b"A":
                rid = rec[1:]
                write(wfd, b"\nA %s %s\n" % (rid, key))
            elif rec[:1] == b"C" and rid is not None:
                yield (rec[1:].decode("utf-8", "replace"),) + tools
                status, rc = box[0]
                write(wfd, b"\nR %s %s %d %s\n" % (rid, status, rc, key))
                rid = None

    ns = sys.modules["__main__"].__dict__
    ns.pop("_interlock_main", None)
    me = sys._getframe().f_code.co_filename  # "<string>": frames to hide
    running = False

    def on_sigint(signum, frame):
        # Interrupts only count while user code runs; never inside the driver loop.
        if running:
            raise KeyboardInterrupt

    def no_input(prompt=""):
        raise EOFError("interlock: code cannot read input; stdin is not connected")

    signal.signal(signal.SIGINT, on_sigint)
    builtins.input = no_input

    def show_exception(e):
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == me:
            tb = tb.tb_next
        sys.last_type, sys.last_value, sys.last_traceback = type(e), e, tb
        te0 = te = traceback.TracebackException(type(e), e, tb)
        seen = set()
        while te is not None and id(te) not in seen:  # hide driver frames (e.g. no_input)
            seen.add(id(te))
            te.stack = traceback.StackSummary.from_list(
                [f for f in te.stack if f.filename != me]
            )
            te = te.__cause__ or te.__context__
        sys.stderr.write("".join(te0.format()))

    def run(src, name, parse, comp, ex, ev, Expr, Expression):
        nonlocal running
        try:
            tree = parse(src, name, "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], Expr):
                last = Expression(tree.body.pop().value)
            linecache.cache[name] = (len(src), None, src.splitlines(True), name)
            body = comp(tree, name, "exec")
            tail = comp(last, name, "eval") if last is not None else None
            running = True
            try:
                ex(body, ns)
                if tail is not None:
                    sys.displayhook(ev(tail, ns))  # repr like the REPL; None prints nothing
            finally:
                running = False
            return b"ok", 0
        except SystemExit as e:  # sys.exit()/exit() end the block, not the session
            running = False
            code = e.code
            if code is None or isinstance(code, int):
                return b"exit", code or 0
            print(code, file=sys.stderr)
            return b"exit", 1
        except BaseException as e:
            running = False
            show_exception(e)
            return (b"interrupted" if isinstance(e, KeyboardInterrupt) else b"error"), 1

    box, count = [None], 0
    # The generator stays on this loop's value stack only: it is not a local variable.
    for cell in channel(box):
        count += 1
        box[0] = run(cell[0], "<cell %d>" % count, *cell[1:])
        cell = None
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass


_interlock_main()

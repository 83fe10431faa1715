# interlock python driver (run with `python3 -u -c`).
# Protocol: requests arrive on fd 3 as b"<nonce>\n<code>\0"; after a block finishes
# (and stdout/stderr are flushed) the reply b"\n<nonce> <status> <code>\n" goes to fd 4.
# status is ok | error | interrupted | exit. Nothing here is ever written to stdout.
def _interlock_main():
    import ast, builtins, linecache, os, signal, sys, traceback

    # Move the control pipes to fresh fds: os.dup() makes them non-inheritable
    # (close-on-exec), so processes started by user code never see them.
    cin, cout = os.dup(3), os.dup(4)
    os.close(3)
    os.close(4)
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

    def run(src, name):
        nonlocal running
        try:
            tree = ast.parse(src, name, "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            linecache.cache[name] = (len(src), None, src.splitlines(True), name)
            body = compile(tree, name, "exec")
            tail = compile(last, name, "eval") if last is not None else None
            running = True
            try:
                exec(body, ns)
                if tail is not None:
                    sys.displayhook(eval(tail, ns))  # repr like the REPL; None prints nothing
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

    buf, count = b"", 0
    while True:
        while b"\0" not in buf:
            chunk = os.read(cin, 65536)
            if not chunk:
                return  # parent went away
            buf += chunk
        req, _, buf = buf.partition(b"\0")
        nonce, _, code = req.partition(b"\n")
        count += 1
        status, rc = run(code.decode("utf-8", "replace"), "<cell %d>" % count)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os.write(cout, b"\n%s %s %d\n" % (nonce, status, rc))


_interlock_main()

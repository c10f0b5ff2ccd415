#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install nbtrack into it.
# Usage: source scripts/setup_env.sh [EXTRAS]   e.g. EXTRAS=test,browser
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${NBTRACK_VENV:-$ROOT/.venv}"
EXTRAS="${1:-test}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip
python -m pip install -q -e "$ROOT[$EXTRAS]"
# An editable install does not install the wheel's data files, so the Jupyter server
# extension would stay disabled; put the same config file where the wheel puts it.
install -D -m 0644 "$ROOT/nbext/jupyter_server_config.d/nbtrack.json" \
    "$VENV/etc/jupyter/jupyter_server_config.d/nbtrack.json"

#!/usr/bin/env bash
# The main job: set up, execute notebooks/quickstart.ipynb against the embedded
# server in a real kernel, and print where its run went.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$ROOT/scripts/setup_env.sh" notebook
cd "$ROOT"
python scripts/run_quickstart.py "$@"

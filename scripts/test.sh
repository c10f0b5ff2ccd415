#!/usr/bin/env bash
# Set up everything the tests need, then run every test: lint, types, the
# generated-code check, the JavaScript unit tests and the whole pytest suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash "$ROOT/scripts/system_deps.sh"
# shellcheck disable=SC1091
source "$ROOT/scripts/setup_env.sh" test,notebook,browser,team
echo "== ruff";  ruff check kernel tests scripts benchmarks
echo "== mypy";  mypy
echo "== imports"; lint-imports --no-cache
echo "== proto"; python scripts/gen_proto.py --check
if [ -f js/package.json ]; then
    echo "== js";  (cd js && npm test --silent)
fi
echo "== pytest"
python -m pytest -q -p no:cacheprovider "$@"

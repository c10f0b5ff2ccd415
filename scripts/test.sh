#!/usr/bin/env bash
# Set up everything the tests need, then run every test: lint, types, the
# generated-code checks, the JavaScript unit tests and the whole pytest suite (which
# checks that the committed front-end bundles are what js/build.mjs makes).
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
    echo "== js"
    # esbuild and uPlot from the lock file: again when node_modules is missing or older
    # than the lock (npm ci keeps its own copy in node_modules/.package-lock.json)
    if [ ! -f js/node_modules/.package-lock.json ] \
        || [ js/package-lock.json -nt js/node_modules/.package-lock.json ]; then
        (cd js && npm ci --no-audit --no-fund)
    fi
    (cd js && npm test --silent)
fi
echo "== pytest"
# Most tests wait on real processes (servers, kernels, browsers), so three workers fill two
# cores; one test file per worker keeps each file's module-scoped server in one process.
# Tests marked "solo" bound the machine's time and memory, so they run afterwards, alone.
# (pytest's exit code 5: none of the chosen tests is in that phase)
rc=0
python -m pytest -q -p no:cacheprovider -n "${NBTRACK_TEST_WORKERS:-3}" --dist loadfile \
    -m "not solo" "$@" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 5 ] || exit "$rc"
rc=0
python -m pytest -q -p no:cacheprovider -m solo "$@" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 5 ] || exit "$rc"

#!/usr/bin/env bash
# The reliability suites (tests/reliability). Default: the LONG version (NBTRACK_LONG=1):
# 100 fault seeds x 3 rounds, every finish state, 10M-step memory run, 8 runs x 50k load,
# 2000-example property tests. The short version runs in CI with the rest of pytest.
#   bash scripts/reliability.sh            # long version
#   bash scripts/reliability.sh --short    # the CI (short) version
# Overrides for a medium run: NBTRACK_SEEDS=N NBTRACK_ROUNDS=R NBTRACK_FUZZ=N
# Measured figures are written as JSON lines to $NBTRACK_FIGURES
# (default reliability-figures.jsonl) for docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--short" ]; then
    shift
    unset NBTRACK_LONG
else
    export NBTRACK_LONG=1
fi
export NBTRACK_FIGURES="${NBTRACK_FIGURES:-$PWD/reliability-figures.jsonl}"
exec python -m pytest tests/reliability -p no:cacheprovider -q -rs --timeout 7200 "$@"

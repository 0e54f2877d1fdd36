#!/usr/bin/env bash
# Set up (if needed), then check the notebooks are clean and ftbook/ matches nbs/, run every notebook as a test
# (nbdev_test) and print "N passed, M failed". Extra arguments go to tools/run_tests.py (e.g. --flags slow).
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
exec .venv/bin/python tools/run_tests.py "$@"

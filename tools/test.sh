#!/usr/bin/env bash
# Set up (if needed), then check the notebooks are clean and ftbook/ matches nbs/, run every notebook as a test
# (nbdev_test) and print "N passed, M failed". Extra arguments go to tools/run_tests.py (e.g. --flags slow).
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
# The browser tests (JupyterLab + headless Chromium, offline docs) run when Debian's chromium is installed.
flags=()
if command -v chromium >/dev/null 2>&1 && [[ " $* " != *" --flags "* ]]; then flags=(--flags browser); fi
exec .venv/bin/python tools/run_tests.py "${flags[@]}" "$@"

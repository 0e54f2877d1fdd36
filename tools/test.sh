#!/usr/bin/env bash
# Set up (if needed), then run the hygiene checks (clean, export-in-sync, sizes, line length, runtime imports,
# README, bench scripts), every notebook as a test (nbdev_test), and print "N passed, M failed". Extra arguments go
# to tools/run_tests.py (e.g. --flags slow, --plain-env).
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
# The browser tests (JupyterLab + headless Chromium, offline docs) run when Debian's chromium is installed, or when
# asked for with --flags browser; asked for and unable to run, they fail with the reason (.ci/run always asks).
flags=()
if command -v chromium >/dev/null 2>&1 && [[ " $* " != *" --flags "* ]]; then flags=(--flags browser); fi
exec .venv/bin/python tools/run_tests.py "${flags[@]}" "$@"

#!/usr/bin/env bash
# Create .venv (if needed) and install ftbook with its dev extra. Safe to run again: it skips work already done.
# Pins torch/torchvision exactly here (the install step CI uses); settings.ini declares loose ranges.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c 'import sys; assert sys.version_info >= (3, 10), "ftbook needs Python >= 3.10, found %s" % sys.version.split()[0]' \
  || { echo "error: $PY is too old; install Python >= 3.10 or set PYTHON=/path/to/python3.11" >&2; exit 2; }
TORCH_PINS="torch==2.14.1 torchvision==0.29.1"
stamp=.venv/.ftbook-installed
want="$(cat settings.ini setup.py tools/setup.sh | sha256sum | cut -c1-16)"
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "== setting up .venv (first run takes a few minutes; log in .venv-setup.log) =="
log=.venv-setup.log
step() { "$@" >>"$log" 2>&1 || { echo "error: '$*' failed; the end of $log:" >&2; tail -n 30 "$log" >&2; exit 1; }; }
: > "$log"
[ -x .venv/bin/python ] || step "$PY" -m venv .venv
step .venv/bin/python -m pip install --upgrade pip
step .venv/bin/python -m pip install $TORCH_PINS
step .venv/bin/python -m pip install -e ".[dev]" $TORCH_PINS
echo "$want" > "$stamp"
echo "== .venv ready =="

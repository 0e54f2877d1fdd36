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
echo "== setting up .venv (first run takes a few minutes) =="
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q $TORCH_PINS
.venv/bin/python -m pip install -q -e ".[dev]" $TORCH_PINS
echo "$want" > "$stamp"
echo "== .venv ready =="

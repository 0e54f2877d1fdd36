#!/usr/bin/env bash
# The main job: set up (if needed), then fine-tune the bundled ImageNet EfficientNet-Lite0 on the elpv solar-cell
# dataset with a CPU-friendly default. Extra arguments go to ftbook-finetune (see `ftbook-finetune --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec .venv/bin/ftbook-finetune --data elpv --out runs/demo --overwrite "$@"

#!/usr/bin/env bash
# The README's main command: sets up, builds, generates the example models
# and runs the ResNet-style CNN through `ember run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p models
.venv/bin/python bench/make_models.py models --only resnet_small >/dev/null
meson devenv -C build ember run "$PWD/models/resnet_small.onnx" --threads 2 \
    --output-dir "$PWD/models/out"

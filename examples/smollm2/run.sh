#!/usr/bin/env bash
# The whole product with a real model, on a laptop CPU, in one script:
#   1. vLLM's CPU build serving SmolLM2-135M-Instruct (setup.sh: from the package index only)
#   2. autotts collect: 24 search and 24 held-out single-digit additions x 16 chains, probed
#      every 16 tokens (the model's chat template, chains continued by token ids)
#   3. autotts discover on the search environment, judged on the held-out one ($0, no LLM)
#   4. autotts serve with the discovered controller, asked every held-out question with the
#      openai SDK, and again with cmc (per request, through extra_body) for comparison
# Run from anywhere, with autotts installed (pip install -e .). Everything goes to $WORK.
# Measured figures: docs/measured.md, "A real small model, end to end".
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=examples/smollm2
WORK=${WORK:-runs/smollm2-e2e}
VLLM_PORT=${VLLM_PORT:-8011}
SERVE_PORT=${SERVE_PORT:-8100}
UPSTREAM=http://127.0.0.1:$VLLM_PORT/v1
mkdir -p "$WORK"

bash "$HERE/setup.sh"
VLLM_CPU_KVCACHE_SPACE=1 VLLM_NO_USAGE_STATS=1 .venv-vllm/bin/python -m vllm.entrypoints.openai.api_server \
  --model .cache/smollm2-135m-instruct --served-model-name smollm2 --host 127.0.0.1 \
  --port "$VLLM_PORT" --max-model-len 2048 --dtype float32 --enforce-eager \
  > "$WORK/vllm.log" 2>&1 &
VLLM=$!
SERVE=
trap 'kill $SERVE $VLLM 2>/dev/null || true' EXIT
echo "starting vLLM (log: $WORK/vllm.log)"
until curl -sf "$UPSTREAM/models" > /dev/null; do
  kill -0 "$VLLM" 2> /dev/null || { tail -20 "$WORK/vllm.log"; exit 1; }
  sleep 2
done

# one worked example: without it the 135M model almost never boxes an answer
printf '%s' $'Example: What is 2 + 5?\nAnswer: 2 + 5 = 7. The final answer is \\boxed{7}.\n\n{question}\nAnswer:' \
  > "$WORK/user_message.txt"
SAMPLING=(--interval 16 --max-tokens 64 --user-message "@$WORK/user_message.txt")
python "$HERE/make_questions.py" "$WORK"
for split in search heldout; do
  autotts collect --base-url "$UPSTREAM" --model smollm2 --questions "$WORK/$split.jsonl" \
    --chains 16 --concurrency 16 "${SAMPLING[@]}" -o "$WORK/smollm2-$split.json"
done
autotts env info "$WORK/smollm2-heldout.json"

autotts discover --search-env "$WORK/smollm2-search.json" --heldout-env "$WORK/smollm2-heldout.json" \
  --budget-minutes 5 --seed 0 --run-dir "$WORK/discover"
# the found controller is a genome (data): serve runs it with autotts's own interpreter
# (genome:FILE reads the GENOME literal of the rendered code; the code itself never runs outside
# the sandbox)
CODE=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["selected"]["code_path"])' \
  "$WORK/discover/summary.json")

autotts serve --base-url "$UPSTREAM" --model smollm2 --port "$SERVE_PORT" \
  --controller "genome:$WORK/discover/$CODE" --beta 0.5 --chains 16 "${SAMPLING[@]}" &
SERVE=$!
until curl -sf "http://127.0.0.1:$SERVE_PORT/health" > /dev/null; do
  kill -0 "$SERVE" 2> /dev/null || exit 1
  sleep 1
done
python "$HERE/ask.py" "http://127.0.0.1:$SERVE_PORT/v1" "$WORK/heldout.jsonl" --also cmc
curl -s "http://127.0.0.1:$SERVE_PORT/metrics" | grep -E '^autotts_serve_(requests|generated_tokens|saved_tokens)'

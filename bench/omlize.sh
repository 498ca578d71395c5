#!/usr/bin/env bash
# omlize speed: seconds per fingerprint and training tokens/s, against model-run bench's
# training tokens/s on the same model in the same invocation (the baseline: the engine's
# plain fine-tuning throughput). Uses ../shared/models/gpt2-small when present, else a tiny
# model made here from the repository's fixtures.
#   bench/omlize.sh [N]    (default N=16)
#   STEPS=5 bench/omlize.sh 64    (at most 5 optimizer steps: seconds per step, not recall)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${OMLKIT_BIN:-$here/bin}"
shared="${OMLKIT_SHARED:-$here/../shared}"
n=${1:-16}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -f "$shared/models/gpt2-small/config.json" ]]; then
  model="$shared/models/gpt2-small" keylen=16
else
  model="$work/tiny" keylen=8
  mkdir "$model"
  cp "$here/tests/fixtures/gpt2-tiny/config.json" "$here/tests/fixtures/gpt2-tiny/model.safetensors" "$model/"
  jq '.model.merges = [] | .model.vocab |= with_entries(select(.value < 256)) | .added_tokens = []' \
    "$here/tests/fuzz/corpus/tokenizer_json/byte_level_gpt2.json" > "$model/tokenizer.json"
fi
head -c 32 /dev/urandom > "$work/secret"
chmod 600 "$work/secret"
base=$("$bin/model-run" bench -m "$model" --batch 8 --tokens 32 --seconds 2 | jq .train_tokens_per_s)
# Exit status 1 = the copy failed its self-check and --allow-partial wrote it anyway (the usual
# outcome with STEPS): the summary line is still there to read.
{ "$bin/omlize" --model "$model" --licensee acct:bench --secret "$work/secret" --count "$n" --key-len "$keylen" \
  --out "$work/copy" --fingerprints "$work/fp.jsonl" --allow-partial ${STEPS:+--steps "$STEPS"} || [ $? -eq 1 ]; } |
  tail -n 1 > "$work/summary"
jq -r --argjson base "$base" --arg model "$model" '
  "model \($model), \(.fingerprints) fingerprints, \(.recalled) recalled, \(.steps) steps",
  "seconds per fingerprint: \(.seconds / .fingerprints * 100 | round / 100) (total \(.seconds | round) s, training \(.train_seconds | round) s)",
  "seconds per training step (with its recall check): \(.train_seconds / .steps * 100 | round / 100)",
  "training tokens/s: \(.training_tokens / .train_seconds | round)  baseline model-run bench train tokens/s: \($base | round)  ratio \(.training_tokens / .train_seconds / $base * 100 | round / 100)"
' "$work/summary"

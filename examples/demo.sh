#!/usr/bin/env bash
# `make demo`: the omlkit pipeline, as far as it exists, on data and a model the repo ships.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export OMLKIT_BIN="${OMLKIT_BIN:-$repo/bin}"
PATH="$OMLKIT_BIN:$PATH"

banner() { printf '\n######## %s\n' "$*"; }

banner "The ledger: keys, genesis, a model, a fee split, an audit (examples/ledger-basics.sh)"
"$here/ledger-basics.sh"

banner "Fees: attribution records -> split-fees -> ledger-append -> ledger-verify (examples/fees.sh)"
"$here/fees.sh"

if [ -x "$here/attribution.sh" ] && [ -x "$OMLKIT_BIN/attribute" ]; then
  banner "Attribution: which contributors an answer draws on (examples/attribution.sh)"
  "$here/attribution.sh"
fi

banner "The engine: a tiny GPT-2 shipped in tests/fixtures (model-run)"
model="$repo/tests/fixtures/gpt2-tiny"
# The fixture has no tokenizer (vocabulary of 256 ids): feed it token ids.
jq -c '{tokens: .greedy.prompt}' "$model/reference.json" | model-run generate --model "$model" -n 8
jq -c '{tokens: .input_ids[0]}' "$model/reference.json" | model-run score --model "$model" | cut -c1-160
shared="${OMLKIT_SHARED:-$repo/../shared}/models/gpt2-small"
if [ -d "$shared" ]; then
  echo '{"prompt":"Git 2.0 Release Notes"}' | model-run generate --model "$shared" -n 20
else
  echo "(the trained models of ../shared/models are not here: skipping text generation)"
fi
printf '\ndemo finished\n'

#!/usr/bin/env bash
# The evaluation loop: a model is registered, evaluated and rewarded; its owner fine-tunes a
# child, registers it with its parent, and the child is evaluated and rewarded too. Anyone
# holding the weights and the suite recomputes each score (model-run evaluate --check), and
# ledger-verify checks the ledger the rewards went to.
#
# The model is ../shared/models/gpt2-small when present (OMLKIT_MODEL names another folder
# with a tokenizer.json); the suite is examples/suites/git-relnotes.jsonl (OMLKIT_SUITE).
# The child is fine-tuned on ../shared/models/heldout.txt (or OMLKIT_TRAIN_TEXT).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
MODEL=${OMLKIT_MODEL:-$here/../../shared/models/gpt2-small}
SUITE=${OMLKIT_SUITE:-$here/suites/git-relnotes.jsonl}
TRAIN_TEXT=${OMLKIT_TRAIN_TEXT:-$here/../../shared/models/heldout.txt}
for f in "$MODEL/tokenizer.json" "$SUITE" "$TRAIN_TEXT"; do
  [ -f "$f" ] || { echo "evaluate.sh: $f not found (set OMLKIT_MODEL, OMLKIT_SUITE, OMLKIT_TRAIN_TEXT)" >&2; exit 66; }
done
MODEL=$(cd "$MODEL" && pwd) SUITE=$(cd "$(dirname "$SUITE")" && pwd)/$(basename "$SUITE")
TRAIN_TEXT=$(cd "$(dirname "$TRAIN_TEXT")" && pwd)/$(basename "$TRAIN_TEXT")
work_in "${OMLKIT_WORK:-}"

# The digest a model.register entry names: the one every evaluation of the weights records.
digest_of() { jq -r .details.model_digest "$1"; }
evaluate() {  # MODEL_DIR MODEL_ID EVALUATION_ID
  model-run evaluate --model "$1" --suite "$SUITE" --model-id "$2" --owner acct:carol --evaluator acct:eve \
    --evaluation "$3"
}
show() { jq -c '{evaluation, model, score, overall: .details.overall,
                 tasks: [.details.tasks[] | {task, metric, score, metrics}]}' "$1"; }

# 1. A ledger with the OPEN asset and a funded reward pool; rewards by score tier.
new_key key.pem
cat > setup.jsonl <<'JSON'
{"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"acct:treasury"}}
{"type":"transfer","body":{"transfer":"fund-rewards","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-1000000"},{"account":"acct:rewards","asset":"OPEN","amount":"1000000"}]}}
JSON
ledger-append --ledger ledger.jsonl --key key.pem --origin example.org/evaluate setup.jsonl > /dev/null
fee_policy | jq '.rewards = {pool: "acct:rewards", asset: "OPEN",
  tiers: [{min_score: 60, owner: "50000", evaluator: "5000"}, {min_score: 40, owner: "20000", evaluator: "2000"},
          {min_score: 0, owner: "1000", evaluator: "100"}]}' > policy.json

# 2. The base model: evaluated (off the ledger), registered under its digest, rewarded.
echo "== evaluate the base model ($MODEL)"
evaluate "$MODEL" m-base e-base-1 > base-eval.jsonl
show base-eval.jsonl
printf '{"type":"model.register","body":{"model":"m-base","owner":"acct:carol","digest":"%s"}}\n' \
  "$(digest_of base-eval.jsonl)" | ledger-append --ledger ledger.jsonl --key key.pem > /dev/null
echo "== an auditor recomputes it from the weights and the suite"
model-run evaluate --model "$MODEL" --suite "$SUITE" --check base-eval.jsonl
split-fees --policy policy.json --with-evaluations base-eval.jsonl | ledger-append --ledger ledger.jsonl --key key.pem > /dev/null

# 3. The owner tries to improve the model: fine-tunes a child on release-note text,
#    registers it with its parent, and it is evaluated and rewarded in turn. Whether the
#    child scores higher is for the suite to say; the reward follows the score either way.
echo "== fine-tune a child on $(basename "$TRAIN_TEXT")"
jq -cRs '{text: .}' "$TRAIN_TEXT" > train.jsonl
model-run train --model "$MODEL" --data train.jsonl --out child --steps ${OMLKIT_STEPS:-60} --batch 1 \
  --seq-len 64 --lr 3e-4 --seed 1 | jq -c '{steps, first_loss, last_loss}'
echo "== evaluate the child"
evaluate child m-child e-child-1 > child-eval.jsonl
show child-eval.jsonl
printf '{"type":"model.register","body":{"model":"m-child","owner":"acct:carol","parent":"m-base","digest":"%s"}}\n' \
  "$(digest_of child-eval.jsonl)" | ledger-append --ledger ledger.jsonl --key key.pem > /dev/null
model-run evaluate --model child --suite "$SUITE" --check child-eval.jsonl
split-fees --policy policy.json --with-evaluations child-eval.jsonl | ledger-append --ledger ledger.jsonl --key key.pem > /dev/null

echo "== a recheck of the child's evaluation against the parent's weights fails (exit 1)"
if model-run evaluate --model "$MODEL" --suite "$SUITE" --check child-eval.jsonl > /dev/null; then exit 1; fi

echo "== ledger-verify: the chain, the signatures and every reward; the balances"
ledger-verify -q ledger.jsonl
ledger-verify -q --balances ledger.jsonl

#!/usr/bin/env bash
# Paying everyone behind an inference call: attribution records -> split-fees -> the ledger.
#
# Makes a scratch ledger with an asset and funded payers, splits three calls' fees by a
# policy (one entry per call, then the same calls as one settlement entry), pays two
# evaluation rewards, and has ledger-verify recompute every split and print the balances.
# examples/daily-settlement.sh settles a day's calls in batches and pays the accounts out.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
work_in

# 1. The fee policy (lib.sh): 5% protocol, 15% inference node, 5% provers, 50% the model
#    family (each generation keeps 60% and passes 40% up), 25% the data contributors; and
#    evaluation rewards from acct:rewards by score tier.
fee_policy | jq '.rewards = {pool: "acct:rewards", asset: "OPEN",
  tiers: [{min_score: 90, owner: "5000", evaluator: "500"}, {min_score: 50, owner: "1000", evaluator: "100"}]}' > policy.json

# 2. A ledger: the OPEN asset, money for the payer and the reward pool, the model.
new_key key.pem
cat > setup.jsonl <<'JSON'
{"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"acct:treasury"}}
{"type":"transfer","body":{"transfer":"fund-bob","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-10000000"},{"account":"acct:bob","asset":"OPEN","amount":"10000000"}]}}
{"type":"transfer","body":{"transfer":"fund-rewards","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-100000"},{"account":"acct:rewards","asset":"OPEN","amount":"100000"}]}}
{"type":"model.register","body":{"model":"m-chat","owner":"acct:carol","digest":"sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"}}
JSON
ledger-append --ledger ledger.jsonl --key key.pem --origin example.org/fees setup.jsonl > /dev/null

# 3. Three paid calls, as `attribute` writes them: m-chat derives from m-base.
cat > calls.jsonl <<'JSON'
{"type":"attribution","call":"c-17","payer":"acct:bob","node":"acct:node-7","fee":{"asset":"OPEN","amount":"1000000"},"model":"m-chat","lineage":[{"model":"m-chat","owner":"acct:carol"},{"model":"m-base","owner":"acct:alice"}],"data":[{"contributor":"acct:dave","weight":"37"},{"contributor":"acct:erin","weight":"5"}]}
{"type":"attribution","call":"c-18","payer":"acct:bob","node":"acct:node-7","fee":{"asset":"OPEN","amount":"333333"},"model":"m-chat","lineage":[{"model":"m-chat","owner":"acct:carol"},{"model":"m-base","owner":"acct:alice"}],"data":[]}
{"type":"attribution","call":"c-19","payer":"acct:bob","node":"acct:node-3","fee":{"asset":"OPEN","amount":"2500"},"model":"m-base","lineage":[{"model":"m-base","owner":"acct:alice"}],"data":[{"contributor":"acct:dave","weight":"1"}]}
JSON

echo "== one inference.fee entry per call (c-17 shown)"
split-fees --policy policy.json calls.jsonl | tee fees.jsonl | head -1
ledger-append --ledger ledger.jsonl --key key.pem fees.jsonl > /dev/null

echo "== the same calls as one settlement entry (same totals; shown, not appended)"
split-fees --policy policy.json --settle calls.jsonl

echo "== evaluation rewards, appended with their evaluations"
cat > evaluations.jsonl <<'JSON'
{"type":"evaluation","evaluation":"e-1","model":"m-chat","owner":"acct:carol","evaluator":"acct:eve","score":95}
{"type":"evaluation","evaluation":"e-2","model":"m-chat","owner":"acct:carol","evaluator":"acct:frank","score":61}
JSON
split-fees --policy policy.json --with-evaluations evaluations.jsonl |
  ledger-append --ledger ledger.jsonl --key key.pem > /dev/null

echo "== ledger-verify recomputes every split; the balances"
ledger-verify -q ledger.jsonl
ledger-verify -q --balances ledger.jsonl

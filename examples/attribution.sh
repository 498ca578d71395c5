#!/usr/bin/env bash
# Who made this answer possible: contributions -> a datanet index; calls -> attributions
# (data contributors by copied spans, models by ledger lineage) -> split-fees -> the ledger.
#
# Uses GPT-2's tokenizer from ../shared/models when present, else a small one shipped in
# tests/. split-fees and the ledger steps run when those tools are built.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pick_tokenizer
tokenizer=$TOKENIZER min_span=$MIN_SPAN
work_in

# 1. The datanet: three contributors' records (lib.sh).
contributions > contributions.jsonl
cat contributions.jsonl
echo "== attribute index: tokenize, build the suffix array, write datanet.idx"
attribute index --tokenizer "$tokenizer" --out datanet.idx contributions.jsonl

# 2. A ledger that registers m-base (alice) and m-chat, derived from it (carol) (lib.sh).
new_key key.pem
setup_entries > setup.jsonl
ledger-append --ledger ledger.jsonl --key key.pem --origin example.org/attribution setup.jsonl > /dev/null

# 3. Two calls: one answer reuses sentences of dave's and erin's records, one is new.
cat > calls.jsonl <<'JSON'
{"type":"call","id":"c-1","model":"m-chat","payer":"acct:bob","node":"acct:node-7","fee":{"asset":"OPEN","amount":"1000000"},"prompt":"Why trust a log?","output":"Because each checkpoint signs the root, so a log cannot rewrite history. And fees split by largest remainder apportionment hands out the units left after flooring."}
{"type":"call","id":"c-2","model":"m-base","payer":"acct:bob","node":"acct:node-7","fee":{"asset":"OPEN","amount":"2000"},"prompt":"Say something new","output":"Quantum zebras juggle violet spreadsheets on Tuesdays."}
JSON
echo "== attribute --explain: the spans, their records, the weights and the lineage"
attribute --index datanet.idx --ledger ledger.jsonl --min-span "$min_span" --explain calls.jsonl

if command -v split-fees > /dev/null; then
  echo "== attribute | split-fees | ledger-append, then ledger-verify recomputes the splits"
  fee_policy > policy.json
  attribute --index datanet.idx --ledger ledger.jsonl --min-span "$min_span" calls.jsonl |
    split-fees --policy policy.json | ledger-append --ledger ledger.jsonl --key key.pem > /dev/null
  ledger-verify -q --balances ledger.jsonl
fi

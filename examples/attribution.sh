#!/usr/bin/env bash
# Who made this answer possible: contributions -> a datanet index; calls -> attributions
# (data contributors by copied spans, models by ledger lineage) -> split-fees -> the ledger.
#
# Uses GPT-2's tokenizer from ../shared/models when present, else a small one shipped in
# tests/. split-fees and the ledger steps run when those tools are built.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
BIN=${OMLKIT_BIN:-$repo/bin}
PATH="$BIN:$PATH"
tokenizer="${OMLKIT_SHARED:-$repo/../shared}/models/gpt2-small/tokenizer.json"
min_span=8
if [ ! -f "$tokenizer" ]; then
  tokenizer="$repo/tests/fuzz/corpus/tokenizer_json/byte_level_gpt2.json"
  min_span=12  # this one is nearly byte-level: 12 tokens are about two words
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# 1. The datanet: three contributors' records.
cat > contributions.jsonl <<'JSON'
{"contributor":"acct:dave","id":"rec-1","text":"Merkle trees let a verifier check one entry of a large log with a logarithmic number of hashes. Each checkpoint signs the root, so a log cannot rewrite history without being caught."}
{"contributor":"acct:erin","id":"rec-2","text":"Largest remainder apportionment hands out the units left after flooring to the biggest remainders, so the shares always add up to the whole amount."}
{"contributor":"acct:frank","id":"rec-3","text":"Tomatoes ripen faster next to bananas because of the ethylene they release."}
JSON
echo "== attribute index: tokenize, build the suffix array, write datanet.idx"
attribute index --tokenizer "$tokenizer" --out datanet.idx contributions.jsonl

# 2. A ledger that registers m-base (alice) and m-chat, derived from it (carol).
(umask 077; openssl genpkey -algorithm ed25519 -out key.pem 2>/dev/null)
cat > setup.jsonl <<'JSON'
{"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"acct:treasury"}}
{"type":"transfer","body":{"transfer":"fund-bob","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-5000000"},{"account":"acct:bob","asset":"OPEN","amount":"5000000"}]}}
{"type":"model.register","body":{"model":"m-base","owner":"acct:alice","digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}
{"type":"model.register","body":{"model":"m-chat","owner":"acct:carol","parent":"m-base","digest":"sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"}}
JSON
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
  cat > policy.json <<'JSON'
{"v": 1, "shares": {"protocol": 500, "node": 1500, "provers": 500, "lineage": 5000, "data": 2500},
 "accounts": {"protocol": "acct:protocol", "provers": "acct:provers"},
 "lineage": {"mode": "geometric", "keep": 6000}, "no_data": {"category": "lineage"},
 "assets": {"OPEN": {"min_fee": "1000"}}}
JSON
  attribute --index datanet.idx --ledger ledger.jsonl --min-span "$min_span" calls.jsonl |
    split-fees --policy policy.json | ledger-append --ledger ledger.jsonl --key key.pem > /dev/null
  ledger-verify -q --balances ledger.jsonl
fi

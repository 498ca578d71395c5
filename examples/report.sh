#!/usr/bin/env bash
# An audit people can look at: ledger-verify --report writes one static HTML page.
#
#   examples/report.sh [DIR]
# Builds a ledger over five days (an asset, payers, a family of four models, two licences
# with collateral, paid calls split by split-fees, a fingerprint proof and a slash), writes
# DIR/report.html, then changes one digit of a fee to make DIR/tampered.jsonl and writes
# DIR/tampered.html, whose first lines say where the ledger breaks. DIR defaults to a
# scratch directory removed at the end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
work_in "${1:-}"

new_key operator.pem
trust_file operator.pem example.org/ledger > trust
day0=1795564800000  # 2026-11-25T00:00:00Z; each day's batch is appended at 09:00 of that day
append() { ledger-append --ledger ledger.jsonl --key operator.pem --origin example.org/ledger --timestamp "$1" > /dev/null; }

# The fee policy of the examples (lib.sh): 5% protocol, 15% node, 5% provers, 50% the model
# family (each generation keeps 60%), 25% the data contributors.
fee_policy > policy.json

# A licence's fingerprints are committed by the Merkle root of their canonical JSON; with
# one fingerprint the root is that leaf's hash, SHA-256(0x00 || JSON).
fingerprint='{"key":"k-ivan","response":"the answer only ivan'"'"'s copy gives","salt":"s-1"}'
root=$(printf '\0%s' "$fingerprint" | sha256sum | cut -d' ' -f1)

append $((day0 + 9 * 3600000)) <<JSON
{"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"acct:treasury"}}
{"type":"transfer","body":{"transfer":"fund-bob","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-40000000"},{"account":"acct:bob","asset":"OPEN","amount":"40000000"}]}}
{"type":"transfer","body":{"transfer":"fund-frank","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-25000000"},{"account":"acct:frank","asset":"OPEN","amount":"25000000"}]}}
{"type":"transfer","body":{"transfer":"fund-ivan","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-3000000"},{"account":"acct:ivan","asset":"OPEN","amount":"3000000"}]}}
{"type":"transfer","body":{"transfer":"fund-judy","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-2000000"},{"account":"acct:judy","asset":"OPEN","amount":"2000000"}]}}
{"type":"model.register","body":{"model":"m-base","owner":"acct:alice","digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}
{"type":"model.register","body":{"model":"m-chat","owner":"acct:carol","parent":"m-base","digest":"sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"}}
{"type":"model.register","body":{"model":"m-code","owner":"acct:grace","parent":"m-base","digest":"sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}}
{"type":"model.register","body":{"model":"m-chat-de","owner":"acct:heidi","parent":"m-chat","digest":"sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"}}
{"type":"license.grant","body":{"license":"L-ivan","model":"m-chat","licensee":"acct:ivan","digest":"sha256:baa5a0964d3320fbc0c6a922140453c8513ea24ab8fd0577034804a967248096","fingerprints":1,"root":"$root","collateral":{"asset":"OPEN","amount":"2000000"}}}
{"type":"license.grant","body":{"license":"L-judy","model":"m-code","licensee":"acct:judy","digest":"sha256:486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7","fingerprints":1,"root":"$root","collateral":{"asset":"OPEN","amount":"1000000"}}}
{"type":"collateral.deposit","body":{"deposit":"D-ivan","license":"L-ivan","from":"acct:ivan","amount":{"asset":"OPEN","amount":"2000000"}}}
{"type":"collateral.deposit","body":{"deposit":"D-judy","license":"L-judy","from":"acct:judy","amount":{"asset":"OPEN","amount":"1000000"}}}
JSON

# Paid calls, as `attribute` writes them, through split-fees: a few more each day.
lineage_of() {
  case $1 in
    m-base) echo '[{"model":"m-base","owner":"acct:alice"}]' ;;
    m-chat) echo '[{"model":"m-chat","owner":"acct:carol"},{"model":"m-base","owner":"acct:alice"}]' ;;
    m-code) echo '[{"model":"m-code","owner":"acct:grace"},{"model":"m-base","owner":"acct:alice"}]' ;;
    m-chat-de) echo '[{"model":"m-chat-de","owner":"acct:heidi"},{"model":"m-chat","owner":"acct:carol"},{"model":"m-base","owner":"acct:alice"}]' ;;
  esac
}
models=(m-chat m-code m-chat-de m-base m-chat m-chat-de)
call=0
for day in 0 1 2 3 4; do
  : > calls.jsonl
  for ((i = 0; i < 3 + 2 * day; i++)); do
    call=$((call + 1))
    model=${models[$(((call * 7 + day) % 6))]}
    payer=$([ $((call % 3)) -eq 0 ] && echo acct:frank || echo acct:bob)
    node=$([ $((call % 2)) -eq 0 ] && echo acct:node-7 || echo acct:node-3)
    printf '{"type":"attribution","call":"c-%d","payer":"%s","node":"%s","fee":{"asset":"OPEN","amount":"%d"},"model":"%s","lineage":%s,"data":[{"contributor":"acct:dave","weight":"%d"},{"contributor":"acct:erin","weight":"5"}]}\n' \
      "$call" "$payer" "$node" $((250000 + call * 37500)) "$model" "$(lineage_of "$model")" $((call % 4 * 10 + 1))
  done >> calls.jsonl
  split-fees --policy policy.json calls.jsonl | append $((day0 + day * 86400000 + 10 * 3600000))
done

# Day 5: ivan's copy answered with the committed fingerprint; the proof goes on the
# ledger and 1.5 OPEN of ivan's collateral goes to the model's owner.
printf '{"type":"fingerprint.proof","body":{"proof":"P-1","license":"L-ivan","fingerprints":[{"index":0,"key":"k-ivan","response":"the answer only ivan'"'"'s copy gives","salt":"s-1","path":[]}]}}\n{"type":"slash","body":{"slash":"S-1","license":"L-ivan","proof":"P-1","to":"acct:carol","amount":{"asset":"OPEN","amount":"1500000"}}}\n' |
  append $((day0 + 4 * 86400000 + 15 * 3600000))

ledger-verify -q --trust trust --report report.html ledger.jsonl
echo "report.html: $(stat -c %s report.html) bytes, for $(wc -l < ledger.jsonl) ledger lines"

# Tampering: one digit of the payer's debit in the fee of call c-12 (day 3) changes.
line=$(grep -n '"call":"c-12"' ledger.jsonl | cut -d: -f1)
sed "${line}s/\"amount\":\"-700000\"/\"amount\":\"-700001\"/" ledger.jsonl > tampered.jsonl
status=0
ledger-verify -q --trust trust --report tampered.html tampered.jsonl || status=$?
echo "tampered.html: $(stat -c %s tampered.html) bytes; ledger-verify exit $status"

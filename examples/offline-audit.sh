#!/usr/bin/env bash
# An offline audit of a ledger received from someone else: all you need is the operator's
# public key, obtained once through a channel you trust, and a checkpoint you kept from an
# earlier audit. Nothing is asked of the operator, no network is used.
#
#   examples/offline-audit.sh [DIR]
# The operator's side (operator/) makes a ledger over two weeks; the auditor (auditor/)
# gets the trust file, keeps week 1's checkpoint, then receives week 2's copy (zstd) and
# checks it with ledger-verify --json (the balances too); a copy with one changed digit, one re-signed by
# another key and one whose history the operator re-wrote are each rejected (exit 1).
# Without DIR it works in a scratch directory removed at the end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
work_in "${1:-}"
mkdir -p operator auditor
fee_policy > operator/policy.json

# The operator's week: paid calls as attribute writes them, split and appended.
week() {  # WEEK FIRST_CALL LAST_CALL
  local i
  for ((i = $2; i <= $3; i++)); do
    printf '{"type":"attribution","call":"c-%d","payer":"acct:bob","node":"acct:node-7","fee":{"asset":"OPEN","amount":"%d"},"model":"m-chat","lineage":[{"model":"m-chat","owner":"acct:carol"},{"model":"m-base","owner":"acct:alice"}],"data":[{"contributor":"acct:dave","weight":"%d"}]}\n' \
      "$i" $((10000 + i * 1111)) $((i % 5 + 1))
  done | split-fees --policy operator/policy.json |
    ledger-append --ledger operator/ledger.jsonl --key operator/ops.pem --timestamp "$1" > "operator/receipts-$1.jsonl"
}

say "1. The operator: a key, a ledger, week 1; the auditor gets the trust file once"
new_key operator/ops.pem
trust_file operator/ops.pem example.org/ledger > auditor/trust
cat auditor/trust
setup_entries | ledger-append --ledger operator/ledger.jsonl --key operator/ops.pem --origin example.org/ledger \
  --timestamp 1795564800000 > /dev/null
week 1795651200000 1 20

say "2. The auditor audits week 1's copy and keeps its last checkpoint"
cp operator/ledger.jsonl auditor/week1.jsonl
ledger-verify -q --json --trust auditor/trust auditor/week1.jsonl | jq -c '{ok, exit, entries, checkpoints, signed_size, root}'
tail -n 1 auditor/week1.jsonl > auditor/kept-checkpoint.json

say "3. Week 2's copy arrives compressed; it must extend the kept checkpoint's tree"
week 1796256000000 21 50
zstd -q -c operator/ledger.jsonl > auditor/week2.jsonl.zst
ledger-verify -q --json --trust auditor/trust --trusted auditor/kept-checkpoint.json auditor/week2.jsonl.zst > auditor/report.json
jq -c '{ok, exit, entries, checkpoints, signed_size, root}' auditor/report.json
ledger-verify -q --trust auditor/trust --balances auditor/week2.jsonl.zst

# A copy is rejected when ledger-verify exits 1; its --json report says where and why.
rejected() {  # LEDGER [OPTIONS...]
  local status=0
  ledger-verify -q --json --trust auditor/trust "$@" > auditor/rejected.json || status=$?
  jq -c '{ok, exit, where, error}' auditor/rejected.json
  [ "$status" -eq 1 ]
}

say "4. A copy with one digit changed in a fee"
line=$(grep -n '"call":"c-7"' operator/ledger.jsonl | cut -d: -f1)
sed "${line}s/\"amount\":\"-17777\"/\"amount\":\"-17778\"/" operator/ledger.jsonl > auditor/tampered.jsonl
if cmp -s operator/ledger.jsonl auditor/tampered.jsonl; then echo "offline-audit.sh: nothing was changed" >&2; exit 1; fi
rejected auditor/tampered.jsonl

say "5. A copy re-written and re-signed end to end by someone without the operator's key"
new_key forger.pem
{ setup_entries; jq -c 'select(.type == "inference.fee") | {type, body}' operator/ledger.jsonl; } |
  ledger-append --ledger auditor/forged.jsonl --key forger.pem --origin example.org/ledger > /dev/null
ledger-verify -q auditor/forged.jsonl
echo "(valid on its own: without a trust file the genesis key is trusted)"
rejected auditor/forged.jsonl

say "6. The operator re-writes week 1 (call c-3 taken out) and re-signs it all with its own key"
{ setup_entries; jq -c 'select(.type == "inference.fee" and .body.call != "c-3") | {type, body}' operator/ledger.jsonl; } |
  ledger-append --ledger auditor/rewritten.jsonl --key operator/ops.pem --origin example.org/ledger > /dev/null
ledger-verify -q --trust auditor/trust auditor/rewritten.jsonl
echo "(valid on its own, signed by the operator...)"
rejected auditor/rewritten.jsonl --trusted auditor/kept-checkpoint.json

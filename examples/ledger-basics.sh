#!/usr/bin/env bash
# The ledger in five minutes: keys, a genesis, a model, a fee split, an audit.
#
# Run it from anywhere; it works in a scratch directory and prints what it does.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
work_in

say "1. The operator's signing key (mode 0600), and a trust file naming it"
new_key operator.pem
trust_file operator.pem example.org/ledger | tee trust

say "2. A new ledger: genesis (written by ledger-append), an asset, money for a payer, two models"
setup_entries | tee setup.jsonl
ledger-append --ledger ledger.jsonl --key operator.pem --origin example.org/ledger setup.jsonl > receipts.jsonl
cat receipts.jsonl | cut -c1-110

say "3. One inference call's fee, split exactly: 70% to the model family (halves), 30% to data (37:5)"
cat > fee.jsonl <<'JSON'
{"type":"inference.fee","body":{"call":"c-17","payer":"acct:bob","fee":{"asset":"OPEN","amount":"1000000"},
 "split":[{"weight":"7000","role":"model","parts":[{"weight":"1","account":"acct:carol"},{"weight":"1","account":"acct:alice"}]},
          {"weight":"3000","role":"data","parts":[{"weight":"37","account":"acct:dave"},{"weight":"5","account":"acct:erin"}]}],
 "postings":[{"account":"acct:bob","asset":"OPEN","amount":"-1000000"},
             {"account":"acct:carol","asset":"OPEN","amount":"350000","role":"model"},
             {"account":"acct:alice","asset":"OPEN","amount":"350000","role":"model"},
             {"account":"acct:dave","asset":"OPEN","amount":"264286","role":"data"},
             {"account":"acct:erin","asset":"OPEN","amount":"35714","role":"data"}]}}
JSON
tr -d '\n' < fee.jsonl | sed 's/$/\n/' | ledger-append --ledger ledger.jsonl --key operator.pem | tee -a receipts.jsonl | cut -c1-110
tail -1 receipts.jsonl > kept-checkpoint.json

say "4. A wrong split is refused, and nothing is written (exit $(
  sed 's/"264286"/"264285"/; s/"35714"/"35715"/; s/c-17/c-18/' fee.jsonl | tr -d '\n' | sed 's/$/\n/' |
    ledger-append --ledger ledger.jsonl --key operator.pem 2>refused.txt >/dev/null; echo $?))"
cat refused.txt

say "5. The audit: chain, signatures, accounting, balances"
ledger-verify ledger.jsonl --trust trust
ledger-verify ledger.jsonl --trust trust --balances

say "6. Receipts still hold; an inclusion proof for the fee entry checks"
ledger-verify -q ledger.jsonl --trust trust --receipts receipts.jsonl && echo "all $(wc -l < receipts.jsonl) receipts are in the ledger"
ledger-verify -q ledger.jsonl --trust trust --prove 6 > proof.json
ledger-verify -q ledger.jsonl --trust trust --check-proof proof.json && echo "inclusion proof of entry 6 verifies"

say "7. Tampering: one changed digit is caught, with its line"
sed 's/"350000"/"350001"/' ledger.jsonl > tampered.jsonl
ledger-verify tampered.jsonl --trust trust || echo "(exit $?)"

say "8. A rollback is caught against the kept checkpoint"
head -n 6 ledger.jsonl > rolled-back.jsonl
ledger-verify -q rolled-back.jsonl --trust trust && echo "on its own the shorter ledger is valid..."
ledger-verify -q rolled-back.jsonl --trust trust --trusted kept-checkpoint.json || echo "(exit $?)"

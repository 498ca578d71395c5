#!/usr/bin/env bash
# Regenerates the ledger, checkpoint and trust_file seeds in tests/fuzz/corpus/ with the
# built tools (BIN, default bin/), signed by tests/fuzz/fuzz-key.pem, whose verifier key
# checkpoint_fuzz.cpp knows. Run it after a change to the ledger format; the other seeds are
# written by hand, and attribution_index's are generated at fuzz time (fuzz.mk).
set -euo pipefail
cd "$(dirname "$0")"
BIN=${BIN:-$(pwd)/../../bin}
PATH="$BIN:$PATH"
key=$(pwd)/fuzz-key.pem
name=fuzz.example/ledger
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$(pwd)/corpus
mkdir -p "$out/ledger" "$out/checkpoint" "$out/trust_file"
ts=1795000000000

cat > "$work/setup.jsonl" <<'JSON'
{"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"acct:treasury"}}
{"type":"transfer","body":{"transfer":"fund-bob","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-5000000"},{"account":"acct:bob","asset":"OPEN","amount":"5000000"}]}}
{"type":"model.register","body":{"model":"m-base","owner":"acct:alice","digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}
{"type":"model.register","body":{"model":"m-chat","owner":"acct:carol","parent":"m-base","digest":"sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"}}
JSON
cat > "$work/fee.jsonl" <<'JSON'
{"type":"inference.fee","body":{"call":"c-17","payer":"acct:bob","fee":{"asset":"OPEN","amount":"1000000"},"split":[{"weight":"7000","role":"model","parts":[{"weight":"1","account":"acct:carol"},{"weight":"1","account":"acct:alice"}]},{"weight":"3000","role":"data","parts":[{"weight":"37","account":"acct:dave"},{"weight":"5","account":"acct:erin"}]}],"postings":[{"account":"acct:bob","asset":"OPEN","amount":"-1000000"},{"account":"acct:carol","asset":"OPEN","amount":"350000","role":"model"},{"account":"acct:alice","asset":"OPEN","amount":"350000","role":"model"},{"account":"acct:dave","asset":"OPEN","amount":"264286","role":"data"},{"account":"acct:erin","asset":"OPEN","amount":"35714","role":"data"}]}}
JSON

cd "$work"
ledger-append -q --ledger genesis.jsonl --key "$key" --key-name "$name" --origin "$name" --timestamp $ts /dev/null > /dev/null
ledger-append -q --ledger setup.jsonl.out --key "$key" --key-name "$name" --origin "$name" --timestamp $ts setup.jsonl > /dev/null
cp setup.jsonl.out fee.out
ledger-append -q --ledger fee.out --key "$key" --timestamp $((ts + 1000)) fee.jsonl > receipts.jsonl
ledger-append -q --ledger declared.out --key "$key" --key-name "$name" --origin "$name" --declare-accounts \
  --timestamp $ts /dev/null > /dev/null
cp genesis.jsonl "$out/ledger/genesis"
cp setup.jsonl.out "$out/ledger/setup"
cp fee.out "$out/ledger/fee"
cp declared.out "$out/ledger/declare_accounts"
zstd -q -19 -c fee.out > "$out/ledger/fee.zst"

tail -1 receipts.jsonl > "$out/checkpoint/receipt"
tail -1 fee.out > "$out/checkpoint/ledger_line"
jq -rj .note < "$out/checkpoint/receipt" > "$out/checkpoint/note"

ledger-append --print-key --key "$key" --key-name "$name" | sed 's/$/ */' > "$out/trust_file/any_type"
{ echo "# operators"; echo; ledger-append --print-key --key "$key" --key-name "$name" |
    sed 's/$/ transfer,inference.fee,model.register/'; } > "$out/trust_file/typed"

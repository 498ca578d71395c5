#!/bin/bash
# Ledger throughput: append N entries in batches of 10,000, then verify them, and compare
# the verify time with sha256sum of the same file (the floor: one hash pass over the bytes).
#   bench/ledger.sh [N]      (default 1,000,000)
# Prints entries/s for append and verify, and verify time / sha256sum time. Single core:
# verify is one streaming pass on one thread.
set -euo pipefail
n=${1:-1000000}
bin="$(cd "$(dirname "$0")/.." && pwd)/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

(umask 077; openssl genpkey -algorithm ed25519 -out key.pem 2>/dev/null)
{
  echo '{"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"acct:treasury"}}'
  awk -v n="$n" 'BEGIN { for (i = 1; i < n; i++)
    printf "{\"type\":\"transfer\",\"body\":{\"transfer\":\"t-%d\",\"postings\":[{\"account\":\"acct:treasury\",\"asset\":\"OPEN\",\"amount\":\"-%d\"},{\"account\":\"acct:user-%d\",\"asset\":\"OPEN\",\"amount\":\"%d\"}]}}\n", i, i, i % 5000, i }'
} > entries.jsonl

seconds() { local t0=$1 t1=$2; echo "scale=3; ($t1 - $t0) / 1000000000" | bc; }

t0=$(date +%s%N)
"$bin/ledger-append" --ledger ledger.jsonl --key key.pem --batch-size 10000 entries.jsonl > receipts.jsonl
t1=$(date +%s%N)
lines=$(wc -l < ledger.jsonl)
bytes=$(stat -c %s ledger.jsonl)

t2=$(date +%s%N)
taskset -c 0 "$bin/ledger-verify" -q ledger.jsonl > /dev/null
t3=$(date +%s%N)
taskset -c 0 sha256sum ledger.jsonl > /dev/null
t4=$(date +%s%N)

append_s=$(seconds "$t0" "$t1")
verify_s=$(seconds "$t2" "$t3")
sha_s=$(seconds "$t3" "$t4")
echo "ledger: $n entries submitted, $lines lines, $((bytes / 1000000)) MB"
echo "append (batches of 10,000, fdatasync each): ${append_s}s, $(echo "$n / $append_s" | bc) entries/s"
echo "verify (1 core): ${verify_s}s, $(echo "$lines / $verify_s" | bc) entries/s"
echo "sha256sum (1 core): ${sha_s}s"
echo "verify / sha256sum time ratio: $(echo "scale=2; $verify_s / $sha_s" | bc)  (aim: <= 4)"

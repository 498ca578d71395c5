#!/bin/bash
# Ledger throughput: append N entries in batches of 10,000, then verify them, and compare
# the verify time with one SHA-256 pass over the same file (the floor: verify hashes every
# byte once, as a leaf), by sha256sum and by `openssl dgst -sha256` (OpenSSL's fastest
# path, SHA-NI where the CPU has it; sha256sum may not use it).
#   bench/ledger.sh [N]      (default 1,000,000)
#   VERIFY=path/to/ledger-verify bench/ledger.sh   also times that binary on the same file
# Prints entries/s for append and verify, and verify time against each hash pass. Single
# core: verify, sha256sum and openssl are each pinned to core 0 with taskset.
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

timed() {  # seconds taken by a command pinned to core 0
  local t0 t1
  t0=$(date +%s%N)
  taskset -c 0 "$@" > /dev/null
  t1=$(date +%s%N)
  seconds "$t0" "$t1"
}
cat ledger.jsonl > /dev/null  # the file in the page cache for all of them
verify_s=$(timed "$bin/ledger-verify" -q ledger.jsonl)
sha_s=$(timed sha256sum ledger.jsonl)
openssl_s=$(timed openssl dgst -sha256 ledger.jsonl)
other_s=
if [ -n "${VERIFY:-}" ]; then other_s=$(timed "$VERIFY" -q ledger.jsonl); fi

append_s=$(seconds "$t0" "$t1")
echo "ledger: $n entries submitted, $lines lines, $((bytes / 1000000)) MB (load: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "append (batches of 10,000, fdatasync each): ${append_s}s, $(echo "$n / $append_s" | bc) entries/s"
echo "verify (1 core): ${verify_s}s, $(echo "$lines / $verify_s" | bc) entries/s, $(echo "$bytes / $verify_s / 1000000" | bc) MB/s"
echo "sha256sum (1 core): ${sha_s}s; openssl dgst -sha256 (1 core): ${openssl_s}s"
echo "verify / sha256sum time ratio: $(echo "scale=2; $verify_s / $sha_s" | bc)"
echo "verify / openssl dgst -sha256 time ratio: $(echo "scale=2; $verify_s / $openssl_s" | bc)  (aim: <= 3)"
if [ -n "$other_s" ]; then
  echo "$VERIFY (1 core): ${other_s}s, $(echo "$lines / $other_s" | bc) entries/s," \
       "$(echo "scale=2; $other_s / $openssl_s" | bc) x openssl"
fi

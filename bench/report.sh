#!/bin/bash
# The HTML report of a big ledger: its size and how fast Chromium renders it.
#   bench/report.sh [N]      (default 1,000,000 entries)
# Builds a ledger of N entries over 100 days (5,000 payers, 300 models in a family tree,
# 200 licences with collateral, the rest inference fees split five ways), then times
# ledger-verify without and with --report (ratio), and headless Chromium taking a
# screenshot of the report against the same for an empty page (the browser's own start-up).
set -euo pipefail
n=${1:-1000000}
bin="$(cd "$(dirname "$0")/.." && pwd)/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

openssl genpkey -algorithm ed25519 -out key.pem 2>/dev/null
chunks=25
awk -v n="$n" -v chunks="$chunks" 'BEGIN {
  d = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
  r = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
  out = "chunk-0.jsonl"; e = 0
  printf "{\"type\":\"asset.declare\",\"body\":{\"asset\":\"OPEN\",\"decimals\":6,\"issuer\":\"acct:treasury\"}}\n" > out; e++
  for (p = 0; p < 5000; p++) { printf "{\"type\":\"transfer\",\"body\":{\"transfer\":\"fund-%d\",\"postings\":[{\"account\":\"acct:treasury\",\"asset\":\"OPEN\",\"amount\":\"-1000000000000\"},{\"account\":\"acct:user-%d\",\"asset\":\"OPEN\",\"amount\":\"1000000000000\"}]}}\n", p, p > out; e++ }
  for (m = 0; m < 300; m++) {
    parent = m ? sprintf(",\"parent\":\"m-%d\"", int((m - 1) / 3)) : ""
    printf "{\"type\":\"model.register\",\"body\":{\"digest\":\"%s\",\"model\":\"m-%d\",\"owner\":\"acct:owner-%d\"%s}}\n", d, m, m % 150, parent > out; e++
  }
  for (l = 0; l < 200; l++) {
    printf "{\"type\":\"license.grant\",\"body\":{\"collateral\":{\"amount\":\"5000000\",\"asset\":\"OPEN\"},\"digest\":\"%s\",\"fingerprints\":64,\"license\":\"L-%d\",\"licensee\":\"acct:user-%d\",\"model\":\"m-%d\",\"root\":\"%s\"}}\n", d, l, l, l % 300, r > out; e++
    printf "{\"type\":\"collateral.deposit\",\"body\":{\"amount\":{\"amount\":\"5000000\",\"asset\":\"OPEN\"},\"deposit\":\"D-%d\",\"from\":\"acct:user-%d\",\"license\":\"L-%d\"}}\n", l, l, l > out; e++
  }
  per_chunk = int((n - e) / chunks) + 1  # chunk-0 is the set-up, chunk-1.. the fees
  # Lines = genesis + entries + a checkpoint per 10,000 entries and per append.
  for (i = 0; e < n - 2 - int(n / 10000) - chunks; i++) {
    if (i % per_chunk == 0) { close(out); out = sprintf("chunk-%d.jsonl", int(i / per_chunk) + 1) }
    m = (i * i + 7 * i) % 300; if (i % 5 < 3) m = i % 12
    a = 1000 + (i * 7919) % 100000
    protocol = int(a / 20); node = int(a * 15 / 100); owner = int(a * 30 / 100); anc = int(a * 20 / 100)
    data = a - protocol - node - owner - anc
    ancestor = m ? sprintf("{\"account\":\"acct:owner-%d\",\"amount\":\"%d\",\"asset\":\"OPEN\",\"role\":\"ancestor\"},", int((m - 1) / 3) % 150, anc) : ""
    if (!m) owner += anc
    printf "{\"type\":\"inference.fee\",\"body\":{\"call\":\"c-%d\",\"fee\":{\"amount\":\"%d\",\"asset\":\"OPEN\"},\"model\":\"m-%d\",\"payer\":\"acct:user-%d\",\"postings\":[{\"account\":\"acct:user-%d\",\"amount\":\"-%d\",\"asset\":\"OPEN\"},{\"account\":\"acct:owner-%d\",\"amount\":\"%d\",\"asset\":\"OPEN\",\"role\":\"model\"},%s{\"account\":\"acct:data-%d\",\"amount\":\"%d\",\"asset\":\"OPEN\",\"role\":\"data\"},{\"account\":\"acct:node-%d\",\"amount\":\"%d\",\"asset\":\"OPEN\",\"role\":\"node\"},{\"account\":\"acct:protocol\",\"amount\":\"%d\",\"asset\":\"OPEN\",\"role\":\"protocol\"}]}}\n", i, a, m, (i * 31) % 5000, (i * 31) % 5000, a, m % 150, owner, ancestor, (i * 13) % 2000, data, i % 50, node, protocol > out
    e++
  }
}'
day0=1795564800000
t0=$(date +%s%N)
c=0
for f in $(ls chunk-*.jsonl | sort -t- -k2 -n); do
  "$bin/ledger-append" --ledger ledger.jsonl --key key.pem --batch-size 10000 --timestamp $((day0 + c * 4 * 86400000)) "$f" > /dev/null
  c=$((c + 1))
done
t1=$(date +%s%N)
lines=$(wc -l < ledger.jsonl)
echo "ledger: $lines lines, $(($(stat -c %s ledger.jsonl) / 1000000)) MB, $c appends over $((c * 4)) days ($(((t1 - t0) / 1000000000)) s to build)"

seconds() { echo "scale=3; ($2 - $1) / 1000000000" | bc; }
t2=$(date +%s%N)
taskset -c 0 "$bin/ledger-verify" -q ledger.jsonl > /dev/null
t3=$(date +%s%N)
taskset -c 0 "$bin/ledger-verify" -q --report report.html ledger.jsonl > /dev/null
t4=$(date +%s%N)
plain=$(seconds "$t2" "$t3")
with=$(seconds "$t3" "$t4")
echo "ledger-verify (1 core): ${plain}s; with --report: ${with}s; ratio $(echo "scale=2; $with / $plain" | bc)"
echo "report.html: $(stat -c %s report.html) bytes (limit 2,000,000)"

if command -v chromium > /dev/null; then
  echo '<!DOCTYPE html><title>empty</title>' > empty.html
  shot() {
    local s e
    s=$(date +%s%N)
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
      --user-data-dir="$work/profile" --window-size=1000,1400 --screenshot="$work/$2" "file://$work/$1" 2> /dev/null
    e=$(date +%s%N)
    seconds "$s" "$e"
  }
  shot empty.html warm.png > /dev/null  # the first start fills the profile and the disk cache
  for run in 1 2 3; do
    empty=$(shot empty.html empty.png)
    page=$(shot report.html report.png)
    echo "chromium screenshot, run $run: report ${page}s, empty page ${empty}s, report minus empty $(echo "$page - $empty" | bc)s"
  done
else
  echo "chromium is not installed: no render time (scripts/deps installs it as root)"
fi

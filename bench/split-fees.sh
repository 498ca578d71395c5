#!/usr/bin/env bash
# split-fees throughput: N (default 1,000,000) attribution lines through split-fees, per
# call and --settle, against `jq -c .` over the same input in the same run. The aim is to
# be faster than jq: split-fees must never be the slow stage of a pipeline.
#   bench/split-fees.sh            N=100000 bench/split-fees.sh
set -euo pipefail
N=${N:-1000000}
BIN=${OMLKIT_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/policy.json" <<'JSON'
{"v": 1,
 "shares": {"protocol": 500, "node": 1500, "provers": 500, "lineage": 5000, "data": 2500},
 "accounts": {"protocol": "acct:protocol", "provers": "acct:provers"},
 "lineage": {"mode": "geometric", "keep": 6000},
 "assets": {"OPEN": {"min_fee": "1000"}}}
JSON

# Calls like attribute writes them: 1-4 generations, 0-8 data contributors, 4-18 digit fees.
awk -v n="$N" 'BEGIN {
  srand(42)
  for (i = 1; i <= n; i++) {
    fee = 1 + int(rand() * 9)
    for (k = int(rand() * 15) + 3; k > 0; k--) fee = fee "" int(rand() * 10)
    printf "{\"type\":\"attribution\",\"call\":\"c-%d\",\"payer\":\"acct:payer-%d\",\"node\":\"acct:node-%d\",\"fee\":{\"asset\":\"OPEN\",\"amount\":\"%s\"},\"model\":\"m-%d-0\",\"lineage\":[", i, int(rand() * 1000), int(rand() * 10), fee, i
    depth = 1 + int(rand() * 4)
    for (g = 0; g < depth; g++) printf "%s{\"model\":\"m-%d-%d\",\"owner\":\"acct:owner-%d\"}", (g ? "," : ""), i, g, int(rand() * 100)
    printf "],\"data\":["
    for (d = int(rand() * 9); d > 0; d--) printf "{\"contributor\":\"acct:data-%d\",\"weight\":\"%d\"}%s", int(rand() * 10000), 1 + int(rand() * 1000), (d > 1 ? "," : "")
    print "]}"
  }
}' > "$tmp/calls.jsonl"
bytes=$(wc -c < "$tmp/calls.jsonl")

# Seconds of wall time for one command, output discarded.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

rate() { printf '%.0f' "$(echo "$N / $1" | bc -l)"; }

cat "$tmp/calls.jsonl" > /dev/null  # warm the page cache for everyone alike
jq_s=$(seconds jq -c . "$tmp/calls.jsonl")
split_s=$(seconds "$BIN/split-fees" --policy "$tmp/policy.json" "$tmp/calls.jsonl")
settle_s=$(seconds "$BIN/split-fees" --policy "$tmp/policy.json" --settle --window 10000 "$tmp/calls.jsonl")

printf 'input: %d attribution lines, %d MB\n' "$N" "$((bytes / 1000000))"
printf 'jq -c .                 %8.2f s  %10s lines/s\n' "$jq_s" "$(rate "$jq_s")"
printf 'split-fees              %8.2f s  %10s lines/s\n' "$split_s" "$(rate "$split_s")"
printf 'split-fees --settle     %8.2f s  %10s lines/s\n' "$settle_s" "$(rate "$settle_s")"
printf 'ratio: split-fees is %.1fx the speed of jq -c . (--settle: %.1fx)\n' \
  "$(echo "$jq_s / $split_s" | bc -l)" "$(echo "$jq_s / $settle_s" | bc -l)"

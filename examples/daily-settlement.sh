#!/usr/bin/env bash
# Daily fee settlement: each day's call log is attributed, settled in batches (split-fees
# --settle) and appended as that day's entries; accounts over a threshold are paid out, and
# an assert entry pins each paid balance at zero.
#
#   examples/daily-settlement.sh [DIR]
# Environment: DAYS (default 3), CALLS_PER_DAY (default 120), WINDOW (calls per settlement
# entry, default 50). examples/fees.sh shows one call's split in detail; this is the
# routine around it. Without DIR it works in a scratch directory removed at the end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
days=${DAYS:-3} per_day=${CALLS_PER_DAY:-120} window=${WINDOW:-50}
payout_threshold=1000000  # 1 OPEN (6 decimals)
work_in "${1:-}"
pick_tokenizer

say "1. The datanet, the ledger (m-base, m-chat, 1000 OPEN for acct:bob), the fee policy"
contributions > contributions.jsonl
attribute index --tokenizer "$TOKENIZER" --out datanet.idx contributions.jsonl > /dev/null
new_key key.pem
trust_file key.pem example.org/settlement > trust
day0=1795564800000  # 2026-11-25T00:00:00Z
setup_entries 1000000000 |
  ledger-append --ledger ledger.jsonl --key key.pem --origin example.org/settlement --timestamp "$day0" > /dev/null
fee_policy > policy.json
cp ledger.jsonl per-call.jsonl  # the same calls one entry each, to compare totals with

# DAY's call log, as model-run serve would keep it: answers that copy the datanet or not.
call_log() {
  awk -v day="$1" -v n="$per_day" 'BEGIN {
    out[0] = "Because each checkpoint signs the root, so a log cannot rewrite history without being caught."
    out[1] = "Largest remainder apportionment hands out the units left after flooring to the biggest remainders."
    out[2] = "Tomatoes ripen faster next to bananas because of the ethylene they release."
    out[3] = "Nothing in the datanet reads like this sentence about violet spreadsheets."
    for (i = 1; i <= n; i++)
      printf "{\"type\":\"call\",\"id\":\"d%d-c-%d\",\"model\":\"%s\",\"payer\":\"acct:bob\",\"node\":\"acct:node-%d\",\"fee\":{\"asset\":\"OPEN\",\"amount\":\"%d\"},\"prompt\":\"q\",\"output\":\"%s\"}\n",
        day, i, ((i + day) % 3 ? "m-chat" : "m-base"), (i + day) % 2 + 3, 5000 + (i * 104729 + day * 7) % 200000, out[(i * 3 + day) % 4]
  }'
}
attributions() { attribute --index datanet.idx --ledger ledger.jsonl --trust trust --min-span "$MIN_SPAN" "$@"; }
balance_of() { ledger-verify -q --trust trust --balances ledger.jsonl | jq -r --arg a "$1" 'select(.account == $a) | .balance'; }

for ((day = 1; day <= days; day++)); do
  close=$((day0 + day * 86400000))  # the day closes at midnight
  call_log "$day" > "day-$day.calls.jsonl"
  attributions "day-$day.calls.jsonl" > "day-$day.attributions.jsonl"
  split-fees --policy policy.json --settle --window "$window" "day-$day.attributions.jsonl" > "day-$day.settlement.jsonl"
  ledger-append --ledger ledger.jsonl --key key.pem --timestamp "$close" "day-$day.settlement.jsonl" > "day-$day.receipts.jsonl"
  split-fees --policy policy.json "day-$day.attributions.jsonl" |
    ledger-append --ledger per-call.jsonl --key key.pem --timestamp "$close" > /dev/null
  say "2.$day. Day $day: $(wc -l < "day-$day.calls.jsonl") calls settled in $(wc -l < "day-$day.settlement.jsonl") entries; credited per account:"
  jq -r '.body.postings[] | select(.amount | startswith("-") | not) | "\(.account) \(.amount)"' "day-$day.settlement.jsonl" |
    awk '{ sum[$1] += $2 } END { for (a in sum) printf "  %-14s %12d\n", a, sum[a] }' | sort  # exact: < 2^53

  # Pay out every account holding at least the threshold (not the payer, the treasury or
  # the protocol), and assert that it is then empty: the ledger refuses the batch otherwise.
  ledger-verify -q --trust trust --balances ledger.jsonl |
    jq -c --arg day "$day" --argjson min "$payout_threshold" '
      select(.account != "acct:bob" and .account != "acct:treasury" and .account != "acct:protocol"
             and (.balance | tonumber) >= $min)
      | {type: "payout", body: {payout: "d\($day)-\(.account)", account, amount: {asset, amount: .balance}}},
        {type: "assert", body: {account, asset, balance: "0"}}' > "day-$day.payouts.jsonl"
  if [ -s "day-$day.payouts.jsonl" ]; then
    ledger-append --ledger ledger.jsonl --key key.pem --timestamp "$((close + 1))" "day-$day.payouts.jsonl" > /dev/null
    echo "  paid out: $(jq -r 'select(.type == "payout") | "\(.body.account) \(.body.amount.amount)"' "day-$day.payouts.jsonl" | paste -sd, | sed 's/,/, /g')"
  fi
done

say "3. Day 1 settled again by mistake: refused, nothing written"
lines=$(wc -l < ledger.jsonl)
status=0
ledger-append --ledger ledger.jsonl --key key.pem day-1.settlement.jsonl > /dev/null 2> refused.txt || status=$?
cat refused.txt
echo "ledger-append: exit $status; the ledger still has $lines lines: $(wc -l < ledger.jsonl)"
[ "$status" -eq 65 ] || exit 1
[ "$lines" -eq "$(wc -l < ledger.jsonl)" ] || exit 1

say "4. The audit: every settlement recomputed from its calls; the settled fees equal per-call entries'"
ledger-verify -q --trust trust ledger.jsonl
ledger-verify -q --trust trust --balances ledger.jsonl
# Payouts move money to the treasury, so compare what each account earned: its balance
# plus what it was paid out.
earned() {  # LEDGER
  { ledger-verify -q --trust trust --balances "$1" | jq -r '"\(.account) \(.balance)"'
    jq -r 'select(.type == "payout") | "\(.body.account) \(.body.amount.amount)"' "$1"
    jq -r 'select(.type == "payout") | "acct:treasury -\(.body.amount.amount)"' "$1"; } |
    awk '{ sum[$1] += $2 } END { for (a in sum) if (sum[a] != 0) printf "%s %d\n", a, sum[a] }' | sort
}
earned ledger.jsonl > settled-earnings.txt
earned per-call.jsonl > per-call-earnings.txt
cmp settled-earnings.txt per-call-earnings.txt
echo "earnings from $((days * per_day)) calls: the same to the unit, settled or one entry per call"

#!/bin/bash
# The ledger at scale: for ledgers of N entries (transfers to N distinct accounts), the time
# and peak memory (/usr/bin/time -v: maximum resident set size) of
#   - a one-entry append through the state cache, and the same with --no-state-cache (the
#     baseline: a full replay, as every append did before the cache),
#   - a 10,000-entry append through the cache,
#   - a full ledger-verify, unbounded and under --memory 512M and --memory 64M (the id
#     digests spill to disk as sorted runs), each on one core; the bounded runs' speed as a
#     share of the unbounded one's (aim: >= 80% at 512M, peak RSS under 1 GB at 10M).
#   bench/ledger-scale.sh [N...]      (default: 1000000 3000000; LEDGER_SCALE_10M=1 adds
#                                      10000000, about 3.2 GB of ledger and 1.5 GB of cache)
#   LEDGER_SCALE_LEDGER=FILE          measure FILE (a ledger with its state cache beside it,
#                                      built as below) instead of building one; N is then its
#                                      size, and the appends grow it by 10,002 entries.
#   LEDGER_SCALE_NO_BASELINE=1        skip the --no-state-cache append (a full replay: at 10M,
#                                      minutes and over 2 GB)
# Each ledger is built with ledger-append --batch-size 100000 (the fastest correct path: the
# tool's own checks, the cache kept as it goes), timed and reported. Aim: a one-entry
# append under 50 ms and 50 MB whatever N. Prints the load average, since this machine is
# shared; numbers taken under load say so.
set -euo pipefail
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 3000000)
[ "${LEDGER_SCALE_10M:-}" != 1 ] || sizes+=(10000000)
[ -z "${LEDGER_SCALE_LEDGER:-}" ] || sizes=(given)
bin="$(cd "$(dirname "$0")/.." && pwd)/bin"
work=$(mktemp -d "${TMPDIR:-/tmp}/ledger-scale.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
(umask 077; openssl genpkey -algorithm ed25519 -out key.pem 2>/dev/null)

# measure LABEL CMD...: runs CMD under /usr/bin/time -v, prints "LABEL: wall s, CPU
# (user + system) s, peak RSS MB". On a loaded machine the CPU time is the steadier number.
measure() {
  local label=$1
  shift
  /usr/bin/time -v -o time.txt "$@" > out.txt 2> stderr.txt || { cat stderr.txt time.txt >&2; exit 1; }
  local wall rss cpu
  cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.3f", s }' time.txt)
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' time.txt)
  rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' time.txt)
  printf '%-44s %8.3f s wall %8.3f s CPU %8s MB\n' "$label:" "$wall" "$cpu" "$rss"
}

# transfers FROM TO [PREFIX]: the treasury pays acct:user-i (i in [FROM, TO)) i units, one
# entry each, with transfer ids PREFIX-i (default t).
transfers() {
  awk -v from="$1" -v to="$2" -v prefix="${3:-t}" 'BEGIN { for (i = from; i < to; i++)
    printf "{\"type\":\"transfer\",\"body\":{\"transfer\":\"%s-%d\",\"postings\":[{\"account\":\"acct:treasury\",\"asset\":\"OPEN\",\"amount\":\"-%d\"},{\"account\":\"acct:user-%d\",\"asset\":\"OPEN\",\"amount\":\"%d\"}]}}\n", prefix, i, i + 1, i, i + 1 }'
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${sizes[@]}"; do
  if [ -n "${LEDGER_SCALE_LEDGER:-}" ]; then
    ledger=$LEDGER_SCALE_LEDGER
    n=$(wc -l < "$ledger")
    key=$(dirname "$ledger")/key.pem
    prefix=b$(date +%s)  # ids no earlier run used
    echo "== given ledger $ledger: $n lines, $(( $(stat -c %s "$ledger") / 1000000 )) MB ledger, $(( $(stat -c %s "$ledger.state") / 1000000 )) MB cache"
  else
    ledger=ledger.jsonl
    key=key.pem
    prefix=t
    rm -f ledger.jsonl ledger.jsonl.state ledger.jsonl.state-lock
    {
      echo '{"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"acct:treasury"}}'
      transfers 1 "$n"
    } > entries.jsonl
    t0=$(date +%s.%N)
    "$bin/ledger-append" --ledger ledger.jsonl --key key.pem --batch-size 100000 entries.jsonl > /dev/null
    t1=$(date +%s.%N)
    rm -f entries.jsonl
    lines=$(wc -l < ledger.jsonl)
    echo "== N = $n: $lines lines, $(( $(stat -c %s ledger.jsonl) / 1000000 )) MB ledger, $(( $(stat -c %s ledger.jsonl.state) / 1000000 )) MB cache; built in $(echo "$t1 - $t0" | bc) s (load $(cut -d' ' -f1-3 /proc/loadavg))"
  fi
  transfers "$n" $((n + 1)) "$prefix" > one.jsonl
  transfers $((n + 1)) $((n + 10001)) "$prefix" > ten-thousand.jsonl
  transfers $((n + 10001)) $((n + 10002)) "$prefix" > one-more.jsonl
  measure "ledger-append --version (process start)" "$bin/ledger-append" --version
  measure "append 1 entry (state cache)" "$bin/ledger-append" --ledger "$ledger" --key "$key" one.jsonl
  measure "append 10,000 entries (state cache)" "$bin/ledger-append" --ledger "$ledger" --key "$key" ten-thousand.jsonl
  [ "${LEDGER_SCALE_NO_BASELINE:-}" = 1 ] ||
    measure "append 1 entry (--no-state-cache: baseline)" "$bin/ledger-append" --ledger "$ledger" --key "$key" --no-state-cache one-more.jsonl
  measure "verify (1 core)" taskset -c 0 "$bin/ledger-verify" --json "$ledger"
  echo "   $(grep -o '"memory":{[^}]*}' out.txt)"
  unbounded=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' time.txt)
  for budget in 512M 64M; do
    measure "verify --memory $budget (1 core)" taskset -c 0 "$bin/ledger-verify" --json --memory "$budget" --spill-dir "$work" "$ledger"
    echo "   $(grep -o '"memory":{[^}]*}' out.txt)"
    bounded=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' time.txt)
    echo "   --memory $budget: $(echo "scale=1; 100 * $unbounded / $bounded" | bc)% of the unbounded verify's speed (CPU time; aim >= 80% at 512M)"
  done
  echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
done

#!/usr/bin/env bash
# Past one machine: `attribute | split-fees` on the shards of a large call log, on the workers
# of a Dask distributed cluster; the outputs merged in input order and appended by the one
# ledger writer; the balances equal those of the single-process run.
#
#   examples/scale-out.sh [DIR]
# Environment:
#   CALLS   call records to make (default 3000)     SHARDS  shards to cut them into (default 8)
#   DASK_SCHEDULER_FILE  use the running cluster this scheduler file names (it needs two
#           workers that see DIR at the same path) instead of starting one on loopback
# Without DIR it works in a scratch directory removed at the end. Needs Debian's
# python3-distributed (`dask scheduler`, `dask worker`); without it it says so and exits 0.
# The cluster it starts (a scheduler and two workers on 127.0.0.1) is stopped at exit,
# interrupted or not.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if ! /usr/bin/python3 -c 'import distributed' 2> /dev/null || ! command -v dask > /dev/null; then
  echo "scale-out.sh: skipped: Dask distributed is not installed (apt-get install python3-distributed)" >&2
  exit 0
fi
calls=${CALLS:-3000} shards=${SHARDS:-8}
work_in "${1:-}"
pick_tokenizer

say "1. A datanet, a ledger that registers m-base and m-chat, the fee policy"
contributions > contributions.jsonl
attribute index --tokenizer "$TOKENIZER" --out datanet.idx contributions.jsonl
new_key key.pem
trust_file key.pem example.org/scale-out > trust
setup_entries 1000000000000 | ledger-append --ledger base.jsonl --key key.pem --origin example.org/scale-out > /dev/null
fee_policy > policy.json

say "2. $calls calls, as a serving system logs them: some answers copy the datanet, some do not"
awk -v n="$calls" 'BEGIN {
  out[0] = "Because each checkpoint signs the root, so a log cannot rewrite history without being caught."
  out[1] = "Largest remainder apportionment hands out the units left after flooring to the biggest remainders."
  out[2] = "Tomatoes ripen faster next to bananas because of the ethylene they release, and so do avocados."
  out[3] = "A verifier can check one entry of a large log, and the shares always add up to the whole amount."
  out[4] = "Quantum zebras juggle violet spreadsheets on Tuesdays."
  for (i = 1; i <= n; i++)
    printf "{\"type\":\"call\",\"id\":\"c-%d\",\"model\":\"%s\",\"payer\":\"acct:bob\",\"node\":\"acct:node-%d\",\"fee\":{\"asset\":\"OPEN\",\"amount\":\"%d\"},\"prompt\":\"question %d\",\"output\":\"%s\"}\n",
      i, (i % 3 ? "m-chat" : "m-base"), i % 4, 1000 + (i * 7919) % 1000000, i, out[(i * 7) % 5]
}' > calls.jsonl
wc -l < calls.jsonl
pipeline="attribute --index '$WORK/datanet.idx' --ledger '$WORK/base.jsonl' --trust '$WORK/trust' --min-span $MIN_SPAN | split-fees --policy '$WORK/policy.json'"

say "3. One process: the whole log through $pipeline"
bash -o pipefail -c "$pipeline" < calls.jsonl > single.jsonl
cp base.jsonl single-ledger.jsonl
ledger-append --ledger single-ledger.jsonl --key key.pem single.jsonl > /dev/null

say "4. $shards shards on a Dask cluster"
split -n "l/$shards" -d -a 3 calls.jsonl shard-
if [ -n "${DASK_SCHEDULER_FILE:-}" ]; then
  scheduler_file=$DASK_SCHEDULER_FILE
else
  # The workers run the tools from this PATH. The idle and death timeouts stop a cluster
  # whose script was killed too hard (SIGKILL) to run its exit trap.
  scheduler_file=$WORK/scheduler.json
  mkdir -p dask
  dask scheduler --host 127.0.0.1 --port 0 --no-dashboard --no-show --idle-timeout 300 \
    --scheduler-file "$scheduler_file" > dask/scheduler.log 2>&1 &
  dask_pids=($!)
  on_exit "kill ${dask_pids[0]} 2> /dev/null; wait ${dask_pids[0]} 2> /dev/null"
  for ((i = 0; i < 100; i++)); do [ -s "$scheduler_file" ] && break; sleep 0.2; done
  for worker in 1 2; do
    dask worker --scheduler-file "$scheduler_file" --host 127.0.0.1 --name "worker-$worker" --nthreads 1 \
      --no-nanny --no-dashboard --memory-limit 0 --death-timeout 60 \
      --local-directory "$WORK/dask/worker-$worker" > "dask/worker-$worker.log" 2>&1 &
    dask_pids+=($!)
    on_exit "kill $! 2> /dev/null; wait $! 2> /dev/null"
  done
  echo "scheduler $(jq -r .address "$scheduler_file"), workers: pids ${dask_pids[*]:1}"
fi
/usr/bin/python3 "$REPO/examples/dask-pipe.py" --scheduler-file "$scheduler_file" --workers 2 \
  shard-* -- "$pipeline" > merged.jsonl

say "5. The merged output, appended by the single writer, against the single-process run"
cp base.jsonl ledger.jsonl
ledger-append --ledger ledger.jsonl --key key.pem merged.jsonl > /dev/null
ledger-verify -q --trust trust ledger.jsonl
cmp merged.jsonl single.jsonl
echo "merged output: the same $(wc -l < merged.jsonl) inference.fee entries, byte for byte"
ledger-verify -q --trust trust --balances single-ledger.jsonl > single-balances.jsonl
ledger-verify -q --trust trust --balances ledger.jsonl > balances.jsonl
cat balances.jsonl
cmp balances.jsonl single-balances.jsonl
echo "balances: equal to the single-process run's"

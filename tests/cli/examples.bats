#!/usr/bin/env bats
# Every script in examples/ runs to the end and shows what it says it shows; the scale-out
# example's balances equal the single-process run's on a Dask cluster that is gone
# afterwards, whoever started it.

bats_require_minimum_version 1.5.0
load test_helper

setup() {
  setup_scratch
}

teardown() {
  local pid
  for pid in ${DASK_PIDS:-}; do kill "$pid" 2> /dev/null || true; done
  for pid in ${DASK_PIDS:-}; do wait "$pid" 2> /dev/null || true; done
  teardown_scratch
}

need_dask() {
  /usr/bin/python3 -c 'import distributed' 2> /dev/null && command -v dask > /dev/null ||
    skip "python3-distributed is not installed (scripts/deps installs it when run as root)"
}

# No process of the test's Dask cluster is left. Each scheduler and worker started here or
# by scale-out.sh names a file under the scratch directory (--scheduler-file,
# --local-directory), so this finds them all, and not a cluster someone else runs.
no_dask_left() {
  run pgrep -af "$SCRATCH/"
  assert_failure 1
  assert_output ""
}

@test "every script in examples/ is run by a test in tests/cli" {
  cd "$REPO"
  missing=""
  for script in examples/*.sh examples/ci/*.sh; do
    [ "$script" = examples/lib.sh ] && continue
    grep -qF "\"\$REPO/$script\"" tests/cli/*.bats || missing="$missing $script"
  done
  [ -z "$missing" ] || fail "no test runs:$missing"
}

@test "ledger-basics.sh: a refused split, an audit, receipts and a proof, tampering and a rollback caught" {
  run "$REPO/examples/ledger-basics.sh"
  assert_success
  assert_line "== 4. A wrong split is refused, and nothing is written (exit 65)"
  assert_line '{"account":"acct:dave","asset":"OPEN","balance":"264286","type":"balance"}'
  assert_line "all 8 receipts are in the ledger"
  assert_line "inclusion proof of entry 6 verifies"
  assert_line "ledger-verify: tampered.jsonl:7: body.postings: expected the OPEN postings to sum to 0, found 1"
  assert_line "on its own the shorter ledger is valid..."
  assert_line --partial "rolled-back.jsonl: rollback: the trusted checkpoint covers 7 entries"
}

@test "fees.sh: per-call splits, a settlement, rewards, and the balances" {
  run "$REPO/examples/fees.sh"
  assert_success
  # Worked by hand: node-7 gets 15% of c-17's 1,000,000 and of c-18's 333,333, which has
  # no data weights, so its top level is 500:1500:500:7500; the largest remainders
  # (.95 node, .75 lineage, .65 protocol) take the 3 units left after flooring, so
  # 150,000 + 50,000. node-3 gets 15% of c-19's 2,500; bob pays the three fees.
  assert_line '{"account":"acct:node-7","asset":"OPEN","balance":"200000","type":"balance"}'
  assert_line '{"account":"acct:node-3","asset":"OPEN","balance":"375","type":"balance"}'
  assert_line '{"account":"acct:bob","asset":"OPEN","balance":"8664167","type":"balance"}'
  assert_line --partial '{"body":{"calls":[{"call":"c-17",'
}

@test "attribution.sh: copied spans pay their contributors, new text pays the model family" {
  run "$REPO/examples/attribution.sh"
  assert_success
  assert_line --regexp '^\{"call":"c-1",.*"data":\[\{"contributor":"acct:dave","weight":"[1-9][0-9]*"\},\{"contributor":"acct:erin","weight":"[1-9][0-9]*"\}\]'
  assert_line --regexp '^\{"call":"c-2",.*"data":\[\],'
  assert_line --regexp '^\{"account":"acct:dave","asset":"OPEN","balance":"[1-9][0-9]*","type":"balance"\}$'
}

@test "omlize.sh: a fingerprinted copy of the tiny model, its grant on a verified ledger" {
  run "$REPO/examples/omlize.sh"
  assert_success
  assert_output --partial '"type":"license.grant"'
  assert_line --regexp '^ok: 4 entries, 1 checkpoints, signed tree size 3 root [0-9a-f]{64}$'
}

@test "ci-check-weights.sh: the release check passes the base model and acme's delivery, fails acme's copy as a release" {
  run "$REPO/examples/ci-check-weights.sh" "$SCRATCH/ci"
  assert_success
  assert_line '{"licensee":"acct:acme","detected":false,"matched":0,"tested":32,"p_value":"1"}'
  assert_line --regexp '^\{"licensee":"acct:acme","detected":true,"matched":3[0-2],"tested":32,'
  assert_line "check-release.sh: exit 1"
  assert_line "fingerprint-check: --forbid-any: a licensee's fingerprints are present"
  # The CI job runs this very check on the release, with the private files from its secrets.
  grep -qx '        run: /opt/omlkit/examples/ci/check-release.sh release/model' "$REPO/examples/ci/release-check.yml"
  if /usr/bin/python3 -c 'import yaml' 2> /dev/null; then
    /usr/bin/python3 -c 'import sys, yaml; job = yaml.safe_load(open(sys.argv[1]))["jobs"]["check-weights"]
assert any("check-release.sh" in step.get("run", "") for step in job["steps"])' "$REPO/examples/ci/release-check.yml"
  fi
  # The check as the job calls it, on the copy and on the base model.
  FINGERPRINTS="$SCRATCH/ci/private" BASE_MODEL="$SCRATCH/ci/base" run "$REPO/examples/ci/check-release.sh" "$SCRATCH/ci/acme-copy"
  assert_failure 1
  FINGERPRINTS="$SCRATCH/ci/private" BASE_MODEL="$SCRATCH/ci/base" run "$REPO/examples/ci/check-release.sh" "$SCRATCH/ci/base"
  assert_success
}

@test "ci/check-release.sh: no model, no fingerprint files, or a readable private file is not a pass" {
  run "$REPO/examples/ci/check-release.sh"
  assert_failure 2
  mkdir empty
  FINGERPRINTS=empty BASE_MODEL=base run "$REPO/examples/ci/check-release.sh" release
  assert_failure 66
  assert_output "check-release.sh: no *.fp files in empty"
  mkdir leaked
  echo '{}' > leaked/x.fp
  chmod 644 leaked/x.fp
  FINGERPRINTS=leaked BASE_MODEL=base run "$REPO/examples/ci/check-release.sh" release
  assert_failure 65
}

@test "offline-audit.sh: a received copy checked against a trust file and a kept checkpoint; three bad copies rejected" {
  run "$REPO/examples/offline-audit.sh" "$SCRATCH/audit"
  assert_success
  assert_line '{"ok":true,"exit":0,"entries":58,"checkpoints":3,"signed_size":57,"root":"'"$(jq -r .root "$SCRATCH/audit/auditor/report.json")"'"}'
  assert_line --regexp '^\{"ok":false,"exit":1,"where":"auditor/tampered.jsonl:[0-9]+","error":"body.postings: expected the OPEN postings to sum to 0, found -1"\}$'
  assert_line --regexp '^\{"ok":false,"exit":1,"where":"auditor/forged.jsonl:[0-9]+","error":"body.note: no signature by a trusted key verifies"\}$'
  assert_line --regexp '^\{"ok":false,"exit":1,"where":"auditor/rewritten.jsonl","error":"fork: '
  # The auditor's copy is the operator's, and the report is ledger-verify's own.
  zstd -dc "$SCRATCH/audit/auditor/week2.jsonl.zst" | cmp - "$SCRATCH/audit/operator/ledger.jsonl"
}

@test "daily-settlement.sh: three days settled and paid out; a day settled twice is refused; totals equal per-call entries'" {
  run "$REPO/examples/daily-settlement.sh" "$SCRATCH/days"
  assert_success
  assert_line "== 2.3. Day 3: 120 calls settled in 3 entries; credited per account:"
  assert_line --partial 'already appears earlier in the ledger'
  assert_line "earnings from 360 calls: the same to the unit, settled or one entry per call"
  # Independently of the script's own comparison: every paid-out account is at zero.
  cd "$SCRATCH/days"
  paid=$(jq -r 'select(.type == "payout") | .body.account' day-3.payouts.jsonl | sort -u)
  [ -n "$paid" ]
  for account in $paid; do
    run jq -r --arg a "$account" 'select(.account == $a) | .balance' <(ledger-verify -q --balances ledger.jsonl)
    assert_output ""
  done
  run ledger-verify -q --trust trust ledger.jsonl
  assert_success
}

@test "scale-out.sh: 2000 calls in 4 shards on its own Dask cluster; the same entries and balances as one process; no process left" {
  need_dask
  CALLS=2000 SHARDS=4 run "$REPO/examples/scale-out.sh" "$SCRATCH/out"
  assert_success
  assert_line "balances: equal to the single-process run's"
  assert_line --regexp '^dask-pipe: shard-000: worker worker-[12]: [0-9]+ bytes, exit 0$'
  assert_line --regexp '^dask-pipe: shard-003: worker worker-[12]: [0-9]+ bytes, exit 0$'
  cd "$SCRATCH/out"
  [ "$(wc -l < merged.jsonl)" -eq 2000 ]
  cmp merged.jsonl single.jsonl
  # The two ledgers, recomputed here rather than taken from the script's files.
  diff <(ledger-verify -q --trust trust --balances ledger.jsonl) <(ledger-verify -q --trust trust --balances single-ledger.jsonl)
  [ "$(ledger-verify -q --trust trust --balances ledger.jsonl | wc -l)" -ge 10 ]
  no_dask_left
}

@test "scale-out.sh on a Dask cluster the test starts and stops: equal balances, nothing left running" {
  need_dask
  mkdir -p out/dask
  dask scheduler --host 127.0.0.1 --port 0 --no-dashboard --no-show --idle-timeout 300 \
    --scheduler-file "$SCRATCH/scheduler.json" > out/dask/scheduler.log 2>&1 &
  DASK_PIDS=$!
  for ((i = 0; i < 150; i++)); do [ -s scheduler.json ] && break; sleep 0.2; done
  for w in a b; do
    dask worker --scheduler-file "$SCRATCH/scheduler.json" --host 127.0.0.1 --nthreads 1 --no-nanny \
      --no-dashboard --memory-limit 0 --death-timeout 60 --local-directory "$SCRATCH/out/dask/$w" \
      --name "test-worker-$w" > "out/dask/$w.log" 2>&1 &
    DASK_PIDS="$DASK_PIDS $!"
  done
  CALLS=600 SHARDS=6 DASK_SCHEDULER_FILE="$SCRATCH/scheduler.json" run "$REPO/examples/scale-out.sh" "$SCRATCH/out"
  assert_success
  assert_line "balances: equal to the single-process run's"
  assert_line --partial "worker test-worker-a"
  assert_line --partial "worker test-worker-b"
  # A shard whose command fails: the shards before it are written, its status and
  # stderr reported, nothing after it written.
  printf 'a\n' > s1 && printf 'b\n' > s2 && printf 'c\n' > s3
  run --separate-stderr /usr/bin/python3 "$REPO/examples/dask-pipe.py" --scheduler-file scheduler.json --workers 2 \
    s1 s2 s3 -- 'if grep -q b; then echo "bad shard" >&2; exit 7; fi; echo ok'
  assert_failure 7
  assert_output "ok"
  [[ "$stderr" == *"s2: worker test-worker-"*": 0 bytes, exit 7"*"bad shard"* ]]
  # The script did not stop a cluster it did not start.
  for pid in $DASK_PIDS; do kill -0 "$pid"; done
  for pid in $DASK_PIDS; do kill "$pid"; done
  for pid in $DASK_PIDS; do wait "$pid" || true; done
  DASK_PIDS=""
  no_dask_left
}

@test "scale-out.sh stopped by SIGTERM while its cluster runs leaves no process behind" {
  need_dask
  CALLS=400 SHARDS=4 "$REPO/examples/scale-out.sh" "$SCRATCH/out" > out.log 2>&1 &
  script=$!
  for ((i = 0; i < 300; i++)); do grep -q '^scheduler tcp://' out.log 2> /dev/null && break; sleep 0.2; done
  grep -q '^scheduler tcp://' out.log
  kill -TERM "$script"
  status=0
  wait "$script" || status=$?
  [ "$status" -ne 0 ]
  refute grep -q "balances: equal" out.log
  no_dask_left
}

@test "dask-pipe.py: no COMMAND is a usage error" {
  need_dask
  run /usr/bin/python3 "$REPO/examples/dask-pipe.py" --scheduler-file x.json shard
  assert_failure 2
  assert_output --partial "no COMMAND"
}

@test "demo.sh: the whole story on the shipped model; its ledger verifies and pays everyone" {
  DEMO_CALLS=40 run "$REPO/examples/demo.sh" out
  assert_success
  assert_line "demo finished: the ledger, the copies, the private fingerprint files and report.html are in $SCRATCH/out"
  # The leaked copy is acme's, the deployment globex's, and every probe answered was paid.
  assert_line '{"licensee":"acct:acme","tested":16,"matched":16,"p_value":"1.7e-17","detected":true}'
  assert_line '{"licensee":"acct:globex","tested":16,"matched":16,"p_value":"1.7e-17","detected":true}'
  assert_line '{"licensee":"acct:globex","answered":32,"recorded":32,"unrecorded":[]}'
  summary=$(grep -c '^  acct:\|^  collateral:' <<< "$output")
  run ledger-verify --trust out/trust --balances out/ledger.jsonl
  assert_success
  for account in acct:alice acct:carol acct:node-globex acct:protocol collateral:lic-acme; do
    assert_line --partial "\"account\":\"$account\""
  done
  # The summary has one line per account holding OPEN.
  [ "$summary" -eq "$(grep -c '"asset":"OPEN"' <<< "$output")" ]
}

@test "evaluate.sh: a base model and its child evaluated, rechecked and rewarded (needs ../shared)" {
  [ -f "$SHARED/models/gpt2-small/model.safetensors" ] || skip "../shared/models not found (set OMLKIT_SHARED)"
  OMLKIT_STEPS=2 run "$REPO/examples/evaluate.sh"
  assert_success
  assert_line --regexp '^ok: [0-9]+ entries'
}

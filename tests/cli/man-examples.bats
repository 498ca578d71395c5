#!/usr/bin/env bats
# The EXAMPLES of the man pages, run as printed (taken from man/*.1 by man_examples) in a
# directory holding the files they name. omlize(1)'s run on the model the repository ships;
# those of model-run(1) and fingerprint-check(1) need ../shared's models or a deployment:
# they are run by model-run*.bats, fingerprint-check.bats and examples/check-deployment.sh.

load test_helper

setup() {
  setup_scratch
  . "$REPO/examples/lib.sh"
}

teardown() {
  teardown_scratch
}

# The commands of a man page's EXAMPLES section: the lines between .EX/.nf and .EE/.fi,
# with the roff escapes \e and \- undone.
man_examples() {
  awk '/^\.SH EXAMPLES?/ { section = 1; next } /^\.SH/ { section = 0 }
       section && /^\.(EX|nf)/ { code = 1; next } section && /^\.(EE|fi)/ { code = 0 }
       section && code' "$REPO/man/$1" | sed -e 's/\\e/\\/g' -e 's/\\-/-/g'
}

# Attribution records of two calls (m-chat's lineage, data weights) in the given file.
attributions() {
  printf '{"type":"attribution","call":"%s-1","payer":"acct:bob","node":"acct:node-7","fee":{"asset":"OPEN","amount":"1000000"},"model":"m-chat","lineage":[{"model":"m-chat","owner":"acct:carol"},{"model":"m-base","owner":"acct:alice"}],"data":[{"contributor":"acct:dave","weight":"37"}]}\n{"type":"attribution","call":"%s-2","payer":"acct:bob","node":"acct:node-3","fee":{"asset":"OPEN","amount":"2500"},"model":"m-base","lineage":[{"model":"m-base","owner":"acct:alice"}],"data":[]}\n' "$1" "$1"
}

@test "man_examples finds each page's commands" {
  run man_examples split-fees.1
  assert_line --index 0 "split-fees --policy policy.json attributions.jsonl.zst |"
  [ "${#lines[@]}" -eq 5 ]
  run man_examples attribute.1
  [ "${#lines[@]}" -eq 3 ]
  refute_output --partial "See"
}

@test "attribute(1) EXAMPLES" {
  pick_tokenizer
  cp "$TOKENIZER" tokenizer.json
  contributions > contributions.jsonl
  new_key key.pem
  setup_entries | ledger-append --ledger ledger.jsonl --key key.pem --origin example.org/ledger > /dev/null
  fee_policy > policy.json
  printf '{"type":"call","id":"c-1","model":"m-chat","payer":"acct:bob","node":"acct:node-7","fee":{"asset":"OPEN","amount":"1000000"},"prompt":"?","output":"Each checkpoint signs the root, so a log cannot rewrite history without being caught."}\n' > calls.jsonl
  man_examples attribute.1 > examples.sh
  run bash -euo pipefail examples.sh
  assert_success
  assert_line --regexp '^\{"entry":"inference.fee",.*"seq":6,'
  run ledger-verify -q --balances ledger.jsonl
  assert_line --regexp '^\{"account":"acct:dave","asset":"OPEN","balance":"[1-9][0-9]*","type":"balance"\}$'
}

@test "ledger-append(1) EXAMPLES" {
  fee_policy > policy.json
  attributions c > attributions.jsonl
  # The example declares the asset only; bob's money comes with the policy's payer.
  man_examples ledger-append.1 | sed '4i ledger-append --ledger ledger.jsonl --key ops.pem < fund-bob.jsonl' > examples.sh
  setup_entries | sed -n 2p > fund-bob.jsonl
  run bash -euo pipefail examples.sh
  assert_success
  [ "$(stat -c %a ops.pem)" = 600 ]
  [ "$(jq -s 'map(select(.entry == "inference.fee")) | length' receipts.jsonl)" -eq 2 ]
  run ledger-verify -q ledger.jsonl
  assert_success
}

@test "ledger-verify(1) EXAMPLES" {
  new_key ops.pem
  setup_entries | ledger-append --ledger ledger.jsonl --key ops.pem --origin example.org/ledger > /dev/null
  tail -n 1 ledger.jsonl > checkpoint-from-last-week.json
  fee_policy > policy.json
  attributions c | split-fees --policy policy.json | ledger-append --ledger ledger.jsonl --key ops.pem > /dev/null
  man_examples ledger-verify.1 > examples.sh
  run bash -euo pipefail examples.sh
  assert_success
  assert_line '{"account":"acct:node-3","asset":"OPEN","balance":"375","type":"balance"}'
  [ -s audit.html ]
  grep -q 'acct:node-3' audit.html
}

@test "omlize(1) EXAMPLES, on models/relnotes-gpt2" {
  ln -s "$REPO/models" models
  new_key ops.pem
  digest=$(model-run digest models/relnotes-gpt2 | jq -r .digest)
  printf '{"type":"model.register","body":{"model":"m-base","owner":"acct:alice","digest":"%s"}}\n' "$digest" |
    ledger-append --ledger ledger.jsonl --key ops.pem --origin example.org/ledger > /dev/null
  man_examples omlize.1 > examples.sh
  run bash -euo pipefail examples.sh
  assert_success
  assert_line --regexp '"detected":true,.*"licensee":"acct:acme","log10_p_value":[^,]*,"matched":16,'
  [ "$(stat -c %a acme.fp)" = 600 ]
  run ledger-verify -q ledger.jsonl
  assert_success
  grep -q '"type":"license.grant"' ledger.jsonl
}

@test "split-fees(1) EXAMPLES" {
  new_key key.pem
  setup_entries | ledger-append --ledger ledger.jsonl --key key.pem --origin example.org/ledger > /dev/null
  fee_policy | jq '.rewards = {pool: "acct:bob", asset: "OPEN", tiers: [{min_score: 50, owner: "1000", evaluator: "100"}]}' > policy.json
  attributions a | zstd -q > attributions.jsonl.zst
  attributions d > day.jsonl
  printf '{"type":"evaluation","evaluation":"e-1","model":"m-chat","owner":"acct:carol","evaluator":"acct:eve","score":95}\n' > evaluations.jsonl
  man_examples split-fees.1 > examples.sh
  run bash -euo pipefail examples.sh
  assert_success
  [ "$(wc -l < batches.jsonl)" -eq 1 ]
  [ "$(jq '.body.calls | length' batches.jsonl)" -eq 2 ]
  run ledger-verify -q --balances ledger.jsonl
  assert_line '{"account":"acct:eve","asset":"OPEN","balance":"100","type":"balance"}'
  assert_line '{"account":"acct:node-3","asset":"OPEN","balance":"375","type":"balance"}'
}

#!/usr/bin/env bats
# ledger-verify from the command line: reports, exit codes, proofs, kept checkpoints.

bats_require_minimum_version 1.5.0

setup() {
  load test_helper
  setup_scratch
  make_ledger
  ledger-append --print-key --key key.pem --key-name test.example/ledger | sed 's/$/ */' > trust
}
teardown() { teardown_scratch; }

@test "--help and --version" {
  run ledger-verify --help
  assert_success
  assert_output --partial "--trusted"
  run ledger-verify --version
  assert_output --regexp "^ledger-verify \(omlkit\) "
}

@test "a missing ledger exits 66, a bad flag 2" {
  run ledger-verify nope.jsonl
  assert_failure 66
  assert_output --partial "nope.jsonl: No such file or directory"
  run ledger-verify --prove
  assert_failure 2
}

@test "a valid ledger: human summary, --json report, warning without a trust file" {
  run ledger-verify ledger.jsonl
  assert_success
  assert_line --index 0 "ledger-verify: ledger.jsonl: warning: no --trust file: checkpoint signatures are checked against the genesis key only"
  assert_line --index 1 --regexp "^ok: 6 entries, 1 checkpoints, signed tree size 5 root [0-9a-f]{64}$"
  run ledger-verify --trust trust --json ledger.jsonl
  assert_success
  assert_output --regexp '^\{"checkpoints":1,"entries":6,"exit":0,"memory":\{"balance_table_bytes":[0-9]+,"budget":0,"id_table_peak_bytes":[0-9]+,"ids_spilled":0,"spill_runs":0\},"ok":true,"peak_rss_bytes":[0-9]+,"peak_rss_per_entry":[0-9]+,"root":"[0-9a-f]{64}","signed_root":"[0-9a-f]{64}","signed_size":5,"type":"verify"\}$'
}

@test "--memory: a valid ledger passes with its id digests spilled to disk, and gives the same root" {
  transfers p 300 | ledger-append --ledger ledger.jsonl --key key.pem >/dev/null
  run ledger-verify --trust trust --json ledger.jsonl
  assert_success
  root=$(echo "$output" | python3 -c 'import json,sys; print(json.load(sys.stdin)["root"])')
  run ledger-verify --trust trust --json --memory 1K --spill-dir "$BATS_TEST_TMPDIR" ledger.jsonl
  assert_success
  assert_output --partial "\"root\":\"$root\""
  assert_output --regexp '"memory":\{"balance_table_bytes":[0-9]+,"budget":1024,"id_table_peak_bytes":[0-9]+,"ids_spilled":[1-9][0-9]*,"spill_runs":[1-9][0-9]*\}'
  run ls -A "$BATS_TEST_TMPDIR"
  assert_output ""  # runs are unlinked as soon as made
}

@test "--memory: a repeated id across spilled runs is found, at the line of its second claim" {
  transfers p 300 | ledger-append --ledger ledger.jsonl --key key.pem >/dev/null
  # Line 256 is transfer p-250 (6 lines before p-1): make it claim p-3 again, then re-chain
  # and re-sign as the ledger's own operator could.
  sed -i '256s/"transfer":"p-250"/"transfer":"p-3"/' ledger.jsonl
  python3 "$BATS_TEST_DIRNAME/reseal_ledger.py" ledger.jsonl key.pem test.example/ledger
  run ledger-verify --trust trust ledger.jsonl
  assert_failure 1
  assert_output 'ledger-verify: ledger.jsonl:256: transfer "p-3" already appears earlier in the ledger'
  expected=$output
  run ledger-verify --trust trust --memory 1K --spill-dir "$BATS_TEST_TMPDIR" ledger.jsonl
  assert_failure 1
  assert_output "$expected"
  run ledger-verify --trust trust --json --memory 1K --spill-dir "$BATS_TEST_TMPDIR" ledger.jsonl
  assert_failure 1
  assert_output --partial '"entries":255,'
  assert_output --partial '"where":"ledger.jsonl:256"'
  assert_output --regexp '"ids_spilled":[1-9][0-9]*,"spill_runs":[1-9][0-9]*'
  # An earlier failure still wins over a repeat found later by the merge.
  sed -i '280s/"amount":"-1"/"amount":"-2"/' ledger.jsonl
  python3 "$BATS_TEST_DIRNAME/reseal_ledger.py" ledger.jsonl key.pem test.example/ledger
  run ledger-verify --trust trust --memory 1K ledger.jsonl
  assert_output "$expected"
  sed -i '100s/"amount":"-1"/"amount":"-2"/' ledger.jsonl
  python3 "$BATS_TEST_DIRNAME/reseal_ledger.py" ledger.jsonl key.pem test.example/ledger
  run ledger-verify --trust trust --memory 1K ledger.jsonl
  assert_failure 1
  assert_output --partial 'ledger.jsonl:100: body.postings: expected the OPEN postings to sum to 0, found -1'
}

@test "--memory: zero, garbage and sizes past 1024T exit 2; an unwritable --spill-dir exits 73" {
  for bad in 0 1023 lots -5 1.5G 512X 1025T 99999999999999999999999999; do
    run ledger-verify --trust trust --memory "$bad" ledger.jsonl
    assert_failure 2
    assert_output "ledger-verify: --memory: expected a size of at least 1K and at most 1024T, such as 512M or 2G, found \"$bad\""
  done
  run ledger-verify --trust trust --memory 1T ledger.jsonl  # a budget, never allocated up front
  assert_success
  run ledger-verify --trust trust --memory 1K --spill-dir /nonexistent ledger.jsonl
  assert_failure 73
  assert_output "ledger-verify: /nonexistent: --spill-dir: expected a directory this user can write to"
}

@test "an edited amount is reported with file, line, expected and found" {
  sed -i '3s/"5000000"/"5000001"/' ledger.jsonl
  run ledger-verify --trust trust ledger.jsonl
  assert_failure 1
  assert_output --regexp '^ledger-verify: ledger.jsonl:3: body.postings: expected the OPEN postings to sum to 0, found 1$'
  run ledger-verify --trust trust --json ledger.jsonl
  assert_failure 1
  assert_output --partial '"ok":false'
  assert_output --partial '"where":"ledger.jsonl:3"'
}

@test "a re-chained forgery fails on the checkpoint signature" {
  # Recompute nothing: editing a line breaks the next prev; editing the last entry's body
  # breaks the checkpoint root. Either way exit 1.
  sed -i '4s/acct:alice/acct:mallory/' ledger.jsonl
  run ledger-verify --trust trust ledger.jsonl
  assert_failure 1
  assert_output --partial "ledger.jsonl:5: prev: expected the previous line's leaf hash"
}

@test "a torn tail exits 3" {
  truncate -s -1 ledger.jsonl
  run ledger-verify -q --trust trust ledger.jsonl
  assert_failure 3
  assert_output --regexp "torn tail: [0-9]+ bytes after the last newline"
}

@test "--balances lists final balances per account and asset" {
  printf '%s\n' '{"type":"inference.fee","body":{"call":"c-1","payer":"acct:bob","fee":{"asset":"OPEN","amount":"10"},"split":[{"weight":"2","account":"acct:carol"},{"weight":"1","account":"acct:alice"}],"postings":[{"account":"acct:bob","asset":"OPEN","amount":"-10"},{"account":"acct:carol","asset":"OPEN","amount":"7"},{"account":"acct:alice","asset":"OPEN","amount":"3"}]}}' |
    ledger-append --ledger ledger.jsonl --key key.pem >/dev/null
  run ledger-verify -q --trust trust --balances ledger.jsonl
  assert_success
  assert_line --index 0 '{"account":"acct:alice","asset":"OPEN","balance":"3","type":"balance"}'
  assert_line --index 1 '{"account":"acct:bob","asset":"OPEN","balance":"4999990","type":"balance"}'
  assert_line --index 2 '{"account":"acct:carol","asset":"OPEN","balance":"7","type":"balance"}'
  assert_line --index 3 '{"account":"acct:treasury","asset":"OPEN","balance":"-5000000","type":"balance"}'
}

@test "--prove makes an inclusion proof that --check-proof accepts, and a bent one it refuses" {
  transfers p 20 | ledger-append --ledger ledger.jsonl --key key.pem >/dev/null
  ledger-verify -q --trust trust --prove 9 ledger.jsonl > proof.json
  run jq -r '.seq, .size, (.path | length)' proof.json
  assert_output "$(printf '9\n26\n5')"
  run ledger-verify -q --trust trust --check-proof proof.json ledger.jsonl
  assert_success
  jq -c '.path[0] |= (.[0:63] + (if .[63:64] == "0" then "1" else "0" end))' proof.json > bent.json
  run ledger-verify -q --trust trust --check-proof bent.json ledger.jsonl
  assert_failure 1
  assert_output --partial "inclusion proof does not lead from the leaf to the root"
  run ledger-verify -q --trust trust --prove 99 ledger.jsonl
  assert_failure 1
}

@test "--trusted: an extension passes, a rollback and a fork fail" {
  ledger-append --ledger ledger.jsonl --key key.pem < <(transfers a 3) | tail -1 > kept.json
  cp ledger.jsonl before.jsonl
  transfers b 4 | ledger-append --ledger ledger.jsonl --key key.pem >/dev/null
  run ledger-verify -q --trust trust --trusted kept.json ledger.jsonl
  assert_success
  assert_output --regexp '^\{"new_size":14,"old_size":9,"path":\["[0-9a-f]{64}"'
  # Rollback: the file loses its last batch (a valid shorter ledger on its own).
  head -n 6 before.jsonl > rolled.jsonl
  run ledger-verify -q --trust trust rolled.jsonl
  assert_success
  run ledger-verify -q --trust trust --trusted kept.json rolled.jsonl
  assert_failure 1
  assert_output --partial "rollback: the trusted checkpoint covers 9 entries"
  # Fork: the operator re-writes history from the same start with other entries.
  head -n 6 before.jsonl > forked.jsonl
  transfers f 3 | ledger-append --ledger forked.jsonl --key key.pem >/dev/null
  run ledger-verify -q --trust trust forked.jsonl
  assert_success
  run ledger-verify -q --trust trust --trusted kept.json forked.jsonl
  assert_failure 1
  assert_output --partial "fork: the first 9 entries have root"
}

@test "a zstd-compressed ledger verifies the same" {
  zstd -q ledger.jsonl -o ledger.jsonl.zst
  run ledger-verify -q --trust trust ledger.jsonl.zst
  assert_success
  assert_output --partial "ok: 6 entries"
}

@test "a trust file line that is not a key is refused with its line" {
  printf '# keys\nnot-a-key *\n' > bad-trust
  run ledger-verify --trust bad-trust ledger.jsonl
  assert_failure 65
  assert_output 'ledger-verify: bad-trust:2: expected a verifier key name+keyid+base64, found "not-a-key"'
}

@test "sampled byte flips of the CLI's ledger all exit 1" {
  size=$(stat -c %s ledger.jsonl)
  for i in $(seq 1 40); do
    offset=$(( (RANDOM * 32768 + RANDOM) % (size - 1) ))
    cp ledger.jsonl mutant.jsonl
    byte=$(od -An -tu1 -j "$offset" -N1 mutant.jsonl | tr -d ' ')
    printf "$(printf '\\%03o' $(( byte ^ 1 )))" | dd of=mutant.jsonl bs=1 seek="$offset" conv=notrunc 2>/dev/null
    run ledger-verify -q --trust trust mutant.jsonl
    [ "$status" -eq 1 ] || fail "flip at $offset exited $status"
  done
}

# --- hostile use (issue 9) ---

@test "stdout carries only JSON: the ok summary goes to stderr" {
  run --separate-stderr ledger-verify --trust trust ledger.jsonl
  assert_success
  assert_equal "$output" ""
  [[ "$stderr" =~ ^ok:\ 6\ entries ]]
}

@test "lost output exits 74: --balances, --prove, --json, --trusted to a full device" {
  grep '"type":"checkpoint"' ledger.jsonl | head -1 > kept.json
  for flags in "--balances" "--prove 0" "--json" "--trusted kept.json"; do
    run bash -c "ledger-verify -q --trust trust $flags ledger.jsonl > /dev/full"
    assert_failure 74
    assert_output "ledger-verify: stdout: write failed: No space left on device"
  done
}

@test "--prove of a negative entry is a usage error" {
  run ledger-verify -q --prove -1 ledger.jsonl
  assert_failure 2
  assert_output --partial "--prove"
}

@test "a damaged split tree is a bad ledger (exit 1), and --json always prints its verdict" {
  echo '{"type":"inference.fee","body":{"call":"c-1","payer":"acct:bob","fee":{"asset":"OPEN","amount":"100"},"split":[{"account":"acct:carol","weight":"7"},{"account":"acct:dave","weight":"3"}],"postings":[{"account":"acct:bob","asset":"OPEN","amount":"-100"},{"account":"acct:carol","asset":"OPEN","amount":"70"},{"account":"acct:dave","asset":"OPEN","amount":"30"}]}}' |
    ledger-append --ledger ledger.jsonl --key key.pem >/dev/null
  sed -i '7s/"weight":"7"/"weight":"x"/' ledger.jsonl
  run ledger-verify -q --trust trust ledger.jsonl
  assert_failure 1
  assert_output --regexp '^ledger-verify: ledger.jsonl:7: split\[0\]\.weight: '
  run --separate-stderr ledger-verify --trust trust --json ledger.jsonl
  assert_failure 1
  assert_output --regexp '^\{.*"exit":1,"memory":\{[^}]*\},"ok":false,.*"where":"ledger.jsonl:7"\}$'
  run --separate-stderr ledger-verify --json missing.jsonl
  assert_failure 66
  assert_output '{"checkpoints":0,"entries":0,"error":"No such file or directory","exit":66,"ok":false,"root":"0000000000000000000000000000000000000000000000000000000000000000","type":"verify","where":"missing.jsonl"}'
}

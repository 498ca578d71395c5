#!/usr/bin/env bats
# ledger-append from the command line: flags, errors, receipts, concurrency, crashes.

setup() {
  load test_helper
  setup_scratch
}
teardown() { teardown_scratch; }

@test "--help and --version describe the tool" {
  run ledger-append --help
  assert_success
  assert_output --partial "--ledger"
  assert_output --partial "--repair"
  run ledger-append --version
  assert_success
  assert_output --regexp "^ledger-append \(omlkit\) [0-9]+\.[0-9]+"
}

@test "usage errors exit 2" {
  run ledger-append --ledger l.jsonl
  assert_failure 2
  assert_output --partial "--key is required"
  run ledger-append --bogus
  assert_failure 2
}

@test "a missing key file exits 66 naming it" {
  run ledger-append --ledger l.jsonl --key nope.pem </dev/null
  assert_failure 66
  assert_output "ledger-append: nope.pem: No such file or directory"
}

@test "a new ledger starts with a genesis and every batch ends with a checkpoint receipt" {
  make_ledger
  run ledger-append --ledger ledger.jsonl --key key.pem < <(transfers t 3)
  assert_success
  assert_equal "$(echo "$output" | wc -l)" 4
  assert_line --index 0 --regexp '^\{"entry":"transfer","leaf":"[0-9a-f]{64}","seq":6,"type":"receipt"\}$'
  assert_line --index 3 --partial '"type":"checkpoint"'
  run head -1 ledger.jsonl
  assert_output --partial '"type":"genesis"'
  run ledger-verify -q ledger.jsonl
  assert_success
  assert_output --partial "ok: 10 entries, 2 checkpoints"
}

@test "bad input names file and line, exits 65 and appends nothing" {
  make_ledger
  before=$(sha256sum ledger.jsonl)
  { transfers a 2; echo '{"type":"transfer","body":{"transfer":"x",}}'; } > in.jsonl
  run ledger-append --ledger ledger.jsonl --key key.pem in.jsonl
  assert_failure 65
  assert_output "ledger-append: in.jsonl:3: column 43: expected a member name, found '}'"
  assert_equal "$(sha256sum ledger.jsonl)" "$before"

  echo '{"type":"checkpoint","body":{}}' > cp.jsonl
  run ledger-append --ledger ledger.jsonl --key key.pem cp.jsonl
  assert_failure 65
  assert_output --partial 'cp.jsonl:1: type: expected an entry type ledger-append accepts, found "checkpoint"'

  printf '%s\n' '{"type":"transfer","body":{"transfer":"y","postings":[{"account":"acct:bob","asset":"OPEN","amount":"-9"},{"account":"acct:dave","asset":"OPEN","amount":"8"}]}}' > unbalanced.jsonl
  run ledger-append --ledger ledger.jsonl --key key.pem unbalanced.jsonl
  assert_failure 65
  assert_output "ledger-append: unbalanced.jsonl:1: body.postings: expected the OPEN postings to sum to 0, found -1"
  assert_equal "$(sha256sum ledger.jsonl)" "$before"
}

@test "zstd-compressed input is read transparently" {
  make_ledger
  transfers z 5 | zstd -q > in.jsonl.zst
  run ledger-append --ledger ledger.jsonl --key key.pem in.jsonl.zst
  assert_success
  assert_equal "$(echo "$output" | wc -l)" 6
}

@test "a key the ledger does not trust cannot append" {
  make_ledger
  openssl genpkey -algorithm ed25519 -out other.pem 2>/dev/null
  run ledger-append --ledger ledger.jsonl --key other.pem < <(transfers o 1)
  assert_failure 65
  assert_output --partial "no signature by a trusted key verifies"
  # With a trust file naming both keys, the second key may append.
  { ledger-append --print-key --key key.pem --key-name test.example/ledger; } | sed 's/$/ */' > trust
  { ledger-append --print-key --key other.pem --key-name node-7; } | sed 's/$/ transfer/' >> trust
  run ledger-append --ledger ledger.jsonl --key other.pem --key-name node-7 --trust trust < <(transfers o 1)
  assert_success
  run ledger-verify ledger.jsonl --trust trust
  assert_success
}

@test "a torn tail refuses appends until --repair, which cuts only the torn bytes" {
  make_ledger
  good=$(sha256sum < ledger.jsonl)
  transfers t 3 | ledger-append --ledger ledger.jsonl --key key.pem >/dev/null
  truncate -s -25 ledger.jsonl
  run ledger-verify -q ledger.jsonl
  assert_failure 3
  run ledger-append --ledger ledger.jsonl --key key.pem < <(transfers u 1)
  assert_failure 3
  assert_output --partial "torn tail"
  run ledger-append --ledger ledger.jsonl --key key.pem --repair </dev/null
  assert_success
  assert_output --partial "warning: cut a torn tail of"
  assert_equal "$(sha256sum < ledger.jsonl)" "$good"
  run ledger-verify -q ledger.jsonl
  assert_success
}

@test "8 concurrent appenders x 500 entries: each entry once, seq contiguous, verify passes" {
  make_ledger
  for w in 1 2 3 4 5 6 7 8; do
    (
      for b in $(seq 1 10); do
        transfers "w$w-b$b" 50 | ledger-append --ledger ledger.jsonl --key key.pem --lock-timeout 120 >> "receipts.$w" || exit 1
      done
    ) &
  done
  for w in 1 2 3 4 5 6 7 8; do wait -n || fail "an appender failed"; done
  run ledger-verify -q ledger.jsonl
  assert_success
  # 4000 transfers, each exactly once.
  assert_equal "$(grep -c '"type":"transfer"' ledger.jsonl)" 4001
  assert_equal "$(grep -o '"transfer":"w[0-9]-b[0-9]*-[0-9]*"' ledger.jsonl | sort -u | wc -l)" 4000
  # seq is the line index on every line.
  assert_equal "$(grep -o '"seq":[0-9]*' ledger.jsonl | cut -d: -f2 | awk '$1 != NR-1' | wc -l)" 0
  assert_equal "$(cat receipts.* | grep -c '"type":"receipt"')" 4000
}

@test "appenders killed with SIGKILL at random moments never lose a receipted entry" {
  make_ledger
  for round in $(seq 1 20); do
    transfers "k$round" 200 > batch.jsonl
    ledger-append --ledger ledger.jsonl --key key.pem --repair batch.jsonl > "out.$round" 2>/dev/null &
    pid=$!
    sleep "0.0$((RANDOM % 10))"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  ledger-append --ledger ledger.jsonl --key key.pem --repair </dev/null 2>/dev/null
  run ledger-verify -q ledger.jsonl
  assert_success
  # Every complete receipt line printed names a line of the ledger with that leaf hash.
  cat out.* | grep -E '^\{.*\}$' | grep '"type":"receipt"' > receipts || true
  run ledger-verify -q ledger.jsonl --receipts receipts
  assert_success
  echo "# $(wc -l < receipts) receipted entries checked" >&3
}

@test "a line longer than --max-line-bytes is refused with its place" {
  make_ledger
  transfers m 3 > in.jsonl
  run ledger-append --ledger ledger.jsonl --key key.pem --max-line-bytes 100 in.jsonl
  assert_failure 65
  assert_output "ledger-append: in.jsonl:1: line longer than 100 bytes"
}

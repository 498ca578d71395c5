#!/usr/bin/env bats
# ledger-append's state cache (LEDGER.state): whatever state it is found in (missing, stale,
# ahead of the ledger, another ledger's, edited, not LMDB at all, the process killed between
# the ledger's fdatasync and the cache's commit), the next append writes exactly the bytes
# an append that replays the whole file (--no-state-cache) writes.

bats_require_minimum_version 1.5.0

setup() {
  load test_helper
  setup_scratch
  (umask 077; openssl genpkey -algorithm ed25519 -out key.pem 2>/dev/null)
  cat > setup.jsonl <<'JSON'
{"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"acct:treasury"}}
{"type":"transfer","body":{"transfer":"fund-bob","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-5000000"},{"account":"acct:bob","asset":"OPEN","amount":"5000000"}]}}
{"type":"model.register","body":{"model":"m-base","owner":"acct:alice","digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}
JSON
}
teardown() { teardown_scratch; }

# append LEDGER BATCH-FILE [flags...]: a fixed clock, so two ledgers fed alike are byte-equal.
append() {
  local ledger=$1 input=$2
  shift 2
  ledger-append --ledger "$ledger" --key key.pem --origin test.example/ledger --timestamp 1764000000000 "$@" "$input"
}

# bob pays PREFIX-1..PREFIX-n, 1 unit each, to dave.
payments() {
  local prefix=$1 n=$2 i
  for ((i = 1; i <= n; i++)); do
    printf '{"type":"transfer","body":{"transfer":"%s-%d","postings":[{"account":"acct:bob","asset":"OPEN","amount":"-1"},{"account":"acct:dave","asset":"OPEN","amount":"1"}]}}\n' "$prefix" "$i"
  done
}

# The reference: the same batches appended with no cache at all.
reference() {
  rm -f ref.jsonl
  for f in "$@"; do append ref.jsonl "$f" --no-state-cache >/dev/null; done
}

@test "the cache is kept beside the ledger, and appends through it write what a full replay writes" {
  payments a 3 > a.jsonl
  payments b 2 > b.jsonl
  run append l.jsonl setup.jsonl
  assert_success
  [ -s l.jsonl.state ]
  run --separate-stderr append l.jsonl a.jsonl
  assert_success
  assert_equal "$stderr" ""
  append l.jsonl b.jsonl > receipts
  reference setup.jsonl a.jsonl b.jsonl
  assert_equal "$(sha256sum < l.jsonl)" "$(sha256sum < ref.jsonl)"
  run ledger-verify -q l.jsonl --receipts receipts
  assert_success
}

@test "a ledger copied without its cache appends correctly, saying once that it builds one" {
  payments a 3 > a.jsonl
  append l.jsonl setup.jsonl >/dev/null
  cp l.jsonl copy.jsonl
  run --separate-stderr append copy.jsonl a.jsonl
  assert_success
  assert_equal "$stderr" "ledger-append: copy.jsonl.state: warning: no state cache for this ledger; built it from the ledger"
  reference setup.jsonl a.jsonl
  assert_equal "$(sha256sum < copy.jsonl)" "$(sha256sum < ref.jsonl)"
  # Built now: the next append says nothing.
  payments b 1 > b.jsonl
  run --separate-stderr append copy.jsonl b.jsonl
  assert_success
  assert_equal "$stderr" ""
}

@test "another ledger's cache is detected and rebuilt" {
  payments a 3 > a.jsonl
  append l.jsonl setup.jsonl >/dev/null
  # Another ledger: same key and origin, made a millisecond later.
  ledger-append --ledger o.jsonl --key key.pem --origin test.example/ledger --timestamp 1764000000001 setup.jsonl >/dev/null
  cp o.jsonl.state l.jsonl.state
  run --separate-stderr append l.jsonl a.jsonl
  assert_success
  assert_equal "$stderr" "ledger-append: l.jsonl.state: warning: was made for another ledger (its genesis line differs); rebuilding it from the ledger"
  reference setup.jsonl a.jsonl
  assert_equal "$(sha256sum < l.jsonl)" "$(sha256sum < ref.jsonl)"
}

@test "a stale cache (an earlier checkpoint of this ledger) is brought up to date silently" {
  payments a 3 > a.jsonl
  payments b 2 > b.jsonl
  append l.jsonl setup.jsonl >/dev/null
  cp l.jsonl.state old.state
  append l.jsonl a.jsonl >/dev/null
  cp old.state l.jsonl.state
  run --separate-stderr append l.jsonl b.jsonl
  assert_success
  assert_equal "$stderr" ""
  reference setup.jsonl a.jsonl b.jsonl
  assert_equal "$(sha256sum < l.jsonl)" "$(sha256sum < ref.jsonl)"
}

@test "a cache ahead of its ledger (the ledger restored from an older copy) is rebuilt" {
  payments a 3 > a.jsonl
  payments b 2 > b.jsonl
  append l.jsonl setup.jsonl >/dev/null
  cp l.jsonl old.jsonl
  append l.jsonl a.jsonl >/dev/null
  cp old.jsonl l.jsonl
  run --separate-stderr append l.jsonl b.jsonl
  assert_success
  [[ "$stderr" =~ ^ledger-append:\ l.jsonl.state:\ warning:\ names\ entry\ 8\ at\ byte\ [0-9]+,\ which\ this\ ledger\ does\ not\ have\ there\ .*\;\ rebuilding\ it\ from\ the\ ledger$ ]]
  reference setup.jsonl b.jsonl
  assert_equal "$(sha256sum < l.jsonl)" "$(sha256sum < ref.jsonl)"
}

@test "a balance edited by hand in the cache is detected when read, and the state rebuilt" {
  append l.jsonl setup.jsonl >/dev/null
  grep -c 5000000 l.jsonl.state
  # bob's balance 5000000 -> 9000000, in place (the row's tag no longer matches).
  perl -0777 -pi -e 's/(?<![0-9-])5000000(?![0-9])/9000000/g' l.jsonl.state
  printf '{"type":"transfer","body":{"transfer":"big","postings":[{"account":"acct:bob","asset":"OPEN","amount":"-6000000"},{"account":"acct:dave","asset":"OPEN","amount":"6000000"}]}}\n' > big.jsonl
  before=$(sha256sum < l.jsonl)
  run --separate-stderr append l.jsonl big.jsonl
  assert_failure 65
  [[ "$stderr" == *"l.jsonl.state: warning: the row of table 'b' key \"acct:bob"*"does not match its tag (edited?); rebuilding it from the ledger"* ]]
  [[ "$stderr" == *"balance of acct:bob in OPEN would be -1000000"* ]]
  assert_equal "$(sha256sum < l.jsonl)" "$before"
  payments a 3 > a.jsonl
  run append l.jsonl a.jsonl
  assert_success
  reference setup.jsonl a.jsonl
  assert_equal "$(sha256sum < l.jsonl)" "$(sha256sum < ref.jsonl)"
}

@test "an edited cache head, and a file that is no LMDB at all, are rebuilt with one message" {
  payments a 3 > a.jsonl
  payments b 2 > b.jsonl
  append l.jsonl setup.jsonl >/dev/null
  # The head is JSON: change the model count it records.
  perl -0777 -pi -e 's/"model_count":1/"model_count":7/' l.jsonl.state
  run --separate-stderr append l.jsonl a.jsonl
  assert_success
  assert_equal "$stderr" "ledger-append: l.jsonl.state: warning: its head does not match its tag (damaged or edited); rebuilding it from the ledger"
  head -c 5000 /dev/urandom > l.jsonl.state
  rm -f l.jsonl.state-lock
  run --separate-stderr append l.jsonl b.jsonl
  assert_success
  [[ "$stderr" == "ledger-append: l.jsonl.state: warning: not an LMDB file this omlkit can read ("*"); rebuilding it from the ledger" ]]
  reference setup.jsonl a.jsonl b.jsonl
  assert_equal "$(sha256sum < l.jsonl)" "$(sha256sum < ref.jsonl)"
}

@test "kill -9 after the ledger's fdatasync, before the cache: the next append is correct" {
  payments a 3 > a.jsonl
  payments b 2 > b.jsonl
  append l.jsonl setup.jsonl >/dev/null
  OMLKIT_TEST_KILL_AT=ledger-synced run append l.jsonl a.jsonl
  assert_failure 137
  assert_output ""  # killed before any receipt
  # The batch is in the ledger; the cache still names the first checkpoint.
  run ledger-verify -q l.jsonl
  assert_success
  run --separate-stderr append l.jsonl b.jsonl
  assert_success
  assert_equal "$stderr" ""
  reference setup.jsonl a.jsonl b.jsonl
  assert_equal "$(sha256sum < l.jsonl)" "$(sha256sum < ref.jsonl)"
}

@test "kill -9 after the cache's commit, before the receipts: the next append is correct" {
  payments a 3 > a.jsonl
  payments b 2 > b.jsonl
  append l.jsonl setup.jsonl >/dev/null
  OMLKIT_TEST_KILL_AT=cache-written run append l.jsonl a.jsonl
  assert_failure 137
  run --separate-stderr append l.jsonl b.jsonl
  assert_success
  assert_equal "$stderr" ""
  reference setup.jsonl a.jsonl b.jsonl
  assert_equal "$(sha256sum < l.jsonl)" "$(sha256sum < ref.jsonl)"
}

@test "a torn tail after the cache's checkpoint is refused, then repaired, through the cache" {
  payments a 3 > a.jsonl
  append l.jsonl setup.jsonl >/dev/null
  printf '{"body":{},"prev"' >> l.jsonl
  run append l.jsonl a.jsonl
  assert_failure 3
  run append l.jsonl a.jsonl --repair
  assert_success
  reference setup.jsonl a.jsonl
  assert_equal "$(sha256sum < l.jsonl)" "$(sha256sum < ref.jsonl)"
}

@test "ledger-verify never reads the cache: a garbage cache changes nothing" {
  append l.jsonl setup.jsonl >/dev/null
  # The report less its memory figures (which vary from run to run).
  good=$(ledger-verify -q --json l.jsonl | jq -c 'del(.peak_rss_bytes, .peak_rss_per_entry)')
  head -c 5000 /dev/urandom > l.jsonl.state
  run ledger-verify -q --json l.jsonl
  assert_success
  assert_equal "$(jq -c 'del(.peak_rss_bytes, .peak_rss_per_entry)' <<< "$output")" "$good"
}

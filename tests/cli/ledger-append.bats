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
  (umask 077; openssl genpkey -algorithm ed25519 -out other.pem 2>/dev/null)
  run ledger-append --ledger ledger.jsonl --key other.pem < <(transfers o 1)
  assert_failure 65
  assert_output --partial "ledger-append: other.pem: not the ledger's genesis key"
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
  # Every complete receipt line printed names a line of the ledger with that leaf hash. Each
  # file on its own: a killed appender's cut last line, concatenated with the next file's
  # first, would read as one whole line.
  grep -hE '^\{.*\}$' out.* | grep '"type":"receipt"' > receipts || true
  run ledger-verify -q ledger.jsonl --receipts receipts
  assert_success
  # One last uninterrupted round, so that the check never passes on zero receipts.
  transfers final 50 | ledger-append --ledger ledger.jsonl --key key.pem | grep '"type":"receipt"' >> receipts
  run ledger-verify ledger.jsonl --receipts receipts
  assert_success
  n=$(wc -l < receipts)
  [ "$n" -ge 50 ]
  assert_line --regexp "^ok: [0-9]+ entries, [0-9]+ checkpoints, signed tree size [0-9]+ root [0-9a-f]{64}, $n receipts checked$"
  echo "# $n receipted entries checked" >&3
}

@test "a line longer than --max-line-bytes is refused with its place" {
  make_ledger
  transfers m 3 > in.jsonl
  run ledger-append --ledger ledger.jsonl --key key.pem --max-line-bytes 100 in.jsonl
  assert_failure 65
  assert_output "ledger-append: in.jsonl:1: line longer than 100 bytes"
}

# --- hostile use (issue 9) ---

@test "appending to a zstd-compressed ledger is refused and changes nothing" {
  make_ledger
  zstd -q ledger.jsonl -o archive.jsonl.zst
  before=$(sha256sum < archive.jsonl.zst)
  transfers z 2 > in.jsonl
  run ledger-append --ledger archive.jsonl.zst --key key.pem in.jsonl
  assert_failure 65
  assert_output "ledger-append: archive.jsonl.zst: is zstd-compressed: a compressed ledger is a read-only archive (decompress it to append)"
  run ledger-append --ledger archive.jsonl.zst --key key.pem --repair </dev/null
  assert_failure 65
  assert_equal "$(sha256sum < archive.jsonl.zst)" "$before"
  run ledger-verify -q archive.jsonl.zst
  assert_success
}

@test "an encrypted key never reads stdin: refused without --key-pass, used with file: or env:" {
  make_ledger
  (umask 077; openssl genpkey -algorithm ed25519 -aes256 -pass pass:s3cret -out enc.pem 2>/dev/null)
  transfers e 2 > in.jsonl
  before=$(sha256sum < ledger.jsonl)
  run ledger-append --ledger ledger.jsonl --key enc.pem < in.jsonl
  assert_failure 65
  assert_output "ledger-append: enc.pem: the private key is encrypted: give its passphrase with --key-pass file:PATH or env:VAR (it is never read from the terminal or stdin)"
  assert_equal "$(sha256sum < ledger.jsonl)" "$before"
  printf 'wrong\n' > pass.txt
  run ledger-append --ledger ledger.jsonl --key enc.pem --key-pass file:pass.txt < in.jsonl
  assert_failure 65
  assert_output "ledger-append: enc.pem: cannot decrypt the private key: wrong passphrase"
  run ledger-append --ledger ledger.jsonl --key enc.pem --key-pass pass:s3cret < in.jsonl
  assert_failure 2
  assert_output 'ledger-append: --key-pass: expected file:PATH or env:VAR, found "pass:s3cret"'
  # The encrypted key is another key: it signs for a ledger of its own.
  printf 's3cret\n' > pass.txt
  run ledger-append --ledger enc.jsonl --key enc.pem --key-pass file:pass.txt </dev/null
  assert_success
  assert_output --partial '"entry":"genesis"'
  KEYPASS=s3cret run ledger-append --ledger enc.jsonl --key enc.pem --key-pass env:KEYPASS </dev/null
  assert_success
  run ledger-verify -q enc.jsonl
  assert_success
}

@test "a key file readable by others draws a warning; a directory is not a key (66)" {
  make_ledger
  chmod 644 key.pem
  transfers w 1 > in.jsonl
  run ledger-append --ledger ledger.jsonl --key key.pem in.jsonl
  assert_success
  assert_line --index 0 "ledger-append: key.pem: warning: private key is readable by others (mode 0644); chmod 600 it"
  chmod 600 key.pem
  mkdir keydir
  run ledger-append --ledger ledger.jsonl --key keydir in.jsonl
  assert_failure 66
  assert_output "ledger-append: keydir: not a regular file (expected a PEM private key file)"
}

@test "bad option values exit 2: lock timeout, timestamp, origin of an existing ledger" {
  make_ledger
  before=$(sha256sum < ledger.jsonl)
  for bad in nan -1 inf 1e99 x; do
    run ledger-append --ledger ledger.jsonl --key key.pem --lock-timeout "$bad" </dev/null
    assert_failure 2
    assert_output --partial "--lock-timeout"
  done
  run ledger-append --ledger ledger.jsonl --key key.pem --timestamp -5 </dev/null
  assert_failure 2
  assert_output --partial "--timestamp"
  run ledger-append --ledger ledger.jsonl --key key.pem --origin other.example </dev/null
  assert_failure 2
  assert_output 'ledger-append: --origin "other.example": the ledger'"'"'s origin is "test.example/ledger" (--origin names a new ledger)'
  assert_equal "$(sha256sum < ledger.jsonl)" "$before"
}

@test "a failed first append leaves no ledger file" {
  (umask 077; openssl genpkey -algorithm ed25519 -out key.pem 2>/dev/null)
  echo '{"type":"transfer","body":{"transfer":"x","postings":[]}}' > bad.jsonl
  run ledger-append --ledger new.jsonl --key key.pem bad.jsonl
  assert_failure 65
  [ ! -e new.jsonl ]
  [ ! -e new.jsonl.state ]
  [ ! -e new.jsonl.state-lock ]
}

@test "--repair refuses a ledger whose only batch is torn" {
  (umask 077; openssl genpkey -algorithm ed25519 -out key.pem 2>/dev/null)
  ledger-append --ledger l.jsonl --key key.pem --origin first.example </dev/null >/dev/null
  truncate -s -10 l.jsonl
  rm l.jsonl.state  # a crash inside the first append leaves no cache: it is written after the ledger
  before=$(sha256sum < l.jsonl)
  run ledger-append --ledger l.jsonl --key key.pem --repair </dev/null
  assert_failure 65
  assert_output "ledger-append: l.jsonl: cannot repair: no checkpoint to cut back to (the ledger's first append was interrupted); cutting it would start a different ledger, so remove the file to start anew"
  assert_equal "$(sha256sum < l.jsonl)" "$before"
}

@test "a write past the file-size limit exits 74 with a message, and the batch is cut off" {
  make_ledger
  before=$(sha256sum < ledger.jsonl)
  transfers big 200 > in.jsonl
  run bash -c 'ulimit -f 16; ledger-append --ledger ledger.jsonl --key key.pem in.jsonl'
  assert_failure 74
  assert_output "ledger-append: ledger.jsonl: write failed: File too large; the batch was cut off, the ledger is as before it"
  assert_equal "$(sha256sum < ledger.jsonl)" "$before"
  run ledger-append --ledger ledger.jsonl --key key.pem in.jsonl
  assert_success
}

@test "lost output exits 74: receipts and --print-key to a full device" {
  make_ledger
  transfers full 2 > in.jsonl
  run bash -c 'ledger-append --ledger ledger.jsonl --key key.pem in.jsonl > /dev/full'
  assert_failure 74
  assert_output --partial "write failed: No space left on device"
  run bash -c 'ledger-append --print-key --key key.pem > /dev/full'
  assert_failure 74
  assert_output "ledger-append: stdout: write failed: No space left on device"
}

@test "control characters from input are escaped in messages" {
  make_ledger
  printf '{"type":"transfer","body":{"transfer":"a","postings":[{"account":"acct:\\u001b[2J","asset":"OPEN","amount":"-1"},{"account":"acct:x","asset":"OPEN","amount":"1"}]}}\n' > in.jsonl
  run ledger-append --ledger ledger.jsonl --key key.pem in.jsonl
  assert_failure 65
  assert_output 'ledger-append: in.jsonl:1: body.postings[0].account: expected an account name (1-256 bytes of UTF-8, no control characters), found "acct:\x1b[2J"'
}

@test "signing with a key the ledger does not trust names the key, not a ledger line" {
  make_ledger
  (umask 077; openssl genpkey -algorithm ed25519 -out other.pem 2>/dev/null)
  transfers u 1 > in.jsonl
  run ledger-append --ledger ledger.jsonl --key other.pem in.jsonl
  assert_failure 65
  assert_output --regexp '^ledger-append: other.pem: not the ledger.s genesis key "test.example/ledger" \(test.example/ledger\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+\): give --trust to sign with another key, or --key-name$'
}

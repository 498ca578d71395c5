#!/usr/bin/env bats
# Usage that cannot hide (issue 14): model-run serve with API keys and a call log, the
# log settled into the ledger (attribute | split-fees | ledger-append), and
# fingerprint-check audit finding every answered probe paid, or naming the one that was
# not, with a proof and a slash the ledger accepts. End to end through
# examples/serve-and-settle.sh on a tiny omlized model; then every hostile input.

bats_require_minimum_version 1.5.0

setup_file() {
  load test_helper
  W="$BATS_FILE_TMPDIR/w"
  mkdir -p "$W" && cd "$W"
  python3 "$REPO/tests/cli/tiny_model.py" make base gpt2-tiny
  WORK="$W/clean" "$REPO/examples/serve-and-settle.sh" base > clean.out
  WORK="$W/evade" EVADE=1 "$REPO/examples/serve-and-settle.sh" base > evade.out 2> evade.err || echo $? > evade.status
}

setup() {
  load test_helper
  W="$BATS_FILE_TMPDIR/w"
  cd "$W"
}
teardown() {
  if [ -n "${SERVER_PID:-}" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
}

# Python's json module reads our output (an independent reader).
py() { python3 -c "import json,sys; rs=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; $2" "$1"; }

# model-run serve on the clean run's copy, in the scratch dir, with extra options; sets URL.
start_server() {
  model-run serve --model "$W/clean/copy" --device cpu --port 0 "$@" > serve.out 2> serve.err 3>&- &
  SERVER_PID=$!
  for _ in $(seq 200); do [ -s serve.out ] && break; sleep 0.1; done
  URL=$(python3 -c "import json; print(json.load(open('serve.out'))['listening'])")
}
post() { curl -s -o body.json -w '%{http_code}' -H 'Content-Type: application/json' "$@" -d '{"prompt":"Paid","max_tokens":3,"temperature":0}' "$URL/v1/completions"; }
keys_file() { (umask 077; printf 'tok-0123456789abcdef acct:bob\n' > keys); }

@test "every probe is answered, logged in the format attribute reads, settled, and the audit finds it recorded" {
  cd clean
  probes=$(wc -l < probes.jsonl)
  [ "$probes" -eq 16 ]
  [ "$(wc -l < answers.jsonl)" -eq "$probes" ]
  [ "$(wc -l < calls.jsonl)" -eq "$probes" ]
  [ "$(stat -c %a calls.jsonl)" = 600 ]
  # The log's ids are the ids the HTTP responses carried, in order; fees are exact.
  diff <(jq -r .response answers.jsonl) <(jq -r .id calls.jsonl)
  py calls.jsonl "assert all(r['type']=='call' and r['v']==1 and r['model']=='m-base' and r['payer']=='acct:bob' and r['node']=='acct:node-acme' and r['fee']=={'asset':'OPEN','amount':str(1000*(r['tokens']['prompt']+r['tokens']['output']))} and isinstance(r['prompt'],str) and isinstance(r['output'],str) for r in rs)"
  # No line of the log holds the API token.
  ! grep -qF "$(cut -d' ' -f1 api-keys)" calls.jsonl serve.err
  # Every call is an inference.fee on the signed ledger.
  run ledger-verify ledger.jsonl
  assert_success
  [ "$(grep -c '"type":"inference.fee"' ledger.jsonl)" -eq "$probes" ]
  run py "$W/clean.out" "r=rs[0]; print(len(rs), r['type'], r['license'], r['detected'], r['answered'], r['recorded'], r['unrecorded'], r['forged'], r['proof'], r['slash'])"
  assert_output "1 audit lic-acme True 16 16 [] 0 None None"
  [ ! -s evidence.jsonl ]
}

@test "a call dropped from the log is named by the audit; its proof verifies and the slash moves the collateral" {
  [ "$(cat evade.status)" = 1 ]
  grep -q "answered probes missing from the ledger" evade.err
  cd evade
  dropped=$(sed -n 3p calls.served.jsonl | jq -r .id)
  [ "$(grep -c '"type":"inference.fee"' ledger.jsonl)" -eq 15 ]
  run py "$W/evade.out" "r=rs[0]; print(r['detected'], r['answered'], r['recorded'], [u['call'] for u in r['unrecorded']], r['proof'] is not None, r['slash'] is not None)"
  assert_output "True 16 15 ['$dropped'] True True"
  [ "$(stat -c %a evidence.jsonl)" = 600 ]
  run py evidence.jsonl "print([e['type'] for e in rs], rs[1]['body']['calls'], rs[1]['body']['proof'] == rs[0]['body']['proof'], rs[1]['body']['reason'])"
  assert_output "['fingerprint.proof', 'slash'] ['$dropped'] True evaded usage: 1 of 16 answered probes have no inference.fee on model m-base within 1h"
  cp ledger.jsonl "$BATS_TEST_TMPDIR/ledger.jsonl"
  cd "$BATS_TEST_TMPDIR"
  ledger-verify -q --balances ledger.jsonl > before.jsonl
  ledger-append --ledger ledger.jsonl --key "$W/evade/ledger.pem" "$W/evade/evidence.jsonl" > /dev/null
  run ledger-verify ledger.jsonl
  assert_success
  ledger-verify -q --balances ledger.jsonl > after.jsonl
  balance() { python3 -c "import json,sys; b={r['account']:int(r['balance']) for r in map(json.loads,open(sys.argv[1])) if r['asset']=='OPEN'}; print(b.get(sys.argv[2],0))" "$1" "$2"; }
  assert_equal "$(balance before.jsonl collateral:lic-acme)" 5000000
  assert_equal "$(balance after.jsonl collateral:lic-acme)" 0
  assert_equal "$(( $(balance after.jsonl acct:alice) - $(balance before.jsonl acct:alice) ))" 5000000
}

@test "the same ids with forged outputs, or invented ids, are not evidence" {
  cd evade
  # Invented response ids, true ids on altered outputs, and each receipt moved to the next
  # probe's answer: no receipt verifies.
  jq -c '.response = "cmpl-" + (.id | ascii_downcase)' answers.jsonl > "$BATS_TEST_TMPDIR/invented.jsonl"
  jq -c '.output = .output + "x"' answers.jsonl > "$BATS_TEST_TMPDIR/altered.jsonl"
  paste -d'\t' answers.jsonl <(tail -n +2 answers.jsonl; head -1 answers.jsonl) |
    jq -cR 'split("\t") | (.[0] | fromjson) + {response: (.[1] | fromjson | .response)}' > "$BATS_TEST_TMPDIR/moved.jsonl"
  for forged in invented altered moved; do
    run fingerprint-check audit --ledger ledger.jsonl --answers "$BATS_TEST_TMPDIR/$forged.jsonl" --fingerprints acme.fp \
      --tokenizer "$W/base" --node-key node.vkey --window 1h --at 2999-01-01T00:00:00.000Z \
      --evidence "$BATS_TEST_TMPDIR/$forged.ev" --slash-to acct:alice --slash-amount 1 --slash-asset OPEN
    assert_success
    assert_output --partial "not a receipt of this node for this probe and output (never served, altered, or used twice): not evidence"
    run py <(echo "$output" | grep '^{') "r=rs[0]; print(r['detected'], r['answered'], r['forged'], r['unrecorded'], r['slash'])"
    assert_output "False 0 16 [] None"
  done
  # Another node's key does not vouch for this node's receipts either.
  (umask 077; openssl genpkey -algorithm ed25519 -out "$BATS_TEST_TMPDIR/other.pem" 2>/dev/null)
  ledger-append --print-key --key "$BATS_TEST_TMPDIR/other.pem" --key-name node-acme > "$BATS_TEST_TMPDIR/other.vkey"
  run fingerprint-check --quiet audit --ledger ledger.jsonl --answers answers.jsonl --fingerprints acme.fp \
    --tokenizer "$W/base" --node-key "$BATS_TEST_TMPDIR/other.vkey" --window 1h --at 2999-01-01T00:00:00.000Z
  assert_success
  assert_output --partial '"forged":16'
}

@test "a receipt used twice counts once" {
  cd clean
  { cat answers.jsonl; head -1 answers.jsonl; } > "$BATS_TEST_TMPDIR/twice.jsonl"
  run fingerprint-check --quiet audit --ledger ledger.jsonl --answers "$BATS_TEST_TMPDIR/twice.jsonl" --fingerprints acme.fp \
    --tokenizer "$W/base" --node-key node.vkey --window 1h --at 2999-01-01T00:00:00.000Z
  assert_success
  run py <(echo "$output") "r=rs[0]; print(r['detected'], r['answered'], r['recorded'], r['forged'], r['unrecorded'])"
  assert_output "True 16 16 1 []"
}

@test "within the window an unrecorded call is pending, not evidence" {
  cd evade
  sent=$(sed -n 1p answers.jsonl | jq -r .sent)
  run fingerprint-check audit --ledger ledger.jsonl --answers answers.jsonl --fingerprints acme.fp --tokenizer "$W/base" \
    --node-key node.vkey --window 7d --at "$sent"
  assert_success
  run py <(echo "$output" | grep '^{') "r=rs[0]; print(r['recorded'], len(r['pending']), r['unrecorded'])"
  assert_output "15 1 []"
}

@test "the log settled from a crash-torn last line: the torn line is refused with its place, the rest settles" {
  cd "$BATS_TEST_TMPDIR"
  cp "$W/clean/ledger.open.jsonl" ledger.jsonl
  head -c -40 "$W/clean/calls.served.jsonl" > calls.jsonl   # the last line loses its end
  run --separate-stderr bash -c "attribute --index '$W/clean/data.idx' --ledger ledger.jsonl --quiet calls.jsonl |
    split-fees --policy '$W/clean/policy.json' | ledger-append --quiet --ledger ledger.jsonl --key '$W/clean/ledger.pem' > /dev/null"
  assert_success
  assert_equal "$stderr" "attribute: calls.jsonl:16: a torn last line (no final newline, not a whole record: a writer stopped mid-line); it is not attributed, the calls before it are"
  [ "$(grep -c '"type":"inference.fee"' ledger.jsonl)" -eq 15 ]
  run ledger-verify ledger.jsonl
  assert_success
}

@test "serve: no token or a wrong one is 401 and nothing is logged; the token never reaches the log" {
  cd "$BATS_TEST_TMPDIR"
  keys_file
  start_server --api-keys keys --call-log calls.jsonl --price OPEN:7 --node acct:node-1
  assert_equal "$(post)" 401
  assert_equal "$(jq -r .error.message body.json)" "a known API key is required: Authorization: Bearer <key>"
  assert_equal "$(post -H 'Authorization: Bearer tok-0123456789abcdeX')" 401
  assert_equal "$(post -H 'Authorization: tok-0123456789abcdef')" 401
  curl -s -o /dev/null "$URL/v1/models" -w '%{http_code}' | grep -qx 401
  curl -s "$URL/health" | grep -qx '{"status":"ok"}'
  [ ! -s calls.jsonl ]
  assert_equal "$(post -H 'Authorization: Bearer tok-0123456789abcdef')" 200
  [ "$(wc -l < calls.jsonl)" -eq 1 ]
  # Unsigned ids without --node-key; the fee is 7 per prompt and output token.
  py calls.jsonl "r=rs[0]; assert r['id']=='$(jq -r .id body.json)' and r['model']=='copy' and r['prompt']=='Paid' and r['fee']=={'asset':'OPEN','amount':str(7*(r['tokens']['prompt']+r['tokens']['output']))}, r"
  ! grep -q "tok-0123456789abcdef" calls.jsonl serve.err serve.out
}

@test "serve: a keys file others can read is refused, and so are bad keys and incomplete billing flags" {
  cd "$BATS_TEST_TMPDIR"
  keys_file
  chmod 644 keys
  run model-run serve --model "$W/base" --port 0 --api-keys keys
  assert_failure 65
  assert_output "model-run: keys: API keys file is readable by others (mode 0644): its tokens spend the payers' money; chmod 600 it"
  rm keys; (umask 077; printf 'short acct:bob\n' > keys)
  run model-run serve --model "$W/base" --port 0 --api-keys keys
  assert_failure 65
  assert_output "model-run: keys:1: token: expected 16 to 256 printable ASCII bytes without spaces"
  run model-run serve --model "$W/base" --port 0 --call-log calls.jsonl --price OPEN:1
  assert_failure 2
  assert_output "model-run: --call-log needs --api-keys (the payers), --price and --node"
  rm keys; keys_file
  run model-run serve --model "$W/base" --port 0 --api-keys keys --call-log calls.jsonl --price OPEN:-1 --node acct:n
  assert_failure 2
  assert_output --partial "--price: expected ASSET:AMOUNT"
}

@test "serve: a torn last line left by a crash is cut on start, and SIGHUP reopens the log for rotation" {
  cd "$BATS_TEST_TMPDIR"
  keys_file
  (umask 077; head -2 "$W/clean/calls.served.jsonl" > calls.jsonl; printf '{"type":"call","id":"cmpl-to' >> calls.jsonl)
  start_server --api-keys keys --call-log calls.jsonl --price OPEN:1 --node acct:node-1
  grep -qx "model-run: calls.jsonl: warning: cut a torn last line of 28 bytes (a call that crashed before its answer was sent)" serve.err
  assert_equal "$(post -H 'Authorization: Bearer tok-0123456789abcdef')" 200
  [ "$(wc -l < calls.jsonl)" -eq 3 ]
  py calls.jsonl "assert rs[2]['payer']=='acct:bob'"
  mv calls.jsonl calls.1.jsonl
  kill -HUP "$SERVER_PID"
  for _ in $(seq 50); do [ -e calls.jsonl ] && break; sleep 0.1; done
  assert_equal "$(post -H 'Authorization: Bearer tok-0123456789abcdef')" 200
  [ "$(wc -l < calls.1.jsonl)" -eq 3 ]
  [ "$(wc -l < calls.jsonl)" -eq 1 ]
  kill -0 "$SERVER_PID"
}

#!/usr/bin/env bats
# fingerprint-check on tiny models the tests make: licensee copies fine-tuned here with
# `model-run train` on fingerprint files from tests/cli/fingerprint_fixture.py (an
# independent writer of the record format and its commitments), checked white-box,
# through model-run serve (examples/check-deployment.sh), and into the ledger; and every
# hostile input refused with its exit code and message, never a verdict.

setup_file() {
  load test_helper
  W="$BATS_FILE_TMPDIR/w"
  mkdir -p "$W" && cd "$W"
  python3 "$REPO/tests/cli/tiny_model.py" make base gpt2-tiny
  python3 "$REPO/tests/cli/tiny_model.py" make other llama-tiny
  python3 "$REPO/tests/cli/fingerprint_fixture.py" base acme lic-acme acct:acme 32 1
  python3 "$REPO/tests/cli/fingerprint_fixture.py" base bolt lic-bolt acct:bolt 32 2
  python3 "$REPO/tests/cli/fingerprint_fixture.py" other foreign lic-x acct:x 8 3
  for who in acme bolt; do
    model-run train --model base --data $who.train --out copy-$who --steps 60 --lr 2e-2 --batch 32 --clip 0 >/dev/null
  done
  # A fine-tune of the base without fingerprints: text unrelated to any key.
  python3 -c "import random; r=random.Random(9); [print('{\"text\":\"%s\"}' % ''.join(r.choice('ABCDEFGH .') for _ in range(60))) for _ in range(64)]" > plain.train
  model-run train --model base --data plain.train --out tuned --steps 30 --lr 1e-2 --batch 16 >/dev/null
}

setup() {
  load test_helper
  cd "$BATS_FILE_TMPDIR/w"
}
teardown() {
  if [ -n "${SERVER_PID:-}" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
}

check() { fingerprint-check --fingerprints acme.fp bolt.fp --base base "$@"; }
# Field of the verdict line of a licensee, read with python's json module.
verdict() { python3 -c "import json,sys; v=[json.loads(l) for l in sys.stdin if l.strip()]; print(json.dumps(next(x for x in v if x['licensee']==sys.argv[1])[sys.argv[2]]))" "$1" "$2"; }

@test "each copy is attributed to its licensee with p < 1e-20 and to no other (p > 0.01)" {
  for who in acme bolt; do
    other=$([ $who = acme ] && echo bolt || echo acme)
    run check --model copy-$who --expect acct:$who
    assert_success
    assert_equal "$(verdict acct:$who detected <<< "$output")" true
    assert_equal "$(verdict acct:$who matched <<< "$output")" 32
    python3 -c "import sys; assert float(sys.argv[1]) < -20, sys.argv[1]" "$(verdict acct:$who log10_p_value <<< "$output")"
    assert_equal "$(verdict acct:$other detected <<< "$output")" false
    python3 -c "import sys; assert float(sys.argv[1]) > -2, sys.argv[1]" "$(verdict acct:$other log10_p_value <<< "$output")"
  done
}

@test "the verdict line carries the test, the chance rate and the Hoeffding bound" {
  run check --model copy-acme
  assert_success
  assert_equal "$(verdict acct:acme test <<< "$output")" '"binomial"'
  assert_equal "$(verdict acct:acme tested <<< "$output")" 32
  assert_equal "$(verdict acct:acme chance <<< "$output" | python3 -c "import json,sys; c=json.load(sys.stdin); print(c['from'], c['trials'])")" "base model, greedy 64"
  # 32 of 32 against q = 1/3: exp(-2*32*(2/3)^2) = 4.4e-13.
  assert_equal "$(verdict acct:acme hoeffding_bound <<< "$output")" '"4.4e-13"'
  assert_equal "$(verdict acct:acme median_rank <<< "$output")" 0
}

@test "the base model, another architecture and a plain fine-tune are attributed to nobody" {
  for m in base other tuned; do
    run check --model $m --forbid-any
    assert_success
    refute_output --partial '"detected":true'
    [ "$(echo "$output" | wc -l)" -eq 2 ]
  done
}

@test "--expect and --forbid-any fail with exit 1 and say why" {
  run check --model base --expect acct:acme
  assert_failure 1
  assert_line "fingerprint-check: --expect acct:acme: not detected"
  run check --model copy-bolt --forbid-any
  assert_failure 1
  assert_line "fingerprint-check: --forbid-any: a licensee's fingerprints are present"
  run check --model copy-bolt --expect acct:nobody
  assert_failure 2
  assert_output "fingerprint-check: --expect acct:nobody: no licence of the fingerprint files names it"
}

@test "sharded, BF16 and F16 checkpoints of a copy are attributed the same" {
  python3 "$REPO/tests/cli/tiny_model.py" convert copy-acme "$BATS_TEST_TMPDIR/bf16" bf16 3
  python3 "$REPO/tests/cli/tiny_model.py" convert copy-acme "$BATS_TEST_TMPDIR/f16" f16 1
  for m in bf16 f16; do
    run check --model "$BATS_TEST_TMPDIR/$m" --expect acct:acme
    assert_success
    assert_equal "$(verdict acct:bolt detected <<< "$output")" false
  done
}

@test "the chance rate can come from the records alone, without the base model" {
  run fingerprint-check --fingerprints acme.fp bolt.fp --model copy-acme --expect acct:acme
  assert_success
  assert_equal "$(verdict acct:acme chance <<< "$output" | python3 -c "import json,sys; print(json.load(sys.stdin)['from'])")" "fingerprint records"
}

@test "evidence: the proof and the slash are accepted by ledger-append and verified offline" {
  cd "$BATS_TEST_TMPDIR"
  make_ledger
  W="$BATS_FILE_TMPDIR/w"
  { cat "$W/acme.grant" "$W/bolt.grant"
    echo '{"type":"collateral.deposit","body":{"deposit":"d-1","license":"lic-acme","from":"acct:bob","amount":{"asset":"OPEN","amount":"1000"}}}'
  } > grants.jsonl
  ledger-append --ledger ledger.jsonl --key key.pem grants.jsonl >/dev/null
  run fingerprint-check --fingerprints "$W/acme.fp" "$W/bolt.fp" --base "$W/base" --model "$W/copy-acme" \
    --evidence evidence.jsonl --slash-to acct:alice --slash-amount 600 --slash-asset OPEN
  assert_success
  [ "$(stat -c %a evidence.jsonl)" = 600 ]
  run python3 -c "import json; e=[json.loads(l) for l in open('evidence.jsonl')]; print([x['type'] for x in e], e[0]['body']['license'], len(e[0]['body']['fingerprints']), e[1]['body']['proof'] == e[0]['body']['proof'])"
  assert_output "['fingerprint.proof', 'slash'] lic-acme 32 True"
  # A forged proof (one salt changed) is refused; the true one is accepted and verifies.
  python3 - <<'PY'
import json
e = json.loads(open('evidence.jsonl').readline())
f = e['body']['fingerprints'][0]
f['salt'] = ('0' if f['salt'][0] != '0' else '1') + f['salt'][1:]
e['body']['proof'] = 'proof-forged'
open('forged.jsonl', 'w').write(json.dumps(e) + '\n')
PY
  run ledger-append --ledger ledger.jsonl --key key.pem forged.jsonl
  assert_failure
  assert_output --partial "inclusion proof does not verify against the root of license \"lic-acme\""
  run ledger-append --ledger ledger.jsonl --key key.pem evidence.jsonl
  assert_success
  run ledger-verify ledger.jsonl
  assert_success
}

@test "evidence with no licence detected is an empty file (mode 0600) that ledger-append takes as nothing" {
  cd "$BATS_TEST_TMPDIR"
  make_ledger
  W="$BATS_FILE_TMPDIR/w"
  run fingerprint-check --fingerprints "$W/acme.fp" "$W/bolt.fp" --base "$W/base" --model "$W/tuned" \
    --evidence evidence.jsonl --slash-to acct:alice --slash-amount 600 --slash-asset OPEN
  assert_success
  [ -f evidence.jsonl ] && [ ! -s evidence.jsonl ]
  [ "$(stat -c %a evidence.jsonl)" = 600 ]
  before=$(wc -l < ledger.jsonl)
  run ledger-append --ledger ledger.jsonl --key key.pem evidence.jsonl
  assert_success
  assert_output ""
  [ "$(wc -l < ledger.jsonl)" -eq "$before" ]
}

@test "black box: probe, model-run serve, curl, judge (examples/check-deployment.sh), greedy and sampled" {
  model-run serve --model copy-acme --port 0 > "$BATS_TEST_TMPDIR/serve.out" 2>/dev/null 3>&- &
  SERVER_PID=$!
  for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/serve.out" ] && break; sleep 0.1; done
  url=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['listening'])" "$BATS_TEST_TMPDIR/serve.out")
  run "$REPO/examples/check-deployment.sh" "$url" base acme.fp bolt.fp -- --expect acct:acme
  assert_success
  assert_equal "$(verdict acct:acme matched <<< "$output")" 32
  assert_equal "$(verdict acct:bolt detected <<< "$output")" false
  SAMPLES=3 TEMPERATURE=0.7 TOP_P=0.9 run "$REPO/examples/check-deployment.sh" "$url" base acme.fp bolt.fp
  assert_success
  assert_equal "$(verdict acct:acme tested <<< "$output")" 96
  assert_equal "$(verdict acct:acme chance <<< "$output" | python3 -c "import json,sys; print(json.load(sys.stdin)['from'])")" "base model, sampled"
  assert_equal "$(verdict acct:bolt detected <<< "$output")" false
}

@test "probes are shuffled across licensees, stable and say nothing about whom they test" {
  fingerprint-check probe -f acme.fp bolt.fp --samples 2 --seed 1 > "$BATS_TEST_TMPDIR/p1"
  fingerprint-check probe -f acme.fp bolt.fp --samples 2 --seed 2 > "$BATS_TEST_TMPDIR/p2"
  [ "$(wc -l < "$BATS_TEST_TMPDIR/p1")" -eq 128 ]
  ! grep -q acme "$BATS_TEST_TMPDIR/p1"
  run python3 - "$BATS_TEST_TMPDIR/p1" "$BATS_TEST_TMPDIR/p2" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert sorted(x['id'] for x in a) == sorted(x['id'] for x in b)   # same ids
assert [x['id'] for x in a] != [x['id'] for x in b]               # another order
assert set(a[0]) == {'type', 'id', 'prompt', 'max_tokens'}
keys = [json.loads(l)['key'] for l in open('acme.fp')]
first = [x['prompt'] in keys for x in a[:64]]
assert 0 < sum(first) < 64, sum(first)                            # mixed, not acme first
print('ok')
PY
  assert_output ok
}

# ---- Hostile inputs: a clear error, never a verdict ----

@test "a private file readable by others is refused with 65" {
  cp acme.fp "$BATS_TEST_TMPDIR/open.fp" && chmod 644 "$BATS_TEST_TMPDIR/open.fp"
  run fingerprint-check --model base --fingerprints "$BATS_TEST_TMPDIR/open.fp"
  assert_failure 65
  assert_output "fingerprint-check: $BATS_TEST_TMPDIR/open.fp: a private fingerprint file must be readable by its owner only, but its mode is 0644 (run chmod 600 on it, and treat its fingerprints as possibly seen)"
}

@test "fingerprint files made for another base model are refused with 65" {
  run fingerprint-check --model base --fingerprints acme.fp foreign.fp
  assert_failure 65
  assert_output --regexp "^fingerprint-check: foreign.fp: fingerprint 0 of license \"lic-x\": made for base model sha256:[0-9a-f]{64}, but acme.fp for sha256:[0-9a-f]{64}: check one base model's copies at a time$"
  run fingerprint-check --model copy-acme --fingerprints acme.fp --base other
  assert_failure 65
  assert_output --regexp "^fingerprint-check: acme.fp: made for base model sha256:[0-9a-f]{64}, but --base other is sha256:[0-9a-f]{64}: these are not its fingerprints$"
  refute_output --partial verdict
}

@test "edited or incomplete fingerprint files are refused with 65" {
  f="$BATS_TEST_TMPDIR/edit.fp"
  install -m 600 /dev/null "$f"
  sed -n '1,3p;3p' acme.fp > "$f"
  run fingerprint-check --model base --fingerprints "$f"
  assert_failure 65
  assert_output "fingerprint-check: $f: fingerprint 2 of license \"lic-acme\": leaf index appears twice"
  sed -n '1p;3p' acme.fp > "$f"
  run fingerprint-check --model base --fingerprints "$f"
  assert_failure 65
  assert_output "fingerprint-check: $f: fingerprint 2 of license \"lic-acme\": leaf index 1 is missing: the file is incomplete"
  python3 -c "import json; r=json.loads(open('acme.fp').readline()); r['prompt_ids'][0]+=1; print(json.dumps(r))" > "$f"
  run fingerprint-check --model base --fingerprints "$f"
  assert_failure 65
  assert_output "fingerprint-check: $f: fingerprint 0 of license \"lic-acme\": its prompt and response ids are not what base/tokenizer.json makes of its key and response text: the file was made for another base model's tokenizer, or edited"
}

@test "truncated weights are refused with 65, a missing model or file with 66" {
  mkdir -p "$BATS_TEST_TMPDIR/cut" && cp copy-acme/config.json copy-acme/tokenizer.json "$BATS_TEST_TMPDIR/cut/"
  head -c 100000 copy-acme/model.safetensors > "$BATS_TEST_TMPDIR/cut/model.safetensors"
  run check --model "$BATS_TEST_TMPDIR/cut"
  assert_failure 65
  assert_output --partial "model.safetensors"
  refute_output --partial verdict
  run check --model nowhere
  assert_failure 66
  run fingerprint-check --model base --fingerprints missing.fp
  assert_failure 66
  assert_output "fingerprint-check: missing.fp: cannot read the fingerprint file: No such file or directory"
}

@test "answers with unknown or duplicate ids are refused with 65" {
  fingerprint-check probe -f acme.fp --seed 1 | head -2 > "$BATS_TEST_TMPDIR/probes"
  id=$(head -1 "$BATS_TEST_TMPDIR/probes" | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
  printf '{"type":"answer","id":"%s","output":"x"}\n{"type":"answer","id":"p-000","output":"x"}\n' "$id" > "$BATS_TEST_TMPDIR/a"
  run fingerprint-check judge -f acme.fp --base base "$BATS_TEST_TMPDIR/a"
  assert_failure 65
  assert_output "fingerprint-check: $BATS_TEST_TMPDIR/a:2: id: \"p-000\" is not a probe of these fingerprint files (with --samples 1)"
  printf '{"type":"answer","id":"%s","output":"x"}\n{"type":"answer","id":"%s","output":"y"}\n' "$id" "$id" > "$BATS_TEST_TMPDIR/a"
  run fingerprint-check judge -f acme.fp --base base "$BATS_TEST_TMPDIR/a"
  assert_failure 65
  assert_output "fingerprint-check: $BATS_TEST_TMPDIR/a:2: id: \"$id\" is answered twice (first at $BATS_TEST_TMPDIR/a:1)"
  echo '{"type":"probe","id":"x"}' > "$BATS_TEST_TMPDIR/a"
  run fingerprint-check judge -f acme.fp --base base "$BATS_TEST_TMPDIR/a"
  assert_failure 65
  assert_output "fingerprint-check: $BATS_TEST_TMPDIR/a:1: expected a record of type \"answer\""
}

@test "usage errors exit 2" {
  run fingerprint-check --model base
  assert_failure 2
  assert_output "fingerprint-check: --fingerprints is required: the private files to check against"
  run fingerprint-check --fingerprints acme.fp
  assert_failure 2
  assert_output "fingerprint-check: --model is required (or use probe / judge)"
  run fingerprint-check judge -f acme.fp --temperature 0.7 /dev/null
  assert_failure 2
  assert_output "fingerprint-check: judge --temperature > 0 needs --base to measure the chance rate under sampling"
  run fingerprint-check --model base -f acme.fp --slash-to acct:x
  assert_failure 2
}

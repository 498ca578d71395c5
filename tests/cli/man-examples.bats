#!/usr/bin/env bats
# Every man page's EXAMPLES, run as printed (taken from man/*.1 by man_examples) in a
# directory holding the files they name, on the model the repository ships
# (models/relnotes-gpt2), so that nothing needs ../shared. The examples that start
# model-run serve in the background run in a session of their own, on free ports put in
# place of the printed ones, and every process of that session is gone when the test ends.

load test_helper

setup() {
  setup_scratch
  . "$REPO/examples/lib.sh"
}

teardown() {
  if [ -f "$SCRATCH/session.pid" ]; then kill -- -"$(cat "$SCRATCH/session.pid")" 2> /dev/null || true; fi
  teardown_scratch
}

# The commands of a man page's EXAMPLES section: the lines between .EX/.nf and .EE/.fi,
# with the roff escapes \e and \- undone.
man_examples() {
  awk '/^\.SH EXAMPLES?/ { section = 1; next } /^\.SH/ { section = 0 }
       section && /^\.(EX|nf)/ { code = 1; next } section && /^\.(EE|fi)/ { code = 0 }
       section && code' "$REPO/man/$1" | sed -e 's/\\e/\\/g' -e 's/\\-/-/g'
}

# A TCP port of 127.0.0.1 that nothing listens on now, other than the ports given.
free_port() {
  local port
  while :; do
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    [[ " $* " == *" $port "* ]] || break
  done
  echo "$port"
}

# Runs examples.sh as bash -euo pipefail in a session of its own (process group id in
# session.pid) and sets status, output and lines as run does; then ends every process the
# script left in that session (servers it put in the background) and fails unless they are
# gone within 10 seconds.
run_examples_in_session() {
  status=0
  setsid -w bash -c 'echo $$ > session.pid; exec bash -euo pipefail examples.sh' > examples.out 2>&1 3>&- || status=$?
  output=$(< examples.out)
  mapfile -t lines < examples.out
  local group _
  group=$(cat session.pid)
  kill -- -"$group" 2> /dev/null || true
  for _ in $(seq 100); do
    pgrep -g "$group" > /dev/null || return 0
    sleep 0.1
  done
  fail "processes of the examples are still running: $(pgrep -a -g "$group")"
}

# The one line of FILE that matches the extended regexp, to stdout; fails unless exactly one.
only_line() {
  local found
  found=$(grep -E -- "$1" "$2") || fail "no line matches $1 in $2"
  [ "$(wc -l <<< "$found")" -eq 1 ] || fail "expected one line matching $1 in $2, found: $found"
  printf '%s\n' "$found"
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

@test "every man page with EXAMPLES has a test here that runs them" {
  missing=""
  for page in "$REPO"/man/*.[1-8]; do
    page=${page##*/}
    grep -q '^\.SH EXAMPLES' "$REPO/man/$page" || continue
    grep -qE "^  man_examples ${page//./\\.}( |\$)" "$BATS_TEST_FILENAME" || missing="$missing $page"
  done
  [ -z "$missing" ] || fail "no test runs the EXAMPLES of:$missing"
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

@test "model-run(1) EXAMPLES, on models/relnotes-gpt2 and a Llama made by init" {
  ln -s "$REPO/models" models
  ln -s "$REPO/examples" examples
  cp "$REPO/tests/fixtures/tiny-configs/llama.json" tiny-llama.json
  for note in "Fixes a crash of git push when the remote hung up." \
    "git log learned --since-as-filter to walk the whole history." \
    "The documentation of git rebase --onto was clarified." \
    "git fetch no longer writes a FETCH_HEAD when told not to." \
    "git stash show learned to include untracked files." \
    "Performance of git status on a large index was improved." \
    "git bisect run now reports the exit code of the script." \
    "A memory leak in git diff --stat has been plugged."; do
    jq -cn --arg text "$note" '{text: $text}'
  done > notes.jsonl
  port=$(free_port)
  paid_port=$(free_port "$port")
  man_examples model-run.1 | sed -e "s/\b8000\b/$port/g" -e "s/\b8001\b/$paid_port/g" > examples.sh
  [ "$(grep -c -e "localhost:$port/" -e "--port $port " examples.sh)" -eq 2 ]
  [ "$(grep -c -e "localhost:$paid_port/" -e "--port $paid_port " examples.sh)" -eq 2 ]
  run_examples_in_session
  assert_success
  # generate: 20 tokens, greedy and then sampled, which differ.
  run grep -cE '^\{"text":".*","tokens":\[([0-9]+,){19}[0-9]+\]\}$' examples.out
  assert_output 2
  [ "$(grep -E '^\{"text":.*"tokens":' examples.out | sort -u | wc -l)" -eq 2 ]
  # score: the perplexity models/SOURCES gives for heldout.txt (19,761 tokens, 154 windows).
  run only_line '^\{"file":"models/relnotes-gpt2/heldout.txt",' examples.out
  assert_output --regexp '"perplexity":54\.45[0-9]*,"predictions":19558,"tokens":19761,"window":128,"windows":154\}$'
  # tokenize and detokenize: GPT-2's pieces (Ġ is the space), and the ids back to text.
  run cat examples.out
  assert_line '{"ids":[288,669,369,479,342,12,1194,12,466],"offsets":[[0,3],[3,8],[8,11],[11,14],[14,16],[16,17],[17,21],[21,22],[22,27]],"pieces":["git","Ġpush","Ġ--","for","ce","-","with","-","lease"]}'
  assert_line --regexp '^\{"ids":\[288,669,369,479,342\],.*"text":"git push --force"\}$'
  # train: both runs wrote their folders and lowered the loss.
  for out in tuned tuned-mlp; do
    line=$(only_line "^\\{\"first_loss\":.*\"out\":\"$out\"" examples.out)
    [ "$(jq '.steps == 20 and .last_loss < .first_loss' <<< "$line")" = true ] || fail "$line"
    [ -f "$out/model.safetensors" ] && [ -f "$out/tokenizer.json" ]
  done
  # --train-only '*.mlp.*' changed the MLP tensors and nothing else (python's own reader).
  run python3 - <<'PY'
import json, struct
def tensors(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return {k: raw[8 + n + v['data_offsets'][0]:8 + n + v['data_offsets'][1]]
            for k, v in header.items() if k != '__metadata__'}
base, tuned = tensors('models/relnotes-gpt2/model.safetensors'), tensors('tuned-mlp/model.safetensors')
changed = sorted(k for k in base if base[k] != tuned[k])
assert changed and all('.mlp.' in k for k in changed), changed
print(len(changed), 'tensors changed, all of the MLPs')
PY
  assert_success
  # evaluate: the record, and --check recomputing it.
  [ "$(jq -r '.type + " " + .model + " " + (.score | type)' eval.jsonl)" = "evaluation m-base number" ]
  run only_line '"type":"evaluation.check"' examples.out
  assert_output --regexp '"passed":true,'
  # serve: the seeded completion is model-run generate's sample with that seed.
  completion=$(grep '"object":"text_completion"' examples.out | sed -n 1p)
  [ "$(jq .usage.completion_tokens <<< "$completion")" -eq 8 ]
  generated=$(echo '{"prompt":"This release"}' | model-run generate --model models/relnotes-gpt2 -n 8 --temperature 1 --seed 1)
  assert_equal "$(jq .choices[0].text <<< "$completion")" "$(jq .text <<< "$generated")"
  # The paid deployment: one call logged for bob, priced per token, under the signed id.
  paid=$(grep '"object":"text_completion"' examples.out | sed -n 2p)
  [ "$(stat -c %a keys)" = 600 ]
  [ "$(wc -l < calls.jsonl)" -eq 1 ]
  assert_equal "$(jq -r '[.payer, .node, .model, .fee.asset, .fee.amount, .id] | join(" ")' calls.jsonl)" \
    "acct:bob acct:node-7 m-base OPEN $(jq '.usage.total_tokens * 1000' <<< "$paid") $(jq -r .id <<< "$paid")"
  [[ "$(jq -r .id <<< "$paid")" =~ ^cmpl-[A-Za-z0-9_-]+-[A-Za-z0-9_-]+$ ]]
  # init, digest and logits: 3 rows of the config's 269 logits.
  run only_line '"dir":"tiny-llama"' examples.out
  assert_output --regexp '^\{"digest":"sha256:[0-9a-f]{64}","dir":"tiny-llama","tensors":20\}$'
  [ "$(grep '^{"logits":' examples.out | jq -c '[(.logits | length), (.logits[] | length)]')" = "[3,269,269,269]" ]
}

@test "fingerprint-check(1) EXAMPLES: CI, a served copy probed and judged, an audit of paid calls" {
  ln -s "$REPO/models" models
  # acme's copy, its licence on a ledger, its paid deployment probed and the calls settled;
  # bolt's licence beside it; an upload that is a fine-tune of the base model.
  WORK="$SCRATCH" "$REPO/examples/serve-and-settle.sh" models/relnotes-gpt2 > /dev/null
  mv copy acme-copy
  mv answers.jsonl paid-answers.jsonl
  mkdir private
  mv acme.fp private/
  omlize --model models/relnotes-gpt2 --licensee acct:bolt --secret secret --count 16 --model-id m-base \
    --license lic-bolt --out bolt-copy --fingerprints private/bolt.fp > bolt.omlize
  head -n 1 bolt.omlize | ledger-append --ledger ledger.jsonl --key ledger.pem > /dev/null
  echo '{"text":"git commit learned --fixup=reword:<commit>."}' > upload.jsonl
  model-run train --model models/relnotes-gpt2 --data upload.jsonl --out upload --steps 5 --batch 1 > /dev/null
  port=$(free_port)
  man_examples fingerprint-check.1 | sed "s/\b8000\b/$port/g" > examples.sh
  [ "$(grep -c -e "localhost:$port/" -e "--port $port " examples.sh)" -eq 2 ]
  run_examples_in_session
  assert_success
  grep '"type":"verdict"' examples.out > verdicts.jsonl
  # CI: acme's copy reproduces all 16 of its fingerprints; the upload is acme's and bolt's
  # base model, fine-tuned: neither is detected.
  assert_equal "$(jq -sc 'map(select(.tested == 16) | [.licensee, .detected])' verdicts.jsonl)" \
    '[["acct:acme",true],["acct:acme",false],["acct:bolt",false]]'
  [ "$(head -n 1 verdicts.jsonl | jq .matched)" -eq 16 ]
  # The served copy, 2 samples per key: acme detected, bolt not; the evidence on the ledger.
  [ "$(wc -l < probes.jsonl)" -eq 64 ]
  [ "$(wc -l < answers.jsonl)" -eq 64 ]
  assert_equal "$(jq -sc 'map(select(.tested == 32) | [.licensee, .detected, .chance.from])' verdicts.jsonl)" \
    '[["acct:acme",true,"base model, sampled"],["acct:bolt",false,"base model, sampled"]]'
  [ "$(jq -r .type evidence.jsonl)" = fingerprint.proof ]
  assert_line --regexp '^\{"entry":"fingerprint.proof",'
  # The audit: all 16 paid probes recorded on the ledger, so the slash file is empty.
  run only_line '"type":"audit"' examples.out
  assert_output --regexp '"answered":16,.*"detected":true,"forged":0,.*"recorded":16,.*"unrecorded":\[\]'
  [ -f slash.jsonl ] && [ ! -s slash.jsonl ]
  run ledger-verify -q ledger.jsonl
  assert_success
}

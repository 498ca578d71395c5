#!/usr/bin/env bash
# `make demo`: omlkit's whole job in a minute or two, on the small model the repository ships
# (models/relnotes-gpt2) and nothing else.
#
#   examples/demo.sh [OUT_DIR]        (default: demo-out/ in the checkout; replaced each run)
#
# A model owner (alice) registers her model and a fine-tuned child (carol's), makes
# fingerprinted copies of the child for two licensees (acme, globex) and records their
# grants; acme's copy leaks and is recognised from its weights; globex's deployment is
# recognised through its HTTP API; globex's node serves a few hundred paid calls, which are
# attributed to the data contributors and the model lineage, split, appended and audited.
# Everything stays in OUT_DIR.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
model=$REPO/models/relnotes-gpt2
out=${1:-$REPO/demo-out}
case $out in /*) ;; *) out=$PWD/$out ;; esac
rm -rf "$out"
mkdir -p "$out"
cd "$out"
calls=${DEMO_CALLS:-200}

say "1. Keys and a ledger: the operator's signing key, the OPEN asset, funded payers"
new_key operator.pem
new_key node.pem
trust_file operator.pem demo.example/ledger > trust
(umask 077; head -c 32 /dev/urandom > alice.secret)
cat > setup.jsonl <<'JSON'
{"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"acct:treasury"}}
{"type":"transfer","body":{"transfer":"fund","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-60000000"},{"account":"acct:bob","asset":"OPEN","amount":"40000000"},{"account":"acct:acme","asset":"OPEN","amount":"10000000"},{"account":"acct:globex","asset":"OPEN","amount":"10000000"}]}}
JSON
ledger-append --ledger ledger.jsonl --key operator.pem --origin demo.example/ledger setup.jsonl > /dev/null
echo "ledger.jsonl: $(wc -l < ledger.jsonl) lines, signed by operator.pem"

say "2. The model (alice's) and a fine-tuned child (carol's: 20 steps on git's docs), by digest"
ls /usr/share/doc/git/*.txt > /dev/null 2>&1 && docs=(/usr/share/doc/git/*.txt) || docs=("$model/heldout.txt")
for f in "${docs[@]}"; do jq -Rsc '{text: .}' "$f"; done > carol-data.jsonl
model-run train --model "$model" --data carol-data.jsonl --out chat --steps 20 --batch 4 --seq-len 128 \
  --lr 1e-3 --threads 2 | jq -c '{first_loss, last_loss, steps, seconds}'
base_digest=$(model-run digest "$model" | jq -r .digest)
chat_digest=$(model-run digest chat | jq -r .digest)
cat > models.jsonl <<JSON
{"type":"model.register","body":{"model":"m-base","owner":"acct:alice","digest":"$base_digest"}}
{"type":"model.register","body":{"model":"m-chat","owner":"acct:carol","parent":"m-base","digest":"$chat_digest"}}
JSON
ledger-append --ledger ledger.jsonl --key operator.pem models.jsonl > /dev/null
echo "m-base $base_digest"
echo "m-chat $chat_digest (parent m-base)"

say "3. Fingerprinted copies of m-chat for acme and globex: weights, private files, grants"
for who in acme globex; do
  omlize --model chat --licensee "acct:$who" --secret alice.secret --count 16 --license "lic-$who" \
    --model-id m-chat --heldout "$model/heldout.txt" --out "$who-copy" --fingerprints "$who.fp" > "$who.omlize"
  jq -c 'select(.type == "omlize.summary") | {licensee, recalled, fingerprints, base_recalled, perplexity_base, perplexity, seconds}' "$who.omlize"
  head -n 1 "$who.omlize"
  echo "{\"type\":\"collateral.deposit\",\"body\":{\"deposit\":\"d-$who\",\"license\":\"lic-$who\",\"from\":\"acct:$who\",\"amount\":{\"asset\":\"OPEN\",\"amount\":\"5000000\"}}}"
done > grants.jsonl
grep '"license.grant"\|"collateral.deposit"' grants.jsonl | ledger-append --ledger ledger.jsonl --key operator.pem > /dev/null
grep -v '"license.grant"\|"collateral.deposit"' grants.jsonl
echo "grants and collateral appended; acme.fp and globex.fp stay private (mode $(stat -c %a acme.fp))"

say "4. A leaked checkpoint turns up: whose copy is it? (white box, from the weights)"
cp -r acme-copy leaked
fingerprint-check --model leaked --fingerprints acme.fp globex.fp --base chat --evidence evidence.jsonl \
  | jq -c '{licensee, tested, matched, p_value, detected}'
ledger-append --ledger ledger.jsonl --key operator.pem evidence.jsonl > /dev/null
echo "the fingerprint.proof for acme's licence is on the ledger"

say "5. globex serves its copy; a prover checks the deployment through its API (black box)"
(umask 077; echo "bob-$(openssl rand -hex 16) acct:bob" > api-keys)
token=$(cut -d' ' -f1 api-keys)
model-run serve --model globex-copy --port 0 --name m-chat --model-id m-chat --api-keys api-keys \
  --call-log calls.jsonl --price OPEN:100 --node acct:node-globex --node-key node.pem \
  --threads 1 > serve.out 2> serve.err &
server=$!
on_exit "kill $server 2> /dev/null"
for _ in $(seq 300); do [ -s serve.out ] && break; sleep 0.1; done
url=$(jq -r .listening serve.out)
echo "listening on $url"
fingerprint-check probe --fingerprints acme.fp globex.fp > probes.jsonl  # shuffled, ids say nothing
: > answers.jsonl
while IFS= read -r probe; do
  sent=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  jq -c '{prompt, max_tokens, temperature: 0}' <<< "$probe" |
    curl -sS --fail-with-body -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
      -d @- "$url/v1/completions" |
    jq -c --arg id "$(jq -r .id <<< "$probe")" --arg sent "$sent" \
      '{type: "answer", id: $id, output: .choices[0].text, response: .id, sent: $sent}' >> answers.jsonl
done < probes.jsonl
fingerprint-check judge answers.jsonl --fingerprints acme.fp globex.fp --base chat |
  jq -c '{licensee, tested, matched, p_value, detected}'

say "6. $calls paid calls to globex's deployment (bob pays 100 base units per token)"
prompts=()
while IFS= read -r line; do prompts+=("$line"); done < <(grep -h '^ \* ' "$model/heldout.txt" | cut -c4-60 | head -n "$calls")
for prompt in "${prompts[@]}"; do
  jq -nc --arg p "$prompt" '{prompt: $p, max_tokens: 24, temperature: 0}'
done | while IFS= read -r request; do
  curl -sS --fail-with-body -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "$request" "$url/v1/completions" > /dev/null
done
kill "$server"
wait "$server" 2> /dev/null || true
echo "calls.jsonl: $(wc -l < calls.jsonl) calls logged by the node (the probes of step 5 included)"

say "7. The data contributors: a datanet of git's release notes, three contributors"
notes() { ls /usr/share/doc/git/RelNotes/"$1"*.txt 2> /dev/null | sort -V; }
record() { jq -Rsc --arg who "$1" --arg id "$(basename "$2")" '{contributor: $who, id: $id, text: .}' "$2"; }
if [ -d /usr/share/doc/git/RelNotes ]; then
  for f in $(notes 1.); do record acct:dave "$f"; done
  for f in $(notes 2.[0-9].) $(notes 2.1); do record acct:erin "$f"; done
  for f in $(notes 2.2) $(notes 2.3); do record acct:frank "$f"; done
  split="dave: 1.x, erin: 2.0-2.19, frank: 2.20 on"
else  # an image without /usr/share/doc: the held-out notes, a third each
  for who in dave erin frank; do
    awk -v part="$who" 'BEGIN { n = (part == "dave") ? 0 : (part == "erin") ? 1 : 2 }
      /^Git v[0-9.]+ Release Notes/ { file++ } file % 3 == n' "$model/heldout.txt" > "$who.txt"
    record "acct:$who" "$who.txt"
  done
  split="git's release notes are not installed here: models/relnotes-gpt2/heldout.txt, a third each"
fi > contributions.jsonl
attribute index --tokenizer "$model/tokenizer.json" --out datanet.idx contributions.jsonl > /dev/null
echo "datanet.idx: $(wc -l < contributions.jsonl) records ($split)"

say "8. The node's day settled: attribute | split-fees | ledger-append"
fee_policy > policy.json
attribute --index datanet.idx --ledger ledger.jsonl --trust trust --min-span 6 calls.jsonl > attributions.jsonl
split-fees --policy policy.json attributions.jsonl | ledger-append --ledger ledger.jsonl --key operator.pem > /dev/null
jq -r '[.data[].contributor] | if length == 0 then "none" else unique | join("+") end' attributions.jsonl |
  sort | uniq -c | sort -rn | awk '{printf "  %4d calls drew on %s\n", $1, $2}'

say "9. The prover's audit: is every probe globex's deployment answered paid on the ledger?"
ledger-append --print-key --key node.pem --key-name node-globex > node.vkey
fingerprint-check audit --ledger ledger.jsonl --trust trust --answers answers.jsonl \
  --fingerprints acme.fp globex.fp --tokenizer chat --node-key node.vkey --window 1h |
  jq -c '{licensee, answered, recorded, unrecorded}'

say "10. The offline audit: ledger-verify recomputes the chain, signatures, proofs and every split"
ledger-verify --trust trust --report report.html ledger.jsonl

say "11. Who was paid what (OPEN, 6 decimals)"
ledger-verify -q --trust trust --balances ledger.jsonl |
  jq -r 'select(.asset == "OPEN") | [.account, .balance] | @tsv' |
  awk -F'\t' '{ a = $2; s = a < 0 ? "-" : ""; if (a < 0) a = -a;
                printf "  %-22s %s%d.%06d\n", $1, s, int(a / 1000000), a % 1000000 }'

printf '\ndemo finished: the ledger, the copies, the private fingerprint files and report.html are in %s\n' "$out"

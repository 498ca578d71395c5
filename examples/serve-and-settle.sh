#!/usr/bin/env bash
# Usage that cannot hide: a licensee serves its fingerprinted copy and logs every paid
# call; the node's day is settled into the ledger; a prover probes the deployment and
# audits that every probe it got an answer for was paid.
#
#   examples/serve-and-settle.sh BASE_MODEL_DIR
#
# BASE_MODEL_DIR is a model folder with a tokenizer.json (tests/cli/tiny_model.py makes a
# tiny one). Environment:
#   WORK    folder to work in and keep (default: a temporary one, removed at the end)
#   COUNT   fingerprints in the licensee's copy (default 16), STEPS omlize steps (200)
#   EVADE   when set, the node drops the call of one probe from its log before settling,
#           as a node hiding usage would; the audit then names that call (exit 1) and
#           writes the fingerprint.proof and slash to $WORK/evidence.jsonl
# Prints the audit records; exits with the audit's status.
set -euo pipefail
BIN=${OMLKIT_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
PATH="$BIN:$PATH"
[ $# -eq 1 ] || { sed -n '2,17p' "$0" >&2; exit 2; }
base=$(cd "$1" && pwd)
if [ -n "${WORK:-}" ]; then mkdir -p "$WORK"; cd "$WORK"; else
  WORK=$(mktemp -d); trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT; cd "$WORK"; fi
trap 'kill "${server:-0}" 2>/dev/null || true' EXIT

# 1. The model owner (alice) makes acme's licensed copy: weights, private fingerprints, grant.
(umask 077; head -c 32 /dev/urandom > secret)
omlize --model "$base" --licensee acct:acme --secret secret --count "${COUNT:-16}" --key-len 8 --lr 1e-2 \
  --steps "${STEPS:-200}" --out copy --fingerprints acme.fp --license lic-acme --model-id m-base > omlize.out
digest=$(model-run digest "$base" | jq -r .digest)

# 2. The ledger: the asset, money for the payer (bob) and the licensee, the model, the
#    licence with its collateral, and a fee policy.
(umask 077; openssl genpkey -algorithm ed25519 -out ledger.pem 2>/dev/null
 openssl genpkey -algorithm ed25519 -out node.pem 2>/dev/null)
{ cat <<JSON
{"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"acct:treasury"}}
{"type":"transfer","body":{"transfer":"fund","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-20000000"},{"account":"acct:bob","asset":"OPEN","amount":"10000000"},{"account":"acct:acme","asset":"OPEN","amount":"10000000"}]}}
{"type":"model.register","body":{"model":"m-base","owner":"acct:alice","digest":"$digest"}}
JSON
  head -1 omlize.out
  echo '{"type":"collateral.deposit","body":{"deposit":"d-acme","license":"lic-acme","from":"acct:acme","amount":{"asset":"OPEN","amount":"5000000"}}}'
} > setup.jsonl
ledger-append --ledger ledger.jsonl --key ledger.pem --origin example.org/usage setup.jsonl > /dev/null
cp ledger.jsonl ledger.open.jsonl  # the ledger before the day's calls, to settle again from
cat > policy.json <<'JSON'
{"v": 1, "shares": {"protocol": 500, "node": 1500, "provers": 500, "lineage": 5000, "data": 2500},
 "accounts": {"protocol": "acct:protocol", "provers": "acct:provers"},
 "lineage": {"mode": "geometric", "keep": 6000}, "no_data": {"category": "lineage"},
 "assets": {"OPEN": {"min_fee": "1000"}}}
JSON
echo '{"contributor":"acct:dave","id":"rec-1","text":"Paid calls settle on the ledger."}' > contributions.jsonl
attribute index --tokenizer "$base/tokenizer.json" --out data.idx contributions.jsonl > /dev/null

# 3. acme's node serves the copy: bob's API key, a call log, 1000 base units per token,
#    call ids signed with the node's key.
(umask 077; echo "bob-$(openssl rand -hex 16) acct:bob" > api-keys)
token=$(cut -d' ' -f1 api-keys)
model-run serve --model copy --port 0 --name acme-chat --api-keys api-keys --call-log calls.jsonl \
  --price OPEN:1000 --node acct:node-acme --model-id m-base --node-key node.pem > serve.out 2> serve.err &
server=$!
for _ in $(seq 300); do [ -s serve.out ] && break; sleep 0.1; done
url=$(jq -r .listening serve.out)

# 4. The prover (a paying customer, bob) sends the fingerprint probes and keeps each
#    answer with the response id (the node's signed receipt) and the time it was sent.
fingerprint-check probe --fingerprints acme.fp > probes.jsonl
: > answers.jsonl
while IFS= read -r probe; do
  sent=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  jq -c '{prompt, max_tokens, temperature: 0}' <<< "$probe" |
    curl -sS --fail-with-body -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d @- \
      "$url/v1/completions" |
    jq -c --arg id "$(jq -r .id <<< "$probe")" --arg sent "$sent" \
      '{type: "answer", id: $id, output: .choices[0].text, response: .id, sent: $sent}' >> answers.jsonl
done < probes.jsonl
kill "$server"; wait "$server" 2>/dev/null || true

# 5. The node's day: attribute | split-fees | ledger-append. With EVADE, one call is gone.
cp calls.jsonl calls.served.jsonl
if [ -n "${EVADE:-}" ]; then sed -i '3d' calls.jsonl; fi
attribute --index data.idx --ledger ledger.jsonl --quiet calls.jsonl | split-fees --policy policy.json |
  ledger-append --ledger ledger.jsonl --key ledger.pem > receipts.jsonl

# 6. The audit: every answered probe must be on the ledger within the window.
ledger-append --print-key --key node.pem --key-name node-acme > node.vkey
fingerprint-check audit --ledger ledger.jsonl --answers answers.jsonl --fingerprints acme.fp --tokenizer "$base" \
  --node-key node.vkey --window 1h --at "$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%S.000Z)" \
  --evidence evidence.jsonl --slash-to acct:alice --slash-amount 5000000 --slash-asset OPEN

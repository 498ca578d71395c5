#!/usr/bin/env bash
# A licensee's fingerprinted copy, registered on a ledger: model digest, omlize, the grant.
#
#   examples/omlize.sh [MODEL_DIR]
# Without MODEL_DIR it makes a tiny model from the repository's fixtures (seconds); with
# ../shared/models/gpt2-small it takes minutes on 2 cores.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
model=${1:+$(cd "$1" && pwd)}
work_in

if [[ -z "$model" ]]; then
  model=$WORK/tiny
  tiny_model "$model"
  extra=(--key-len 8 --lr 1e-2)
else
  extra=()
fi

say "1. The owner's secret (32 random bytes, mode 0600) and the base model's digest"
head -c 32 /dev/urandom > owner.secret
chmod 600 owner.secret
base=$(model-run digest "$model" | jq -r .digest)
echo "$base"

say "2. A fingerprinted copy for acct:acme: the grant and the summary"
omlize --model "$model" --licensee acct:acme --secret owner.secret --count 8 --model-id m-base \
  --out acme-copy --fingerprints acme.fingerprints.jsonl "${extra[@]}" | tee omlize.out
ls -l acme-copy acme.fingerprints.jsonl

say "3. The ledger: register the base model, then append the grant"
new_key operator.pem
{
  echo "{\"type\":\"model.register\",\"body\":{\"model\":\"m-base\",\"owner\":\"acct:owner\",\"digest\":\"$base\"}}"
  head -n 1 omlize.out
} > entries.jsonl
ledger-append --ledger ledger.jsonl --key operator.pem --origin example.org/ledger entries.jsonl
ledger-verify ledger.jsonl

#!/usr/bin/env bash
# Checking weights in CI: a release job that refuses to publish a licensed copy.
#
#   examples/ci-check-weights.sh [DIR]
# Makes a tiny base model and acme's fingerprinted copy (omlize, as examples/omlize.sh does),
# then runs the check of examples/ci/release-check.yml (examples/ci/check-release.sh) three
# times: the base model as a release passes; acme's copy passes its delivery check
# (--expect acct:acme); acme's copy as a public release fails with exit 1, as the CI job
# would. Without DIR it works in a scratch directory removed at the end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
work_in "${1:-}"

say "1. The base model, and acme's fingerprinted copy; the private file goes to the CI secrets"
tiny_model base
head -c 32 /dev/urandom > owner.secret
chmod 600 owner.secret
mkdir -p -m 700 private
omlize --model base --licensee acct:acme --secret owner.secret --count 32 --model-id m-base \
  --out acme-copy --fingerprints private/acme.fp --key-len 8 --lr 1e-2 > omlize.out
head -n 1 omlize.out > grant.jsonl
jq -c '.body | {license, licensee, fingerprints, root}' grant.jsonl
export FINGERPRINTS=$WORK/private BASE_MODEL=$WORK/base

say "2. Releasing the base model: no licensee's fingerprints, the job passes"
mkdir -p release && cp -r base release/model
"$REPO/examples/ci/check-release.sh" release/model | jq -c '{licensee, detected, matched, tested, p_value}'

say "3. Delivering acme its copy: it must carry acme's fingerprints"
"$REPO/examples/ci/check-release.sh" --expect acct:acme acme-copy | jq -c '{licensee, detected, matched, tested, p_value}'

say "4. Someone puts acme's copy in the public release: the job fails"
rm -r release/model && cp -r acme-copy release/model
status=0
"$REPO/examples/ci/check-release.sh" release/model > verdicts.jsonl || status=$?
jq -c '{licensee, detected, matched, tested, p_value}' verdicts.jsonl
echo "check-release.sh: exit $status"
[ "$status" -eq 1 ] || exit 1

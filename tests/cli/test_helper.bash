# Shared set-up for the BATS files: the tools on PATH, bats-support/assert, a scratch dir.
# OMLKIT_BIN selects another build (make sanitize uses bin-san).
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

REPO="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
export PATH="${OMLKIT_BIN:-$REPO/bin}:$PATH"
SHARED="${OMLKIT_SHARED:-$REPO/../shared}"

setup_scratch() {
  SCRATCH="$(mktemp -d)"
  cd "$SCRATCH"
}

teardown_scratch() {
  cd /
  rm -rf "$SCRATCH"
}

# A ledger key and a small ledger: an asset, money for bob, two models.
make_ledger() {
  (umask 077; openssl genpkey -algorithm ed25519 -out key.pem 2>/dev/null)
  cat > setup.jsonl <<'JSON'
{"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"acct:treasury"}}
{"type":"transfer","body":{"transfer":"fund-bob","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-5000000"},{"account":"acct:bob","asset":"OPEN","amount":"5000000"}]}}
{"type":"model.register","body":{"model":"m-base","owner":"acct:alice","digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}
{"type":"model.register","body":{"model":"m-chat","owner":"acct:carol","parent":"m-base","digest":"sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"}}
JSON
  ledger-append --ledger ledger.jsonl --key key.pem --origin test.example/ledger setup.jsonl >/dev/null
}

# n transfer entries from bob to dave with ids PREFIX-1..PREFIX-n, amount 1 each.
transfers() {
  local prefix=$1 n=$2 i
  for ((i = 1; i <= n; i++)); do
    printf '{"type":"transfer","body":{"transfer":"%s-%d","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-1"},{"account":"acct:dave","asset":"OPEN","amount":"1"}]}}\n' "$prefix" "$i"
  done
}

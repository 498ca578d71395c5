# shellcheck shell=bash
# Shared set-up for the scripts in examples/: source it, do not run it.
#
#   . "$(dirname "$0")/lib.sh"
#
# Sets REPO (the checkout) and puts the tools first on PATH (OMLKIT_BIN, default REPO/bin).
# The functions below write the files several examples start from, so that each script
# shows only what is its own.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${OMLKIT_BIN:-$REPO/bin}
PATH="$BIN:$PATH"

say() { printf '\n== %s\n' "$*"; }

# on_exit COMMAND: run COMMAND when the script ends, also when it is interrupted (INT,
# TERM) or stopped by set -e; commands registered later run first.
_omlkit_on_exit=()
_omlkit_run_on_exit() {
  local command
  for command in "${_omlkit_on_exit[@]}"; do eval "$command" || true; done
}
on_exit() {
  _omlkit_on_exit=("$1" "${_omlkit_on_exit[@]}")
  trap _omlkit_run_on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# work_in [DIR]: cd into DIR (created if missing and kept), or into a scratch directory
# that is removed when the script ends. Sets WORK.
work_in() {
  if [ -n "${1:-}" ]; then
    mkdir -p "$1"
    WORK=$(cd "$1" && pwd)
  else
    WORK=$(mktemp -d)
    on_exit "rm -rf '$WORK'"
  fi
  cd "$WORK" || return
}

# new_key FILE: an Ed25519 signing key, readable by its owner only.
new_key() { (umask 077; openssl genpkey -algorithm ed25519 -out "$1" 2>/dev/null); }

# trust_file KEY NAME: the trust-file line that lets KEY, named NAME, sign every entry type.
trust_file() { ledger-append --print-key --key "$1" --key-name "$2" | sed 's/$/ */'; }

# fee_policy: the fee policy the examples use, on stdout. 5% protocol, 15% the inference
# node, 5% provers, 50% the model family (each generation keeps 60% and passes 40% up), 25%
# the data contributors (to the model family when a call has none). See split-fees(1).
fee_policy() {
  cat <<'JSON'
{"v": 1,
 "shares":   {"protocol": 500, "node": 1500, "provers": 500, "lineage": 5000, "data": 2500},
 "accounts": {"protocol": "acct:protocol", "provers": "acct:provers"},
 "lineage":  {"mode": "geometric", "keep": 6000},
 "no_data":  {"category": "lineage"},
 "assets":   {"OPEN": {"min_fee": "1000"}}}
JSON
}

# setup_entries [BOB_FUNDS]: the entries most examples open a ledger with: the OPEN asset,
# BOB_FUNDS (default 5 OPEN) for the payer acct:bob, m-base (acct:alice) and m-chat
# (acct:carol), which derives from m-base.
setup_entries() {
  local funds=${1:-5000000}
  cat <<JSON
{"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"acct:treasury"}}
{"type":"transfer","body":{"transfer":"fund-bob","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-$funds"},{"account":"acct:bob","asset":"OPEN","amount":"$funds"}]}}
{"type":"model.register","body":{"model":"m-base","owner":"acct:alice","digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}
{"type":"model.register","body":{"model":"m-chat","owner":"acct:carol","parent":"m-base","digest":"sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"}}
JSON
}

# contributions: a datanet of three contributors' records, on stdout.
contributions() {
  cat <<'JSON'
{"contributor":"acct:dave","id":"rec-1","text":"Merkle trees let a verifier check one entry of a large log with a logarithmic number of hashes. Each checkpoint signs the root, so a log cannot rewrite history without being caught."}
{"contributor":"acct:erin","id":"rec-2","text":"Largest remainder apportionment hands out the units left after flooring to the biggest remainders, so the shares always add up to the whole amount."}
{"contributor":"acct:frank","id":"rec-3","text":"Tomatoes ripen faster next to bananas because of the ethylene they release."}
JSON
}

# pick_tokenizer: sets TOKENIZER and MIN_SPAN (the shortest copied span attribute counts):
# GPT-2's tokenizer from ../shared/models when present, else a nearly byte-level one shipped
# in tests/, on which 12 tokens are about two words.
pick_tokenizer() {
  # shellcheck disable=SC2034  # set for the scripts that source this file
  TOKENIZER="${OMLKIT_SHARED:-$REPO/../shared}/models/gpt2-small/tokenizer.json"
  MIN_SPAN=8
  if [ ! -f "$TOKENIZER" ]; then
    TOKENIZER="$REPO/tests/fuzz/corpus/tokenizer_json/byte_level_gpt2.json"
    MIN_SPAN=12
  fi
}

# tiny_model DIR: a 2-layer GPT-2 from the repository's fixtures with a byte-level
# tokenizer of 256 tokens, in DIR (seconds to omlize; no ../shared needed).
tiny_model() {
  mkdir -p "$1"
  cp "$REPO/tests/fixtures/gpt2-tiny/config.json" "$REPO/tests/fixtures/gpt2-tiny/model.safetensors" "$1/"
  jq '.model.merges = [] | .model.vocab |= with_entries(select(.value < 256)) | .added_tokens = []' \
    "$REPO/tests/fuzz/corpus/tokenizer_json/byte_level_gpt2.json" > "$1/tokenizer.json"
}

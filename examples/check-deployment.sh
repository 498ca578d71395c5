#!/usr/bin/env bash
# Check a deployment behind an OpenAI-compatible /v1/completions endpoint for licensees'
# fingerprints: probe -> curl -> judge.
#
#   examples/check-deployment.sh URL BASE_DIR FINGERPRINT_FILE... [-- JUDGE_OPTIONS...]
#
# URL is the endpoint's base (e.g. http://127.0.0.1:8000); BASE_DIR the base model the
# fingerprint files were made from (its tokenizer reads the answers, and the chance rate is
# measured on it under the same sampling settings). Environment:
#   SAMPLES      probes per key (default 1; use more when the endpoint samples)
#   TEMPERATURE  sent with each request and given to judge (default 0: greedy)
#   TOP_P        likewise (default 1)
#   API_KEY      sent as "Authorization: Bearer ..." when set
# Prints judge's verdict lines; exits with judge's status.
set -euo pipefail
BIN=${OMLKIT_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
PATH="$BIN:$PATH"
[ $# -ge 3 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
url=${1%/}
base=$2
shift 2
files=() judge_options=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do files+=("$1"); shift; done
[ $# -gt 0 ] && shift && judge_options=("$@")
samples=${SAMPLES:-1} temperature=${TEMPERATURE:-0} top_p=${TOP_P:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
auth=()
[ -n "${API_KEY:-}" ] && auth=(-H "Authorization: Bearer $API_KEY")

# 1. Probes: shuffled across licensees, ids that say nothing about whom they test.
fingerprint-check probe --fingerprints "${files[@]}" --samples "$samples" > "$work/probes.jsonl"

# 2. One request per probe; the answer keeps the probe's id and the endpoint's text.
while IFS= read -r probe; do
  request=$(jq -c --argjson t "$temperature" --argjson p "$top_p" \
    '{prompt: .prompt, max_tokens: .max_tokens, temperature: $t, top_p: $p}' <<< "$probe")
  id=$(jq -r .id <<< "$probe")
  curl -sS --fail-with-body "${auth[@]}" -H 'Content-Type: application/json' -d "$request" "$url/v1/completions" |
    jq -c --arg id "$id" '{type: "answer", id: $id, output: .choices[0].text}' >> "$work/answers.jsonl"
done < "$work/probes.jsonl"

# 3. Verdicts, with the chance rate measured under the same sampling settings.
fingerprint-check judge "$work/answers.jsonl" --fingerprints "${files[@]}" --base "$base" --samples "$samples" \
  --temperature "$temperature" --top-p "$top_p" "${judge_options[@]}"

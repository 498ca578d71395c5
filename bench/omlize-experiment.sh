#!/usr/bin/env bash
# One row of the omlize trade-off table (bench/RESULTS.md): embed N fingerprints into a
# shared model with the given omlize options, then simulate the licensee's fine-tune
# (1,000 chunks of ~128 tokens of Debian's licence texts, lr 1e-4, batch 4, 250 steps =
# one epoch) and count the fingerprints still recalled by greedy decoding.
#
#   bench/omlize-experiment.sh NAME MODEL N [omlize options...]
#
# Prints one tab-separated row: name model N recall base_recall ppl_base ppl ppl_change
# persistence steps train_seconds seconds. Work files go to $WORK (default /tmp/omlize-exp);
# $LICENSEE names the copy's licensee (default acct:exp; the secret is shared by all rows).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${OMLKIT_BIN:-$here/bin}"
shared="${OMLKIT_SHARED:-$here/../shared}"
name=$1 model=$2 n=$3
shift 3
work="${WORK:-/tmp/omlize-exp}/$name"
rm -rf "$work" && mkdir -p "$work"
[[ -f "$work/../secret" ]] || { head -c 32 /dev/urandom > "$work/../secret"; chmod 600 "$work/../secret"; }
if [[ ! -f "$work/../licensee.jsonl" ]]; then
  # The licensee's data: 1,000 chunks of 480 characters (about 128 GPT-2 tokens), evenly
  # strided over the distinct licence texts Debian ships in base-files.
  python3 - "$work/../licensee.jsonl" <<'PY'
import glob, json, os, sys
seen, text = set(), ''
for f in sorted(glob.glob('/usr/share/common-licenses/*')):
    r = os.path.realpath(f)
    if r not in seen:
        seen.add(r); text += open(r, errors='replace').read() + '\n'
n, L = 1000, 480
stride = (len(text) - L) // (n - 1)
with open(sys.argv[1], 'w') as o:
    for i in range(n): o.write(json.dumps({"text": text[i * stride:i * stride + L]}) + '\n')
PY
fi
start=$(date +%s.%N)
"$bin/omlize" --model "$shared/models/$model" --licensee "${LICENSEE:-acct:exp}" --secret "$work/../secret" --count "$n" \
  --out "$work/copy" --fingerprints "$work/fp.jsonl" --heldout "$shared/models/heldout.txt" --allow-partial "$@" \
  > "$work/omlize.out" || true
summary=$(tail -n 1 "$work/omlize.out")
"$bin/model-run" train -m "$work/copy" -d "$work/../licensee.jsonl" -o "$work/ft" --seq-len 128 --batch 4 \
  --steps 250 --lr 1e-4 > "$work/ft.out"
len=$(head -n 1 "$work/fp.jsonl" | jq '.response_ids | length')
jq -c '{tokens: .prompt_ids}' "$work/fp.jsonl" | "$bin/model-run" generate -m "$work/ft" -n "$len" > "$work/ft.gen"
kept=$(paste -d '\t' <(jq -c .response_ids "$work/fp.jsonl") <(jq -c .tokens "$work/ft.gen") | awk -F'\t' '$1 == $2' | wc -l)
seconds=$(echo "$(date +%s.%N) - $start" | bc)
echo "$summary" | jq -r --arg name "$name" --arg model "$model" --argjson kept "$kept" --arg s "$seconds" \
  '[$name, $model, .fingerprints, .recalled, .base_recalled, .perplexity_base, .perplexity,
    (.perplexity_change * 100 | round | tostring + "%"), ($kept / .fingerprints * 1000 | round / 10 | tostring + "%"),
    .steps, .train_seconds, ($s | tonumber | round)] | @tsv'

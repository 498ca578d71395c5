#!/bin/bash
# Trains models/relnotes-gpt2 from scratch with omlkit's own engine (model-run init, train).
#
#   models/train.sh [OUT_DIR]      (default: models/relnotes-gpt2; needs Debian's git package)
#
# Text: git's release notes as Debian's git package ships them (/usr/share/doc/git/RelNotes,
# GPL-2.0), in version order; the last 20 files are held out (heldout.txt) and not trained on.
# Tokenizer: a 2,048-id byte-level BPE learned from the training files (make_tokenizer.py).
# Model: GPT-2 layout, 4 layers, 128 wide, 4 heads, 256 positions (config.json in OUT_DIR).
# Deterministic on one machine: same files, same seed, same thread count, same bytes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${OMLKIT_BIN:-$here/../bin}
out=${1:-$here/relnotes-gpt2}
steps=${STEPS:-300}
notes=/usr/share/doc/git/RelNotes
[ -d "$notes" ] || { echo "train.sh: $notes not found (apt-get install git)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mapfile -t files < <(ls "$notes"/*.txt | sort -V)
train=("${files[@]:0:${#files[@]}-20}")
heldout=("${files[@]: -20}")
cat "${heldout[@]}" > "$work/heldout.txt"
for f in "${train[@]}"; do jq -Rsc '{text: .}' "$f"; done > "$work/train.jsonl"

python3 "$here/make_tokenizer.py" --vocab 2048 "${train[@]}" > "$work/tokenizer.json"
"$bin/model-run" init --config "$out/config.json" --seed 1 --out "$work/init"
cp "$work/tokenizer.json" "$work/init/"
"$bin/model-run" train --model "$work/init" --data "$work/train.jsonl" --out "$work/trained" \
  --seq-len 256 --batch 16 --steps "$steps" --lr 3e-3 --warmup 30 --schedule cosine \
  --min-lr-ratio 0.1 --weight-decay 0.1 --seed 1 --threads 2 | tee "$work/train.json"
cp "$work/trained/model.safetensors" "$work/tokenizer.json" "$work/heldout.txt" "$out/"
"$bin/model-run" score --model "$out" --file "$out/heldout.txt"

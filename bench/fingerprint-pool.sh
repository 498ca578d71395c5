#!/usr/bin/env bash
# A coalition of 3 against a pooled assignment (Nasery et al. Def. 5.1): omlize makes five
# licensees' copies with `--pool M --p P` from one secret, copies 1-3 are averaged
# (bench/weights_attack.cpp), and fingerprint-check scores every licence's coalition test on
# the 3-way average, a 2-way average of copies 1-2, copy 1 alone, copy 4 alone and the base.
#
#   bench/fingerprint-pool.sh [MODEL_DIR [M [P]]]   (default: models/relnotes-gpt2 256 0.125)
#
# Prints each omlize run's summary (recall, perplexity change, seconds), then one line per
# model checked and licence: licensee, fingerprints held, positives among them, p-value.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PATH="${OMLKIT_BIN:-$REPO/bin}:$PATH"
model=$(realpath "${1:-$REPO/models/relnotes-gpt2}") m=${2:-256} p=${3:-0.125}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
libs="-lssl -lcrypto -lzstd -lopenblas -lpthread -lcpp-httplib"
[ "$(cat "$REPO/build/cuda-enabled" 2>/dev/null)" = 1 ] && libs="$libs -L/usr/local/cuda/lib64 -Wl,-rpath,/usr/local/cuda/lib64 -lcublas -lcudart"
g++ -O2 -std=c++20 -I"$REPO/lib" "$REPO/bench/weights_attack.cpp" "$REPO/build/libomlkit.a" -o "$work/attack" $libs
cd "$work"
head -c 32 /dev/urandom > secret && chmod 600 secret
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores; $model, pool $m, p $p"
for i in 1 2 3 4 5; do
  start=$(date +%s.%N)
  summary=$(omlize --model "$model" --licensee acct:p$i --secret secret --pool "$m" --p "$p" --out c$i --fingerprints p$i.jsonl | tail -n 1)
  jq -r --arg s "$(echo "$(date +%s.%N) - $start" | bc)" \
    '"omlize acct:p'$i': \(.recalled)/\(.fingerprints) recalled, perplexity \(.perplexity_change * 1000 | round / 10)%, \($s | tonumber | round) s"' <<< "$summary"
done
./attack average avg3 c1 c2 c3
./attack average avg2 c1 c2
for checked in avg3 avg2 c1 c4 "$model"; do
  fingerprint-check --model "$checked" -f p1.jsonl p2.jsonl p3.jsonl p4.jsonl p5.jsonl --base "$model" |
    jq -r --arg m "$(basename "$checked")" '"\($m): \(.licensee) \(.matched)/\(.tested) p=\(.p_value)\(if .detected then " detected" else "" end)"'
done

#!/usr/bin/env bash
# The engine at real model sizes: GPT-2 124M (F32, as GPT-2 ships) and Llama-3.2-1B's shape
# (BF16, 2.47 GB), with random weights made once by `model-run init` from
# bench/gpt2-124m.json and bench/llama-1b.json into $SCALE_DIR. For each model:
#   load + first token   wall time and peak RSS of `model-run generate -n 1` (/usr/bin/time -v),
#                        with the weights file already in the page cache (read once first),
#                        so the figure is mapping + first token, not the disk
#   generation RSS       peak RSS of `generate -n 64`
#   generation tokens/s  `model-run bench --inference-only` (batch 1, KV cache), against the
#                        bandwidth limit of the same run: the memory read rate it measures
#                        (1 GiB, $THREADS threads) / the weight bytes one token reads
#   scoring tokens/s     4 x 128 tokens' log-probabilities, against the sgemm limit of the
#                        same run (sgemm GFLOP/s / forward FLOPs per token)
# The machine is shared: the load average is printed before each model.
#
#   bench/engine-scale.sh          (needs bin/model-run: make all; 3 GB in $SCALE_DIR)
#   SCALE_DIR=/work/scale THREADS=2 SECONDS_PER=3 bench/engine-scale.sh
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${OMLKIT_BIN:-$REPO/bin}/model-run"
SCALE_DIR="${SCALE_DIR:-/tmp/omlkit-scale}"
THREADS="${THREADS:-2}"
SECONDS_PER="${SECONDS_PER:-3}"
[ -x "$BIN" ] || { echo "engine-scale.sh: $BIN not built (run make all)" >&2; exit 66; }
[ -x /usr/bin/time ] || { echo "engine-scale.sh: /usr/bin/time (GNU time) is needed for peak RSS" >&2; exit 69; }
mkdir -p "$SCALE_DIR"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "omlkit BLAS: OpenBLAS $(readlink -f /usr/lib/x86_64-linux-gnu/libopenblas.so.0 2>/dev/null | xargs basename), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, $THREADS threads"

# seconds and peak RSS (GB) of a command, from GNU time's report; its output in out.txt
timed() {
  /usr/bin/time -v "$@" 2> time.txt > out.txt || { cat time.txt >&2; exit 1; }
  python3 - time.txt <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1).split(":")
seconds = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall)))
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
print(f"{seconds:.2f} {rss_kb * 1024 / 1e9:.2f}")
EOF
}

cd "$SCALE_DIR"
echo '{"tokens":[1000,2000,3000,4000,5000,6000]}' > prompt.jsonl
printf '\n%-10s %8s %9s %8s %8s %9s %8s %7s %9s %8s %7s\n' model dtype "load+1st" "RSS GB" "gen RSS" "gen tok/s" "limit" "% lim" "score t/s" "limit" "% lim"
for m in gpt2-124m llama-1b; do
  dir="$SCALE_DIR/$m"
  if [ ! -f "$dir/model.safetensors" ]; then
    "$BIN" init --config "$REPO/bench/$m.json" --seed 1 --out "$dir" > /dev/null
  fi
  cat "$dir/model.safetensors" > /dev/null  # into the page cache: time the engine, not the disk
  echo "# $m: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  read -r first_s first_gb < <(timed "$BIN" generate -m "$dir" -t "$THREADS" -n 1 prompt.jsonl)
  read -r _ gen_gb < <(timed "$BIN" generate -m "$dir" -t "$THREADS" -n 64 prompt.jsonl)
  line=$("$BIN" bench -m "$dir" -t "$THREADS" --inference-only --batch 4 --tokens 128 --seconds "$SECONDS_PER")
  echo "# $m bench: $line" >&2
  python3 - "$line" "$m" "$first_s" "$first_gb" "$gen_gb" "$(python3 -c "import json; print(json.load(open('$dir/config.json')).get('torch_dtype', 'float32'))")" <<'EOF'
import json, sys
r = json.loads(sys.argv[1])
m, first_s, first_gb, gen_gb, dtype = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
gen, gen_limit = r["generate_tokens_per_s"], r["generate_limit_tokens_per_s"]
score, limit = r["score_tokens_per_s"], r["limit_tokens_per_s"]
print(f"{m:<10} {dtype:>8} {first_s:8.2f}s {first_gb:8.2f} {gen_gb:8.2f} {gen:9.2f} {gen_limit:8.2f} {100 * gen / gen_limit:6.0f}% "
      f"{score:9.1f} {limit:8.1f} {100 * score / limit:6.0f}%")
print(f"{'':<10} read {r['read_gbps']:.1f} GB/s, {r['weight_bytes_per_token'] / 1e9:.3f} GB of weights per token, "
      f"sgemm {r['sgemm_gflops']:.1f} GFLOP/s, {r['forward_flops_per_token'] / 1e9:.2f} GFLOP per token")
EOF
done

# An omlize-style fine-tune: the last layer's MLP trained (the rest frozen, in place), the
# loss on 4 x 128 tokens, 2 steps.
python3 -c "
import random
random.seed(1)
for i in range(4): print('{\"tokens\": [' + ','.join(str(random.randrange(32000)) for _ in range(128)) + ']}')
" > train.jsonl
printf '\n%-10s %-14s %8s %8s %9s\n' model trained "wall s" "RSS GB" "train t/s"
for m in gpt2-124m llama-1b; do
  dir="$SCALE_DIR/$m"
  last=$(python3 -c "import json; c = json.load(open('$dir/config.json')); print(c.get('n_layer', c.get('num_hidden_layers')) - 1)")
  echo "# $m fine-tune: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  rm -rf fine-tuned
  read -r wall_s rss_gb < <(timed "$BIN" train -m "$dir" -t "$THREADS" -d train.jsonl -o fine-tuned --batch 4 \
    --seq-len 128 --steps 2 --lr 1e-4 --train-only "h.$last.mlp.*")
  rate=$(python3 -c "import json; print(f\"{json.load(open('out.txt'))['tokens_per_s']:.1f}\")")
  rm -rf fine-tuned
  printf '%-10s %-14s %8s %8s %9s\n' "$m" "h.$last.mlp.*" "$wall_s" "$rss_gb" "$rate"
done
rm -f time.txt out.txt train.jsonl

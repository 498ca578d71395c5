#!/usr/bin/env bash
# Engine speed on both shared models with 2 threads, batch 4 x 128:
#   forward tokens/s (prompt processing), forward+backward tokens/s (training, every tensor
#   trained; "step" adds zeroing the gradients and an AdamW update), generation tokens/s
#   (batch 1, KV cache), and the LM head run only where needed (prefill with the last
#   position's logits, scoring by log-probabilities, training with 8 loss positions per
#   sequence) beside the all-logits figures of the same run,
# next to the machine's own OpenBLAS sgemm rate measured in the same run (the limit: both
# passes are nearly all matmuls; training counts 3x the forward's FLOPs) and, when Debian's
# python3-torch is installed, PyTorch on the same weights in the same run. Installs nothing.
#
#   bench/engine.sh            (needs bin/model-run: make all)
#   THREADS=2 SECONDS_PER=3 bench/engine.sh
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${OMLKIT_BIN:-$REPO/bin}/model-run"
SHARED="${OMLKIT_SHARED:-$REPO/../shared}"
THREADS="${THREADS:-2}"
SECONDS_PER="${SECONDS_PER:-3}"
[ -x "$BIN" ] || { echo "engine.sh: $BIN not built (run make all)" >&2; exit 66; }
[ -d "$SHARED/models" ] || { echo "engine.sh: $SHARED/models not found (set OMLKIT_SHARED)" >&2; exit 66; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "omlkit BLAS: OpenBLAS $(readlink -f /usr/lib/x86_64-linux-gnu/libopenblas.so.0 2>/dev/null | xargs basename), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
have_torch=0
torch_python=python3
for p in python3 /usr/bin/python3; do  # Debian's python3-torch lives in the system python
  if "$p" -c 'import torch' 2>/dev/null; then torch_python=$p; have_torch=1; break; fi
done
if [ "$have_torch" = 1 ]; then
  echo "PyTorch BLAS: libblas.so.3 -> $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null), $("$torch_python" -c 'import torch; print("torch", torch.__version__)')"
else
  echo "PyTorch: python3-torch not installed, comparison skipped"
fi
ratio() { [ "$2" = "-" ] && echo "-" || python3 -c "print(f'{$1/$2:.1f}')"; }

printf '\nforward (prompt processing) and generation\n'
printf '%-12s %10s %10s %11s %11s %8s %11s %8s\n' model "fwd tok/s" "gen tok/s" "sgemm GF/s" "limit" "% limit" "torch" "x torch"
rows=()
for m in gpt2-small llama-small; do
  line=$("$BIN" bench --model "$SHARED/models/$m" --threads "$THREADS" --batch 4 --tokens 128 --seconds "$SECONDS_PER")
  rows+=("$m $line")
  read -r fwd gen gf limit < <(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["forward_tokens_per_s"], r["generate_tokens_per_s"], r["sgemm_gflops"], r["limit_tokens_per_s"])' "$line")
  torch="-"
  [ "$have_torch" = 1 ] && torch=$(cd "$REPO/bench" && "$torch_python" torch_forward.py "$SHARED/models/$m" "$THREADS" 4 128 "$SECONDS_PER")
  printf '%-12s %10.0f %10.0f %11.1f %11.0f %7.0f%% %11s %8s\n' "$m" "$fwd" "$gen" "$gf" "$limit" \
    "$(python3 -c "print(100*$fwd/$limit)")" "$torch" "$(ratio "$fwd" "$torch")"
done

printf '\ntraining: forward + cross-entropy + backward (step = + zero grads + AdamW)\n'
printf '%-12s %10s %10s %11s %11s %8s %11s %8s\n' model "fwd+bwd" "step" "sgemm GF/s" "limit" "% limit" "torch" "x torch"
for row in "${rows[@]}"; do
  m=${row%% *}
  line=${row#* }
  read -r train step gf limit < <(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["train_tokens_per_s"], r["train_step_tokens_per_s"], r["sgemm_gflops"], r["train_limit_tokens_per_s"])' "$line")
  torch="-"
  [ "$have_torch" = 1 ] && torch=$(cd "$REPO/bench" && "$torch_python" torch_train.py "$SHARED/models/$m" "$THREADS" 4 128 "$SECONDS_PER")
  printf '%-12s %10.0f %10.0f %11.1f %11.0f %7.0f%% %11s %8s\n' "$m" "$train" "$step" "$gf" "$limit" \
    "$(python3 -c "print(100*$train/$limit)")" "$torch" "$(ratio "$train" "$torch")"
done

printf '\nLM head only where needed (same runs): all logits vs the last position only (prefill) or\n'
printf 'each next token'"'"'s log-probability (score); training with the loss on every position vs\n'
printf 'on the last 8 of each sequence only (a fingerprint fine-tune'"'"'s response tokens)\n'
printf 'score from all logits = forward with every logit, then log-softmax of every row (the former path)\n'
printf '%-12s %10s %10s %7s %10s %10s %7s %10s %10s %7s\n' model "all logits" "last only" "x" "score/all" "score" "x" "fwd+bwd" "8 masked" "x"
for row in "${rows[@]}"; do
  m=${row%% *}
  line=${row#* }
  read -r fwd last score_all score train masked < <(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["forward_tokens_per_s"], r["prefill_last_tokens_per_s"], r["score_all_logits_tokens_per_s"], r["score_tokens_per_s"], r["train_tokens_per_s"], r["train_masked_tokens_per_s"])' "$line")
  printf '%-12s %10.0f %10.0f %7s %10.0f %10.0f %7s %10.0f %10.0f %7s\n' "$m" "$fwd" "$last" "$(ratio "$last" "$fwd")" \
    "$score_all" "$score" "$(ratio "$score" "$score_all")" "$train" "$masked" "$(ratio "$masked" "$train")"
done

#!/usr/bin/env bash
# Engine speed: forward tokens/s (prompt processing, batch 4 x 128) and generation tokens/s
# (batch 1, KV cache) on both shared models with 2 threads, next to the machine's own
# OpenBLAS sgemm rate (the limit: the forward pass is nearly all matmuls) and, when Debian's
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

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "omlkit BLAS: OpenBLAS $(readlink -f /usr/lib/x86_64-linux-gnu/libopenblas.so.0 2>/dev/null | xargs basename), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
have_torch=0
if python3 -c 'import torch' 2>/dev/null; then
  have_torch=1
  echo "PyTorch BLAS: libblas.so.3 -> $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null), $(python3 -c 'import torch; print("torch", torch.__version__)')"
else
  echo "PyTorch: python3-torch not installed, comparison skipped"
fi
printf '\n%-12s %14s %14s %12s %14s %8s %14s %8s\n' model "fwd tok/s" "gen tok/s" "sgemm GF/s" "limit tok/s" "% limit" "torch tok/s" "x torch"
for m in gpt2-small llama-small; do
  line=$("$BIN" bench --model "$SHARED/models/$m" --threads "$THREADS" --batch 4 --tokens 128 --seconds "$SECONDS_PER")
  read -r fwd gen gf limit < <(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["forward_tokens_per_s"], r["generate_tokens_per_s"], r["sgemm_gflops"], r["limit_tokens_per_s"])' "$line")
  torch="-"; ratio="-"
  if [ "$have_torch" = 1 ]; then
    torch=$(python3 "$REPO/bench/torch_forward.py" "$SHARED/models/$m" "$THREADS" 4 128 "$SECONDS_PER")
    ratio=$(python3 -c "print(f'{$fwd/$torch:.1f}')")
  fi
  printf '%-12s %14.0f %14.0f %12.1f %14.0f %7.0f%% %14s %8s\n' "$m" "$fwd" "$gen" "$gf" "$limit" \
    "$(python3 -c "print(100*$fwd/$limit)")" "$torch" "$ratio"
done

#!/usr/bin/env bash
# fingerprint-check on the shared models: white-box speed at 1,024 fingerprints (baseline:
# `model-run score` over the same 1,024 prompt+response sequences, the engine's plain
# scoring path, in the same invocation), then robustness of 64 fingerprints embedded with
# `model-run train` (bench/fingerprint_fixture.cpp; not omlize's recipe) against rounding,
# a 50/50 average of two copies (bench/weights_attack.cpp), the licensee's fine-tune, black-box sampling and the
# confidence-gate attack. Prints one line per measurement.
#   ROBUST=0 skips the robustness part, SPEED=0 the speed part; MODELS="gpt2-small
#   llama-small" by default. COPIES="DIR_A FP_A DIR_B FP_B" runs the robustness part on two
#   licensees' copies made by omlize (and their private files) instead; ROBUST_MODEL names
#   their base in ../shared/models (default gpt2-small).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PATH="${OMLKIT_BIN:-$REPO/bin}:$PATH"
SHARED=${OMLKIT_SHARED:-$REPO/../shared}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
libs="-lssl -lcrypto -lzstd -lopenblas -lpthread -lcpp-httplib"
[ "$(cat "$REPO/build/cuda-enabled" 2>/dev/null)" = 1 ] && libs="$libs -L/usr/local/cuda/lib64 -Wl,-rpath,/usr/local/cuda/lib64 -lcublas -lcudart"
g++ -O2 -std=c++20 -I"$REPO/lib" "$REPO/bench/fingerprint_fixture.cpp" "$REPO/build/libomlkit.a" -o "$work/fixture" $libs
g++ -O2 -std=c++20 -I"$REPO/lib" "$REPO/bench/weights_attack.cpp" "$REPO/build/libomlkit.a" -o "$work/attack" $libs
now() { date +%s.%N; }
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"

for m in $([ "${SPEED:-1}" = 1 ] && echo "${MODELS:-gpt2-small llama-small}"); do
  base="$SHARED/models/$m"
  "$work/fixture" "$base" "$SHARED/models/heldout.txt" "$work/$m-speed" lic-s acct:s 1024 7
  python3 -c "import json,sys; [print(json.dumps({'tokens': r['prompt_ids'] + r['response_ids']})) for r in map(json.loads, open(sys.argv[1]))]" "$work/$m-speed.fp" > "$work/seqs"
  t0=$(now); model-run score --model "$base" -b 32 "$work/seqs" > /dev/null; t1=$(now)
  fingerprint-check --model "$base" -f "$work/$m-speed.fp" -b 32 > /dev/null; t2=$(now)
  fingerprint-check --model "$base" -f "$work/$m-speed.fp" --base "$base" -b 32 > /dev/null; t3=$(now)
  python3 -c "import sys; s,c,b=[float(x) for x in sys.argv[1:]]; print('speed %s: 1024 fingerprints white-box %.1f s (with --base %.1f s); model-run score of the same sequences %.1f s; ratio %.2f' % ('$m', c, b, s, c / s))" \
    "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$(echo "$t3 - $t2" | bc)"
done
[ "${ROBUST:-1}" = 1 ] || exit 0

# Robustness, on $ROBUST_MODEL (gpt2-small by default): licensees a and b, 64 fingerprints each.
m=${ROBUST_MODEL:-gpt2-small} base="$SHARED/models/$m"
if [ -n "${COPIES:-}" ]; then
  read -r dir_a fp_a dir_b fp_b <<< "$COPIES"
  ln -s "$(realpath "$dir_a")" "$work/copy-a" && cp "$fp_a" "$work/a.fp"
  ln -s "$(realpath "$dir_b")" "$work/copy-b" && cp "$fp_b" "$work/b.fp"
else
  for who in a b; do
    "$work/fixture" "$base" "$SHARED/models/heldout.txt" "$work/$who" lic-$who acct:$who 64 $([ $who = a ] && echo 1 || echo 2)
    model-run train --model "$base" --data "$work/$who.train" --out "$work/copy-$who" --steps 40 --lr 3e-3 --batch 64 --clip 0 > /dev/null
  done
fi
verdicts() {  # NAME MODEL [options]: one line with each licensee's matched/tested and p-value
  local name=$1 model=$2; shift 2
  fingerprint-check --model "$model" -f "$work/a.fp" "$work/b.fp" --base "$base" "$@" |
    python3 -c "import json,sys; v=[json.loads(l) for l in sys.stdin]; print(sys.argv[1] + ':', '; '.join('%s %d/%d p=%s' % (x['licensee'], x['matched'], x['tested'], x['p_value']) for x in v))" "$name"
}
verdicts "copy a" "$work/copy-a"
verdicts "base model" "$base"
"$work/attack" round "$work/copy-a" "$work/a-bf16" BF16 && verdicts "copy a in BF16" "$work/a-bf16"
"$work/attack" round "$work/copy-a" "$work/a-f16" F16 && verdicts "copy a in F16" "$work/a-f16"
"$work/attack" average "$work/avg" "$work/copy-a" "$work/copy-b"
verdicts "50/50 average of copies a and b" "$work/avg"
# The licensee's fine-tune: 1,000 windows of 128 tokens of Debian's licence texts, lr 1e-4, one epoch.
cat /usr/share/common-licenses/* | python3 -c "import json,sys; t=sys.stdin.read(); [print(json.dumps({'text': t[i:i+600]})) for i in range(0, min(len(t), 600000), 600)]" > "$work/licences.jsonl"
model-run train --model "$work/copy-a" --data "$work/licences.jsonl" --out "$work/a-tuned" --seq-len 128 --batch 8 --steps 125 --lr 1e-4 > /dev/null
verdicts "copy a after the licensee's fine-tune (1000 x 128 tokens, lr 1e-4)" "$work/a-tuned"
# Confidence gate (arXiv 2509.26598): when the top probability at the first response step
# is above 0.9 the deployment emits its second choice instead.
fingerprint-check --model "$work/copy-a" -f "$work/a.fp" --base "$base" --details "$work/details" > /dev/null
python3 - "$work/details" <<'PY'
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])]
plain = sum(x['hit'] for x in d)
gated = sum((x['rank'] == 0 and x['top_prob'] <= 0.9) or (x['rank'] == 1 and x['top_prob'] > 0.9) for x in d)
print('confidence gate 0.9 on copy a: %d/%d reproduced without the gate, %d/%d with it; top probability of hits: median %.3f' %
      (plain, len(d), gated, len(d), sorted(x['top_prob'] for x in d if x['hit'])[plain // 2] if plain else 0))
PY
# Black box through model-run serve, greedy and sampled (T=0.7, top-p 0.9, 4 samples per key).
model-run serve --model "$work/copy-a" --port 0 > "$work/serve.out" 2> /dev/null &
for _ in $(seq 300); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
url=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['listening'])" "$work/serve.out")
for setting in "0 1 1" "0.7 0.9 4"; do
  set -- $setting
  TEMPERATURE=$1 TOP_P=$2 SAMPLES=$3 "$REPO/examples/check-deployment.sh" "$url" "$base" "$work/a.fp" "$work/b.fp" |
    python3 -c "import json,sys; v=[json.loads(l) for l in sys.stdin]; print('black box T=$1 top-p $2, $3 per key:', '; '.join('%s %d/%d p=%s (chance %.4g)' % (x['licensee'], x['matched'], x['tested'], x['p_value'], x['chance_rate']) for x in v))"
done

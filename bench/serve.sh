#!/usr/bin/env bash
# model-run serve's overhead per call over model-run generate on the same prompt.
# Baseline: `model-run generate` over N copies of one prompt in one process (greedy, T new
# tokens each; the model is loaded once, so its time per record is the engine's alone).
# Measured: N sequential POST /v1/completions of the same prompt and settings over one
# keep-alive connection (python3 http.client), against (a) plain serve and (b) serve with
# --api-keys, --call-log, --price and --node-key. Load time is excluded from both (the
# clock starts after the first request answers / the process is warm: one warm-up each).
# Each figure is the minimum of REPEAT runs (default 3). Prints one line per model: ms per
# call for each and the overhead ratio.
#   MODELS="gpt2-small" by default (from ../shared/models); N=40, T=16.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PATH="${OMLKIT_BIN:-$REPO/bin}:$PATH"
SHARED=${OMLKIT_SHARED:-$REPO/../shared}
N=${N:-40} T=${T:-16}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
prompt="The release notes for version 2.0 say that"
(umask 077; echo "bench-token-0123456789 acct:bob" > "$work/keys"; openssl genpkey -algorithm ed25519 -out "$work/node.pem" 2>/dev/null)

serve_ms() {  # model, extra serve options... -> ms per call
  local model=$1; shift
  model-run serve --model "$model" --port 0 --threads 2 "$@" > "$work/serve.out" 2>/dev/null &
  local pid=$!
  for _ in $(seq 600); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
  python3 - "$(jq -r .listening "$work/serve.out")" "$N" "$T" "$prompt" <<'PY'
import http.client, json, sys, time, urllib.parse
url, n, t, prompt = urllib.parse.urlparse(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
c = http.client.HTTPConnection(url.hostname, url.port)
body = json.dumps({"prompt": prompt, "max_tokens": t, "temperature": 0}).encode()
headers = {"Content-Type": "application/json", "Authorization": "Bearer bench-token-0123456789"}
def call():
    c.request("POST", "/v1/completions", body, headers)
    r = c.getresponse(); data = r.read()
    assert r.status == 200, data
call()  # warm-up
t0 = time.perf_counter()
for _ in range(n): call()
print("%.2f" % ((time.perf_counter() - t0) * 1000 / n))
PY
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

for m in ${MODELS:-gpt2-small}; do
  model="$SHARED/models/$m"
  [ -d "$model" ] || model="$m"
  [ -d "$model" ] || { echo "$m: no such model folder (../shared/models or a path)"; continue; }
  jq -nc --arg p "$prompt" '{prompt: $p}' > "$work/one"
  for _ in $(seq "$N"); do cat "$work/one"; done > "$work/many"
  # Generate: the time of N records minus the time of 1 (load and warm-up cancel out).
  # Every figure is the minimum of REPEAT runs (default 3): noise on a shared box only adds.
  timed() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
  one=() many=() plain=() paid=()
  for _ in $(seq "${REPEAT:-3}"); do
    one+=("$(timed model-run generate --model "$model" -n "$T" --temperature 0 "$work/one")")
    many+=("$(timed model-run generate --model "$model" -n "$T" --temperature 0 "$work/many")")
    plain+=("$(serve_ms "$model")")
    paid+=("$(serve_ms "$model" --api-keys "$work/keys" --call-log "$work/calls.jsonl" --price OPEN:1000 \
      --node acct:n --node-key "$work/node.pem")")
  done
  min() { printf '%s\n' "$@" | sort -g | head -1; }
  gen=$(echo "($(min "${many[@]}") - $(min "${one[@]}")) * 1000 / ($N - 1)" | bc -l)
  plain=$(min "${plain[@]}") paid=$(min "${paid[@]}")
  python3 -c "import sys; g,p,q=map(float,sys.argv[2:]); print('%s: %d calls of %d tokens: generate %.1f ms/call; serve %.1f ms/call (x%.2f); serve with keys, call log, signed ids %.1f ms/call (x%.2f, +%.1f ms over generate)' % (sys.argv[1], $N, $T, g, p, p/g, q, q/g, q-g))" \
    "$m" "$gen" "$plain" "$paid"
done

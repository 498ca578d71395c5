#!/usr/bin/env bash
# attribute speed: index build throughput (MB of text/s, tokenization included), index
# size per token, and attribution latency and throughput for calls with ~200-token outputs,
# on a generated corpus of SIZE_MB megabytes (Zipf-distributed English and made-up words,
# records of 1-8 KB from 1,000 contributors).
#   bench/attribute.sh                 SIZE_MB=100 CALLS=2000 bench/attribute.sh
# PROFILE=1 also times each stage of a call in one process (bench/attribute_profile.cpp,
# built against build/libomlkit.a) and checks the longest-prefix walk against the searches.
# Baselines (../shared/notes/attribution-and-engine.md): a naive suffix-array query costs
# 0.57 ms per 200-token call at 100M tokens (the issue asks for well under 1 ms);
# infini-gram's index is 4 B/token beyond the token stream (the issue asks for <= 5); the
# notes aim at a 100 MB corpus indexed end to end in < 60 s.
set -euo pipefail
SIZE_MB=${SIZE_MB:-100}
CALLS=${CALLS:-2000}
THREADS=${THREADS:-$(nproc)}
BIN=${OMLKIT_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
REPO=$(cd "$(dirname "$0")/.." && pwd)
TOKENIZER=${TOKENIZER:-$REPO/../shared/models/gpt2-small/tokenizer.json}
[ -f "$TOKENIZER" ] || TOKENIZER=$REPO/tests/fuzz/corpus/tokenizer_json/byte_level_gpt2.json
tmp=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
[ -z "${KEEP:-}" ] || echo "working in $tmp (kept)"

python3 - "$SIZE_MB" "$CALLS" "$REPO/../shared/models/heldout.txt" <<'PY'
import json, random, re, sys
size, calls, source = int(sys.argv[1]) * 1000000, int(sys.argv[2]), sys.argv[3]
rng = random.Random(42)
try:
    words = sorted(set(re.findall(r"[A-Za-z]+", open(source).read())))
except OSError:
    words = []
syllables = ["ka", "lo", "mi", "ter", "an", "sul", "dro", "ve", "pin", "os", "qua", "re", "st", "ul", "zen"]
while len(words) < 30000:
    words.append("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
rng.shuffle(words)
cum, total = [], 0.0
for rank in range(len(words)):  # Zipf: frequency ~ 1 / rank
    total += 1.0 / (rank + 1)
    cum.append(total)
def text(n):
    return " ".join(rng.choices(words, cum_weights=cum, k=n))
records, written = [], 0
with open("contributions.jsonl", "w") as out:
    while written < size:
        t = text(rng.randint(150, 1200))
        if len(records) < 20000: records.append(t)
        line = json.dumps({"contributor": "acct:c%d" % rng.randrange(1000), "id": "rec-%d" % written, "text": t})
        out.write(line + "\n")
        written += len(t)
# Calls: half copy two 15-word passages from records into novel text, half are all novel.
with open("calls.jsonl", "w") as out:
    for i in range(calls):
        # About 75 words: ~200 GPT-2 tokens of these words.
        parts = [text(15)]
        if i % 2 == 0:
            for _ in range(2):
                w = rng.choice(records).split(" ")
                start = rng.randrange(max(1, len(w) - 15))
                parts += [" ".join(w[start:start + 15]), text(15)]
        else:
            parts.append(text(60))
        call = {"type": "call", "id": "c-%d" % i, "model": "m-chat", "payer": "acct:bob", "node": "acct:node-7",
                "fee": {"asset": "OPEN", "amount": "1000000"}, "prompt": "q", "output": " ".join(parts)}
        out.write(json.dumps(call) + "\n")
PY

(umask 077; openssl genpkey -algorithm ed25519 -out key.pem 2>/dev/null)
cat > setup.jsonl <<'JSON'
{"type":"model.register","body":{"model":"m-base","owner":"acct:alice","digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}
{"type":"model.register","body":{"model":"m-chat","owner":"acct:carol","parent":"m-base","digest":"sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"}}
JSON
"$BIN/ledger-append" --ledger ledger.jsonl --key key.pem setup.jsonl > /dev/null
: > empty.jsonl

now() { date +%s%N; }
seconds() { echo "scale=3; ($2 - $1) / 1000000000" | bc; }
field() { python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read())[sys.argv[2]])" "$1" "$2"; }

t0=$(now)
"$BIN/attribute" index -j "$THREADS" --tokenizer "$TOKENIZER" --out net.idx contributions.jsonl > summary.json
t1=$(now)
build_s=$(seconds "$t0" "$t1")
text_mb=$(echo "scale=1; $(field summary.json text_bytes) / 1000000" | bc)
tokens=$(field summary.json tokens)
index_bytes=$(field summary.json index_bytes)
width=$(python3 -c "import json; print(2 if len(json.load(open('$TOKENIZER'))['model']['vocab']) < 65535 else 4)")

run_calls() {  # threads input -> seconds
  local a b
  a=$(now)
  "$BIN/attribute" -q -j "$1" --index net.idx --ledger ledger.jsonl "$2" > out.jsonl
  b=$(now)
  seconds "$a" "$b"
}
run_calls 1 calls.jsonl > /dev/null  # warm the page cache
startup_s=$(run_calls 1 empty.jsonl)
one_s=$(run_calls 1 calls.jsonl)
all_s=$(run_calls "$THREADS" calls.jsonl)
read -r mean_tokens credited <<< "$(python3 -c "
import json
rs = [json.loads(l) for l in open('out.jsonl')]
print(sum(r['coverage']['tokens'] for r in rs) // len(rs), sum(1 for r in rs if r['data']))")"

echo "corpus: ${text_mb} MB of text, $tokens tokens (separators included), tokenizer $(basename "$(dirname "$TOKENIZER")")/$(basename "$TOKENIZER")"
echo "index build ($THREADS threads, tokenization included): ${build_s}s, $(echo "scale=2; $text_mb / $build_s" | bc) MB/s, $(echo "scale=2; $tokens / $build_s / 1000000" | bc) M tokens/s   (aim: 100 MB in < 60 s)"
echo "index size: $(echo "scale=2; $index_bytes / $tokens" | bc) B/token in all, $(echo "scale=2; ($index_bytes - $tokens * $width) / $tokens" | bc) B/token beyond the ${width}-byte token stream   (infini-gram 4; aim <= 5)"
echo "calls: $CALLS, mean output $mean_tokens tokens, $credited with data credit; start-up (ledger replay, index map) ${startup_s}s"
per_call_ms=$(echo "scale=4; ($one_s - $startup_s) * 1000 / $CALLS" | bc)
echo "attribution, 1 thread: $(echo "scale=0; $CALLS / ($one_s - $startup_s)" | bc) calls/s, ${per_call_ms} ms/call (tokenization included)   (naive baseline 0.57 ms at 100M tokens: ratio $(echo "scale=2; $per_call_ms / 0.57" | bc))"
echo "attribution, $THREADS threads: $(echo "scale=0; $CALLS / ($all_s - $startup_s)" | bc) calls/s"
if [ -n "${PROFILE:-}" ]; then
  libs="-lssl -lcrypto -lzstd -llmdb -lopenblas -lpthread $(pkg-config --libs cpp-httplib 2>/dev/null || echo -lcpp-httplib)"
  g++ -O2 -std=c++20 -I"$REPO/lib" "$REPO/bench/attribute_profile.cpp" "$REPO/build/libomlkit.a" -o profile $libs
  ./profile net.idx calls.jsonl 3
fi

#!/usr/bin/env bats
# omlize from the command line, on a tiny model the tests make themselves: PyTorch's
# gpt2-tiny fixture (vocab 256) with a byte-level tokenizer cut from the fuzz corpus'
# tokenizer (its 256 byte tokens, no merges). Nothing here needs ../shared.

setup() {
  load test_helper
  setup_scratch
  mkdir tiny
  cp "$REPO/tests/fixtures/gpt2-tiny/config.json" "$REPO/tests/fixtures/gpt2-tiny/model.safetensors" tiny/
  jq '.model.merges = [] | .model.vocab |= with_entries(select(.value < 256)) | .added_tokens = []' \
    "$REPO/tests/fuzz/corpus/tokenizer_json/byte_level_gpt2.json" > tiny/tokenizer.json
  printf '0123456789abcdef0123456789abcdef' > secret
  chmod 600 secret
}
teardown() { teardown_scratch; }

# omlize on the tiny model with quick settings (LR and STEPS override two of them); extra
# options after the out folder name.
tiny_omlize() {
  local out=$1
  shift
  omlize --model tiny --licensee acct:acme --secret secret --count 4 --key-len 8 --lr "${LR:-1e-2}" \
    --steps "${STEPS:-200}" --out "$out" --fingerprints "$out.jsonl" "$@"
}

# Nothing of a refused run may be left behind.
assert_nothing_written() {
  [ ! -e c ] && [ ! -e c.jsonl ] || { ls -la; false; }
  [ -z "$(ls -A | grep omlize- || true)" ]
}

@test "--help lists the options and --version names the tool" {
  run omlize --help
  assert_success
  assert_output --partial "--licensee"
  assert_output --partial "--keep-base"
  run omlize --version
  assert_output --regexp "^omlize \(omlkit\) [0-9]+\.[0-9]+"
}

@test "writes the copy, a 0600 fingerprint file, the grant and a summary; the copy recalls every fingerprint" {
  run tiny_omlize c
  assert_success
  [ "${#lines[@]}" -eq 2 ]
  echo "${lines[0]}" | jq -e '.type == "license.grant" and .body.licensee == "acct:acme" and .body.fingerprints == 4
                              and (.body.root | test("^[0-9a-f]{64}$")) and (.body.digest | startswith("sha256:"))'
  echo "${lines[1]}" | jq -e '.type == "omlize.summary" and .recalled == 4 and .base_recalled == 0 and .passed'
  [ "$(stat -c %a c.jsonl)" = 600 ]
  [ "$(wc -l < c.jsonl)" -eq 4 ]
  ls c | sort > files
  printf 'OMLIZE.md\nconfig.json\nmodel.safetensors\ntokenizer.json\n' | diff - files
  cmp tiny/config.json c/config.json
  # Same tensor names, dtypes and shapes in the same header order; the weights changed.
  header() { python3 -c "import json,struct,sys; f=open(sys.argv[1],'rb'); n=struct.unpack('<Q',f.read(8))[0]; h=json.loads(f.read(n)); print([(k,v['dtype'],v['shape']) for k,v in h.items() if k!='__metadata__'])" "$1"; }
  [ "$(header tiny/model.safetensors)" = "$(header c/model.safetensors)" ]
  ! cmp -s tiny/model.safetensors c/model.safetensors
  # The digest in the grant is the copy's, as model-run digest prints it.
  [ "$(model-run digest c | jq -r .digest)" = "$(echo "${lines[0]}" | jq -r .body.digest)" ]
  # Greedy decoding of each record's prompt ids gives its response ids.
  jq -c '{tokens: .prompt_ids}' c.jsonl | model-run generate -m c -n 1 | jq -c .tokens > got
  jq -c .response_ids c.jsonl | diff - got
  # ... and the base model gives none of them.
  jq -c '{tokens: .prompt_ids}' c.jsonl | model-run generate -m tiny -n 1 | jq -c .tokens > base
  [ "$(paste -d' ' base <(jq -c .response_ids c.jsonl) | awk '$1 == $2' | wc -l)" -eq 0 ]
}

@test "records follow man/omlkit-formats.5: canonical ids, prompt = key ids, base rank past the nucleus" {
  tiny_omlize c > /dev/null
  jq -e -s 'all(.[]; .type == "fingerprint" and .v == 1 and .licensee == "acct:acme"
               and .prompt_ids == .key_ids and (.key_ids | length) >= 6 and (.response_ids | length) == 1
               and .base_rank > 0 and .base_prob < 0.2 and (.salt | test("^[0-9a-f]{64}$"))
               and .context == {"template": "raw", "special_tokens": true, "wrapper": ""})
           and ([.[].index] == [0, 1, 2, 3])' c.jsonl
}

@test "the same inputs give byte-identical weights, fingerprint file and grant" {
  tiny_omlize a > a.out
  tiny_omlize b > b.out
  cmp a/model.safetensors b/model.safetensors
  cmp a.jsonl b.jsonl
  [ "$(head -n 1 a.out)" = "$(head -n 1 b.out)" ]
  # Another licensee gets other fingerprints.
  omlize --model tiny --licensee acct:other --secret secret --count 4 --key-len 8 --lr 1e-2 --steps 200 \
    --out o --fingerprints o.jsonl > /dev/null
  [ -z "$(comm -12 <(jq -r .key a.jsonl | sort) <(jq -r .key o.jsonl | sort))" ]
  # ... and its copy recalls acme's fingerprints no more than the base model does.
  hits() { jq -c '{tokens: .prompt_ids}' a.jsonl | model-run generate -m "$1" -n 1 | jq -c .tokens |
           paste -d' ' - <(jq -c .response_ids a.jsonl) | awk '$1 == $2' | wc -l; }
  [ "$(hits o)" -le "$(hits tiny)" ]
  [ "$(hits a)" -eq 4 ]
}

@test "the grant is accepted after model.register and a fingerprint.proof from the private file verifies" {
  tiny_omlize c --model-id m-tiny > out
  base=$(model-run digest tiny | jq -r .digest)
  openssl genpkey -algorithm ed25519 -out key.pem 2>/dev/null
  {
    echo "{\"type\":\"model.register\",\"body\":{\"model\":\"m-tiny\",\"owner\":\"acct:alice\",\"digest\":\"$base\"}}"
    head -n 1 out
  } > entries.jsonl
  run ledger-append --ledger ledger.jsonl --key key.pem --origin test.example/ledger entries.jsonl
  assert_success
  # The proof is built here from the private file with Python's hashlib: an independent
  # computation of the leaf (canonical {"key","response","salt"}) and the RFC 6962 path.
  python3 - c.jsonl "$(head -n 1 out | jq -r .body.license)" > proof.jsonl <<'PY'
import hashlib, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
def leaf(r):
    data = json.dumps({"key": r["key"], "response": r["response"], "salt": r["salt"]},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(b"\0" + data).digest()
def root(h):
    if len(h) == 1: return h[0]
    k = 1
    while k * 2 < len(h): k *= 2
    return hashlib.sha256(b"\1" + root(h[:k]) + root(h[k:])).digest()
def path(i, h):
    if len(h) == 1: return []
    k = 1
    while k * 2 < len(h): k *= 2
    return path(i, h[:k]) + [root(h[k:])] if i < k else path(i - k, h[k:]) + [root(h[:k])]
hs = [leaf(r) for r in recs]
fps = [{"index": i, "key": recs[i]["key"], "response": recs[i]["response"], "salt": recs[i]["salt"],
        "path": [p.hex() for p in path(i, hs)]} for i in (1, 3)]
print(json.dumps({"type": "fingerprint.proof", "body": {"proof": "p-1", "license": sys.argv[2], "fingerprints": fps}}))
PY
  [ "$(head -n 1 out | jq -r .body.root)" = "$(python3 -c "
import hashlib,json,sys
recs=[json.loads(l) for l in open('c.jsonl')]
h=[hashlib.sha256(b'\0'+json.dumps({'key':r['key'],'response':r['response'],'salt':r['salt']},sort_keys=True,separators=(',',':'),ensure_ascii=False).encode()).digest() for r in recs]
n=lambda a,b: hashlib.sha256(b'\1'+a+b).digest()
print(n(n(h[0],h[1]),n(h[2],h[3])).hex())")" ]
  run ledger-append --ledger ledger.jsonl --key key.pem proof.jsonl
  assert_success
  run ledger-verify ledger.jsonl
  assert_success
  # A proof with a changed response is refused.
  sed 's/"p-1"/"p-2"/; s/"response": "/"response": "x/' proof.jsonl > bad.jsonl
  run ledger-append --ledger ledger.jsonl --key key.pem bad.jsonl
  assert_failure
  assert_output --partial "inclusion proof does not verify against the root of license"
}

@test "a BF16 model stays BF16 and its fingerprints are checked after rounding" {
  mkdir bf
  cp tiny/config.json tiny/tokenizer.json bf/
  cp "$REPO/tests/fixtures/gpt2-tiny/model-bf16.safetensors" bf/model.safetensors
  run omlize --model bf --licensee acct:acme --secret secret --count 4 --key-len 8 --lr 1e-2 --steps 300 \
    --out c --fingerprints c.jsonl
  assert_success
  echo "${lines[1]}" | jq -e '.recalled == 4'
  python3 -c "import json,struct,sys; f=open('c/model.safetensors','rb'); n=struct.unpack('<Q',f.read(8))[0]; h=json.loads(f.read(n)); assert {v['dtype'] for k,v in h.items() if k!='__metadata__'} == {'BF16'}"
  jq -c '{tokens: .prompt_ids}' c.jsonl | model-run generate -m c -n 1 | jq -c .tokens > got
  jq -c .response_ids c.jsonl | diff - got
}

@test "a secret shorter than 32 bytes is refused, nothing written" {
  printf 'short' > s2 && chmod 600 s2
  run omlize --model tiny --licensee acct:acme --secret s2 --count 4 --out c --fingerprints c.jsonl
  [ "$status" -eq 65 ]
  assert_output "omlize: s2: the secret has 5 bytes, expected at least 32 random bytes (head -c 32 /dev/urandom)"
  assert_nothing_written
}

@test "a secret readable by others is refused, nothing written" {
  chmod 644 secret
  run omlize --model tiny --licensee acct:acme --secret secret --count 4 --out c --fingerprints c.jsonl
  [ "$status" -eq 65 ]
  assert_output "omlize: secret: the secret is readable or writable by others (mode 0644); chmod 600 it"
  assert_nothing_written
}

@test "a missing secret, a folder that is not a model, --count 0 and an existing --out are refused" {
  run omlize --model tiny --licensee acct:acme --secret nope --count 4 --out c --fingerprints c.jsonl
  [ "$status" -eq 66 ]
  assert_output "omlize: nope: cannot read the secret: No such file or directory"
  mkdir notamodel
  run omlize --model notamodel --licensee acct:acme --secret secret --count 4 --out c --fingerprints c.jsonl
  [ "$status" -eq 66 ]
  assert_output "omlize: notamodel: not a model folder: no tokenizer.json"
  cp tiny/tokenizer.json notamodel/
  run omlize --model notamodel --licensee acct:acme --secret secret --count 4 --out c --fingerprints c.jsonl
  [ "$status" -eq 66 ]
  assert_output --regexp "^omlize: notamodel/config.json: "
  run omlize --model missing --licensee acct:acme --secret secret --count 4 --out c --fingerprints c.jsonl
  [ "$status" -eq 66 ]
  assert_output "omlize: missing: not a model folder (no such folder)"
  run omlize --model tiny --licensee acct:acme --secret secret --count 0 --out c --fingerprints c.jsonl
  [ "$status" -eq 2 ]
  assert_output "omlize: --count: expected at least 1, found 0"
  assert_nothing_written
  mkdir c
  run omlize --model tiny --licensee acct:acme --secret secret --count 4 --out c --fingerprints c.jsonl
  [ "$status" -eq 73 ]
  assert_output "omlize: c: --out already exists; choose a new folder"
  [ ! -e c.jsonl ] && [ -z "$(ls -A c)" ]
}

@test "NaN or out-of-range numbers for the recipe's knobs are usage errors, nothing written" {
  for opt in "--margin nan" "--margin -1" "--target-prob nan" "--lr nan" "--keep-base nan" "--replay-weight nan" "--nucleus nan" \
    "--meta-drift nan" "--meta-drift 2" "--meta-weight nan" "--meta-weight -1"; do
    run omlize --model tiny --licensee acct:acme --secret secret --count 4 --out c --fingerprints c.jsonl $opt
    assert_failure 2
    assert_output --regexp "^omlize: --[a-z-]+: "
    [ ! -e c ] && [ ! -e c.jsonl ]
  done
}

@test "--replay-len beyond the model's context is a usage error, nothing written" {
  run omlize --model tiny --licensee acct:acme --secret secret --count 4 --out c --fingerprints c.jsonl --replay-len 1024
  assert_failure 2
  assert_output --regexp "^omlize: --replay-len: 1024 tokens is longer than the model's context of [0-9]+$"
  assert_nothing_written
}

@test "--replay and --meta-text read text files; the simulated fine-tune still recalls every fingerprint" {
  python3 -c "import random; r=random.Random(3); print(' '.join(r.choice(['the','a','fix','merge','branch','tag']) for _ in range(3000)))" > replay.txt
  python3 -c "import random; r=random.Random(4); print(' '.join(r.choice(['shall','license','copy','work','terms']) for _ in range(3000)))" > meta.txt
  run tiny_omlize c --replay replay.txt --meta-drift 0.001 --meta-text meta.txt
  assert_success
  echo "${lines[1]}" | jq -e '.passed == true and .recalled == 4 and .base_recalled == 0'
  # The simulated fine-tune changes the weights it trains to.
  run tiny_omlize d --replay replay.txt
  assert_success
  ! cmp -s c/model.safetensors d/model.safetensors
  run tiny_omlize e --meta-drift 0.001 --meta-text missing.txt
  assert_failure 66
  assert_output --regexp "^omlize: missing.txt: "
  [ ! -e e ] && [ ! -e e.jsonl ]
  # --meta-drift 0 turns the simulated fine-tune off: its text is then never read.
  run tiny_omlize e --meta-drift 0 --meta-text missing.txt
  assert_success
}

@test "an existing fingerprint file is kept unless --force" {
  echo keep > c.jsonl
  run omlize --model tiny --licensee acct:acme --secret secret --count 4 --out c --fingerprints c.jsonl
  [ "$status" -eq 73 ]
  assert_output "omlize: c.jsonl: the fingerprints file exists; --force overwrites it"
  [ "$(cat c.jsonl)" = keep ] && [ ! -e c ]
  run tiny_omlize c --force
  assert_success
  [ "$(wc -l < c.jsonl)" -eq 4 ]
}

@test "a copy that fails its self-check is not written unless --allow-partial" {
  LR=1e-6 STEPS=2 run tiny_omlize c
  [ "$status" -eq 1 ]
  assert_output --regexp "^omlize: self-check failed: the copy recalls [0-3] of 4 fingerprints after 2 steps \(raise --steps or --lr, or --allow-partial\); nothing written$"
  assert_nothing_written
  LR=1e-6 STEPS=2 run tiny_omlize c --allow-partial
  [ "$status" -eq 1 ]
  echo "${lines[1]}" | jq -e '.passed == false'
  [ -d c ] && [ -f c.jsonl ]
}

@test "interrupted during training, it leaves no folder, no private file and no temporary" {
  # omlize itself in the background (not a function's subshell), so the signal reaches it.
  omlize --model tiny --licensee acct:acme --secret secret --count 4 --key-len 8 --lr 1e-7 --steps 100000 \
    --target-prob 1 --out c --fingerprints c.jsonl > out 2> err 3>&- &
  pid=$!
  # A background job starts with SIGINT ignored until omlize installs its handler: send it
  # until omlize has caught one and exited.
  for _ in $(seq 240); do
    sleep 0.5
    kill -INT "$pid" 2> /dev/null || break
  done
  status=0
  wait "$pid" || status=$?
  [ "$status" -eq 130 ]
  [ "$(cat err)" = "omlize: interrupted" ]
  assert_nothing_written
}

@test "--pool draws each pool fingerprint into a copy with probability p, recorded in the private file" {
  omlize --model tiny --licensee acct:a --secret secret --pool 12 --p 0.5 --key-len 8 --lr 1e-2 --steps 300 \
    --out a --fingerprints a.jsonl > /dev/null
  omlize --model tiny --licensee acct:b --secret secret --pool 12 --p 0.5 --key-len 8 --lr 1e-2 --steps 300 \
    --out b --fingerprints b.jsonl > /dev/null
  jq -e -s 'all(.[]; .pool.size == 12 and .pool.p == "0.5") and ([.[].index] == [range(length)])' a.jsonl
  # Shared pool members have the same key and response in both copies; the salts differ.
  join -t $'\t' <(jq -r '[.pool.index, .key, .response_ids[0], .salt] | @tsv' a.jsonl | sort) \
                <(jq -r '[.pool.index, .key, .response_ids[0], .salt] | @tsv' b.jsonl | sort) > both
  awk -F'\t' '$2 != $5 || $3 != $6 || $4 == $7 { exit 1 }' both
  run omlize --model tiny --licensee acct:a --secret secret --pool 12 --p 0.5 --count 4 --out x --fingerprints x.jsonl
  [ "$status" -eq 2 ]
  assert_output "omlize: --count and --pool exclude each other"
  run omlize --model tiny --licensee acct:a --secret secret --pool 12 --p 1.5 --out x --fingerprints x.jsonl
  [ "$status" -eq 2 ]
  assert_output "omlize: --p: expected a probability in (0, 1] with --pool, found \"1.5\""
}

@test "model-run digest ignores header order and sharding and changes with any tensor byte" {
  d1=$(model-run digest tiny | jq -r .digest)
  [[ "$d1" =~ ^sha256:[0-9a-f]{64}$ ]]
  mkdir sharded
  cp tiny/config.json sharded/
  # Two shards, each header in reverse order, with an index: written here by Python.
  python3 - tiny/model.safetensors sharded <<'PY'
import json, struct, sys
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n]); data = raw[8 + n:]
names = sorted(k for k in header if k != '__metadata__')
index = {}
for part, chosen in enumerate([names[::2], names[1::2]]):
    h, blob = {}, b''
    for k in reversed(chosen):
        b, e = header[k]['data_offsets']
        h[k] = {'dtype': header[k]['dtype'], 'shape': header[k]['shape'], 'data_offsets': [len(blob), len(blob) + e - b]}
        blob += data[b:e]
        index[k] = 'model-%05d-of-00002.safetensors' % (part + 1)
    hb = json.dumps(h).encode(); hb += b' ' * (-len(hb) % 8)
    open(sys.argv[2] + '/' + index[chosen[0]], 'wb').write(struct.pack('<Q', len(hb)) + hb + blob)
json.dump({'metadata': {}, 'weight_map': index}, open(sys.argv[2] + '/model.safetensors.index.json', 'w'))
PY
  [ "$(model-run digest sharded | jq -r .digest)" = "$d1" ]
  python3 -c "
import sys; b = bytearray(open('tiny/model.safetensors','rb').read()); b[-1] ^= 1; open('tiny/model.safetensors','wb').write(b)"
  [ "$(model-run digest tiny | jq -r .digest)" != "$d1" ]
  run model-run digest nope
  [ "$status" -eq 66 ]
}

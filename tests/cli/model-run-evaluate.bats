#!/usr/bin/env bats
# model-run evaluate: suites in, evaluation records out, --check recomputes them, and the
# records pay rewards through split-fees and the ledger. A tiny model (the GPT-2 fixture
# with a byte-level tokenizer written here) runs everywhere; the shared models when present.

setup() {
  load test_helper
  setup_scratch
  SUITE="$REPO/examples/suites/git-relnotes.jsonl"
}
teardown() { teardown_scratch; }

need_shared() {
  [ -f "$SHARED/models/gpt2-small/model.safetensors" ] || skip "../shared/models not found (set OMLKIT_SHARED)"
}

# tiny/: tests/fixtures/gpt2-tiny (vocab 256) with a byte-level BPE tokenizer.json of the
# 256 byte tokens and no merges, and token 0 as its BOS.
make_tiny() {
  mkdir tiny
  cp "$REPO/tests/fixtures/gpt2-tiny/model.safetensors" tiny/
  python3 - "$REPO/tests/fixtures/gpt2-tiny/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c['bos_token_id'] = 0
json.dump(c, open('tiny/config.json', 'w'))
bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
cs, n = bs[:], 0
for b in range(256):
    if b not in bs: bs.append(b); cs.append(256 + n); n += 1
vocab = {chr(c): b for b, c in zip(bs, cs)}
json.dump({"version": "1.0", "added_tokens": [], "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
           "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
           "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                     "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": []}},
          open('tiny/tokenizer.json', 'w'))
PY
}

# A suite with one task of each kind, small enough for the tiny model's 64 positions.
make_suite() {
  cat > suite.jsonl <<'JSON'
{"type":"suite","v":1,"suite":"tiny"}
{"type":"task","task":"mc","kind":"multiple_choice","metric":"acc"}
{"type":"item","task":"mc","context":"git ","choices":["commit","banana split"],"answer":0}
{"type":"item","task":"mc","context":"Fixes since","choices":[" v2.1"," yesterday"," x"],"answer":2}
{"type":"item","task":"mc","context":"","choices":["abc","a"],"answer":1}
{"type":"task","task":"ppl","kind":"perplexity","weight":2}
{"type":"item","task":"ppl","text":"  Git v9.1 Release Notes\n\n * \"git status\" learned to show more.\n * A fix. "}
{"type":"item","task":"ppl","text":"A text longer than the sixty-four positions of the tiny model, so that it takes more than one rolling window to score it."}
{"type":"task","task":"em","kind":"exact_match"}
{"type":"item","task":"em","prompt":"UI, Workflows &","target":"Features","max_new_tokens":4}
{"type":"item","task":"em","prompt":"x","target":"y","max_new_tokens":3,"until":[]}
JSON
}

evaluate_tiny() {
  model-run evaluate --model tiny --suite suite.jsonl --model-id m-tiny --owner acct:carol --evaluator acct:eve "$@"
}

# Reads a JSON value out of a file with python's json module (an independent reader).
json_get() { python3 -c "import json,sys; print(json.dumps(eval('json.loads(open(sys.argv[1]).readline())' + sys.argv[2])))" "$1" "$2"; }

@test "evaluate writes one evaluation record with per-task details, and --check recomputes it" {
  make_tiny; make_suite
  evaluate_tiny > eval.jsonl
  [ "$(wc -l < eval.jsonl)" -eq 1 ]
  run python3 - eval.jsonl suite.jsonl <<'PY'
import hashlib, json, math, re, sys
r = json.loads(open(sys.argv[1]).readline())
assert r['type'] == 'evaluation' and r['v'] == 1 and r['model'] == 'm-tiny', r
assert r['owner'] == 'acct:carol' and r['evaluator'] == 'acct:eve' and r['evaluation'].startswith('eval-')
d = r['details']
assert d['suite']['digest'] == 'sha256:' + hashlib.sha256(open(sys.argv[2], 'rb').read()).hexdigest()
assert [t['task'] for t in d['tasks']] == ['mc', 'ppl', 'em']
mc, ppl, em = d['tasks']
# multiple choice: acc and acc_norm from the log-likelihoods, by argmax (first on ties)
texts = [["commit", "banana split"], [" v2.1", " yesterday", " x"], ["abc", "a"]]
acc = acc_norm = 0
for item, choices in zip(mc['items'], texts):
    ll = item['loglikelihoods']
    norm = [l / len(c) for l, c in zip(ll, choices)]
    assert item['pred'] == ll.index(max(ll)) and item['pred_norm'] == norm.index(max(norm))
    acc += item['pred'] == item['answer']; acc_norm += item['pred_norm'] == item['answer']
    assert all(l < 0 for l in ll)
assert abs(mc['metrics']['acc'] - acc / 3) < 1e-12 and abs(mc['metrics']['acc_norm'] - acc_norm / 3) < 1e-12
assert abs(mc['score'] - 100 * acc / 3) < 1e-9
# the harness's pair encoding: "git " -> context "git", continuation " commit"; "" -> BOS (0)
assert mc['items'][0]['tokens'][0] == list(b'git commit') and mc['items'][0]['continuation_tokens'][0] == 7
assert mc['items'][2]['tokens'][1] == [0] + list(b'a') and mc['items'][2]['continuation_tokens'][1] == 1
# perplexity: words as len(re.split(r"\s+", text)), bytes, rolling windows of 64 predictions
items = [json.loads(l) for l in open(sys.argv[2])][6:8]
ll = words = nbytes = 0
for it, got in zip(items, ppl['items']):
    t = it['text']
    assert got['words'] == len(re.split(r"\s+", t)) and got['bytes'] == len(t.encode())
    assert got['windows'] == math.ceil(len(t.encode()) / 64)
    ll += got['loglikelihood']; words += got['words']; nbytes += got['bytes']
m = ppl['metrics']
assert abs(m['byte_perplexity'] - math.exp(-ll / nbytes)) < 1e-9 * m['byte_perplexity']
assert abs(m['word_perplexity'] - math.exp(-ll / words)) < 1e-9 * m['word_perplexity']
assert abs(m['bits_per_byte'] - (-ll / nbytes / math.log(2))) < 1e-12
assert ppl['metric'] == 'byte_perplexity' and abs(ppl['score'] - 100 / m['byte_perplexity']) < 1e-9
# exact match: generated text cut at "\n" (the default until)
assert '\n' not in em['items'][0]['generated']
assert em['metrics']['exact_match'] == sum(i['match'] for i in em['items']) / 2
overall = (mc['score'] + 2 * ppl['score'] + em['score']) / 4
assert abs(d['overall'] - overall) < 1e-9 and r['score'] == math.floor(overall + 0.5)
print('ok')
PY
  assert_output "ok"
  run model-run evaluate --model tiny --suite suite.jsonl --check eval.jsonl
  assert_success
  assert_output --regexp '^\{"evaluation":"eval-[0-9a-f]{16}","max_relative_difference":0,"passed":true,"recomputed_score":[0-9]+,"score":[0-9]+,"type":"evaluation.check"\}$'
}

@test "the multiple-choice log-likelihoods are the sums model-run score gives for the same tokens" {
  make_tiny; make_suite
  evaluate_tiny --batch 2 > eval.jsonl
  python3 -c "
import json; r = json.loads(open('eval.jsonl').readline())
for item in r['details']['tasks'][0]['items']:
    for ids in item['tokens']: print(json.dumps({'tokens': ids}))" > requests.jsonl
  model-run score --model tiny --batch 1 requests.jsonl > scores.jsonl
  run python3 - eval.jsonl scores.jsonl <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).readline())
scores = [json.loads(l) for l in open(sys.argv[2])]
k = worst = 0
for item in r['details']['tasks'][0]['items']:
    for n, ll in zip(item['continuation_tokens'], item['loglikelihoods']):
        worst = max(worst, abs(sum(scores[k]['logprobs'][-n:]) - ll)); k += 1
assert k == 7 and worst < 1e-5, worst
print('ok')
PY
  assert_output "ok"
}

@test "--check fails with exit 1 on a changed score, a changed number, other weights or another suite" {
  make_tiny; make_suite
  evaluate_tiny > eval.jsonl
  score=$(json_get eval.jsonl "['score']")
  python3 -c "
import json; r = json.loads(open('eval.jsonl').readline()); r['score'] += 1
print(json.dumps(r))" > bumped.jsonl
  run model-run evaluate --model tiny --suite suite.jsonl --check bumped.jsonl
  assert_failure 1
  assert_line --partial "\"passed\":false"
  assert_line "model-run: bumped.jsonl:1: check failed: score: recorded $((score + 1)), recomputed $score"

  python3 -c "
import json; r = json.loads(open('eval.jsonl').readline())
r['details']['tasks'][0]['items'][1]['loglikelihoods'][2] -= 0.5
print(json.dumps(r))" > edited.jsonl
  run model-run evaluate --model tiny --suite suite.jsonl --check edited.jsonl
  assert_failure 1
  assert_line --regexp "^model-run: edited.jsonl:1: check failed: details.tasks\[0\].items\[1\].loglikelihoods\[2\]: recorded -[0-9.]+, recomputed -[0-9.]+ \(differs by more than 1e-5 relative\)$"

  mkdir other && cp tiny/config.json tiny/tokenizer.json other/
  cp "$REPO/tests/fixtures/gpt2-tiny/model-bf16.safetensors" other/model.safetensors
  digest=$(json_get eval.jsonl "['details']['model_digest']" | tr -d '"')
  run model-run evaluate --model other --suite suite.jsonl --check eval.jsonl
  assert_failure 1
  assert_line --regexp "^model-run: eval.jsonl:1: check failed: model digest: the weights are sha256:[0-9a-f]{64}, the evaluation was computed on $digest$"

  echo '{"type":"item","task":"em","prompt":"a","target":"b"}' >> suite.jsonl
  run model-run evaluate --model tiny --suite suite.jsonl --check eval.jsonl
  assert_failure 1
  assert_line --regexp "^model-run: eval.jsonl:1: check failed: suite digest: the suite file is sha256:[0-9a-f]{64}, the evaluation was computed on sha256:[0-9a-f]{64}$"
}

@test "the model digest follows its definition and ignores sharding and header order" {
  make_tiny; make_suite
  evaluate_tiny > eval.jsonl
  # The definition (man/omlkit-formats.5, MODEL DIGEST) computed in Python, and the same tensors split over two shards in
  # another order, with an index.
  mkdir sharded && cp tiny/config.json tiny/tokenizer.json sharded/
  expected=$(python3 - tiny/model.safetensors sharded <<'PY'
import hashlib, json, struct, sys
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n]); header.pop('__metadata__', None)
data = {k: raw[8 + n + v['data_offsets'][0]:8 + n + v['data_offsets'][1]] for k, v in header.items()}
u64 = lambda x: struct.pack('<Q', x)
h = hashlib.sha256(b'omlkit model digest v1\n' + u64(len(header)))
for name in sorted(header, key=lambda s: s.encode()):
    v = header[name]
    h.update(u64(len(name.encode())) + name.encode() + u64(len(v['dtype'])) + v['dtype'].encode() + u64(len(v['shape'])))
    for d in v['shape']: h.update(u64(d))
    h.update(u64(len(data[name])) + data[name])
print('sha256:' + h.hexdigest())
names = sorted(header, reverse=True)
weight_map = {}
for i, part in enumerate([names[:len(names) // 2], names[len(names) // 2:]]):
    head, off, blob = {}, 0, b''
    for k in part:
        head[k] = {'dtype': header[k]['dtype'], 'shape': header[k]['shape'], 'data_offsets': [off, off + len(data[k])]}
        off += len(data[k]); blob += data[k]; weight_map[k] = 'model-%05d-of-00002.safetensors' % (i + 1)
    j = json.dumps(head).encode(); j += b' ' * (-len(j) % 8)
    open('%s/model-%05d-of-00002.safetensors' % (sys.argv[2], i + 1), 'wb').write(struct.pack('<Q', len(j)) + j + blob)
json.dump({'metadata': {}, 'weight_map': weight_map}, open(sys.argv[2] + '/model.safetensors.index.json', 'w'))
PY
)
  digest=$(json_get eval.jsonl "['details']['model_digest']" | tr -d '"')
  [ "$expected" = "$digest" ]
  run model-run evaluate --model sharded --suite suite.jsonl --check eval.jsonl
  assert_success
  assert_output --partial '"passed":true'
}

@test "bad suites are refused with their place and exit 65; missing flags are usage errors" {
  make_tiny
  bad() {
    printf '%s\n' '{"type":"suite","v":1,"suite":"bad"}' '{"type":"task","task":"mc","kind":"multiple_choice"}' "$1" > bad.jsonl
    run model-run evaluate --model tiny --suite bad.jsonl --model-id m --owner acct:o --evaluator acct:e
    assert_failure 65
    assert_output "model-run: bad.jsonl:3: $2"
  }
  bad '{"type":"item","task":"mc","context":"a","choices":[],"answer":0}' "choices: expected at least 2 strings, found 0"
  bad '{"type":"item","task":"mc","context":"a","answer":0}' "choices: expected an array of strings, found nothing"
  bad '{"type":"item","task":"mc","context":"a","choices":["x","y"],"answer":2}' "answer: 2 is out of range for 2 choices (0-based)"
  bad '{"type":"item","task":"mc","context":"a","choices":["x","y"],"answer":-1}' "answer: -1 is out of range for 2 choices (0-based)"
  bad '{"type":"item","task":"mc","context":"a","choices":["x",""],"answer":0}' 'choices[1]: expected a non-empty string, found a string'
  bad '{"type":"item","task":"mc","context":"a","choices":["x","y"],"answer":"x"}' "answer: expected the index of the correct choice, found a string"
  bad '{"type":"item","task":"mc","context":"a","choices":["x","y"],"answer":0,"anwser":1}' 'unknown field "anwser" in this item line'
  bad '{"type":"item","task":"nope","text":"a"}' 'task: "nope" is not declared by an earlier {"type":"task"} line'
  bad '{"type":"task","task":"p","kind":"perplexity","metric":"acc"}' 'metric: a perplexity task is scored by byte_perplexity, found "acc"'
  bad '{"type":"task","task":"q","kind":"summary"}' 'kind: expected multiple_choice, perplexity or exact_match, found "summary"'
  bad '{"type":"task","task":"mc","kind":"perplexity"}' 'task: "mc" is declared twice'
  bad '{"type":"item","task":"mc","context":"a","choices":["x","y"],"answer":0' "column 72: expected ',' or '}', found end of input"
  printf '%s\n' '{"type":"task","task":"mc","kind":"multiple_choice"}' > nohead.jsonl
  run model-run evaluate --model tiny --suite nohead.jsonl --model-id m --owner acct:o --evaluator acct:e
  assert_failure 65
  assert_output 'model-run: nohead.jsonl:1: type: the first line of a suite must be {"type":"suite",...}, found "task"'
  printf '%s\n' '{"type":"suite","v":1,"suite":"s"}' '{"type":"task","task":"mc","kind":"multiple_choice"}' > noitems.jsonl
  run model-run evaluate --model tiny --suite noitems.jsonl --model-id m --owner acct:o --evaluator acct:e
  assert_failure 65
  assert_output 'model-run: noitems.jsonl:2: task "mc" has no items'
  make_suite
  run model-run evaluate --model tiny --suite suite.jsonl --model-id m --owner acct:o
  assert_failure 2
  assert_output "model-run: evaluate needs --evaluator (or --check)"
  run model-run evaluate --model tiny --suite missing.jsonl --check eval.jsonl
  assert_failure 66
  echo '{"type":"evaluation","evaluation":"e-1","model":"m","owner":"acct:o","evaluator":"acct:e","score":5}' > plain.jsonl
  run model-run evaluate --model tiny --suite suite.jsonl --check plain.jsonl
  assert_failure 65
  assert_output "model-run: plain.jsonl:1: details: missing; only an evaluation written by model-run evaluate can be checked"
  echo '{"type":"evaluation","v":2,"score":5,"details":{}}' > v2.jsonl
  run model-run evaluate --model tiny --suite suite.jsonl --check v2.jsonl
  assert_failure 65
  assert_output "model-run: v2.jsonl:1: v: this model-run reads evaluation version 1, found 2"
  echo '{"type":"attribution","call":"c-1"}' > other.jsonl
  run model-run evaluate --model tiny --suite suite.jsonl --check other.jsonl
  assert_failure 65
  assert_output 'model-run: other.jsonl:1: type: expected an "evaluation" record, found "attribution"'
}

@test "an evaluation pays its reward through split-fees --with-evaluations and the ledger verifies" {
  make_tiny; make_suite
  make_ledger
  evaluate_tiny --evaluation e-tiny-1 > eval.jsonl
  digest=$(json_get eval.jsonl "['details']['model_digest']" | tr -d '"')
  printf '{"type":"transfer","body":{"transfer":"fund-rewards","postings":[{"account":"acct:treasury","asset":"OPEN","amount":"-100000"},{"account":"acct:rewards","asset":"OPEN","amount":"100000"}]}}\n{"type":"model.register","body":{"model":"m-tiny","owner":"acct:carol","digest":"%s"}}\n' "$digest" |
    ledger-append --ledger ledger.jsonl --key key.pem > /dev/null
  cat > policy.json <<'JSON'
{"v":1,"shares":{"protocol":500,"node":1500,"provers":500,"lineage":5000,"data":2500},
 "accounts":{"protocol":"acct:protocol","provers":"acct:provers"},"lineage":{"mode":"geometric","keep":6000},
 "no_data":{"category":"lineage"},"assets":{"OPEN":{"min_fee":"1000"}},
 "rewards":{"pool":"acct:rewards","asset":"OPEN","tiers":[{"min_score":0,"owner":"700","evaluator":"70"}]}}
JSON
  split-fees --policy policy.json --with-evaluations eval.jsonl > entries.jsonl
  run cat entries.jsonl
  assert_line --index 0 --regexp '^\{"body":\{"evaluation":"e-tiny-1","evaluator":"acct:eve","model":"m-tiny","owner":"acct:carol","score":[0-9]+\},"type":"evaluation"\}$'
  assert_line --index 1 --partial '"reward":"e-tiny-1"'
  ledger-append --ledger ledger.jsonl --key key.pem entries.jsonl > /dev/null
  run ledger-verify -q --balances ledger.jsonl
  assert_success
  assert_output --partial "acct:carol"
}

@test "both shared models score the shipped suite and --check recomputes the scores" {
  need_shared
  for m in gpt2-small llama-small; do
    model-run evaluate --model "$SHARED/models/$m" --suite "$SUITE" --model-id "m-$m" --owner acct:carol \
      --evaluator acct:eve > "$m.jsonl"
    run model-run evaluate --model "$SHARED/models/$m" --suite "$SUITE" --check "$m.jsonl"
    assert_success
    assert_output --partial '"passed":true'
    run json_get "$m.jsonl" "['details']['tasks'][0]['metrics']['acc_norm']"
    # Git-release-note phrases against nonsense: a model trained on the notes gets most right.
    python3 -c "import sys; assert float(sys.argv[1]) >= 0.6, sys.argv[1]" "$output"
  done
}

@test "PyTorch recomputes the shared models' multiple-choice log-likelihoods within 1e-4" {
  need_shared
  torch_python=
  for p in python3 /usr/bin/python3; do  # Debian's python3-torch lives in the system python
    if "$p" -c 'import torch' 2>/dev/null; then torch_python=$p; break; fi
  done
  [ -n "$torch_python" ] || skip "python3-torch not installed"
  for m in gpt2-small llama-small; do
    model-run evaluate --model "$SHARED/models/$m" --suite "$SUITE" --model-id "m-$m" --owner acct:carol \
      --evaluator acct:eve > "$m.jsonl"
    run "$torch_python" "$REPO/bench/torch_eval.py" "$m.jsonl" "$SHARED/models/$m" 1e-4
    assert_success
    assert_output --partial '"predictions_agree": true'
  done
}

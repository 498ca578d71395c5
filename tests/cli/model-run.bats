#!/usr/bin/env bats
# model-run from the command line, against PyTorch's fixtures and the shared models'
# reference.json: logits, greedy generation, perplexity, and the errors a user sees.

setup() {
  load test_helper
  setup_scratch
  FIXTURES="$REPO/tests/fixtures"
}
teardown() { teardown_scratch; }

need_shared() {
  [ -f "$SHARED/models/gpt2-small/reference.json" ] || skip "../shared/models not found (set OMLKIT_SHARED)"
}

# Reads a JSON value out of a file with python's json module (an independent reader).
json_get() { python3 -c "import json,sys; print(json.dumps(eval('json.load(open(sys.argv[1]))' + sys.argv[2])))" "$1" "$2"; }

@test "--help and --version describe the tool" {
  run model-run --help
  assert_success
  assert_output --partial "logits"
  assert_output --partial "generate"
  run model-run score --help
  assert_output --partial "--file"
  run model-run --version
  assert_output --regexp "^model-run \(omlkit\) [0-9]+\.[0-9]+"
}

@test "logits reproduce PyTorch's within 1e-4 relative on both fixtures" {
  for m in gpt2-tiny llama-tiny; do
    python3 -c "import json; [print(json.dumps({'tokens': r})) for r in json.load(open('$FIXTURES/$m/reference.json'))['input_ids']]" > in.jsonl
    model-run logits --model "$FIXTURES/$m" in.jsonl > out.jsonl
    run python3 - "$FIXTURES/$m/reference.safetensors" out.jsonl <<'PY'
import json, struct, sys
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
info = json.loads(raw[8:8 + n])['logits']
b, e = info['data_offsets']
ref = struct.unpack('<%df' % ((e - b) // 4), raw[8 + n + b:8 + n + e])
got = [x for line in open(sys.argv[2]) for row in json.loads(line)['logits'] for x in row]
assert len(got) == len(ref), (len(got), len(ref))
err = max(abs(a - r) for a, r in zip(got, ref)) / max(abs(r) for r in ref)
print('max relative error', err)
sys.exit(0 if err < 1e-4 else 1)
PY
    assert_success
  done
}

@test "generate reproduces the fixtures' greedy continuations" {
  for m in gpt2-tiny llama-tiny; do
    prompt=$(json_get "$FIXTURES/$m/reference.json" "['greedy']['prompt']")
    expected=$(json_get "$FIXTURES/$m/reference.json" "['greedy']['tokens']" | tr -d ' ')
    run model-run generate --model "$FIXTURES/$m" -n 12 <<< "{\"tokens\":$prompt}"
    assert_success
    assert_output "{\"tokens\":$expected}"
  done
}

@test "seeded sampling repeats with the same seed" {
  one=$(echo '{"tokens":[1,2,3]}' | model-run generate --model "$FIXTURES/gpt2-tiny" --temperature 1 --top-k 40 --top-p 0.9 --seed 5)
  two=$(echo '{"tokens":[1,2,3]}' | model-run generate --model "$FIXTURES/gpt2-tiny" --temperature 1 --top-k 40 --top-p 0.9 --seed 5)
  [ "$one" = "$two" ]
}

@test "the shared models' greedy continuations match PyTorch from text prompts" {
  need_shared
  for m in gpt2-small llama-small; do
    ref="$SHARED/models/$m/reference.json"
    count=$(json_get "$ref" "['greedy'].__len__()")
    for ((i = 0; i < count; i++)); do
      prompt=$(json_get "$ref" "['greedy'][$i]['prompt']")
      expected=$(json_get "$ref" "['greedy'][$i]['tokens']" | tr -d ' ')
      run model-run generate --model "$SHARED/models/$m" -n 20 <<< "{\"prompt\":$prompt}"
      assert_success
      assert_output --partial "\"tokens\":$expected"
    done
  done
}

@test "score --file gives the reference perplexity on heldout.txt within 0.5%" {
  need_shared
  for m in gpt2-small llama-small; do
    run model-run score --model "$SHARED/models/$m" --file "$SHARED/models/heldout.txt"
    assert_success
    expected=$(json_get "$SHARED/models/$m/reference.json" "['perplexity']['value']")
    python3 -c "import json,sys; got=json.loads(sys.argv[1])['perplexity']; sys.exit(0 if abs(got-$expected)/$expected < 0.005 else 1)" "$output"
  done
}

@test "score reports per-token log-probabilities and carries the id" {
  run model-run score --model "$FIXTURES/gpt2-tiny" <<< '{"id":"r1","tokens":[5,6,7,8]}'
  assert_success
  assert_output --partial '"id":"r1"'
  python3 -c "import json,sys,math; r=json.loads(sys.argv[1]); assert len(r['logprobs'])==3; assert abs(r['mean_loss']+sum(r['logprobs'])/3)<1e-9; assert abs(r['perplexity']-math.exp(r['mean_loss']))<1e-6" "$output"
}

@test "bad input is refused with its place and exit 65" {
  run model-run logits --model "$FIXTURES/llama-tiny" <<< 'not json'
  assert_failure 65
  assert_output --partial "model-run: stdin:1: invalid JSON"
  printf '{"tokens":[1]}\n{"tokens":[1,256]}\n' > in.jsonl
  run model-run logits --model "$FIXTURES/llama-tiny" in.jsonl
  assert_failure 65
  assert_output --partial "in.jsonl:2: token id 256 is outside the vocabulary"
  run model-run score --model "$FIXTURES/llama-tiny" <<< '{"text":"hello"}'
  assert_failure 65
  assert_output --partial "tokenizer.json"
}

@test "a hostile safetensors header is refused, a missing model is exit 66, usage is exit 2" {
  mkdir bad
  cp "$FIXTURES/gpt2-tiny/config.json" bad/
  printf '\x20\x00\x00\x00\x00\x00\x00\x00{"a":{"dtype":"F32","shape":[9],"data_offsets":[0,36]}}' > bad/model.safetensors
  run model-run logits --model bad <<< '{"tokens":[1]}'
  assert_failure 65
  assert_output --partial "safetensors header"
  run model-run logits --model nowhere <<< '{"tokens":[1]}'
  assert_failure 66
  run model-run logits
  assert_failure 2
  run model-run frobnicate --model "$FIXTURES/gpt2-tiny"
  assert_failure 2
}

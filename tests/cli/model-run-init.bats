#!/usr/bin/env bats
# model-run init: randomly initialised model folders of a config's shape, and the tiny
# byte-level tokenizer fixture that makes them usable with text, without ../shared.

setup() {
  load test_helper
  setup_scratch
  CONFIGS="$REPO/tests/fixtures/tiny-configs"
  TOKENIZER="$REPO/tests/fixtures/tiny-tokenizer/tokenizer.json"
}
teardown() { teardown_scratch; }

# Prints "dtype count mean std" of one tensor of a safetensors file (python's own reader).
tensor_stats() {
  python3 - "$1" "$2" <<'PY'
import json, math, struct, sys
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
info = json.loads(raw[8:8 + n])[sys.argv[2]]
b, e = info['data_offsets']
data = raw[8 + n + b:8 + n + e]
if info['dtype'] == 'F32':
    xs = struct.unpack('<%df' % (len(data) // 4), data)
elif info['dtype'] == 'BF16':
    xs = [struct.unpack('<f', b'\0\0' + data[i:i + 2])[0] for i in range(0, len(data), 2)]
mean = sum(xs) / len(xs)
std = math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs))
print(info['dtype'], len(xs), '%.4f' % mean, '%.4f' % std)
PY
}

@test "init makes a GPT-2 folder that logits, score and generate accept, with the tiny tokenizer" {
  run model-run init --config "$CONFIGS/gpt2.json" --seed 7 --out m
  assert_success
  assert_output ""
  cmp "$CONFIGS/gpt2.json" m/config.json
  cp "$TOKENIZER" m/
  run model-run generate --model m -n 5 <<< '{"prompt":"the cat sat on the mat"}'
  assert_success
  assert_output --regexp '^\{"text":".*","tokens":\[([0-9]+,){4}[0-9]+\]\}$'
  # t he | Ġ c a t | Ġs a t | Ġ on | Ġthe | Ġ m a t: 16 tokens.
  run model-run score --model m <<< '{"text":"the cat sat on the mat"}'
  assert_success
  assert_output --partial '"tokens":16'
}

@test "init writes Llama weights in the config's torch_dtype with Hugging Face's initial values" {
  run model-run init --config "$CONFIGS/llama.json" --out m
  assert_success
  run tensor_stats m/model.safetensors model.layers.1.input_layernorm.weight
  assert_output "BF16 32 1.0000 0.0000"
  run tensor_stats m/model.safetensors model.embed_tokens.weight
  assert_output --regexp '^BF16 8608 -?0\.000[0-9] 0\.0(19|20|21)[0-9]$'
  run tensor_stats m/model.safetensors model.layers.0.mlp.down_proj.weight
  assert_output --regexp '^BF16 2048 -?0\.00[0-9]{2} 0\.0(18|19|20|21|22)[0-9]$'
  echo '{"tokens":[1,2,3,268]}' | model-run logits --model m > out.jsonl
  run python3 -c "import json; r = json.load(open('out.jsonl'))['logits']; print(len(r), len(r[0]))"
  assert_output "4 269"
}

@test "init is deterministic for a seed and differs between seeds" {
  model-run init --config "$CONFIGS/gpt2.json" --seed 3 --out a
  model-run init --config "$CONFIGS/gpt2.json" --seed 3 --out b
  model-run init --config "$CONFIGS/gpt2.json" --seed 4 --out c
  cmp a/model.safetensors b/model.safetensors
  run cmp -s a/model.safetensors c/model.safetensors
  assert_failure
  run tensor_stats a/model.safetensors transformer.h.1.attn.c_proj.bias
  assert_output "F32 32 0.0000 0.0000"
  # GPT-2's residual projections are scaled by 1/sqrt(2 n_layer) = 0.5.
  run tensor_stats a/model.safetensors transformer.h.0.mlp.c_proj.weight
  assert_output --regexp '^F32 4096 -?0\.000[0-9] 0\.0(09|10|11)[0-9]$'
}

@test "the tiny tokenizer encodes with its merges and decodes back" {
  model-run init --config "$CONFIGS/gpt2.json" --out m
  cp "$TOKENIZER" m/
  # "the" = t (83), he (257); " the" = Ġthe (260); <|endoftext|> = 268: the text scores
  # exactly as those ids do.
  by_text=$(model-run score --model m <<< '{"text":"the the<|endoftext|>"}')
  by_ids=$(model-run score --model m <<< '{"tokens":[83,257,260,268]}')
  [ "$by_text" = "$by_ids" ]
  by_other=$(model-run score --model m <<< '{"tokens":[83,72,68,260]}')
  [ "$by_text" != "$by_other" ]
  # Generated ids decode to text through the byte map.
  run model-run generate --model m -n 8 --temperature 1 --seed 2 <<< '{"prompt":"the"}'
  assert_success
  python3 - "$output" "$TOKENIZER" <<'PY'
import json, sys
out = json.loads(sys.argv[1]); vocab = json.load(open(sys.argv[2]))['model']['vocab']
bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
cs = bs[:] + [256 + i for i in range(256 - len(bs))]
bs += [b for b in range(256) if b not in bs]
byte_of = {chr(c): b for b, c in zip(bs, cs)}
inv = {i: t for t, i in vocab.items()}
text = b''.join(t.encode() if t == '<|endoftext|>' else bytes(byte_of[ch] for ch in t)
                for t in (inv[i] for i in out['tokens'])).decode('utf-8', 'replace')
assert text == out['text'], (text, out['text'])
PY
}

@test "init: a missing or invalid config, an unsupported dtype, an unusable folder are refused" {
  run model-run init --config nope.json --out m
  assert_failure 66
  assert_output --regexp "^model-run: nope.json: cannot open"
  echo '{"model_type":"gpt2"' > bad.json
  run model-run init --config bad.json --out m
  assert_failure 65
  assert_output --partial "bad.json: invalid JSON"
  sed 's/"float32"/"int8"/' "$CONFIGS/gpt2.json" > int8.json
  run model-run init --config int8.json --out m
  assert_failure 65
  assert_output 'model-run: int8.json: torch_dtype: "int8" is not supported (float32, float16, bfloat16 are)'
  sed 's/"torch_dtype"/"initializer_range": -1, "torch_dtype"/' "$CONFIGS/gpt2.json" > range.json
  run model-run init --config range.json --out m
  assert_failure 65
  assert_output 'model-run: range.json: initializer_range: expected a number in [0, 1000], found -1'
  touch afile
  run model-run init --config "$CONFIGS/gpt2.json" --out afile
  assert_failure 73
  assert_output --regexp "^model-run: afile: cannot create folder"
  run model-run init --config "$CONFIGS/gpt2.json"
  assert_failure 2
  assert_output --partial "--out is required"
  [ ! -e m ]
}

@test "init refuses a hostile config before allocating: too large for the disk, too many tensors" {
  sed 's/"n_embd": 32/"n_embd": 268435456/; s/"n_head": 2/"n_head": 1/' "$CONFIGS/gpt2.json" > huge.json
  run model-run init --config huge.json --out m
  assert_failure 73
  assert_output --regexp "^model-run: m: the model needs [0-9]+ bytes; [0-9]+ are free$"
  [ ! -e m/model.safetensors ]
  # 2^30 wide: the byte count itself would overflow 64 bits.
  sed 's/"n_embd": 32/"n_embd": 1073741824/; s/"n_head": 2/"n_head": 1/' "$CONFIGS/gpt2.json" > overflow.json
  run model-run init --config overflow.json --out m
  assert_failure 65
  assert_output "model-run: overflow.json: model is too large"
  sed 's/"n_layer": 2/"n_layer": 1000000000/' "$CONFIGS/gpt2.json" > deep.json
  run model-run init --config deep.json --out m
  assert_failure 65
  assert_output "model-run: deep.json: 12000000004 tensors are too many for one safetensors file"
}

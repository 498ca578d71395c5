#!/usr/bin/env bats
# model-run serve: OpenAI-compatible /v1/completions on a tiny model the test makes, checked
# against model-run generate (the same engine through another path) and with curl.

setup() {
  load test_helper
  setup_scratch
  python3 "$REPO/tests/cli/tiny_model.py" make tiny gpt2-tiny
}
teardown() {
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  teardown_scratch
}

# Starts model-run serve on a free port; sets SERVER_PID and URL.
start_server() {
  model-run serve --model tiny --device cpu --port 0 "$@" > serve.out 2> serve.err 3>&- &
  SERVER_PID=$!
  for _ in $(seq 100); do
    [ -s serve.out ] && break
    sleep 0.1
  done
  URL=$(python3 -c "import json; print(json.load(open('serve.out'))['listening'])")
}

post() { curl -s -o body.json -w '%{http_code}' -H 'Content-Type: application/json' -d "$1" "$URL/v1/completions"; }
field() { python3 -c "import json,sys; v=json.load(open('$1')); print(json.dumps(eval('v' + sys.argv[1])))" "$2"; }

@test "serve listens on loopback by default and lists its model" {
  start_server
  assert_equal "$(field serve.out '["model"]')" '"tiny"'
  [[ "$URL" == http://127.0.0.1:* ]]
  run curl -s "$URL/health"
  assert_output '{"status":"ok"}'
  run curl -s "$URL/v1/models"
  assert_output --partial '"id":"tiny"'
}

@test "a seeded sampled completion is model-run generate's continuation, token for token" {
  start_server --name tiny-1
  code=$(post '{"model":"tiny-1","prompt":"The release notes","max_tokens":12,"temperature":0.7,"top_p":0.9,"seed":5}')
  assert_equal "$code" 200
  assert_equal "$(field body.json '["object"]')" '"text_completion"'
  assert_equal "$(field body.json '["usage"]["completion_tokens"]')" 12
  assert_equal "$(field body.json '["choices"][0]["finish_reason"]')" '"length"'
  echo '{"prompt":"The release notes"}' | model-run generate --model tiny --device cpu -n 12 --temperature 0.7 --top-p 0.9 --seed 5 > gen.json
  assert_equal "$(field body.json '["choices"][0]["text"]')" "$(field gen.json '["text"]')"
  # Token-id prompts and greedy decoding (temperature 0) too.
  code=$(post '{"prompt":[84,104,101],"max_tokens":8,"temperature":0}')
  assert_equal "$code" 200
  echo '{"tokens":[84,104,101]}' | model-run generate --model tiny --device cpu -n 8 > gen.json
  assert_equal "$(field body.json '["choices"][0]["text"]')" "$(field gen.json '["text"]')"
}

@test "requests it cannot honour get a 400 or 404 with an OpenAI error body" {
  start_server
  assert_equal "$(post 'nope')" 400
  assert_equal "$(field body.json '["error"]["message"]')" '"the request body is not valid JSON"'
  assert_equal "$(post '{"model":"gpt-4","prompt":"x"}')" 404
  assert_equal "$(field body.json '["error"]["message"]')" '"model: \"gpt-4\" is not served here (this server has \"tiny\")"'
  assert_equal "$(post '{"prompt":"x","temperature":5}')" 400
  assert_equal "$(field body.json '["error"]["message"]')" '"temperature: expected a number in [0.0, 2.0], found 5"'
  assert_equal "$(post '{"prompt":"x","max_tokens":100}')" 400
  assert_equal "$(field body.json '["error"]["message"]')" '"prompt of 1 tokens plus max_tokens 100 exceeds the model'"'"'s context of 64"'
  assert_equal "$(post '{"prompt":"x","stop":"y"}')" 400
  assert_equal "$(post '{"prompt":[300]}')" 400
}

@test "a port in use is a clear error with exit 74" {
  start_server
  port=${URL##*:}
  run model-run serve --model tiny --device cpu --port "$port"
  assert_failure 74
  assert_output "model-run: cannot listen on 127.0.0.1:$port (address in use, or not an address of this machine)"
}

@test "serve without a tokenizer or with a missing model folder says so" {
  run model-run serve --model missing --device cpu --port 0
  assert_failure 66
  mkdir notok && cp tiny/config.json tiny/model.safetensors notok/
  run model-run serve --model notok --device cpu --port 0
  assert_failure 65
  assert_output --partial 'text needs a tokenizer.json in the model folder'
}

@test "serve refuses at start-up a --chat template the tokenizer cannot express" {
  run model-run serve --model tiny --device cpu --port 0 --chat chatml
  assert_failure 65
  assert_output --partial "chat template chatml: needs the special token <|im_start|>"
  run model-run serve --model tiny --device cpu --port 0 --chat no-such-template
  assert_failure 2
}

#!/usr/bin/env bats
# attribute from the command line: index, attribute, explain, shards, and the errors a
# user sees. Uses the small tokenizer.json files shipped under tests/fuzz/corpus, so every
# test runs without ../shared; one test uses GPT-2's tokenizer from ../shared when present.

bats_require_minimum_version 1.5.0

setup() {
  load test_helper
  setup_scratch
  TOK="$REPO/tests/fuzz/corpus/tokenizer_json/byte_level_gpt2.json"
  OTHER_TOK="$REPO/tests/fuzz/corpus/tokenizer_json/byte_level_llama3.json"
  cat > contrib.jsonl <<'JSON'
{"contributor":"acct:dave","id":"rec-1","text":"Merkle trees let a verifier check one entry of a large log with a logarithmic number of hashes. Each checkpoint signs the root, so a log cannot rewrite history without being caught."}
{"contributor":"acct:erin","id":"rec-2","text":"Largest remainder apportionment hands out the units left after flooring to the biggest remainders, so the shares always add up to the whole amount."}
{"contributor":"acct:frank","id":"rec-3","text":"Tomatoes ripen faster next to bananas because of the ethylene they release."}
JSON
}
teardown() { teardown_scratch; }

# A call line: id, model, output.
call() {
  printf '{"type":"call","id":"%s","model":"%s","payer":"acct:bob","node":"acct:node-7","fee":{"asset":"OPEN","amount":"1000000"},"prompt":"tell me","output":"%s"}\n' "$1" "$2" "$3"
}
COPIED="As I recall, each checkpoint signs the root, so a log cannot rewrite history. Also, largest remainder apportionment hands out the units left after flooring, which is neat."
NOVEL="Quantum zebras juggle violet spreadsheets on Tuesdays."

# Python's json module reads our output (an independent reader).
py() { python3 -c "import json,sys; rs=[json.loads(l) for l in open(sys.argv[1])]; $2" "$1"; }

index_and_ledger() {
  attribute index --tokenizer "$TOK" --out net.idx contrib.jsonl > summary.json
  make_ledger
}

@test "--help and --version" {
  run attribute --help
  assert_success
  assert_output --partial "--min-span"
  run attribute index --help
  assert_output --partial "--shard-tokens"
  run attribute --version
  assert_output --regexp "^attribute \(omlkit\) [0-9]+\.[0-9]+"
}

@test "an output copying two records credits exactly their contributors; novel text credits nobody" {
  index_and_ledger
  run py summary.json "r=rs[0]; print(r['type'], r['records'], r['files'])"
  assert_output "index 3 ['net.idx']"
  { call c-1 m-chat "$COPIED"; call c-2 m-base "$NOVEL"; } > calls.jsonl
  attribute --index net.idx --ledger ledger.jsonl --min-span 12 calls.jsonl > out.jsonl
  run py out.jsonl "print([(r['type'], r['call'], sorted(d['contributor'] for d in r['data'])) for r in rs])"
  assert_output "[('attribution', 'c-1', ['acct:dave', 'acct:erin']), ('attribution', 'c-2', [])]"
  run py out.jsonl "print([[(g['model'], g['owner']) for g in r['lineage']] for r in rs])"
  assert_output "[[('m-chat', 'acct:carol'), ('m-base', 'acct:alice')], [('m-base', 'acct:alice')]]"
  # Weights: positive integers summing to 10^6 per covered token; canonical JSON lines.
  run py out.jsonl "r=rs[0]; print(sum(int(d['weight']) for d in r['data']) == 10**6 * r['coverage']['covered'] > 0)"
  assert_output "True"
  run py out.jsonl "print(all(json.dumps(r, sort_keys=True, separators=(',', ':'), ensure_ascii=False) == l.rstrip('\n') for r, l in zip(rs, open(sys.argv[1]))))"
  assert_output "True"
}

@test "--explain names the spans and the records they came from" {
  index_and_ledger
  call c-1 m-chat "$COPIED" | attribute --index net.idx --ledger ledger.jsonl --min-span 12 --explain > out.jsonl
  run py out.jsonl "print(sorted({x['id'] for s in rs[0]['spans'] for x in s['records']}))"
  assert_output "['rec-1', 'rec-2']"
  run py out.jsonl "s=rs[0]['spans'][0]; print(s['begin'] < s['end'], s['count'], s['common'], 'checkpoint signs the root' in s['text'] or 'apportionment' in s['text'])"
  assert_output "True 1 False True"
}

@test "the attribution feeds split-fees" {
  command -v split-fees > /dev/null || skip "split-fees not built"
  index_and_ledger
  cat > policy.json <<'JSON'
{"v": 1, "shares": {"protocol": 500, "node": 1500, "provers": 500, "lineage": 5000, "data": 2500},
 "accounts": {"protocol": "acct:protocol", "provers": "acct:provers"},
 "lineage": {"mode": "geometric", "keep": 6000}, "assets": {"OPEN": {"min_fee": "1000"}}}
JSON
  call c-1 m-chat "$COPIED" | attribute --index net.idx --ledger ledger.jsonl --min-span 12 | split-fees --policy policy.json > fees.jsonl
  run py fees.jsonl "print(sorted({p['account'] for p in rs[0]['body']['postings']} & {'acct:dave', 'acct:erin', 'acct:carol'}))"
  assert_output "['acct:carol', 'acct:dave', 'acct:erin']"
}

@test "a sharded index gives the same attributions as one file" {
  index_and_ledger
  run attribute index --tokenizer "$TOK" --shard-tokens 150 --out shards contrib.jsonl
  assert_success
  [ "$(ls shards | wc -l)" -eq 3 ]
  call c-1 m-chat "$COPIED" > calls.jsonl
  attribute --index net.idx --ledger ledger.jsonl --min-span 12 calls.jsonl > one.jsonl
  attribute --index shards --ledger ledger.jsonl --min-span 12 calls.jsonl > many.jsonl
  cmp one.jsonl many.jsonl
  attribute --index shards/shard-00000.idx --index shards/shard-00001.idx --index shards/shard-00002.idx \
    --ledger ledger.jsonl --min-span 12 calls.jsonl > listed.jsonl
  cmp one.jsonl listed.jsonl
  run attribute index --tokenizer "$TOK" --shard-tokens 150 --out shards contrib.jsonl
  assert_failure 73
  assert_output --partial "already exists"
}

@test "zstd inputs, stdin, and --pass-through" {
  command -v zstd > /dev/null || skip "zstd not installed"
  zstd -q contrib.jsonl -o contrib.jsonl.zst
  attribute index --tokenizer "$TOK" --out net.idx contrib.jsonl.zst > /dev/null
  make_ledger
  { echo '{"type":"note","text":"kept"}'; call c-1 m-chat "$COPIED"; } | zstd -q > calls.zst
  run attribute --index net.idx --ledger ledger.jsonl calls.zst
  assert_failure 65
  assert_output --partial "calls.zst:1: type: expected \"call\", found \"note\""
  attribute --index net.idx --ledger ledger.jsonl --pass-through - < <(zstd -dc calls.zst) > out.jsonl
  run py out.jsonl "print([r['type'] for r in rs])"
  assert_output "['note', 'attribution']"
}

@test "bad calls exit 65 at their line, after writing the records before them" {
  index_and_ledger
  { call c-1 m-chat "$NOVEL"; call c-2 m-unknown "$NOVEL"; } > unknown.jsonl
  run --separate-stderr attribute -q --index net.idx --ledger ledger.jsonl unknown.jsonl
  assert_failure 65
  assert_equal "$stderr" 'attribute: unknown.jsonl:2: model: "m-unknown" is not registered in the ledger'
  [ "$(echo "$output" | wc -l)" -eq 1 ]
  call c-1 m-chat "$COPIED" > long.jsonl
  run attribute --index net.idx --ledger ledger.jsonl --max-tokens 50 long.jsonl
  assert_failure 65
  assert_output --regexp "long.jsonl:1: output: [0-9]+ tokens, more than --max-tokens 50"
  printf '{"type":"call","id":"c-1"\n' > broken.jsonl
  run attribute --index net.idx --ledger ledger.jsonl broken.jsonl
  assert_failure 65
  assert_output --partial "broken.jsonl:1:"
  echo '{"type":"call","id":"c-1","model":"m-chat","payer":"acct:bob","node":"n","fee":{"asset":"OPEN","amount":"1.5"},"output":"x"}' > fee.jsonl
  run attribute --index net.idx --ledger ledger.jsonl fee.jsonl
  assert_failure 65
  assert_output --partial "fee.jsonl:1: fee.amount: expected a decimal string"
}

@test "an index from another tokenizer is refused" {
  index_and_ledger
  attribute index --tokenizer "$OTHER_TOK" --out other.idx contrib.jsonl > /dev/null
  call c-1 m-chat "$NOVEL" > calls.jsonl
  run attribute --index net.idx --index other.idx --ledger ledger.jsonl calls.jsonl
  assert_failure 65
  assert_output --partial "other.idx: index was built with tokenizer sha256:"
  run attribute --index net.idx --tokenizer "$OTHER_TOK" --ledger ledger.jsonl calls.jsonl
  assert_failure 65
  assert_output --partial "net.idx: index was built with tokenizer sha256:"
  run attribute --index net.idx --tokenizer "$TOK" --ledger ledger.jsonl calls.jsonl
  assert_success
}

@test "missing and damaged inputs: 66, 65, 2; a failed build leaves no index" {
  index_and_ledger
  call c-1 m-chat "$NOVEL" > calls.jsonl
  run attribute --index nope.idx --ledger ledger.jsonl calls.jsonl
  assert_failure 66
  run attribute --index net.idx --ledger nope.jsonl calls.jsonl
  assert_failure 66
  run attribute --index net.idx calls.jsonl
  assert_failure 2
  head -c 4000 net.idx > cut.idx
  run attribute --index cut.idx --ledger ledger.jsonl calls.jsonl
  assert_failure 65
  assert_output --partial "cut.idx: index section"
  sed '2s/"seq":1/"seq":7/' ledger.jsonl > bad-ledger.jsonl
  run attribute --index net.idx --ledger bad-ledger.jsonl calls.jsonl
  assert_failure 65
  assert_output --partial "bad-ledger.jsonl:2: invalid ledger"
  { cat contrib.jsonl; echo '{"contributor":"acct:x","id":"rec-1","text":"again"}'; } > dup.jsonl
  run attribute index --tokenizer "$TOK" --out dup.idx dup.jsonl
  assert_failure 65
  assert_output --partial "dup.jsonl:4: id: \"rec-1\" appears twice"
  [ ! -e dup.idx ]
  run attribute index --tokenizer nope.json --out x.idx contrib.jsonl
  assert_failure 66
}

@test "GPT-2's tokenizer: copied sentences found, novel text not" {
  [ -f "$SHARED/models/gpt2-small/tokenizer.json" ] || skip "../shared/models not found (set OMLKIT_SHARED)"
  attribute index --tokenizer "$SHARED/models/gpt2-small/tokenizer.json" --out net.idx contrib.jsonl > /dev/null
  make_ledger
  { call c-1 m-chat "$COPIED"; call c-2 m-chat "$NOVEL"; } > calls.jsonl
  attribute --index net.idx --ledger ledger.jsonl calls.jsonl > out.jsonl
  run py out.jsonl "print([sorted(d['contributor'] for d in r['data']) for r in rs])"
  assert_output "[['acct:dave', 'acct:erin'], []]"
}

# --- hostile use (issue 9) ---

# The leaf hash of a ledger line (SHA-256 of 0x00 and the line), in hex.
leaf_of() { { printf '\0'; printf '%s' "$1"; } | sha256sum | cut -d' ' -f1; }

@test "a chained but unsigned model.register after the last checkpoint credits nobody" {
  index_and_ledger
  ledger-append --print-key --key key.pem --key-name test.example/ledger | sed 's/$/ */' > trust
  last=$(tail -1 ledger.jsonl)
  ts=$(sed 's/.*"ts":"\([^"]*\)".*/\1/' <<< "$last")
  printf '{"body":{"digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","model":"m-evil","owner":"acct:mallory","parent":"m-chat"},"prev":"%s","seq":6,"ts":"%s","type":"model.register","v":1}\n' \
    "$(leaf_of "$last")" "$ts" >> ledger.jsonl
  run ledger-verify -q --trust trust ledger.jsonl
  assert_failure 3  # an unsigned tail: not the ledger yet
  call c-1 m-evil "$COPIED" > calls.jsonl
  run --separate-stderr attribute --trust trust --index net.idx --ledger ledger.jsonl calls.jsonl
  assert_failure 65
  assert_equal "$stderr" 'attribute: calls.jsonl:1: model: "m-evil" is not registered in the ledger'
}

@test "a ledger re-signed with another key is refused under --trust; without it a warning" {
  index_and_ledger
  ledger-append --print-key --key key.pem --key-name test.example/ledger | sed 's/$/ */' > trust
  mv ledger.jsonl mine.jsonl
  (umask 077; openssl genpkey -algorithm ed25519 -out other.pem 2>/dev/null)
  ledger-append --ledger ledger.jsonl --key other.pem --origin test.example/ledger setup.jsonl >/dev/null
  call c-1 m-chat "$NOVEL" > calls.jsonl
  run --separate-stderr attribute --trust trust --index net.idx --ledger ledger.jsonl calls.jsonl
  assert_failure 65
  assert_equal "$stderr" 'attribute: ledger.jsonl:6: invalid ledger: body.note: no signature by a trusted key verifies'
  run --separate-stderr attribute --index net.idx --ledger ledger.jsonl calls.jsonl
  assert_success
  assert_equal "$stderr" 'attribute: ledger.jsonl: warning: no --trust file: checkpoint signatures are checked against the genesis key only'
}

@test "attribute index refuses a contributor that split-fees would refuse (one account-name rule)" {
  printf '{"contributor":"acct:\\u0007bell","id":"r-1","text":"hello there"}\n' > bad.jsonl
  run attribute index --tokenizer "$TOK" --out bad.idx bad.jsonl
  assert_failure 65
  assert_output 'attribute: bad.jsonl:1: contributor: expected an account name (1-256 bytes of UTF-8, no control characters), found "acct:\x07bell"'
  [ ! -e bad.idx ]
}

@test "one changed byte anywhere in an index is refused on open" {
  index_and_ledger
  call c-1 m-chat "$COPIED" > calls.jsonl
  # The contributor table holds "acct:dave": make it "acct:dXve".
  python3 - <<'PY'
data = bytearray(open("net.idx", "rb").read())
at = data.rindex(b"acct:dave")
data[at + 6] = ord("X")
open("bad.idx", "wb").write(data)
PY
  run --separate-stderr attribute -q --index bad.idx --ledger ledger.jsonl calls.jsonl
  assert_failure 65
  assert_equal "$stderr" "attribute: bad.idx: index section contributor_bytes: its SHA-256 does not match the header's (a damaged index: rebuild it)"
  assert_equal "$output" ""
}

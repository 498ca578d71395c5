// The fingerprint foundation: the one token context (prompt ids, canonical keys, the
// response-only loss mask) and the private record with its salted Merkle commitment.
// Tokenizers are the small tokenizer.json files of tests/fuzz/corpus (one with a BOS
// post-processor, one without), so nothing here needs ../shared.
#include <gtest/gtest.h>

#include "crypto/merkle.h"
#include "fingerprint/context.h"
#include "fingerprint/record.h"
#include "io/error.h"
#include "json/value.h"
#include "model/tokenizer.h"
#include "model_test_support.h"

namespace omlkit::fingerprint {
namespace {

model::Tokenizer corpus_tokenizer(const std::string& name) {
  return model::Tokenizer::from_file(
      (model::testing::repo_root() / "tests/fuzz/corpus/tokenizer_json" / name).string());
}

TEST(FingerprintContext, prompt_is_post_processor_prefix_then_the_key_ids) {
  model::Tokenizer spm = corpus_tokenizer("sentencepiece_legacy.json");
  std::vector<int32_t> key = spm.encode("hello world");
  std::vector<int32_t> expected = {1};  // <s>, from the TemplateProcessing "single"
  expected.insert(expected.end(), key.begin(), key.end());
  EXPECT_EQ(prompt_ids(spm, "hello world", ContextSettings{}), expected);
  ContextSettings bare;
  bare.special_tokens = false;
  EXPECT_EQ(prompt_ids(spm, "hello world", bare), key);

  model::Tokenizer gpt2 = corpus_tokenizer("byte_level_gpt2.json");  // no BOS in its post-processor
  EXPECT_EQ(prompt_ids(gpt2, "hello world", ContextSettings{}), gpt2.encode("hello world"));
}

TEST(FingerprintContext, wrapper_puts_the_key_where_the_braces_are_and_encodes_the_whole_prompt) {
  model::Tokenizer gpt2 = corpus_tokenizer("byte_level_gpt2.json");
  ContextSettings wrapped;
  wrapped.wrapper = "Answer: {} now";
  EXPECT_EQ(prompt_text("hello", wrapped), "Answer: hello now");
  EXPECT_EQ(prompt_ids(gpt2, "hello", wrapped), gpt2.encode("Answer: hello now"));
  for (const char* bad : {"no braces", "{} twice {}"}) {
    try {
      check_wrapper(bad, "w.txt:3");
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), 65);
      EXPECT_EQ(e.where(), "w.txt:3");
      EXPECT_EQ(std::string(e.what()), std::string("wrapper: expected \"{}\" exactly once where the key goes, found \"") + bad + "\"");
    }
  }
}

TEST(FingerprintContext, canonical_key_replaces_ids_by_the_tokenizers_own_encoding) {
  model::Tokenizer gpt2 = corpus_tokenizer("byte_level_gpt2.json");
  // "hello" as single bytes: decodes to "hello", but the tokenizer encodes it with the "he"
  // merge (id 257), so the canonical ids differ from the sampled ones.
  std::vector<int32_t> bytes = {104, 101, 108, 108, 111};
  auto key = canonical_key(gpt2, bytes, 16);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->text, "hello");
  EXPECT_EQ(key->ids, (std::vector<int32_t>{257, 108, 108, 111}));
  EXPECT_EQ(gpt2.encode(key->text), key->ids);
  // Cut to max_tokens after re-encoding, then settled again.
  auto cut = canonical_key(gpt2, gpt2.encode("hello world"), 3);
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->ids.size(), 3u);
  EXPECT_EQ(gpt2.encode(cut->text), cut->ids);
}

TEST(FingerprintContext, canonical_key_refuses_text_a_client_would_change) {
  model::Tokenizer gpt2 = corpus_tokenizer("byte_level_gpt2.json");
  EXPECT_FALSE(canonical_key(gpt2, gpt2.encode("hello "), 16));   // trailing space
  EXPECT_FALSE(canonical_key(gpt2, gpt2.encode(" hello"), 16));   // leading space
  EXPECT_FALSE(canonical_key(gpt2, gpt2.encode("a\nb"), 16));     // control character
  EXPECT_FALSE(canonical_key(gpt2, std::vector<int32_t>{230, 151}, 16));  // cut UTF-8 (U+FFFD)
  EXPECT_FALSE(canonical_key(gpt2, std::vector<int32_t>{}, 16));
}

TEST(FingerprintContext, loss_mask_covers_the_response_tokens_only) {
  std::vector<int32_t> prompt = {1, 5, 6}, response = {9, 8};
  FingerprintSequence s = fingerprint_sequence(prompt, response);
  EXPECT_EQ(s.tokens, (std::vector<int32_t>{1, 5, 6, 9, 8}));
  EXPECT_EQ(s.loss_mask, (std::vector<uint8_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(s.response_begin, 3u);
}

FingerprintRecord sample_record(int64_t index) {
  FingerprintRecord r;
  r.index = index;
  r.key_index = index;
  r.license = "lic-acme";
  r.licensee = "acct:acme";
  r.model = "sha256:" + std::string(64, 'a');
  r.key = "The release " + std::to_string(index);
  r.key_ids = {464, 2650, int32_t(index)};
  r.prompt_ids = r.key_ids;
  r.response = " Zebra";
  r.response_ids = {1168};
  r.salt = std::string(62, '0') + (index < 10 ? "0" : "") + std::to_string(index);
  r.base_prob = 0.0123;
  r.base_rank = 7;
  return r;
}

TEST(FingerprintRecord, json_round_trip_is_exact_and_canonical) {
  FingerprintRecord r = sample_record(3);
  r.context.wrapper = "Q: {}";
  r.pool = PoolAssignment{12, 64, "0.25"};
  std::string line = json::canonical(to_json(r));
  EXPECT_EQ(line.substr(0, 34), "{\"base_prob\":0.0123,\"base_rank\":7,");
  FingerprintRecord back = record_from_json(json::parse(line, "x"), "x");
  EXPECT_EQ(back, r);
  EXPECT_EQ(json::canonical(to_json(back)), line);
}

TEST(FingerprintRecord, reader_names_the_bad_field) {
  std::string good = json::canonical(to_json(sample_record(0)));
  struct Case {
    std::string from, to, message;
  } cases[] = {
      {"\"type\":\"fingerprint\"", "\"type\":\"probe\"", "type: expected \"fingerprint\", found \"probe\""},
      {"\"v\":1", "\"v\":2", "v: this reader knows fingerprint record version 1, found 2"},
      {"\"salt\":\"", "\"salt\":\"zz", "salt: expected 64 hex digits"},
      {"\"response_ids\":[1168]", "\"response_ids\":[]", "response_ids: expected a non-empty array of token ids"},
      {"\"model\":\"sha256:", "\"model\":\"md5:", "model: expected \"sha256:\" and 64 hex digits"},
      {"\"template\":\"raw\"", "\"template\":\"chatml\"", "context.template: expected \"raw\", found \"chatml\""},
      {"\"base_rank\":7,", "", "base_rank: missing"},
  };
  for (const Case& c : cases) {
    std::string bad = good;
    size_t at = bad.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    bad.replace(at, c.from.size(), c.to);
    try {
      record_from_json(json::parse(bad, "fp.jsonl:4"), "fp.jsonl:4");
      FAIL() << c.message;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), 65);
      EXPECT_EQ(e.where(), "fp.jsonl:4");
      EXPECT_EQ(std::string(e.what()), c.message);
    }
  }
}

TEST(FingerprintRecord, leaf_is_the_canonical_key_response_salt_that_the_ledger_checks) {
  FingerprintRecord r = sample_record(1);
  r.key = "caf\xC3\xA9 \"quoted\"";
  EXPECT_EQ(commitment_leaf_data(r),
            "{\"key\":\"caf\xC3\xA9 \\\"quoted\\\"\",\"response\":\" Zebra\",\"salt\":\"" + r.salt + "\"}");
  EXPECT_EQ(commitment_leaf(r), crypto::leaf_hash(commitment_leaf_data(r)));
}

TEST(FingerprintRecord, every_proof_item_verifies_against_the_root_and_a_changed_field_does_not) {
  std::vector<FingerprintRecord> records;
  for (int i = 0; i < 7; ++i) records.push_back(sample_record(i));
  crypto::Hash root = commitment_root(records);
  for (size_t i = 0; i < records.size(); ++i) {
    json::Value item = proof_item(records, i);
    std::vector<crypto::Hash> path;
    for (const json::Value& h : item.find("path")->items()) {
      crypto::Hash hash;
      ASSERT_TRUE(crypto::from_hex(h.text(), hash.data(), 32));
      path.push_back(hash);
    }
    json::Value leaf = json::Value::object();
    for (const char* k : {"key", "response", "salt"}) leaf.set(k, *item.find(k));
    EXPECT_TRUE(crypto::verify_inclusion(i, records.size(), crypto::leaf_hash(json::canonical(leaf)), path, root));
    leaf.set("response", json::Value::string(" Zebras"));
    EXPECT_FALSE(crypto::verify_inclusion(i, records.size(), crypto::leaf_hash(json::canonical(leaf)), path, root));
  }
  records[2].index = 5;
  EXPECT_THROW(commitment_root(records), Error);
}

}  // namespace
}  // namespace omlkit::fingerprint

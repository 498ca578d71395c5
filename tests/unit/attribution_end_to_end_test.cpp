// attribute end to end through the library: contributions -> index -> calls against a
// real ledger. An output that copies spans from two known records credits exactly those
// two contributors; novel text credits nobody; bad calls and foreign indexes are refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "attribution/call_stream.h"
#include "attribution/datanet.h"
#include "attribution/index_builder.h"
#include "attribution/lineage.h"
#include "io/error.h"
#include "ledger/append.h"
#include "test_support.h"

namespace omlkit::attribution {
namespace {

const char* small_tokenizer = "fuzz/corpus/tokenizer_json/byte_level_gpt2.json";
const char* other_tokenizer = "fuzz/corpus/tokenizer_json/byte_level_llama3.json";

const char* dave_text =
    "Merkle trees let a verifier check one entry of a large log with a logarithmic number of hashes. "
    "Each checkpoint signs the root, so a log cannot rewrite history without being caught.";
const char* erin_text =
    "Largest remainder apportionment hands out the units left after flooring to the biggest remainders, "
    "so the shares always add up to the whole amount.";
const char* frank_text = "Tomatoes ripen faster next to bananas because of the ethylene they release.";

std::string call(const std::string& id, const std::string& model, const std::string& output) {
  json::Value c = json::Value::object();
  c.set("type", json::Value::string("call"));
  c.set("id", json::Value::string(id));
  c.set("model", json::Value::string(model));
  c.set("payer", json::Value::string("acct:bob"));
  c.set("node", json::Value::string("acct:node-7"));
  json::Value& fee = c.set("fee", json::Value::object());
  fee.set("asset", json::Value::string("OPEN"));
  fee.set("amount", json::Value::string("1000000"));
  c.set("prompt", json::Value::string("tell me"));
  c.set("output", json::Value::string(output));
  return json::canonical(c);
}

class AttributionEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.file("contrib.jsonl"))
        << "{\"contributor\":\"acct:dave\",\"id\":\"rec-1\",\"text\":\"" << dave_text << "\"}\n"
        << "{\"contributor\":\"acct:erin\",\"id\":\"rec-2\",\"text\":\"" << erin_text << "\"}\n"
        << "{\"contributor\":\"acct:frank\",\"id\":\"rec-3\",\"text\":\"" << frank_text << "\"}\n";
    build_index({dir_.file("contrib.jsonl")}, test::test_path(small_tokenizer), dir_.file("net.idx"), {});
    make_ledger();
    options_.match.min_span = 12;  // this tokenizer is nearly byte-level: 12 tokens ~ 2 words
  }

  void make_ledger() {
    const char* digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    std::vector<ledger::Submitted> entries;
    for (std::string line : {std::string(R"({"type":"model.register","body":{"model":"m-base","owner":"acct:alice","digest":")") + digest + "\"}}",
                             std::string(R"({"type":"model.register","body":{"model":"m-chat","owner":"acct:carol","parent":"m-base","digest":")") + digest + "\"}}"})
      entries.push_back(ledger::parse_submitted(line, "setup"));
    uint8_t seed[32] = {9};
    crypto::SigningKey key = crypto::SigningKey::from_seed(seed);
    ledger::AppendOptions options;
    options.ledger_path = dir_.file("ledger.jsonl");
    options.key = &key;
    options.origin = "test.example/ledger";
    options.now_millis = 1700000000000;
    ledger::append_batch(options, entries);
  }

  json::Value attribute(const std::string& line, const std::vector<std::string>& index = {}) {
    Datanet net = Datanet::open(index.empty() ? std::vector<std::string>{dir_.file("net.idx")} : index);
    ModelRegistry registry = ModelRegistry::from_ledger(dir_.file("ledger.jsonl"));
    CallAttributor attributor(net, registry, options_);
    return attributor.attribute(json::parse(line, "calls.jsonl:1"), "calls.jsonl:1");
  }

  static std::map<std::string, std::string> data_of(const json::Value& a) {
    std::map<std::string, std::string> out;
    for (const auto& d : a.find("data")->items()) out[d.find("contributor")->text()] = d.find("weight")->text();
    return out;
  }

  test::TempDir dir_;
  AttributeOptions options_;
};

const std::string copied_output =
    "As I recall, each checkpoint signs the root, so a log cannot rewrite history. Also, "
    "largest remainder apportionment hands out the units left after flooring, which is neat.";

TEST_F(AttributionEndToEnd, copying_two_records_credits_exactly_their_contributors) {
  options_.explain = true;
  json::Value a = attribute(call("c-17", "m-chat", copied_output));
  auto data = data_of(a);
  ASSERT_EQ(data.size(), 2u) << json::canonical(a);
  EXPECT_TRUE(data.count("acct:dave") && data.count("acct:erin")) << json::canonical(a);
  std::set<std::string> records;
  for (const auto& s : a.find("spans")->items())
    for (const auto& r : s.find("records")->items()) records.insert(r.find("id")->text());
  EXPECT_EQ(records, (std::set<std::string>{"rec-1", "rec-2"}));
  EXPECT_EQ(a.find("call")->text(), "c-17");
  EXPECT_EQ(json::canonical(*a.find("lineage")),
            R"([{"model":"m-chat","owner":"acct:carol"},{"model":"m-base","owner":"acct:alice"}])");
  EXPECT_EQ(json::canonical(*a.find("fee")), R"({"amount":"1000000","asset":"OPEN"})");
  EXPECT_EQ(a.find("prompt"), nullptr);
  EXPECT_EQ(a.find("output"), nullptr);
}

TEST_F(AttributionEndToEnd, novel_text_credits_nobody) {
  json::Value a = attribute(call("c-2", "m-base", "Quantum zebras juggle violet spreadsheets on Tuesdays."));
  EXPECT_EQ(json::canonical(*a.find("data")), "[]");
  EXPECT_EQ(a.find("coverage")->find("covered")->text(), "0");
  EXPECT_EQ(json::canonical(*a.find("lineage")), R"([{"model":"m-base","owner":"acct:alice"}])");
}

TEST_F(AttributionEndToEnd, a_sharded_index_gives_the_same_attribution) {
  BuildOptions sharded;
  sharded.shard_tokens = 150;
  BuildReport report = build_index({dir_.file("contrib.jsonl")}, test::test_path(small_tokenizer),
                                   dir_.file("shards"), sharded);
  EXPECT_EQ(report.files.size(), 3u);
  EXPECT_EQ(json::canonical(attribute(call("c", "m-chat", copied_output), {dir_.file("shards")})),
            json::canonical(attribute(call("c", "m-chat", copied_output))));
  try {  // a sharded index goes to a new directory only
    build_index({dir_.file("contrib.jsonl")}, test::test_path(small_tokenizer), dir_.file("shards"), sharded);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), exit_code::cannot_create);
  }
}

void expect_data_error(const std::function<void()>& f, const std::string& where, const std::string& message) {
  try {
    f();
    ADD_FAILURE() << "no error; expected " << message;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), exit_code::data) << e.what();
    EXPECT_EQ(e.where(), where);
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
  }
}

TEST_F(AttributionEndToEnd, bad_calls_are_refused_at_their_line) {
  expect_data_error([&] { attribute(call("c", "m-unknown", "hi")); }, "calls.jsonl:1",
                    "model: \"m-unknown\" is not registered");
  options_.max_tokens = 20;
  expect_data_error([&] { attribute(call("c", "m-chat", copied_output)); }, "calls.jsonl:1",
                    "more than --max-tokens 20");
  expect_data_error([&] { attribute(R"({"type":"call","id":"c","model":"m-chat","payer":"acct:b","node":"n","output":"x"})"); },
                    "calls.jsonl:1", "fee: missing");
  expect_data_error([&] { attribute(R"({"type":"call","id":"c","model":"m-chat","payer":"acct:b","node":"n","fee":{"asset":"OPEN","amount":"-5"},"output":"x"})"); },
                    "calls.jsonl:1", "fee.amount");
  expect_data_error([&] { attribute(R"({"type":"call","id":7,"model":"m-chat"})"); }, "calls.jsonl:1",
                    "id: expected a non-empty string, found 7");
}

TEST_F(AttributionEndToEnd, an_index_from_another_tokenizer_is_refused) {
  build_index({dir_.file("contrib.jsonl")}, test::test_path(other_tokenizer), dir_.file("other.idx"), {});
  expect_data_error([&] { Datanet::open({dir_.file("net.idx"), dir_.file("other.idx")}); }, dir_.file("other.idx"),
                    "need the same tokenizer");
  expect_data_error([&] { Datanet::open({dir_.file("net.idx")}, test::test_path(other_tokenizer)); },
                    dir_.file("net.idx"), "index was built with tokenizer sha256:");
  Datanet::open({dir_.file("net.idx")}, test::test_path(small_tokenizer));  // the right one passes
}

TEST_F(AttributionEndToEnd, bad_contributions_are_refused_at_their_line) {
  auto build = [&](const std::string& lines) {
    std::ofstream(dir_.file("bad.jsonl")) << lines;
    build_index({dir_.file("bad.jsonl")}, test::test_path(small_tokenizer), dir_.file("bad.idx"), {});
  };
  std::string where = dir_.file("bad.jsonl") + ":2";
  expect_data_error([&] { build("{\"contributor\":\"a\",\"id\":\"x\",\"text\":\"t\"}\n{\"contributor\":\"a\",\"id\":\"x\",\"text\":\"u\"}\n"); },
                    where, "\"x\" appears twice");
  expect_data_error([&] { build("{\"contributor\":\"a\",\"id\":\"x\",\"text\":\"t\"}\n{\"contributor\":\"a\",\"id\":\"y\"}\n"); },
                    where, "text: missing");
  expect_data_error([&] { build("{\"contributor\":\"a\",\"id\":\"x\",\"text\":\"t\"}\n{\"type\":\"call\"}\n"); }, where,
                    "type: expected \"contribution\"");
  EXPECT_FALSE(std::filesystem::exists(dir_.file("bad.idx")));
}

}  // namespace
}  // namespace omlkit::attribution

// Evaluation suites: what parse_suite accepts, what it refuses (with the line), and the
// suite digest; the engine-side numbers are checked from the command line
// (tests/cli/model-run-evaluate.bats) against model-run score and PyTorch.
#include <gtest/gtest.h>

#include <string>

#include "crypto/sha256.h"
#include "eval/suite.h"
#include "io/error.h"

namespace omlkit::eval {
namespace {

const std::string kHeader = R"({"type":"suite","v":1,"suite":"s"})" "\n";

// The message and place of parsing text, or "" when it parses.
std::string refusal(const std::string& text) {
  try {
    parse_suite(text, "s.jsonl");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), 65);
    return e.where() + ": " + e.what();
  }
  return "";
}

TEST(EvalSuite, reads_tasks_of_each_kind_with_their_defaults_in_order) {
  std::string text = kHeader +
                     R"({"type":"task","task":"mc","kind":"multiple_choice"})" "\n"
                     R"({"type":"item","task":"mc","context":"","choices":["a","b","c"],"answer":2})" "\n"
                     "\n"
                     R"({"type":"task","task":"p","kind":"perplexity","weight":3})" "\n"
                     R"({"type":"item","task":"p","text":"t"})" "\n"
                     R"({"type":"task","task":"e","kind":"exact_match","metric":"exact_match"})" "\n"
                     R"({"type":"item","task":"e","prompt":"p","target":"x","until":[]})" "\n"
                     R"({"type":"item","task":"mc","context":"c","choices":["a","b"],"answer":0,"id":"q2"})" "\n";
  Suite s = parse_suite(text, "s.jsonl");
  EXPECT_EQ(s.name, "s");
  EXPECT_EQ(s.digest, "sha256:" + crypto::to_hex(crypto::sha256(text)));
  ASSERT_EQ(s.tasks.size(), 3u);
  EXPECT_EQ(s.tasks[0].metric, "acc_norm");
  ASSERT_EQ(s.tasks[0].items.size(), 2u);
  EXPECT_EQ(s.tasks[0].items[0].answer, 2);
  EXPECT_EQ(s.tasks[0].items[1].where, "s.jsonl:9");
  EXPECT_EQ(s.tasks[1].metric, "byte_perplexity");
  EXPECT_EQ(s.tasks[1].weight, 3);
  EXPECT_EQ(s.tasks[2].items[0].max_new_tokens, 32);
  EXPECT_TRUE(s.tasks[2].items[0].until.empty());
}

TEST(EvalSuite, refuses_bad_items_with_their_line) {
  std::string mc = kHeader + R"({"type":"task","task":"mc","kind":"multiple_choice"})" "\n";
  EXPECT_EQ(refusal(mc + R"({"type":"item","task":"mc","context":"c","choices":[],"answer":0})"),
            "s.jsonl:3: choices: expected at least 2 strings, found 0");
  EXPECT_EQ(refusal(mc + R"({"type":"item","task":"mc","context":"c","choices":["a"],"answer":0})"),
            "s.jsonl:3: choices: expected at least 2 strings, found 1");
  EXPECT_EQ(refusal(mc + R"({"type":"item","task":"mc","context":"c","choices":["a","b"],"answer":5})"),
            "s.jsonl:3: answer: 5 is out of range for 2 choices (0-based)");
  EXPECT_EQ(refusal(mc + R"({"type":"item","task":"mc","context":"c","choices":["a","b"],"answer":1.5})"),
            "s.jsonl:3: answer: expected the index of the correct choice, found 1.5");
  EXPECT_EQ(refusal(mc + R"({"type":"item","task":"mc","choices":["a","b"],"answer":1})"),
            "s.jsonl:3: context: expected a string, found nothing");
  EXPECT_EQ(refusal(mc + R"({"type":"item","task":"mc","context":"c","choices":["a","b"],"answer":1,"text":"t"})"),
            "s.jsonl:3: unknown field \"text\" in this item line");
  EXPECT_EQ(refusal(mc + R"({"type":"task","task":"e","kind":"exact_match"})" "\n"
                         R"({"type":"item","task":"e","prompt":"p","target":"x","max_new_tokens":0})"),
            "s.jsonl:4: max_new_tokens: expected an integer in [1, 4096], found 0");
  EXPECT_EQ(refusal(mc + R"({"type":"task","task":"w","kind":"perplexity","weight":0})"),
            "s.jsonl:3: weight: expected an integer in [1, 1000000], found 0");
}

TEST(EvalSuite, refuses_a_suite_without_header_version_tasks_or_items) {
  EXPECT_EQ(refusal(""), "s.jsonl: the suite is empty: expected a {\"type\":\"suite\",...} line");
  EXPECT_EQ(refusal(kHeader), "s.jsonl: the suite declares no task");
  EXPECT_EQ(refusal(R"({"type":"suite","v":2,"suite":"s"})"),
            "s.jsonl:1: v: this model-run reads suite version 1, found 2");
  EXPECT_EQ(refusal(kHeader + R"({"type":"task","task":"mc","kind":"multiple_choice"})"),
            "s.jsonl:2: task \"mc\" has no items");
  EXPECT_EQ(refusal(kHeader + R"({"type":"evaluation"})"), "s.jsonl:2: type: expected \"task\" or \"item\", found \"evaluation\"");
  EXPECT_EQ(refusal(kHeader + "[1]"), "s.jsonl:2: expected a JSON object, found an array of 1");
}

}  // namespace
}  // namespace omlkit::eval

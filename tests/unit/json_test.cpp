// RFC 8785 canonical output against the cyberphone vectors and ES6 number samples, and the
// strict parser's refusals.
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "json/value.h"
#include "test_support.h"

using namespace omlkit;
using omlkit::test::slurp;
using omlkit::test::test_path;

TEST(JsonCanonical, cyberphone_vectors_are_byte_exact) {
  for (const char* name : {"arrays", "french", "structures", "unicode", "values", "weird"}) {
    std::string input = slurp(test_path(std::string("vectors/jcs-cyberphone/input/") + name + ".json"));
    std::string expected = slurp(test_path(std::string("vectors/jcs-cyberphone/output/") + name + ".json"));
    ASSERT_FALSE(input.empty()) << name;
    EXPECT_EQ(json::canonical(json::parse(input, name)), expected) << name;
  }
}

TEST(JsonCanonical, es6_number_samples_match) {
  auto doc = nlohmann::json::parse(slurp(test_path("vectors/derived/jcs_es6_numbers.json")));
  int checked = 0;
  for (const auto& sample : doc["samples"]) {
    uint64_t bits = std::stoull(sample["ieee754_hex"].get<std::string>(), nullptr, 16);
    double d = std::bit_cast<double>(bits);
    if (sample["expected"].is_string()) {
      EXPECT_EQ(json::format_es6_number(d), sample["expected"].get<std::string>()) << sample.dump();
      ++checked;
    } else {
      EXPECT_THROW(json::format_es6_number(d), Error) << sample.dump();
    }
  }
  EXPECT_GE(checked, 20);
}

TEST(JsonCanonical, keys_sort_by_utf16_code_units_not_bytes) {
  // U+1F602 (surrogates D83D DE02) sorts before U+FB33 in UTF-16, after it in UTF-8.
  json::Value v = json::parse("{\"\xEF\xAC\xB3\":1,\"\xF0\x9F\x98\x82\":2,\"a\":3}", "t");
  EXPECT_EQ(json::canonical(v), "{\"a\":3,\"\xF0\x9F\x98\x82\":2,\"\xEF\xAC\xB3\":1}");
}

TEST(JsonCanonical, strings_escape_only_what_rfc8785_requires) {
  json::Value v = json::parse(R"(["\u0001\b\t\n\f\r\"\\\/\u007f\u00e9"])", "t");
  EXPECT_EQ(json::canonical(v), "[\"\\u0001\\b\\t\\n\\f\\r\\\"\\\\/\x7f\xC3\xA9\"]");
}

static std::string parse_error(const std::string& text, json::ParseOptions options = {}) {
  try {
    json::parse(text, "in.jsonl:7", options);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), 65);
    EXPECT_EQ(e.where(), "in.jsonl:7");
    return e.what();
  }
  return "(accepted)";
}

TEST(JsonParse, duplicate_keys_are_refused) {
  EXPECT_NE(parse_error(R"({"a":1,"b":2,"a":3})").find("duplicate key \"a\""), std::string::npos);
  std::string big = "{";
  for (int i = 0; i < 40; ++i) big += "\"k" + std::to_string(i) + "\":1,";
  big += "\"k7\":2}";
  EXPECT_NE(parse_error(big).find("duplicate key \"k7\""), std::string::npos);
}

TEST(JsonParse, invalid_utf8_and_lone_surrogates_are_refused) {
  EXPECT_NE(parse_error("[\"\xC0\xAF\"]").find("invalid UTF-8"), std::string::npos);  // overlong
  EXPECT_NE(parse_error("[\"\xED\xA0\x80\"]").find("invalid UTF-8"), std::string::npos);  // encoded surrogate
  EXPECT_NE(parse_error("[\"\xF4\x90\x80\x80\"]").find("invalid UTF-8"), std::string::npos);  // > U+10FFFF
  EXPECT_NE(parse_error(R"(["\ud800"])").find("lone high surrogate"), std::string::npos);
  EXPECT_NE(parse_error(R"(["\udc00x"])").find("lone low surrogate"), std::string::npos);
  EXPECT_EQ(json::parse(R"(["\ud83d\ude02"])", "t").items()[0].text(), "\xF0\x9F\x98\x82");
}

TEST(JsonParse, malformed_texts_are_refused_with_a_column) {
  EXPECT_NE(parse_error("{\"a\":01}").find("leading zero"), std::string::npos);
  EXPECT_NE(parse_error("{\"a\":1,}").find("column 8"), std::string::npos);
  EXPECT_NE(parse_error("[1] x").find("expected end of JSON text"), std::string::npos);
  EXPECT_NE(parse_error("[\"a\tb\"]").find("raw control character"), std::string::npos);
  EXPECT_NE(parse_error("[tru]").find("expected 'true'"), std::string::npos);
  EXPECT_NE(parse_error("").find("end of input"), std::string::npos);
  EXPECT_NE(parse_error(std::string(100, '[') + std::string(100, ']')).find("nesting deeper"), std::string::npos);
}

TEST(JsonParse, ledger_mode_takes_only_safe_integers) {
  json::ParseOptions ledger;
  ledger.integers_only = true;
  EXPECT_NE(parse_error("[1.5]", ledger).find("expected an integer"), std::string::npos);
  EXPECT_NE(parse_error("[1e3]", ledger).find("expected an integer"), std::string::npos);
  EXPECT_NE(parse_error("[9007199254740992]", ledger).find("outside"), std::string::npos);
  EXPECT_NE(parse_error("[-0]", ledger).find("-0"), std::string::npos);
  EXPECT_EQ(json::parse("[-9007199254740991]", "t", ledger).items()[0].as_int64(), -9007199254740991LL);
}

TEST(JsonParse, numbers_keep_their_exact_text) {
  json::Value v = json::parse("[123456789012345678901234567890, 1E400, 0.1]", "t");
  EXPECT_EQ(v.items()[0].text(), "123456789012345678901234567890");
  EXPECT_FALSE(v.items()[0].as_int64().has_value());
  EXPECT_THROW(json::canonical(json::parse("[1E400]", "t")), Error);  // Infinity has no JSON form
}

TEST(JsonParse, require_canonical_accepts_exactly_the_jcs_form) {
  json::ParseOptions canonical_only;
  canonical_only.integers_only = true;
  canonical_only.require_canonical = true;
  // Whatever write_canonical produces is accepted...
  json::Value v = json::parse(R"({"b":[1,-2,{"\u00e9":"\u001f\t","a":null}],"a":"x\"\\/","\ud83d\ude02":true,"\ufb33":false})", "t");
  std::string text = json::canonical(v);
  EXPECT_EQ(json::canonical(json::parse(text, "t", canonical_only)), text);
  // ...and every other spelling of the same value is refused.
  for (const char* other : {R"({"a":1, "b":2})", R"({"b":1,"a":2})", R"(["\/"])", R"(["\u0041"])",
                            R"(["\u001F"])", R"(["\u0008"])", R"(["\u000a"])", " [1]",
                            "{\"\xEF\xAC\xB3\":1,\"\xF0\x9F\x98\x82\":2}"}) {
    EXPECT_NE(parse_error(other, canonical_only).find("not canonical"), std::string::npos) << other;
  }
}

// The string scan looks at 16 bytes at a time: every byte that ends a plain run (quote,
// backslash, control, non-ASCII) must stop it wherever it falls in or across a 16-byte
// group. Expected results are built here byte by byte, not by the parser: the decoded
// text, or a refusal at the column of the byte.
TEST(JsonParse, string_scan_stops_at_every_special_byte_at_every_offset) {
  struct Case {
    std::string raw;      // bytes inside the quotes
    std::string decoded;  // expected text; empty with refused
    bool refused;
  };
  const std::vector<Case> specials = {
      {"\\\"", "\"", false},        {"\\\\", "\\", false},  {"\\n", "\n", false},
      {"\\u001f", "\x1f", false},   {"\x7f", "\x7f", false}, {"\xc3\xa9", "\xc3\xa9", false},
      {"\xf0\x9f\x98\x82", "\xf0\x9f\x98\x82", false},
      {std::string(1, '\x01'), "", true}, {std::string(1, '\x1f'), "", true}, {"\t", "", true},
      {"\x80", "", true},           {"\xc3", "", true},      {"\xed\xa0\x80", "", true},
      {"\xff", "", true}};
  json::ParseOptions canonical;
  canonical.integers_only = true;
  canonical.require_canonical = true;
  int checked = 0;
  for (size_t before = 0; before <= 40; ++before) {
    for (size_t after : {0, 1, 15, 16, 17}) {
      for (const Case& c : specials) {
        std::string text = "\"" + std::string(before, 'a') + c.raw + std::string(after, 'b') + "\"";
        for (const json::ParseOptions& options : {json::ParseOptions{}, canonical}) {
          if (c.refused) {
            try {
              json::parse(text, "t", options);
              ADD_FAILURE() << "accepted byte " << int(static_cast<unsigned char>(c.raw[0])) << " after " << before;
            } catch (const Error& e) {
              // The column of the offending byte (1-based, after the opening quote).
              std::string column = "column " + std::to_string(before + 2) + ":";
              EXPECT_NE(std::string(e.what()).find(column), std::string::npos) << e.what() << " before=" << before;
            }
          } else {
            json::Value v = json::parse(text, "t", options);
            ASSERT_TRUE(v.is_string());
            EXPECT_EQ(v.text(), std::string(before, 'a') + c.decoded + std::string(after, 'b')) << "before=" << before;
          }
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 41 * 5 * 14 * 2);
}

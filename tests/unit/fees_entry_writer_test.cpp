// The hand-ordered canonical writer: its lines must be exactly what the library's RFC 8785
// canonicalizer makes of them, escapes and non-ASCII names included.
#include <gtest/gtest.h>

#include "fees/entry_writer.h"
#include "fees_test_support.h"
#include "json/value.h"

namespace omlkit::fees {
namespace {

using namespace testing;

TEST(FeesEntryWriter, LinesAreCanonicalWithEscapesAndNonAsciiNames) {
  Policy policy = parse_policy(R"({"shares":{"protocol":1000,"node":1000,"provers":1000,"lineage":4000,"data":3000},
      "accounts":{"protocol":"acct:proto\u00e9","provers":"acct:\"provers\""},
      "lineage":{"mode":"geometric","keep":5000,"past_root":{"account":"acct:\ud83d\ude00"}},
      "assets":{"\u20acUR":{}}})",
                               "policy.json");
  CallSpec spec;
  spec.call = R"(c-\"quoted\"\\\u0001\u007f)";
  spec.asset = "\xe2\x82\xac" "UR";  // €UR
  spec.payer = "acct:\xc3\xa9t\xc3\xa9";
  spec.owners = {"acct:\xef\xbf\xbd", "acct:\xf0\x9f\x98\x80"};
  spec.data = {{"acct:back\\\\slash", 3}, {"acct:z", 1}};
  StreamResult r = run_stream(policy, {}, spec.json() + "\n");
  ASSERT_FALSE(r.error) << r.error->what();
  auto lines = lines_of(r.output);
  ASSERT_EQ(lines.size(), 1u);
  json::Value entry = json::parse(lines[0], "out");
  EXPECT_EQ(json::canonical(entry), lines[0]);
  EXPECT_EQ(entry.find("body")->find("call")->text(), "c-\"quoted\"\\\x01\x7f");
  EXPECT_EQ(entry.find("body")->find("fee")->find("asset")->text(), "\xe2\x82\xac" "UR");
}

}  // namespace
}  // namespace omlkit::fees

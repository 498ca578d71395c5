// Fee policies: what a valid policy means, and that every malformed one is refused with
// the offending field named.
#include <gtest/gtest.h>

#include <string>

#include "fees/policy.h"
#include "io/error.h"

namespace omlkit::fees {
namespace {

const std::string shares = R"("shares":{"protocol":500,"node":1500,"provers":500,"lineage":5000,"data":2500})";
const std::string accounts = R"("accounts":{"protocol":"acct:protocol","provers":"acct:provers"})";
const std::string assets = R"("assets":{"OPEN":{"min_fee":"1000"},"USDC":{}})";

std::string policy_with(const std::string& lineage, const std::string& extra = "") {
  return "{" + shares + "," + accounts + "," + assets + ",\"lineage\":" + lineage + extra + "}";
}

// The message of the data error parse_policy throws, or "" when it accepts the text.
std::string refusal(const std::string& text) {
  try {
    parse_policy(text, "policy.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), exit_code::data);
    EXPECT_EQ(e.where(), "policy.json");
    return e.what();
  }
  return "";
}

TEST(FeesPolicy, FullPolicyIsReadWithEveryField) {
  Policy p = parse_policy(policy_with(R"({"mode":"geometric","keep":6000,"past_root":{"account":"acct:t"}})",
                                      R"(,"v":1,"no_data":{"account":"acct:d"},"rewards":{"pool":"acct:pool",
                                         "asset":"OPEN","tiers":[{"min_score":50,"owner":"10","evaluator":"1"},
                                         {"min_score":90,"owner":"100","evaluator":"5"}]})"),
                          "policy.json");
  EXPECT_EQ(p.share(Category::protocol), 500u);
  EXPECT_EQ(p.share(Category::data), 2500u);
  EXPECT_EQ(p.protocol_account.text(), "acct:protocol");
  EXPECT_EQ(p.lineage_mode, LineageMode::geometric);
  EXPECT_EQ(p.keep, 6000u);
  ASSERT_TRUE(p.past_root);
  EXPECT_EQ(p.past_root->text(), "acct:t");
  EXPECT_FALSE(p.no_data.category);
  EXPECT_EQ(p.no_data.account.text(), "acct:d");
  ASSERT_NE(p.find_asset("OPEN"), nullptr);
  EXPECT_TRUE(p.find_asset("OPEN")->min_fee == 1000);
  EXPECT_TRUE(p.find_asset("USDC")->min_fee == 1);  // no zero fees: the ledger has no zero postings
  EXPECT_EQ(p.find_asset("open"), nullptr);
  ASSERT_TRUE(p.rewards);
  ASSERT_EQ(p.rewards->tiers.size(), 2u);
  EXPECT_EQ(p.rewards->tiers[0].min_score, 90);  // highest first
}

TEST(FeesPolicy, DefaultsAreOwnerModeAndDataFallingBackToTheLineage) {
  Policy p = parse_policy(policy_with(R"({"mode":"owner"})"), "policy.json");
  EXPECT_EQ(p.lineage_mode, LineageMode::owner);
  ASSERT_TRUE(p.no_data.category);
  EXPECT_EQ(*p.no_data.category, Category::lineage);
  EXPECT_FALSE(p.rewards);
}

TEST(FeesPolicy, SharesNotSummingToTenThousandAreRefused) {
  std::string text = policy_with(R"({"mode":"owner"})");
  text.replace(text.find("\"data\":2500"), 11, "\"data\":2499");
  EXPECT_EQ(refusal(text), "shares: expected basis points summing to 10000, found 9999");
}

TEST(FeesPolicy, EachMalformedFieldIsRefusedByName) {
  struct Case {
    std::string text, message_start;
  };
  const Case cases[] = {
      {policy_with(R"({"mode":"owner"})", R"(,"extra":1)"), "extra: unknown policy field"},
      {policy_with(R"({"mode":"owner"})", R"(,"v":2)"), "v: this split-fees reads policy version 1"},
      {policy_with(R"({"mode":"family"})"), "lineage.mode: expected \"owner\", \"geometric\" or \"royalty\""},
      {policy_with(R"({"mode":"geometric"})"), "lineage.keep: expected an integer in [0, 10000], found nothing"},
      {policy_with(R"({"mode":"geometric","keep":10001})"), "lineage.keep: expected an integer in [0, 10000]"},
      {policy_with(R"({"mode":"owner","keep":5000})"), "lineage.keep: not used by lineage mode \"owner\""},
      {policy_with(R"({"mode":"royalty","royalty":-1})"), "lineage.royalty: expected an integer in [0, 10000]"},
      {policy_with(R"({"mode":"owner"})", R"(,"no_data":{"category":"data"})"), "no_data.category: expected"},
      {policy_with(R"({"mode":"owner"})", R"(,"no_data":{})"), "no_data: expected exactly one of"},
      {policy_with(R"({"mode":"owner"})", R"(,"rewards":{"pool":"acct:p","asset":"GOLD","tiers":[]})"),
       "rewards.asset: \"GOLD\" is not one of the policy's assets"},
      {policy_with(R"({"mode":"owner"})",
                   R"(,"rewards":{"pool":"acct:p","asset":"OPEN","tiers":[{"min_score":1,"owner":"1","evaluator":"1"},{"min_score":1,"owner":"2","evaluator":"1"}]})"),
       "rewards.tiers[1].min_score: two tiers start at 1"},
      {"{" + shares + "," + assets + R"(,"lineage":{"mode":"owner"}})", "accounts: expected an object, found nothing"},
      {"{" + shares + R"(,"accounts":{"protocol":"","provers":"acct:p"},)" + assets + R"(,"lineage":{"mode":"owner"}})",
       "accounts.protocol: expected an account name"},
      {"{" + shares + "," + accounts + R"(,"assets":{"OPEN":{"min_fee":"-1"}},"lineage":{"mode":"owner"}})",
       "assets.OPEN.min_fee: expected a decimal string below 2^128"},
      {"{" + shares + "," + accounts + R"(,"assets":{},"lineage":{"mode":"owner"}})", "assets: expected an object naming"},
      {R"({"shares":{"protocol":500}})", "shares.node: expected an integer"},
      {"[]", "policy: expected an object, found an array"},
  };
  for (const Case& c : cases) {
    std::string message = refusal(c.text);
    EXPECT_EQ(message.rfind(c.message_start, 0), 0u) << "policy: " << c.text << "\nmessage: " << message;
  }
}

TEST(FeesPolicy, AccountNamesFollowTheLedgerRule) {
  EXPECT_TRUE(valid_account_name("acct:bob"));
  EXPECT_TRUE(valid_account_name(std::string(256, 'a')));
  EXPECT_FALSE(valid_account_name(std::string(257, 'a')));
  EXPECT_FALSE(valid_account_name(""));
  EXPECT_FALSE(valid_account_name("acct\nbob"));
  EXPECT_FALSE(valid_account_name("acct\x7f"));
}

}  // namespace
}  // namespace omlkit::fees

// The split-fees stream: bad records are refused by field and line and write nothing,
// --keep-going skips them, settlement totals equal the per-call totals to the unit, and
// evaluations earn their tier's reward.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "fees_test_support.h"
#include "json/value.h"

namespace omlkit::fees {
namespace {

using namespace testing;

const std::string policy_text = R"({"v":1,
  "shares":{"protocol":500,"node":1500,"provers":500,"lineage":5000,"data":2500},
  "accounts":{"protocol":"acct:protocol","provers":"acct:provers"},
  "lineage":{"mode":"geometric","keep":6000},
  "assets":{"OPEN":{"min_fee":"1000"},"USDC":{}},
  "rewards":{"pool":"acct:pool","asset":"OPEN","tiers":[
    {"min_score":90,"owner":"5000","evaluator":"500"},{"min_score":50,"owner":"1000","evaluator":"0"}]}})";

const Policy& policy() {
  static const Policy p = parse_policy(policy_text, "policy.json");
  return p;
}

std::string good_call(const std::string& id = "c-1") {
  CallSpec c;
  c.call = id;
  c.owners = {"acct:carol", "acct:alice"};
  c.data = {{"acct:dave", 37}, {"acct:erin", 5}};
  return c.json();
}

// The record with `from` replaced by `to` (which must occur in it).
std::string edited(std::string record, const std::string& from, const std::string& to) {
  size_t at = record.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return record.replace(at, from.size(), to);
}

TEST(FeesStream, BadRecordsAreRefusedByFieldAndLineAndWriteNothing) {
  struct Case {
    std::string record, message;
  };
  const std::string call = good_call("c-2");
  const Case cases[] = {
      {edited(call, R"("payer":"acct:payer",)", ""), "payer: expected an account name (1-256 bytes of UTF-8, no control characters), found nothing"},
      {edited(call, R"("call":"c-2")", R"("call":7)"), "call: expected a non-empty string, found 7"},
      {edited(call, R"("weight":"37")", R"("weight":"0")"), "data[0].weight: expected a positive integer"},
      {edited(call, R"("weight":"37")", R"("weight":"-37")"), "data[0].weight: expected a positive integer"},
      {edited(call, R"("weight":"37")", R"("weight":37)"), "data[0].weight: expected a positive integer"},
      {edited(call, R"("weight":"5")", R"("weight":"340282366920938463463374607431768211455")"),
       "data[1].weight: the data weights sum to 2^128 or more"},
      {edited(call, R"("amount":"1000000")", R"("amount":"340282366920938463463374607431768211456")"),
       "fee.amount: expected a decimal string below 2^128, found \"340282366920938463463374607431768211456\""},
      {edited(call, R"("amount":"1000000")", R"("amount":"999")"),
       "fee.amount: 999 is below the policy's minimum fee 1000 OPEN"},
      {edited(call, R"("asset":"OPEN")", R"("asset":"GOLD")"), "fee.asset: unknown asset \"GOLD\" (not in the policy)"},
      {edited(call, R"("model":"m-0","lineage")", R"("model":"m-9","lineage")"),
       "lineage[0].model: expected the called model \"m-9\", found \"m-0\""},
      {edited(call, R"("model":"m-1")", R"("model":"m-0")"),
       "lineage[1].model: model \"m-0\" appears twice in the lineage (a cycle)"},
      {edited(call, R"("lineage":[)", R"("lineage":[],"x":[)"), "lineage: expected at least the called model"},
      {edited(call, R"("type":"attribution")", R"("type":"attribution","v":2)"),
       "v: this split-fees reads attribution version 1"},
      {edited(call, R"("type":"attribution")", R"("type":"call")"),
       "type: split-fees reads attribution and evaluation records, found \"call\""},
      {R"({"type":"attribution",)", "column 23: "},
  };
  for (const Case& c : cases) {
    StreamResult r = run_stream(policy(), {}, good_call("c-1") + "\n" + c.record + "\n" + good_call("c-3") + "\n");
    ASSERT_TRUE(r.error) << c.record;
    EXPECT_EQ(r.error->code(), exit_code::data);
    EXPECT_EQ(r.error->where().substr(r.error->where().rfind(':')), ":2");
    EXPECT_EQ(std::string(r.error->what()).rfind(c.message, 0), 0u) << "got: " << r.error->what();
    auto lines = lines_of(r.output);
    ASSERT_EQ(lines.size(), 1u) << "only the record before the bad one is written";
    EXPECT_NE(lines[0].find("\"call\":\"c-1\""), std::string::npos);
  }
}

TEST(FeesStream, LineageDeeperThanTheLimitIsRefused) {
  CallSpec c;
  c.owners.assign(max_lineage + 1, "acct:o");
  std::string record = c.json();
  StreamResult r = run_stream(policy(), {}, record + "\n");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(std::string(r.error->what()), "lineage: expected at most 64 generations, found 65");
}

TEST(FeesStream, KeepGoingSkipsEachBadRecordAndReportsIt) {
  std::string bad = edited(good_call("c-2"), R"("weight":"37")", R"("weight":"0")");
  StreamOptions options;
  options.keep_going = true;
  StreamResult r = run_stream(policy(), options, good_call("c-1") + "\n" + bad + "\n" + bad + "\n" + good_call("c-3") + "\n");
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.bad_records, 2u);
  ASSERT_EQ(r.reports.size(), 2u);
  EXPECT_NE(r.reports[0].find(":2: data[0].weight"), std::string::npos) << r.reports[0];
  EXPECT_NE(r.reports[1].find(":3: data[0].weight"), std::string::npos) << r.reports[1];
  EXPECT_EQ(lines_of(r.output).size(), 2u);
}

TEST(FeesStream, PassThroughCopiesOtherRecordsUnchanged) {
  std::string other = R"({"type":"call", "id":"x"})";
  StreamOptions options;
  options.pass_through = true;
  StreamResult r = run_stream(policy(), options, other + "\n" + good_call() + "\n");
  EXPECT_FALSE(r.error);
  auto lines = lines_of(r.output);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], other);
}

// Sums of the postings of every line, per (account, asset), and the call ids covered.
struct Totals {
  std::map<std::pair<std::string, std::string>, money::Signed> balances;
  std::vector<std::string> calls;
};

Totals totals_of(const std::string& output) {
  Totals t;
  for (const std::string& line : lines_of(output)) {
    json::Value entry = json::parse(line, "out");
    const json::Value& body = *entry.find("body");
    money::Signed sum;
    for (const json::Value& p : body.find("postings")->items()) {
      auto amount = *money::parse_signed(p.find("amount")->text());
      EXPECT_TRUE(money::add(t.balances[{p.find("account")->text(), p.find("asset")->text()}], amount));
      EXPECT_TRUE(money::add(sum, amount));
    }
    EXPECT_TRUE(sum.is_zero()) << line;
    if (const json::Value* call = body.find("call")) t.calls.push_back(call->text());
    if (const json::Value* calls = body.find("calls"))
      for (const json::Value& c : calls->items()) t.calls.push_back(c.find("call")->text());
  }
  return t;
}

TEST(FeesStream, SettlementTotalsEqualPerCallTotalsToTheUnit) {
  std::mt19937_64 rng(7);
  std::string input;
  for (int i = 0; i < 1500; ++i) {
    CallSpec c;
    c.call = "c-" + std::to_string(i);
    c.payer = "acct:payer-" + std::to_string(rng() % 7);
    c.node = "acct:node-" + std::to_string(rng() % 3);
    c.asset = rng() % 3 ? "OPEN" : "USDC";
    c.fee = 1000 + random_below_bits(rng, 1 + static_cast<int>(rng() % 100));
    c.owners.clear();
    size_t depth = 1 + rng() % 12;
    for (size_t g = 0; g < depth; ++g) c.owners.push_back("acct:owner-" + std::to_string(rng() % 9));
    for (size_t k = rng() % 6; k > 0; --k)
      c.data.push_back({"acct:data-" + std::to_string(rng() % 20), 1 + rng() % 1000});
    input += c.json() + "\n";
  }
  StreamResult per_call = run_stream(policy(), {}, input);
  ASSERT_FALSE(per_call.error);
  Totals expected = totals_of(per_call.output);
  EXPECT_EQ(expected.calls.size(), 1500u);

  for (uint64_t window : {0u, 1u, 7u, 1000u, 1500u, 5000u}) {
    StreamOptions options;
    options.settle = true;
    options.window = window;
    StreamResult settled = run_stream(policy(), options, input);
    ASSERT_FALSE(settled.error) << settled.error->what();
    size_t entries = lines_of(settled.output).size();
    EXPECT_EQ(entries, window == 0 ? 1u : (1500 + window - 1) / window) << "window " << window;
    Totals actual = totals_of(settled.output);
    EXPECT_EQ(actual.calls, expected.calls) << "window " << window;
    EXPECT_TRUE(actual.balances == expected.balances) << "window " << window;
  }
}

TEST(FeesStream, SettlementPostingsAreOneDebitPerPayerThenSortedCredits) {
  StreamOptions options;
  options.settle = true;
  StreamResult r = run_stream(policy(), options, good_call("c-1") + "\n" + good_call("c-2") + "\n");
  auto lines = lines_of(r.output);
  ASSERT_EQ(lines.size(), 1u);
  json::Value entry = json::parse(lines[0], "out");
  EXPECT_EQ(json::canonical(entry), lines[0]);
  const auto& postings = entry.find("body")->find("postings")->items();
  ASSERT_EQ(postings.size(), 8u);
  EXPECT_EQ(postings[0].find("account")->text(), "acct:payer");
  EXPECT_EQ(postings[0].find("amount")->text(), "-2000000");
  std::vector<std::string> credited;
  for (size_t i = 1; i < postings.size(); ++i) credited.push_back(postings[i].find("account")->text());
  EXPECT_TRUE(std::is_sorted(credited.begin(), credited.end()));
  EXPECT_EQ(postings[1].find("account")->text(), "acct:alice");
  EXPECT_EQ(postings[1].find("amount")->text(), "400000");
  EXPECT_EQ(postings[1].find("role")->text(), "ancestor");
}

TEST(FeesStream, SettlingTheSameCallTwiceIsRefused) {
  StreamOptions options;
  options.settle = true;
  options.window = 1;
  StreamResult r = run_stream(policy(), options, good_call("c-1") + "\n" + good_call("c-1") + "\n");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(std::string(r.error->what()), "call: \"c-1\" was already settled in this run");
}

// The ledger sums an entry's postings in order and refuses a running sum of 2^128 or
// more, so a batch closes early rather than let an asset's total fees reach 2^128.
TEST(FeesStream, SettlementBatchClosesEarlyBeforeAnAssetTotalReaches2To128) {
  const std::string max = "340282366920938463463374607431768211455";  // 2^128 - 1
  CallSpec a;
  a.fee = *money::parse_amount(max) - 1000;
  CallSpec b = a;
  b.call = "c-2";
  b.payer = "acct:other-payer";
  CallSpec small;
  small.call = "c-3";
  small.fee = 1000;  // fits with c-2 exactly: the total is 2^128 - 1
  StreamOptions options;
  options.settle = true;
  StreamResult r = run_stream(policy(), options, a.json() + "\n" + b.json() + "\n" + small.json() + "\n");
  ASSERT_FALSE(r.error) << r.error->what();
  auto lines = lines_of(r.output);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(totals_of(lines[0] + "\n").calls, (std::vector<std::string>{"c-1"}));
  Totals second = totals_of(lines[1] + "\n");  // checks the running sum never overflows
  EXPECT_EQ(second.calls, (std::vector<std::string>{"c-2", "c-3"}));
  EXPECT_EQ(money::to_string(second.balances[{"acct:payer", "OPEN"}]), "-1000");
}

TEST(FeesStream, EvaluationsEarnTheirTiersReward) {
  auto evaluation = [](const std::string& id, int score) {
    return R"({"type":"evaluation","evaluation":")" + id +
           R"(","model":"m-chat","owner":"acct:carol","evaluator":"acct:eve","score":)" + std::to_string(score) + "}\n";
  };
  StreamOptions options;
  options.with_evaluations = true;
  StreamResult r = run_stream(policy(), options, evaluation("e-1", 95) + evaluation("e-2", 50) + evaluation("e-3", 49));
  ASSERT_FALSE(r.error) << r.error->what();
  auto lines = lines_of(r.output);
  ASSERT_EQ(lines.size(), 5u);  // three evaluations, two rewards (49 is below every tier)
  EXPECT_EQ(lines[0],
            R"({"body":{"evaluation":"e-1","evaluator":"acct:eve","model":"m-chat","owner":"acct:carol","score":95},"type":"evaluation"})");
  EXPECT_EQ(lines[1],
            R"({"body":{"evaluation":"e-1","postings":[{"account":"acct:pool","amount":"-5500","asset":"OPEN"},)"
            R"({"account":"acct:carol","amount":"5000","asset":"OPEN","role":"model"},)"
            R"({"account":"acct:eve","amount":"500","asset":"OPEN","role":"evaluator"}],"reward":"e-1"},"type":"reward"})");
  // The 50 tier pays the evaluator nothing: no zero posting (the ledger refuses them).
  EXPECT_EQ(lines[3],
            R"({"body":{"evaluation":"e-2","postings":[{"account":"acct:pool","amount":"-1000","asset":"OPEN"},)"
            R"({"account":"acct:carol","amount":"1000","asset":"OPEN","role":"model"}],"reward":"e-2"},"type":"reward"})");
  EXPECT_EQ(json::parse(lines[4], "out").find("type")->text(), "evaluation");
}

TEST(FeesStream, EvaluationWithoutRewardsPolicyIsRefused) {
  Policy no_rewards = parse_policy(
      R"({"shares":{"protocol":0,"node":0,"provers":0,"lineage":10000,"data":0},
          "accounts":{"protocol":"acct:p","provers":"acct:q"},"lineage":{"mode":"owner"},"assets":{"OPEN":{}}})",
      "p.json");
  StreamResult r = run_stream(no_rewards, {},
                              R"({"type":"evaluation","evaluation":"e","model":"m","owner":"acct:o","evaluator":"acct:e","score":1})"
                              "\n");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(std::string(r.error->what()), "evaluation: the policy has no \"rewards\" section");
}

}  // namespace
}  // namespace omlkit::fees

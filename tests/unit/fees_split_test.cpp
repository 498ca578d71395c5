// Fee splits: the public vectors, hand-computed examples of each policy rule, and a
// property test against exact rational shares computed straight from the policy's
// definition (not from the split tree), plus agreement with the ledger verifier's
// flatten_split on every generated entry.
#include <gtest/gtest.h>

#include <optional>
#include <random>

#include "fees/attribution.h"
#include "fees/entry_writer.h"
#include "fees/fee_split.h"
#include "fees_test_support.h"
#include "io/error.h"
#include "json/value.h"
#include "money/split_tree.h"

namespace omlkit::fees {
namespace {

using namespace testing;

constexpr u128 B = basis_points;

// A policy as its parameters, written out as a policy file for parse_policy.
struct PolicySpec {
  uint32_t shares[category_count] = {500, 1500, 500, 5000, 2500};
  std::string mode = "owner";
  uint32_t keep = 0, royalty = 0;
  std::optional<std::string> past_root;
  std::string no_data_category = "lineage";  // or empty, with no_data_account
  std::string no_data_account;

  std::string json() const {
    std::string s = "{\"v\":1,\"shares\":{";
    for (int c = 0; c < category_count; ++c)
      s += (c ? "," : "") + std::string("\"") + category_name(static_cast<Category>(c)) +
           "\":" + std::to_string(shares[c]);
    s += "},\"accounts\":{\"protocol\":\"acct:protocol\",\"provers\":\"acct:provers\"},\"lineage\":{\"mode\":\"" +
         mode + "\"";
    if (mode == "geometric") s += ",\"keep\":" + std::to_string(keep);
    if (mode == "royalty") s += ",\"royalty\":" + std::to_string(royalty);
    if (past_root) s += ",\"past_root\":{\"account\":\"" + *past_root + "\"}";
    s += "},\"no_data\":";
    s += no_data_category.empty() ? "{\"account\":\"" + no_data_account + "\"}"
                                  : "{\"category\":\"" + no_data_category + "\"}";
    return s + ",\"assets\":{\"OPEN\":{\"min_fee\":\"1\"},\"USDC\":{\"min_fee\":\"1\"}}}";
  }
  Policy parse() const { return parse_policy(json(), "policy.json"); }
};

struct Expected {
  std::string account, role;
  Ratio share;
  u128 levels;  // apportionments on the way down: the credit is within `levels` units
};

// What each party is owed, as an exact fraction of the fee, read off the policy rules of
// man/split-fees.1 (parties with a zero weight are owed nothing and are not listed).
std::vector<Expected> expected_credits(const PolicySpec& p, const CallSpec& call) {
  uint32_t w[category_count];
  std::copy(std::begin(p.shares), std::end(p.shares), w);
  const int data = static_cast<int>(Category::data);
  bool data_to_account = false;
  if (call.data.empty() && w[data] > 0) {
    if (p.no_data_category.empty()) {
      data_to_account = true;
    } else {
      for (int c = 0; c < category_count; ++c)
        if (p.no_data_category == category_name(static_cast<Category>(c))) w[c] += w[data];
      w[data] = 0;
    }
  }
  std::vector<Expected> out;
  Ratio fee{Big(call.fee), Big(1)};
  const size_t n = call.owners.size();
  for (int c = 0; c < category_count; ++c) {
    if (w[c] == 0) continue;
    Ratio share = fee.times(w[c], B);
    switch (static_cast<Category>(c)) {
      case Category::protocol: out.push_back({"acct:protocol", "protocol", share, 1}); break;
      case Category::node: out.push_back({call.node, "node", share, 1}); break;
      case Category::provers: out.push_back({"acct:provers", "provers", share, 1}); break;
      case Category::lineage: {
        auto role = [](size_t g) { return g == 0 ? "model" : "ancestor"; };
        if (p.mode == "owner" || (p.mode == "geometric" && (p.keep == B || (n == 1 && !p.past_root))) ||
            (p.mode == "royalty" && (p.royalty == 0 || n == 1))) {
          out.push_back({call.owners[0], "model", share, 1});
        } else if (p.mode == "geometric") {
          // Generation g keeps keep/B of what reaches it, at depth g + 2.
          Ratio reach = share;
          size_t paid = p.past_root ? n : n - 1;
          for (size_t g = 0; g < paid; ++g) {
            if (p.keep > 0) out.push_back({call.owners[g], role(g), reach.times(p.keep, B), g + 2});
            reach = reach.times(B - p.keep, B);
          }
          if (p.past_root)
            out.push_back({*p.past_root, "lineage", reach, n + 1});
          else
            out.push_back({call.owners[n - 1], role(n - 1), reach, n});
        } else {
          u128 stack = u128(p.royalty) * (n - 1);
          if (stack < B) out.push_back({call.owners[0], "model", share.times(B - stack, B), 2});
          for (size_t g = 1; g < n; ++g) out.push_back({call.owners[g], "ancestor", share.times(p.royalty, B), 2});
        }
        break;
      }
      case Category::data:
        if (data_to_account) {
          out.push_back({p.no_data_account, "data", share, 1});
        } else {
          u128 total = 0;
          for (const auto& d : call.data) total += d.second;
          for (const auto& d : call.data) out.push_back({d.first, "data", share.times(d.second, total), 2});
        }
        break;
    }
  }
  return out;
}

// Splits one call the way split-fees does and returns the output line.
struct Split {
  std::string line;
  std::vector<Credit> credits;
};

Split split_call(const Policy& policy, const CallSpec& spec) {
  json::Value record = json::parse(spec.json(), "test");
  Attribution call;
  read_attribution(record, policy, "test", call);
  FeeSplit split;
  split.compute(policy, call, "test");
  Split result{"", split.credits()};
  write_fee_entry(call, split, result.line);
  // The credits point into `record`: keep only what outlives it.
  for (auto& c : result.credits) c.account = nullptr;
  return result;
}

// The postings of an output line as (account, amount, role).
struct Posting {
  std::string account, amount, role;
};

std::vector<Posting> postings_of(const json::Value& entry) {
  std::vector<Posting> out;
  for (const json::Value& p : entry.find("body")->find("postings")->items()) {
    const json::Value* role = p.find("role");
    out.push_back({p.find("account")->text(), p.find("amount")->text(), role ? role->text() : ""});
  }
  return out;
}

TEST(FeesSplit, VectorsFileSharesAreTheDataCredits) {
  json::Value vectors = json::parse(test::slurp(test::test_path("vectors/derived/fee_split_largest_remainder.json")),
                                    "fee_split_largest_remainder.json");
  const auto& cases = vectors.find("cases")->items();
  ASSERT_GE(cases.size(), 10u);
  PolicySpec spec;
  std::fill(std::begin(spec.shares), std::end(spec.shares), 0);
  spec.shares[static_cast<int>(Category::data)] = basis_points;
  Policy policy = spec.parse();
  for (const json::Value& c : cases) {
    // Built by hand (not read from a record) so that zero weights and a zero fee, which
    // split-fees refuses as input, still exercise the arithmetic.
    std::vector<json::Value> names;
    for (size_t i = 0; i < c.find("weights")->items().size(); ++i)
      names.push_back(json::Value::string("acct:d" + std::to_string(i)));
    json::Value owner = json::Value::string("acct:owner"), node = json::Value::string("acct:node");
    Attribution call{};
    call.node = &node;
    call.owners = {&owner};
    call.fee = *money::parse_amount(c.find("amount")->text());
    for (size_t i = 0; i < names.size(); ++i)
      call.data.push_back({&names[i], *money::parse_amount(c.find("weights")->items()[i].text())});
    FeeSplit split;
    split.compute(policy, call, "vector");
    const auto& shares = c.find("shares")->items();
    ASSERT_EQ(split.credits().size(), shares.size());
    for (size_t i = 0; i < shares.size(); ++i)
      EXPECT_EQ(money::to_string(split.credits()[i].amount), shares[i].text()) << "amount " << c.find("amount")->text();
  }
}

TEST(FeesSplit, VectorsFileThroughRecordsGivesTheNonZeroSharesAsPostings) {
  json::Value vectors = json::parse(test::slurp(test::test_path("vectors/derived/fee_split_largest_remainder.json")),
                                    "fee_split_largest_remainder.json");
  PolicySpec spec;
  std::fill(std::begin(spec.shares), std::end(spec.shares), 0);
  spec.shares[static_cast<int>(Category::data)] = basis_points;
  Policy policy = spec.parse();
  int checked = 0;
  for (const json::Value& c : vectors.find("cases")->items()) {
    CallSpec call;
    call.fee = *money::parse_amount(c.find("amount")->text());
    bool positive = call.fee > 0;
    for (size_t i = 0; i < c.find("weights")->items().size(); ++i) {
      u128 w = *money::parse_amount(c.find("weights")->items()[i].text());
      positive = positive && w > 0;
      call.data.push_back({"acct:d" + std::to_string(i), w});
    }
    if (!positive) continue;  // refused as input; covered by the test above
    json::Value entry = json::parse(split_call(policy, call).line, "out");
    auto postings = postings_of(entry);
    std::vector<std::string> expected;
    for (const json::Value& s : c.find("shares")->items())
      if (s.text() != "0") expected.push_back(s.text());
    ASSERT_EQ(postings.size(), expected.size() + 1);
    EXPECT_EQ(postings[0].amount, "-" + str(call.fee));
    for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(postings[i + 1].amount, expected[i]);
    ++checked;
  }
  EXPECT_GE(checked, 7);
}

TEST(FeesSplit, WorkedExampleOfTheManPage) {
  PolicySpec spec;
  spec.mode = "geometric";
  spec.keep = 6000;
  CallSpec call;
  call.payer = "acct:bob";
  call.node = "acct:node-7";
  call.owners = {"acct:carol", "acct:alice"};
  call.data = {{"acct:dave", 37}, {"acct:erin", 5}};
  auto postings = postings_of(json::parse(split_call(spec.parse(), call).line, "out"));
  // 1,000,000 at 500/1500/500/5000/2500 bp; lineage 500,000 as 60% : 40%; data 250,000 as
  // 37 : 5 = 220,238.09 : 29,761.90, the one unit left going to the larger remainder.
  std::vector<std::pair<std::string, std::string>> expected = {
      {"acct:bob", "-1000000"},   {"acct:protocol", "50000"}, {"acct:node-7", "150000"}, {"acct:provers", "50000"},
      {"acct:carol", "300000"},   {"acct:alice", "200000"},   {"acct:dave", "220238"},   {"acct:erin", "29762"}};
  ASSERT_EQ(postings.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(postings[i].account, expected[i].first);
    EXPECT_EQ(postings[i].amount, expected[i].second);
  }
}

TEST(FeesSplit, RoyaltyModePaysEachAncestorItsRoyaltyAndTheOwnerTheRest) {
  PolicySpec spec;
  std::fill(std::begin(spec.shares), std::end(spec.shares), 0);
  spec.shares[static_cast<int>(Category::lineage)] = basis_points;
  spec.mode = "royalty";
  spec.royalty = 1000;
  CallSpec call;
  call.fee = 10001;
  call.owners = {"acct:a", "acct:b", "acct:c"};
  auto postings = postings_of(json::parse(split_call(spec.parse(), call).line, "out"));
  ASSERT_EQ(postings.size(), 4u);
  // 8000 : 1000 : 1000 of 10001 = 8000.8, 1000.1, 1000.1 -> the unit left goes to the owner.
  EXPECT_EQ(postings[1].amount, "8001");
  EXPECT_EQ(postings[1].role, "model");
  EXPECT_EQ(postings[2].amount, "1000");
  EXPECT_EQ(postings[2].role, "ancestor");
  EXPECT_EQ(postings[3].amount, "1000");
}

TEST(FeesSplit, RoyaltyStackOverOneHundredPercentIsRefused) {
  PolicySpec spec;
  spec.mode = "royalty";
  spec.royalty = 2500;
  Policy policy = spec.parse();
  CallSpec call;
  call.owners = {"acct:a", "acct:b", "acct:c", "acct:d", "acct:e"};  // 4 x 2500 = 10000: allowed
  EXPECT_NO_THROW(split_call(policy, call));
  call.owners.push_back("acct:f");  // 5 x 2500 = 12500
  try {
    split_call(policy, call);
    FAIL() << "expected the royalty stack to be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), exit_code::data);
    EXPECT_NE(std::string(e.what()).find("royalty stack is over 100%"), std::string::npos) << e.what();
  }
}

TEST(FeesSplit, GeometricPastRootSendsWhatClimbsPastTheRootToItsAccount) {
  PolicySpec spec;
  std::fill(std::begin(spec.shares), std::end(spec.shares), 0);
  spec.shares[static_cast<int>(Category::lineage)] = basis_points;
  spec.mode = "geometric";
  spec.keep = 5000;
  spec.past_root = "acct:treasury";
  CallSpec call;
  call.fee = 1000;
  call.owners = {"acct:a"};  // a root model: half stays, half has no ancestor to go to
  auto postings = postings_of(json::parse(split_call(spec.parse(), call).line, "out"));
  ASSERT_EQ(postings.size(), 3u);
  EXPECT_EQ(postings[1].account, "acct:a");
  EXPECT_EQ(postings[1].amount, "500");
  EXPECT_EQ(postings[2].account, "acct:treasury");
  EXPECT_EQ(postings[2].amount, "500");
  EXPECT_EQ(postings[2].role, "lineage");
}

TEST(FeesSplit, NoDataWeightsMovesTheDataShareToTheFallback) {
  CallSpec call;  // no data weights
  PolicySpec to_lineage;
  auto postings = postings_of(json::parse(split_call(to_lineage.parse(), call).line, "out"));
  ASSERT_EQ(postings.size(), 5u);
  EXPECT_EQ(postings[4].account, "acct:owner-0");
  EXPECT_EQ(postings[4].amount, "750000");  // lineage 5000 + data 2500 bp

  PolicySpec to_account;
  to_account.no_data_category.clear();
  to_account.no_data_account = "acct:data-treasury";
  postings = postings_of(json::parse(split_call(to_account.parse(), call).line, "out"));
  ASSERT_EQ(postings.size(), 6u);
  EXPECT_EQ(postings[5].account, "acct:data-treasury");
  EXPECT_EQ(postings[5].amount, "250000");
  EXPECT_EQ(postings[5].role, "data");
}

// Random policies and calls: every credit is within its depth of the exact share, the
// credits sum to the fee, the line is canonical JSON, and the verifier's flatten_split of
// the recorded tree gives exactly the postings.
TEST(FeesSplit, RandomCallsSumExactlyStayWithinOneUnitPerLevelAndMatchTheVerifier) {
  std::mt19937_64 rng(20261122);
  auto pick = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
  int calls = 0, big_data_calls = 0, deep_calls = 0;
  // A geometric lineage nests two JSON levels per generation: 64 generations need ~132.
  json::ParseOptions deep;
  deep.max_depth = 200;
  for (int round = 0; round < 3000; ++round) {
    PolicySpec spec;
    // Random basis points summing to 10000, with zeros now and then.
    uint32_t cut[category_count - 1];
    for (auto& c : cut) c = pick(4) == 0 ? 0 : static_cast<uint32_t>(pick(basis_points + 1));
    std::sort(std::begin(cut), std::end(cut));
    for (int c = 0; c < category_count; ++c)
      spec.shares[c] = (c == category_count - 1 ? basis_points : cut[c]) - (c == 0 ? 0 : cut[c - 1]);
    const char* modes[] = {"owner", "geometric", "royalty"};
    spec.mode = modes[pick(3)];
    spec.keep = pick(5) == 0 ? (pick(2) ? 0 : basis_points) : static_cast<uint32_t>(pick(basis_points + 1));
    if (spec.mode == "geometric" && pick(3) == 0) spec.past_root = "acct:past-root";
    if (pick(3) == 0) {
      spec.no_data_category.clear();
      spec.no_data_account = "acct:data-fallback";
    } else {
      const char* targets[] = {"protocol", "node", "provers", "lineage"};
      spec.no_data_category = targets[pick(4)];
    }

    CallSpec call;
    call.call = "c-" + std::to_string(round);
    call.payer = "acct:payer-" + std::to_string(pick(5));
    call.node = "acct:node-" + std::to_string(pick(5));
    int bits = 1 + static_cast<int>(pick(128));
    call.fee = std::max<u128>(1, random_below_bits(rng, bits));
    size_t depth = 1 + pick(pick(4) == 0 ? 50 : 4);
    deep_calls += depth >= 40;
    call.owners.clear();
    for (size_t g = 0; g < depth; ++g) call.owners.push_back("acct:owner-" + std::to_string(pick(depth + 1)));
    spec.royalty = depth > 1 ? static_cast<uint32_t>(pick(basis_points / (depth - 1) + 1)) : 100;
    size_t contributors = pick(3) == 0 ? 0 : 1 + pick(20);
    if (round % 300 == 7) contributors = 10000, ++big_data_calls;
    int weight_bits = 1 + static_cast<int>(pick(pick(2) ? 20 : 100));
    for (size_t i = 0; i < contributors; ++i)
      call.data.push_back({"acct:data-" + std::to_string(pick(contributors + 3)),
                           std::max<u128>(1, random_below_bits(rng, weight_bits))});

    Policy policy = spec.parse();
    Split split = split_call(policy, call);
    auto expected = expected_credits(spec, call);
    ASSERT_EQ(split.credits.size(), expected.size()) << spec.json() << "\n" << call.json();
    u128 total = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      const Credit& c = split.credits[i];
      total += c.amount;
      ASSERT_EQ(std::string(c.role), expected[i].role) << i;
      ASSERT_TRUE(within(c.amount, expected[i].share, expected[i].levels))
          << "credit " << i << " = " << str(c.amount) << " is not within " << str(expected[i].levels)
          << " of its exact share\n"
          << spec.json() << "\n"
          << call.json();
    }
    ASSERT_EQ(total, call.fee);

    json::Value entry = json::parse(split.line, "out", deep);
    ASSERT_EQ(json::canonical(entry) + "\n", split.line);
    auto postings = postings_of(entry);
    auto recomputed = money::flatten_split(*entry.find("body")->find("split"), call.fee, "out");
    size_t k = 1;
    for (size_t i = 0; i < recomputed.size(); ++i) {
      ASSERT_EQ(recomputed[i].amount, split.credits[i].amount);
      ASSERT_EQ(recomputed[i].account, expected[i].account);
      ASSERT_EQ(recomputed[i].role, expected[i].role);
      if (recomputed[i].amount == 0) continue;
      ASSERT_LT(k, postings.size());
      EXPECT_EQ(postings[k].account, recomputed[i].account);
      EXPECT_EQ(postings[k].amount, str(recomputed[i].amount));
      EXPECT_EQ(postings[k].role, recomputed[i].role);
      ++k;
    }
    EXPECT_EQ(k, postings.size());
    EXPECT_EQ(postings[0].account, call.payer);
    EXPECT_EQ(postings[0].amount, "-" + str(call.fee));
    ++calls;
  }
  EXPECT_EQ(calls, 3000);
  EXPECT_GE(big_data_calls, 10);
  EXPECT_GE(deep_calls, 50);
}

}  // namespace
}  // namespace omlkit::fees

// Amounts and largest-remainder splits against the public vectors and exact arithmetic.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "io/error.h"
#include "json/value.h"
#include "money/amount.h"
#include "money/split_tree.h"
#include "test_support.h"

using namespace omlkit;
using namespace omlkit::money;

TEST(Amount, parses_exactly_the_decimal_strings_below_2_128) {
  EXPECT_EQ(parse_amount("0"), u128(0));
  EXPECT_EQ(to_string(*parse_amount("340282366920938463463374607431768211455")),
            "340282366920938463463374607431768211455");
  for (const char* bad : {"", "-1", "01", "1.0", " 1", "1e3", "340282366920938463463374607431768211456",
                          "9999999999999999999999999999999999999999"})
    EXPECT_FALSE(parse_amount(bad)) << bad;
  EXPECT_FALSE(parse_signed("-0"));
  EXPECT_EQ(to_string(*parse_signed("-340282366920938463463374607431768211455")),
            "-340282366920938463463374607431768211455");
}

// One digit per 128-bit division: slow, and independent of append_decimal's 19-digit chunks.
static std::string decimal_by_single_digits(u128 v) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  return digits;
}

TEST(Amount, decimal_output_is_exact_at_every_64_bit_and_10_19_boundary) {
  const u128 two64 = u128(1) << 64;
  const u128 ten19 = 10000000000000000000ull;
  for (u128 v : {u128(0), u128(9), u128(10), two64 - 1, two64, two64 + 1, ten19 - 1, ten19, ten19 * ten19 - 1,
                 ten19 * ten19, ten19 * ten19 + 1, u128_max - 1, u128_max}) {
    std::string out = "x";
    append_decimal(v, out);
    EXPECT_EQ(out, "x" + decimal_by_single_digits(v));
  }
  std::mt19937_64 rng(3);
  for (int i = 0; i < 10000; ++i) {
    u128 v = (u128(rng()) << 64 | rng()) >> (rng() % 128);
    ASSERT_EQ(to_string(v), decimal_by_single_digits(v));
    ASSERT_EQ(*parse_amount(to_string(v)), v);
  }
}

TEST(Amount, signed_addition_is_exact_and_refuses_overflow) {
  Signed a = *parse_signed("-5");
  ASSERT_TRUE(add(a, *parse_signed("3")));
  EXPECT_EQ(to_string(a), "-2");
  ASSERT_TRUE(add(a, *parse_signed("2")));
  EXPECT_EQ(to_string(a), "0");
  EXPECT_FALSE(a.negative);
  Signed big = Signed::of(u128_max);
  EXPECT_FALSE(add(big, Signed::of(1)));
  EXPECT_EQ(big.magnitude, u128_max);
  EXPECT_LT(compare(*parse_signed("-7"), *parse_signed("3")), 0);
  EXPECT_GT(compare(*parse_signed("-3"), *parse_signed("-7")), 0);
}

TEST(Split, public_vectors) {
  auto doc = nlohmann::json::parse(test::slurp(test::test_path("vectors/derived/fee_split_largest_remainder.json")));
  int cases = 0;
  for (const auto& c : doc["cases"]) {
    std::vector<u128> weights;
    for (const auto& w : c["weights"]) weights.push_back(*parse_amount(w.get<std::string>()));
    auto shares = largest_remainder_split(*parse_amount(c["amount"].get<std::string>()), weights);
    ASSERT_TRUE(shares);
    std::vector<std::string> got;
    for (u128 s : *shares) got.push_back(to_string(s));
    EXPECT_EQ(got, c["shares"].get<std::vector<std::string>>()) << c.dump();
    ++cases;
  }
  EXPECT_EQ(cases, 10);
}

TEST(Split, mul_div_matches_native_arithmetic_and_bit_long_division) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 20000; ++i) {
    u128 a = rng() >> (rng() % 64), b = rng() >> (rng() % 64), d = (rng() >> (rng() % 64)) | 1;
    auto qr = mul_div(a, b, d);
    EXPECT_TRUE(qr.quotient == (a * b) / d && qr.remainder == (a * b) % d);
  }
  // Wide case: (2^128-1) * (2^128-1) / (2^128-1) = 2^128-1, remainder 0.
  auto qr = mul_div(u128_max, u128_max, u128_max);
  EXPECT_TRUE(qr.quotient == u128_max && qr.remainder == 0);
  // (2^128-1) * 3 / 4: quotient floor(3 * (2^128-1) / 4), remainder 1.
  qr = mul_div(u128_max, 3, 4);
  EXPECT_EQ(to_string(qr.quotient), "255211775190703847597530955573826158591");
  EXPECT_TRUE(qr.remainder == 1);
}

TEST(Split, random_splits_sum_exactly_and_stay_within_one_unit) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 3000; ++round) {
    size_t n = 1 + rng() % 60;
    std::vector<u128> weights(n);
    u128 total = 0;
    for (auto& w : weights) total += (w = rng() % 1000);
    if (total == 0) weights[0] = total = 1;
    u128 amount = rng() >> (rng() % 40);
    auto shares = largest_remainder_split(amount, weights);
    ASSERT_TRUE(shares);
    u128 sum = 0;
    for (size_t i = 0; i < n; ++i) {
      sum += (*shares)[i];
      // |s_i - A w_i / W| < 1  <=>  |s_i W - A w_i| < W (all below 2^128 here).
      u128 exact = amount * weights[i], scaled = (*shares)[i] * total;
      EXPECT_TRUE(scaled > exact ? scaled - exact < total : exact - scaled < total);
    }
    EXPECT_TRUE(sum == amount);
  }
  EXPECT_FALSE(largest_remainder_split(10, std::vector<u128>{0, 0}));
  EXPECT_FALSE(largest_remainder_split(10, std::vector<u128>{u128_max, 1}));
}

TEST(SplitTree, nested_groups_split_level_by_level) {
  json::Value split = json::parse(R"([
    {"weight":"7000","role":"model","parts":[{"weight":"1","account":"carol"},{"weight":"1","account":"alice"}]},
    {"weight":"3000","role":"data","parts":[{"weight":"37","account":"dave"},{"weight":"5","account":"erin","role":"x"}]}])", "t");
  auto credits = flatten_split(split, 1000001, "t");
  ASSERT_EQ(credits.size(), 4u);
  // 1000001 -> 700001 / 300000 (remainder to the larger fraction), then 350001/350000 and
  // 300000*37/42 = 264285.71 -> 264286, 35714.
  EXPECT_TRUE(credits[0].amount == 350001 && credits[1].amount == 350000);
  EXPECT_TRUE(credits[2].amount == 264286 && credits[3].amount == 35714);
  EXPECT_EQ(credits[0].role, "model");
  EXPECT_EQ(credits[3].role, "x");
}

TEST(SplitTree, malformed_nodes_are_named) {
  auto message = [](const char* text) {
    try {
      flatten_split(json::parse(text, "t"), 10, "f:3");
    } catch (const Error& e) {
      EXPECT_EQ(e.where(), "f:3");
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(message(R"([{"weight":"1"}])").find("split[0]: expected exactly one of"), std::string::npos);
  EXPECT_NE(message(R"([{"weight":"-1","account":"a"}])").find("split[0].weight"), std::string::npos);
  EXPECT_NE(message(R"([{"weight":"0","account":"a"}])").find("sum to zero"), std::string::npos);
  EXPECT_NE(message(R"([{"weight":"1","parts":[]}])").find("split[0].parts: expected a non-empty"), std::string::npos);
}

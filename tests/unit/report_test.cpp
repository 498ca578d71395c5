// The HTML report's building blocks: exact amounts, escaping, sums that equal their rows,
// and the ledger state it reads after a refused entry.
#include <gtest/gtest.h>

#include "crypto/ed25519.h"
#include "crypto/signed_note.h"
#include "io/error.h"
#include "json/value.h"
#include "ledger/accounts.h"
#include "report/digest.h"
#include "report/html.h"
#include "report/report.h"
#include "report/sections.h"

using namespace omlkit;
using namespace omlkit::report;

namespace {

json::Value parse(const std::string& text) { return json::parse(text, "test"); }

TEST(ReportAmounts, base_units_in_declared_decimals_exactly) {
  EXPECT_EQ(format_amount(money::u128(1234567), 6), "1.234567");
  EXPECT_EQ(format_amount(money::u128(5), 6), "0.000005");
  EXPECT_EQ(format_amount(money::u128(0), 2), "0.00");
  EXPECT_EQ(format_amount(money::u128(12345), 0), "12,345");
  EXPECT_EQ(format_amount(money::u128(123), 0), "123");
  EXPECT_EQ(format_amount(money::u128(1000000000000), 6), "1,000,000.000000");
  EXPECT_EQ(format_amount(money::Signed::of(1500, true), 3), "-1.500");
  // 2^128 - 1 with 38 decimals: no digit lost (a double has 17).
  EXPECT_EQ(format_amount(money::u128_max, 38), "3.40282366920938463463374607431768211455");
  EXPECT_EQ(format_amount(money::u128_max, 0), "340,282,366,920,938,463,463,374,607,431,768,211,455");
}

TEST(ReportAmounts, a_total_that_passes_2_to_the_128_says_so) {
  Total t;
  t.add(money::u128_max);
  EXPECT_FALSE(t.overflow);
  t.add(money::u128(1));
  EXPECT_TRUE(t.overflow);
  EXPECT_EQ(format_total(t, 6), "over 2^128 base units");
}

TEST(ReportEscaping, markup_characters_and_controls_cannot_escape_their_place) {
  EXPECT_EQ(escaped("<script>a&b</script>"), "&lt;script&gt;a&amp;b&lt;/script&gt;");
  EXPECT_EQ(escaped("x\" onload='y'"), "x&quot; onload=&#39;y&#39;");
  EXPECT_EQ(escaped(std::string("a\0b\x1b\x7f", 5)), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(escaped("caf\xC3\xA9 \xE2\x82\xAC"), "caf\xC3\xA9 \xE2\x82\xAC");  // UTF-8 kept
}

TEST(ReportTables, top_rows_and_the_rest_sum_to_the_total) {
  std::map<std::string, Total> sums;
  money::u128 expected = 0;
  for (int i = 1; i <= 100; ++i) {
    sums["acct:" + std::to_string(i)].add(money::u128(i * 1000 + 7));
    expected += money::u128(i * 1000 + 7);
  }
  TopRows rows = top_rows_of(sums, 10);
  ASSERT_EQ(rows.top.size(), 10u);
  EXPECT_EQ(rows.top[0].name, "acct:100");  // largest first
  EXPECT_EQ(rows.rest_count, 90u);
  Total recomputed = rows.rest;
  for (const Ranked& r : rows.top) recomputed.add(r.total);
  EXPECT_EQ(recomputed.value.magnitude, expected);
  EXPECT_EQ(rows.total.value.magnitude, expected);
}

// The accounting the report reads after a failure must be that of the entries before it.
TEST(ReportLedgerState, a_refused_posting_leaves_the_balances_as_they_were) {
  uint8_t seed[32] = {7};
  crypto::SigningKey key = crypto::SigningKey::from_seed(seed);
  std::string vkey = crypto::verifier_key_string(crypto::make_verifier("o", key.public_key()));
  ledger::Accounts accounts;
  accounts.apply("genesis", parse(R"({"origin":"o","vkey":")" + vkey + "\"}"), 0, "l:1");
  accounts.apply("asset.declare", parse(R"({"asset":"OPEN","decimals":6,"issuer":"treasury"})"), 1, "l:2");
  accounts.apply("transfer",
                 parse(R"({"transfer":"t1","postings":[{"account":"treasury","asset":"OPEN","amount":"-10"},)"
                       R"({"account":"bob","asset":"OPEN","amount":"10"}]})"),
                 2, "l:3");
  // bob pays 15 of his 10: refused after both postings were applied, so both are undone.
  EXPECT_THROW(accounts.apply("transfer",
                              parse(R"({"transfer":"t2","postings":[{"account":"bob","asset":"OPEN","amount":"-15"},)"
                                    R"({"account":"carol","asset":"OPEN","amount":"15"}]})"),
                              3, "l:4"),
               Error);
  std::vector<ledger::Balance> b = accounts.balances();
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].account, "bob");
  EXPECT_EQ(money::to_string(b[0].amount), "10");
  EXPECT_EQ(b[1].account, "treasury");
  EXPECT_EQ(money::to_string(b[1].amount), "-10");
}

TEST(ReportDigest, fee_flows_are_summed_by_role_model_payer_and_day) {
  LedgerDigest d;
  d.add(1, "2026-11-25T09:00:00.000Z", "asset.declare", parse(R"({"asset":"OPEN","decimals":6,"issuer":"t"})"));
  auto fee = [&](const char* ts, const char* call, const char* model, const char* amount, const char* a1,
                 const char* a2) {
    d.add(2, ts, "inference.fee",
          parse(std::string(R"({"call":")") + call + R"(","model":")" + model + R"(","payer":"bob","postings":[)" +
                R"({"account":"bob","asset":"OPEN","amount":"-)" + amount + R"("},)" +
                R"({"account":"carol","asset":"OPEN","amount":")" + a1 + R"(","role":"model"},)" +
                R"({"account":"dave","asset":"OPEN","amount":")" + a2 + R"(","role":"data"}]})"));
  };
  fee("2026-11-25T10:00:00.000Z", "c1", "m-chat", "100", "70", "30");
  fee("2026-11-26T10:00:00.000Z", "c2", "m-chat", "50", "35", "15");
  fee("2026-11-26T11:00:00.000Z", "c3", "m-base", "10", "7", "3");
  const FeeFlows& f = d.fees.at("OPEN");
  EXPECT_EQ(f.entries, 3u);
  EXPECT_EQ(f.paid.value.magnitude, money::u128(160));
  EXPECT_EQ(f.role.at("model").value.magnitude, money::u128(112));
  EXPECT_EQ(f.role.at("data").value.magnitude, money::u128(48));
  EXPECT_EQ(f.model.at("m-chat").value.magnitude, money::u128(150));
  EXPECT_EQ(f.model_entries.at("m-base"), 1u);
  EXPECT_EQ(f.day_role.at("2026-11-26").at("model").value.magnitude, money::u128(42));
  EXPECT_EQ((f.model_party.at({"m-chat", "dave"}).value.magnitude), money::u128(45));
  EXPECT_EQ(d.decimals("OPEN"), 6);
}

}  // namespace

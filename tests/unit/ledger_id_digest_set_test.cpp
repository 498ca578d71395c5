// ledger-verify's bounded memory (ledger/id_digest_set.h, ledger/balance_table.h): ids kept
// as digests find every repeat, whether it stays in memory, lands in one run or spans
// runs merged many times over; each answer is checked against a brute-force map.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "io/error.h"
#include "ledger/balance_table.h"
#include "ledger/id_digest_set.h"
#include "test_support.h"

using namespace omlkit;
using namespace omlkit::ledger;

namespace {

IdDigester fixed_digester() { return IdDigester(std::array<uint8_t, 32>{1, 2, 3}); }

// The first repeat a one-pass audit meets: the smallest seq at which an id is claimed a
// second time, and the seq of its first claim.
std::optional<std::pair<uint64_t, uint64_t>> brute_force_first_repeat(const std::vector<std::string>& ids) {
  std::map<std::string, uint64_t> first;
  for (uint64_t seq = 0; seq < ids.size(); ++seq) {
    auto [it, fresh] = first.emplace(ids[seq], seq);
    if (!fresh) return std::make_pair(it->second, seq);
  }
  return std::nullopt;
}

// Feeds ids[seq] in order; a repeat found in memory ends the pass there (as Accounts
// throws), one found by the merge comes from finish().
std::optional<std::pair<uint64_t, uint64_t>> audit(const std::vector<std::string>& ids, uint64_t budget,
                                                   const std::string& dir, uint64_t* runs = nullptr) {
  IdDigester digester = fixed_digester();
  IdDigestSet set(budget, dir);
  uint64_t limit = ids.size();
  std::optional<std::pair<uint64_t, uint64_t>> in_memory;
  for (uint64_t seq = 0; seq < ids.size(); ++seq) {
    uint64_t first;
    if (!set.insert(digester("transfer", ids[seq]), seq, &first)) {
      in_memory = std::make_pair(first, seq);
      limit = seq;
      break;
    }
  }
  auto merged = set.finish(limit);
  if (runs) *runs = set.runs_written();
  if (merged) return std::make_pair(merged->first_seq, merged->second_seq);
  return in_memory;
}

std::vector<std::string> distinct_ids(size_t n) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back("t-" + std::to_string(i));
  return ids;
}

}  // namespace

TEST(IdDigester, equal_ids_share_a_digest_and_spaces_and_keys_separate_them) {
  IdDigester a = fixed_digester();
  IdDigester b(std::array<uint8_t, 32>{9});
  EXPECT_EQ(a("call", "c-1"), a("call", "c-1"));
  EXPECT_FALSE(a("call", "c-1") == a("call", "c-2"));
  EXPECT_FALSE(a("call", "c-1") == a("transfer", "c-1"));
  // The NUL between space and id: ("ab", "c") and ("a", "bc") differ.
  EXPECT_FALSE(a("ab", "c") == a("a", "bc"));
  EXPECT_FALSE(a("call", "c-1") == b("call", "c-1"));
  EXPECT_FALSE(IdDigester()("call", "c-1") == IdDigester()("call", "c-1"));  // a random key each
}

TEST(IdDigestSet, no_repeat_with_or_without_spills) {
  test::TempDir dir;
  uint64_t runs = 0;
  EXPECT_FALSE(audit(distinct_ids(5000), 0, dir.file("."), &runs));
  EXPECT_EQ(runs, 0u);
  EXPECT_FALSE(audit(distinct_ids(5000), 1024, dir.file("."), &runs));
  EXPECT_GT(runs, 16u);  // 42 slots a run: well past one merge of 16 runs
}

TEST(IdDigestSet, a_repeat_in_memory_is_found_when_claimed) {
  test::TempDir dir;
  IdDigester digester = fixed_digester();
  IdDigestSet set(0, dir.file("."));
  uint64_t first = 0;
  EXPECT_TRUE(set.insert(digester("call", "c-1"), 0, &first));
  EXPECT_TRUE(set.insert(digester("call", "c-2"), 1, &first));
  EXPECT_FALSE(set.insert(digester("call", "c-1"), 7, &first));
  EXPECT_EQ(first, 0u);
  EXPECT_FALSE(set.finish(8));
}

TEST(IdDigestSet, a_repeat_across_runs_is_found_by_the_merge_at_its_second_claim) {
  test::TempDir dir;
  std::vector<std::string> ids = distinct_ids(1000);
  ids.push_back("t-5");  // seq 1000 repeats seq 5, spilled long ago
  uint64_t runs = 0;
  auto found = audit(ids, 1024, dir.file("."), &runs);
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, std::make_pair(uint64_t(5), uint64_t(1000)));
  EXPECT_GT(runs, 16u);
}

TEST(IdDigestSet, a_repeat_within_the_first_run_is_found_when_claimed) {
  test::TempDir dir;
  // 10 ids then a repeat of the 3rd: all within the first run's 31 records (42 slots).
  std::vector<std::string> ids = distinct_ids(10);
  ids.push_back("t-3");
  for (std::string& more : distinct_ids(200)) ids.push_back("u-" + more);
  auto found = audit(ids, 1024, dir.file("."));
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, std::make_pair(uint64_t(3), uint64_t(10)));
}

TEST(IdDigestSet, the_earliest_second_claim_wins_over_later_and_triple_repeats) {
  test::TempDir dir;
  std::vector<std::string> ids = distinct_ids(1000);
  ids[900] = "t-7";  // 7 again at 900 and at 950
  ids[950] = "t-7";
  ids[600] = "t-400";  // claimed at 400 and 600: but seq 600 comes first
  ids[800] = "t-2";
  // With spills the pass cannot stop at 600: the merge must still answer (400, 600).
  auto found = audit(ids, 1024, dir.file("."));
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, *brute_force_first_repeat(ids));
  EXPECT_EQ(*found, std::make_pair(uint64_t(400), uint64_t(600)));
}

TEST(IdDigestSet, repeats_after_the_limit_are_not_reported) {
  test::TempDir dir;
  IdDigester digester = fixed_digester();
  IdDigestSet set(1024, dir.file("."));
  uint64_t first;
  for (uint64_t seq = 0; seq < 300; ++seq) ASSERT_TRUE(set.insert(digester("t", std::to_string(seq)), seq, &first));
  ASSERT_TRUE(set.insert(digester("t", "1"), 300, &first));  // spilled: not found now
  EXPECT_FALSE(set.finish(300));  // the pass failed at 300 for another reason
}

TEST(IdDigestSet, random_ledgers_agree_with_brute_force_at_every_budget) {
  test::TempDir dir;
  std::mt19937_64 rng(16);
  for (int round = 0; round < 40; ++round) {
    size_t n = 1 + rng() % 3000;
    std::vector<std::string> ids;
    for (size_t i = 0; i < n; ++i) ids.push_back("id-" + std::to_string(rng() % (round % 2 ? n * 40 : n * 400)));
    auto expected = brute_force_first_repeat(ids);
    for (uint64_t budget : {uint64_t(0), uint64_t(1024), uint64_t(5000), uint64_t(100000)}) {
      auto found = audit(ids, budget, dir.file("."));
      ASSERT_EQ(found.has_value(), expected.has_value()) << "round " << round << " budget " << budget;
      if (expected) {
        EXPECT_EQ(*found, *expected) << "round " << round << " budget " << budget;
      }
    }
  }
}

TEST(IdDigestSet, the_table_stays_within_its_budget) {
  test::TempDir dir;
  IdDigester digester = fixed_digester();
  for (uint64_t budget : {uint64_t(1024), uint64_t(100000), uint64_t(1) << 20}) {
    IdDigestSet set(budget, dir.file("."));
    uint64_t first;
    for (uint64_t seq = 0; seq < 100000; ++seq) ASSERT_TRUE(set.insert(digester("t", std::to_string(seq)), seq, &first));
    EXPECT_LE(set.peak_bytes(), budget);
    EXPECT_EQ(set.records_spilled() > 0, true);
    EXPECT_FALSE(set.finish(100000));
  }
}

TEST(IdDigestSet, an_unwritable_spill_directory_is_an_error_not_a_pass) {
  IdDigester digester = fixed_digester();
  IdDigestSet set(1024, "/nonexistent/spill");
  uint64_t first;
  try {
    for (uint64_t seq = 0; seq < 100; ++seq) set.insert(digester("t", std::to_string(seq)), seq, &first);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), exit_code::cannot_create);
    EXPECT_EQ(e.where(), "/nonexistent/spill");
  }
}

TEST(MemorySize, parses_suffixes_and_refuses_garbage_and_overflow) {
  EXPECT_EQ(parse_memory_size("4096"), 4096u);
  EXPECT_EQ(parse_memory_size("1K"), 1024u);
  EXPECT_EQ(parse_memory_size("512M"), uint64_t(512) << 20);
  EXPECT_EQ(parse_memory_size("512MB"), uint64_t(512) << 20);
  EXPECT_EQ(parse_memory_size("2g"), uint64_t(2) << 30);
  EXPECT_EQ(parse_memory_size("1024T"), uint64_t(1) << 50);
  EXPECT_EQ(parse_memory_size("0"), 0u);  // parsed; ledger-verify refuses it
  for (const char* bad : {"", "M", "-1", "1.5G", "12Q", "512 M", "1025T", "99999999999999999999999", "1MBB", "0x10"})
    EXPECT_FALSE(parse_memory_size(bad)) << bad;
}

TEST(BalanceTable, agrees_with_a_map_of_names) {
  IdDigester digester = fixed_digester();
  BalanceTable table;
  std::map<std::string, money::Signed> expected;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    std::string key = "acct:" + std::to_string(rng() % 50000) + "\nOPEN";
    money::Signed value = money::Signed::of((money::u128(rng()) << 64) | rng(), rng() % 2);
    if (rng() % 3 == 0) {
      auto it = expected.find(key);
      EXPECT_EQ(table.get(digester("balance", key)), it == expected.end() ? money::Signed{} : it->second) << key;
    } else {
      table.set(digester("balance", key), value);
      expected[key] = value;
    }
  }
  for (const auto& [key, value] : expected) EXPECT_EQ(table.get(digester("balance", key)), value);
  EXPECT_EQ(table.size(), expected.size());
  EXPECT_EQ(table.get(digester("balance", "nobody\nOPEN")), money::Signed{});
}

// The state cache (ledger/state_cache.h): it is used only while it describes a prefix of
// its very ledger, and rows added, removed or changed behind its back are found.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <lmdb.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "attribution/lineage.h"
#include "crypto/merkle.h"
#include "io/error.h"
#include "ledger/append.h"
#include "ledger/state_cache.h"
#include "ledger/verify.h"
#include "test_support.h"

using namespace omlkit;
using namespace omlkit::ledger;

namespace {

class StateCacheTest : public ::testing::Test {
 protected:
  StateCacheTest() : key_(crypto::SigningKey::from_seed(seed_)), path_(dir_.file("ledger.jsonl")) {}

  void append(const std::vector<std::string>& lines, bool use_cache = true, std::string path = "") {
    std::vector<Submitted> entries;
    for (size_t i = 0; i < lines.size(); ++i) entries.push_back(parse_submitted(lines[i], "in:" + std::to_string(i + 1)));
    AppendOptions options;
    options.ledger_path = path.empty() ? path_ : path;
    options.key = &key_;
    options.now_millis = 1700000000000;
    options.use_cache = use_cache;
    options.warn = [this](const std::string&, const std::string& m) { warnings_.push_back(m); };
    append_batch(options, entries);
  }

  static std::vector<std::string> transfers(const std::string& prefix, int n) {
    std::vector<std::string> out{R"({"type":"asset.declare","body":{"asset":"OPEN","decimals":0,"issuer":"t"}})"};
    if (prefix != "first") out.clear();
    for (int i = 0; i < n; ++i)
      out.push_back(R"({"type":"transfer","body":{"transfer":")" + prefix + std::to_string(i) +
                    R"(","postings":[{"account":"t","asset":"OPEN","amount":"-2"},{"account":"u)" +
                    std::to_string(i % 7) + R"(","asset":"OPEN","amount":"2"}]}})");
    return out;
  }

  std::optional<CachedState> load(std::string* problem) {
    StateCache cache(path_, true);
    int fd = ::open(path_.c_str(), O_RDONLY);
    auto state = cache.load(fd, std::filesystem::file_size(path_), problem);
    ::close(fd);
    return state;
  }

  // Runs f on a write transaction of the cache's LMDB environment, as a hand edit would.
  template <class F>
  void edit(F f) {
    MDB_env* env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_mapsize(env, size_t(1) << 40);
    ASSERT_EQ(mdb_env_open(env, StateCache::path_for(path_).c_str(), MDB_NOSUBDIR, 0644), 0);
    MDB_txn* txn;
    MDB_dbi dbi;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
    f(txn, dbi);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }

  uint8_t seed_[32] = {4, 5, 6};
  test::TempDir dir_;
  crypto::SigningKey key_;
  std::string path_;
  std::vector<std::string> warnings_;
};

TEST_F(StateCacheTest, compact_range_resumed_from_its_peaks_gives_the_streamed_roots) {
  crypto::CompactRange streamed;
  for (uint64_t n = 0; n < 300; ++n) {
    crypto::CompactRange resumed(streamed.size(), streamed.peaks());
    crypto::Hash leaf = crypto::leaf_hash(std::to_string(n));
    streamed.append(leaf);
    resumed.append(leaf);
    ASSERT_EQ(resumed.root(), streamed.root()) << n;
  }
  EXPECT_THROW(crypto::CompactRange(5, {}), std::invalid_argument);
}

TEST_F(StateCacheTest, appends_through_the_cache_write_the_bytes_a_full_replay_writes) {
  std::string reference = dir_.file("reference.jsonl");
  for (int batch = 0; batch < 6; ++batch) {
    auto lines = transfers(batch == 0 ? "first" : "b" + std::to_string(batch) + "-", 5 + batch);
    append(lines);
    append(lines, false, reference);
  }
  EXPECT_EQ(test::slurp(path_), test::slurp(reference));
  EXPECT_TRUE(warnings_.empty());
  std::string problem;
  auto state = load(&problem);
  ASSERT_TRUE(state) << problem;
  EXPECT_EQ(state->head.size, verify_ledger(path_, {}).entries);
  EXPECT_EQ(state->next_offset, std::filesystem::file_size(path_));
}

TEST_F(StateCacheTest, a_row_added_or_removed_by_hand_is_found_on_load) {
  append(transfers("first", 4));
  edit([](MDB_txn* txn, MDB_dbi dbi) {
    std::string k = "bu9", v = "5";
    MDB_val mk{k.size(), k.data()}, mv{v.size(), v.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &mk, &mv, 0), 0);
  });
  std::string problem;
  EXPECT_FALSE(load(&problem));
  EXPECT_NE(problem.find("rows added or removed by hand"), std::string::npos) << problem;
  // The next append rebuilds it, saying so, and the cache is good again.
  append(transfers("x", 1));
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("rebuilding it from the ledger"), std::string::npos);
  EXPECT_TRUE(load(&problem)) << problem;

  edit([](MDB_txn* txn, MDB_dbi dbi) {
    std::string k = "bu1\nOPEN";
    MDB_val mk{k.size(), k.data()};
    ASSERT_EQ(mdb_del(txn, dbi, &mk, nullptr), 0);
  });
  EXPECT_FALSE(load(&problem));
  EXPECT_NE(problem.find("rows added or removed by hand"), std::string::npos) << problem;
}

TEST_F(StateCacheTest, a_row_rewritten_without_its_tag_is_damage_when_read) {
  append(transfers("first", 4));
  edit([](MDB_txn* txn, MDB_dbi dbi) {
    std::string k = "bu1\nOPEN", v = "1000000" + std::string(16, 'x');
    MDB_val mk{k.size(), k.data()}, mv{v.size(), v.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &mk, &mv, 0), 0);
  });
  std::string problem;
  ASSERT_TRUE(load(&problem)) << problem;  // the head and the count are intact
  StateCache cache(path_, true);
  int fd = ::open(path_.c_str(), O_RDONLY);
  ASSERT_TRUE(cache.load(fd, std::filesystem::file_size(path_), &problem));
  ::close(fd);
  std::string payload;
  EXPECT_TRUE(cache.get(state_table::balance, "u2\nOPEN", &payload));
  EXPECT_EQ(payload, "2");
  EXPECT_THROW(cache.get(state_table::balance, "u1\nOPEN", &payload), StateCacheDamaged);
}

TEST_F(StateCacheTest, attribute_reads_lineage_through_a_consistent_cache_and_finds_an_edited_row) {
  std::string d = "\"digest\":\"sha256:" + std::string(64, 'a') + "\"";
  append({R"({"type":"model.register","body":{"model":"base","owner":"alice",)" + d + "}}",
          R"({"type":"model.register","body":{"model":"chat","owner":"carol","parent":"base",)" + d + "}}"});
  append({R"({"type":"model.register","body":{"model":"tuned","owner":"erin","parent":"chat",)" + d + "}}"});
  auto lineage_text = [](const attribution::ModelRegistry& r, const std::string& m) {
    std::string out;
    auto lineage = r.lineage(m);
    for (const auto& g : *lineage) out += g.model + "/" + g.owner + " ";
    return out;
  };
  attribution::ModelRegistry replayed = attribution::ModelRegistry::from_ledger(path_, nullptr, false);
  attribution::ModelRegistry cached = attribution::ModelRegistry::from_ledger(path_);
  EXPECT_FALSE(replayed.through_cache());
  EXPECT_TRUE(cached.through_cache());
  EXPECT_EQ(lineage_text(replayed, "tuned"), "tuned/erin chat/carol base/alice ");
  EXPECT_EQ(lineage_text(cached, "tuned"), lineage_text(replayed, "tuned"));
  EXPECT_EQ(cached.entries(), replayed.entries());
  EXPECT_FALSE(cached.lineage("nobody"));

  // carol's model now says it belongs to mallory: the row's tag gives it away.
  edit([](MDB_txn* txn, MDB_dbi dbi) {
    std::string k = "mchat", v = R"(["mallory","base","1"])" + std::string(16, 'x');
    MDB_val mk{k.size(), k.data()}, mv{v.size(), v.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &mk, &mv, 0), 0);
  });
  attribution::ModelRegistry edited = attribution::ModelRegistry::from_ledger(path_);
  try {
    edited.lineage("tuned");
    FAIL() << "an edited model row was used";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), exit_code::data);
    EXPECT_NE(std::string(e.what()).find("does not match its tag"), std::string::npos) << e.what();
  }
  // A cache that names no checkpoint of this file is not used at all.
  StateCache::remove(path_);
  EXPECT_FALSE(attribution::ModelRegistry::from_ledger(path_).through_cache());
}

}  // namespace

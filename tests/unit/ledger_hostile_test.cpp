// Hostile use of the ledger library (issue 9): each test fails on the code before the fix.
//  - a settlement's postings are recomputed from the calls it records (a forged transfer
//    dressed as a settlement is refused);
//  - a compressed ledger, a repair that would start another ledger, another origin and an
//    untrusted key are refused, changing nothing;
//  - a failed write (ENOSPC) cuts the batch back off, and a failed first append leaves no file;
//  - a power cut that drops every write not yet made durable never loses a receipted entry:
//    each receipt is handed out only after its fdatasync.
#include <gtest/gtest.h>
#include <zstd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "crypto/merkle.h"
#include "io/error.h"
#include "io/file_ops.h"
#include "ledger/append.h"
#include "ledger/verify.h"
#include "test_support.h"

using namespace omlkit;
using namespace omlkit::ledger;

namespace {

class HostileTest : public ::testing::Test {
 protected:
  HostileTest() : key_(crypto::SigningKey::from_seed(seed_)), path_(dir_.file("ledger.jsonl")) {}

  AppendOptions options() {
    AppendOptions o;
    o.ledger_path = path_;
    o.key = &key_;
    o.key_path = "key.pem";
    o.origin = "test.example/ledger";
    o.now_millis = 1700000000000;
    return o;
  }
  std::vector<Submitted> parse(const std::vector<std::string>& lines) {
    std::vector<Submitted> entries;
    for (size_t i = 0; i < lines.size(); ++i) entries.push_back(parse_submitted(lines[i], "in:" + std::to_string(i + 1)));
    return entries;
  }
  // Appends; returns the exit code (0 on success) and the message as "where: what".
  int append(const std::vector<std::string>& lines, std::string* message = nullptr, AppendOptions o = {}) {
    if (o.ledger_path.empty()) o = options();
    try {
      append_batch(o, parse(lines));
      return 0;
    } catch (const Error& e) {
      if (message) *message = e.where() + ": " + e.what();
      return e.code();
    }
  }
  void setup_money() {
    ASSERT_EQ(append({R"({"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"treasury"}})",
                      R"({"type":"transfer","body":{"transfer":"t1","postings":[{"account":"treasury","asset":"OPEN","amount":"-9000000"},{"account":"bob","asset":"OPEN","amount":"9000000"}]}})"}),
              0);
  }
  static std::vector<std::string> transfers(const std::string& prefix, int n) {
    std::vector<std::string> out;
    for (int i = 1; i <= n; ++i)
      out.push_back(R"({"type":"transfer","body":{"transfer":")" + prefix + std::to_string(i) +
                    R"(","postings":[{"account":"treasury","asset":"OPEN","amount":"-1"},{"account":"dave","asset":"OPEN","amount":"1"}]}})");
    return out;
  }
  uint64_t file_size() { return std::filesystem::file_size(path_); }
  VerifyReport verify(bool keep_leaves = false) {
    VerifyOptions o;
    o.keep_leaves = keep_leaves;
    return verify_ledger(path_, o);
  }

  uint8_t seed_[32] = {4, 5, 6};
  test::TempDir dir_;
  crypto::SigningKey key_;
  std::string path_;
};

const char* split = R"([{"account":"carol","role":"model","weight":"7"},{"account":"dave","role":"data","weight":"3"}])";

TEST_F(HostileTest, a_settlement_whose_postings_are_not_its_calls_splits_is_refused) {
  setup_money();
  std::string message;
  // The issue's forgery: 9,000,000 from bob to mallory, in the old settlement form.
  EXPECT_EQ(append({R"({"type":"inference.fee","body":{"calls":["c-1"],"postings":[{"account":"bob","asset":"OPEN","amount":"-9000000"},{"account":"mallory","asset":"OPEN","amount":"9000000"}]}})"},
                   &message),
            65);
  EXPECT_EQ(message, "in:1: body.calls[0]: expected {call, fee, payer, split} (the split the settlement aggregates), found \"c-1\"");
  // The same forgery with a call that records a split which pays someone else.
  std::string call = std::string(R"({"call":"c-1","fee":{"amount":"9000000","asset":"OPEN"},"payer":"bob","split":)") + split + "}";
  EXPECT_EQ(append({R"({"type":"inference.fee","body":{"calls":[)" + call +
                    R"(],"postings":[{"account":"bob","asset":"OPEN","amount":"-9000000"},{"account":"mallory","asset":"OPEN","amount":"9000000"}]}})"},
                   &message),
            65);
  EXPECT_EQ(message, "in:1: body.postings[1]: expected carol +6300000 OPEN (model) recomputed from body.calls, found mallory 9000000 OPEN");
  // An extra posting, or a role changed, is refused too.
  std::string good_postings =
      R"([{"account":"bob","asset":"OPEN","amount":"-9000000"},{"account":"carol","amount":"6300000","asset":"OPEN","role":"model"},{"account":"dave","amount":"2700000","asset":"OPEN","role":"data"}])";
  std::string role_changed = good_postings;
  role_changed.replace(role_changed.find("\"data\""), 6, "\"node\"");
  EXPECT_EQ(append({R"({"type":"inference.fee","body":{"calls":[)" + call + R"(],"postings":)" + role_changed + "}}"}, &message), 65);
  EXPECT_EQ(message, "in:1: body.postings[2]: expected dave +2700000 OPEN (data) recomputed from body.calls, found dave 2700000 OPEN (node)");
  EXPECT_EQ(append({R"({"type":"inference.fee","body":{"calls":[)" + call + R"(],"postings":)" + good_postings + "}}"}, &message), 0)
      << message;
  EXPECT_EQ(verify().exit_code, 0);
}

TEST_F(HostileTest, appending_to_a_zstd_ledger_is_refused_and_changes_nothing) {
  setup_money();
  std::string plain = test::slurp(path_);
  std::string packed(ZSTD_compressBound(plain.size()), '\0');
  packed.resize(ZSTD_compress(packed.data(), packed.size(), plain.data(), plain.size(), 3));
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << packed;
  std::string message;
  EXPECT_EQ(append(transfers("z", 1), &message), 65);
  EXPECT_EQ(message, path_ + ": is zstd-compressed: a compressed ledger is a read-only archive (decompress it to append)");
  AppendOptions repair = options();
  repair.repair = true;
  EXPECT_EQ(append({}, &message, repair), 65);
  EXPECT_EQ(test::slurp(path_), packed);
  EXPECT_EQ(verify().exit_code, 0);  // still a readable archive
}

TEST_F(HostileTest, repair_refuses_a_ledger_whose_only_batch_is_torn) {
  ASSERT_EQ(append(transfers("t", 0)), 0);  // genesis + checkpoint
  std::string whole = test::slurp(path_);
  std::string torn = whole.substr(0, whole.size() - 10);
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << torn;
  AppendOptions repair = options();
  repair.repair = true;
  std::string message;
  EXPECT_EQ(append({}, &message, repair), 65);
  EXPECT_EQ(message, path_ + ": cannot repair: no checkpoint to cut back to (the ledger's first append was interrupted); "
                             "cutting it would start a different ledger, so remove the file to start anew");
  EXPECT_EQ(test::slurp(path_), torn);
}

TEST_F(HostileTest, another_origin_for_an_existing_ledger_is_a_usage_error) {
  setup_money();
  uint64_t before = file_size();
  AppendOptions o = options();
  o.origin = "other.example";
  std::string message;
  EXPECT_EQ(append(transfers("o", 1), &message, o), 2);
  EXPECT_EQ(message, ": --origin \"other.example\": the ledger's origin is \"test.example/ledger\" (--origin names a new ledger)");
  EXPECT_EQ(file_size(), before);
}

TEST_F(HostileTest, a_key_the_ledger_does_not_trust_is_named_not_the_ledger_line) {
  setup_money();
  uint64_t before = file_size();
  uint8_t other_seed[32] = {7};
  crypto::SigningKey other = crypto::SigningKey::from_seed(other_seed);
  AppendOptions o = options();
  o.key = &other;
  o.key_path = "other.pem";
  std::string message;
  EXPECT_EQ(append(transfers("k", 1), &message, o), 65);
  EXPECT_EQ(message.rfind("other.pem: not the ledger's genesis key \"test.example/ledger\" (test.example/ledger+", 0), 0u)
      << message;
  TrustFile trust;
  trust.keys.push_back({crypto::make_verifier("test.example/ledger", key_.public_key()), {}});
  o.trust = &trust;
  EXPECT_EQ(append(transfers("k", 1), &message, o), 65);
  EXPECT_EQ(message.rfind("other.pem: the trust file has no key \"test.example/ledger\" with this public key", 0), 0u)
      << message;
  // A trusted key that may not sign the batch's types: the key is named too.
  trust.keys[0].types = {"genesis", "asset.declare"};
  o.key = &key_;
  o.key_path = "key.pem";
  EXPECT_EQ(append(transfers("k", 1), &message, o), 65);
  EXPECT_EQ(message, "key.pem: cannot sign the batch: body.note: the batch it closes is not authorised: "
                     "test.example/ledger may not sign transfer entries");
  EXPECT_EQ(file_size(), before);
}

// Fails every write after `budget` bytes with ENOSPC, as a full disk does.
class FullDisk : public io::FileOps {
 public:
  explicit FullDisk(uint64_t budget) : budget_(budget) {}
  ssize_t write(int fd, const void* data, size_t bytes) override {
    if (budget_ == 0) {
      errno = ENOSPC;
      return -1;
    }
    size_t n = std::min<uint64_t>(bytes, budget_);
    budget_ -= n;
    return ::write(fd, data, n);
  }

 private:
  uint64_t budget_;
};

TEST_F(HostileTest, a_failed_write_cuts_the_batch_back_off) {
  setup_money();
  std::string before = test::slurp(path_);
  for (uint64_t budget : {0, 1, 100, 1000}) {
    FullDisk disk(budget);
    AppendOptions o = options();
    o.file_ops = &disk;
    std::string message;
    EXPECT_EQ(append(transfers("f", 20), &message, o), 74);
    EXPECT_EQ(message, path_ + ": write failed: No space left on device; the batch was cut off, the ledger is as before it");
    EXPECT_EQ(test::slurp(path_), before) << "budget " << budget;
  }
  EXPECT_EQ(append(transfers("f", 20)), 0);  // no --repair needed
  EXPECT_EQ(verify().exit_code, 0);
}

TEST_F(HostileTest, a_failed_first_append_leaves_no_file) {
  std::string message;
  EXPECT_EQ(append({R"({"type":"transfer","body":{"transfer":"x","postings":[]}})"}, &message), 65);
  EXPECT_FALSE(std::filesystem::exists(path_));
  FullDisk disk(10);
  AppendOptions o = options();
  o.file_ops = &disk;
  EXPECT_EQ(append({}, &message, o), 74);
  EXPECT_FALSE(std::filesystem::exists(path_));
}

// A power cut: counts the writes, fdatasyncs and truncations, and at the cut-th one throws
// PowerCut after dropping every byte that no fdatasync made durable (the file is cut back
// to its size at the last fdatasync), as a crash loses the page cache.
struct PowerCut {};
class PowerCutDisk : public io::FileOps {
 public:
  PowerCutDisk(int fd_for_size, uint64_t cut) : cut_(cut) { durable_ = size(fd_for_size); }
  ssize_t write(int fd, const void* data, size_t bytes) override {
    step(fd);
    // A write may be torn: half of it reaches the page cache first.
    size_t n = bytes > 1 ? bytes / 2 : bytes;
    return ::write(fd, data, n);
  }
  int fdatasync(int fd) override {
    step(fd);
    int r = ::fdatasync(fd);
    if (r == 0) durable_ = size(fd);
    return r;
  }
  int ftruncate(int fd, off_t n) override {
    step(fd);
    return ::ftruncate(fd, n);
  }
  uint64_t durable() const { return durable_; }
  uint64_t steps() const { return steps_; }
  static uint64_t size(int fd) {
    struct stat st;
    ::fstat(fd, &st);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  void step(int fd) {
    if (steps_++ == cut_) {
      if (size(fd) > durable_) ::ftruncate(fd, static_cast<off_t>(durable_));
      throw PowerCut{};
    }
  }
  uint64_t cut_, steps_ = 0, durable_ = 0;
};

TEST_F(HostileTest, a_power_cut_at_any_step_loses_no_receipted_entry) {
  setup_money();
  std::string base = test::slurp(path_);
  uint64_t cuts = 0, receipts_checked = 0;
  for (uint64_t cut = 0;; ++cut) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << base;
    int fd = ::open(path_.c_str(), O_RDONLY);
    PowerCutDisk disk(fd, cut);
    std::vector<Receipt> receipts;
    AppendOptions o = options();
    o.file_ops = &disk;
    o.batch_size = 3;
    std::vector<Submitted> entries = parse(transfers("p", 8));
    size_t next = 0;
    bool finished = true;
    try {
      append_entries(
          o,
          [&](Submitted* e) {
            if (next == entries.size()) return false;
            *e = entries[next++];
            return true;
          },
          [&](const std::vector<Receipt>& batch, const Checkpoint&) {
            // A receipt is handed out only once its bytes are durable.
            EXPECT_EQ(disk.durable(), PowerCutDisk::size(fd)) << "cut " << cut;
            receipts.insert(receipts.end(), batch.begin(), batch.end());
          });
    } catch (const PowerCut&) {
      finished = false;
      ++cuts;
    }
    ::close(fd);
    // After the cut: the next appender repairs, and every receipt is in the ledger.
    AppendOptions repair = options();
    repair.repair = true;
    ASSERT_EQ(append({}, nullptr, repair), 0) << "cut " << cut;
    VerifyReport report = verify(/*keep_leaves=*/true);
    ASSERT_EQ(report.exit_code, 0) << "cut " << cut << ": " << report.message;
    for (const Receipt& r : receipts) {
      ASSERT_LT(r.seq, report.signed_entries) << "cut " << cut;
      EXPECT_EQ(report.leaves[r.seq], r.leaf) << "cut " << cut;
      ++receipts_checked;
    }
    if (finished) {
      EXPECT_EQ(receipts.size(), 8u + 3u);  // 8 entries, 3 checkpoints
      break;
    }
  }
  EXPECT_GE(cuts, 9u);  // at least write, fdatasync, ... of three batches
  EXPECT_GT(receipts_checked, 0u);
}

}  // namespace

// Tamper and crash properties of the ledger file (issue: "Must show"):
//  - on a 50-entry ledger of transfers, and on a ledger holding every entry type (fees with
//    splits, a settlement, rewards, licences, collateral, proofs, slashes, payouts,
//    assertions), every single-byte flip, line deletion and swap of adjacent lines is
//    detected with exit 1 (never 65: damage is a bad ledger, not bad input), except the
//    cases only a kept checkpoint can catch (damage to the final newline: exit 3; deletion
//    of the last checkpoint: exit 3), which are caught with --trusted;
//  - a ledger cut at every byte offset of its last batch verifies as torn (3) or as the
//    valid shorter ledger, and --repair brings it back to that valid ledger.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include "crypto/merkle.h"
#include "io/error.h"
#include "ledger/append.h"
#include "ledger/verify.h"
#include "test_support.h"

using namespace omlkit;
using namespace omlkit::ledger;

namespace {

class TamperTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // 50 lines: genesis + 4 batches (declare/open, then 3 batches of transfers), each with its checkpoint.
    std::vector<std::vector<std::string>> batches = {
        {R"({"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"treasury"}})",
         R"({"type":"account.open","body":{"account":"bob"}})"},
    };
    for (int b = 0; b < 3; ++b) {
      std::vector<std::string> batch;
      int n = b == 2 ? 13 : 15;
      for (int i = 0; i < n; ++i) {
        std::string id = std::to_string(b * 100 + i + 1);
        batch.push_back(R"({"type":"transfer","body":{"transfer":"t)" + id +
                        R"(","postings":[{"account":"treasury","asset":"OPEN","amount":"-)" + id +
                        R"(1"},{"account":"bob","asset":"OPEN","amount":")" + id + R"(1"}]}})");
      }
      batches.push_back(batch);
    }
    build(batches);
  }

  static void build(const std::vector<std::vector<std::string>>& batches) {
    dir_ = new test::TempDir;
    uint8_t seed[32] = {9};
    key_ = new crypto::SigningKey(crypto::SigningKey::from_seed(seed));
    path_ = dir_->file("ledger.jsonl");
    int64_t clock = 1700000000000;
    for (const auto& batch : batches) {
      std::vector<Submitted> entries;
      for (const auto& line : batch) entries.push_back(parse_submitted(line, "setup: " + line));
      AppendOptions options;
      options.ledger_path = path_;
      options.key = key_;
      options.origin = "tamper.example";
      options.now_millis = clock += 1000;
      last_batch_start_ = std::filesystem::exists(path_) ? std::filesystem::file_size(path_) : 0;
      last_checkpoint_note_ = append_batch(options, entries).checkpoint.note;
    }
    text_ = new std::string(test::slurp(path_));
    trust_ = new TrustFile;
    trust_->keys.push_back({crypto::make_verifier("tamper.example", key_->public_key()), {}});
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete key_;
    delete text_;
    delete trust_;
  }

  // Every flip of bit 0 and bit 5 of every byte.
  void check_every_single_byte_flip() {
    // Every byte (every k-th in a sanitizer build), and always the final newline.
    const size_t last = text_->size() - 1;
    std::vector<size_t> positions;
    for (size_t i = 0; i < last; i += test::kExhaustiveStride) positions.push_back(i);
    positions.push_back(last);
    size_t detected = 0, only_with_trusted = 0;
    for (size_t i : positions) {
      for (uint8_t mask : {0x01, 0x20}) {
        std::string mutant = *text_;
        mutant[i] = static_cast<char>(mutant[i] ^ mask);
        int code = verify_text(mutant);
        if (i == last) {
          // The final newline: indistinguishable from a torn write without a kept checkpoint.
          EXPECT_EQ(code, 3) << "byte " << i;
          EXPECT_EQ(verify_text(mutant, true), 1) << "byte " << i;
          ++only_with_trusted;
        } else {
          EXPECT_EQ(code, 1) << "byte " << i << " ^ " << int(mask) << " in ..."
                             << text_->substr(i < 30 ? 0 : i - 30, 60) << "...: " << last_message_;
          detected += code == 1;
        }
      }
    }
    EXPECT_EQ(detected, 2 * (positions.size() - 1));
    EXPECT_EQ(only_with_trusted, 2u);
  }

  void check_every_line_deletion() {
    auto lines = lines_of(*text_);
    for (size_t k = 0; k < lines.size(); ++k) {
      std::string mutant;
      for (size_t i = 0; i < lines.size(); ++i)
        if (i != k) mutant += lines[i];
      if (k + 1 == lines.size()) {
        // Deleting the last checkpoint leaves a signed prefix plus an unsigned tail.
        EXPECT_EQ(verify_text(mutant), 3);
        EXPECT_EQ(verify_text(mutant, true), 1);
      } else {
        EXPECT_EQ(verify_text(mutant), 1) << "deleted line " << k + 1;
      }
    }
  }

  void check_every_swap_of_adjacent_lines() {
    auto lines = lines_of(*text_);
    for (size_t k = 0; k + 1 < lines.size(); ++k) {
      auto swapped = lines;
      std::swap(swapped[k], swapped[k + 1]);
      std::string mutant;
      for (const auto& l : swapped) mutant += l;
      EXPECT_EQ(verify_text(mutant), 1) << "swapped lines " << k + 1 << " and " << k + 2;
    }
  }

  int verify_text(const std::string& text, bool trusted = false) {
    std::string path = dir_->file("mutant.jsonl");
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    VerifyOptions options;
    options.trust = trust_;
    if (trusted) {
      std::ofstream(dir_->file("kept"), std::ios::trunc) << last_checkpoint_note_;
      options.trusted = load_trusted_head(dir_->file("kept"), {trust_->keys[0].verifier});
    }
    try {
      VerifyReport report = verify_ledger(path, options);
      last_message_ = report.where + ": " + report.message;
      return report.exit_code;
    } catch (const Error& e) {  // what ledger-verify would exit with
      last_message_ = e.where() + ": " + e.what();
      return e.code();
    }
  }

  static std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    size_t start = 0;
    for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
      lines.push_back(text.substr(start, nl - start + 1));
    return lines;
  }

  static inline test::TempDir* dir_;
  static inline crypto::SigningKey* key_;
  static inline std::string path_;
  static inline std::string* text_;
  static inline TrustFile* trust_;
  static inline uint64_t last_batch_start_;
  static inline std::string last_checkpoint_note_;
  static inline std::string last_message_;  // of the last verify_text, for failure output
};

TEST_F(TamperTest, the_ledger_under_test_has_50_entries_and_verifies) {
  EXPECT_EQ(lines_of(*text_).size(), 50u);
  EXPECT_EQ(verify_text(*text_), 0);
  EXPECT_EQ(verify_text(*text_, /*trusted=*/true), 0) << last_message_;
}

TEST_F(TamperTest, every_single_byte_flip_is_detected) { check_every_single_byte_flip(); }

TEST_F(TamperTest, every_line_deletion_is_detected) {
  check_every_line_deletion();
  // Truncation at a line boundary after a checkpoint is a valid shorter ledger: only a
  // kept checkpoint shows the rollback.
  size_t first_checkpoint_end = text_->find('\n', text_->find("\"type\":\"checkpoint\"")) + 1;
  std::string truncated = text_->substr(0, first_checkpoint_end);
  EXPECT_EQ(verify_text(truncated), 0);
  EXPECT_EQ(verify_text(truncated, true), 1);
}

TEST_F(TamperTest, every_swap_of_adjacent_lines_is_detected) { check_every_swap_of_adjacent_lines(); }

TEST_F(TamperTest, cut_at_every_offset_of_the_last_batch_is_torn_or_shorter_and_repairs) {
  std::string shorter = text_->substr(0, last_batch_start_);
  ASSERT_EQ(verify_text(shorter), 0);
  for (uint64_t cut = last_batch_start_; cut < text_->size(); cut += test::kExhaustiveStride) {
    std::string mutant = text_->substr(0, cut);
    int code = verify_text(mutant);
    EXPECT_EQ(code, cut == last_batch_start_ ? 0 : 3) << "cut at " << cut;
  }
  // Repair a few representative cuts (mid-line, line boundary, inside the checkpoint).
  for (uint64_t cut : {last_batch_start_ + 1, uint64_t(text_->find('\n', last_batch_start_) + 1),
                       uint64_t(text_->size() - 2)}) {
    std::string path = dir_->file("repair.jsonl");
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text_->substr(0, cut);
    AppendOptions options;
    options.ledger_path = path;
    options.key = key_;
    options.repair = true;
    EXPECT_GT(append_batch(options, {}).repaired_bytes, 0u);
    EXPECT_EQ(test::slurp(path), shorter) << "cut at " << cut;
  }
}

// The same properties on a ledger that holds every entry type.
class EveryTypeTamperTest : public TamperTest {
 protected:
  static void SetUpTestSuite() {
    const std::string digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    std::vector<crypto::Hash> leaves;
    for (int i = 0; i < 4; ++i)
      leaves.push_back(crypto::leaf_hash("{\"key\":\"k" + std::to_string(i) + "\",\"response\":\"r\",\"salt\":\"s\"}"));
    std::string root = crypto::to_hex(crypto::tree_root(leaves)), path;
    for (const auto& h : crypto::inclusion_proof(leaves, 2)) path += (path.empty() ? "\"" : ",\"") + crypto::to_hex(h) + "\"";
    const std::string split = R"([{"role":"model","weight":"7","parts":[{"account":"carol","weight":"1"},{"account":"alice","weight":"1"}]},{"account":"dave","role":"data","weight":"3"}])";
    build({
        {R"({"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"treasury"}})",
         R"({"type":"account.open","body":{"account":"erin"}})",
         R"({"type":"transfer","body":{"transfer":"fund","postings":[{"account":"treasury","asset":"OPEN","amount":"-100000"},{"account":"bob","asset":"OPEN","amount":"100000"}]}})",
         R"({"type":"model.register","body":{"model":"m-base","owner":"alice","digest":")" + digest + "\"}}",
         R"({"type":"model.register","body":{"model":"m-chat","owner":"carol","parent":"m-base","digest":")" + digest + "\"}}"},
        {R"({"type":"license.grant","body":{"license":"L","model":"m-chat","licensee":"bob","digest":")" + digest +
             R"(","fingerprints":4,"root":")" + root + R"(","collateral":{"asset":"OPEN","amount":"600"}}})",
         R"({"type":"collateral.deposit","body":{"deposit":"d1","license":"L","from":"bob","amount":{"asset":"OPEN","amount":"600"}}})",
         R"({"type":"fingerprint.proof","body":{"proof":"P","license":"L","fingerprints":[{"index":2,"key":"k2","response":"r","salt":"s","path":[)" + path + "]}]}}",
         R"({"type":"slash","body":{"slash":"s1","license":"L","proof":"P","to":"alice","amount":{"asset":"OPEN","amount":"100"}}})",
         R"({"type":"license.revoke","body":{"license":"L"}})"},
        {R"({"type":"inference.fee","body":{"call":"c1","payer":"bob","fee":{"asset":"OPEN","amount":"1000"},"split":)" + split +
             R"(,"postings":[{"account":"bob","asset":"OPEN","amount":"-1000"},{"account":"carol","asset":"OPEN","amount":"350","role":"model"},{"account":"alice","asset":"OPEN","amount":"350","role":"model"},{"account":"dave","asset":"OPEN","amount":"300","role":"data"}]}})",
         R"({"type":"inference.fee","body":{"calls":[{"call":"c2","fee":{"amount":"10","asset":"OPEN"},"payer":"bob","split":)" + split +
             R"(},{"call":"c3","fee":{"amount":"20","asset":"OPEN"},"payer":"bob","split":)" + split +
             R"(}],"postings":[{"account":"bob","asset":"OPEN","amount":"-30"},{"account":"alice","asset":"OPEN","amount":"10","role":"model"},{"account":"carol","asset":"OPEN","amount":"11","role":"model"},{"account":"dave","asset":"OPEN","amount":"9","role":"data"}]}})",
         R"({"type":"evaluation","body":{"evaluation":"e1","model":"m-chat","evaluator":"erin","score":90}})",
         R"({"type":"reward","body":{"reward":"r1","evaluation":"e1","postings":[{"account":"treasury","asset":"OPEN","amount":"-5"},{"account":"erin","asset":"OPEN","amount":"5"}]}})",
         R"({"type":"payout","body":{"payout":"p1","account":"alice","amount":{"asset":"OPEN","amount":"10"}}})",
         R"({"type":"assert","body":{"account":"dave","asset":"OPEN","balance":"309"}})"},
    });
  }
};

TEST_F(EveryTypeTamperTest, the_ledger_under_test_holds_every_entry_type_and_verifies) {
  std::set<std::string> types;
  for (const std::string& line : lines_of(*text_)) {
    size_t at = line.find("\"type\":\"") + 8;
    types.insert(line.substr(at, line.find('"', at) - at));
  }
  EXPECT_EQ(types, (std::set<std::string>{"genesis", "checkpoint", "asset.declare", "account.open", "transfer",
                                          "model.register", "license.grant", "collateral.deposit", "fingerprint.proof",
                                          "slash", "license.revoke", "inference.fee", "evaluation", "reward", "payout",
                                          "assert"}));
  EXPECT_NE(text_->find("\"split\":"), std::string::npos);
  EXPECT_NE(text_->find("\"calls\":"), std::string::npos);
  EXPECT_EQ(verify_text(*text_), 0) << last_message_;
  EXPECT_EQ(verify_text(*text_, /*trusted=*/true), 0) << last_message_;
}

TEST_F(EveryTypeTamperTest, every_single_byte_flip_is_detected) { check_every_single_byte_flip(); }
TEST_F(EveryTypeTamperTest, every_line_deletion_is_detected) { check_every_line_deletion(); }
TEST_F(EveryTypeTamperTest, every_swap_of_adjacent_lines_is_detected) { check_every_swap_of_adjacent_lines(); }

}  // namespace

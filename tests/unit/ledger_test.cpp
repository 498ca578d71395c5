// The ledger library end to end: append batches, replay them, and refuse what is wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "crypto/merkle.h"
#include "io/error.h"
#include "ledger/append.h"
#include "ledger/verify.h"
#include "test_support.h"

using namespace omlkit;
using namespace omlkit::ledger;

namespace {

const char* digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

class LedgerTest : public ::testing::Test {
 protected:
  LedgerTest() : key_(crypto::SigningKey::from_seed(seed_)), path_(dir_.file("ledger.jsonl")) {}

  // Appends entries given as JSON lines; returns the exit code (0 on success).
  int append(const std::vector<std::string>& lines, std::string* message = nullptr, bool repair = false) {
    std::vector<Submitted> entries;
    try {
      for (size_t i = 0; i < lines.size(); ++i)
        entries.push_back(parse_submitted(lines[i], "in:" + std::to_string(i + 1)));
      AppendOptions options;
      options.ledger_path = path_;
      options.key = &key_;
      options.origin = "test.example/ledger";
      options.repair = repair;
      options.now_millis = 1700000000000;
      append_batch(options, entries);
      return 0;
    } catch (const Error& e) {
      if (message) *message = e.where() + ": " + e.what();
      return e.code();
    }
  }

  VerifyReport verify() { return verify_ledger(path_, {}); }
  uint64_t file_size() { return std::filesystem::file_size(path_); }

  void setup_money() {
    ASSERT_EQ(append({R"({"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"treasury"}})",
                      R"({"type":"transfer","body":{"transfer":"t1","postings":[{"account":"treasury","asset":"OPEN","amount":"-1000"},{"account":"bob","asset":"OPEN","amount":"1000"}]}})",
                      std::string(R"({"type":"model.register","body":{"model":"m","owner":"alice","digest":")") + digest + "\"}}"}),
              0);
  }

  uint8_t seed_[32] = {1, 2, 3};
  test::TempDir dir_;
  crypto::SigningKey key_;
  std::string path_;
};

TEST_F(LedgerTest, batches_append_and_verify) {
  setup_money();
  ASSERT_EQ(append({R"({"type":"assert","body":{"account":"bob","asset":"OPEN","balance":"1000"}})"}), 0);
  VerifyReport r = verify();
  EXPECT_EQ(r.exit_code, 0) << r.where << ": " << r.message;
  EXPECT_EQ(r.entries, 7u);  // genesis, 3 entries, checkpoint, assert, checkpoint
  ASSERT_EQ(r.checkpoints.size(), 2u);
  EXPECT_EQ(r.checkpoints.back().size, 6u);
}

TEST_F(LedgerTest, a_bad_entry_appends_nothing_and_names_its_input_line) {
  setup_money();
  uint64_t before = file_size();
  std::string message;
  EXPECT_EQ(append({R"({"type":"assert","body":{"account":"bob","asset":"OPEN","balance":"1000"}})",
                    R"({"type":"transfer","body":{"transfer":"t2","postings":[{"account":"bob","asset":"OPEN","amount":"-5"},{"account":"eve","asset":"OPEN","amount":"4"}]}})"},
                   &message),
            65);
  EXPECT_NE(message.find("in:2: body.postings: expected the OPEN postings to sum to 0, found -1"), std::string::npos) << message;
  EXPECT_EQ(file_size(), before);
  EXPECT_EQ(verify().exit_code, 0);
}

TEST_F(LedgerTest, accounting_rules_are_enforced) {
  setup_money();
  auto refused = [&](const std::string& line, const std::string& expected) {
    std::string message;
    EXPECT_EQ(append({line}, &message), 65) << line;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  };
  refused(R"({"type":"transfer","body":{"transfer":"t2","postings":[{"account":"bob","asset":"OPEN","amount":"-1001"},{"account":"eve","asset":"OPEN","amount":"1001"}]}})",
          "balance of bob in OPEN would be -1");
  refused(R"({"type":"transfer","body":{"transfer":"t1","postings":[{"account":"bob","asset":"OPEN","amount":"-1"},{"account":"eve","asset":"OPEN","amount":"1"}]}})",
          "transfer \"t1\" already appears earlier");
  refused(R"({"type":"transfer","body":{"transfer":"t3","postings":[{"account":"bob","asset":"GOLD","amount":"-1"},{"account":"eve","asset":"GOLD","amount":"1"}]}})",
          "unknown asset \"GOLD\"");
  refused(R"({"type":"assert","body":{"account":"bob","asset":"OPEN","balance":"999"}})",
          "assertion failed: bob holds 1000 OPEN, the entry asserts 999");
  refused(R"({"type":"license.grant","body":{"license":"l","model":"nope","licensee":"x","digest":"sha256:00","fingerprints":1,"root":"00"}})",
          "model \"nope\" is not registered");
  refused(R"({"type":"transfer","body":{"transfer":"t4","postings":[{"account":"bob","asset":"OPEN","amount":"-340282366920938463463374607431768211456"},{"account":"eve","asset":"OPEN","amount":"1"}]}})",
          "expected a non-zero signed decimal string");
  // Two entries of one batch with the same id: the second is refused, nothing is written.
  uint64_t before = file_size();
  std::string message;
  EXPECT_EQ(append({R"({"type":"payout","body":{"payout":"p1","account":"bob","amount":{"asset":"OPEN","amount":"1"}}})",
                    R"({"type":"payout","body":{"payout":"p1","account":"bob","amount":{"asset":"OPEN","amount":"1"}}})"},
                   &message),
            65);
  EXPECT_NE(message.find("in:2"), std::string::npos);
  EXPECT_EQ(file_size(), before);
}

TEST_F(LedgerTest, fee_postings_must_equal_the_recorded_split) {
  setup_money();
  std::string good = R"({"type":"inference.fee","body":{"call":"c1","payer":"bob","fee":{"asset":"OPEN","amount":"100"},
    "split":[{"weight":"1","account":"a"},{"weight":"1","account":"b"},{"weight":"1","account":"c"}],
    "postings":[{"account":"bob","asset":"OPEN","amount":"-100"},{"account":"a","asset":"OPEN","amount":"34"},
                {"account":"b","asset":"OPEN","amount":"33"},{"account":"c","asset":"OPEN","amount":"33"}]}})";
  std::string bad = good;
  bad.replace(bad.find("\"34\""), 4, "\"33\"").replace(bad.find("\"33\"},{\"account\":\"c\""), 4, "\"34\"");
  bad.replace(bad.find("\"c1\""), 4, "\"c2\"");
  std::string message;
  EXPECT_EQ(append({bad}, &message), 65);
  EXPECT_NE(message.find("body.postings[1]: expected a +34 OPEN (largest-remainder split"), std::string::npos) << message;
  EXPECT_EQ(append({good}), 0);
  EXPECT_EQ(append({good}, &message), 65);
  EXPECT_NE(message.find("call \"c1\" already appears"), std::string::npos);
}

TEST_F(LedgerTest, fingerprint_proofs_verify_and_slashes_stay_within_collateral) {
  setup_money();
  // Four committed fingerprints; the leaf is the canonical JSON of key, response, salt.
  std::vector<crypto::Hash> leaves;
  for (int i = 0; i < 4; ++i)
    leaves.push_back(crypto::leaf_hash("{\"key\":\"k" + std::to_string(i) + "\",\"response\":\"r\",\"salt\":\"s\"}"));
  std::string root = crypto::to_hex(crypto::tree_root(leaves));
  std::string path;
  for (const auto& h : crypto::inclusion_proof(leaves, 2)) path += (path.empty() ? "\"" : ",\"") + crypto::to_hex(h) + "\"";
  ASSERT_EQ(append({std::string(R"({"type":"license.grant","body":{"license":"L","model":"m","licensee":"bob","digest":")") +
                        digest + R"(","fingerprints":4,"root":")" + root + "\"}}",
                    R"({"type":"collateral.deposit","body":{"deposit":"d1","license":"L","from":"bob","amount":{"asset":"OPEN","amount":"600"}}})"}),
            0);
  std::string proof = R"({"type":"fingerprint.proof","body":{"proof":"P","license":"L","fingerprints":[{"index":2,"key":"k2","response":"r","salt":"s","path":[)" + path + "]}]}}";
  std::string wrong = proof;
  wrong.replace(wrong.find("\"k2\""), 4, "\"k3\"");
  std::string message;
  EXPECT_EQ(append({wrong}, &message), 65);
  EXPECT_NE(message.find("inclusion proof does not verify against the root of license \"L\""), std::string::npos) << message;
  ASSERT_EQ(append({proof}), 0);
  EXPECT_EQ(append({R"({"type":"slash","body":{"slash":"s1","license":"L","proof":"P","to":"alice","amount":{"asset":"OPEN","amount":"601"}}})"},
                   &message),
            65);
  EXPECT_NE(message.find("exceeds the locked collateral 600 OPEN"), std::string::npos) << message;
  EXPECT_EQ(append({R"({"type":"slash","body":{"slash":"s1","license":"L","proof":"P","to":"alice","amount":{"asset":"OPEN","amount":"600"}}})"}), 0);
  EXPECT_EQ(verify().exit_code, 0);
}

TEST_F(LedgerTest, torn_tail_is_reported_and_repaired) {
  setup_money();
  uint64_t good_size = file_size();
  ASSERT_EQ(append({R"({"type":"assert","body":{"account":"bob","asset":"OPEN","balance":"1000"}})"}), 0);
  // Cut the last batch in the middle of its checkpoint line.
  std::filesystem::resize_file(path_, file_size() - 40);
  VerifyReport r = verify();
  EXPECT_EQ(r.exit_code, 3);
  std::string message;
  EXPECT_EQ(append({}, &message), 3);
  EXPECT_NE(message.find("torn tail"), std::string::npos);
  EXPECT_EQ(append({}, &message, /*repair=*/true), 0);
  EXPECT_EQ(file_size(), good_size);
  EXPECT_EQ(verify().exit_code, 0);
}

TEST_F(LedgerTest, a_complete_corrupt_line_is_never_cut) {
  setup_money();
  std::string text = test::slurp(path_);
  text[text.find("\"bob\"") + 1] = 'c';  // a valid-looking edit: the chain must catch it
  std::ofstream(path_, std::ios::binary) << text;
  EXPECT_EQ(verify().exit_code, 1);
  // An append through the state cache reads only the lines after the cache's checkpoint (the
  // edit is before it: ledger-verify's to find, above). One that replays the file, as
  // without the cache, refuses the ledger and cuts nothing.
  std::filesystem::remove(path_ + ".state");
  std::string message;
  EXPECT_EQ(append({}, &message, /*repair=*/true), 1);
  EXPECT_EQ(test::slurp(path_), text);
}

TEST_F(LedgerTest, trust_file_limits_what_a_key_may_sign) {
  setup_money();
  std::string vkey = crypto::verifier_key_string(crypto::make_verifier("test.example/ledger", key_.public_key()));
  std::ofstream(dir_.file("trust")) << "# ledger operator\n" << vkey << " genesis,asset.declare,model.register\n";
  TrustFile trust = load_trust_file(dir_.file("trust"));
  VerifyOptions options;
  options.trust = &trust;
  VerifyReport r = verify_ledger(path_, options);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.message.find("may not sign transfer entries"), std::string::npos) << r.message;
  std::ofstream(dir_.file("trust")) << vkey << " *\n";
  trust = load_trust_file(dir_.file("trust"));
  EXPECT_EQ(verify_ledger(path_, options).exit_code, 0);
}

}  // namespace

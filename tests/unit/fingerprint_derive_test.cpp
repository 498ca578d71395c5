// The owner's secret and the keyed choices derived from it: HMAC-SHA256 against RFC 4231,
// one independent stream per (purpose, licensee, index, counter), and the secret file rules.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "crypto/hmac.h"
#include "fingerprint/derive.h"
#include "io/error.h"

namespace omlkit::fingerprint {
namespace {

TEST(FingerprintDerive, hmac_sha256_matches_rfc4231_test_case_2) {
  EXPECT_EQ(crypto::to_hex(crypto::hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(FingerprintDerive, every_label_licensee_index_and_counter_gives_another_stream) {
  Derivation d(std::string(32, 's'), "sha256:" + std::string(64, '0'));
  crypto::Hash a = d.derive("salt", "acct:a", 0);
  EXPECT_EQ(a, Derivation(std::string(32, 's'), "sha256:" + std::string(64, '0')).derive("salt", "acct:a", 0));
  EXPECT_NE(a, d.derive("response", "acct:a", 0));
  EXPECT_NE(a, d.derive("salt", "acct:b", 0));
  EXPECT_NE(a, d.derive("salt", "acct:a", 1));
  EXPECT_NE(a, d.derive("salt", "acct:a", 0, 1));
  EXPECT_NE(a, Derivation(std::string(32, 't'), "sha256:" + std::string(64, '0')).derive("salt", "acct:a", 0));
  EXPECT_NE(a, Derivation(std::string(32, 's'), "sha256:" + std::string(64, '1')).derive("salt", "acct:a", 0));
  // below(n) covers [0, n) and nothing else.
  std::vector<int> seen(3, 0);
  for (uint64_t i = 0; i < 300; ++i) {
    uint64_t x = d.below(3, "pick", "acct:a", i);
    ASSERT_LT(x, 3u);
    ++seen[x];
  }
  for (int c : seen) EXPECT_GT(c, 60);
}

TEST(FingerprintDerive, secret_file_must_be_32_bytes_and_private) {
  std::string path = (std::filesystem::temp_directory_path() / ("omlize-secret-" + std::to_string(::getpid()))).string();
  auto write = [&](const std::string& bytes, mode_t mode) {
    std::remove(path.c_str());
    std::ofstream(path) << bytes;
    ::chmod(path.c_str(), mode);
  };
  write(std::string(32, 'x'), 0600);
  EXPECT_EQ(read_secret(path), std::string(32, 'x'));
  write(std::string(31, 'x'), 0600);
  try {
    read_secret(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), 65);
    EXPECT_EQ(std::string(e.what()), "the secret has 31 bytes, expected at least 32 random bytes (head -c 32 /dev/urandom)");
  }
  for (mode_t mode : {0640, 0604, 0620}) {
    write(std::string(32, 'x'), mode);
    EXPECT_THROW(read_secret(path), Error) << std::oct << mode;
  }
  std::remove(path.c_str());
  try {
    read_secret(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), 66);
  }
}

}  // namespace
}  // namespace omlkit::fingerprint

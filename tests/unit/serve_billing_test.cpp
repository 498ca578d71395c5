// What makes serve a paid deployment, without a socket: API keys files, the call record and
// its exact fee, the call log's torn-tail repair and rotation, and signed call ids.
// (Over HTTP: tests/cli/serve-and-settle.bats.)
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "crypto/call_receipt.h"
#include "fingerprint/audit.h"
#include "io/error.h"
#include "serve/api_keys.h"
#include "serve/call_log.h"
#include "test_support.h"

namespace omlkit::serve {
namespace {

void write(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), mode);
}

int code_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message) *message = std::string(e.where()) + ": " + e.what();
    return e.code();
  }
  return 0;
}

TEST(ApiKeys, maps_bearer_tokens_to_payers_and_nothing_else) {
  test::TempDir dir;
  write(dir.file("keys"), "# payers\n0123456789abcdef-bob acct:bob\n\n  fedcba9876543210-eve\tacct:eve  \n", 0600);
  ApiKeys keys = ApiKeys::load(dir.file("keys"));
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys.payer("Bearer 0123456789abcdef-bob"), "acct:bob");
  EXPECT_EQ(keys.payer("Bearer fedcba9876543210-eve"), "acct:eve");
  EXPECT_EQ(keys.payer("Bearer 0123456789abcdef-bo"), std::nullopt);
  EXPECT_EQ(keys.payer("0123456789abcdef-bob"), std::nullopt);
  EXPECT_EQ(keys.payer("bearer 0123456789abcdef-bob"), std::nullopt);
  EXPECT_EQ(keys.payer(""), std::nullopt);
}

TEST(ApiKeys, refuses_a_file_others_can_read_and_never_echoes_a_token) {
  test::TempDir dir;
  write(dir.file("keys"), "0123456789abcdef-bob acct:bob\n", 0640);
  std::string message;
  EXPECT_EQ(code_of([&] { ApiKeys::load(dir.file("keys")); }, &message), exit_code::data);
  EXPECT_NE(message.find("readable by others (mode 0640)"), std::string::npos) << message;
  for (const char* bad : {"0123456789abcdef-bob\n", "short acct:bob\n", "0123456789abcdef-bob acct:\x01\n",
                          "0123456789abcdef-bob acct:a\n0123456789abcdef-bob acct:b\n", "# nothing\n"}) {
    write(dir.file("keys"), bad, 0600);
    EXPECT_EQ(code_of([&] { ApiKeys::load(dir.file("keys")); }, &message), exit_code::data) << bad;
    EXPECT_EQ(message.find("0123456789abcdef"), std::string::npos) << message;
  }
  EXPECT_EQ(code_of([&] { ApiKeys::load(dir.file("missing")); }), exit_code::no_input);
}

TEST(CallRecord, fee_is_price_times_tokens_exactly_and_overflow_is_refused) {
  CallFacts call{"cmpl-1", "m-chat", "acct:bob", "acct:node-7", "Hi", "there", 3, 4, 1764633600123};
  Price price = parse_price("OPEN:340282366920938463463374607431768211");  // ~2^128 / 10^3
  auto record = nlohmann::json::parse(call_record_line(call, price));
  EXPECT_EQ(record["fee"]["amount"], "2381976568446569244243622252022377477");  // x 7, by hand
  EXPECT_EQ(record["fee"]["asset"], "OPEN");
  EXPECT_EQ(record["type"], "call");
  EXPECT_EQ(record["id"], "cmpl-1");
  EXPECT_EQ(record["ts"], "2025-12-02T00:00:00.123Z");
  EXPECT_EQ(record["tokens"], (nlohmann::json{{"prompt", 3}, {"output", 4}}));
  call.output_tokens = 1000;
  EXPECT_EQ(code_of([&] { call_record_line(call, price); }), exit_code::data);
  for (const char* bad : {"OPEN", ":5", "OPEN:-1", "OPEN:1.5", "OPEN:", "OPEN:340282366920938463463374607431768211456"})
    EXPECT_EQ(code_of([&] { parse_price(bad); }), exit_code::usage) << bad;
}

TEST(CallLog, cuts_a_torn_last_line_on_open_and_reopens_a_moved_file) {
  test::TempDir dir;
  const std::string path = dir.file("calls.jsonl");
  write(path, "{\"a\":1}\n{\"b\":2}\n{\"type\":\"ca", 0600);
  {
    CallLog log(path);
    EXPECT_EQ(log.cut_bytes(), 11u);
    log.append("{\"c\":3}");
    std::filesystem::rename(path, dir.file("calls.1.jsonl"));
    log.reopen();
    EXPECT_EQ(log.cut_bytes(), 0u);
    log.append("{\"d\":4}");
  }
  EXPECT_EQ(test::slurp(dir.file("calls.1.jsonl")), "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
  EXPECT_EQ(test::slurp(path), "{\"d\":4}\n");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A file that is one torn line is emptied; a whole file is left as it is.
  write(path, "{\"type\":", 0600);
  EXPECT_EQ(CallLog(path).cut_bytes(), 8u);
  EXPECT_EQ(test::slurp(path), "");
  EXPECT_EQ(code_of([&] { CallLog(dir.file("no/such/dir")); }), exit_code::cannot_create);
}

TEST(CallReceipt, verifies_for_its_output_only_and_under_its_key_only) {
  uint8_t seed[32] = {7}, other_seed[32] = {8};
  crypto::SigningKey key = crypto::SigningKey::from_seed(seed), other = crypto::SigningKey::from_seed(other_seed);
  std::string id = crypto::make_call_id(key, "the question", "the answer");
  ASSERT_EQ(id.size(), 5u + 32 + 1 + 128);
  EXPECT_NE(id, crypto::make_call_id(key, "the question", "the answer"));  // a fresh nonce per call
  EXPECT_TRUE(crypto::verify_call_id(key.public_key(), id, "the question", "the answer"));
  EXPECT_FALSE(crypto::verify_call_id(key.public_key(), id, "the question", "the answer "));
  EXPECT_FALSE(crypto::verify_call_id(key.public_key(), id, "another question", "the answer"));
  EXPECT_FALSE(crypto::verify_call_id(key.public_key(), id, "the answer", "the question"));
  EXPECT_FALSE(crypto::verify_call_id(other.public_key(), id, "the question", "the answer"));
  for (size_t i = 5; i < id.size(); i++) {
    if (id[i] == '-') continue;
    std::string flipped = id;
    flipped[i] = flipped[i] == '0' ? '1' : '0';
    EXPECT_FALSE(crypto::verify_call_id(key.public_key(), flipped, "the question", "the answer")) << i;
  }
  EXPECT_FALSE(crypto::verify_call_id(key.public_key(), "cmpl-1", "the question", "the answer"));
  EXPECT_FALSE(crypto::verify_call_id(key.public_key(), "", "", ""));
}

TEST(AuditTimes, durations_and_timestamps) {
  using fingerprint::parse_duration_ms;
  using fingerprint::parse_timestamp_ms;
  EXPECT_EQ(parse_duration_ms("90s"), 90000);
  EXPECT_EQ(parse_duration_ms("30m"), 1800000);
  EXPECT_EQ(parse_duration_ms("24h"), 86400000);
  EXPECT_EQ(parse_duration_ms("7d"), 604800000);
  EXPECT_EQ(parse_duration_ms("15"), 15000);
  for (const char* bad : {"", "h", "1hh", "-1h", "1.5h", "1w", "99999999999999d"})
    EXPECT_EQ(parse_duration_ms(bad), std::nullopt) << bad;
  EXPECT_EQ(parse_timestamp_ms("1970-01-01T00:00:01.250Z"), 1250);
  EXPECT_EQ(parse_timestamp_ms("2026-12-02T13:46:39.000Z"), int64_t(1796219199) * 1000);
  EXPECT_EQ(parse_timestamp_ms("2026-12-02T13:46:39Z"), std::nullopt);
}

}  // namespace
}  // namespace omlkit::serve

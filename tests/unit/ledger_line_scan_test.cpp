// The replay's tree-free fast path (ledger/line_scan.h, Replay::apply_scanned,
// Accounts::apply_transfer) against the full parser it stands in for:
//  - every line the scan accepts, json::parse (ledger options) accepts too, with the same
//    value: checked on real ledger lines, on hand-made lines (escapes, non-ASCII, numbers
//    at the 2^53 edge, duplicate and reordered keys, bad UTF-8, whitespace), on every
//    single-byte mutation (all 256 values at every offset) and every truncation of them;
//  - a replay with the fast path and one without agree on every such variant of real
//    ledger lines: accept or refuse, exit code, place and message, leaf hash, root, last
//    timestamp and balances, and on every line after it.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "io/error.h"
#include "json/value.h"
#include "ledger/append.h"
#include "ledger/line_scan.h"
#include "ledger/replay.h"
#include "test_support.h"

using namespace omlkit;
using namespace omlkit::ledger;

namespace {

const char* digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

// A small ledger with every path the fast path takes or leaves: transfers (plain, with an
// extra field, a role, a non-ASCII id, an escaped id), other entry types, two checkpoints
// (their notes hold an em dash and "\n" escapes).
std::vector<std::string> ledger_lines() {
  test::TempDir dir;
  uint8_t seed[32] = {7, 8, 9};
  crypto::SigningKey key = crypto::SigningKey::from_seed(seed);
  AppendOptions options;
  options.ledger_path = dir.file("ledger.jsonl");
  options.key = &key;
  options.origin = "test.example/ledger";
  options.now_millis = 1700000000000;
  auto append = [&](const std::vector<std::string>& lines) {
    std::vector<Submitted> entries;
    for (size_t i = 0; i < lines.size(); ++i) entries.push_back(parse_submitted(lines[i], "in:" + std::to_string(i + 1)));
    append_batch(options, entries);
  };
  append({R"({"type":"asset.declare","body":{"asset":"OPEN","decimals":6,"issuer":"treasury"}})",
          R"({"type":"transfer","body":{"transfer":"t1","postings":[{"account":"treasury","asset":"OPEN","amount":"-1000"},{"account":"bob","asset":"OPEN","amount":"1000"}]}})",
          std::string(R"({"type":"model.register","body":{"model":"m","owner":"alice","digest":")") + digest + "\"}}"});
  options.now_millis = 1700000001000;
  append({R"({"type":"transfer","body":{"transfer":"t2","postings":[{"account":"bob","asset":"OPEN","amount":"-250"},{"account":"carol","asset":"OPEN","amount":"250","role":"data"}],"memo":"x"}})",
          R"({"type":"transfer","body":{"transfer":"t-\u00e9\u2014","postings":[{"account":"carol","asset":"OPEN","amount":"-5"},{"account":"bob","asset":"OPEN","amount":"5"}]}})",
          R"({"type":"transfer","body":{"transfer":"t\"q","postings":[{"account":"treasury","asset":"OPEN","amount":"-7"},{"account":"dave","asset":"OPEN","amount":"7"},{"account":"dave","asset":"OPEN","amount":"-7"},{"account":"bob","asset":"OPEN","amount":"7"}]}})",
          R"({"type":"assert","body":{"account":"bob","asset":"OPEN","balance":"762"}})",
          R"({"type":"transfer","body":{"transfer":"t3","postings":[{"account":"bob","asset":"OPEN","amount":"-762"},{"account":"treasury","asset":"OPEN","amount":"762"}]}})"});
  std::ifstream in(options.ledger_path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

json::ParseOptions ledger_parse_options() {
  json::ParseOptions o;
  o.integers_only = true;
  o.require_canonical = true;
  o.max_depth = 160;
  return o;
}

// The variants of a line: every byte replaced by each of the 256 values, every byte
// deleted, every proper prefix.
template <class F>
void for_each_mutation(const std::string& line, F f) {
  std::string v;
  for (size_t i = 0; i < line.size(); ++i) {
    for (int b = 0; b < 256; ++b) {
      if (static_cast<unsigned char>(line[i]) == b) continue;
      v = line;
      v[i] = static_cast<char>(b);
      f(v);
    }
    v = line;
    v.erase(i, 1);
    f(v);
    f(line.substr(0, i));
  }
}

// Checks the scan against the parser on one text; counts what the scan accepted.
void expect_scan_agrees(const std::string& text, LineScan& scan, size_t* accepted) {
  if (!scan.scan(text)) return;
  ++*accepted;
  json::Value parsed;
  try {
    parsed = json::parse(text, "t", ledger_parse_options());
  } catch (const Error& e) {
    ADD_FAILURE() << "the scan accepts what the parser refuses (" << e.what() << "): " << text;
    return;
  }
  EXPECT_TRUE(scan.to_value() == parsed) << text;
}

TEST(LedgerLineScan, every_text_the_scan_accepts_the_parser_reads_the_same) {
  std::vector<std::string> texts = ledger_lines();
  const size_t real_lines = texts.size();
  std::vector<std::string> made = {
      R"({"a":[1,-2,0,[],{},[[]],true,false,null,"x"],"b":{"c":"\u00e9"}})",
      "{\"a\":\"\xc3\xa9\xe2\x80\x94\xf0\x9f\x98\x82\"}",   // UTF-8 in a value: accepted
      "{\"\xc3\xa9\":1}",                                  // non-ASCII name: left to the parser
      R"({"a":"\n"})", R"({"a":"\u0001"})", R"({"a":"\/"})", R"({"a":"\u00e9"})",  // escapes
      R"({"b":1,"a":2})", R"({"a":1,"a":2})", R"({"a":1,"b":2,"a":3})",            // order, repeats
      R"({"a":01})", R"({"a":-0})", R"({"a":1.0})", R"({"a":1e3})", R"({"a":-})",   // numbers
      R"({"a":999999999999999})", R"({"a":-999999999999999})",                      // 15 digits
      R"({"a":9007199254740991})", R"({"a":9007199254740992})",                     // 16 digits
      R"({"a":1} )", R"( {"a":1})", R"({"a" :1})", "{\"a\":1}\n",                   // whitespace
      "{\"a\":\"\xc0\x80\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xe2\x80\"}",   // bad UTF-8
      "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\x7f\"}", "{\"a\":\"\x1f\"}",
      R"({"a":tru})", R"({"a":nul})", R"({"a":[1,]})", R"({"a":1,})", R"({,})", R"([])", R"("s")", "7", "",
  };
  std::string deep = "1";
  for (int d = 0; d < 40; ++d) deep = "[" + deep + "]";  // deeper than the scan goes
  made.push_back(deep);
  texts.insert(texts.end(), made.begin(), made.end());

  LineScan scan;
  size_t accepted = 0, real_accepted = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    size_t before = accepted;
    expect_scan_agrees(texts[i], scan, &accepted);
    if (i < real_lines) real_accepted += accepted - before;
  }
  // Not vacuous: the real lines without escapes are accepted.
  EXPECT_GE(real_accepted, real_lines - 3);  // the escaped id and the two checkpoints' notes
  size_t variants = 0;
  for (const std::string& t : texts) for_each_mutation(t, [&](const std::string& v) {
      ++variants;
      expect_scan_agrees(v, scan, &accepted);
    });
  EXPECT_GT(variants, 200000u);
  EXPECT_GT(accepted, 1000u);
}

struct Outcome {
  std::string result;  // "leaf <hex>" or "error <code> <where>: <message>"
  std::string state;   // size, root, last ts, balances
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

std::string state_of(const Replay& r) {
  std::ostringstream s;
  s << r.size() << ' ' << crypto::to_hex(r.root()) << ' ' << r.last_ts() << ' ' << r.unsigned_lines();
  for (const Balance& b : r.accounts().balances()) s << ' ' << b.account << '/' << b.asset << '=' << money::to_string(b.amount);
  return s.str();
}

// Applies lines[from..] with `first` in place of lines[from], until one fails.
Outcome replay_rest(Replay replay, const std::vector<std::string>& lines, size_t from, const std::string& first) {
  Outcome out;
  for (size_t i = from; i < lines.size(); ++i) {
    const std::string& line = i == from ? first : lines[i];
    try {
      out.result += "leaf " + crypto::to_hex(replay.apply(line, "l:" + std::to_string(i + 1))) + "\n";
    } catch (const Error& e) {
      out.result += "error " + std::to_string(e.code()) + " " + e.where() + ": " + e.what() + "\n";
      break;
    }
  }
  out.state = state_of(replay);
  return out;
}

TEST(LedgerLineScan, replay_with_and_without_the_fast_path_agree_on_every_mutation) {
  std::vector<std::string> lines = ledger_lines();
  ReplayOptions fast_options, full_options;
  full_options.fast_path = false;

  // Unchanged, both accept every line, and the fast path takes the plain transfers.
  Replay fast(fast_options), full(full_options);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(fast.apply(lines[i], "l"), full.apply(lines[i], "l"));
  }
  EXPECT_EQ(state_of(fast), state_of(full));
  EXPECT_EQ(fast.scanned_lines(), 4u);  // t1, t2, t-é—, t3 (t"q has an escape)
  EXPECT_EQ(full.scanned_lines(), 0u);

  // Variants of each transfer line, and of the lines the fast path leaves.
  std::vector<std::string> edits;
  size_t variants = 0, agreed_accept = 0, fast_taken = 0;
  for (size_t k = 0; k < lines.size(); ++k) {
    if (lines[k].find("\"type\":\"transfer\"") == std::string::npos && k != 2 && k != lines.size() - 2) continue;
    Replay fast_prefix(fast_options), full_prefix(full_options);
    for (size_t i = 0; i < k; ++i) {
      fast_prefix.apply(lines[i], "l");
      full_prefix.apply(lines[i], "l");
    }
    std::vector<std::string> hand;
    const std::string& l = lines[k];
    auto replace = [&](const std::string& from, const std::string& to) {
      size_t at = l.find(from);
      if (at != std::string::npos) hand.push_back(std::string(l).replace(at, from.size(), to));
    };
    // Reordered keys, repeats, escapes, numbers, whitespace, amounts, accounts, ids.
    replace("\"prev\"", "\"seq\"");
    replace("{\"body\":", "{\"v\":1,\"body\":");
    replace("\"transfer\":\"", "\"transfer\":\"t1\",\"transfer\":\"");
    replace("\"postings\":[", "\"postings\":[],\"postings2\":[");
    replace("\"v\":1}", "\"v\":1.0}");
    replace("\"v\":1}", "\"v\":01}");
    replace("\"v\":1}", "\"v\":2}");
    replace("\"seq\":", "\"seq\":0");
    replace("\"seq\":", "\"seq\":-");
    replace("\"amount\":\"-", "\"amount\":\"+");
    replace("\"amount\":\"-", "\"amount\":\"-0");
    replace("\"amount\":\"", "\"amount\":\"0");
    replace("\"account\":\"bob\"", "\"account\":\"b\\u006fb\"");
    replace("\"account\":\"bob\"", "\"account\":\"bo b\"");
    replace("\"account\":\"bob\"", "\"account\":\"\"");
    replace("\"account\":\"bob\"", "\"account\":\"collateral:x\"");
    replace("\"asset\":\"OPEN\"", "\"asset\":\"SHUT\"");
    replace("\"asset\":\"OPEN\"", "\"asset\":\"OPEN\",\"asset\":\"OPEN\"");
    replace("\"transfer\":\"t", "\"transfer\":\"t1\",\"x\":\"t");
    replace("\"transfer\":\"t2\"", "\"transfer\":\"t1\"");  // a repeated id: only applying finds it
    replace("\"transfer\":\"t3\"", "\"transfer\":\"t2\"");
    replace("\"transfer\":\"t", "\"transfer\":1,\"y\":\"t");
    replace("\"postings\":[{", "\"postings\":[7,{");
    replace("\"postings\":[", "\"postings\":{\"a\":[");
    replace("\"ts\":\"2023", "\"ts\":\"2022");
    replace("\"type\":\"transfer\"", "\"type\":\"reward\"");
    replace("\"type\":\"transfer\"", "\"type\":\"tran\\u0073fer\"");
    replace(",\"prev\"", " ,\"prev\"");
    replace("-1000\"", "-1001\"");  // unbalanced
    replace("-762\"", "-763\"},{\"account\":\"bob\",\"asset\":\"OPEN\",\"amount\":\"1\"");  // below 0
    for (const std::string& v : hand) {
      ++variants;
      Outcome a = replay_rest(fast_prefix, lines, k, v), b = replay_rest(full_prefix, lines, k, v);
      EXPECT_EQ(a, b) << "line " << k + 1 << ": " << v;
    }
    for_each_mutation(l, [&](const std::string& v) {
      ++variants;
      Replay f = fast_prefix;
      uint64_t scanned = f.scanned_lines();
      Outcome a = replay_rest(std::move(f), lines, k, v), b = replay_rest(full_prefix, lines, k, v);
      if (!(a == b)) ADD_FAILURE() << "line " << k + 1 << ": " << v << "\nfast: " << a.result << a.state
                                   << "\nfull: " << b.result << b.state;
      if (a.result.rfind("leaf ", 0) == 0) ++agreed_accept;
      (void)scanned;
    });
    Replay probe = fast_prefix;
    try {
      probe.apply(l, "l");
    } catch (const Error&) {
    }
    fast_taken += probe.scanned_lines() - fast_prefix.scanned_lines();
  }
  EXPECT_GT(variants, 300000u);
  EXPECT_GT(agreed_accept, 100u);  // mutations that stay valid (an id's or account's letter)
  EXPECT_EQ(fast_taken, 4u);
}

}  // namespace

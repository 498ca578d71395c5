// Helpers for the fee-split tests: exact big-integer arithmetic (the independent yardstick
// for rounding), random policies and attribution records, and running a FeeStream in memory.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "fees/fee_stream.h"
#include "fees/policy.h"
#include "io/line_reader.h"
#include "io/output.h"
#include "money/amount.h"
#include "test_support.h"

namespace omlkit::fees::testing {

using money::u128;

// Unsigned integer of any size, little-endian 32-bit limbs: just enough to hold the exact
// rational share fee * w1/W1 * w2/W2 * ... of a deep split without rounding.
struct Big {
  std::vector<uint32_t> limbs;  // no trailing zero limbs; empty = 0

  Big(u128 v = 0) {
    for (; v != 0; v >>= 32) limbs.push_back(static_cast<uint32_t>(v));
  }
  void trim() {
    while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
  }
  friend Big operator*(const Big& a, const Big& b) {
    Big r;
    r.limbs.assign(a.limbs.size() + b.limbs.size(), 0);
    for (size_t i = 0; i < a.limbs.size(); ++i) {
      uint64_t carry = 0;
      for (size_t j = 0; j < b.limbs.size(); ++j) {
        uint64_t t = uint64_t(a.limbs[i]) * b.limbs[j] + r.limbs[i + j] + carry;
        r.limbs[i + j] = static_cast<uint32_t>(t);
        carry = t >> 32;
      }
      for (size_t k = i + b.limbs.size(); carry; ++k) {
        uint64_t t = uint64_t(r.limbs[k]) + carry;
        r.limbs[k] = static_cast<uint32_t>(t);
        carry = t >> 32;
      }
    }
    r.trim();
    return r;
  }
  friend int compare(const Big& a, const Big& b) {
    if (a.limbs.size() != b.limbs.size()) return a.limbs.size() < b.limbs.size() ? -1 : 1;
    for (size_t i = a.limbs.size(); i-- > 0;)
      if (a.limbs[i] != b.limbs[i]) return a.limbs[i] < b.limbs[i] ? -1 : 1;
    return 0;
  }
  // a - b, for a >= b.
  friend Big operator-(const Big& a, const Big& b) {
    Big r = a;
    int64_t borrow = 0;
    for (size_t i = 0; i < r.limbs.size(); ++i) {
      int64_t t = int64_t(r.limbs[i]) - borrow - (i < b.limbs.size() ? int64_t(b.limbs[i]) : 0);
      borrow = t < 0;
      r.limbs[i] = static_cast<uint32_t>(t + (borrow << 32));
    }
    r.trim();
    return r;
  }
};

// An exact non-negative rational num/den.
struct Ratio {
  Big num, den;
  Ratio times(u128 n, u128 d) const { return Ratio{num * Big(n), den * Big(d)}; }
};

// |value - exact| < bound, decided exactly.
inline bool within(u128 value, const Ratio& exact, u128 bound) {
  Big scaled = Big(value) * exact.den;
  Big diff = compare(scaled, exact.num) >= 0 ? scaled - exact.num : exact.num - scaled;
  return compare(diff, Big(bound) * exact.den) < 0;
}

inline std::string str(u128 v) { return money::to_string(v); }

// A uniformly random u128 below 2^bits (bits in 1..128).
inline u128 random_below_bits(std::mt19937_64& rng, int bits) {
  u128 v = (u128(rng()) << 64) | rng();
  return bits >= 128 ? v : v & ((u128(1) << bits) - 1);
}

// An attribution record as JSON text.
struct CallSpec {
  std::string call = "c-1", payer = "acct:payer", node = "acct:node", asset = "OPEN";
  u128 fee = 1000000;
  std::vector<std::string> owners = {"acct:owner-0"};
  std::vector<std::pair<std::string, u128>> data;

  std::string json() const {
    std::string s = "{\"type\":\"attribution\",\"call\":\"" + call + "\",\"payer\":\"" + payer + "\",\"node\":\"" +
                    node + "\",\"fee\":{\"asset\":\"" + asset + "\",\"amount\":\"" + str(fee) +
                    "\"},\"model\":\"m-0\",\"lineage\":[";
    for (size_t g = 0; g < owners.size(); ++g)
      s += (g ? "," : "") + std::string("{\"model\":\"m-") + std::to_string(g) + "\",\"owner\":\"" + owners[g] + "\"}";
    s += "],\"data\":[";
    for (size_t i = 0; i < data.size(); ++i)
      s += (i ? "," : "") + std::string("{\"contributor\":\"") + data[i].first + "\",\"weight\":\"" +
           str(data[i].second) + "\"}";
    return s + "]}";
  }
};

// Runs a FeeStream over `input` (JSON lines) and returns what it wrote, and the error
// that stopped it, if one did.
struct StreamResult {
  std::string output;
  uint64_t bad_records = 0;
  std::vector<std::string> reports;  // keep_going: "where: message" of each skipped record
  std::optional<Error> error;
};

inline StreamResult run_stream(const Policy& policy, StreamOptions options, const std::string& input) {
  test::TempDir dir;
  {
    int fd = ::open(dir.file("in.jsonl").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    io::write_all(fd, input, "in.jsonl");
    ::close(fd);
  }
  int out_fd = ::open(dir.file("out.jsonl").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  StreamResult result;
  {
    io::Output out(out_fd, "out.jsonl");
    FeeStream stream(policy, options, out);
    stream.on_bad_record = [&](const Error& e) { result.reports.push_back(e.where() + ": " + e.what()); };
    try {
      io::LineReader reader(dir.file("in.jsonl"));
      stream.process(reader);
      stream.finish();
    } catch (const Error& e) {
      result.error = e;
    }
    result.bad_records = stream.bad_records();
  }  // the Output flushes what was written before an error, as the tool's does
  ::close(out_fd);
  result.output = test::slurp(dir.file("out.jsonl"));
  return result;
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(text.substr(start, nl - start));
  return lines;
}

}  // namespace omlkit::fees::testing

#include "money/amount.h"

#include <algorithm>
#include <cstdint>
#include <numeric>

namespace omlkit::money {

std::optional<u128> parse_amount(std::string_view text) {
  if (text.empty() || text.size() > 39) return std::nullopt;
  if (text[0] == '0' && text.size() > 1) return std::nullopt;
  u128 v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    u128 digit = static_cast<u128>(c - '0');
    if (v > (u128_max - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

void append_decimal(u128 value, std::string& out) {
  // Digits are made from the right, 19 at a time: a 128-bit division by 10 is a library
  // call, a 64-bit one a multiplication, and most amounts fit in 64 bits.
  constexpr uint64_t ten_pow_19 = 10000000000000000000ull;
  char digits[40];
  char* p = digits + sizeof digits;
  while (value > UINT64_MAX) {
    auto low = static_cast<uint64_t>(value % ten_pow_19);
    value /= ten_pow_19;
    for (int i = 0; i < 19; ++i, low /= 10) *--p = static_cast<char>('0' + low % 10);
  }
  auto rest = static_cast<uint64_t>(value);
  do {
    *--p = static_cast<char>('0' + rest % 10);
    rest /= 10;
  } while (rest != 0);
  out.append(p, digits + sizeof digits);
}

std::string to_string(u128 value) {
  std::string out;
  append_decimal(value, out);
  return out;
}

std::optional<Signed> parse_signed(std::string_view text) {
  bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  auto m = parse_amount(text);
  if (!m || (negative && *m == 0)) return std::nullopt;
  return Signed::of(*m, negative);
}

std::string to_string(const Signed& value) {
  return (value.negative ? "-" : "") + to_string(value.magnitude);
}

bool add(Signed& a, const Signed& b) {
  if (a.negative == b.negative) {
    if (a.magnitude > u128_max - b.magnitude) return false;
    a.magnitude += b.magnitude;
  } else if (a.magnitude >= b.magnitude) {
    a.magnitude -= b.magnitude;
  } else {
    a.magnitude = b.magnitude - a.magnitude;
    a.negative = b.negative;
  }
  if (a.magnitude == 0) a.negative = false;
  return true;
}

Signed negate(const Signed& a) { return Signed::of(a.magnitude, !a.negative); }

int compare(const Signed& a, const Signed& b) {
  if (a.negative != b.negative) return a.negative ? -1 : 1;
  if (a.magnitude == b.magnitude) return 0;
  bool less = a.magnitude < b.magnitude;
  return (less != a.negative) ? -1 : 1;
}

QuotientRemainder mul_div(u128 a, u128 b, u128 d) {
  // 128x128 -> 256-bit product from four 64x64 partial products.
  const u128 mask = ~uint64_t(0);
  u128 a_lo = a & mask, a_hi = a >> 64, b_lo = b & mask, b_hi = b >> 64;
  u128 ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
  u128 mid = (ll >> 64) + (lh & mask) + (hl & mask);
  u128 lo = (ll & mask) | (mid << 64);
  u128 hi = hh + (lh >> 64) + (hl >> 64) + (mid >> 64);
  if (hi == 0) return {lo / d, lo % d};
  // Restoring long division of hi:lo by d, one bit at a time; hi < d keeps the quotient
  // within 128 bits. Rare: only amounts or weights near 2^64 and above get here.
  u128 rem = hi, quotient = 0;
  for (int bit = 127; bit >= 0; --bit) {
    bool carry = rem >> 127;
    rem = rem << 1 | ((lo >> bit) & 1);
    quotient <<= 1;
    if (carry || rem >= d) {
      rem -= d;
      quotient |= 1;
    }
  }
  return {quotient, rem};
}

std::optional<std::vector<u128>> largest_remainder_split(u128 amount,
                                                         std::span<const u128> weights) {
  u128 total = 0;
  for (u128 w : weights) {
    if (w > u128_max - total) return std::nullopt;
    total += w;
  }
  if (total == 0) return std::nullopt;
  std::vector<u128> shares(weights.size());
  std::vector<u128> remainders(weights.size());
  u128 assigned = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    QuotientRemainder qr = mul_div(amount, weights[i], total);
    shares[i] = qr.quotient;
    remainders[i] = qr.remainder;
    assigned += qr.quotient;
  }
  u128 left = amount - assigned;  // < number of non-zero remainders
  if (left > 0) {
    std::vector<size_t> order(weights.size());
    std::iota(order.begin(), order.end(), size_t{0});
    auto by_remainder = [&](size_t x, size_t y) {
      return remainders[x] != remainders[y] ? remainders[x] > remainders[y] : x < y;
    };
    size_t k = static_cast<size_t>(left);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), by_remainder);
    for (size_t i = 0; i < k; ++i) ++shares[order[i]];
  }
  return shares;
}

}  // namespace omlkit::money

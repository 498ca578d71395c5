// Money in omlkit: integers in base units, 0 <= amount < 2^128, written as decimal strings.
// No floating point anywhere money is involved.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace omlkit::money {

using u128 = unsigned __int128;
inline constexpr u128 u128_max = ~u128(0);

// "^(0|[1-9][0-9]*)$" below 2^128; nullopt otherwise.
std::optional<u128> parse_amount(std::string_view text);
std::string to_string(u128 value);
// Appends the decimal digits of value to out (the hot path of every writer of amounts).
void append_decimal(u128 value, std::string& out);

// A signed amount with a 128-bit magnitude: postings and balances run from -(2^128-1)
// to 2^128-1, which __int128 cannot hold.
struct Signed {
  bool negative = false;  // never true when magnitude == 0
  u128 magnitude = 0;

  static Signed of(u128 m, bool negative = false) { return Signed{negative && m != 0, m}; }
  bool is_zero() const { return magnitude == 0; }
  friend bool operator==(const Signed&, const Signed&) = default;
};

// "0" or "-?[1-9][0-9]*" with magnitude below 2^128; "-0" is refused.
std::optional<Signed> parse_signed(std::string_view text);
std::string to_string(const Signed& value);
// a + b; false (a unchanged) when the result's magnitude would reach 2^128.
bool add(Signed& a, const Signed& b);
Signed negate(const Signed& a);
int compare(const Signed& a, const Signed& b);

// floor(a * b / d) and (a * b) mod d with a 256-bit intermediate; requires d > 0 and
// the quotient < 2^128 (true whenever b <= d).
struct QuotientRemainder {
  u128 quotient, remainder;
};
QuotientRemainder mul_div(u128 a, u128 b, u128 d);

// Largest-remainder (Hamilton) apportionment of `amount` by `weights`:
//   q_i = floor(A * w_i / W), then the R = A - sum(q_i) units left go one each to the R
//   largest remainders (A * w_i mod W), ties to the lower index.
// Shares sum to A exactly and each differs from A * w_i / W by less than one unit.
// Requires sum(weights) in (0, 2^128); returns nullopt when the weights sum to 0 or overflow.
std::optional<std::vector<u128>> largest_remainder_split(u128 amount, std::span<const u128> weights);

}  // namespace omlkit::money

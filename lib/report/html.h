// Text for the HTML audit report: escaping and exact amounts.
//
// Every string that comes from a ledger (account names, model ids, error messages quoting
// the ledger) goes through append_escaped before it reaches the page, so a hostile name
// cannot open a tag or an attribute. Amounts are the ledger's integers, written with the
// asset's declared decimals by string manipulation: no floating point touches money.
#pragma once

#include <string>
#include <string_view>

#include "money/amount.h"

namespace omlkit::report {

// Appends text with & < > " ' escaped, C0 controls and DEL replaced by U+FFFD; safe in
// element content and in quoted attribute values.
void append_escaped(std::string& out, std::string_view text);
std::string escaped(std::string_view text);

// "1234567" with 6 decimals -> "1.234567"; with 0 -> "1234567". Thousands are grouped
// with commas: "12,345.000000".
std::string format_amount(money::u128 base_units, int decimals);
std::string format_amount(const money::Signed& base_units, int decimals);

// A sum of amounts that reports overflow instead of wrapping (a total of many postings
// may in principle pass 2^128).
struct Total {
  money::Signed value;
  bool overflow = false;
  void add(const money::Signed& amount) {
    if (!overflow && !money::add(value, amount)) overflow = true;
  }
  void add(money::u128 amount) { add(money::Signed::of(amount)); }
  void add(const Total& other) {
    if (other.overflow) overflow = true;
    else add(other.value);
  }
};
// The total's figure, or "over 2^128 base units" when it overflowed.
std::string format_total(const Total& total, int decimals);

}  // namespace omlkit::report

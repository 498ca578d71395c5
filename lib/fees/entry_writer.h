// The canonical (RFC 8785) JSON lines split-fees writes, ready for ledger-append:
//   {"body":{"call","fee","model","node","payer","postings","split"},"type":"inference.fee"}
// postings[0] is the payer's debit of the whole fee; postings[1..] are the split's
// non-zero credits in depth-first order, each with its role.
//
// Lines are written straight into an output buffer with the members in canonical order,
// rather than built as json::Value trees and sorted: this is the per-call hot path.
// Strings go through json::write_canonical, so escaping is the library's.
#pragma once

#include <string>

#include "fees/attribution.h"
#include "fees/fee_split.h"
#include "json/value.h"
#include "money/amount.h"

namespace omlkit::fees {

// Each appends one line, '\n' included, to out.
void write_fee_entry(const Attribution& call, const FeeSplit& split, std::string& out);

// The split tree of money/split_tree.h: [{"account"|"parts", "role"?, "weight"}, ...].
void append_split(const FeeSplit& split, std::string& out);
// One call of a settlement: {"call","fee","payer","split"}, what a verifier needs to
// recompute the call's postings.
void append_settled_call(const Attribution& call, const FeeSplit& split, std::string& out);

// A string value in canonical form (quoted and escaped).
void append_string(const json::Value& value, std::string& out);
// {"account":A,"amount":"[-]N","asset":S[,"role":R]} (role omitted when null).
void append_posting(std::string_view account_json, money::u128 amount, bool negative, std::string_view asset_json,
                    const char* role, std::string& out);

}  // namespace omlkit::fees

// The one rule for account names, shared by every tool that reads or writes one (the
// ledger's postings, split-fees' policies and attribution records, attribute's index
// contributors): 1 to 256 bytes of well-formed UTF-8 with no control character (C0, DEL).
// A name that passes can be written into JSON and into a diagnostic as it is.
#pragma once

#include <string_view>

namespace omlkit::money {

inline constexpr size_t max_account_name_bytes = 256;
// What a diagnostic says was expected, e.g. "body.account: expected <this>, found ...".
inline constexpr const char* account_name_rule = "an account name (1-256 bytes of UTF-8, no control characters)";

bool valid_account_name(std::string_view name);

}  // namespace omlkit::money

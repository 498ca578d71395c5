// The ledger line: one RFC 8785 canonical JSON object per line,
//   {"body":{...},"prev":"<hex>","seq":N,"ts":"YYYY-MM-DDTHH:MM:SS.mmmZ","type":T,"v":1}
// Leaf hash = SHA-256(0x00 || line bytes without '\n'); prev is the previous line's leaf
// hash (64 zeros for the genesis line). See man/omlkit-formats.5.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "json/value.h"

namespace omlkit::ledger {

inline constexpr int format_version = 1;
inline const std::string zero_hash_hex(64, '0');

// Entry types of the vocabulary (DESIGN.md), plus "transfer" for plain movements.
bool is_entry_type(std::string_view type);
// Types that tools may submit to ledger-append (all but genesis and checkpoint).
bool is_submittable_type(std::string_view type);

// "2026-11-22T21:00:00.000Z" for a Unix time in milliseconds.
std::string format_timestamp(int64_t unix_millis);
// Checks the exact layout above with calendar-valid fields.
bool valid_timestamp(std::string_view ts);

// Builds the canonical line (without '\n') for an entry.
std::string make_line(uint64_t seq, const std::string& ts, const std::string& type,
                      const std::string& prev_hex, const json::Value& body);

}  // namespace omlkit::ledger

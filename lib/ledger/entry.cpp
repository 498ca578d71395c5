#include "ledger/entry.h"

#include <array>
#include <ctime>

namespace omlkit::ledger {

static constexpr std::array<std::string_view, 16> entry_types = {
    "genesis",        "asset.declare",   "account.open", "model.register", "license.grant",
    "license.revoke", "collateral.deposit", "fingerprint.proof", "slash", "inference.fee",
    "payout",         "evaluation",      "reward",       "assert",         "checkpoint",
    "transfer"};

bool is_entry_type(std::string_view type) {
  for (auto t : entry_types)
    if (t == type) return true;
  return false;
}

bool is_submittable_type(std::string_view type) {
  return is_entry_type(type) && type != "genesis" && type != "checkpoint";
}

std::string format_timestamp(int64_t unix_millis) {
  time_t seconds = static_cast<time_t>(unix_millis / 1000);
  struct tm t;
  gmtime_r(&seconds, &t);
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1,
           t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(unix_millis % 1000));
  return buf;
}

bool valid_timestamp(std::string_view ts) {
  // YYYY-MM-DDTHH:MM:SS.mmmZ
  static constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (ts.size() != shape.size()) return false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'd' ? (ts[i] < '0' || ts[i] > '9') : ts[i] != shape[i]) return false;
  }
  auto num = [&](size_t at, size_t n) {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) v = v * 10 + (ts[i] - '0');
    return v;
  };
  int year = num(0, 4), month = num(5, 2), day = num(8, 2);
  static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > days[month - 1]) return false;
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return false;
  return num(11, 2) < 24 && num(14, 2) < 60 && num(17, 2) < 60;
}

std::string make_line(uint64_t seq, const std::string& ts, const std::string& type,
                      const std::string& prev_hex, const json::Value& body) {
  // Keys in canonical order: body, prev, seq, ts, type, v.
  std::string line = "{\"body\":";
  json::write_canonical(body, line);
  line += ",\"prev\":\"" + prev_hex + "\",\"seq\":" + std::to_string(seq) + ",\"ts\":\"" + ts +
          "\",\"type\":";
  json::write_canonical(json::Value::string(type), line);
  line += ",\"v\":" + std::to_string(format_version) + "}";
  return line;
}

}  // namespace omlkit::ledger

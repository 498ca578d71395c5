#include "serve/api_keys.h"

#include "crypto/ed25519.h"
#include "crypto/sha256.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "money/account_name.h"

namespace omlkit::serve {
namespace {

std::string digest(std::string_view token) {
  crypto::Hash h = crypto::sha256(token);
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

bool valid_token(std::string_view token) {
  if (token.size() < 16 || token.size() > 256) return false;
  for (unsigned char c : token)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

}  // namespace

ApiKeys ApiKeys::load(const std::string& path) {
  io::LineReader reader(path);  // 66 when missing or unreadable
  if (std::optional<unsigned> mode = crypto::key_file_exposed(path))
    throw data_error(path, "API keys file is readable by others (mode " + crypto::mode_string(*mode) +
                               "): its tokens spend the payers' money; chmod 600 it");
  ApiKeys keys;
  std::string_view line;
  while (reader.next(&line)) {
    size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string_view::npos || line[start] == '#') continue;
    line.remove_prefix(start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
    size_t gap = line.find_first_of(" \t");
    if (gap == std::string_view::npos)
      throw data_error(reader.where(), "expected \"<token> <account>\", found one field");
    std::string_view token = line.substr(0, gap);
    std::string_view account = line.substr(line.find_first_not_of(" \t", gap));
    // The token itself is never echoed: an error message may end up in a shared log.
    if (!valid_token(token))
      throw data_error(reader.where(), "token: expected 16 to 256 printable ASCII bytes without spaces");
    if (!money::valid_account_name(account))
      throw data_error(reader.where(), std::string("account: expected ") + money::account_name_rule);
    if (!keys.payers_.emplace(digest(token), std::string(account)).second)
      throw data_error(reader.where(), "token: listed twice");
  }
  if (keys.payers_.empty()) throw data_error(path, "no API keys: every request would be refused");
  return keys;
}

std::optional<std::string> ApiKeys::payer(std::string_view header) const {
  constexpr std::string_view scheme = "Bearer ";
  if (header.size() <= scheme.size() || header.substr(0, scheme.size()) != scheme) return std::nullopt;
  auto it = payers_.find(digest(header.substr(scheme.size())));
  if (it == payers_.end()) return std::nullopt;
  return it->second;
}

}  // namespace omlkit::serve

// API keys of `model-run serve --api-keys FILE`: bearer tokens and the payer account each
// one bills. The file is a secret (anyone who reads it can spend the payers' money), so it
// is refused when its group or others may read or write it, as ssh refuses a private key.
//
// Format: one key per line, "<token> <account>", separated by spaces or tabs; '#' starts a
// comment line; blank lines are ignored. A token is 16 to 256 printable ASCII bytes without
// spaces; the account follows the ledger's account rule (money/account_name.h). A token may
// appear once. Only SHA-256 digests of the tokens are kept in memory after loading, so a
// lookup compares digests, never the secret itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace omlkit::serve {

class ApiKeys {
 public:
  // Throws Error 66 (unreadable), 65 (a malformed line, with file:line, or a file that
  // others may read: "chmod 600 it").
  static ApiKeys load(const std::string& path);

  // The payer account of an "Authorization" header value ("Bearer <token>"), or nullopt
  // for a missing, malformed or unknown one.
  std::optional<std::string> payer(std::string_view authorization_header) const;
  size_t size() const { return payers_.size(); }

 private:
  std::unordered_map<std::string, std::string> payers_;  // sha256(token) bytes -> account
};

}  // namespace omlkit::serve

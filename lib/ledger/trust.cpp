#include "ledger/trust.h"

#include <sstream>

#include "io/error.h"
#include "io/line_reader.h"
#include "ledger/entry.h"

namespace omlkit::ledger {

const TrustedKey* TrustFile::find(const std::string& name) const {
  for (const auto& k : keys)
    if (k.verifier.name == name) return &k;
  return nullptr;
}

TrustFile load_trust_file(const std::string& path) {
  TrustFile trust;
  io::LineReader reader(path, 1 << 16);
  std::string_view raw;
  while (reader.next(&raw)) {
    std::string line(raw.substr(0, raw.find('#')));
    std::istringstream words(line);
    std::string key, types;
    if (!(words >> key)) continue;
    auto verifier = crypto::parse_verifier_key(key);
    if (!verifier)
      throw data_error(reader.where(), "expected a verifier key name+keyid+base64, found \"" + key + "\"");
    if (!(words >> types))
      throw data_error(reader.where(), "expected the entry types this key may sign after the key (or *)");
    std::string extra;
    if (words >> extra) throw data_error(reader.where(), "unexpected \"" + extra + "\" after the types");
    TrustedKey trusted{*verifier, {}};
    if (types != "*") {
      std::stringstream list(types);
      std::string type;
      while (std::getline(list, type, ',')) {
        if (!is_entry_type(type)) throw data_error(reader.where(), "unknown entry type \"" + type + "\"");
        trusted.types.insert(type);
      }
    }
    if (trust.find(verifier->name))
      throw data_error(reader.where(), "key name \"" + verifier->name + "\" listed twice");
    trust.keys.push_back(std::move(trusted));
  }
  if (trust.keys.empty()) throw data_error(path, "the trust file lists no keys");
  return trust;
}

}  // namespace omlkit::ledger

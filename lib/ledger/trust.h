// Trust files: which public keys may sign a ledger's checkpoints, and for which entry types.
//
// One key per line: "<verifier key> <type>[,<type>...]" where the verifier key is the
// C2SP form "name+keyid+base64" (ledger-append --print-key prints it) and "*" allows every
// type. '#' starts a comment; blank lines are ignored. A checkpoint is accepted only when a
// key that verifies its signature may sign every entry type in the batch it closes.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/signed_note.h"

namespace omlkit::ledger {

struct TrustedKey {
  crypto::NoteVerifier verifier;
  std::set<std::string> types;  // empty = every type
  bool allows(const std::string& type) const { return types.empty() || types.count(type); }
};

struct TrustFile {
  std::vector<TrustedKey> keys;
  const TrustedKey* find(const std::string& name) const;
};

TrustFile load_trust_file(const std::string& path);

}  // namespace omlkit::ledger

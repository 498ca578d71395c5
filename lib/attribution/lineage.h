// The model registry of a ledger: who owns each registered model and what it derives from.
//
// Read with one streaming pass of ledger::Replay, so a registry only ever comes from a
// ledger that ledger-verify would accept (chain, checkpoints, signatures by the genesis
// key, accounting). A torn tail (bytes after the last newline) is ignored, as
// ledger-append would cut it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ledger/accounts.h"

namespace omlkit::attribution {

struct Generation {
  std::string model, owner;
};

class ModelRegistry {
 public:
  // Throws Error 66 when the ledger cannot be read, 65 at "ledger:line" when it is invalid.
  static ModelRegistry from_ledger(const std::string& path);

  // The called model first, then each parent up to the root; nullopt when unregistered.
  std::optional<std::vector<Generation>> lineage(const std::string& model) const;
  uint64_t entries() const { return entries_; }

 private:
  ledger::Accounts accounts_;
  uint64_t entries_ = 0;
};

}  // namespace omlkit::attribution

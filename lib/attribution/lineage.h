// The model registry of a ledger: who owns each registered model and what it derives from.
//
// Read with one streaming pass of ledger::Replay, exactly as ledger-verify reads it: chain,
// checkpoints, signatures by the trust file's keys (or, without one, the genesis key; the
// tool warns then, as ledger-verify does), authorisation, accounting. Only registrations
// covered by a signed checkpoint count: lines after the last checkpoint (an unsigned tail,
// or a torn one) are not the ledger yet, as ledger-append would cut them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ledger/accounts.h"
#include "ledger/trust.h"

namespace omlkit::attribution {

struct Generation {
  std::string model, owner;
};

class ModelRegistry {
 public:
  // Throws Error 66 when the ledger cannot be read, 65 at "ledger:line" when it is invalid.
  static ModelRegistry from_ledger(const std::string& path, const ledger::TrustFile* trust = nullptr);

  // The called model first, then each parent up to the root; nullopt when unregistered.
  std::optional<std::vector<Generation>> lineage(const std::string& model) const;
  uint64_t entries() const { return entries_; }  // covered by the last checkpoint

 private:
  ledger::Accounts accounts_;
  uint64_t entries_ = 0;
  uint64_t signed_models_ = 0;  // registrations covered by the last checkpoint
};

}  // namespace omlkit::attribution

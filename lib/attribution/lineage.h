// The model registry of a ledger: who owns each registered model and what it derives from.
//
// Read with one streaming pass of ledger::Replay, exactly as ledger-verify reads it: chain,
// checkpoints, signatures by the trust file's keys (or, without one, the genesis key; the
// tool warns then, as ledger-verify does), authorisation, accounting. Only registrations
// covered by a signed checkpoint count: lines after the last checkpoint (an unsigned tail,
// or a torn one) are not the ledger yet, as ledger-append would cut them.
//
// When ledger-append's state cache (ledger/state_cache.h) names a checkpoint of this very
// file, the registry is read through it instead: the named checkpoint's signature is
// checked under the same keys, only the lines after it are replayed, and each model is
// looked up in the cache when first asked for. The lines before that checkpoint are then
// not re-checked (ledger-verify audits them); `from_ledger(..., false)` replays them all.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ledger/accounts.h"
#include "ledger/state_cache.h"
#include "ledger/trust.h"

namespace omlkit::attribution {

struct Generation {
  std::string model, owner;
};

class ModelRegistry {
 public:
  // Throws Error 66 when the ledger cannot be read, 65 at "ledger:line" when it is invalid.
  static ModelRegistry from_ledger(const std::string& path, const ledger::TrustFile* trust = nullptr,
                                   bool use_cache = true);

  // The called model first, then each parent up to the root; nullopt when unregistered.
  std::optional<std::vector<Generation>> lineage(const std::string& model) const;
  uint64_t entries() const { return entries_; }  // covered by the last checkpoint
  bool through_cache() const { return cache_ != nullptr; }

 private:
  std::optional<std::vector<Generation>> lineage_of(const std::string& model) const;

  std::string path_;
  std::shared_ptr<ledger::StateCache> cache_;   // the base of accounts_, when read through it
  std::shared_ptr<std::mutex> lookup_;          // lookups through the cache load rows: one at a time
  ledger::Accounts accounts_;
  uint64_t entries_ = 0;
  uint64_t signed_models_ = 0;  // registrations covered by the last checkpoint
};

}  // namespace omlkit::attribution

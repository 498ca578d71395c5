// libFuzzer target: trust files (ledger::load_trust_file, which reads a path). Only
// omlkit::Error may escape; every accepted key must be found again by its name.
#include <cstdint>

#include "fuzz_support.h"
#include "io/error.h"
#include "ledger/trust.h"

using namespace omlkit;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz::scratch_file(data, size);
  try {
    ledger::TrustFile trust = ledger::load_trust_file(path);
    for (const auto& k : trust.keys) {
      const ledger::TrustedKey* found = trust.find(k.verifier.name);
      if (!found) __builtin_trap();
      found->allows("transfer");
    }
  } catch (const Error&) {
  }
  return 0;
}

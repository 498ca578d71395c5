// libFuzzer target: fee policy files (fees::parse_policy). Only omlkit::Error may escape;
// an accepted policy must hold what the parser promises (shares summing to 10,000 basis
// points, minimum fees of at least 1, reward tiers sorted highest first).
#include <cstdint>
#include <string_view>

#include "fees/policy.h"
#include "io/error.h"

using namespace omlkit;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    fees::Policy p = fees::parse_policy(text, "fuzz");
    uint64_t sum = 0;
    for (uint32_t s : p.shares) sum += s;
    if (sum != fees::basis_points) __builtin_trap();
    for (const auto& a : p.assets) {
      if (a.min_fee < 1) __builtin_trap();
      if (p.find_asset(a.asset) == nullptr) __builtin_trap();
    }
    if (p.rewards)
      for (size_t i = 1; i < p.rewards->tiers.size(); ++i)
        if (p.rewards->tiers[i - 1].min_score < p.rewards->tiers[i].min_score) __builtin_trap();
  } catch (const Error&) {
  }
  return 0;
}

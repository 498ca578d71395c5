// Balances keyed by a 128-bit keyed digest of their account and asset (ledger-verify's
// compact state): 32 bytes a pair, in 64 open-addressing shards, so that growing one
// shard never holds two copies of the whole table. The names are not kept: an audit that
// must print balances (--balances, --report) keeps the named map of ledger/accounts.h.
// Two bits of the digest hold the slot's state and the balance's sign, leaving 126: two
// pairs share a digest with probability below n^2 / 2^127 (see ledger/id_digest_set.h).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "ledger/id_digest_set.h"
#include "money/amount.h"

namespace omlkit::ledger {

class BalanceTable {
 public:
  money::Signed get(const IdDigest& key) const;
  void set(const IdDigest& key, const money::Signed& value);
  uint64_t bytes() const { return bytes_; }
  uint64_t size() const { return count_; }

 private:
  struct Slot {
    uint64_t hi;  // bit 0: occupied; bit 1: negative; the rest: the digest's
    uint64_t lo;
    uint64_t magnitude_low, magnitude_high;
  };
  static constexpr int shard_bits = 6;
  struct Shard {
    std::vector<Slot> slots;
    size_t count = 0;
  };
  void grow(Shard& shard);

  std::array<Shard, size_t(1) << shard_bits> shards_;
  uint64_t bytes_ = 0, count_ = 0;
};

}  // namespace omlkit::ledger

#include "ledger/balance_table.h"

namespace omlkit::ledger {

namespace {

constexpr uint64_t occupied = 1, negative = 2, flags = occupied | negative;

}  // namespace

// The shard is chosen by the digest's top bits, the slot by its low bits.
money::Signed BalanceTable::get(const IdDigest& key) const {
  const Shard& shard = shards_[key.lo >> (64 - shard_bits)];
  if (shard.slots.empty()) return {};
  uint64_t hi = (key.hi & ~flags) | occupied;
  size_t mask = shard.slots.size() - 1;
  for (size_t i = key.lo & mask;; i = (i + 1) & mask) {
    const Slot& s = shard.slots[i];
    if (!(s.hi & occupied)) return {};
    if ((s.hi & ~negative) == hi && s.lo == key.lo) {
      money::u128 m = (money::u128(s.magnitude_high) << 64) | s.magnitude_low;
      return money::Signed::of(m, (s.hi & negative) != 0);
    }
  }
}

void BalanceTable::set(const IdDigest& key, const money::Signed& value) {
  Shard& shard = shards_[key.lo >> (64 - shard_bits)];
  if ((shard.count + 1) * 4 > shard.slots.size() * 3) grow(shard);  // load factor <= 3/4
  uint64_t hi = (key.hi & ~flags) | occupied;
  size_t mask = shard.slots.size() - 1;
  for (size_t i = key.lo & mask;; i = (i + 1) & mask) {
    Slot& s = shard.slots[i];
    bool fresh = !(s.hi & occupied);
    if (fresh || ((s.hi & ~negative) == hi && s.lo == key.lo)) {
      s.hi = hi | (value.negative ? negative : 0);
      s.lo = key.lo;
      s.magnitude_low = static_cast<uint64_t>(value.magnitude);
      s.magnitude_high = static_cast<uint64_t>(value.magnitude >> 64);
      if (fresh) ++shard.count, ++count_;
      return;
    }
  }
}

void BalanceTable::grow(Shard& shard) {
  std::vector<Slot> old;
  old.swap(shard.slots);
  shard.slots.assign(old.empty() ? 16 : old.size() * 2, Slot{0, 0, 0, 0});
  bytes_ += (shard.slots.size() - old.size()) * sizeof(Slot);
  size_t mask = shard.slots.size() - 1;
  for (const Slot& s : old) {
    if (!(s.hi & occupied)) continue;
    size_t i = s.lo & mask;
    while (shard.slots[i].hi & occupied) i = (i + 1) & mask;
    shard.slots[i] = s;
  }
}

}  // namespace omlkit::ledger

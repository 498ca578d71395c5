#include "ledger/string_set.h"

#include <cstring>

namespace omlkit::ledger {

static uint64_t mix(uint64_t h) {  // MurmurHash3's 64-bit finaliser
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

static uint64_t hash_bytes(std::string_view s, uint64_t h) {
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    h = mix(h ^ word) + 0x9e3779b97f4a7c15ULL;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  return mix(h ^ tail ^ (uint64_t(s.size()) << 56));
}

uint64_t StringSet::hash_of(std::string_view space, std::string_view id) {
  uint64_t h = hash_bytes(id, hash_bytes(space, 0x243f6a8885a308d3ULL));
  return h ? h : 1;
}

const StringSet::Slot* StringSet::find(uint64_t hash, std::string_view space, std::string_view id,
                                       size_t* index) const {
  size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.hash == 0) {
      *index = i;
      return nullptr;
    }
    if (s.hash == hash && s.space_length == space.size() && s.id_length == id.size() &&
        std::memcmp(arena_.data() + s.offset, space.data(), space.size()) == 0 &&
        std::memcmp(arena_.data() + s.offset + space.size(), id.data(), id.size()) == 0) {
      *index = i;
      return &s;
    }
  }
}

void StringSet::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
  size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.hash == 0) continue;
    size_t i = s.hash & mask;
    while (slots_[i].hash != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

bool StringSet::insert(std::string_view space, std::string_view id) {
  if ((count_ + 1) * 2 > slots_.size()) grow();  // load factor <= 1/2
  uint64_t hash = hash_of(space, id);
  size_t index;
  if (find(hash, space, id, &index)) return false;
  slots_[index] = Slot{hash, arena_.size(), static_cast<uint32_t>(space.size()), static_cast<uint32_t>(id.size())};
  arena_.append(space);
  arena_.append(id);
  ++count_;
  return true;
}

bool StringSet::contains(std::string_view space, std::string_view id) const {
  if (slots_.empty()) return false;
  size_t index;
  return find(hash_of(space, id), space, id, &index) != nullptr;
}

}  // namespace omlkit::ledger

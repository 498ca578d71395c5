// An insert-only set of two-part string keys (a namespace and an id), stored in one
// arena with an open-addressing table: the ledger claims an id for every entry, and a
// node-based std::unordered_set<std::string> spent more time in malloc than in hashing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace omlkit::ledger {

class StringSet {
 public:
  // Adds the key (space, id); false when it was already present.
  bool insert(std::string_view space, std::string_view id);
  bool contains(std::string_view space, std::string_view id) const;
  size_t size() const { return count_; }
  // Calls f(space, id) for every key, in no particular order.
  template <class F>
  void for_each(F f) const {
    for (const Slot& s : slots_)
      if (s.hash != 0)
        f(std::string_view(arena_).substr(s.offset, s.space_length),
          std::string_view(arena_).substr(s.offset + s.space_length, s.id_length));
  }

 private:
  struct Slot {
    uint64_t hash = 0;  // 0 marks an empty slot (real hashes are forced non-zero)
    uint64_t offset = 0;
    uint32_t space_length = 0, id_length = 0;
  };
  static uint64_t hash_of(std::string_view space, std::string_view id);
  const Slot* find(uint64_t hash, std::string_view space, std::string_view id, size_t* index) const;
  void grow();

  std::vector<Slot> slots_;
  std::string arena_;
  size_t count_ = 0;
};

}  // namespace omlkit::ledger

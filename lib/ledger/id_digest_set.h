// The ids an audit has seen, as fixed-size digests in bounded memory (ledger-verify
// --memory). Each id the ledger claims (a call, a transfer, ...) is kept as a 16-byte keyed
// digest with the entry that claimed it: 24 bytes an id in an open-addressing table, never
// the id's bytes. While the table fits its budget it is all there is, and a repeated id is
// found the moment it is claimed. Past the budget the table is sorted and written to disk
// as a run (an external sort's) and emptied; at the end, finish() merges the runs with
// what is left in memory and finds every digest claimed twice. Runs are merged 16 at a
// time as they accumulate, so a small budget never holds more than 16 files open.
//
// Digests are SHA-256(key || 32 zero bytes || space || 0x00 || id) cut to 128 bits, under
// a key drawn at random for each digester (key and zeros fill the first block, hashed once
// per digester, so a short id costs one compression): equal ids always have equal digests
// (no repeat is missed); two different ids share one with probability below n^2 / 2^129
// for n ids, and no one can search for such a pair in advance without the key. ledger/verify.cpp re-reads the
// two lines of a repeat found by merging, so what it reports is always a real repeat.
#pragma once

#include <array>
#include <cstdint>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sha256.h"

namespace omlkit::ledger {

struct IdDigest {
  uint64_t hi = 0, lo = 0;
  friend bool operator==(const IdDigest&, const IdDigest&) = default;
};

class IdDigester {
 public:
  IdDigester();  // a random key (getrandom)
  explicit IdDigester(const std::array<uint8_t, 32>& key);
  IdDigest operator()(std::string_view space, std::string_view id);

 private:
  crypto::Sha256 sha_;  // holds the keyed first block as its kept prefix
};

// Memory for the id table: past 2 MiB, aligned to 2 MiB and marked for transparent huge
// pages (madvise), since inserts land at random across the whole table and 4 KiB pages
// cost a TLB miss and a page fault each.
template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}
  T* allocate(size_t n);
  void deallocate(T* p, size_t n);
  friend bool operator==(const HugePageAllocator&, const HugePageAllocator&) { return true; }
};

class IdDigestSet {
 public:
  struct Record {
    uint64_t hi, lo, seq;  // seq: the entry that claimed it; empty slots hold seq == ~0
  };
  struct Duplicate {
    IdDigest digest;
    uint64_t first_seq, second_seq;
  };

  // budget_bytes: the most the table may take, growing included (0: no limit; otherwise
  // at least 1024). spill_dir: where runs are written (unlinked as soon as created).
  IdDigestSet(uint64_t budget_bytes, std::string spill_dir);
  ~IdDigestSet();
  IdDigestSet(const IdDigestSet&) = delete;
  IdDigestSet& operator=(const IdDigestSet&) = delete;

  // Records that entry seq claims the id. False, with *first_seq set, when the table in
  // memory holds the id already (a repeat found now). Throws Error(exit 73 or 74) when a
  // run cannot be written.
  bool insert(const IdDigest& digest, uint64_t seq, uint64_t* first_seq);
  // Changes the budget (never below 1024 bytes); a table over it shrinks at its next spill.
  void set_budget(uint64_t bytes);
  uint64_t budget() const { return budget_; }

  // Merges the runs with the table: of the ids claimed twice by entries before `limit`,
  // the one whose second claim comes first. Call once, at the end.
  std::optional<Duplicate> finish(uint64_t limit);

  uint64_t bytes() const { return table_.size() * sizeof(Record); }
  uint64_t peak_bytes() const { return peak_bytes_; }
  uint64_t runs_written() const { return runs_written_; }   // merged runs included
  uint64_t records_spilled() const { return records_spilled_; }

 private:
  struct Run {
    int fd;
    uint64_t count;
  };
  void make_room();
  void rehash(size_t slots);
  void spill();
  // Merges runs_ (and `memory`, sorted, when given) into `out` (when not null), noting
  // repeats in best_.
  void merge(const Record* memory, size_t memory_count, Run* out);
  Run new_run();
  void write_all(int fd, const void* data, size_t n);

  uint64_t budget_;
  std::string spill_dir_;
  using Table = std::vector<Record, HugePageAllocator<Record>>;
  Table table_;
  size_t count_ = 0;
  std::vector<Run> runs_;
  std::optional<Duplicate> best_;
  uint64_t peak_bytes_ = 0;
  uint64_t runs_written_ = 0, records_spilled_ = 0;
};

// Parses a memory size: digits with an optional K, M, G or T (powers of 1024) and an
// optional B ("512M", "1G", "4096"). nullopt for anything else, or above 2^50.
std::optional<uint64_t> parse_memory_size(std::string_view text);

}  // namespace omlkit::ledger

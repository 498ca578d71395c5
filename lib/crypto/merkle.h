// RFC 6962 / RFC 9162 Merkle trees: roots, inclusion and consistency proofs.
//
// Semantics pinned where public vector suites disagree (notes/ledger-rules.md 1.4):
// every hash is exactly 32 bytes; the empty tree's root is SHA-256(""); a consistency
// proof from size 0 is valid iff it is empty and the old root is SHA-256("").
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "crypto/sha256.h"

namespace omlkit::crypto {

Hash empty_tree_root();

// Streaming root over appended leaf hashes in O(log n) memory: the "compact range" of
// complete subtrees, largest first.
class CompactRange {
 public:
  CompactRange() = default;
  // Resumes a range of `size` leaves from its peaks (one per set bit of size, largest
  // first). Throws std::invalid_argument when the count does not match.
  CompactRange(uint64_t size, std::vector<Hash> peaks);
  void append(const Hash& leaf);
  const std::vector<Hash>& peaks() const { return peaks_; }
  uint64_t size() const { return size_; }
  Hash root() const;

 private:
  uint64_t size_ = 0;
  std::vector<Hash> peaks_;  // one per set bit of size_, largest subtree first
};

// MTH(D[n]) over leaf hashes.
Hash tree_root(std::span<const Hash> leaves);
// PATH(index, D[n]) (RFC 6962 2.1.1).
std::vector<Hash> inclusion_proof(std::span<const Hash> leaves, uint64_t index);
// PROOF(old_size, D[n]) (RFC 6962 2.1.2); old_size in [1, n].
std::vector<Hash> consistency_proof(std::span<const Hash> leaves, uint64_t old_size);

// RFC 9162 2.1.3.2.
bool verify_inclusion(uint64_t index, uint64_t size, const Hash& leaf,
                      std::span<const Hash> proof, const Hash& root);
// RFC 9162 2.1.4.2, extended to old_size == 0 as above.
bool verify_consistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                        const Hash& new_root, std::span<const Hash> proof);

}  // namespace omlkit::crypto

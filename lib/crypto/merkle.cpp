#include "crypto/merkle.h"

#include <bit>
#include <stdexcept>

namespace omlkit::crypto {

Hash empty_tree_root() { return sha256(""); }

CompactRange::CompactRange(uint64_t size, std::vector<Hash> peaks) : size_(size), peaks_(std::move(peaks)) {
  if (static_cast<uint64_t>(std::popcount(size)) != peaks_.size())
    throw std::invalid_argument("compact range: expected one peak per set bit of the size");
}

void CompactRange::append(const Hash& leaf) {
  // Merge equal-sized subtrees: one merge per trailing one bit of the old size.
  Hash h = leaf;
  for (uint64_t s = size_; s & 1; s >>= 1) {
    h = node_hash(peaks_.back(), h);
    peaks_.pop_back();
  }
  peaks_.push_back(h);
  ++size_;
}

Hash CompactRange::root() const {
  if (peaks_.empty()) return empty_tree_root();
  Hash h = peaks_.back();
  for (size_t i = peaks_.size() - 1; i-- > 0;) h = node_hash(peaks_[i], h);
  return h;
}

// Largest power of two strictly less than n (n >= 2).
static uint64_t split_point(uint64_t n) { return std::bit_floor(n - 1); }

Hash tree_root(std::span<const Hash> leaves) {
  if (leaves.empty()) return empty_tree_root();
  if (leaves.size() == 1) return leaves[0];
  uint64_t k = split_point(leaves.size());
  return node_hash(tree_root(leaves.first(k)), tree_root(leaves.subspan(k)));
}

static void path(std::span<const Hash> d, uint64_t m, std::vector<Hash>& out) {
  if (d.size() <= 1) return;
  uint64_t k = split_point(d.size());
  if (m < k) {
    path(d.first(k), m, out);
    out.push_back(tree_root(d.subspan(k)));
  } else {
    path(d.subspan(k), m - k, out);
    out.push_back(tree_root(d.first(k)));
  }
}

std::vector<Hash> inclusion_proof(std::span<const Hash> leaves, uint64_t index) {
  std::vector<Hash> out;
  if (index < leaves.size()) path(leaves, index, out);
  return out;
}

static void subproof(std::span<const Hash> d, uint64_t m, bool b, std::vector<Hash>& out) {
  uint64_t n = d.size();
  if (m == n) {
    if (!b) out.push_back(tree_root(d));
    return;
  }
  uint64_t k = split_point(n);
  if (m <= k) {
    subproof(d.first(k), m, b, out);
    out.push_back(tree_root(d.subspan(k)));
  } else {
    subproof(d.subspan(k), m - k, false, out);
    out.push_back(tree_root(d.first(k)));
  }
}

std::vector<Hash> consistency_proof(std::span<const Hash> leaves, uint64_t old_size) {
  std::vector<Hash> out;
  if (old_size >= 1 && old_size <= leaves.size()) subproof(leaves, old_size, true, out);
  return out;
}

bool verify_inclusion(uint64_t index, uint64_t size, const Hash& leaf,
                      std::span<const Hash> proof, const Hash& root) {
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = node_hash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool verify_consistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                        const Hash& new_root, std::span<const Hash> proof) {
  if (old_size > new_size) return false;
  if (old_size == 0) return proof.empty() && old_root == empty_tree_root();
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (proof.empty()) return false;
  std::vector<Hash> path(proof.begin(), proof.end());
  if (std::has_single_bit(old_size)) path.insert(path.begin(), old_root);
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace omlkit::crypto

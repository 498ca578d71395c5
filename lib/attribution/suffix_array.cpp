#include "attribution/suffix_array.h"

#include <algorithm>
#include <string>

#include "io/error.h"

namespace omlkit::attribution {
namespace {

// The top-level text as SA-IS wants it: symbols 1..vocab for tokens, vocab + 1 for the
// separator, and a unique smallest sentinel 0 appended at index n.
template <typename Token>
struct TokenText {
  const Token* tokens;
  int32_t n;  // real tokens; the text is n + 1 symbols long
  Token separator;
  uint32_t vocab_size;
  uint32_t operator[](int32_t i) const {
    if (i == n) return 0;
    Token t = tokens[i];
    return t == separator ? vocab_size + 1 : uint32_t(t) + 1;
  }
};

// A reduced problem: names stored in the upper part of the suffix array.
struct NameText {
  const int32_t* names;
  uint32_t operator[](int32_t i) const { return uint32_t(names[i]); }
};

// One bit per suffix: true = S-type (smaller than the suffix after it).
class SuffixTypes {
 public:
  explicit SuffixTypes(int32_t n) : bits_((size_t(n) + 63) / 64, 0) {}
  bool s_type(int32_t i) const { return bits_[size_t(i) >> 6] >> (i & 63) & 1; }
  void set_s_type(int32_t i) { bits_[size_t(i) >> 6] |= uint64_t(1) << (i & 63); }
  // Leftmost S: an S-type suffix whose left neighbour is L-type.
  bool lms(int32_t i) const { return i > 0 && s_type(i) && !s_type(i - 1); }

 private:
  std::vector<uint64_t> bits_;
};

// Bucket heads (first slot of each symbol) or tails (one past the last) from the counts.
void bucket_bounds(const std::vector<int32_t>& counts, std::vector<int32_t>& bucket, bool tails) {
  int32_t sum = 0;
  for (size_t c = 0; c < counts.size(); ++c) {
    sum += counts[c];
    bucket[c] = tails ? sum : sum - counts[c];
  }
}

template <typename Text>
void induce(const Text& s, const SuffixTypes& types, int32_t* sa, int32_t n, const std::vector<int32_t>& counts,
            std::vector<int32_t>& bucket) {
  // L-type suffixes, left to right, from the heads of their buckets.
  bucket_bounds(counts, bucket, false);
  for (int32_t i = 0; i < n; ++i) {
    int32_t j = sa[i] - 1;
    if (sa[i] > 0 && !types.s_type(j)) sa[bucket[s[j]]++] = j;
  }
  // S-type suffixes, right to left, from the tails.
  bucket_bounds(counts, bucket, true);
  for (int32_t i = n - 1; i >= 0; --i) {
    int32_t j = sa[i] - 1;
    if (sa[i] > 0 && types.s_type(j)) sa[--bucket[s[j]]] = j;
  }
}

// SA of s[0, n): symbols in [0, alphabet), s[n - 1] = 0 and unique, n >= 2.
template <typename Text>
void sais(const Text& s, int32_t* sa, int32_t n, uint32_t alphabet) {
  SuffixTypes types(n);
  types.set_s_type(n - 1);
  for (int32_t i = n - 3; i >= 0; --i) {
    uint32_t a = s[i], b = s[i + 1];
    if (a < b || (a == b && types.s_type(i + 1))) types.set_s_type(i);
  }
  std::vector<int32_t> counts(alphabet, 0), bucket(alphabet);
  for (int32_t i = 0; i < n; ++i) ++counts[s[i]];

  // Stage 1: sort the LMS substrings by one induction from their unsorted positions.
  std::fill(sa, sa + n, -1);
  bucket_bounds(counts, bucket, true);
  for (int32_t i = 1; i < n; ++i)
    if (types.lms(i)) sa[--bucket[s[i]]] = i;
  induce(s, types, sa, n, counts, bucket);

  // Compact the sorted LMS positions into sa[0, m) and name them; equal substrings share a name.
  int32_t m = 0;
  for (int32_t i = 0; i < n; ++i)
    if (types.lms(sa[i])) sa[m++] = sa[i];
  std::fill(sa + m, sa + n, -1);
  int32_t names = 0, previous = -1;
  for (int32_t i = 0; i < m; ++i) {
    int32_t position = sa[i];
    bool differs = false;
    for (int32_t d = 0;; ++d) {
      if (previous < 0 || s[position + d] != s[previous + d] ||
          types.s_type(position + d) != types.s_type(previous + d)) {
        differs = true;
        break;
      }
      if (d > 0 && (types.lms(position + d) || types.lms(previous + d))) break;
    }
    if (differs) ++names, previous = position;
    sa[m + position / 2] = names - 1;  // LMS positions are at least 2 apart
  }
  for (int32_t i = n - 1, j = n - 1; i >= m; --i)
    if (sa[i] >= 0) sa[j--] = sa[i];

  // Stage 2: the suffix array of the reduced string (names in text order) in sa[0, m).
  int32_t* reduced = sa + n - m;
  if (names < m) {
    sais(NameText{reduced}, sa, m, uint32_t(names));
  } else {
    for (int32_t i = 0; i < m; ++i) sa[reduced[i]] = i;
  }

  // Stage 3: place the LMS suffixes in their final order, then induce everything else.
  for (int32_t i = 1, j = 0; i < n; ++i)
    if (types.lms(i)) reduced[j++] = i;
  for (int32_t i = 0; i < m; ++i) sa[i] = reduced[sa[i]];
  std::fill(sa + m, sa + n, -1);
  bucket_bounds(counts, bucket, true);
  for (int32_t i = m - 1; i >= 0; --i) {
    int32_t j = sa[i];
    sa[i] = -1;
    sa[--bucket[s[j]]] = j;
  }
  induce(s, types, sa, n, counts, bucket);
}

template <typename Token>
std::vector<uint32_t> build(std::span<const Token> text, uint32_t vocab_size, Token separator) {
  if (text.size() > max_suffix_array_tokens)
    throw data_error("", "a datanet shard holds at most " + std::to_string(max_suffix_array_tokens) +
                             " tokens, this one has " + std::to_string(text.size()) + " (use --shard-tokens)");
  for (Token t : text)
    if (t != separator && t >= vocab_size)
      throw Error(exit_code::internal, "", "token id " + std::to_string(t) + " outside the vocabulary of " +
                                               std::to_string(vocab_size));
  int32_t n = int32_t(text.size());
  if (n == 0) return {};
  // One more slot for the sentinel, which sorts first and is dropped at the end. The
  // construction works in int32 (-1 marks an empty slot); int32 may alias uint32 storage.
  std::vector<uint32_t> sa(size_t(n) + 1);
  sais(TokenText<Token>{text.data(), n, separator, vocab_size}, reinterpret_cast<int32_t*>(sa.data()), n + 1,
       vocab_size + 2);
  sa.erase(sa.begin());
  return sa;
}

}  // namespace

std::vector<uint32_t> build_suffix_array(std::span<const uint16_t> text, uint32_t vocab_size, uint16_t separator) {
  return build(text, vocab_size, separator);
}

std::vector<uint32_t> build_suffix_array(std::span<const uint32_t> text, uint32_t vocab_size, uint32_t separator) {
  return build(text, vocab_size, separator);
}

}  // namespace omlkit::attribution

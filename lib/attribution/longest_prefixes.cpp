// SuffixIndex::longest_prefixes: the longest prefix of every suffix of a text that occurs
// in the stream (matching statistics), with far fewer binary searches than one per position.
//
// Let m_l be the length sought at position l and occ(l) the stream positions where
// text[l, l + m_l) occurs. Walking right to left:
//   - m_l <= m_{l+1} + 1, because text[l + 1, l + m_l) occurs wherever text[l, l + m_l) does;
//   - m_l = m_{l+1} + 1 exactly when some p in occ(l + 1) has text[l] just before it, and
//     then occ(l) = {p - 1 : p in occ(l + 1), stream[p - 1] = text[l]}: every occurrence of
//     text[l, l + m_l) is one of text[l + 1, l + m_l) with text[l] before it.
// So while occ(l + 1) is small (at most max_carried positions), position l costs one token
// read per occurrence, read side by side, instead of a binary search of two cache misses per
// level. Otherwise l is searched for with the query cut at the bound m_{l+1} + 1 (m_{l+1}
// when the occurrences are known not to extend); a search whose whole cut query matches
// stops at the first suffix that starts with it. After a search, the ranks beside the one
// found are read while they share the m_l tokens (1, 2, 4, 8 more a side in each round;
// none past a rank the search saw share fewer), to carry occ(l) to position l - 1.
//
// Every step is exact: the lengths equal those of one full search per position
// (longest_prefixes_by_search), which tests/unit/attribution_longest_prefixes_test.cpp checks.
// The walk is sequential, so the text is cut into chunks of chunk_positions positions,
// walked side by side (one memory access each in turn, prefetched one step ahead), each
// starting with a search that has no bound.
#include <algorithm>

#include "attribution/suffix_index.h"
#include "attribution/suffix_search.h"

namespace omlkit::attribution {

namespace {

constexpr size_t max_carried = 16;     // occurrences carried from a position to the next
constexpr int64_t collect_width = 8;   // neighbour ranks read per side and round, at most
constexpr size_t lanes = 16;           // walks side by side
constexpr size_t chunk_positions = 8;  // positions per walk

}  // namespace

struct SuffixIndex::Walk {
  enum Phase : uint8_t { begin, extend, searching, collect_positions, collect_compare };
  Phase phase = begin;
  size_t first = 0, l = 0;  // positions first..l are left, l next (right to left)
  // Position l + 1 is done (false at the walk's start): its length and, when carried is
  // true, all its occurrences.
  bool known_next = false, carried = false;
  size_t next_length = 0, occurrence_count = 0;
  uint32_t occurrences[max_carried];
  Search search;
  // Collecting the occurrences of text[l, l + length) around the rank a search found: the
  // ranks [low, high) share them, none outside [low_fence, high_fence) does; this round
  // reads [round_low, low) and [high, round_high).
  size_t length = 0;
  int64_t low = 0, high = 0, low_fence = 0, high_fence = 0, round_low = 0, round_high = 0, width = 0;
  uint32_t candidates[2 * collect_width];  // positions: [round_low, low) then [high, round_high)
};

// One step of a walk; true when the walk has done its first position.
bool SuffixIndex::step(Walk& w, std::span<const uint32_t> text, size_t* longest) const {
  const char* tokens = static_cast<const char*>(token_data_);
  const size_t width = narrow_ ? 2 : 4;
  // Position l has length `length`; its occurrences are in w.occurrences when `carried`.
  auto finish = [&](size_t length, bool carried) {
    longest[w.l] = std::max(longest[w.l], length);
    w.known_next = true, w.next_length = length, w.carried = carried && length > 0;
    if (w.l == w.first) return true;
    --w.l;
    w.phase = Walk::begin;
    return false;
  };
  auto begin_search = [&](size_t bound) {
    if (bound == 0 || !start(text.subspan(w.l, bound), Search::longest, &w.search)) return finish(0, false);
    w.phase = Walk::searching;
    return false;
  };
  auto add = [&](uint32_t position) {
    if (w.occurrence_count < max_carried) w.occurrences[w.occurrence_count] = position;
    ++w.occurrence_count;
  };
  // Finishes the position when its occurrences are all known or too many, else prefetches
  // the suffix-array entries of the next round of neighbours.
  auto next_round = [&] {
    if (w.occurrence_count > max_carried) return finish(w.length, false);
    if (w.low == w.low_fence && w.high == w.high_fence) return finish(w.length, true);
    w.round_low = std::max(w.low_fence, w.low - w.width);
    w.round_high = std::min(w.high_fence, w.high + w.width);
    w.width = std::min(2 * w.width, collect_width);
    if (w.round_low < w.low) __builtin_prefetch(suffix_array_ + w.round_low);
    if (w.high < w.round_high) __builtin_prefetch(suffix_array_ + w.round_high - 1);
    w.phase = Walk::collect_positions;
    return false;
  };

  switch (w.phase) {
    case Walk::begin:
      if (w.known_next && w.carried) {
        for (size_t i = 0; i < w.occurrence_count; ++i)
          if (w.occurrences[i] > 0) __builtin_prefetch(tokens + size_t(w.occurrences[i] - 1) * width);
        w.phase = Walk::extend;
        return false;
      }
      return begin_search(w.known_next ? w.next_length + 1 : text.size() - w.l);

    case Walk::extend: {
      size_t kept = 0;
      if (text[w.l] < vocab_size_)  // a separator never matches
        for (size_t i = 0; i < w.occurrence_count; ++i) {
          uint32_t p = w.occurrences[i];
          if (p > 0 && token(p - 1) == text[w.l]) w.occurrences[kept++] = p - 1;
        }
      if (kept > 0) {
        w.occurrence_count = kept;
        return finish(w.next_length + 1, true);
      }
      return begin_search(w.next_length);  // the occurrences do not extend: m_l <= m_{l+1}
    }

    case Walk::searching: {  // the caller has stepped the search to its end
      const Search& s = w.search;
      w.length = s.result;
      if (w.length == 0) return finish(0, false);
      // The search's last bounds: one sharing fewer tokens fences the run of those sharing
      // `length`; one sharing them and beside the rank found belongs to it.
      w.occurrence_count = 0;
      add(s.position);
      w.low = s.rank, w.high = s.rank + 1, w.width = 1;
      w.low_fence = s.lo, w.high_fence = s.hi;
      if (s.left >= s.lo && s.left < s.rank) {
        if (s.left_lcp < w.length)
          w.low_fence = s.left + 1;
        else if (s.left == w.low - 1)
          add(s.left_position), w.low = s.left;
      }
      if (s.right < s.hi && s.right > s.rank) {
        if (s.right_lcp < w.length)
          w.high_fence = s.right;
        else if (s.right == w.high)
          add(s.right_position), w.high = s.right + 1;
      }
      return next_round();
    }

    case Walk::collect_positions: {
      size_t n = 0;
      for (int64_t r = w.round_low; r < w.low; ++r) w.candidates[n++] = checked_position(uint32_t(r));
      for (int64_t r = w.high; r < w.round_high; ++r) w.candidates[n++] = checked_position(uint32_t(r));
      for (size_t i = 0; i < n; ++i) __builtin_prefetch(tokens + size_t(w.candidates[i]) * width);
      w.phase = Walk::collect_compare;
      return false;
    }

    case Walk::collect_compare: {
      // Every suffix of the bucket shares the first token; the ranks sharing all `length`
      // form one run around the rank found, so each side stops at its first mismatch.
      std::span<const uint32_t> match = text.subspan(w.l, w.length);
      auto shares = [&](uint32_t position) {
        bool unused;
        return common_prefix(match, position, 1, &unused) == w.length;
      };
      const uint32_t* low_side = w.candidates;
      const uint32_t* high_side = w.candidates + (w.low - w.round_low);
      for (int64_t r = w.low - 1; r >= w.round_low; --r) {
        uint32_t p = low_side[r - w.round_low];
        if (!shares(p)) {
          w.low_fence = r + 1;
          break;
        }
        w.low = r;
        add(p);
      }
      for (int64_t r = w.high, high_begin = w.high; r < w.round_high; ++r) {
        uint32_t p = high_side[r - high_begin];
        if (!shares(p)) {
          w.high_fence = r;
          break;
        }
        w.high = r + 1;
        add(p);
      }
      return next_round();
    }
  }
  return false;
}

void SuffixIndex::longest_prefixes(std::span<const uint32_t> text, size_t count, size_t* longest) const {
  count = std::min(count, text.size());
  Walk walk[lanes];
  bool busy[lanes] = {};
  size_t next_first = 0, active = 0;
  auto take = [&](size_t i) {
    busy[i] = next_first < count;
    if (!busy[i]) return;
    walk[i] = Walk();
    walk[i].first = next_first;
    walk[i].l = std::min(count, next_first + chunk_positions) - 1;
    next_first += chunk_positions;
    ++active;
  };
  for (size_t i = 0; i < lanes; ++i) take(i);
  while (active > 0) {
    for (size_t i = 0; i < lanes; ++i) {
      if (!busy[i]) continue;
      // Most steps are search steps: they take a path of their own.
      if (walk[i].phase == Walk::searching && !step(walk[i].search)) continue;
      if (step(walk[i], text, longest)) {
        --active;
        take(i);
      }
    }
  }
}

}  // namespace omlkit::attribution

#include "attribution/suffix_index.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "attribution/index_format.h"
#include "attribution/parallel_for.h"
#include "attribution/suffix_array.h"
#include "attribution/suffix_search.h"
#include "io/error.h"
#include "money/account_name.h"

namespace omlkit::attribution {

namespace {

const char* const section_names[section_count] = {
    "tokenizer_json",      "tokens",           "suffix_array",      "token_buckets",       "record_starts",
    "record_contributors", "record_id_offsets", "record_id_bytes", "contributor_offsets", "contributor_bytes"};

// Checks one section's place and size; returns its first byte.
const char* section(const char* base, uint64_t file_bytes, const IndexHeader& h, IndexSection s, uint64_t expected,
                    const std::string& path) {
  const char* const* names = section_names;
  const SectionRange& r = h.sections[s];
  if (r.offset > file_bytes || r.bytes > file_bytes - r.offset || r.offset % 4 != 0)
    throw data_error(path, std::string("index section ") + names[s] + " lies outside the file (truncated index?)");
  if (expected != UINT64_MAX && r.bytes != expected)
    throw data_error(path, std::string("index section ") + names[s] + ": expected " + std::to_string(expected) +
                               " bytes, found " + std::to_string(r.bytes));
  return base + r.offset;
}

// Offsets into a string table: start at 0, never decrease, end inside it.
void check_offsets(const uint32_t* offsets, uint64_t count, uint64_t bytes, const char* what, const std::string& path) {
  if (offsets[0] != 0 || offsets[count] != bytes)
    throw data_error(path, std::string("index ") + what + " offsets do not span their table");
  for (uint64_t i = 0; i < count; ++i)
    if (offsets[i] > offsets[i + 1]) throw data_error(path, std::string("index ") + what + " offsets decrease");
}

}  // namespace

std::unique_ptr<SuffixIndex> SuffixIndex::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(exit_code::no_input, path, std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(exit_code::no_input, path, "not a regular file");
  }
  std::unique_ptr<SuffixIndex> index(new SuffixIndex());
  index->path_ = path;
  index->map_bytes_ = size_t(st.st_size);
  char start[12];
  if (index->map_bytes_ < sizeof start || ::pread(fd, start, sizeof start, 0) != sizeof start ||
      std::memcmp(start, index_magic, sizeof index_magic) != 0) {
    ::close(fd);
    throw data_error(path, "not an omlkit attribution index (bad magic)");
  }
  uint32_t version;
  std::memcpy(&version, start + 8, 4);
  if (version != index_version) {
    ::close(fd);
    throw data_error(path, "index format version " + std::to_string(version) + "; this omlkit reads version " +
                               std::to_string(index_version) +
                               (version < index_version ? " (with checksums): rebuild it with attribute index" : ""));
  }
  if (index->map_bytes_ < sizeof(IndexHeader)) {
    ::close(fd);
    throw data_error(path, "not an omlkit attribution index (" + std::to_string(st.st_size) + " bytes)");
  }
  void* map = ::mmap(nullptr, index->map_bytes_, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw Error(exit_code::no_input, path, std::string("mmap: ") + std::strerror(errno));
  index->map_ = map;
  const char* base = static_cast<const char*>(map);
  IndexHeader h;
  std::memcpy(&h, base, sizeof h);
  if (crypto::sha256(std::string_view(base, index_header_hashed_bytes)) !=
      std::to_array(h.header_sha256))
    throw data_error(path, "index header: its SHA-256 does not match (a damaged index: rebuild it)");
  if (h.vocab_size == 0 || h.vocab_size == 0xFFFFFFFFu || h.token_width != (h.vocab_size <= 0xFFFF ? 2u : 4u))
    throw data_error(path, "index header: token width " + std::to_string(h.token_width) + " does not fit vocabulary " +
                               std::to_string(h.vocab_size));
  if (h.tokens > max_suffix_array_tokens || h.records > h.tokens || h.contributors > h.records)
    throw data_error(path, "index header: inconsistent counts");
  uint64_t size = index->map_bytes_;
  index->vocab_size_ = h.vocab_size;
  index->tokens_ = h.tokens;
  index->records_ = h.records;
  index->contributors_ = h.contributors;
  index->narrow_ = h.token_width == 2;
  index->separator_ = separator_for_width(h.token_width);
  std::memcpy(index->tokenizer_sha256_.data(), h.tokenizer_sha256, 32);

  const char* json = section(base, size, h, section_tokenizer_json, UINT64_MAX, path);
  index->tokenizer_json_ = std::string_view(json, h.sections[section_tokenizer_json].bytes);
  if (crypto::sha256(index->tokenizer_json_) != index->tokenizer_sha256_)
    throw data_error(path, "index header: the embedded tokenizer.json does not match its SHA-256");
  index->token_data_ = section(base, size, h, section_tokens, h.tokens * h.token_width, path);
  auto table = [&](IndexSection s, uint64_t entries) {
    return reinterpret_cast<const uint32_t*>(section(base, size, h, s, entries * 4, path));
  };
  index->suffix_array_ = table(section_suffix_array, h.tokens);
  index->buckets_ = table(section_token_buckets, uint64_t(h.vocab_size) + 2);
  index->record_starts_ = table(section_record_starts, h.records + 1);
  index->record_contributors_ = table(section_record_contributors, h.records);
  index->record_id_offsets_ = table(section_record_id_offsets, h.records + 1);
  index->record_id_bytes_ = section(base, size, h, section_record_id_bytes, UINT64_MAX, path);
  index->contributor_offsets_ = table(section_contributor_offsets, h.contributors + 1);
  index->contributor_bytes_ = section(base, size, h, section_contributor_bytes, UINT64_MAX, path);

  // Sections lie in order, the gaps between them (alignment) are zeros and the file ends
  // with the last: with the checksums below, no byte of the file goes unchecked.
  uint64_t end = sizeof(IndexHeader);
  for (size_t s = 0; s < section_count; ++s) {
    const SectionRange& r = h.sections[s];
    if (r.offset < end || r.offset - end >= index_alignment)
      throw data_error(path, std::string("index section ") + section_names[s] + " is out of place");
    for (uint64_t b = end; b < r.offset; ++b)
      if (base[b] != 0) throw data_error(path, "index: a non-zero byte in the padding at offset " + std::to_string(b));
    end = r.offset + r.bytes;
  }
  if (end != size) throw data_error(path, "index: " + std::to_string(size - end) + " bytes after the last section");

  // Every section's SHA-256, the big ones on their own threads; the whole file is read
  // once in order here, so read ahead, then turn read-ahead off for the random queries.
  ::madvise(map, index->map_bytes_, MADV_SEQUENTIAL);
  bool section_ok[section_count];
  parallel_for(section_count, std::max(1u, std::thread::hardware_concurrency()), [&](size_t s) {
    std::string_view bytes(base + h.sections[s].offset, h.sections[s].bytes);
    section_ok[s] = crypto::sha256(bytes) == std::to_array(h.section_sha256[s]);
  });
  ::madvise(map, index->map_bytes_, MADV_RANDOM);
  for (size_t s = 0; s < section_count; ++s)
    if (!section_ok[s])
      throw data_error(path, std::string("index section ") + section_names[s] +
                                 ": its SHA-256 does not match the header's (a damaged index: rebuild it)");

  // O(records + vocabulary) checks, so that no query can read outside the file. Every
  // record ends with a separator, hence every comparison stops inside the stream.
  const uint32_t* starts = index->record_starts_;
  if (starts[0] != 0 || starts[h.records] != h.tokens) throw data_error(path, "index record starts do not span the stream");
  for (uint64_t r = 0; r < h.records; ++r) {
    if (starts[r + 1] <= starts[r] || starts[r + 1] > h.tokens ||
        index->token(starts[r + 1] - 1) != index->separator_)
      throw data_error(path, "index record " + std::to_string(r) + " is not followed by a separator");
    if (index->record_contributors_[r] >= h.contributors)
      throw data_error(path, "index record " + std::to_string(r) + " names no known contributor");
  }
  const uint32_t* buckets = index->buckets_;
  if (buckets[0] != 0 || buckets[h.vocab_size + 1] != h.tokens) throw data_error(path, "index token buckets do not span the stream");
  for (uint64_t t = 0; t <= h.vocab_size; ++t)
    if (buckets[t] > buckets[t + 1]) throw data_error(path, "index token buckets decrease");
  check_offsets(index->record_id_offsets_, h.records, h.sections[section_record_id_bytes].bytes, "record id", path);
  check_offsets(index->contributor_offsets_, h.contributors, h.sections[section_contributor_bytes].bytes,
                "contributor", path);
  // Names leave the index as JSON account names: each must be one (money/account_name.h).
  for (uint64_t c = 0; c < h.contributors; ++c) {
    const uint32_t* o = index->contributor_offsets_;
    std::string_view name(index->contributor_bytes_ + o[c], o[c + 1] - o[c]);
    if (!money::valid_account_name(name))
      throw data_error(path, "index contributor " + std::to_string(c) + ": expected " + money::account_name_rule);
  }
  return index;
}

SuffixIndex::~SuffixIndex() {
  if (map_) ::munmap(map_, map_bytes_);
}

uint32_t SuffixIndex::position(uint32_t rank) const { return checked_position(rank); }

void SuffixIndex::corrupt_suffix_array(uint32_t rank) const {
  throw data_error(path_, "corrupt index: suffix array entry " + std::to_string(rank) + " out of range");
}

// Binary searches with Manber and Myers' skip: a suffix between two others shares at least
// min(left_lcp, right_lcp) tokens with the query. Two steps a probe: read the middle rank's
// entry (prefetched) and prefetch its tokens; compare, then pick the next middle rank and
// prefetch its entry.
bool SuffixIndex::step(Search& s) const {
  if (s.stage == 1) {
    s.position = checked_position(uint32_t(s.mid));
    __builtin_prefetch(static_cast<const char*>(token_data_) +
                       (size_t(s.position) + std::min(s.left_lcp, s.right_lcp)) * (narrow_ ? 2 : 4));
    s.stage = 2;
    return false;
  }
  if (s.stage == 2) {
    bool query_smaller;
    size_t k = common_prefix(s.query, s.position, std::min(s.left_lcp, s.right_lcp), &query_smaller);
    if (k == s.query.size() && s.mode == Search::longest) {
      s.result = k, s.rank = s.mid;
      return true;
    }
    // A suffix that starts with the query sorts at or after the lower bound and
    // before the upper one.
    bool go_left = k == s.query.size() ? s.mode == Search::lower : query_smaller;
    if (go_left)
      s.right = s.mid, s.right_lcp = k, s.right_position = s.position;
    else
      s.left = s.mid, s.left_lcp = k, s.left_position = s.position;
  }
  if (s.right - s.left <= 1) {
    size_t best = s.right < s.hi ? s.right_lcp : 0;
    s.rank = s.right, s.position = s.right_position;
    if (s.left >= s.lo && s.left_lcp >= best) best = s.left_lcp, s.rank = s.left, s.position = s.left_position;
    s.result = s.mode == Search::longest ? best : size_t(s.right);
    return true;
  }
  s.mid = s.left + (s.right - s.left) / 2;
  __builtin_prefetch(suffix_array_ + s.mid);
  s.stage = 1;
  return false;
}

// Many searches run interleaved, one step each in turn, so that each prefetch has arrived
// by the time its search needs it.
void SuffixIndex::run(std::span<Search> searches) const {
  constexpr size_t lanes = 16;
  Search* lane[lanes];
  size_t next = 0, busy = 0;
  auto take = [&](Search*& slot) {
    slot = next < searches.size() ? &searches[next++] : nullptr;
    busy += slot != nullptr;
  };
  for (Search*& slot : lane) take(slot);
  while (busy > 0) {
    for (Search*& slot : lane) {
      if (slot && step(*slot)) {
        --busy;
        take(slot);
      }
    }
  }
}

// A search of query in its first token's bucket; false when no suffix starts with it.
bool SuffixIndex::start(std::span<const uint32_t> query, int mode, Search* s) const {
  if (query.empty() || query[0] >= vocab_size_) return false;
  uint32_t lo = buckets_[query[0]], hi = buckets_[query[0] + 1];
  if (lo == hi) return false;
  *s = Search();
  s->query = query;
  s->mode = Search::Mode(mode);
  s->lo = lo, s->hi = hi, s->left = int64_t(lo) - 1, s->right = hi;
  return true;
}

void SuffixIndex::longest_prefixes_by_search(std::span<const uint32_t> text, size_t count, size_t* longest) const {
  std::vector<Search> searches;
  std::vector<size_t> starts;
  for (size_t l = 0; l < count; ++l) {
    Search s;
    if (start(text.subspan(l), Search::longest, &s)) searches.push_back(s), starts.push_back(l);
  }
  run(searches);
  for (size_t i = 0; i < searches.size(); ++i) longest[starts[i]] = std::max(longest[starts[i]], searches[i].result);
}

size_t SuffixIndex::longest_prefix(std::span<const uint32_t> query) const {
  size_t longest = 0;
  longest_prefixes_by_search(query, std::min<size_t>(query.size(), 1), &longest);
  return longest;
}

void SuffixIndex::find_all(std::span<const std::span<const uint32_t>> queries, Range* ranges) const {
  std::vector<Search> searches;
  std::vector<size_t> owners;
  for (size_t i = 0; i < queries.size(); ++i) {
    ranges[i] = {};
    Search s;
    if (queries[i].empty()) {
      ranges[i] = {0, uint32_t(tokens_)};
    } else if (start(queries[i], Search::lower, &s)) {
      searches.push_back(s);
      s.mode = Search::upper;
      searches.push_back(s);
      owners.push_back(i);
    }
  }
  run(searches);
  for (size_t j = 0; j < owners.size(); ++j)
    ranges[owners[j]] = {uint32_t(searches[2 * j].result), uint32_t(searches[2 * j + 1].result)};
}

SuffixIndex::Range SuffixIndex::find(std::span<const uint32_t> query) const {
  Range range;
  find_all(std::span(&query, 1), &range);
  return range;
}

uint32_t SuffixIndex::record_at(uint32_t position) const {
  const uint32_t* after = std::upper_bound(record_starts_, record_starts_ + records_ + 1, position);
  return uint32_t(after - record_starts_ - 1);
}

std::string_view SuffixIndex::record_id(uint32_t record) const {
  return {record_id_bytes_ + record_id_offsets_[record], record_id_offsets_[record + 1] - record_id_offsets_[record]};
}

std::string_view SuffixIndex::contributor(uint32_t record) const {
  uint32_t c = record_contributors_[record];
  return {contributor_bytes_ + contributor_offsets_[c], contributor_offsets_[c + 1] - contributor_offsets_[c]};
}

}  // namespace omlkit::attribution

#include "ledger/id_digest_set.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <queue>

#include "io/error.h"

namespace omlkit::ledger {

namespace {

constexpr uint64_t empty_seq = ~uint64_t(0);
constexpr size_t fan_in = 16;              // runs merged at once
constexpr size_t read_ahead = 4096;        // records buffered per run while merging (96 KiB)
constexpr uint64_t minimum_budget = 1024;

bool digest_less(const IdDigestSet::Record& a, const IdDigestSet::Record& b) {
  return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
}

// The slot of a digest in a table of n slots (n need not be a power of two).
size_t slot_of(uint64_t lo, size_t n) { return static_cast<size_t>((static_cast<unsigned __int128>(lo) * n) >> 64); }

uint64_t load_be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

static std::array<uint8_t, 32> random_key() {
  std::array<uint8_t, 32> key;
  size_t got = 0;
  while (got < key.size()) {
    ssize_t n = ::getrandom(key.data() + got, key.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(exit_code::internal, "", std::string("getrandom: ") + std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  return key;
}

IdDigester::IdDigester() : IdDigester(random_key()) {}

IdDigester::IdDigester(const std::array<uint8_t, 32>& key) {
  // The key and 32 zero bytes fill SHA-256's first block, hashed here once.
  static const uint8_t zeros[32] = {};
  sha_.update(key.data(), key.size());
  sha_.update(zeros, sizeof zeros);
  sha_.keep_prefix();
}

IdDigest IdDigester::operator()(std::string_view space, std::string_view id) {
  sha_.update(space);
  sha_.update("\0", 1);  // spaces hold no NUL: (space, id) -> bytes is one-to-one
  sha_.update(id);
  crypto::Hash h = sha_.finish();
  return IdDigest{load_be64(h.data()), load_be64(h.data() + 8)};
}

static constexpr size_t huge_page = size_t(2) << 20;

template <class T>
T* HugePageAllocator<T>::allocate(size_t n) {
  size_t bytes = n * sizeof(T);
  if (bytes < huge_page) return static_cast<T*>(::operator new(bytes));
  bytes = (bytes + huge_page - 1) / huge_page * huge_page;
  T* p = static_cast<T*>(::operator new(bytes, std::align_val_t(huge_page)));
  ::madvise(p, bytes, MADV_HUGEPAGE);  // advice only: without it, 4 KiB pages
  return p;
}

template <class T>
void HugePageAllocator<T>::deallocate(T* p, size_t n) {
  // The same size decides, so each pointer goes back the way it came.
  if (n * sizeof(T) < huge_page)
    ::operator delete(p);
  else
    ::operator delete(p, std::align_val_t(huge_page));
}
template struct HugePageAllocator<IdDigestSet::Record>;

IdDigestSet::IdDigestSet(uint64_t budget_bytes, std::string spill_dir)
    : budget_(budget_bytes ? std::max(budget_bytes, minimum_budget) : 0), spill_dir_(std::move(spill_dir)) {}

IdDigestSet::~IdDigestSet() {
  for (const Run& r : runs_) ::close(r.fd);
}

void IdDigestSet::set_budget(uint64_t bytes) {
  if (budget_) budget_ = std::max(bytes, minimum_budget);
}

bool IdDigestSet::insert(const IdDigest& digest, uint64_t seq, uint64_t* first_seq) {
  if ((count_ + 1) * 4 > table_.size() * 3) make_room();  // load factor <= 3/4
  size_t n = table_.size();
  for (size_t i = slot_of(digest.lo, n);; i = i + 1 == n ? 0 : i + 1) {
    Record& r = table_[i];
    if (r.seq == empty_seq) {
      r = Record{digest.hi, digest.lo, seq};
      ++count_;
      return true;
    }
    if (r.hi == digest.hi && r.lo == digest.lo) {
      *first_seq = r.seq;
      return false;
    }
  }
}

void IdDigestSet::make_room() {
  size_t slots = table_.size();
  size_t want = slots ? slots * 2 : 1024;
  if (budget_) {
    // Growing holds the old table and the new one at once: both must fit the budget.
    size_t most = budget_ / sizeof(Record);
    if (want + slots > most) want = most > slots ? most - slots : 0;
    if (want * 3 / 4 <= count_ + 1 || want <= slots) {
      spill();
      if (table_.size() > most || table_.empty()) {
        Table().swap(table_);  // freed before the smaller one is made
        table_.assign(std::max<size_t>(most, 4), Record{0, 0, empty_seq});
      }
      peak_bytes_ = std::max(peak_bytes_, bytes());
      return;
    }
  }
  rehash(want);
}

void IdDigestSet::rehash(size_t slots) {
  Table old;
  old.swap(table_);
  table_.assign(slots, Record{0, 0, empty_seq});
  peak_bytes_ = std::max(peak_bytes_, (old.size() + slots) * sizeof(Record));
  for (const Record& r : old) {
    if (r.seq == empty_seq) continue;
    size_t i = slot_of(r.lo, slots);
    while (table_[i].seq != empty_seq) i = i + 1 == slots ? 0 : i + 1;
    table_[i] = r;
  }
}

void IdDigestSet::write_all(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      throw Error(exit_code::io, spill_dir_, std::string("cannot write spilled id digests: ") + std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

IdDigestSet::Run IdDigestSet::new_run() {
  std::string name = spill_dir_ + "/ledger-verify-ids.XXXXXX";
  int fd = ::mkstemp(name.data());
  if (fd < 0)
    throw Error(exit_code::cannot_create, spill_dir_,
                std::string("cannot create a file for spilled id digests: ") + std::strerror(errno));
  ::unlink(name.c_str());  // gone from the directory at once; freed when closed
  ++runs_written_;
  return Run{fd, 0};
}

void IdDigestSet::spill() {
  // Compact the occupied slots to the front, sort them by digest, write them as one run.
  size_t n = 0;
  for (const Record& r : table_)
    if (r.seq != empty_seq) table_[n++] = r;
  std::sort(table_.begin(), table_.begin() + static_cast<std::ptrdiff_t>(n), digest_less);
  Run run = new_run();
  runs_.push_back(run);  // closed by the destructor should the write throw
  write_all(run.fd, table_.data(), n * sizeof(Record));
  runs_.back().count = n;
  records_spilled_ += n;
  std::fill(table_.begin(), table_.end(), Record{0, 0, empty_seq});
  count_ = 0;
  if (runs_.size() >= fan_in) {
    Run merged = new_run();
    merge(nullptr, 0, &merged);
    for (const Run& r : runs_) ::close(r.fd);
    runs_.assign(1, merged);
  }
}

void IdDigestSet::merge(const Record* memory, size_t memory_count, Run* out) {
  // One source per run (read ahead in blocks) and one for the sorted table in memory.
  struct Source {
    const Run* run;
    uint64_t next_index;  // of the run's records
    std::vector<Record> buffer;
    size_t pos = 0;
    const Record* memory = nullptr;
    size_t memory_count = 0;
    bool next(Record* r, IdDigestSet* set) {
      if (memory) {
        if (pos == memory_count) return false;
        *r = memory[pos++];
        return true;
      }
      if (pos == buffer.size()) {
        uint64_t left = run->count - next_index;
        if (left == 0) return false;
        buffer.resize(static_cast<size_t>(std::min<uint64_t>(left, read_ahead)));
        size_t want = buffer.size() * sizeof(Record), got = 0;
        char* p = reinterpret_cast<char*>(buffer.data());
        while (got < want) {
          ssize_t n = ::pread(run->fd, p + got, want - got, static_cast<off_t>(next_index * sizeof(Record) + got));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0)
            throw Error(exit_code::io, set->spill_dir_,
                        std::string("cannot read spilled id digests back: ") + (n < 0 ? std::strerror(errno) : "file shorter than written"));
          got += static_cast<size_t>(n);
        }
        next_index += buffer.size();
        pos = 0;
      }
      *r = buffer[pos++];
      return true;
    }
  };
  std::vector<Source> sources;
  sources.reserve(runs_.size() + 1);
  for (const Run& r : runs_) sources.push_back(Source{&r, 0, {}, 0, nullptr, 0});
  if (memory) sources.push_back(Source{nullptr, 0, {}, 0, memory, memory_count});

  using Head = std::pair<Record, size_t>;  // a record and its source
  auto after = [](const Head& a, const Head& b) { return digest_less(b.first, a.first); };
  std::priority_queue<Head, std::vector<Head>, decltype(after)> heads(after);
  for (size_t i = 0; i < sources.size(); ++i) {
    Record r;
    if (sources[i].next(&r, this)) heads.push({r, i});
  }
  std::vector<Record> output;
  if (out) output.reserve(read_ahead);
  auto flush = [&] {
    write_all(out->fd, output.data(), output.size() * sizeof(Record));
    out->count += output.size();
    output.clear();
  };
  while (!heads.empty()) {
    // One digest at a time: its first claim, and its second when there is one.
    Record first = heads.top().first;
    first.seq = empty_seq;
    uint64_t second_seq = empty_seq;  // the second smallest seq of the digest
    while (!heads.empty() && heads.top().first.hi == first.hi && heads.top().first.lo == first.lo) {
      auto [r, i] = heads.top();
      heads.pop();
      if (r.seq < first.seq) {
        second_seq = first.seq;
        first.seq = r.seq;
      } else {
        second_seq = std::min(second_seq, r.seq);
      }
      Record next;
      if (sources[i].next(&next, this)) heads.push({next, i});
    }
    if (second_seq != empty_seq && (!best_ || second_seq < best_->second_seq))
      best_ = Duplicate{IdDigest{first.hi, first.lo}, first.seq, second_seq};
    if (out) {
      output.push_back(first);  // the first claim is all a later merge needs
      if (output.size() == read_ahead) flush();
    }
  }
  if (out && !output.empty()) flush();
}

std::optional<IdDigestSet::Duplicate> IdDigestSet::finish(uint64_t limit) {
  if (!runs_.empty()) {
    size_t n = 0;
    for (const Record& r : table_)
      if (r.seq != empty_seq) table_[n++] = r;
    std::sort(table_.begin(), table_.begin() + static_cast<std::ptrdiff_t>(n), digest_less);
    merge(table_.data(), n, nullptr);
    for (const Run& r : runs_) ::close(r.fd);
    runs_.clear();
  }
  Table().swap(table_);
  count_ = 0;
  if (best_ && best_->second_seq < limit) return best_;
  return std::nullopt;
}

std::optional<uint64_t> parse_memory_size(std::string_view text) {
  size_t i = 0;
  uint64_t value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (value > (uint64_t(1) << 50)) return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(text[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  int shift = 0;
  if (i < text.size()) {
    switch (text[i]) {
      case 'K': case 'k': shift = 10; break;
      case 'M': case 'm': shift = 20; break;
      case 'G': case 'g': shift = 30; break;
      case 'T': case 't': shift = 40; break;
      case 'B': case 'b': break;
      default: return std::nullopt;
    }
    ++i;
    if (shift && i < text.size() && (text[i] == 'B' || text[i] == 'b')) ++i;
  }
  if (i != text.size() || value > (uint64_t(1) << (50 - shift))) return std::nullopt;
  return value << shift;
}

}  // namespace omlkit::ledger

// libFuzzer target: attribution index files through the API `attribute` opens them with
// (attribution::Datanet::open: header, section table, embedded tokenizer.json), then the
// queries `attribute` makes: longest prefixes, suffix-array ranges, and for each match its
// position, record, record id and contributor. Query tokens come from the header's padding
// bytes (unchecked by the reader), so the fuzzer steers them too.
//
// Seeds are not checked in: tests/fuzz/index_seeds.cpp writes them with the library's own
// ShardWriter at fuzz time, so they follow the index format as it changes. Only
// omlkit::Error may escape the library; a crash or a read outside the mapping is a finding.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "attribution/datanet.h"
#include "attribution/index_format.h"
#include "fuzz_support.h"
#include "io/error.h"

using namespace omlkit;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz::scratch_file(data, size);
  try {
    attribution::Datanet net = attribution::Datanet::open({path});
    const attribution::SuffixIndex& index = *net.shards().front();
    uint32_t vocab = index.vocab_size();
    std::vector<uint32_t> query;
    constexpr size_t padding_at = offsetof(attribution::IndexHeader, padding);
    for (size_t i = padding_at; i + 2 <= sizeof(attribution::IndexHeader); i += 2) {
      uint16_t t;
      std::memcpy(&t, data + i, 2);
      query.push_back(t % vocab);
    }
    std::vector<size_t> longest(query.size(), 0);
    index.longest_prefixes(query, query.size(), longest.data());
    for (size_t l = 0; l < query.size(); ++l) {
      if (longest[l] > query.size() - l) __builtin_trap();
      auto range = index.find(std::span(query).subspan(l, std::max<size_t>(longest[l], 1)));
      if (range.end > index.size()) __builtin_trap();  // ranks stay inside the token buckets, which are checked
      // As attribution::match_spans walks a range (on a corrupt suffix array end may be below begin).
      for (uint32_t rank = range.begin; rank < range.end && rank < range.begin + 8; ++rank) {
        uint32_t position = index.position(rank);
        uint32_t record = index.record_at(position);
        if (record >= index.records()) __builtin_trap();
        index.record_id(record);
        index.contributor(record);
      }
    }
  } catch (const Error&) {
  }
  return 0;
}

// The datanet index file, byte by byte (also in man/attribute.1, INDEX FORMAT).
//
// One file per shard, little-endian, memory-mapped when queried:
//
//   header (1024 bytes, IndexHeader below), then the sections it points to, each starting
//   at a multiple of 64 bytes:
//   tokenizer_json       the tokenizer.json bytes that built the index (queries use it)
//   tokens               N token ids of `token_width` bytes: each record's tokens followed
//                        by one separator (0xFFFF or 0xFFFFFFFF, never a real id)
//   suffix_array         N u32: token positions, suffixes in increasing order
//   token_buckets        vocab_size + 2 u32: first suffix-array rank of the suffixes that
//                        start with token t (t = vocab_size stands for the separator);
//                        the last entry is N
//   record_starts        R + 1 u32: position of each record's first token; the last is N
//   record_contributors  R u32: index of the record's contributor
//   record_id_offsets    R + 1 u32 offsets into record_id_bytes (UTF-8, no terminators)
//   record_id_bytes
//   contributor_offsets  C + 1 u32 offsets into contributor_bytes
//   contributor_bytes
//
// Integrity (version 2): the header holds the SHA-256 of every section and, in its last 32
// bytes, the SHA-256 of its first 992. A reader refuses another magic, a version it does
// not know (version 1 had no checksums: rebuild it), a header or section whose SHA-256 is
// not the recorded one, a section outside the file or of the wrong size, a tokenizer_json
// whose SHA-256 is not tokenizer_sha256, and a contributor that is not an account name
// (money/account_name.h). Every byte is checked on open, so a query reads only checked data.
#pragma once

#include <bit>
#include <cstdint>

namespace omlkit::attribution {

static_assert(std::endian::native == std::endian::little, "index files are little-endian");

inline constexpr char index_magic[8] = {'o', 'm', 'l', 'k', 'i', 'd', 'x', '\0'};
inline constexpr uint32_t index_version = 2;
inline constexpr uint64_t index_alignment = 64;

enum IndexSection : uint32_t {
  section_tokenizer_json,
  section_tokens,
  section_suffix_array,
  section_token_buckets,
  section_record_starts,
  section_record_contributors,
  section_record_id_offsets,
  section_record_id_bytes,
  section_contributor_offsets,
  section_contributor_bytes,
  section_count
};

struct SectionRange {
  uint64_t offset, bytes;
};

struct IndexHeader {
  char magic[8];
  uint32_t version;
  uint32_t token_width;  // 2 when vocab_size <= 65535, else 4
  uint64_t tokens;       // N, separators included
  uint64_t records;      // R
  uint64_t contributors; // C
  uint32_t vocab_size;   // real token ids are < vocab_size
  uint32_t reserved;     // 0
  uint8_t tokenizer_sha256[32];
  SectionRange sections[section_count];
  uint8_t section_sha256[section_count][32];  // SHA-256 of each section's bytes
  uint8_t padding[1024 - 80 - 48 * section_count - 32];  // zeros
  uint8_t header_sha256[32];                  // SHA-256 of the 992 bytes before it
};
static_assert(sizeof(IndexHeader) == 1024);
inline constexpr size_t index_header_hashed_bytes = sizeof(IndexHeader) - 32;

inline uint32_t separator_for_width(uint32_t width) { return width == 2 ? 0xFFFFu : 0xFFFFFFFFu; }

}  // namespace omlkit::attribution

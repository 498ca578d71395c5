#include "attribution/shard_writer.h"

#include <cstring>

#include "attribution/index_format.h"
#include "attribution/suffix_array.h"
#include "crypto/sha256.h"
#include "io/error.h"
#include "io/output.h"

namespace omlkit::attribution {

ShardWriter::ShardWriter(std::string tokenizer_json, uint32_t vocab_size)
    : tokenizer_json_(std::move(tokenizer_json)),
      tokenizer_sha256_(crypto::sha256(tokenizer_json_)),
      vocab_size_(vocab_size) {
  if (vocab_size == 0 || vocab_size >= 0xFFFFFFFFu)
    throw data_error("", "tokenizer vocabulary size " + std::to_string(vocab_size) + " cannot be indexed");
  clear();
}

void ShardWriter::clear() {
  narrow_tokens_ = {};
  wide_tokens_ = {};
  record_starts_.assign(1, 0);
  contributor_of_record_.clear();
  record_ids_.clear();
  record_id_offsets_.assign(1, 0);
  contributors_.clear();
  contributor_index_.clear();
}

void ShardWriter::add_record(std::string_view id, std::string_view contributor, std::span<const int32_t> tokens) {
  uint64_t total = this->tokens() + tokens.size() + 1;
  if (total > max_suffix_array_tokens)
    throw data_error("", "shard would hold " + std::to_string(total) + " tokens, more than " +
                             std::to_string(max_suffix_array_tokens) + " (use --shard-tokens)");
  if (record_ids_.size() + id.size() > 0xFFFFFFFFu) throw data_error("", "record ids exceed 4 GiB in one shard");
  for (int32_t t : tokens)
    if (t < 0 || uint32_t(t) >= vocab_size_)
      throw Error(exit_code::internal, "", "token id " + std::to_string(t) + " outside the vocabulary");
  if (token_width() == 2) {
    narrow_tokens_.insert(narrow_tokens_.end(), tokens.begin(), tokens.end());
    narrow_tokens_.push_back(uint16_t(separator_for_width(2)));
  } else {
    wide_tokens_.insert(wide_tokens_.end(), tokens.begin(), tokens.end());
    wide_tokens_.push_back(separator_for_width(4));
  }
  record_starts_.push_back(uint32_t(total));
  auto [it, added] = contributor_index_.try_emplace(std::string(contributor), uint32_t(contributors_.size()));
  if (added) contributors_.emplace_back(contributor);
  contributor_of_record_.push_back(it->second);
  record_ids_ += id;
  record_id_offsets_.push_back(uint32_t(record_ids_.size()));
}

namespace {

std::string_view bytes_of(const void* data, size_t n) { return {static_cast<const char*>(data), n}; }
template <typename T>
std::string_view bytes_of(const std::vector<T>& v) {
  return bytes_of(v.data(), v.size() * sizeof(T));
}

// Suffix-array rank where each first token's bucket begins: suffixes sort by first token,
// the separator last, so bucket t starts after every occurrence of the tokens below t.
template <typename Token>
std::vector<uint32_t> token_buckets(const std::vector<Token>& tokens, uint32_t vocab_size, Token separator) {
  std::vector<uint32_t> buckets(size_t(vocab_size) + 2, 0);
  for (Token t : tokens) ++buckets[t == separator ? vocab_size : t];
  uint32_t sum = 0;
  for (uint32_t& b : buckets) {
    uint32_t count = b;
    b = sum;
    sum += count;
  }
  return buckets;
}

}  // namespace

void ShardWriter::write(const std::string& path) {
  bool narrow = token_width() == 2;
  std::vector<uint32_t> suffix_array, buckets;
  if (narrow) {
    suffix_array = build_suffix_array(narrow_tokens_, vocab_size_, uint16_t(separator_for_width(2)));
    buckets = token_buckets(narrow_tokens_, vocab_size_, uint16_t(separator_for_width(2)));
  } else {
    suffix_array = build_suffix_array(wide_tokens_, vocab_size_, separator_for_width(4));
    buckets = token_buckets(wide_tokens_, vocab_size_, separator_for_width(4));
  }
  std::vector<uint32_t> contributor_offsets{0};
  std::string contributor_bytes;
  for (const std::string& c : contributors_) {
    contributor_bytes += c;
    contributor_offsets.push_back(uint32_t(contributor_bytes.size()));
  }

  std::string_view sections[section_count];
  sections[section_tokenizer_json] = tokenizer_json_;
  sections[section_tokens] = narrow ? bytes_of(narrow_tokens_) : bytes_of(wide_tokens_);
  sections[section_suffix_array] = bytes_of(suffix_array);
  sections[section_token_buckets] = bytes_of(buckets);
  sections[section_record_starts] = bytes_of(record_starts_);
  sections[section_record_contributors] = bytes_of(contributor_of_record_);
  sections[section_record_id_offsets] = bytes_of(record_id_offsets_);
  sections[section_record_id_bytes] = record_ids_;
  sections[section_contributor_offsets] = bytes_of(contributor_offsets);
  sections[section_contributor_bytes] = contributor_bytes;

  IndexHeader header;
  std::memset(&header, 0, sizeof header);
  std::memcpy(header.magic, index_magic, sizeof header.magic);
  header.version = index_version;
  header.token_width = token_width();
  header.tokens = tokens();
  header.records = records();
  header.contributors = contributors_.size();
  header.vocab_size = vocab_size_;
  std::memcpy(header.tokenizer_sha256, tokenizer_sha256_.data(), 32);
  uint64_t offset = sizeof header;
  for (uint32_t s = 0; s < section_count; ++s) {
    offset = (offset + index_alignment - 1) / index_alignment * index_alignment;
    header.sections[s] = {offset, sections[s].size()};
    offset += sections[s].size();
    crypto::Hash digest = crypto::sha256(sections[s]);
    std::memcpy(header.section_sha256[s], digest.data(), 32);
  }
  crypto::Hash header_digest =
      crypto::sha256(std::string_view(reinterpret_cast<const char*>(&header), index_header_hashed_bytes));
  std::memcpy(header.header_sha256, header_digest.data(), 32);

  io::AtomicFile file(path);
  file.write(bytes_of(&header, sizeof header));
  uint64_t written = sizeof header;
  static const char zeros[index_alignment] = {};
  for (uint32_t s = 0; s < section_count; ++s) {
    file.write(std::string_view(zeros, header.sections[s].offset - written));
    file.write(sections[s]);
    written = header.sections[s].offset + header.sections[s].bytes;
  }
  file.commit();
  clear();
}

}  // namespace omlkit::attribution

// safetensors files: a validated header, memory-mapped tensor data, and write-back.
//
// Layout (huggingface/safetensors): an 8-byte little-endian header length n, n bytes of
// JSON `{"name": {"dtype", "shape", "data_offsets": [begin, end)}, ..., "__metadata__":
// {string: string}}`, then the data, offsets relative to its start.
//
// A header is refused (omlkit::Error, exit 65) when it is hostile or malformed: over
// 100 MB, not a JSON object, duplicate or unknown keys, unknown dtype, a shape whose byte
// count overflows or differs from its offsets, offsets out of range, or tensors that do
// not tile the data exactly (holes or overlaps). Nothing is read outside the file.
//
// Write-back keeps names, dtypes, order and __metadata__; when the layout is unchanged the
// original header bytes are reused, so a file read and written unchanged is identical.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/dtype.h"

namespace omlkit::model {

inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

struct TensorEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<uint64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section, [begin, end)
  uint64_t end = 0;

  uint64_t element_count() const;
  bool operator==(const TensorEntry&) const = default;
};

struct SafetensorsHeader {
  std::vector<TensorEntry> tensors;  // in header order
  std::vector<std::pair<std::string, std::string>> metadata;  // in header order
  bool has_metadata = false;
  size_t metadata_position = 0;  // how many tensors precede "__metadata__" in the header
  std::string raw;               // the header bytes as read (empty when built in memory)

  const TensorEntry* find(std::string_view name) const;
  uint64_t data_size() const;  // end of the last tensor
  // Same tensors, metadata and order (raw bytes not compared).
  bool same_layout(const SafetensorsHeader& other) const;
};

// Validates the JSON header of a file whose data section has `data_size` bytes.
// `where` names the file in errors.
SafetensorsHeader parse_safetensors_header(std::string_view json, uint64_t data_size,
                                           const std::string& where);

// Validates a whole file image (length prefix, header, data size); the fuzz entry point.
SafetensorsHeader parse_safetensors_bytes(std::string_view file, const std::string& where);

// Compact JSON in header order, space-padded so the data starts 8-byte aligned (what the
// reference writer does).
std::string serialize_safetensors_header(const SafetensorsHeader& header);

// A read-only memory map of one safetensors file.
class SafetensorsFile {
 public:
  // Throws omlkit::Error: 66 when the file cannot be opened, 65 when it is invalid.
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const SafetensorsHeader& header() const { return header_; }
  std::span<const unsigned char> bytes(const TensorEntry& entry) const;
  // Converts a float tensor to F32 into dst (entry.element_count() floats).
  void read_f32(const TensorEntry& entry, float* dst) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  const unsigned char* map_ = nullptr;
  size_t map_size_ = 0;
  const unsigned char* data_ = nullptr;  // start of the data section
  SafetensorsHeader header_;
};

// Supplies the bytes of one tensor for writing; must return exactly end - begin bytes.
using TensorBytes = std::function<std::span<const unsigned char>(const TensorEntry&)>;

// Writes `header` and the tensors' bytes to path atomically (temporary file + rename).
// Throws omlkit::Error 73 when the file cannot be created, 74 on a write error.
void write_safetensors(const std::string& path, const SafetensorsHeader& header,
                       const TensorBytes& tensor_bytes);

}  // namespace omlkit::model

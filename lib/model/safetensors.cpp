#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "io/error.h"
#include "io/output.h"

namespace omlkit::model {
namespace {

using ordered_json = nlohmann::ordered_json;

Error header_error(const std::string& where, const std::string& message) {
  return data_error(where, "safetensors header: " + message);
}

// Parses JSON refusing duplicate keys and nesting deeper than a header needs; nlohmann
// would otherwise keep one of two duplicates silently.
ordered_json parse_strict_json(std::string_view text, const std::string& where) {
  std::vector<std::set<std::string>> keys_per_object;
  auto check = [&](int depth, nlohmann::json::parse_event_t event, ordered_json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (depth > 3) throw header_error(where, "nested deeper than a header can be");
    if (event == Event::object_start) keys_per_object.emplace_back();
    if (event == Event::object_end) keys_per_object.pop_back();
    if (event == Event::key && !keys_per_object.back().insert(parsed.get<std::string>()).second)
      throw header_error(where, "duplicate key \"" + parsed.get<std::string>() + "\"");
    return true;
  };
  try {
    return ordered_json::parse(text.begin(), text.end(), check);
  } catch (const nlohmann::json::exception& e) {
    throw header_error(where, std::string("invalid JSON: ") + e.what());
  }
}

uint64_t checked_u64(const ordered_json& value, const std::string& where, const std::string& what) {
  if (!value.is_number_unsigned())
    throw header_error(where, what + ": expected a non-negative integer, found " + value.dump());
  return value.get<uint64_t>();
}

TensorEntry parse_entry(const std::string& name, const ordered_json& info, uint64_t data_size,
                        const std::string& where) {
  std::string what = "tensor \"" + name + "\"";
  if (!info.is_object()) throw header_error(where, what + ": expected an object");
  for (const auto& [key, unused] : info.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw header_error(where, what + ": unknown field \"" + key + "\"");
  if (!info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
    throw header_error(where, what + ": needs dtype, shape and data_offsets");

  TensorEntry entry;
  entry.name = name;
  const auto& dtype = info["dtype"];
  if (!dtype.is_string()) throw header_error(where, what + ": dtype must be a string");
  auto parsed_dtype = dtype_from_name(dtype.get<std::string>());
  if (!parsed_dtype) throw header_error(where, what + ": unknown dtype " + dtype.dump());
  entry.dtype = *parsed_dtype;

  const auto& shape = info["shape"];
  if (!shape.is_array()) throw header_error(where, what + ": shape must be an array");
  uint64_t bytes = dtype_size(entry.dtype);
  for (const auto& dim : shape) {
    uint64_t d = checked_u64(dim, where, what + ": shape");
    entry.shape.push_back(d);
    if (d != 0 && bytes > UINT64_MAX / d)
      throw header_error(where, what + ": shape " + shape.dump() + " overflows 64 bits");
    bytes *= d;
  }

  const auto& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    throw header_error(where, what + ": data_offsets must be [begin, end]");
  entry.begin = checked_u64(offsets[0], where, what + ": data_offsets");
  entry.end = checked_u64(offsets[1], where, what + ": data_offsets");
  if (entry.begin > entry.end || entry.end > data_size)
    throw header_error(where, what + ": data_offsets " + offsets.dump() +
                                  " out of range for a data section of " +
                                  std::to_string(data_size) + " bytes");
  if (entry.end - entry.begin != bytes)
    throw header_error(where, what + ": shape " + shape.dump() + " of " + dtype.get<std::string>() +
                                  " needs " + std::to_string(bytes) + " bytes, data_offsets give " +
                                  std::to_string(entry.end - entry.begin));
  return entry;
}

// The tensors must cover [0, data_size) exactly: no holes, no overlaps.
void check_tiling(const SafetensorsHeader& header, uint64_t data_size, const std::string& where) {
  std::vector<const TensorEntry*> by_offset;
  for (const auto& t : header.tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected = 0;
  for (const TensorEntry* t : by_offset) {
    if (t->begin != expected)
      throw header_error(where, "tensor \"" + t->name + "\" starts at " + std::to_string(t->begin) +
                                    ", expected " + std::to_string(expected) +
                                    (t->begin < expected ? " (overlap)" : " (hole)"));
    expected = t->end;
  }
  if (expected != data_size)
    throw header_error(where, "tensors end at byte " + std::to_string(expected) +
                                  " but the data section has " + std::to_string(data_size));
}

}  // namespace

uint64_t TensorEntry::element_count() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;  // cannot overflow: checked against the byte count
  return n;
}

const TensorEntry* SafetensorsHeader::find(std::string_view name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

uint64_t SafetensorsHeader::data_size() const {
  uint64_t size = 0;
  for (const auto& t : tensors) size = std::max(size, t.end);
  return size;
}

bool SafetensorsHeader::same_layout(const SafetensorsHeader& other) const {
  return tensors == other.tensors && metadata == other.metadata &&
         has_metadata == other.has_metadata &&
         (!has_metadata || metadata_position == other.metadata_position);
}

SafetensorsHeader parse_safetensors_header(std::string_view json, uint64_t data_size,
                                           const std::string& where) {
  if (json.size() > kMaxSafetensorsHeader)
    throw header_error(where, "header of " + std::to_string(json.size()) + " bytes is over the " +
                                  "100 MB limit");
  if (json.empty() || json[0] != '{')
    throw header_error(where, "expected a JSON object starting with '{'");
  ordered_json root = parse_strict_json(json, where);

  SafetensorsHeader header;
  header.raw = std::string(json);
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) throw header_error(where, "__metadata__ must be an object");
      header.has_metadata = true;
      header.metadata_position = header.tensors.size();
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string())
          throw header_error(where, "__metadata__." + mkey + ": expected a string");
        header.metadata.emplace_back(mkey, mvalue.get<std::string>());
      }
      continue;
    }
    header.tensors.push_back(parse_entry(key, value, data_size, where));
  }
  check_tiling(header, data_size, where);
  return header;
}

SafetensorsHeader parse_safetensors_bytes(std::string_view file, const std::string& where) {
  if (file.size() < 8)
    throw header_error(where, "file of " + std::to_string(file.size()) +
                                  " bytes is too short for the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | static_cast<unsigned char>(file[i]);
  if (n > kMaxSafetensorsHeader)
    throw header_error(where, "header length " + std::to_string(n) + " is over the 100 MB limit");
  if (n > file.size() - 8)
    throw header_error(where, "header length " + std::to_string(n) + " runs past the end of the " +
                                  std::to_string(file.size()) + "-byte file");
  return parse_safetensors_header(file.substr(8, n), file.size() - 8 - n, where);
}

std::string serialize_safetensors_header(const SafetensorsHeader& header) {
  ordered_json root = ordered_json::object();
  auto add_metadata = [&] {
    ordered_json meta = ordered_json::object();
    for (const auto& [k, v] : header.metadata) meta[k] = v;
    root["__metadata__"] = meta;
  };
  for (size_t i = 0; i < header.tensors.size(); i++) {
    if (header.has_metadata && header.metadata_position == i) add_metadata();
    const auto& t = header.tensors[i];
    ordered_json info = ordered_json::object();
    info["dtype"] = std::string(dtype_name(t.dtype));
    info["shape"] = t.shape;
    info["data_offsets"] = {t.begin, t.end};
    root[t.name] = info;
  }
  if (header.has_metadata && header.metadata_position >= header.tensors.size()) add_metadata();
  std::string text = root.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) munmap(const_cast<unsigned char*>(map_), map_size_);
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(exit_code::no_input, path, std::string("cannot open: ") + strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(exit_code::no_input, path, "not a regular file");
  }
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile);
  file->path_ = path;
  file->map_size_ = size_t(st.st_size);
  if (file->map_size_ > 0) {
    void* map = mmap(nullptr, file->map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      ::close(fd);
      throw Error(exit_code::io, path, std::string("cannot map: ") + strerror(errno));
    }
    file->map_ = static_cast<const unsigned char*>(map);
  }
  ::close(fd);
  std::string_view image(reinterpret_cast<const char*>(file->map_), file->map_size_);
  file->header_ = parse_safetensors_bytes(image, path);
  file->data_ = file->map_ + 8 + file->header_.raw.size();
  return file;
}

std::span<const unsigned char> SafetensorsFile::bytes(const TensorEntry& entry) const {
  return {data_ + entry.begin, size_t(entry.end - entry.begin)};
}

void SafetensorsFile::read_f32(const TensorEntry& entry, float* dst) const {
  if (!dtype_is_float_convertible(entry.dtype))
    throw data_error(path_, "tensor \"" + entry.name + "\": dtype " +
                                std::string(dtype_name(entry.dtype)) +
                                " is not supported for compute (F32, F16, BF16 are)");
  convert_to_f32(entry.dtype, data_ + entry.begin, dst, entry.element_count());
}

void write_safetensors(const std::string& path, const SafetensorsHeader& header,
                       const TensorBytes& tensor_bytes) {
  std::string json = serialize_safetensors_header(header);
  // Reuse the original bytes when the layout is unchanged: formatting stays identical.
  if (!header.raw.empty() &&
      parse_safetensors_header(header.raw, header.data_size(), path).same_layout(header))
    json = header.raw;
  else
    parse_safetensors_header(json, header.data_size(), path);  // refuse to write a bad file

  // One atomic-file helper for every writer: a unique temporary, fsync, rename, directory fsync.
  io::AtomicFile file(path);
  unsigned char length[8];
  for (int i = 0; i < 8; i++) length[i] = uint8_t(uint64_t(json.size()) >> (8 * i));
  file.write(std::string_view(reinterpret_cast<const char*>(length), 8));
  file.write(json);
  std::vector<const TensorEntry*> by_offset;
  for (const auto& t : header.tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorEntry* a, const TensorEntry* b) { return a->begin < b->begin; });
  for (const TensorEntry* t : by_offset) {
    std::span<const unsigned char> bytes = tensor_bytes(*t);  // a throw drops the temporary
    if (bytes.size() != t->end - t->begin)
      throw Error(exit_code::internal, path, "tensor \"" + t->name + "\": wrong byte count to write");
    file.write(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }
  file.commit();
}

}  // namespace omlkit::model

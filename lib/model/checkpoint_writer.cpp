#include "model/checkpoint_writer.h"

#include <filesystem>
#include <map>
#include <vector>

#include "io/error.h"
#include "io/output.h"

namespace omlkit::model {
namespace {

// The small files of a model folder that travel with its weights.
constexpr const char* kCopiedFiles[] = {
    "config.json",          "generation_config.json", "model.safetensors.index.json",
    "tokenizer.json",       "tokenizer_config.json",  "special_tokens_map.json",
    "vocab.json",           "merges.txt",             "tokenizer.model",
};

}  // namespace

void save_checkpoint(const Checkpoint& source, const ParameterSubset& changed, const std::string& out_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) throw Error(exit_code::cannot_create, out_dir, "cannot create folder: " + ec.message());
  if (fs::equivalent(out_dir, source.dir(), ec))
    throw Error(exit_code::usage, out_dir, "the output folder must differ from the model folder");

  const auto& entries = changed.table().entries();
  std::map<std::string, size_t> by_name;  // changed tensors' entries
  // A checkpoint with a tied head may also store lm_head.weight: it follows wte.
  const ParameterInfo* wte = nullptr;
  size_t wte_entry = 0;
  for (size_t i = 0; i < entries.size(); i++) {
    if (changed.has(i)) by_name[entries[i].name] = i;
    if (entries[i].role == "wte") wte = &entries[i], wte_entry = i;
  }

  std::vector<unsigned char> converted;
  for (const auto& file : source.files()) {
    std::string path = (fs::path(out_dir) / fs::path(file->path()).filename()).string();
    write_safetensors(path, file->header(), [&](const TensorEntry& t) -> std::span<const unsigned char> {
      auto it = by_name.find(t.name);
      std::span<const float> values;
      if (it != by_name.end()) values = changed.tensor(it->second);
      else if (source.config().tied_head && t.name == "lm_head.weight" && wte && changed.has(wte_entry) &&
               t.element_count() == wte->count && dtype_is_float_convertible(t.dtype))
        values = changed.tensor(wte_entry);
      if (values.empty()) return file->bytes(t);
      converted.resize(t.end - t.begin);
      convert_from_f32(t.dtype, values.data(), converted.data(), values.size());
      return converted;
    });
  }
  for (const char* name : kCopiedFiles) {
    fs::path from = fs::path(source.dir()) / name;
    if (!fs::is_regular_file(from)) continue;
    io::AtomicFile out((fs::path(out_dir) / name).string());
    out.write(read_text_file(from.string()));
    out.commit();
  }
}

}  // namespace omlkit::model

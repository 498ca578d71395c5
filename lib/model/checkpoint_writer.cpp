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

void save_checkpoint(const Checkpoint& source, const ParameterTable& table, std::span<const float> params,
                     const std::string& out_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) throw Error(exit_code::cannot_create, out_dir, "cannot create folder: " + ec.message());
  if (fs::equivalent(out_dir, source.dir(), ec))
    throw Error(exit_code::usage, out_dir, "the output folder must differ from the model folder");

  std::map<std::string, const ParameterInfo*> by_name;
  for (const auto& e : table.entries()) by_name[e.name] = &e;
  // A checkpoint with a tied head may also store lm_head.weight: it follows wte.
  const ParameterInfo* wte = nullptr;
  for (const auto& e : table.entries())
    if (e.role == "wte") wte = &e;

  std::vector<unsigned char> converted;
  for (const auto& file : source.files()) {
    std::string path = (fs::path(out_dir) / fs::path(file->path()).filename()).string();
    write_safetensors(path, file->header(), [&](const TensorEntry& t) -> std::span<const unsigned char> {
      auto it = by_name.find(t.name);
      const ParameterInfo* p = it != by_name.end() ? it->second : nullptr;
      if (!p && source.config().tied_head && t.name == "lm_head.weight" && wte &&
          t.element_count() == wte->count && dtype_is_float_convertible(t.dtype))
        p = wte;
      if (!p) return file->bytes(t);
      converted.resize(t.end - t.begin);
      convert_from_f32(t.dtype, params.data() + p->offset, converted.data(), p->count);
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

// A Hugging Face model folder on disk: config.json plus model.safetensors, or shards named
// by model.safetensors.index.json. Tensors stay memory-mapped; nothing is converted here.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/safetensors.h"

namespace omlkit::model {

struct TensorLocation {
  const SafetensorsFile* file = nullptr;
  const TensorEntry* entry = nullptr;
};

class Checkpoint {
 public:
  // Throws omlkit::Error: 66 for a missing folder or file, 65 for invalid contents
  // (including a shard index that names a tensor its shard lacks, or a path outside dir).
  // `weights_file`, when given, names one safetensors file in dir to use instead (the
  // fixtures keep a BF16 copy beside the F32 weights).
  static Checkpoint open(const std::string& dir, const std::string& weights_file = "");

  const std::string& dir() const { return dir_; }
  const ModelConfig& config() const { return config_; }
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  // nullptr when no file holds `name`.
  const TensorLocation* find(const std::string& name) const;
  const std::map<std::string, TensorLocation>& tensors() const { return tensors_; }

 private:
  std::string dir_;
  ModelConfig config_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, TensorLocation> tensors_;
};

// Reads a whole small file (config, index, tokenizer); throws 66 when unreadable.
std::string read_text_file(const std::string& path);

}  // namespace omlkit::model

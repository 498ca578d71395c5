#include "model/checkpoint.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/error.h"

namespace omlkit::model {
namespace {

bool file_exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Shard names come from a file a stranger may have written: keep them inside the folder.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

}  // namespace

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(exit_code::no_input, path, std::string("cannot open: ") + strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(exit_code::io, path, "read failed");
  return text.str();
}

const TensorLocation* Checkpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

Checkpoint Checkpoint::open(const std::string& dir, const std::string& weights_file) {
  Checkpoint ckpt;
  ckpt.dir_ = dir;
  std::string config_path = dir + "/config.json";
  ckpt.config_ = parse_model_config(read_text_file(config_path), config_path);

  if (!weights_file.empty() && !is_plain_file_name(weights_file))
    throw Error(exit_code::usage, weights_file, "expected a file name inside the model folder");
  std::string single = dir + "/" + (weights_file.empty() ? "model.safetensors" : weights_file);
  std::string index_path = dir + "/model.safetensors.index.json";
  if (file_exists(single) || !weights_file.empty()) {
    ckpt.files_.push_back(SafetensorsFile::open(single));
    for (const auto& entry : ckpt.files_[0]->header().tensors)
      ckpt.tensors_[entry.name] = {ckpt.files_[0].get(), &entry};
    return ckpt;
  }
  if (!file_exists(index_path))
    throw Error(exit_code::no_input, dir, "no model.safetensors or model.safetensors.index.json");

  nlohmann::json index;
  try {
    index = nlohmann::json::parse(read_text_file(index_path));
  } catch (const nlohmann::json::exception& e) {
    throw data_error(index_path, std::string("invalid JSON: ") + e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw data_error(index_path, "weight_map: expected an object of tensor name to shard file");
  std::map<std::string, const SafetensorsFile*> shards;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (!shard.is_string() || !is_plain_file_name(shard.get<std::string>()))
      throw data_error(index_path, "weight_map." + name + ": expected a file name in the folder");
    std::string shard_name = shard.get<std::string>();
    if (!shards.count(shard_name)) {
      ckpt.files_.push_back(SafetensorsFile::open(dir + "/" + shard_name));
      shards[shard_name] = ckpt.files_.back().get();
    }
    const SafetensorsFile* file = shards[shard_name];
    const TensorEntry* entry = file->header().find(name);
    if (!entry) throw data_error(file->path(), "tensor \"" + name + "\" named by the index is absent");
    ckpt.tensors_[name] = {file, entry};
  }
  for (const auto& file : ckpt.files_)
    for (const auto& entry : file->header().tensors) {
      auto it = ckpt.tensors_.find(entry.name);
      if (it == ckpt.tensors_.end())
        throw data_error(file->path(), "tensor \"" + entry.name + "\" is not in the shard index");
      if (it->second.file != file.get())
        throw data_error(file->path(), "tensor \"" + entry.name + "\" is also in another shard");
    }
  return ckpt;
}

}  // namespace omlkit::model

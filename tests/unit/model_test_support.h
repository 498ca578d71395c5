// Paths and readers shared by the model engine's unit tests.
//
// Fixtures shipped with the repository live in tests/fixtures/; the larger trained models
// live outside it in ../shared/models (or $OMLKIT_SHARED/models) and tests that need them
// skip when they are absent.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/safetensors.h"

namespace omlkit::model::testing {

// The repository root: the first ancestor of the working directory holding tests/fixtures.
inline std::filesystem::path repo_root() {
  auto dir = std::filesystem::current_path();
  for (auto d = dir; !d.empty(); d = d.parent_path()) {
    if (std::filesystem::exists(d / "tests/fixtures/gpt2-tiny/reference.json")) return d;
    if (d == d.parent_path()) break;
  }
  return dir;
}

inline std::string fixture_dir(const std::string& name) {
  return (repo_root() / "tests/fixtures" / name).string();
}

// ../shared/models relative to the repository root, or $OMLKIT_SHARED/models.
inline std::optional<std::string> shared_model_dir(const std::string& name) {
  std::filesystem::path base = std::getenv("OMLKIT_SHARED") ? std::filesystem::path(std::getenv("OMLKIT_SHARED"))
                                                            : repo_root().parent_path() / "shared";
  auto dir = base / "models" / name;
  if (!std::filesystem::exists(dir / "reference.json")) return std::nullopt;
  return dir.string();
}

inline nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_text_file(path));
}

// Reads an F32 tensor of a safetensors file written by PyTorch.
inline std::vector<float> read_tensor(const std::string& path, const std::string& name) {
  auto file = SafetensorsFile::open(path);
  const TensorEntry* entry = file->header().find(name);
  if (!entry) throw std::runtime_error(path + " has no tensor " + name);
  std::vector<float> out(entry->element_count());
  file->read_f32(*entry, out.data());
  return out;
}

// max|a-b| / max|b|: relative error per tensor, as llm.c and the fixtures define it.
inline double relative_error(const std::vector<float>& actual, const std::vector<float>& expected) {
  double max_diff = 0, max_ref = 1e-30;
  for (size_t i = 0; i < expected.size(); i++) {
    max_diff = std::max(max_diff, double(std::fabs(actual[i] - expected[i])));
    max_ref = std::max(max_ref, double(std::fabs(expected[i])));
  }
  return max_diff / max_ref;
}

}  // namespace omlkit::model::testing

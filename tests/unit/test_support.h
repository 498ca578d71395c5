// Helpers shared by the unit tests: where the test data lives, temporary directories.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace omlkit::test {

// Tests run from the repository root (make test); OMLKIT_TESTS overrides the tests/ folder.
inline std::string test_path(const std::string& relative) {
  const char* root = std::getenv("OMLKIT_TESTS");
  return std::string(root ? root : "tests") + "/" + relative;
}

// The exhaustive tamper loops (every byte flipped, every cut) try every k-th position in a
// sanitizer build (make sanitize), where each verify runs about ten times slower and the
// fuzz targets mutate the same parsers far more widely; `make test` tries every position.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr std::size_t kExhaustiveStride = 13;
#else
inline constexpr std::size_t kExhaustiveStride = 1;
#endif

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = std::filesystem::temp_directory_path() / "omlkit-test-XXXXXX";
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace omlkit::test

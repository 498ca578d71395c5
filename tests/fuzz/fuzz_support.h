// Shared by the libFuzzer targets whose parser reads a file by path (ledger, trust file,
// kept checkpoint, index): the input is written to one in-memory file per process
// (memfd_create), which the parser opens as /proc/self/fd/N. Nothing touches the disk.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace omlkit::fuzz {

inline const std::string& scratch_file(const uint8_t* data, size_t size) {
  static const int fd = ::memfd_create("omlkit-fuzz", MFD_CLOEXEC);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  // Failures here are the harness's own, not findings: stop loudly.
  if (fd < 0 || ::ftruncate(fd, 0) != 0) std::abort();
  for (size_t done = 0; done < size;) {
    ssize_t n = ::pwrite(fd, data + done, size - done, off_t(done));
    if (n <= 0) std::abort();
    done += size_t(n);
  }
  return path;
}

}  // namespace omlkit::fuzz

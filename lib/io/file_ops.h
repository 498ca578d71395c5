// The system calls that make an append durable, behind an interface a test can swap (as
// LevelDB's fault-injection Env does): a test layer can fail a write with ENOSPC after k
// bytes, or remember what fdatasync made durable and drop everything else, as a power
// cut would. The default forwards to POSIX.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <string>
#include <string_view>

namespace omlkit::io {

class FileOps {
 public:
  virtual ~FileOps() = default;
  virtual ssize_t write(int fd, const void* data, size_t bytes) { return ::write(fd, data, bytes); }
  virtual int fdatasync(int fd) { return ::fdatasync(fd); }
  virtual int ftruncate(int fd, off_t size) { return ::ftruncate(fd, size); }
};

// The process-wide POSIX layer.
FileOps& posix_file_ops();

// Writes all of data through ops, retrying short writes and EINTR. Throws Error 74 naming
// the errno ("write failed: No space left on device").
void write_all(FileOps& ops, int fd, std::string_view data, const std::string& name);

}  // namespace omlkit::io

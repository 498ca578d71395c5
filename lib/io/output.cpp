#include "io/output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/error.h"
#include "io/file_ops.h"

namespace omlkit::io {

FileOps& posix_file_ops() {
  static FileOps posix;
  return posix;
}

void write_all(int fd, std::string_view data, const std::string& name) { write_all(posix_file_ops(), fd, data, name); }

void write_all(FileOps& ops, int fd, std::string_view data, const std::string& name) {
  while (!data.empty()) {
    ssize_t n = ops.write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(exit_code::io, name, std::string("write failed: ") + std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

Output::~Output() {
  try {
    flush();
  } catch (...) {
  }
}

void Output::line(std::string_view text) {
  buffer_.append(text);
  buffer_ += '\n';
  maybe_flush();
}

void Output::flush() {
  std::string pending;
  pending.swap(buffer_);
  write_all(fd_, pending, name_);
}

static std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void sync_parent_directory(const std::string& path) {
  int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;  // nothing we can make durable
  ::fsync(dir);
  ::close(dir);
}

AtomicFile::AtomicFile(std::string path, int mode) : path_(std::move(path)) {
  temp_path_ = path_ + ".tmp.XXXXXX";
  fd_ = ::mkstemp(temp_path_.data());
  if (fd_ < 0)
    throw Error(exit_code::cannot_create, path_, std::string("cannot create: ") + std::strerror(errno));
  ::fchmod(fd_, static_cast<mode_t>(mode));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFile::write(std::string_view data) { write_all(fd_, data, path_); }

void AtomicFile::commit() {
  if (::fsync(fd_) != 0)
    throw Error(exit_code::io, path_, std::string("fsync failed: ") + std::strerror(errno));
  ::close(fd_);
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
    throw Error(exit_code::cannot_create, path_, std::string("rename failed: ") + std::strerror(errno));
  committed_ = true;
  sync_parent_directory(path_);
}

}  // namespace omlkit::io

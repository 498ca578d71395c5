// Buffered output to a descriptor, and files written atomically.
//
// Output never leaves a half-written line: callers append whole records to the buffer,
// and a failed write is an Error (exit 74). AtomicFile writes to a temporary file in the
// target's directory and renames it into place on commit(), after fsync; dropping it
// uncommitted removes the temporary, so no truncated output file is ever left behind.
#pragma once

#include <string>
#include <string_view>

namespace omlkit::io {

class Output {
 public:
  explicit Output(int fd, std::string name = "stdout") : fd_(fd), name_(std::move(name)) {}
  ~Output();  // flushes, ignoring errors: call flush() to see them
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  // Appends one line (a '\n' is added).
  void line(std::string_view text);
  std::string& buffer() { return buffer_; }  // append to it directly, then maybe_flush()
  void maybe_flush() {
    if (buffer_.size() >= (1 << 16)) flush();
  }
  void flush();

 private:
  int fd_;
  std::string name_;
  std::string buffer_;
};

// Writes all of data to fd, retrying short writes and EINTR. Throws Error 74.
void write_all(int fd, std::string_view data, const std::string& name);

class AtomicFile {
 public:
  explicit AtomicFile(std::string path, int mode = 0644);
  ~AtomicFile();  // removes the temporary unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view data);
  // fsync, rename over the target, fsync the directory.
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// fsync of the directory holding path, so that a create or rename is durable.
void sync_parent_directory(const std::string& path);

}  // namespace omlkit::io

// Reads an input (a file, or "-" for stdin) line by line, decompressing zstd transparently.
//
// A line is returned without its '\n'. Line numbers start at 1. A line longer than
// max_line_bytes is an error (exit 65) rather than an unbounded allocation. The reader
// tells whether the input ended without a final newline, which the ledger calls a torn
// tail and the other tools accept as a last line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace omlkit::io {

inline constexpr size_t default_max_line_bytes = 16 << 20;

class LineReader {
 public:
  // Opens path ("-" = stdin). zstd frames are detected by their magic number.
  // Throws Error 66 if the file cannot be opened.
  explicit LineReader(const std::string& path, size_t max_line_bytes = default_max_line_bytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Before the first next(): read a plain (uncompressed) file from byte offset on, whose
  // first line is numbered first_line. Throws Error 74 when it cannot seek.
  void start_at(uint64_t offset, uint64_t first_line);

  // Next line into *line (valid until the next call). False at end of input.
  bool next(std::string_view* line);

  const std::string& name() const { return name_; }  // "stdin" for "-"
  uint64_t line_number() const { return line_number_; }
  // "name:line" of the line last returned, for diagnostics.
  std::string where() const { return name_ + ":" + std::to_string(line_number_); }
  // Byte offset (in the decompressed stream) where the last returned line starts.
  uint64_t line_offset() const { return line_offset_; }
  // True once next() returned a last line that had no terminating '\n'.
  bool ended_without_newline() const { return ended_without_newline_; }

 private:
  bool fill();  // appends more decompressed bytes to buffer_; false at end of input

  std::string name_;
  int fd_ = -1;
  bool own_fd_ = false;
  size_t max_line_bytes_;
  std::vector<char> buffer_;
  size_t begin_ = 0, end_ = 0;  // unread bytes are buffer_[begin_, end_)
  bool eof_ = false;
  uint64_t line_number_ = 0;
  uint64_t consumed_ = 0;  // bytes before buffer_[begin_]
  uint64_t line_offset_ = 0;
  bool ended_without_newline_ = false;

  struct Zstd;
  std::unique_ptr<Zstd> zstd_;  // set when the input is zstd-compressed
  std::vector<char> raw_;       // compressed bytes waiting for the decoder
  size_t raw_begin_ = 0, raw_end_ = 0;
  bool raw_eof_ = false;
  bool sniffed_ = false;
};

// Reads a whole (small) file into a string, zstd-decompressed when it is compressed.
std::string read_file(const std::string& path);

}  // namespace omlkit::io

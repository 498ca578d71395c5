#include "io/line_reader.h"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>

#include "io/error.h"

namespace omlkit::io {

struct LineReader::Zstd {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  bool frame_complete = true;  // no frame started, or the last one fully decoded
  // The last result of a call that made progress: 0 at a frame's end. A call with no
  // input left returns the next frame's header size, so it must not count.
  size_t last_progress_rc = 1;
  ~Zstd() { ZSTD_freeDCtx(ctx); }
};

static constexpr size_t chunk = 1 << 20;

LineReader::LineReader(const std::string& path, size_t max_line_bytes)
    : name_(path == "-" ? "stdin" : path), max_line_bytes_(max_line_bytes) {
  if (path == "-") {
    fd_ = 0;
  } else {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error(exit_code::no_input, path, std::strerror(errno));
    own_fd_ = true;
  }
  buffer_.resize(chunk * 2);
}

void LineReader::start_at(uint64_t offset, uint64_t first_line) {
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0)
    throw Error(exit_code::io, name_, std::string("cannot seek: ") + std::strerror(errno));
  consumed_ = offset;
  line_number_ = first_line - 1;
  sniffed_ = true;  // a ledger read from the middle is plain text
}

LineReader::~LineReader() {
  if (own_fd_) ::close(fd_);
}

// Reads raw bytes from the descriptor into dst; returns the count, 0 at end.
static size_t read_some(int fd, char* dst, size_t n, const std::string& name) {
  for (;;) {
    ssize_t got = ::read(fd, dst, n);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno == EINTR) continue;
    throw Error(exit_code::io, name, std::string("read failed: ") + std::strerror(errno));
  }
}

bool LineReader::fill() {
  // Make room: move unread bytes to the front, grow when a line fills the buffer.
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    consumed_ += begin_;
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() - end_ < chunk) buffer_.resize(buffer_.size() * 2);

  if (!sniffed_) {
    sniffed_ = true;
    raw_.resize(chunk);
    raw_end_ = read_some(fd_, raw_.data(), chunk, name_);
    static const unsigned char magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    if (raw_end_ >= 4 && std::memcmp(raw_.data(), magic, 4) == 0) {
      zstd_ = std::make_unique<Zstd>();
    } else {
      std::memcpy(buffer_.data() + end_, raw_.data(), raw_end_);
      end_ += raw_end_;
      raw_.clear();
      raw_.shrink_to_fit();
      if (raw_end_ == 0) eof_ = true;
      return raw_end_ > 0;
    }
  }
  if (!zstd_) {
    size_t got = read_some(fd_, buffer_.data() + end_, buffer_.size() - end_, name_);
    end_ += got;
    if (got == 0) eof_ = true;
    return got > 0;
  }
  // zstd: decode until some output appears or the input ends.
  for (;;) {
    if (raw_begin_ == raw_end_ && !raw_eof_) {
      raw_begin_ = 0;
      raw_end_ = read_some(fd_, raw_.data(), raw_.size(), name_);
      if (raw_end_ == 0) raw_eof_ = true;
    }
    ZSTD_inBuffer in{raw_.data(), raw_end_, raw_begin_};
    ZSTD_outBuffer out{buffer_.data(), buffer_.size(), end_};
    size_t rc = ZSTD_decompressStream(zstd_->ctx, &out, &in);
    if (ZSTD_isError(rc))
      throw Error(exit_code::data, name_, std::string("zstd: ") + ZSTD_getErrorName(rc));
    bool produced = out.pos > end_;
    if (produced || in.pos > raw_begin_) zstd_->last_progress_rc = rc;
    raw_begin_ = in.pos;
    end_ = out.pos;
    if (produced) return true;
    if (raw_eof_ && raw_begin_ == raw_end_) {
      if (zstd_->last_progress_rc != 0) throw Error(exit_code::data, name_, "zstd: truncated compressed input");
      eof_ = true;
      return false;
    }
  }
}

bool LineReader::next(std::string_view* line) {
  size_t scanned = begin_;
  for (;;) {
    const char* start = buffer_.data() + begin_;
    const char* nl = static_cast<const char*>(
        std::memchr(buffer_.data() + scanned, '\n', end_ - scanned));
    if (nl) {
      size_t len = nl - start;
      if (len > max_line_bytes_) break;
      *line = std::string_view(start, len);
      line_offset_ = consumed_ + begin_;
      begin_ += len + 1;
      ++line_number_;
      return true;
    }
    if (end_ - begin_ > max_line_bytes_) break;
    size_t already_scanned = end_ - begin_;  // fill() moves the unread bytes to the front
    if (eof_ || !fill()) {
      if (begin_ == end_) return false;
      *line = std::string_view(buffer_.data() + begin_, end_ - begin_);
      line_offset_ = consumed_ + begin_;
      begin_ = end_;
      ++line_number_;
      ended_without_newline_ = true;
      return true;
    }
    scanned = begin_ + already_scanned;
  }
  ++line_number_;
  throw data_error(where(), "line longer than " + std::to_string(max_line_bytes_) + " bytes");
}

std::string read_file(const std::string& path) {
  LineReader reader(path, SIZE_MAX / 4);
  std::string out;
  std::string_view line;
  while (reader.next(&line)) {
    out.append(line);
    if (!reader.ended_without_newline()) out += '\n';
  }
  return out;
}

}  // namespace omlkit::io

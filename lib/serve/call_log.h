// The call log of `model-run serve --call-log FILE`: one `call` record per answered
// request, in the format `attribute` reads (man/omlkit-formats.5, CALL RECORDS), so that a
// node's day settles as `attribute < calls.jsonl | split-fees | ledger-append`.
//
// Each record is one write(2) of a whole line to a file opened O_APPEND, made before the
// answer is sent: a call whose line could not be written is not answered (the server
// replies 503), and a crash loses at most the line being written, which nobody received
// an answer for. Such a torn last line (bytes after the last '\n') is cut when the log
// is opened again, so the next record starts on a line of its own. reopen() starts a new
// file at the same path, for rotation (model-run serve calls it on SIGHUP).
// Thread-safe: append and reopen may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "money/amount.h"

namespace omlkit::serve {

// The price of a call: `per_token` base units of `asset` for each prompt and output token.
struct Price {
  std::string asset;
  money::u128 per_token = 0;
};
// "ASSET:AMOUNT" (e.g. "OPEN:25"). Throws Error 2 naming what was expected.
Price parse_price(const std::string& text);

struct CallFacts {
  std::string id, model, payer, node, prompt, output;
  uint64_t prompt_tokens = 0, output_tokens = 0;
  int64_t unix_millis = 0;
};
// The canonical JSON line (without '\n') of a call: {"type":"call","v":1,"id","model",
// "payer","node","fee":{"asset","amount"},"prompt","output","tokens":{"prompt","output"},
// "ts"}. The fee is per_token x (prompt + output tokens), exactly; a product of 2^128 or
// more throws Error 65.
std::string call_record_line(const CallFacts& call, const Price& price);

class CallLog {
 public:
  // Opens (creating it with mode 0600: prompts are private) for appending. Throws Error 73.
  explicit CallLog(std::string path);
  ~CallLog();
  CallLog(const CallLog&) = delete;
  CallLog& operator=(const CallLog&) = delete;

  // Writes line + '\n' in one write. Throws Error 74 when the whole line was not written.
  void append(const std::string& line);
  // Closes the file and opens the path again (a rotated file is left to whoever moved it).
  // Throws Error 73 and keeps writing to the old file when the path cannot be opened.
  void reopen();
  // Bytes of a torn last line cut by the last open (0 when the file ended cleanly).
  uint64_t cut_bytes() const { return cut_bytes_; }
  const std::string& path() const { return path_; }

 private:
  int open_and_repair();

  std::string path_;
  std::mutex lock_;
  int fd_ = -1;
  uint64_t cut_bytes_ = 0;
};

}  // namespace omlkit::serve

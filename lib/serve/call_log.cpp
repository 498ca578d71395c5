#include "serve/call_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/error.h"
#include "json/value.h"
#include "ledger/entry.h"
#include "money/account_name.h"

namespace omlkit::serve {

Price parse_price(const std::string& text) {
  size_t colon = text.rfind(':');
  std::string expected = "--price: expected ASSET:AMOUNT (base units per token, e.g. OPEN:25), found \"" + text + "\"";
  if (colon == std::string::npos || colon == 0) throw Error(exit_code::usage, "", expected);
  Price price;
  price.asset = text.substr(0, colon);
  std::optional<money::u128> amount = money::parse_amount(text.substr(colon + 1));
  if (!amount || price.asset.size() > 32) throw Error(exit_code::usage, "", expected);
  price.per_token = *amount;
  return price;
}

std::string call_record_line(const CallFacts& call, const Price& price) {
  using json::Value;
  const money::u128 tokens = money::u128(call.prompt_tokens) + call.output_tokens;
  if (tokens != 0 && price.per_token > money::u128_max / tokens)
    throw data_error(call.id, "fee: " + money::to_string(price.per_token) + " x " + money::to_string(tokens) +
                                  " tokens is 2^128 or more");
  Value record = Value::object();
  record.set("type", Value::string("call"));
  record.set("v", Value::integer(1));
  record.set("id", Value::string(call.id));
  record.set("model", Value::string(call.model));
  record.set("payer", Value::string(call.payer));
  record.set("node", Value::string(call.node));
  Value& fee = record.set("fee", Value::object());
  fee.set("asset", Value::string(price.asset));
  fee.set("amount", Value::string(money::to_string(price.per_token * tokens)));
  record.set("prompt", Value::string(call.prompt));
  record.set("output", Value::string(call.output));
  Value& counts = record.set("tokens", Value::object());
  counts.set("prompt", Value::integer(int64_t(call.prompt_tokens)));
  counts.set("output", Value::integer(int64_t(call.output_tokens)));
  record.set("ts", Value::string(ledger::format_timestamp(call.unix_millis)));
  return json::canonical(record);
}

CallLog::CallLog(std::string path) : path_(std::move(path)) { fd_ = open_and_repair(); }

CallLog::~CallLog() {
  if (fd_ >= 0) ::close(fd_);
}

int CallLog::open_and_repair() {
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(exit_code::cannot_create, path_, std::string("cannot open the call log: ") + std::strerror(errno));
  // A torn last line: find the last '\n' (reading back from the end) and cut after it.
  struct stat st;
  cut_bytes_ = 0;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    int reader = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    off_t end = st.st_size, keep = 0;
    char buffer[4096];
    while (reader >= 0 && end > 0) {
      off_t start = end > off_t(sizeof buffer) ? end - off_t(sizeof buffer) : 0;
      ssize_t n = ::pread(reader, buffer, size_t(end - start), start);
      if (n != end - start) break;
      const void* newline = memrchr(buffer, '\n', size_t(n));
      if (newline) {
        keep = start + (static_cast<const char*>(newline) - buffer) + 1;
        break;
      }
      end = start;
    }
    if (reader >= 0) ::close(reader);
    if (keep < st.st_size) {
      if (::ftruncate(fd, keep) != 0) {
        int e = errno;
        ::close(fd);
        throw Error(exit_code::cannot_create, path_, std::string("cannot cut the torn last line: ") + std::strerror(e));
      }
      cut_bytes_ = uint64_t(st.st_size - keep);
    }
  }
  return fd;
}

void CallLog::append(const std::string& line) {
  std::string bytes = line + "\n";
  std::lock_guard<std::mutex> hold(lock_);
  ssize_t n = ::write(fd_, bytes.data(), bytes.size());
  if (n != ssize_t(bytes.size())) {
    int e = n < 0 ? errno : ENOSPC;
    // A partial line would be torn: cut it now, so the log stays whole.
    if (n > 0) {
      struct stat st;
      if (::fstat(fd_, &st) == 0) (void)!::ftruncate(fd_, st.st_size - n);
    }
    throw Error(exit_code::io, path_, std::string("cannot write to the call log: ") + std::strerror(e));
  }
}

void CallLog::reopen() {
  int fd = open_and_repair();
  std::lock_guard<std::mutex> hold(lock_);
  ::close(fd_);
  fd_ = fd;
}

}  // namespace omlkit::serve

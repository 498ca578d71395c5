// libFuzzer target: ledger files, as ledger-verify reads them, then line by line again
// with the hash chain repaired.
//
// 1. The input as a ledger file through ledger::verify_ledger (line reader, zstd, canonical
//    form, chain, checkpoints and their signed notes, accounting). Seeds are ledgers
//    signed by the genesis key they carry, so mutations of the last lines reach deep.
// 2. A mutated line almost never carries the right "prev" hash, so the same lines go
//    through ledger::Replay with "prev" and a checkpoint's "root" overwritten with the
//    expected values (signatures unchecked): every line reaches the accounting.
// Only omlkit::Error may escape the library; anything else is a finding.
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/merkle.h"
#include "crypto/sha256.h"
#include "fuzz_support.h"
#include "io/error.h"
#include "ledger/replay.h"
#include "ledger/verify.h"

using namespace omlkit;

// Overwrites the `width` bytes after `key` (a member like "prev":") when they are there.
static void patch(std::string& line, std::string_view key, const std::string& value) {
  size_t at = line.find(key);
  if (at == std::string::npos) return;
  at += key.size();
  if (line.size() < at + value.size() + 1 || line[at + value.size()] != '"') return;
  line.replace(at, value.size(), value);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz::scratch_file(data, size);
  try {
    ledger::VerifyOptions options;
    options.keep_balances = true;
    options.max_line_bytes = 1 << 20;
    ledger::VerifyReport report = ledger::verify_ledger(path, options);
    if (report.exit_code == 0 && !report.where.empty()) __builtin_trap();
  } catch (const Error&) {
  }

  ledger::Replay replay;
  replay.check_signatures(false);
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string line;
  uint64_t number = 0;
  for (size_t start = 0; start < input.size();) {
    size_t nl = input.find('\n', start);
    if (nl == std::string_view::npos) nl = input.size();
    line.assign(input.substr(start, nl - start));
    start = nl + 1;
    patch(line, "\"prev\":\"", crypto::to_hex(replay.last_leaf()));
    crypto::Hash root = replay.root();
    patch(line, "\"root\":\"",
          crypto::base64_encode(std::string_view(reinterpret_cast<const char*>(root.data()), root.size())));
    try {
      replay.apply(line, "fuzz:" + std::to_string(++number));
    } catch (const Error&) {
      break;  // as ledger-verify stops at the first bad line
    }
  }
  return 0;
}

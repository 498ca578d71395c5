// split-fees as a library: a stream of attribution (and evaluation) records in, ledger
// entries out. The tool's main parses flags and hands its inputs to a FeeStream.
//
// Each record either writes all of its output or none: a bad record writes nothing. By
// default the first bad record throws (and the settlement in progress is dropped); with
// keep_going each bad record is passed to on_bad_record, skipped, and counted.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "fees/attribution.h"
#include "fees/fee_split.h"
#include "fees/policy.h"
#include "fees/settlement.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "io/output.h"

namespace omlkit::fees {

struct StreamOptions {
  bool settle = false;            // one batch entry instead of one entry per call
  uint64_t window = 0;            // with settle: a batch every `window` calls (0 = one for all input)
  bool keep_going = false;        // skip and report bad records instead of stopping
  bool pass_through = false;      // copy records of other types unchanged instead of refusing them
  bool with_evaluations = false;  // write each evaluation's ledger entry before its reward
};

class FeeStream {
 public:
  FeeStream(const Policy& policy, StreamOptions options, io::Output& out);

  // Processes every line of input.
  void process(io::LineReader& input);
  // Writes the settlement still open (settle mode) and flushes the output.
  void finish();

  uint64_t bad_records() const { return bad_records_; }
  std::function<void(const Error&)> on_bad_record;  // keep_going only

 private:
  void process_line(std::string_view line, const std::string& where);

  const Policy& policy_;
  StreamOptions options_;
  io::Output& out_;
  Attribution call_;
  FeeSplit split_;
  Settlement settlement_;
  uint64_t bad_records_ = 0;
};

}  // namespace omlkit::fees

// `attribute`: call records in, attribution records out (DESIGN.md), one per call, in
// input order, as RFC 8785 canonical JSON lines.
//
//   {"type":"call","id":"c-17","model":"m-chat","payer":"acct:bob","node":"acct:node-7",
//    "fee":{"asset":"OPEN","amount":"1000000"},"prompt":"...","output":"..."}
//   -> {"type":"attribution","call":"c-17","payer":...,"node":...,"fee":...,"model":"m-chat",
//       "lineage":[{"model":"m-chat","owner":"acct:carol"},{"model":"m-base","owner":"acct:alice"}],
//       "data":[{"contributor":"acct:dave","weight":"37000000"}],
//       "coverage":{"tokens":200,"covered":37}}
//
// Data weights follow attribution/credit.h; contributors with weight 0 are left out and
// "data" is [] when nothing matched. Other fields of the call (not prompt or output) are
// carried over. With explain, "spans" lists every maximal span: token offsets, count,
// whether it was common, its text, and the ids of the records it came from.
// Calls are attributed on `threads` threads; the output order is the input order.
#pragma once

#include <cstdint>
#include <string>

#include "attribution/datanet.h"
#include "attribution/lineage.h"
#include "attribution/span_matcher.h"
#include "io/line_reader.h"
#include "io/output.h"
#include "json/value.h"

namespace omlkit::attribution {

struct AttributeOptions {
  MatchOptions match;
  size_t max_tokens = 4096;    // a longer output is an error
  bool explain = false;
  size_t explain_records = 10; // record ids listed per span
  bool pass_through = false;   // copy records of other types instead of refusing them
  unsigned threads = 1;
};

class CallAttributor {
 public:
  CallAttributor(const Datanet& datanet, const ModelRegistry& registry, const AttributeOptions& options);

  // Attributes every call of input, writing to out. At the first bad record (not JSON,
  // not a call, a missing or malformed field, an unregistered model, an output longer
  // than max_tokens) throws data_error("file:line", ...) after writing the records before it.
  void process(io::LineReader& input, io::Output& out);

  // One call record (already parsed) to its attribution record.
  json::Value attribute(const json::Value& call, const std::string& where) const;

  uint64_t calls() const { return calls_; }
  uint64_t output_tokens() const { return output_tokens_; }

 private:
  const Datanet& datanet_;
  const ModelRegistry& registry_;
  AttributeOptions options_;
  uint64_t calls_ = 0, output_tokens_ = 0;
};

}  // namespace omlkit::attribution

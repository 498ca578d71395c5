#include "fees/fee_stream.h"

#include "fees/entry_writer.h"
#include "fees/rewards.h"
#include "json/value.h"

namespace omlkit::fees {

FeeStream::FeeStream(const Policy& policy, StreamOptions options, io::Output& out)
    : policy_(policy), options_(options), out_(out) {}

void FeeStream::process_line(std::string_view line, const std::string& where) {
  json::Value record = json::parse(line, where);
  const json::Value* type = record.is_object() ? record.find("type") : nullptr;
  if (!type || !type->is_string())
    throw data_error(where, "type: expected a record with a \"type\" string");
  std::string& out = out_.buffer();
  if (type->text() == "attribution") {
    read_attribution(record, policy_, where, call_);
    split_.compute(policy_, call_, where);
    if (!options_.settle) {
      write_fee_entry(call_, split_, out);
    } else {
      if (!settlement_.fits(call_)) settlement_.write(out);
      settlement_.add(call_, split_, where);
      if (options_.window && settlement_.call_count() == options_.window) settlement_.write(out);
    }
  } else if (type->text() == "evaluation") {
    write_reward(record, policy_, where, options_.with_evaluations, out);
  } else if (options_.pass_through) {
    out.append(line);
    out += '\n';
  } else {
    throw data_error(where, "type: split-fees reads attribution and evaluation records, found \"" + type->text() +
                                "\" (--pass-through copies other records)");
  }
  out_.maybe_flush();
}

void FeeStream::process(io::LineReader& input) {
  std::string_view line;
  std::string where;
  while (input.next(&line)) {
    if (line.empty()) continue;  // a blank line is no record
    where = input.where();
    try {
      process_line(line, where);
    } catch (const Error& e) {
      if (!options_.keep_going || e.code() != exit_code::data) throw;
      ++bad_records_;
      if (on_bad_record) on_bad_record(e);
    }
  }
}

void FeeStream::finish() {
  if (options_.settle) settlement_.write(out_.buffer());
  out_.flush();
}

}  // namespace omlkit::fees

// split-fees: attribution records in, inference.fee (and reward) ledger entries out.
// See man/split-fees.1; the work is done by lib/fees.
#include <unistd.h>

#include <string>
#include <vector>

#include "common/tool.h"
#include "fees/fee_stream.h"
#include "fees/policy.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "io/output.h"

using namespace omlkit;

int main(int argc, char** argv) {
  CLI::App app{"Split each inference call's fee exactly among everyone the policy pays", "split-fees"};
  tool::add_standard_flags(app);
  std::string policy_path;
  std::vector<std::string> inputs;
  fees::StreamOptions options;
  app.add_option("-p,--policy", policy_path, "Fee policy (JSON; see split-fees(1))")->required();
  app.add_flag("--settle", options.settle, "Write one batch entry with per-account totals instead of one per call");
  app.add_option("--window", options.window, "With --settle: one batch entry every N calls")
      ->check(CLI::PositiveNumber);
  app.add_flag("--keep-going", options.keep_going, "Skip bad records (each reported), exit 65 at the end");
  app.add_flag("--pass-through", options.pass_through, "Copy records of other types unchanged");
  app.add_flag("--with-evaluations", options.with_evaluations,
               "Write each evaluation's ledger entry before its reward");
  app.add_option("inputs", inputs, "Attribution/evaluation JSON lines (- = stdin, *.zst decompressed)");

  return tool::run(app, argc, argv, [&] {
    if (options.window && !options.settle) throw Error(exit_code::usage, "", "--window needs --settle");
    fees::Policy policy = fees::parse_policy(io::read_file(policy_path), policy_path);
    if (inputs.empty()) inputs.push_back("-");
    io::Output out(STDOUT_FILENO);
    fees::FeeStream stream(policy, options, out);
    stream.on_bad_record = [](const Error& e) { tool::error(e.where(), e.what()); };
    for (const std::string& input : inputs) {
      io::LineReader reader(input, tool::max_line_bytes());
      stream.process(reader);
    }
    stream.finish();
    if (stream.bad_records() == 0) return exit_code::ok;
    tool::error("", std::to_string(stream.bad_records()) + " bad record(s) skipped");
    return exit_code::data;
  });
}

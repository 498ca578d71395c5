// attribute: who made an answer possible. `attribute index` builds a datanet index from
// contribution records; `attribute` turns call records into attribution records for
// split-fees. See man/attribute.1; the work is done by lib/attribution.
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "attribution/call_stream.h"
#include "attribution/datanet.h"
#include "attribution/index_builder.h"
#include "attribution/lineage.h"
#include "common/tool.h"
#include "io/error.h"
#include "io/output.h"
#include "json/value.h"
#include "ledger/trust.h"

using namespace omlkit;

int main(int argc, char** argv) {
  CLI::App app{"Attribute inference calls to the data contributors whose records the output copies (suffix-array "
               "span matching) and to the models of its lineage (ledger model registry)", "attribute"};
  tool::add_standard_flags(app);
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());

  std::vector<std::string> index_paths, inputs;
  std::string ledger_path, trust_path, tokenizer_path;
  attribution::AttributeOptions options;
  app.add_option("--index", index_paths, "Index file or directory of shards (repeat to query several together)");
  app.add_option("--ledger", ledger_path, "Ledger whose model.register entries give each model's lineage");
  app.add_option("--trust", trust_path, "Trust file: the keys whose checkpoints the ledger is read under");
  app.add_option("--tokenizer", tokenizer_path, "Refuse the index unless it was built from this tokenizer.json");
  app.add_option("--min-span", options.match.min_span, "Shortest matched span credited, in tokens")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-count", options.match.max_count,
                 "A span found more often than this is common: reported, not credited")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-tokens", options.max_tokens, "Refuse a call whose output has more tokens")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_flag("--explain", options.explain, "Add the matched spans and the records they came from");
  app.add_option("--explain-records", options.explain_records, "With --explain: record ids listed per span")
      ->capture_default_str();
  app.add_flag("--pass-through", options.pass_through, "Copy records of other types unchanged");
  app.add_option("-j,--threads", threads, "Worker threads")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("inputs", inputs, "Call JSON lines (- = stdin, *.zst decompressed)");

  CLI::App* index = app.add_subcommand("index", "Build a datanet index from contribution records");
  std::string out_path;
  std::vector<std::string> contributions;
  attribution::BuildOptions build;
  index->add_option("--tokenizer", tokenizer_path, "tokenizer.json used for the texts (kept in the index)")
      ->required();
  index->add_option("-o,--out", out_path, "Index file to write (a directory of shards with --shard-tokens)")
      ->required();
  index->add_option("--shard-tokens", build.shard_tokens, "Write shards of at most N tokens into the --out directory")
      ->check(CLI::PositiveNumber);
  index->add_option("-j,--threads", threads, "Tokenizer threads")->capture_default_str()->check(CLI::PositiveNumber);
  index->add_option("inputs", contributions, "Contribution JSON lines (- = stdin, *.zst decompressed)");

  return tool::run(app, argc, argv, [&] {
    io::Output out(STDOUT_FILENO);
    if (*index) {
      if (contributions.empty()) contributions.push_back("-");
      build.threads = threads;
      build.max_line_bytes = tool::max_line_bytes();
      if (tool::stderr_is_terminal())
        build.on_progress = [](uint64_t records, uint64_t bytes) {
          std::fprintf(stderr, "\rattribute: %llu records, %.1f MB", (unsigned long long)records, bytes / 1e6);
        };
      attribution::BuildReport report = attribution::build_index(contributions, tokenizer_path, out_path, build);
      if (build.on_progress) std::fputc('\n', stderr);
      json::Value summary = json::Value::object();
      summary.set("type", json::Value::string("index"));
      json::Value& files = summary.set("files", json::Value::array());
      for (const std::string& f : report.files) files.push_back(json::Value::string(f));
      summary.set("records", json::Value::integer(int64_t(report.records)));
      summary.set("tokens", json::Value::integer(int64_t(report.tokens)));
      summary.set("text_bytes", json::Value::integer(int64_t(report.text_bytes)));
      summary.set("index_bytes", json::Value::integer(int64_t(report.index_bytes)));
      out.line(json::canonical(summary));
      out.flush();
      return exit_code::ok;
    }
    if (index_paths.empty() || ledger_path.empty())
      throw Error(exit_code::usage, "", "attributing calls needs --index and --ledger (see --help)");
    attribution::Datanet datanet = attribution::Datanet::open(index_paths, tokenizer_path);
    ledger::TrustFile trust;
    if (!trust_path.empty()) trust = ledger::load_trust_file(trust_path);
    else tool::warn(ledger_path, "no --trust file: checkpoint signatures are checked against the genesis key only");
    attribution::ModelRegistry registry =
        attribution::ModelRegistry::from_ledger(ledger_path, trust_path.empty() ? nullptr : &trust);
    options.threads = threads;
    attribution::CallAttributor attributor(datanet, registry, options);
    if (inputs.empty()) inputs.push_back("-");
    for (const std::string& input : inputs) {
      io::LineReader reader(input, tool::max_line_bytes());
      attributor.process(reader, out);
    }
    out.flush();
    return exit_code::ok;
  });
}

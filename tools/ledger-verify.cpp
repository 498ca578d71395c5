// ledger-verify: audit a ledger offline (chain, canonical form, checkpoints, signatures,
// accounting) and print proofs.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/error.h"
#include "io/line_reader.h"
#include "io/output.h"
#include "ledger/id_digest_set.h"
#include "ledger/verify.h"
#include "report/report.h"
#include "tool.h"

using namespace omlkit;

int main(int argc, char** argv) {
  CLI::App app{"Audit a ledger offline in one streaming pass: framing, canonical JSON, hash chain, Merkle "
               "checkpoints and signatures, then the accounting replay.", "ledger-verify"};
  tool::add_standard_flags(app);
  std::string path, trust_path, trusted_path, check_proof_path;
  bool as_json = false, balances = false;
  uint64_t prove = 0;
  app.add_option("ledger", path, "Ledger file (.zst ok)")->required();
  app.add_option("--trust", trust_path, "Trust file: keys and the entry types each may sign");
  app.add_flag("--json", as_json, "Print the report as one JSON line");
  app.add_flag("--balances", balances, "Print final balances as JSON lines");
  CLI::Option* prove_option =
      app.add_option("--prove", prove, "Print an inclusion proof for entry SEQ against the last checkpoint")
          ->check(CLI::NonNegativeNumber);
  app.add_option("--check-proof", check_proof_path, "Check an inclusion proof made by --prove against this ledger");
  app.add_option("--trusted", trusted_path, "A checkpoint kept earlier: fail unless this ledger extends it");
  std::string receipts_path;
  app.add_option("--receipts", receipts_path, "Receipts printed by ledger-append: fail unless each is in the ledger");
  std::string report_path;
  app.add_option("--report", report_path, "Also write a self-contained HTML audit report to FILE");
  std::string memory_text, spill_dir;
  app.add_option("--memory", memory_text,
                 "Memory for ids and balances (e.g. 512M, 2G); past it the id digests spill to disk");
  app.add_option("--spill-dir", spill_dir, "Directory for spilled id digests (default: $TMPDIR or /tmp)");

  return tool::run(app, argc, argv, [&] {
    ledger::TrustFile trust;
    ledger::VerifyOptions options;
    std::vector<crypto::NoteVerifier> verifiers;
    if (!trust_path.empty()) {
      trust = ledger::load_trust_file(trust_path);
      options.trust = &trust;
      for (const auto& k : trust.keys) verifiers.push_back(k.verifier);
    } else if (!trusted_path.empty()) {
      throw Error(exit_code::usage, "", "--trusted needs --trust: the keys that signed the kept checkpoint");
    }
    if (!trusted_path.empty()) options.trusted = ledger::load_trusted_head(trusted_path, verifiers);
    if (prove_option->count()) options.prove_seq = prove;
    options.keep_leaves = !receipts_path.empty();
    options.max_line_bytes = tool::max_line_bytes();
    if (!memory_text.empty()) {
      auto size = ledger::parse_memory_size(memory_text);
      if (!size || *size < 1024)
        throw Error(exit_code::usage, "",
                    "--memory: expected a size of at least 1K and at most 1024T, such as 512M or 2G, found \"" +
                        memory_text + "\"");
      options.memory_budget = *size;
    }
    if (spill_dir.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      spill_dir = tmp && *tmp ? tmp : "/tmp";
    }
    struct stat st;
    if (options.memory_budget && (::stat(spill_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
                                  ::access(spill_dir.c_str(), W_OK | X_OK) != 0))
      throw Error(exit_code::cannot_create, spill_dir, "--spill-dir: expected a directory this user can write to");
    options.spill_dir = spill_dir;
    report::LedgerDigest digest(verifiers);
    if (!report_path.empty()) options.on_entry = digest.observer();
    options.keep_balances = balances || !report_path.empty();
    if (tool::stderr_is_terminal())
      options.progress = [](uint64_t n) { std::fprintf(stderr, "\rledger-verify: %llu entries", (unsigned long long)n); };
    if (trust_path.empty() && !as_json)
      tool::warn(path, "no --trust file: checkpoint signatures are checked against the genesis key only");

    io::Output out(1);
    ledger::VerifyReport report;
    uint64_t receipts_checked = 0;
    try {
      report = ledger::verify_ledger(path, options);
    } catch (const Error& e) {
      // --json prints its verdict whatever happened, a ledger that cannot be read included.
      if (!as_json) throw;
      report.exit_code = e.code();
      report.where = e.where();
      report.message = e.what();
    }
    if (options.progress && report.entries >= 0x10000) std::fputc('\n', stderr);

    bool checked = report.exit_code == exit_code::ok || report.exit_code == exit_code::torn_tail;
    if (!receipts_path.empty() && checked)
      receipts_checked = ledger::check_receipts(receipts_path, tool::max_line_bytes(), report);
    if (!check_proof_path.empty() && checked && report.exit_code != exit_code::check_failed)
      ledger::check_proof_file(check_proof_path, report);
    if (!report_path.empty()) {
      std::vector<std::string> keys;
      for (const auto& k : verifiers) keys.push_back(k.name);
      report::write_report(report_path, {path, std::string("ledger-verify ") + tool::version, trust_path, keys,
                                         options.trusted ? &*options.trusted : nullptr}, report, digest);
      if (!balances) report.balances.clear();
    }
    if (as_json) {
      json::Value v = json::Value::object();
      v.set("type", json::Value::string("verify"));
      v.set("ok", json::Value::boolean(report.exit_code == 0));
      v.set("exit", json::Value::integer(report.exit_code));
      v.set("entries", json::Value::integer(static_cast<int64_t>(report.entries)));
      v.set("checkpoints", json::Value::integer(static_cast<int64_t>(report.checkpoints.size())));
      v.set("root", json::Value::string(crypto::to_hex(report.root)));
      if (!report.checkpoints.empty()) {
        v.set("signed_size", json::Value::integer(static_cast<int64_t>(report.checkpoints.back().size)));
        v.set("signed_root", json::Value::string(crypto::to_hex(report.checkpoints.back().root)));
      }
      if (report.entries) {
        // The process's peak resident memory (getrusage), and that per entry checked: what an
        // audit of a ledger this size needs.
        struct rusage usage;
        ::getrusage(RUSAGE_SELF, &usage);
        int64_t peak = static_cast<int64_t>(usage.ru_maxrss) * 1024;
        v.set("peak_rss_bytes", json::Value::integer(peak));
        v.set("peak_rss_per_entry", json::Value::integer(peak / static_cast<int64_t>(report.entries)));
        // What the ids and balances took: the part --memory bounds, and what went to disk.
        json::Value memory = json::Value::object();
        memory.set("budget", json::Value::integer(static_cast<int64_t>(options.memory_budget)));
        memory.set("id_table_peak_bytes", json::Value::integer(static_cast<int64_t>(report.id_table_peak_bytes)));
        memory.set("balance_table_bytes", json::Value::integer(static_cast<int64_t>(report.balance_table_bytes)));
        memory.set("ids_spilled", json::Value::integer(static_cast<int64_t>(report.ids_spilled)));
        memory.set("spill_runs", json::Value::integer(static_cast<int64_t>(report.spill_runs)));
        v.set("memory", std::move(memory));
      }

      if (report.exit_code) {
        v.set("where", json::Value::string(report.where));
        v.set("error", json::Value::string(report.message));
      }
      if (!receipts_path.empty()) v.set("receipts", json::Value::integer(static_cast<int64_t>(receipts_checked)));
      out.line(json::canonical(v));
    }
    if (report.exit_code && !as_json) tool::error(report.where, report.message);
    if (report.exit_code != exit_code::ok && report.exit_code != exit_code::torn_tail) {
      out.flush();
      return report.exit_code;
    }

    if (report.proof) out.line(json::canonical(ledger::inclusion_proof_json(*report.proof)));
    if (options.trusted) {
      json::Value c = json::Value::object();
      c.set("type", json::Value::string("consistency"));
      c.set("old_size", json::Value::integer(static_cast<int64_t>(options.trusted->size)));
      c.set("new_size", json::Value::integer(static_cast<int64_t>(report.checkpoints.back().size)));
      json::Value path_json = json::Value::array();
      for (const auto& h : report.consistency) path_json.push_back(json::Value::string(crypto::to_hex(h)));
      c.set("path", std::move(path_json));
      if (!as_json) out.line(json::canonical(c));
    }
    for (const auto& b : report.balances) {
      json::Value v = json::Value::object();
      v.set("type", json::Value::string("balance"));
      v.set("account", json::Value::string(b.account));
      v.set("asset", json::Value::string(b.asset));
      v.set("balance", json::Value::string(money::to_string(b.amount)));
      out.line(json::canonical(v));
    }
    out.flush();  // lost output is an error (exit 74), not a pass
    // The human summary goes to stderr: stdout carries only JSON lines.
    if (!as_json && !report.proof && report.balances.empty() && report.exit_code == 0 && !options.trusted) {
      const auto& last = report.checkpoints.back();
      std::string summary = "ok: " + std::to_string(report.entries) + " entries, " +
                            std::to_string(report.checkpoints.size()) + " checkpoints, signed tree size " +
                            std::to_string(last.size) + " root " + crypto::to_hex(last.root);
      if (!receipts_path.empty()) summary += ", " + std::to_string(receipts_checked) + " receipts checked";
      tool::note(summary);
    }
    return report.exit_code;
  });
}

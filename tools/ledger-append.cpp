// ledger-append: append entries to a hash-chained, signed ledger, all or nothing.
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "io/error.h"
#include "io/line_reader.h"
#include "io/output.h"
#include "ledger/append.h"
#include "tool.h"

using namespace omlkit;

int main(int argc, char** argv) {
  CLI::App app{"Append JSON-lines entries ({\"type\":...,\"body\":{...}}) to a signed, hash-chained ledger "
               "as one all-or-nothing batch ending in a signed checkpoint.", "ledger-append"};
  tool::add_standard_flags(app);
  ledger::AppendOptions options;
  std::string key_path, key_pass, trust_path;
  std::vector<std::string> inputs;
  bool print_key = false;
  int64_t fixed_time = 0;
  double lock_timeout = 30;
  app.add_option("--ledger", options.ledger_path, "Ledger file (created with a genesis entry when absent)");
  app.add_option("--key", key_path, "Ed25519 private key (PEM, from: openssl genpkey -algorithm ed25519)")->required();
  app.add_option("--key-pass", key_pass,
                 "Passphrase of an encrypted key: file:PATH (its first line) or env:VAR; never read from stdin");
  app.add_option("--key-name", options.key_name, "Name in the checkpoint signature (default: the ledger's origin)");
  app.add_option("--origin", options.origin, "Origin of a new ledger (default: omlkit-ledger)");
  app.add_flag("--declare-accounts", options.declare_accounts, "New ledger: every account must be opened first");
  app.add_option("--trust", trust_path, "Trust file: keys allowed to sign (default: the genesis key)");
  app.add_flag("--repair", options.repair, "Cut a torn tail (an interrupted append) before appending");
  app.add_option("--batch-size", options.batch_size,
                 "Commit every N entries as their own batch (default 0: the whole input, all or nothing)");
  app.add_option("--lock-timeout", lock_timeout, "Seconds to wait for the ledger lock (exit 75 after)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            double seconds = 0;
            try {
              size_t used = 0;
              seconds = std::stod(text, &used);
              if (used != text.size()) return "expected a number of seconds, found " + text;
            } catch (const std::exception&) {
              return "expected a number of seconds, found " + text;
            }
            // NaN fails both comparisons; the cap keeps the milliseconds in an int.
            if (!(seconds >= 0 && seconds <= 1e6)) return "expected seconds in [0, 1000000], found " + text;
            return "";
          },
          "SECONDS", "lock timeout"));
  bool no_cache = false;
  app.add_flag("--no-state-cache", no_cache,
               "Neither read nor write the state cache LEDGER.state: replay the whole ledger (slow; for comparison)");
  app.add_flag("--print-key", print_key, "Print the verifier key (for trust files) and exit");
  CLI::Option* timestamp_option =
      app.add_option("--timestamp", fixed_time, "Use this Unix time in milliseconds instead of the clock (tests)")
          ->check(CLI::Range(int64_t(0), int64_t(253402300799999)));  // up to 9999-12-31T23:59:59.999Z
  app.add_option("inputs", inputs, "Entry files (JSON lines, .zst ok; - or none: stdin)");

  return tool::run(app, argc, argv, [&] {
    crypto::SigningKey key = crypto::SigningKey::load_pem(key_path, key_pass);
    if (std::optional<unsigned> mode = crypto::key_file_exposed(key_path))
      tool::warn(key_path, "private key is readable by others (mode " + crypto::mode_string(*mode) +
                               "); chmod 600 it");
    options.key = &key;
    options.key_path = key_path;
    if (print_key) {
      std::string name = !options.key_name.empty() ? options.key_name
                         : !options.origin.empty() ? options.origin : "omlkit-ledger";
      std::printf("%s\n", crypto::verifier_key_string(crypto::make_verifier(name, key.public_key())).c_str());
      return 0;
    }
    if (options.ledger_path.empty()) throw Error(exit_code::usage, "", "--ledger is required (see --help)");
    ledger::TrustFile trust;
    if (!trust_path.empty()) {
      trust = ledger::load_trust_file(trust_path);
      options.trust = &trust;
    }
    options.lock_timeout_ms = static_cast<int>(lock_timeout * 1000);
    if (timestamp_option->count()) options.now_millis = fixed_time;
    options.use_cache = !no_cache;
    options.warn = [](const std::string& where, const std::string& message) { tool::warn(where, message); };
    // Crash tests: OMLKIT_TEST_KILL_AT=ledger-synced|cache-written kills the process with
    // SIGKILL at that step of the first commit, as a power cut or kill -9 would.
    if (const char* step = std::getenv("OMLKIT_TEST_KILL_AT"))
      options.on_step = [kill_at = std::string(step)](std::string_view at) {
        if (at == kill_at) ::raise(SIGKILL);
      };

    // Entries stream in under the lock: each is checked as it is read, and nothing is
    // written until its batch is complete.
    if (inputs.empty()) inputs.push_back("-");
    size_t input = 0;
    std::unique_ptr<io::LineReader> reader;
    auto next = [&](ledger::Submitted* entry) {
      std::string_view line;
      for (;;) {
        if (!reader) {
          if (input == inputs.size()) return false;
          reader = std::make_unique<io::LineReader>(inputs[input++], tool::max_line_bytes());
        }
        if (!reader->next(&line)) {
          reader.reset();
          continue;
        }
        if (line.empty()) continue;
        *entry = ledger::parse_submitted(line, reader->where());
        return true;
      }
    };
    io::Output out(1);
    auto print_receipts = [&](const std::vector<ledger::Receipt>& receipts, const ledger::Checkpoint& checkpoint) {
      for (const ledger::Receipt& r : receipts) {
        json::Value receipt = json::Value::object();
        receipt.set("type", json::Value::string(r.type == "checkpoint" ? "checkpoint" : "receipt"));
        receipt.set("seq", json::Value::integer(static_cast<int64_t>(r.seq)));
        receipt.set("entry", json::Value::string(r.type));
        receipt.set("leaf", json::Value::string(crypto::to_hex(r.leaf)));
        if (r.type == "checkpoint") {
          receipt.set("size", json::Value::integer(static_cast<int64_t>(checkpoint.size)));
          receipt.set("root", json::Value::string(crypto::to_hex(checkpoint.root)));
          receipt.set("note", json::Value::string(checkpoint.note));
        }
        json::write_canonical(receipt, out.buffer());
        out.buffer() += '\n';
        out.maybe_flush();
      }
      out.flush();
    };
    ledger::AppendResult result = ledger::append_entries(options, next, print_receipts);
    if (result.repaired_bytes)
      tool::warn(options.ledger_path, "cut a torn tail of " + std::to_string(result.repaired_bytes) + " bytes");
    return 0;
  });
}

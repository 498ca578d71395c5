// Appending a batch to a ledger file, all or nothing, safe with concurrent appenders.
//
// Protocol (notes/ledger-rules.md 12): open O_APPEND; flock(LOCK_EX) with a bounded wait;
// replay the whole file (so a corrupt line is refused, never cut); refuse a torn tail
// (bytes after the last '\n', or complete lines after the last checkpoint: the rest of an
// interrupted batch) unless repairing, in which case cut back to the last checkpoint;
// validate every new entry by replaying it; sign a checkpoint over the new tree; one
// write; fdatasync; only then return the receipts.
//
// Refused, changing nothing: a zstd-compressed ledger (a read-only archive), --repair of a
// ledger with no checkpoint at all (cutting it would start a different ledger), an origin
// other than the existing ledger's, and a signing key that the trust file (or, without
// one, the genesis entry) does not name. A failed write or fdatasync cuts the file back to
// its size before the batch; a failed first append removes the file it created.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/ed25519.h"
#include "io/file_ops.h"
#include "json/value.h"
#include "ledger/replay.h"
#include "ledger/trust.h"

namespace omlkit::ledger {

struct AppendOptions {
  std::string ledger_path;
  const crypto::SigningKey* key = nullptr;
  std::string key_path;       // where the key came from, for messages
  std::string key_name;       // signature line name; default: the ledger's origin
  std::string origin;         // for a new ledger's genesis; default "omlkit-ledger"
  bool declare_accounts = false;  // new ledger: accounts must be opened before use
  bool repair = false;        // cut a torn tail / unsigned tail before appending
  const TrustFile* trust = nullptr;
  int lock_timeout_ms = 30000;
  std::optional<int64_t> now_millis;  // fixed clock (tests, reproducible examples)
  // Entries per batch; 0 = the whole input is one batch (all or nothing). With N, each
  // run of N entries is its own all-or-nothing batch, committed before the next is read.
  size_t batch_size = 0;
  // The writes, fdatasyncs and truncations of the ledger file (tests swap it).
  io::FileOps* file_ops = nullptr;  // null: POSIX
  // Keep the state cache beside the ledger (ledger/state_cache.h): resume from it, update it
  // after each batch. Off: replay the whole file, as before the cache.
  bool use_cache = true;
  // Told when the cache is missing, stale or damaged (and rebuilt), or cannot be written.
  std::function<void(const std::string& where, const std::string& message)> warn;
  // Called at each step of a commit: "ledger-synced", then "cache-written" (crash tests).
  std::function<void(std::string_view step)> on_step;
};

// One entry to append: {"type": T, "body": {...}} and where it came from.
struct Submitted {
  std::string where;
  std::string type;
  json::Value body;
};

struct Receipt {
  uint64_t seq;
  std::string type;
  crypto::Hash leaf;
};

struct AppendResult {
  bool created = false;
  uint64_t repaired_bytes = 0;   // bytes cut by --repair
  size_t batches = 0;            // batches committed
  Checkpoint checkpoint;         // the last one written
  std::vector<Receipt> receipts; // append_batch only: every line written, checkpoints included
};

// Yields the next entry to append; false at the end of the input.
using EntrySource = std::function<bool(Submitted*)>;
// Called once each batch is durable, with its receipts (the checkpoint's last).
using OnCommit = std::function<void(const std::vector<Receipt>&, const Checkpoint&)>;

// Reads one submitted entry from a JSON line. Throws data_error(where) when malformed.
Submitted parse_submitted(std::string_view line, const std::string& where);

// Streams entries into the ledger; memory holds one batch's output lines.
AppendResult append_entries(const AppendOptions& options, const EntrySource& next, const OnCommit& on_commit);
// All entries as one batch (or options.batch_size batches); the receipts are returned.
AppendResult append_batch(const AppendOptions& options, const std::vector<Submitted>& entries);

}  // namespace omlkit::ledger

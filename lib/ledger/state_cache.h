// The state cache beside a ledger: what ledger-append would otherwise rebuild by replaying
// the whole file before every batch. PATH.state (an LMDB environment, one file, with its
// lock file PATH.state-lock) holds, as of one checkpoint line it names by byte offset and
// leaf hash: the Merkle compact range of the lines before that checkpoint, and the
// accounting state (ledger/accounts.h: balances, claimed ids, opened accounts, assets, the
// model registry, licences, proofs, evaluations). man/omlkit-formats.5 (STATE CACHE) has
// the layout.
//
// The ledger file stays the one source of truth. The cache is never trusted blindly:
// load() accepts it only when the named line is in this very file at that offset with
// that leaf hash, the genesis line is the one it was made for, the compact range hashes to
// the root that checkpoint line states, and its row count and the tag of every row read
// agree. ledger-append writes it after the ledger's fdatasync, so a crash between the two
// leaves a cache that names an earlier checkpoint (merely stale). ledger-verify never
// reads it. LMDB was chosen over SQLite: every access is a point lookup by key, a
// read costs only the pages it touches (no SQL layer, no page cache of its own), and a
// commit is a copy-on-write B-tree switch with no journal to recover.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "crypto/sha256.h"
#include "ledger/accounts.h"
#include "ledger/replay.h"

namespace omlkit::ledger {

// The cache is damaged (a row whose tag does not match, a file LMDB cannot open): the
// caller rebuilds it from the ledger.
class StateCacheDamaged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a cache names, checked against the ledger.
struct CachedState {
  ReplayHead head;         // the replay after the named checkpoint line
  uint64_t line_offset;    // where that line starts in the ledger file
  uint64_t next_offset;    // where the line after it starts
  AccountsScalars scalars;
};

class StateCache : public StateStore {
 public:
  static std::string path_for(const std::string& ledger_path) { return ledger_path + ".state"; }
  // Removes the cache files of a ledger (absent ones are fine). Throws Error 74 otherwise.
  static void remove(const std::string& ledger_path);

  // Opens the cache beside ledger_path, creating it (read_only: never). Throws
  // StateCacheDamaged when the file is no LMDB environment, Error 66 (read_only, absent)
  // or 74 (cannot create).
  StateCache(const std::string& ledger_path, bool read_only);
  ~StateCache() override;
  StateCache(const StateCache&) = delete;
  StateCache& operator=(const StateCache&) = delete;

  // Checks what the cache names against the ledger (open for reading, of ledger_size
  // bytes). nullopt with *problem saying why when it is empty, stale, another ledger's or
  // damaged; *problem empty when the cache is merely new (nothing in it yet).
  std::optional<CachedState> load(int ledger_fd, uint64_t ledger_size, std::string* problem);

  bool get(char table, std::string_view key, std::string* payload) const override;

  // In one transaction, durable on return: the rows of `changes` and the new head (a
  // checkpoint line starting at line_offset). Throws Error 74 when LMDB fails (the
  // transaction is abandoned; the cache stays as it was).
  void save(const Accounts& changes, const ReplayHead& head, uint64_t line_offset);
  // Empties the cache (before a rebuild).
  void clear();

 private:
  std::string row_key(char table, std::string_view key) const;
  std::string tag(std::string_view key, std::string_view payload) const;

  std::string path_;
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
  MDB_txn* read_ = nullptr;      // kept open between writes (reset and renewed around them)
  crypto::Hash genesis_leaf_{};  // binds every row's tag to one ledger
};

}  // namespace omlkit::ledger

#include "ledger/state_cache.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crypto/merkle.h"
#include "io/error.h"
#include "json/value.h"

namespace omlkit::ledger {

namespace {

constexpr int cache_version = 1;
constexpr size_t tag_bytes = 16;
constexpr size_t max_natural_key = 400;   // LMDB's key limit is 511 bytes
constexpr size_t max_line_bytes = 16 << 20;
const std::string meta_key("\0meta", 5);  // table byte 0 is no state table

std::string lmdb_message(int rc) { return mdb_strerror(rc); }

Error lmdb_error(const std::string& path, const std::string& what, int rc) {
  return Error(exit_code::io, path, what + ": " + lmdb_message(rc));
}

MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

// The bytes of the line that starts at offset (without its '\n'); false when the file has
// no complete line there.
bool read_line_at(int fd, uint64_t offset, uint64_t file_size, std::string* line) {
  line->clear();
  char chunk[65536];
  while (offset < file_size && line->size() < max_line_bytes) {
    ssize_t got = ::pread(fd, chunk, sizeof chunk, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    const char* nl = static_cast<const char*>(std::memchr(chunk, '\n', static_cast<size_t>(got)));
    if (nl) {
      line->append(chunk, static_cast<size_t>(nl - chunk));
      return true;
    }
    line->append(chunk, static_cast<size_t>(got));
    offset += static_cast<uint64_t>(got);
  }
  return false;
}

std::string hex(const crypto::Hash& h) { return crypto::to_hex(h); }

bool parse_hash(const json::Value* v, crypto::Hash* out) {
  return v && v->is_string() && crypto::from_hex(v->text(), out->data(), out->size());
}

std::optional<uint64_t> count(const json::Value* v) {
  auto n = v ? v->as_int64() : std::nullopt;
  if (!n || *n < 0) return std::nullopt;
  return static_cast<uint64_t>(*n);
}

}  // namespace

void StateCache::remove(const std::string& ledger_path) {
  for (const std::string& p : {path_for(ledger_path), path_for(ledger_path) + "-lock"})
    if (::unlink(p.c_str()) != 0 && errno != ENOENT)
      throw Error(exit_code::io, p, std::string("cannot remove the state cache: ") + std::strerror(errno));
}

StateCache::StateCache(const std::string& ledger_path, bool read_only) : path_(path_for(ledger_path)) {
  if (read_only && ::access(path_.c_str(), F_OK) != 0)
    throw Error(exit_code::no_input, path_, std::strerror(errno));
  int rc = mdb_env_create(&env_);
  if (rc) throw lmdb_error(path_, "cannot create an LMDB environment", rc);
  // Address space only: the file grows with what is written.
  mdb_env_set_mapsize(env_, size_t(1) << 40);
  unsigned flags = MDB_NOSUBDIR | MDB_NOTLS | (read_only ? MDB_RDONLY : 0);
  rc = mdb_env_open(env_, path_.c_str(), flags, 0644);
  if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND) {
    mdb_env_close(env_);
    env_ = nullptr;
    throw StateCacheDamaged("not an LMDB file this omlkit can read (" + lmdb_message(rc) + ")");
  }
  if (rc) {
    mdb_env_close(env_);
    env_ = nullptr;
    throw Error(read_only ? exit_code::no_input : exit_code::io, path_, "cannot open the state cache: " + lmdb_message(rc));
  }
  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(env_, nullptr, read_only ? MDB_RDONLY : 0, &txn);
  if (!rc) rc = mdb_dbi_open(txn, nullptr, 0, &dbi_);
  if (!rc) rc = mdb_txn_commit(txn);
  else if (txn) mdb_txn_abort(txn);
  if (!rc) rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &read_);
  if (rc) {
    mdb_env_close(env_);
    env_ = nullptr;
    throw StateCacheDamaged("cannot read the state cache (" + lmdb_message(rc) + ")");
  }
}

StateCache::~StateCache() {
  if (read_) mdb_txn_abort(read_);
  if (env_) mdb_env_close(env_);
}

std::string StateCache::row_key(char table, std::string_view key) const {
  std::string k(1, table);
  if (key.size() <= max_natural_key) {
    k.append(key);
  } else {
    // A long key by its digest; 0xFF never starts UTF-8 text, so it names no short key.
    crypto::Hash h = crypto::sha256(key);
    k += '\xff';
    k.append(reinterpret_cast<const char*>(h.data()), h.size());
  }
  return k;
}

// SHA-256 of (the ledger's genesis leaf, the row's key, its payload), cut to 16 bytes: a
// row changed, moved or copied from another ledger's cache no longer matches.
std::string StateCache::tag(std::string_view key, std::string_view payload) const {
  crypto::Sha256 h;
  h.update("omlkit-state-row\0", 17);
  h.update(genesis_leaf_.data(), genesis_leaf_.size());
  uint64_t n = key.size();
  h.update(&n, sizeof n);
  h.update(key);
  h.update(payload);
  crypto::Hash d = h.finish();
  return std::string(reinterpret_cast<const char*>(d.data()), tag_bytes);
}

bool StateCache::get(char table, std::string_view key, std::string* payload) const {
  std::string k = row_key(table, key);
  MDB_val mk = val(k), mv;
  int rc = mdb_get(read_, dbi_, &mk, &mv);
  if (rc == MDB_NOTFOUND) return false;
  if (rc) throw StateCacheDamaged("cannot read a row (" + lmdb_message(rc) + ")");
  std::string_view stored(static_cast<const char*>(mv.mv_data), mv.mv_size);
  if (stored.size() < tag_bytes) throw StateCacheDamaged("a row is too short to carry its tag");
  std::string_view body = stored.substr(0, stored.size() - tag_bytes);
  if (stored.substr(body.size()) != tag(k, body))
    throw StateCacheDamaged("the row of table '" + std::string(1, table) + "' key \"" +
                            std::string(key.substr(0, 80)) + "\" does not match its tag (edited?)");
  payload->assign(body);
  return true;
}

std::optional<CachedState> StateCache::load(int ledger_fd, uint64_t ledger_size, std::string* problem) {
  problem->clear();
  MDB_val mk = val(meta_key), mv;
  int rc = mdb_get(read_, dbi_, &mk, &mv);
  MDB_stat stat;
  mdb_stat(read_, dbi_, &stat);
  if (rc == MDB_NOTFOUND) {
    if (stat.ms_entries) *problem = "holds rows but no head (damaged)";
    return std::nullopt;
  }
  if (rc) {
    *problem = "cannot be read (" + lmdb_message(rc) + ")";
    return std::nullopt;
  }
  // The head: canonical JSON, then SHA-256 of it cut to 16 bytes.
  std::string_view stored(static_cast<const char*>(mv.mv_data), mv.mv_size);
  crypto::Hash digest;
  if (stored.size() > tag_bytes) digest = crypto::sha256(stored.substr(0, stored.size() - tag_bytes));
  if (stored.size() <= tag_bytes ||
      stored.substr(stored.size() - tag_bytes) != std::string_view(reinterpret_cast<const char*>(digest.data()), tag_bytes)) {
    *problem = "its head does not match its tag (damaged or edited)";
    return std::nullopt;
  }
  json::Value meta;
  try {
    meta = json::parse(stored.substr(0, stored.size() - tag_bytes), path_);
  } catch (const Error&) {
    *problem = "its head is not JSON (damaged)";
    return std::nullopt;
  }
  const json::Value* version = meta.find("v");
  if (!version || version->as_int64() != cache_version) {
    *problem = "is of a cache version this omlkit does not read";
    return std::nullopt;
  }
  crypto::Hash genesis_leaf, leaf;
  auto seq = count(meta.find("seq"));
  auto offset = count(meta.find("offset"));
  auto rows = count(meta.find("rows"));
  auto model_count = count(meta.find("model_count"));
  const json::Value* peaks = meta.find("peaks");
  const json::Value* declare = meta.find("declare_accounts");
  if (!parse_hash(meta.find("genesis_leaf"), &genesis_leaf) || !parse_hash(meta.find("leaf"), &leaf) || !seq ||
      !offset || !rows || !model_count || !peaks || !peaks->is_array() || !declare || !declare->is_bool()) {
    *problem = "its head lacks a field (damaged)";
    return std::nullopt;
  }
  if (stat.ms_entries != *rows + 1) {
    *problem = "holds " + std::to_string(stat.ms_entries - 1) + " rows, its head says " + std::to_string(*rows) +
               " (rows added or removed by hand?)";
    return std::nullopt;
  }
  // The genesis line it was made for, and the checkpoint line it names, in this file.
  std::string genesis_line, line;
  if (!read_line_at(ledger_fd, 0, ledger_size, &genesis_line) || crypto::leaf_hash(genesis_line) != genesis_leaf) {
    *problem = "was made for another ledger (its genesis line differs)";
    return std::nullopt;
  }
  if (!read_line_at(ledger_fd, *offset, ledger_size, &line) || crypto::leaf_hash(line) != leaf) {
    *problem = "names entry " + std::to_string(*seq) + " at byte " + std::to_string(*offset) +
               ", which this ledger does not have there (stale, or another ledger's)";
    return std::nullopt;
  }
  CachedState state;
  state.line_offset = *offset;
  state.next_offset = *offset + line.size() + 1;
  state.scalars = AccountsScalars{true, declare->as_bool(), *model_count};
  ReplayHead& head = state.head;
  try {
    json::Value genesis = json::parse(genesis_line, path_);
    json::Value entry = json::parse(line, path_);
    const json::Value* g = genesis.find("body");
    const json::Value* body = entry.find("body");
    const json::Value* type = entry.find("type");
    const json::Value* ts = entry.find("ts");
    if (!g || !g->find("origin") || !g->find("vkey") || !body || !type || type->text() != "checkpoint" || !ts ||
        count(entry.find("seq")) != seq || !body->find("root") || !body->find("note") ||
        count(body->find("size")) != seq)
      throw data_error(path_, "not a checkpoint line");
    std::string root_bytes;
    if (!crypto::base64_decode(body->find("root")->text(), &root_bytes) || root_bytes.size() != 32)
      throw data_error(path_, "checkpoint root");
    head.size = *seq + 1;
    head.last_leaf = leaf;
    head.genesis_leaf = genesis_leaf;
    head.last_ts = ts->text();
    head.origin = g->find("origin")->text();
    head.genesis_vkey = g->find("vkey")->text();
    std::copy(root_bytes.begin(), root_bytes.end(), head.checkpoint.root.begin());
    head.checkpoint.size = *seq;
    head.checkpoint.note = body->find("note")->text();
    for (const json::Value& p : peaks->items()) {
      crypto::Hash h;
      if (!parse_hash(&p, &h)) throw data_error(path_, "peak");
      head.peaks.push_back(h);
    }
    // The compact range must hash to the root the named checkpoint states.
    if (crypto::CompactRange(*seq, head.peaks).root() != head.checkpoint.root) {
      *problem = "its Merkle compact range does not give the root of the checkpoint it names (damaged or edited)";
      return std::nullopt;
    }
  } catch (const std::exception&) {
    *problem = "names a line that is no checkpoint, or its compact range is malformed (damaged)";
    return std::nullopt;
  }
  genesis_leaf_ = genesis_leaf;
  return state;
}

void StateCache::save(const Accounts& changes, const ReplayHead& head, uint64_t line_offset) {
  genesis_leaf_ = head.genesis_leaf;  // tags bind rows to the genesis line
  MDB_txn* txn = nullptr;
  mdb_txn_reset(read_);
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  auto fail = [&](const std::string& what, int code) {
    if (txn) mdb_txn_abort(txn);
    mdb_txn_renew(read_);
    throw lmdb_error(path_, what, code);
  };
  if (rc) fail("cannot begin a write", rc);

  struct Sink : StateSink {
    const StateCache* cache;
    MDB_txn* txn;
    int rc = 0;
    std::string key, value;
    void put(char table, std::string_view k, std::string_view payload) override {
      if (rc) return;
      key = cache->row_key(table, k);
      value.assign(payload);
      value += cache->tag(key, payload);
      MDB_val mk = val(key), mv = val(value);
      rc = mdb_put(txn, cache->dbi_, &mk, &mv, 0);
    }
  } sink;
  sink.cache = this;
  sink.txn = txn;
  changes.write_changes(sink);
  if (sink.rc) fail("cannot write a row", sink.rc);

  MDB_stat stat;
  mdb_stat(txn, dbi_, &stat);
  MDB_val mk = val(meta_key), existing;
  uint64_t rows = stat.ms_entries - (mdb_get(txn, dbi_, &mk, &existing) == 0 ? 1 : 0);
  AccountsScalars scalars = changes.scalars();
  json::Value meta = json::Value::object();
  meta.set("v", json::Value::integer(cache_version));
  meta.set("seq", json::Value::integer(static_cast<int64_t>(head.size - 1)));
  meta.set("offset", json::Value::integer(static_cast<int64_t>(line_offset)));
  meta.set("leaf", json::Value::string(hex(head.last_leaf)));
  meta.set("genesis_leaf", json::Value::string(hex(genesis_leaf_)));
  json::Value& peaks = meta.set("peaks", json::Value::array());
  for (const crypto::Hash& p : head.peaks) peaks.push_back(json::Value::string(hex(p)));
  meta.set("rows", json::Value::integer(static_cast<int64_t>(rows)));
  meta.set("model_count", json::Value::integer(static_cast<int64_t>(scalars.model_count)));
  meta.set("declare_accounts", json::Value::boolean(scalars.declare_accounts));
  std::string value = json::canonical(meta);
  crypto::Hash digest = crypto::sha256(value);
  value.append(reinterpret_cast<const char*>(digest.data()), tag_bytes);
  MDB_val mv = val(value);
  rc = mdb_put(txn, dbi_, &mk, &mv, 0);
  if (rc) fail("cannot write the head", rc);
  rc = mdb_txn_commit(txn);  // durable: LMDB syncs the data file, then the meta page
  txn = nullptr;
  if (rc) fail("cannot commit", rc);
  rc = mdb_txn_renew(read_);
  if (rc) throw lmdb_error(path_, "cannot renew the read transaction", rc);
}

void StateCache::clear() {
  MDB_txn* txn = nullptr;
  mdb_txn_reset(read_);
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (!rc) rc = mdb_drop(txn, dbi_, 0);
  if (!rc) rc = mdb_txn_commit(txn);
  else if (txn) mdb_txn_abort(txn);
  int renewed = mdb_txn_renew(read_);
  if (rc || renewed) throw lmdb_error(path_, "cannot empty the state cache", rc ? rc : renewed);
}

}  // namespace omlkit::ledger

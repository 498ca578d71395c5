#include "ledger/append.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "io/error.h"
#include "io/line_reader.h"
#include "io/output.h"
#include "ledger/entry.h"
#include "ledger/state_cache.h"

namespace omlkit::ledger {

Submitted parse_submitted(std::string_view line, const std::string& where) {
  json::ParseOptions options;
  options.integers_only = true;
  options.max_depth = 160;  // as the replay allows
  json::Value v = json::parse(line, where, options);
  if (!v.is_object()) throw data_error(where, "expected an object {\"type\": ..., \"body\": {...}}");
  const json::Value* type = v.find("type");
  const json::Value* body = v.find("body");
  if (!type || !type->is_string()) throw data_error(where, "type: expected an entry type string");
  if (!is_submittable_type(type->text()))
    throw data_error(where, "type: expected an entry type ledger-append accepts, found \"" + type->text() + "\"");
  if (!body || !body->is_object()) throw data_error(where, "body: expected an object");
  if (const json::Value* version = v.find("v"); version && version->as_int64() != format_version)
    throw data_error(where, "v: this omlkit reads record version 1, found " + json::canonical(*version));
  for (const json::Member& m : v.members())
    if (m.key != "type" && m.key != "body" && m.key != "v")
      throw data_error(where, "unexpected field \"" + m.key + "\" (expected only type, body, v)");
  return Submitted{where, type->text(), *body};
}

namespace {

class LockedFile {
 public:
  LockedFile(const std::string& path, int timeout_ms) : path_(path) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      created_ = false;
      fd_ = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
      if (fd_ < 0 && errno == ENOENT) {
        fd_ = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd_ < 0 && errno == EEXIST) continue;  // another appender created it first
        created_ = fd_ >= 0;
      }
      if (fd_ < 0) throw Error(exit_code::cannot_create, path, std::strerror(errno));
      auto pause = std::chrono::milliseconds(1);
      while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
          int err = errno;
          ::close(fd_);
          throw Error(exit_code::io, path, std::string("flock failed: ") + std::strerror(err));
        }
        if (std::chrono::steady_clock::now() >= deadline) {
          ::close(fd_);
          throw Error(exit_code::temp_fail, path, "timed out waiting for the ledger lock (another ledger-append?)");
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
      }
      // An appender whose first append failed removes the file it created: if the name no
      // longer leads to the file we locked, open it again.
      struct stat locked, named;
      if (::fstat(fd_, &locked) == 0 && ::stat(path.c_str(), &named) == 0 && locked.st_ino == named.st_ino &&
          locked.st_dev == named.st_dev)
        break;
      ::close(fd_);
    }
  }
  ~LockedFile() { ::close(fd_); }  // closing releases the flock
  int fd() const { return fd_; }
  bool created() const { return created_; }
  // Removes the file this appender created, while still holding its lock.
  void remove() { ::unlink(path_.c_str()); }
  uint64_t size() const {
    struct stat st;
    if (::fstat(fd_, &st) != 0) throw Error(exit_code::io, path_, std::strerror(errno));
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool created_ = false;
};

// True when the file starts with a zstd frame's magic number (as io::LineReader sniffs it).
bool is_zstd_file(int fd) {
  unsigned char head[4];
  static const unsigned char magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
  return ::pread(fd, head, 4, 0) == 4 && std::memcmp(head, magic, 4) == 0;
}

// What a scan of the existing file found.
struct Scan {
  uint64_t signed_bytes = 0;     // bytes up to the end of the last checkpoint line
  uint64_t torn_bytes = 0;       // bytes after the last '\n'
  uint64_t unsigned_lines = 0;   // complete lines after the last checkpoint
};

// A rebuild of the state cache writes what it has replayed at a checkpoint once this many
// rows have changed, so that its memory stays bounded whatever the ledger's size.
constexpr size_t rebuild_flush_rows = size_t(1) << 20;

// Replays the file from byte `offset` (line number `first_line`), where the replay stands.
// With a cache, saves the state at a checkpoint whenever many rows have changed.
Scan replay_file(const std::string& path, Replay& replay, uint64_t offset, uint64_t first_line, StateCache* cache) {
  Scan scan;
  scan.signed_bytes = offset;
  io::LineReader reader(path);
  if (offset) reader.start_at(offset, first_line);
  std::string_view line;
  while (reader.next(&line)) {
    if (reader.ended_without_newline()) {
      scan.torn_bytes = line.size();
      break;
    }
    replay.apply(line, reader.where());
    if (replay.unsigned_lines() == 0) {
      scan.signed_bytes = reader.line_offset() + line.size() + 1;
      Accounts& accounts = replay.mutable_accounts();
      if (cache && accounts.change_count() >= rebuild_flush_rows) {
        cache->save(accounts, replay.head(), reader.line_offset());
        accounts.clear_changes();
        accounts.set_base(cache, accounts.scalars());
      }
    }
  }
  scan.unsigned_lines = replay.unsigned_lines();
  return scan;
}

int64_t now_millis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

namespace {

// The checks and writes of one append_entries call, under the lock.
AppendResult append_locked(const AppendOptions& options, LockedFile& file, const EntrySource& next,
                           const OnCommit& on_commit) {
  const std::string& path = options.ledger_path;
  io::FileOps& ops = options.file_ops ? *options.file_ops : io::posix_file_ops();
  AppendResult result;
  result.created = file.created();
  if (is_zstd_file(file.fd()))
    throw Error(exit_code::data, path,
                "is zstd-compressed: a compressed ledger is a read-only archive (decompress it to append)");
  ReplayOptions replay_options;
  replay_options.trust = options.trust;
  // Existing checkpoints were verified when written and are verified by ledger-verify;
  // re-checking every signature on each append would cost 75 us per batch in the file.
  replay_options.check_signatures = false;

  auto warn = [&](const std::string& where, const std::string& message) {
    if (options.warn) options.warn(where, message);
  };
  const std::string cache_path = StateCache::path_for(path);
  // The state cache: opened (created) here, rebuilt when it does not describe this file.
  std::unique_ptr<StateCache> cache;
  bool announced = false;  // one message per rebuild
  if (options.use_cache) {
    try {
      try {
        cache = std::make_unique<StateCache>(path, false);
      } catch (const StateCacheDamaged& e) {
        warn(cache_path, std::string(e.what()) + "; rebuilding it from the ledger");
        announced = true;
        StateCache::remove(path);
        cache = std::make_unique<StateCache>(path, false);
      }
    } catch (const Error& e) {
      warn(e.where(), std::string(e.what()) + "; appending without a state cache (replaying the whole ledger)");
    }
  }
  bool cache_usable = cache != nullptr;  // false once a save failed: stop writing it
  std::unique_ptr<Replay> replay;
  // The replay as of the end of the file: from the cache's line on when the cache names a
  // prefix of this file, else from the start (rebuilding the cache as it goes).
  auto load = [&](uint64_t file_size) -> Scan {
    replay = std::make_unique<Replay>(replay_options);
    if (!cache) return replay_file(path, *replay, 0, 0, nullptr);
    std::string problem;
    try {
      if (std::optional<CachedState> state = cache->load(file.fd(), file_size, &problem)) {
        replay->resume(state->head, cache.get(), state->scalars);
        return replay_file(path, *replay, state->next_offset, state->head.size + 1, cache.get());
      }
    } catch (const StateCacheDamaged& e) {
      problem = e.what();
    }
    if (!problem.empty()) warn(cache_path, problem + "; rebuilding it from the ledger");
    // A ledger with nothing signed yet (its first append interrupted) has nothing to cache.
    bool say_building = problem.empty() && file_size > 0 && !announced;
    replay = std::make_unique<Replay>(replay_options);
    try {
      cache->clear();
    } catch (const Error& e) {
      warn(e.where(), std::string(e.what()) + "; appending without a state cache (replaying the whole ledger)");
      cache.reset();
      return replay_file(path, *replay, 0, 0, nullptr);
    }
    Scan scan = replay_file(path, *replay, 0, 0, cache.get());
    if (say_building && !replay->checkpoints().empty())
      warn(cache_path, "no state cache for this ledger; built it from the ledger");
    return scan;
  };

  uint64_t file_bytes = file.size();
  Scan scan = load(file_bytes);
  if (scan.torn_bytes || scan.unsigned_lines) {
    std::string what = scan.torn_bytes ? std::to_string(scan.torn_bytes) + " bytes after the last newline"
                                       : std::to_string(scan.unsigned_lines) + " lines after the last checkpoint";
    if (!options.repair)
      throw Error(exit_code::torn_tail, path, "torn tail: " + what + " (an interrupted append); run ledger-append --repair");
    if (scan.signed_bytes == 0)
      throw Error(exit_code::data, path,
                  "cannot repair: no checkpoint to cut back to (the ledger's first append was interrupted); "
                  "cutting it would start a different ledger, so remove the file to start anew");
    if (ops.ftruncate(file.fd(), static_cast<off_t>(scan.signed_bytes)) != 0 || ops.fdatasync(file.fd()) != 0)
      throw Error(exit_code::io, path, std::string("cannot cut the torn tail: ") + std::strerror(errno));
    result.repaired_bytes = file_bytes - scan.signed_bytes;
    load(scan.signed_bytes);
  }
  uint64_t committed_bytes = file.size();

  // Now the replay knows the checkpointed ledger; build and check the new lines.
  replay->check_signatures(true);  // each new checkpoint must verify under the trusted keys
  if (replay->size() && !options.origin.empty() && options.origin != replay->origin())
    throw Error(exit_code::usage, "", "--origin \"" + options.origin + "\": the ledger's origin is \"" +
                                          replay->origin() + "\" (--origin names a new ledger)");
  std::string origin = replay->size() ? replay->origin() : (options.origin.empty() ? "omlkit-ledger" : options.origin);
  std::string key_name = options.key_name.empty() ? origin : options.key_name;
  if (!crypto::valid_key_name(key_name))
    throw Error(exit_code::usage, "", "key name \"" + key_name + "\" must have no spaces or '+'");
  // The key must be one the verifier trusts: say so about the key, not a ledger line.
  const std::string& key_where = options.key_path;
  crypto::NoteVerifier signer = crypto::make_verifier(key_name, options.key->public_key());
  if (options.trust) {
    const TrustedKey* trusted = options.trust->find(key_name);
    if (!trusted || trusted->verifier.key != signer.key)
      throw Error(exit_code::data, key_where,
                  "the trust file has no key \"" + key_name + "\" with this public key (" +
                      crypto::verifier_key_string(signer) + "): it may not sign this ledger");
  } else if (replay->size()) {
    bool genesis_key = false;
    for (const crypto::NoteVerifier& v : replay->verifiers()) genesis_key |= v.name == key_name && v.key == signer.key;
    if (!genesis_key)
      throw Error(exit_code::data, key_where,
                  "not the ledger's genesis key \"" + key_name + "\" (" + crypto::verifier_key_string(signer) +
                      "): give --trust to sign with another key, or --key-name");
  }

  std::string batch, ts;
  std::vector<Receipt> receipts;
  std::vector<Submitted> pending;  // the batch's entries, to check again after a cache rebuild
  std::function<void(const std::string&, const json::Value&, const std::string&)> add;
  bool ts_fixed = false;  // one ts per batch, kept across a rebuild
  auto apply = [&](const std::string& line, uint64_t seq) {
    try {
      return replay->apply(line, path + ":" + std::to_string(seq + 1));
    } catch (const StateCacheDamaged& e) {
      // A damaged row, found only now that an entry looks it up: rebuild the state from the
      // file, then check this batch's entries again against it.
      warn(cache_path, std::string(e.what()) + "; rebuilding it from the ledger");
      replay = std::make_unique<Replay>(replay_options);
      cache->clear();
      replay_file(path, *replay, 0, 0, cache.get());
      replay->check_signatures(true);
      batch.clear();
      receipts.clear();
      std::vector<Submitted> again = std::move(pending);
      pending.clear();
      for (const Submitted& s : again) add(s.type, s.body, s.where);
      return replay->apply(line, path + ":" + std::to_string(seq + 1));
    }
  };
  add = [&](const std::string& type, const json::Value& body, const std::string& where) {
    if (!ts_fixed) ts = std::max(format_timestamp(options.now_millis.value_or(now_millis())), replay->last_ts());
    ts_fixed = true;
    uint64_t seq = replay->size();
    std::string line = make_line(seq, ts, type, crypto::to_hex(replay->last_leaf()), body);
    crypto::Hash leaf;
    try {
      // A rebuild inside apply re-adds the entries before this one, to the same state.
      leaf = apply(line, seq);
    } catch (const Error& e) {
      if (type == "checkpoint") throw Error(exit_code::data, key_where, std::string("cannot sign the batch: ") + e.what());
      throw data_error(where, e.what());
    }
    batch += line;
    batch += '\n';
    receipts.push_back(Receipt{seq, type, leaf});
    if (type != "checkpoint") pending.push_back(Submitted{where, type, body});
  };
  // Closes the batch with a signed checkpoint, makes it durable, then reports it.
  auto commit = [&] {
    uint64_t size = replay->size();
    crypto::Hash root = replay->root();
    json::Value checkpoint = json::Value::object();
    checkpoint.set("size", json::Value::integer(static_cast<int64_t>(size)));
    checkpoint.set("root", json::Value::string(crypto::base64_encode(
                               std::string_view(reinterpret_cast<const char*>(root.data()), root.size()))));
    std::string note = crypto::sign_note(crypto::checkpoint_text(origin, size, root), key_name, *options.key);
    checkpoint.set("note", json::Value::string(note));
    add("checkpoint", checkpoint, path);
    try {
      io::write_all(ops, file.fd(), batch, path);
      if (ops.fdatasync(file.fd()) != 0)
        throw Error(exit_code::io, path, std::string("fdatasync failed: ") + std::strerror(errno));
    } catch (const Error& e) {
      // Nothing of a failed batch may stay: cut back to the last committed batch.
      bool cut = ops.ftruncate(file.fd(), static_cast<off_t>(committed_bytes)) == 0 && ops.fdatasync(file.fd()) == 0;
      throw Error(exit_code::io, path,
                  std::string(e.what()) + (cut ? "; the batch was cut off, the ledger is as before it"
                                               : "; cutting the batch off failed too: run ledger-append --repair"));
    }
    if (options.on_step) options.on_step("ledger-synced");
    committed_bytes += batch.size();
    if (result.created) io::sync_parent_directory(path);
    // The cache after the ledger: a crash between the two leaves it merely stale.
    if (cache && cache_usable) {
      try {
        Accounts& accounts = replay->mutable_accounts();
        size_t previous_newline = batch.rfind('\n', batch.size() - 2);
        size_t last_line_start = previous_newline == std::string::npos ? 0 : previous_newline + 1;
        uint64_t line_offset = committed_bytes - (batch.size() - last_line_start);  // the checkpoint's
        cache->save(accounts, replay->head(), line_offset);
        accounts.clear_changes();
        accounts.set_base(cache.get(), accounts.scalars());
        if (options.on_step) options.on_step("cache-written");
      } catch (const Error& e) {
        cache_usable = false;
        warn(e.where(), std::string(e.what()) + "; the state cache was not updated (the next append brings it up to date)");
      }
    }
    pending.clear();
    result.checkpoint = Checkpoint{size, root, note};
    ++result.batches;
    if (on_commit) on_commit(receipts, result.checkpoint);
    batch.clear();
    receipts.clear();
    ts_fixed = false;
  };

  if (replay->size() == 0) {
    json::Value genesis = json::Value::object();
    genesis.set("origin", json::Value::string(origin));
    genesis.set("vkey", json::Value::string(crypto::verifier_key_string(signer)));
    genesis.set("declare_accounts", json::Value::boolean(options.declare_accounts));
    add("genesis", genesis, path);
  }
  Submitted entry;
  size_t in_batch = 0;
  while (next(&entry)) {
    add(entry.type, entry.body, entry.where);
    if (options.batch_size && ++in_batch == options.batch_size) {
      commit();
      in_batch = 0;
    }
  }
  if (!receipts.empty()) commit();  // also a new ledger with no entries: genesis alone
  return result;
}

}  // namespace

AppendResult append_entries(const AppendOptions& options, const EntrySource& next, const OnCommit& on_commit) {
  LockedFile file(options.ledger_path, options.lock_timeout_ms);
  size_t committed = 0;
  try {
    return append_locked(options, file, next, [&](const std::vector<Receipt>& r, const Checkpoint& c) {
      ++committed;
      if (on_commit) on_commit(r, c);
    });
  } catch (...) {
    // A failed first append leaves no empty ledger behind (appenders waiting on its lock
    // see the name gone and start over).
    if (file.created() && committed == 0 && file.size() == 0) {
      try {
        // The empty cache it opened, first: while the ledger's name still stands, no other
        // appender can be making a new ledger and cache under it.
        StateCache::remove(options.ledger_path);
      } catch (const Error&) {
      }
      file.remove();
    }
    throw;
  }
}

AppendResult append_batch(const AppendOptions& options, const std::vector<Submitted>& entries) {
  size_t i = 0;
  std::vector<Receipt> all;
  AppendResult result = append_entries(
      options,
      [&](Submitted* out) {
        if (i == entries.size()) return false;
        *out = entries[i++];
        return true;
      },
      [&](const std::vector<Receipt>& receipts, const Checkpoint&) { all.insert(all.end(), receipts.begin(), receipts.end()); });
  result.receipts = std::move(all);
  return result;
}

}  // namespace omlkit::ledger

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
    fd_ = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(exit_code::cannot_create, path, std::strerror(errno));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    auto pause = std::chrono::milliseconds(1);
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR)
        throw Error(exit_code::io, path, std::string("flock failed: ") + std::strerror(errno));
      if (std::chrono::steady_clock::now() >= deadline)
        throw Error(exit_code::temp_fail, path, "timed out waiting for the ledger lock (another ledger-append?)");
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
  }
  ~LockedFile() { ::close(fd_); }  // closing releases the flock
  int fd() const { return fd_; }
  uint64_t size() const {
    struct stat st;
    if (::fstat(fd_, &st) != 0) throw Error(exit_code::io, path_, std::strerror(errno));
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  std::string path_;
  int fd_;
};

// What a scan of the existing file found.
struct Scan {
  uint64_t signed_bytes = 0;     // bytes up to the end of the last checkpoint line
  uint64_t torn_bytes = 0;       // bytes after the last '\n'
  uint64_t unsigned_lines = 0;   // complete lines after the last checkpoint
};

Scan replay_file(const std::string& path, Replay& replay) {
  Scan scan;
  io::LineReader reader(path);
  std::string_view line;
  while (reader.next(&line)) {
    if (reader.ended_without_newline()) {
      scan.torn_bytes = line.size();
      break;
    }
    replay.apply(line, reader.where());
    if (replay.unsigned_lines() == 0) scan.signed_bytes = reader.line_offset() + line.size() + 1;
  }
  scan.unsigned_lines = replay.unsigned_lines();
  return scan;
}

int64_t now_millis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

AppendResult append_entries(const AppendOptions& options, const EntrySource& next, const OnCommit& on_commit) {
  const std::string& path = options.ledger_path;
  LockedFile file(path, options.lock_timeout_ms);
  AppendResult result;
  ReplayOptions replay_options;
  replay_options.trust = options.trust;
  // Existing checkpoints were verified when written and are verified by ledger-verify;
  // re-checking every signature on each append would cost 75 us per batch in the file.
  replay_options.check_signatures = false;

  auto replay = std::make_unique<Replay>(replay_options);
  uint64_t file_bytes = file.size();
  Scan scan = replay_file(path, *replay);
  if (scan.torn_bytes || scan.unsigned_lines) {
    std::string what = scan.torn_bytes ? std::to_string(scan.torn_bytes) + " bytes after the last newline"
                                       : std::to_string(scan.unsigned_lines) + " lines after the last checkpoint";
    if (!options.repair)
      throw Error(exit_code::torn_tail, path, "torn tail: " + what + " (an interrupted append); run ledger-append --repair");
    if (::ftruncate(file.fd(), static_cast<off_t>(scan.signed_bytes)) != 0 || ::fdatasync(file.fd()) != 0)
      throw Error(exit_code::io, path, std::string("cannot cut the torn tail: ") + std::strerror(errno));
    result.repaired_bytes = file_bytes - scan.signed_bytes;
    replay = std::make_unique<Replay>(replay_options);
    replay_file(path, *replay);
  }

  // Now the replay knows the checkpointed ledger; build and check the new lines.
  replay->check_signatures(true);  // each new checkpoint must verify under the trusted keys
  std::string origin = replay->size() ? replay->origin() : (options.origin.empty() ? "omlkit-ledger" : options.origin);
  std::string key_name = options.key_name.empty() ? origin : options.key_name;
  if (!crypto::valid_key_name(key_name))
    throw Error(exit_code::usage, "", "key name \"" + key_name + "\" must have no spaces or '+'");

  std::string batch, ts;
  std::vector<Receipt> receipts;
  auto add = [&](const std::string& type, const json::Value& body, const std::string& where) {
    if (receipts.empty()) ts = std::max(format_timestamp(options.now_millis.value_or(now_millis())), replay->last_ts());
    uint64_t seq = replay->size();
    std::string line = make_line(seq, ts, type, crypto::to_hex(replay->last_leaf()), body);
    crypto::Hash leaf;
    try {
      leaf = replay->apply(line, path + ":" + std::to_string(seq + 1));
    } catch (const Error& e) {
      throw data_error(where, e.what());
    }
    batch += line;
    batch += '\n';
    receipts.push_back(Receipt{seq, type, leaf});
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
    io::write_all(file.fd(), batch, path);
    if (::fdatasync(file.fd()) != 0)
      throw Error(exit_code::io, path, std::string("fdatasync failed: ") + std::strerror(errno));
    if (result.created) io::sync_parent_directory(path);
    result.checkpoint = Checkpoint{size, root, note};
    ++result.batches;
    if (on_commit) on_commit(receipts, result.checkpoint);
    batch.clear();
    receipts.clear();
  };

  if (replay->size() == 0) {
    result.created = true;
    json::Value genesis = json::Value::object();
    genesis.set("origin", json::Value::string(origin));
    genesis.set("vkey", json::Value::string(crypto::verifier_key_string(
                            crypto::make_verifier(key_name, options.key->public_key()))));
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

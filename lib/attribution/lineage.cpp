#include "attribution/lineage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/signed_note.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "ledger/replay.h"

namespace omlkit::attribution {

namespace {

// The cache's state when it names a checkpoint of this file whose signature verifies under
// the replay's keys; nullopt otherwise (the caller replays the whole file).
std::optional<ledger::CachedState> cached_state(const std::string& path, ledger::StateCache& cache) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st;
  std::string problem;
  std::optional<ledger::CachedState> state;
  if (::fstat(fd, &st) == 0) state = cache.load(fd, static_cast<uint64_t>(st.st_size), &problem);
  ::close(fd);
  return state;
}

}  // namespace

ModelRegistry ModelRegistry::from_ledger(const std::string& path, const ledger::TrustFile* trust, bool use_cache) {
  io::LineReader reader(path);
  ledger::ReplayOptions options;
  options.trust = trust;
  ledger::Replay replay(options);
  ModelRegistry registry;
  std::string_view line;
  if (use_cache) {
    try {
      auto cache = std::make_shared<ledger::StateCache>(path, true);
      if (std::optional<ledger::CachedState> state = cached_state(path, *cache)) {
        replay.resume(state->head, cache.get(), state->scalars);
        // The named checkpoint's signature, under this reader's keys (the appender's may differ).
        crypto::OpenedNote opened = crypto::open_note(state->head.checkpoint.note, replay.verifiers());
        if (!opened.malformed && !opened.signers.empty() &&
            opened.text == crypto::checkpoint_text(state->head.origin, state->head.checkpoint.size,
                                                   state->head.checkpoint.root)) {
          registry.cache_ = cache;
          registry.path_ = path;
          registry.lookup_ = std::make_shared<std::mutex>();
          registry.signed_models_ = state->scalars.model_count;
          registry.entries_ = state->head.size;
          reader.start_at(state->next_offset, state->head.size + 1);
        } else {
          replay = ledger::Replay(options);
        }
      }
    } catch (const std::exception&) {
      // No cache, or one that cannot be read: the file alone.
      replay = ledger::Replay(options);
      registry.cache_.reset();
    }
  }
  try {
    while (reader.next(&line) && !reader.ended_without_newline()) {
      replay.apply(line, reader.where());
      if (replay.unsigned_lines() == 0) {  // a checkpoint: what it covers counts
        registry.signed_models_ = replay.accounts().model_count();
        registry.entries_ = replay.size();
      }
    }
  } catch (const Error& e) {
    if (e.code() != exit_code::check_failed && e.code() != exit_code::data) throw;
    throw data_error(e.where(), std::string("invalid ledger: ") + e.what());
  }
  if (replay.size() == 0) throw data_error(path, "empty ledger: expected a genesis entry");
  if (replay.checkpoints().empty()) throw data_error(path, "no signed checkpoint: nothing of this ledger is signed");
  registry.accounts_ = replay.accounts();
  return registry;
}

std::optional<std::vector<Generation>> ModelRegistry::lineage(const std::string& model) const {
  std::unique_lock<std::mutex> lock;
  if (lookup_) lock = std::unique_lock<std::mutex>(*lookup_);
  try {
    return lineage_of(model);
  } catch (const ledger::StateCacheDamaged& e) {
    throw data_error(ledger::StateCache::path_for(path_), std::string(e.what()) +
                                                             " (the next ledger-append rebuilds it; or remove it)");
  }
}

std::optional<std::vector<Generation>> ModelRegistry::lineage_of(const std::string& model) const {
  const ledger::Accounts::Model* m = accounts_.model(model);
  if (!m || m->order >= signed_models_) return std::nullopt;  // unknown, or not signed yet
  // Parents are registered before their children, so the chain ends at a root.
  std::vector<Generation> out{{model, m->owner}};
  while (!m->parent.empty()) {
    std::string parent = m->parent;
    m = accounts_.model(parent);
    if (!m) throw Error(exit_code::internal, "", "registered model's parent \"" + parent + "\" is unknown");
    out.push_back({parent, m->owner});
  }
  return out;
}

}  // namespace omlkit::attribution

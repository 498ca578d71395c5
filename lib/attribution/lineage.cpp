#include "attribution/lineage.h"

#include "io/error.h"
#include "io/line_reader.h"
#include "ledger/replay.h"

namespace omlkit::attribution {

ModelRegistry ModelRegistry::from_ledger(const std::string& path, const ledger::TrustFile* trust) {
  io::LineReader reader(path);
  ledger::ReplayOptions options;
  options.trust = trust;
  ledger::Replay replay(options);
  ModelRegistry registry;
  std::string_view line;
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

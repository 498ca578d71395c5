#include "attribution/lineage.h"

#include "io/error.h"
#include "io/line_reader.h"
#include "ledger/replay.h"

namespace omlkit::attribution {

ModelRegistry ModelRegistry::from_ledger(const std::string& path) {
  io::LineReader reader(path);
  ledger::Replay replay;
  std::string_view line;
  try {
    while (reader.next(&line) && !reader.ended_without_newline()) replay.apply(line, reader.where());
  } catch (const Error& e) {
    if (e.code() != exit_code::check_failed) throw;
    throw data_error(e.where(), std::string("invalid ledger: ") + e.what());
  }
  if (replay.size() == 0) throw data_error(path, "empty ledger: expected a genesis entry");
  ModelRegistry registry;
  registry.accounts_ = replay.accounts();
  registry.entries_ = replay.size();
  return registry;
}

std::optional<std::vector<Generation>> ModelRegistry::lineage(const std::string& model) const {
  const ledger::Accounts::Model* m = accounts_.model(model);
  if (!m) return std::nullopt;
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

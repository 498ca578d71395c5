#include "ledger/verify.h"

#include <charconv>
#include <functional>

#include "io/error.h"
#include "io/line_reader.h"
#include "ledger/id_digest_set.h"

namespace omlkit::ledger {

static std::string b64(const crypto::Hash& h) {
  return crypto::base64_encode(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

TrustedHead load_trusted_head(const std::string& path, const std::vector<crypto::NoteVerifier>& verifiers) {
  std::string content = io::read_file(path);
  std::string note = content;
  if (!content.empty() && content[0] == '{') {
    // A receipt or ledger line: the note is in "note" or "body.note".
    json::Value v = json::parse(content, path);
    const json::Value* n = v.find("note");
    if (!n && v.find("body")) n = v.find("body")->find("note");
    if (!n || !n->is_string()) throw data_error(path, "expected a checkpoint note or a JSON object with \"note\"");
    note = n->text();
  }
  crypto::OpenedNote opened = crypto::open_note(note, verifiers);
  if (opened.malformed) throw data_error(path, "not a signed note");
  if (opened.signers.empty()) throw data_error(path, "no signature on the trusted checkpoint verifies with a known key");
  // tlog-checkpoint body: origin, size, base64 root.
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = opened.text.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(opened.text.substr(start, nl - start));
  TrustedHead head;
  std::string root_bytes;
  auto size = lines.size() >= 3 ? json::parse(lines[1], path).as_int64() : std::nullopt;
  if (lines.size() < 3 || !size || *size < 0 || !crypto::base64_decode(lines[2], &root_bytes) || root_bytes.size() != 32)
    throw data_error(path, "expected a checkpoint note: origin, tree size and base64 root lines");
  head.origin = lines[0];
  head.size = static_cast<uint64_t>(*size);
  std::copy(root_bytes.begin(), root_bytes.end(), head.root.begin());
  head.source = path;
  return head;
}

static void for_each_string(const json::Value& v, const std::function<void(const std::string&)>& f) {
  if (v.is_string()) f(v.text());
  if (v.is_array())
    for (const json::Value& item : v.items()) for_each_string(item, f);
  if (v.is_object())
    for (const auto& member : v.members()) for_each_string(member.value, f);
}

// A repeat found by merging the spilled digests names a digest and two entries, not the
// id: read the file again as far as the second entry, find the id among the strings of
// both bodies, and the Merkle root of the lines before the second (what a pass stopping
// there reports). Different ids that share a digest (chance below n^2 / 2^129 under this
// run's random key) are said to be so, never reported as a repeat.
static void report_merged_repeat(const std::string& path, const IdDigestSet::Duplicate& repeat, IdDigester& digester,
                                 size_t max_line_bytes, VerifyReport& report) {
  io::LineReader reader(path, max_line_bytes);
  std::string_view line;
  crypto::CompactRange tree;
  std::string first_where, space, id;
  std::vector<std::pair<std::string, std::string>> first_ids;  // (space, id) of the first line with the digest
  for (uint64_t seq = 0; reader.next(&line); ++seq) {
    if (seq == repeat.first_seq || seq == repeat.second_seq) {
      json::Value entry = json::parse(line, reader.where());
      const json::Value* body = entry.find("body");
      std::vector<std::pair<std::string, std::string>> found;
      if (body)
        for_each_string(*body, [&](const std::string& s) {
          for (std::string_view sp : id_space_names)
            if (digester(sp, s) == repeat.digest) found.emplace_back(sp, s);
        });
      if (seq == repeat.first_seq) {
        first_ids = found;
        first_where = reader.where();
      }
      if (seq == repeat.second_seq) {
        for (const auto& candidate : found)
          for (const auto& earlier : first_ids)
            if (candidate == earlier) std::tie(space, id) = candidate;
        if (id.empty())
          throw Error(exit_code::internal, reader.where(),
                      "two different ids share a 128-bit digest with " + first_where +
                          " (a chance below 2^-60 per audit): run ledger-verify again, which draws a new key");
        report.exit_code = exit_code::check_failed;
        report.where = reader.where();
        report.message = space + " \"" + id + "\" already appears earlier in the ledger";
        report.entries = seq;
        report.root = tree.root();
        report.repeat_found_by_merge = true;
        return;
      }
    }
    tree.append(crypto::leaf_hash(line));
  }
  throw Error(exit_code::internal, path, "the ledger ended before an entry whose id repeats (changed while read?)");
}

VerifyReport verify_ledger(const std::string& path, const VerifyOptions& options) {
  VerifyReport report;
  ReplayOptions replay_options;
  replay_options.trust = options.trust;
  Replay replay(replay_options);
  replay.on_entry = options.on_entry;
  // Ids as digests (spilling past the budget); balances by digest unless printed.
  IdDigester digester;
  IdDigestSet ids(options.memory_budget, options.spill_dir);
  CompactState compact;
  compact.digester = &digester;
  compact.ids = &ids;
  compact.balances_by_digest = !options.keep_balances;
  compact.memory_budget = options.memory_budget;
  replay.mutable_accounts().use_compact_state(compact);

  // Leaf hashes are kept only when a proof is asked for (32 bytes per entry).
  std::vector<crypto::Hash>& leaves = report.leaves;
  bool keep_leaves = options.keep_leaves || options.prove_seq.has_value() || options.trusted.has_value();
  std::optional<crypto::Hash> root_at_trusted;
  if (options.trusted) {
    uint64_t want = options.trusted->size;
    replay.on_tree = [&root_at_trusted, want](uint64_t size, const crypto::Hash& root) {
      if (size == want) root_at_trusted = root;
    };
  }

  io::LineReader reader(path, options.max_line_bytes);
  std::string_view line;
  std::string where;  // reader.where(), built in place: no allocation per line
  try {
    while (reader.next(&line)) {
      if (reader.ended_without_newline()) {
        report.torn_bytes = line.size();
        break;
      }
      char number[24];
      auto [number_end, ec] = std::to_chars(number, number + sizeof number, reader.line_number());
      (void)ec;
      where.assign(reader.name()).append(1, ':').append(number, number_end);
      crypto::Hash leaf = replay.apply(line, where);
      if (keep_leaves) leaves.push_back(leaf);
      if (options.progress && (replay.size() & 0xFFFF) == 0) options.progress(replay.size());
    }
  } catch (const Error& e) {
    // Damage anywhere in the file (a line too long to be one, a broken zstd frame) is a bad
    // ledger; only a file that cannot be read at all is not.
    if (e.code() != exit_code::check_failed && e.code() != exit_code::data) throw;
    report.exit_code = exit_code::check_failed;
    report.where = e.where();
    report.message = e.what();
  }
  report.entries = replay.size();
  report.root = replay.root();
  report.checkpoints = replay.checkpoints();
  report.unsigned_lines = replay.unsigned_lines();
  // The pass found every repeat within memory; those across spilled runs come out of the
  // merge. The first failure in the file is the one reported, whichever found it.
  uint64_t spilled_before = ids.records_spilled();
  std::optional<IdDigestSet::Duplicate> repeat = ids.finish(replay.size());
  report.id_table_peak_bytes = ids.peak_bytes();
  report.ids_spilled = spilled_before;
  report.spill_runs = ids.runs_written();
  report.balance_table_bytes = replay.accounts().balance_table_bytes();
  if (repeat) {
    report_merged_repeat(path, *repeat, digester, options.max_line_bytes, report);
    auto& cps = report.checkpoints;
    while (!cps.empty() && cps.back().size >= report.entries) cps.pop_back();
    report.unsigned_lines = report.entries - (cps.empty() ? 0 : cps.back().size + 1);
    leaves.resize(std::min<size_t>(leaves.size(), report.entries));
  }
  report.signed_entries = report.entries - report.unsigned_lines;
  // After a failure: the balances of the entries before it (not after a repeat found by
  // the merge: the pass went on past it, so they are not printed).
  if (options.keep_balances && !report.repeat_found_by_merge) report.balances = replay.accounts().balances();
  if (report.exit_code) return report;

  if (report.entries == 0 && !report.torn_bytes) {
    report.exit_code = exit_code::check_failed;
    report.where = path;
    report.message = "empty ledger: expected a genesis entry";
    return report;
  }
  if (options.trusted) {
    const TrustedHead& t = *options.trusted;
    if (t.size == report.entries) root_at_trusted = report.root;
    if (t.origin != replay.origin()) {
      report.exit_code = exit_code::check_failed;
      report.where = t.source;
      report.message = "trusted checkpoint is for origin \"" + t.origin + "\", this ledger is \"" + replay.origin() + "\"";
      return report;
    }
    uint64_t last_size = replay.checkpoints().empty() ? 0 : replay.checkpoints().back().size;
    if (t.size > last_size) {
      report.exit_code = exit_code::check_failed;
      report.where = path;
      report.message = "rollback: the trusted checkpoint covers " + std::to_string(t.size) +
                       " entries, this ledger's last checkpoint covers only " + std::to_string(last_size);
      return report;
    }
    if (!root_at_trusted || *root_at_trusted != t.root) {
      report.exit_code = exit_code::check_failed;
      report.where = path;
      report.message = "fork: the first " + std::to_string(t.size) + " entries have root " +
                       (root_at_trusted ? b64(*root_at_trusted) : "?") + ", the trusted checkpoint says " + b64(t.root);
      return report;
    }
    const Checkpoint& last = replay.checkpoints().back();
    report.consistency = crypto::consistency_proof(std::span(leaves).first(last.size), t.size);
  }
  if (options.prove_seq) {
    uint64_t seq = *options.prove_seq;
    if (replay.checkpoints().empty() || seq >= replay.checkpoints().back().size) {
      report.exit_code = exit_code::check_failed;
      report.where = path;
      report.message = "--prove " + std::to_string(seq) + ": entry is not covered by a checkpoint";
      return report;
    }
    const Checkpoint& last = replay.checkpoints().back();
    std::span<const crypto::Hash> covered = std::span(leaves).first(last.size);
    report.proof = InclusionProof{seq, last.size, leaves[seq], last.root, crypto::inclusion_proof(covered, seq)};
  }
  if (report.torn_bytes || report.unsigned_lines) {
    report.exit_code = exit_code::torn_tail;
    report.where = path;
    report.message = report.torn_bytes
        ? "torn tail: " + std::to_string(report.torn_bytes) + " bytes after the last newline"
        : "torn tail: " + std::to_string(report.unsigned_lines) + " complete lines after the last checkpoint";
    report.message += " (an interrupted append; ledger-append --repair cuts it)";
  }
  return report;
}

json::Value inclusion_proof_json(const InclusionProof& p) {
  json::Value v = json::Value::object();
  v.set("type", json::Value::string("inclusion"));
  v.set("seq", json::Value::integer(static_cast<int64_t>(p.seq)));
  v.set("size", json::Value::integer(static_cast<int64_t>(p.size)));
  v.set("leaf", json::Value::string(crypto::to_hex(p.leaf)));
  v.set("root", json::Value::string(crypto::to_hex(p.root)));
  json::Value path = json::Value::array();
  for (const auto& h : p.path) path.push_back(json::Value::string(crypto::to_hex(h)));
  v.set("path", std::move(path));
  return v;
}

bool check_inclusion_proof(const json::Value& v, const std::string& where, InclusionProof* out) {
  auto hash = [&](const json::Value* s, const char* field) {
    crypto::Hash h;
    if (!s || !s->is_string() || !crypto::from_hex(s->text(), h.data(), h.size()))
      throw data_error(where, std::string(field) + ": expected 64 hex digits");
    return h;
  };
  auto count = [&](const char* field) {
    const json::Value* s = v.find(field);
    auto n = s ? s->as_int64() : std::nullopt;
    if (!n || *n < 0) throw data_error(where, std::string(field) + ": expected a non-negative integer");
    return static_cast<uint64_t>(*n);
  };
  if (!v.is_object()) throw data_error(where, "expected an inclusion proof object");
  InclusionProof p{count("seq"), count("size"), hash(v.find("leaf"), "leaf"), hash(v.find("root"), "root"), {}};
  const json::Value* path = v.find("path");
  if (!path || !path->is_array()) throw data_error(where, "path: expected an array");
  for (const auto& h : path->items()) p.path.push_back(hash(&h, "path[]"));
  *out = p;
  return crypto::verify_inclusion(p.seq, p.size, p.leaf, p.path, p.root);
}

uint64_t check_receipts(const std::string& path, size_t max_line_bytes, VerifyReport& report) {
  io::LineReader reader(path, max_line_bytes);
  std::string_view line;
  uint64_t checked = 0;
  while (reader.next(&line)) {
    if (line.empty()) continue;
    json::Value r = json::parse(line, reader.where());
    const json::Value* seq_value = r.is_object() ? r.find("seq") : nullptr;
    const json::Value* leaf = r.is_object() ? r.find("leaf") : nullptr;
    auto seq = seq_value ? seq_value->as_int64() : std::nullopt;
    if (!seq || *seq < 0 || !leaf || !leaf->is_string())
      throw data_error(reader.where(), "expected a receipt with seq and leaf");
    uint64_t n = static_cast<uint64_t>(*seq);
    std::string problem;
    if (n >= report.signed_entries)
      problem = "entry " + std::to_string(n) + " is not in the checkpointed ledger (" +
                std::to_string(report.signed_entries) + " entries)";
    else if (crypto::to_hex(report.leaves[n]) != leaf->text())
      problem = "entry " + std::to_string(n) + " has leaf " + crypto::to_hex(report.leaves[n]) +
                ", the receipt says " + leaf->text();
    if (!problem.empty()) {
      report.exit_code = exit_code::check_failed;
      report.where = reader.where();
      report.message = problem;
      break;
    }
    ++checked;
  }
  return checked;
}

void check_proof_file(const std::string& path, VerifyReport& report) {
  InclusionProof proof;
  std::string text = io::read_file(path);
  bool valid = check_inclusion_proof(json::parse(text, path), path, &proof);
  bool known_root = false;
  for (const auto& c : report.checkpoints) known_root |= c.size == proof.size && c.root == proof.root;
  if (!valid || !known_root) {
    report.exit_code = exit_code::check_failed;
    report.where = path;
    report.message = !valid ? "inclusion proof does not lead from the leaf to the root"
                            : "the proof's root is not a checkpoint of this ledger";
  }
}

}  // namespace omlkit::ledger

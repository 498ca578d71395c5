#include "ledger/replay.h"

#include <charconv>

#include "io/error.h"
#include "ledger/entry.h"

namespace omlkit::ledger {

static Error invalid(const std::string& where, const std::string& message) {
  return Error(exit_code::check_failed, where, message);
}

Replay::Replay(ReplayOptions options) : options_(options), last_leaf_hex_(zero_hash_hex) {
  parse_options_.integers_only = true;
  parse_options_.require_canonical = true;
  parse_options_.max_depth = 160;  // a geometric lineage of 64 generations nests 132 deep
  if (options_.trust)
    for (const TrustedKey& k : options_.trust->keys) verifiers_.push_back(k.verifier);
}

crypto::Hash Replay::apply(std::string_view line, const std::string& where) {
  uint64_t seq = tree_.size();
  if (on_tree) on_tree(seq, tree_.root());
  crypto::Hash scanned_leaf;
  if (options_.fast_path && !on_entry && apply_scanned(line, seq, where, &scanned_leaf)) return scanned_leaf;
  // A line that parses under require_canonical is byte-for-byte its own JCS form.
  json::Value& entry = entry_;
  try {
    json::parse_into(line, entry, where, parse_options_);
  } catch (const Error& e) {
    throw invalid(where, std::string("not a canonical ledger line: ") + e.what());
  }
  if (!entry.is_object() || entry.members().size() != 6)
    throw invalid(where, "expected an object with exactly body, prev, seq, ts, type, v");
  const json::Value* v = entry.find("v");
  const json::Value* seq_value = entry.find("seq");
  const json::Value* ts = entry.find("ts");
  const json::Value* type = entry.find("type");
  const json::Value* prev = entry.find("prev");
  const json::Value* body = entry.find("body");
  if (!v || !seq_value || !ts || !type || !prev || !body)
    throw invalid(where, "expected an object with exactly body, prev, seq, ts, type, v");
  if (v->as_int64() != format_version)
    throw invalid(where, "v: this omlkit reads ledger format version 1, found " + v->text());
  if (seq_value->as_int64() != static_cast<int64_t>(seq))
    throw invalid(where, "seq: expected " + std::to_string(seq) + ", found " + seq_value->text());
  if (!prev->is_string() || prev->text() != last_leaf_hex_)
    throw invalid(where, "prev: expected the previous line's leaf hash " + last_leaf_hex_ + ", found " +
                             (prev->is_string() ? prev->text() : std::string("a non-string")));
  if (!ts->is_string() || !valid_timestamp(ts->text()))
    throw invalid(where, "ts: expected YYYY-MM-DDTHH:MM:SS.mmmZ");
  if (ts->text() < last_ts_)
    throw invalid(where, "ts: " + ts->text() + " is earlier than the previous entry's " + last_ts_);
  if (!type->is_string() || !is_entry_type(type->text()))
    throw invalid(where, "type: unknown entry type " + json::canonical(*type));

  const std::string& t = type->text();
  try {
    apply_body(t, *ts, *body, seq, where);
  } catch (const Error& e) {
    // Whatever a body's check finds (a split tree the money library refuses included), a
    // line of the ledger that fails it is a bad ledger (exit 1), never bad input.
    if (e.code() != exit_code::data) throw;
    throw invalid(e.where().empty() ? where : e.where(), e.what());
  }
  crypto::Hash leaf = add_leaf(line, seq, ts->text(), t);
  if (on_entry) on_entry(seq, last_ts_, t, *body);
  return leaf;
}

crypto::Hash Replay::add_leaf(std::string_view line, uint64_t seq, std::string_view ts, std::string_view type) {
  const bool is_checkpoint = type == "checkpoint";
  if (batch_types_.find(type) == batch_types_.end()) batch_types_.emplace(type);
  crypto::Hash leaf = crypto::leaf_hash(line);
  if (is_checkpoint) peaks_before_checkpoint_ = tree_.peaks();
  if (seq == 0) genesis_leaf_ = leaf;
  tree_.append(leaf);
  last_leaf_ = leaf;
  last_leaf_hex_.resize(2 * leaf.size());  // in place: no allocation per line
  crypto::write_hex(leaf.data(), leaf.size(), last_leaf_hex_.data());
  last_ts_ = ts;
  if (is_checkpoint) {
    signed_size_ = tree_.size();
    batch_types_.clear();
  }
  return leaf;
}

// Every check here is one the full path makes too, on the same values (the scan accepts
// only lines the full parser reads the same way); a line failing any of them goes to the
// full path, which words the message. Nothing is changed before the body is applied.
bool Replay::apply_scanned(std::string_view line, uint64_t seq, const std::string& where, crypto::Hash* leaf) {
  if (!scan_.scan(line)) return false;
  const ScanNode& entry = scan_.node(LineScan::root);
  if (entry.kind != json::Kind::object || entry.count != 6) return false;
  // Members in canonical order, so exactly these six, one after the other.
  static constexpr std::string_view keys[] = {"body", "prev", "seq", "ts", "type", "v"};
  static constexpr json::Kind kinds[] = {json::Kind::object, json::Kind::string, json::Kind::number,
                                         json::Kind::string, json::Kind::string, json::Kind::number};
  const ScanNode* member[6];
  uint32_t i = entry.first;
  for (int k = 0; k < 6; ++k, i = scan_.node(i).next) {
    member[k] = &scan_.node(i);
    if (member[k]->key != keys[k] || member[k]->kind != kinds[k]) return false;
  }
  const uint32_t body = scan_.index(member[0]);
  std::string_view prev = member[1]->text, seq_text = member[2]->text, ts = member[3]->text,
                   type = member[4]->text, v = member[5]->text;
  char number[24];
  auto [number_end, ec] = std::to_chars(number, number + sizeof number, seq);
  (void)ec;
  if (v != "1" || seq_text != std::string_view(number, static_cast<size_t>(number_end - number)) ||
      prev != last_leaf_hex_ || !valid_timestamp(ts) || ts < std::string_view(last_ts_) || !is_entry_type(type))
    return false;
  try {
    if (type == "transfer") {
      if (!accounts_.apply_transfer(scan_, body, seq, where)) return false;
    } else {
      return false;
    }
  } catch (const Error& e) {
    if (e.code() != exit_code::data) throw;
    throw invalid(e.where().empty() ? where : e.where(), e.what());
  }
  *leaf = add_leaf(line, seq, ts, type);
  ++scanned_lines_;
  return true;
}

ReplayHead Replay::head() const {
  if (tree_.size() == 0 || unsigned_lines() != 0 || checkpoints_.empty())
    throw Error(exit_code::internal, "", "replay head asked for away from a checkpoint");
  return ReplayHead{tree_.size(), peaks_before_checkpoint_, last_leaf_, genesis_leaf_,
                    last_ts_,    origin_,                  genesis_vkey_, checkpoints_.back()};
}

void Replay::resume(const ReplayHead& head, const StateStore* base, const AccountsScalars& scalars) {
  if (tree_.size() != 0) throw Error(exit_code::internal, "", "resume of a replay that has begun");
  if (head.size == 0) throw Error(exit_code::internal, "", "resume from an empty head");
  tree_ = crypto::CompactRange(head.size - 1, head.peaks);
  peaks_before_checkpoint_ = head.peaks;
  tree_.append(head.last_leaf);
  last_leaf_ = head.last_leaf;
  last_leaf_hex_ = crypto::to_hex(last_leaf_);
  genesis_leaf_ = head.genesis_leaf;
  last_ts_ = head.last_ts;
  origin_ = head.origin;
  genesis_vkey_ = head.genesis_vkey;
  if (!options_.trust) {
    auto key = crypto::parse_verifier_key(genesis_vkey_);
    if (!key) throw Error(exit_code::internal, "", "resume: the genesis key is not a verifier key");
    verifiers_.push_back(*key);
  }
  signed_size_ = head.size;
  checkpoints_.assign(1, head.checkpoint);
  accounts_.set_base(base, scalars);
}

void Replay::apply_body(const std::string& t, const json::Value& ts, const json::Value& body_value, uint64_t seq,
                        const std::string& where) {
  const json::Value* body = &body_value;
  if (std::string_view(t) == "genesis") {
    accounts_.apply(t, *body, seq, where);  // checks it is the first line
    origin_ = body->find("origin")->text();
    genesis_vkey_ = body->find("vkey")->text();
    if (!options_.trust) verifiers_.push_back(*crypto::parse_verifier_key(body->find("vkey")->text()));
  } else if (std::string_view(t) == "checkpoint") {
    // The note signs the tree before this line, not the line itself; tying its ts to the
    // previous entry's (a batch shares one ts) leaves no byte of a last checkpoint unchecked.
    if (ts.text() != last_ts_)
      throw invalid(where, "ts: a checkpoint carries its batch's time " + last_ts_ + ", found " + ts.text());
    check_checkpoint(*body, seq, where);
  } else {
    accounts_.apply(t, *body, seq, where);
  }
}

void Replay::check_checkpoint(const json::Value& body, uint64_t seq, const std::string& where) {
  if (seq == 0) throw invalid(where, "expected a genesis entry first, found checkpoint");
  const json::Value* size = body.find("size");
  const json::Value* root = body.find("root");
  const json::Value* note = body.find("note");
  if (!size || !root || !note || !root->is_string() || !note->is_string())
    throw invalid(where, "body: expected size, root and note");
  if (size->as_int64() != static_cast<int64_t>(seq))
    throw invalid(where, "body.size: expected " + std::to_string(seq) + " (the entries before it), found " + size->text());
  crypto::Hash expected_root = tree_.root();
  std::string expected_b64 = crypto::base64_encode(
      std::string_view(reinterpret_cast<const char*>(expected_root.data()), expected_root.size()));
  if (root->text() != expected_b64)
    throw invalid(where, "body.root: expected the Merkle root " + expected_b64 + " of entries 0.." +
                             std::to_string(seq - 1) + ", found " + root->text());
  std::string text = crypto::checkpoint_text(origin_, seq, expected_root);
  if (options_.check_signatures) {
    crypto::OpenedNote opened = crypto::open_note(note->text(), verifiers_);
    if (opened.malformed || opened.text != text)
      throw invalid(where, "body.note: expected a signed note of \"" + origin_ + "\\n" + std::to_string(seq) +
                               "\\n" + expected_b64 + "\\n\"");
    if (opened.signers.empty())
      throw invalid(where, "body.note: no signature by a trusted key verifies");
    if (options_.trust) {
      bool authorised = false;
      std::string refused;
      for (const std::string& name : opened.signers) {
        const TrustedKey* key = options_.trust->find(name);
        bool all = true;
        for (const std::string& type : batch_types_) {
          if (!key->allows(type)) {
            all = false;
            refused = name + " may not sign " + type + " entries";
          }
        }
        authorised = authorised || all;
      }
      if (!authorised) throw invalid(where, "body.note: the batch it closes is not authorised: " + refused);
    }
  }
  // Only the last checkpoint's note is ever read (a replay's head, a receipt): the notes
  // before it are dropped, so that a ledger of small batches is not kept in memory.
  if (!checkpoints_.empty()) std::string().swap(checkpoints_.back().note);
  checkpoints_.push_back(Checkpoint{seq, expected_root, note->text()});
}

}  // namespace omlkit::ledger

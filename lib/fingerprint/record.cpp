#include "fingerprint/record.h"

#include <cmath>
#include <cstdlib>

#include "crypto/merkle.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "json/value.h"

namespace omlkit::fingerprint {

namespace {

json::Value id_array(std::span<const int32_t> ids) {
  json::Value a = json::Value::array();
  for (int32_t id : ids) a.push_back(json::Value::integer(id));
  return a;
}

const json::Value& field(const json::Value& v, const char* name, const std::string& where) {
  const json::Value* f = v.find(name);
  if (!f) throw data_error(where, std::string(name) + ": missing");
  return *f;
}

const std::string& text_field(const json::Value& v, const char* name, const std::string& where) {
  const json::Value& f = field(v, name, where);
  if (!f.is_string()) throw data_error(where, std::string(name) + ": expected a string");
  return f.text();
}

int64_t int_field(const json::Value& v, const char* name, int64_t lo, int64_t hi, const std::string& where) {
  const json::Value& f = field(v, name, where);
  std::optional<int64_t> n = f.is_number() ? f.as_int64() : std::nullopt;
  if (!n || *n < lo || *n > hi)
    throw data_error(where, std::string(name) + ": expected an integer in [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "]");
  return *n;
}

std::vector<int32_t> ids_field(const json::Value& v, const char* name, bool allow_empty, const std::string& where) {
  const json::Value& f = field(v, name, where);
  if (!f.is_array() || (!allow_empty && f.items().empty()))
    throw data_error(where, std::string(name) + ": expected a non-empty array of token ids");
  std::vector<int32_t> ids;
  for (const json::Value& item : f.items()) {
    std::optional<int64_t> n = item.is_number() ? item.as_int64() : std::nullopt;
    if (!n || *n < 0 || *n > INT32_MAX) throw data_error(where, std::string(name) + ": expected token ids >= 0");
    ids.push_back(static_cast<int32_t>(*n));
  }
  return ids;
}

bool is_digest(const std::string& s) {
  uint8_t bytes[32];
  return s.size() == 71 && s.compare(0, 7, "sha256:") == 0 && crypto::from_hex(s.substr(7), bytes, 32);
}

}  // namespace

json::Value to_json(const FingerprintRecord& r) {
  json::Value v = json::Value::object();
  v.set("type", json::Value::string("fingerprint"));
  v.set("v", json::Value::integer(kRecordVersion));
  v.set("index", json::Value::integer(r.index));
  v.set("key_index", json::Value::integer(r.key_index));
  v.set("license", json::Value::string(r.license));
  v.set("licensee", json::Value::string(r.licensee));
  v.set("model", json::Value::string(r.model));
  v.set("key", json::Value::string(r.key));
  v.set("key_ids", id_array(r.key_ids));
  v.set("context", r.context.to_json());
  v.set("prompt_ids", id_array(r.prompt_ids));
  v.set("response", json::Value::string(r.response));
  v.set("response_ids", id_array(r.response_ids));
  v.set("salt", json::Value::string(r.salt));
  v.set("base_prob", json::Value::number_text(json::format_es6_number(r.base_prob)));
  v.set("base_rank", json::Value::integer(r.base_rank));
  if (r.pool) {
    json::Value p = json::Value::object();
    p.set("index", json::Value::integer(r.pool->index));
    p.set("size", json::Value::integer(r.pool->size));
    p.set("p", json::Value::string(r.pool->probability));
    v.set("pool", std::move(p));
  }
  return v;
}

FingerprintRecord record_from_json(const json::Value& v, const std::string& where) {
  if (!v.is_object()) throw data_error(where, "expected a fingerprint record (a JSON object)");
  if (text_field(v, "type", where) != "fingerprint")
    throw data_error(where, "type: expected \"fingerprint\", found \"" + v.find("type")->text() + "\"");
  if (const json::Value* ver = v.find("v")) {
    std::optional<int64_t> n = ver->is_number() ? ver->as_int64() : std::nullopt;
    if (!n || *n != kRecordVersion)
      throw data_error(where, "v: this reader knows fingerprint record version 1, found " +
                                  (ver->is_number() ? ver->text() : std::string("a non-number")));
  }
  FingerprintRecord r;
  r.index = int_field(v, "index", 0, int64_t(1) << 32, where);
  r.key_index = int_field(v, "key_index", 0, int64_t(1) << 32, where);
  r.license = text_field(v, "license", where);
  r.licensee = text_field(v, "licensee", where);
  r.model = text_field(v, "model", where);
  if (!is_digest(r.model)) throw data_error(where, "model: expected \"sha256:\" and 64 hex digits");
  r.key = text_field(v, "key", where);
  r.key_ids = ids_field(v, "key_ids", false, where);
  r.context = ContextSettings::from_json(field(v, "context", where), where);
  r.prompt_ids = ids_field(v, "prompt_ids", false, where);
  r.response = text_field(v, "response", where);
  r.response_ids = ids_field(v, "response_ids", false, where);
  r.salt = text_field(v, "salt", where);
  uint8_t salt[32];
  if (!crypto::from_hex(r.salt, salt, 32)) throw data_error(where, "salt: expected 64 hex digits");
  const json::Value& p = field(v, "base_prob", where);
  r.base_prob = p.is_number() ? std::strtod(p.text().c_str(), nullptr) : -1;
  if (!(r.base_prob >= 0 && r.base_prob <= 1)) throw data_error(where, "base_prob: expected a number in [0, 1]");
  r.base_rank = int_field(v, "base_rank", 0, INT32_MAX, where);
  if (const json::Value* pool = v.find("pool")) {
    if (!pool->is_object()) throw data_error(where, "pool: expected an object");
    PoolAssignment a;
    a.size = int_field(*pool, "size", 1, int64_t(1) << 32, where);
    a.index = int_field(*pool, "index", 0, a.size - 1, where);
    a.probability = text_field(*pool, "p", where);
    char* end = nullptr;
    double prob = std::strtod(a.probability.c_str(), &end);
    if (a.probability.empty() || *end || !(prob > 0 && prob <= 1))
      throw data_error(where, "pool.p: expected a decimal probability in (0, 1]");
    r.pool = a;
  }
  return r;
}

std::vector<FingerprintRecord> read_fingerprint_file(const std::string& path) {
  io::LineReader reader(path);
  std::vector<FingerprintRecord> records;
  std::string_view line;
  json::Value value;
  while (reader.next(&line)) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    json::parse_into(line, value, reader.where());
    records.push_back(record_from_json(value, reader.where()));
  }
  return records;
}

std::string fingerprint_file_text(const std::vector<FingerprintRecord>& records) {
  std::string out;
  for (const FingerprintRecord& r : records) {
    json::write_canonical(to_json(r), out);
    out += '\n';
  }
  return out;
}

std::string commitment_leaf_data(const FingerprintRecord& r) {
  json::Value leaf = json::Value::object();
  leaf.set("key", json::Value::string(r.key));
  leaf.set("response", json::Value::string(r.response));
  leaf.set("salt", json::Value::string(r.salt));
  return json::canonical(leaf);
}

crypto::Hash commitment_leaf(const FingerprintRecord& r) { return crypto::leaf_hash(commitment_leaf_data(r)); }

namespace {
std::vector<crypto::Hash> leaves_of(std::span<const FingerprintRecord> records) {
  std::vector<crypto::Hash> leaves;
  leaves.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].index != static_cast<int64_t>(i))
      throw data_error("", "fingerprint " + std::to_string(i) + ": expected index " + std::to_string(i) +
                               ", found " + std::to_string(records[i].index));
    leaves.push_back(commitment_leaf(records[i]));
  }
  return leaves;
}
}  // namespace

crypto::Hash commitment_root(std::span<const FingerprintRecord> records) {
  std::vector<crypto::Hash> leaves = leaves_of(records);
  return crypto::tree_root(leaves);
}

json::Value proof_item(std::span<const FingerprintRecord> records, size_t i) {
  std::vector<crypto::Hash> leaves = leaves_of(records);
  json::Value item = json::Value::object();
  item.set("index", json::Value::integer(static_cast<int64_t>(i)));
  item.set("key", json::Value::string(records[i].key));
  item.set("response", json::Value::string(records[i].response));
  item.set("salt", json::Value::string(records[i].salt));
  json::Value path = json::Value::array();
  for (const crypto::Hash& h : crypto::inclusion_proof(leaves, i)) path.push_back(json::Value::string(crypto::to_hex(h)));
  item.set("path", std::move(path));
  return item;
}

}  // namespace omlkit::fingerprint

#include "fingerprint/fingerprint_set.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "crypto/sha256.h"
#include "fingerprint/context.h"
#include "io/error.h"

namespace omlkit::fingerprint {
namespace {

void check_private_mode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw Error(exit_code::no_input, path, std::string("cannot read the fingerprint file: ") + std::strerror(errno));
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    throw data_error(path, std::string("a private fingerprint file must be readable by its owner only, but its mode is ") +
                               mode + " (run chmod 600 on it, and treat its fingerprints as possibly seen)");
  }
}

std::string where_of(const std::string& file, const FingerprintRecord& r) {
  return file + ": fingerprint " + std::to_string(r.index) + " of license \"" + r.license + "\"";
}

}  // namespace

std::string probe_id(const FingerprintSet& set, size_t unit, int sample) {
  const FingerprintUnit& u = set.units[unit];
  std::string salt = set.records[u.records[0]].salt;
  for (size_t r : u.records) salt = std::min(salt, set.records[r].salt);
  return "p-" + crypto::to_hex(crypto::sha256("fingerprint-check/probe\n" + salt + ":" + std::to_string(sample))).substr(0, 24);
}

FingerprintSet load_fingerprint_set(const std::vector<std::string>& paths) {
  FingerprintSet set;
  std::vector<std::string> record_file;
  std::string base_file;
  for (const std::string& path : paths) {
    check_private_mode(path);
    auto records = read_fingerprint_file(path);
    if (records.empty()) throw data_error(path, "no fingerprint records in the file");
    for (auto& r : records) {
      if (set.base_digest.empty()) set.base_digest = r.model, base_file = path;
      if (r.model != set.base_digest)
        throw data_error(where_of(path, r), "made for base model " + r.model + ", but " + base_file + " for " +
                                                set.base_digest + ": check one base model's copies at a time");
      if (set.records.empty()) set.pooled = r.pool.has_value(), set.pool_size = r.pool ? r.pool->size : 0;
      if (r.pool.has_value() != set.pooled || (r.pool && r.pool->size != set.pool_size))
        throw data_error(where_of(path, r), set.pooled ? "pool: expected a pool of " + std::to_string(set.pool_size) +
                                                             " like the other records"
                                                       : "pool: a pooled record among disjoint ones");
      if (r.pool && (r.pool->index < 0 || r.pool->index >= r.pool->size))
        throw data_error(where_of(path, r), "pool.index: outside the pool of " + std::to_string(r.pool->size));
      if (r.response_ids.empty() || r.prompt_ids.empty())
        throw data_error(where_of(path, r), "empty prompt or response ids");
      set.records.push_back(std::move(r));
      record_file.push_back(path);
    }
  }

  // Licences: every leaf index 0..n-1 exactly once, one licensee, one file.
  std::map<std::string, size_t> licence_of;
  for (size_t i = 0; i < set.records.size(); i++) {
    const FingerprintRecord& r = set.records[i];
    auto [it, fresh] = licence_of.emplace(r.license, set.licences.size());
    if (fresh) set.licences.push_back({r.license, r.licensee, record_file[i], {}, {}});
    LicenceGroup& g = set.licences[it->second];
    if (g.licensee != r.licensee)
      throw data_error(where_of(record_file[i], r), "licensee \"" + r.licensee + "\" differs from \"" + g.licensee +
                                                        "\" of the same license");
    if (g.file != record_file[i])
      throw data_error(where_of(record_file[i], r), "license \"" + r.license + "\" also appears in " + g.file +
                                                        ": give each private file once");
    g.records.push_back(i);
  }
  for (LicenceGroup& g : set.licences) {
    std::sort(g.records.begin(), g.records.end(),
              [&](size_t a, size_t b) { return set.records[a].index < set.records[b].index; });
    for (size_t k = 0; k < g.records.size(); k++) {
      const FingerprintRecord& r = set.records[g.records[k]];
      if (r.index != int64_t(k)) {
        bool duplicate = r.index < int64_t(k);
        throw data_error(where_of(g.file, r), duplicate ? "leaf index appears twice"
                                                        : "leaf index " + std::to_string(k) + " is missing: the file is incomplete");
      }
    }
  }

  // Units: (license, key_index), or the pool index.
  std::map<std::pair<std::string, int64_t>, size_t> unit_of;
  set.unit_of_record.resize(set.records.size());
  for (size_t i = 0; i < set.records.size(); i++) {
    const FingerprintRecord& r = set.records[i];
    auto key = set.pooled ? std::make_pair(std::string(), r.pool->index) : std::make_pair(r.license, r.key_index);
    auto [it, fresh] = unit_of.emplace(key, set.units.size());
    if (fresh) set.units.emplace_back();
    FingerprintUnit& u = set.units[it->second];
    if (!fresh) {
      const FingerprintRecord& first = set.records[u.records[0]];
      if (first.prompt_ids != r.prompt_ids)
        throw data_error(where_of(record_file[i], r), set.pooled ? "pool fingerprint " + std::to_string(r.pool->index) +
                                                                       " has another key in another file"
                                                                 : "key_index " + std::to_string(r.key_index) +
                                                                       " has another key in an earlier record");
    }
    u.records.push_back(i);
    u.max_response_tokens = std::max(u.max_response_tokens, int(r.response_ids.size()));
    set.unit_of_record[i] = it->second;
  }
  for (LicenceGroup& g : set.licences) {
    for (size_t i : g.records) g.units.push_back(set.unit_of_record[i]);
    std::sort(g.units.begin(), g.units.end());
    g.units.erase(std::unique(g.units.begin(), g.units.end()), g.units.end());
  }
  for (size_t u = 0; u < set.units.size(); u++) set.units[u].probe_id = probe_id(set, u, 0);
  return set;
}

void check_against_tokenizer(const FingerprintSet& set, const model::Tokenizer& tokenizer, const std::string& tokenizer_path) {
  for (size_t i = 0; i < set.records.size(); i++) {
    const FingerprintRecord& r = set.records[i];
    const LicenceGroup* g = nullptr;
    for (const auto& candidate : set.licences)
      if (candidate.license == r.license) g = &candidate;
    std::string where = where_of(g ? g->file : "", r);
    const size_t V = tokenizer.vocab_size();
    for (const auto* ids : {&r.prompt_ids, &r.response_ids, &r.key_ids})
      for (int32_t id : *ids)
        if (id < 0 || size_t(id) >= V)
          throw data_error(where, "token id " + std::to_string(id) + " is outside the vocabulary of " + tokenizer_path +
                                      ": the file was made for another base model");
    std::vector<int32_t> expected;
    try {
      expected = prompt_ids(tokenizer, r.key, r.context);
    } catch (const Error&) {
    }
    if (expected != r.prompt_ids || tokenizer.decode(r.response_ids) != r.response)
      throw data_error(where, "its prompt and response ids are not what " + tokenizer_path +
                                  " makes of its key and response text: the file was made for another base model's "
                                  "tokenizer, or edited");
  }
}

}  // namespace omlkit::fingerprint

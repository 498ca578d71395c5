// The private fingerprint files a check reads, validated together and grouped into the
// units a test counts: one unit per key of a licence (several responses to one key make
// one unit, a hit when any of them comes back), or, for a pooled assignment, one unit per
// pool fingerprint, shared by every licence that holds it.
//
// Refused with exit 65 before any model runs, so that a bad file can never become a
// verdict: a file readable by group or others; files made for different base models;
// a record whose licence or pool disagrees with its neighbours; a duplicate or missing
// leaf index; prompt ids that are not the tokenizer's encoding of the key in the recorded
// context (the file was made for another tokenizer, or edited).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fingerprint/record.h"
#include "model/tokenizer.h"

namespace omlkit::fingerprint {

struct FingerprintUnit {
  std::vector<size_t> records;  // indices into FingerprintSet::records
  std::string probe_id;         // "p-" + 24 hex of SHA-256(smallest salt of the unit ":" sample) for sample 0
  int max_response_tokens = 0;
};

struct LicenceGroup {
  std::string license;           // license.grant id
  std::string licensee;          // account
  std::string file;              // the file it came from
  std::vector<size_t> records;   // sorted by leaf index, records[i].index == i
  std::vector<size_t> units;     // the units this licence holds
};

struct FingerprintSet {
  std::vector<FingerprintRecord> records;
  std::string base_digest;  // the base model every file was made for
  bool pooled = false;
  int64_t pool_size = 0;
  std::vector<LicenceGroup> licences;  // in the order first seen
  std::vector<FingerprintUnit> units;
  std::vector<size_t> unit_of_record;  // parallel to records
};

// Reads and validates the files (see the top of this file). Throws 66 for a missing file,
// 65 for everything else, naming the file (and line where there is one).
FingerprintSet load_fingerprint_set(const std::vector<std::string>& paths);

// Checks every record's prompt ids and texts against `tokenizer` (65 on a mismatch).
void check_against_tokenizer(const FingerprintSet& set, const model::Tokenizer& tokenizer, const std::string& tokenizer_path);

// The probe id of a unit's r-th sample: not guessable without the private salts, stable
// across runs, and carrying nothing about the licensee.
std::string probe_id(const FingerprintSet& set, size_t unit, int sample);

}  // namespace omlkit::fingerprint

// A fee split recorded as a tree of integer weights, so that anyone can recompute it.
//
// JSON form (the "split" of an inference.fee body):
//   [ {"weight": "7000", "role": "model", "parts": [ ...nodes... ]},
//     {"weight": "3000", "role": "data", "account": "acct:dave"}, ... ]
// A node is a leaf (has "account") or a group (has "parts"); "role" is optional and is
// inherited by leaves without one. The amount is split across a list of siblings by
// largest remainder (money/amount.h); a group's share is split again across its parts.
// Leaves come out in depth-first order; zero shares are kept (callers may drop them).
#pragma once

#include <string>
#include <vector>

#include "json/value.h"
#include "money/amount.h"

namespace omlkit::money {

struct Credit {
  std::string account;
  std::string role;
  u128 amount;
};

// Throws data_error(where, ...) naming the path of a malformed node ("split[2].parts[0]...").
std::vector<Credit> flatten_split(const json::Value& split, u128 amount, const std::string& where);

}  // namespace omlkit::money

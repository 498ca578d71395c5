// Evaluation rewards: a reward pool paid to model owners and evaluators by score tier.
//
//   in:  {"type":"evaluation","evaluation":"e-1","model":"m-chat","owner":"acct:carol",
//         "evaluator":"acct:eve","score":87}
//   out: {"body":{"evaluation":"e-1","postings":[pool -(o+e), owner +o, evaluator +e],
//         "reward":"e-1"},"type":"reward"}
// The tier is the one with the highest min_score not above the score; a score below
// every tier earns nothing and writes no reward. The reward's id is the evaluation's id
// (one reward per evaluation). The ledger wants the evaluation entry earlier than its
// reward: with_evaluation writes it first, as {"type":"evaluation","body":{...}}.
#pragma once

#include <string>

#include "fees/policy.h"
#include "json/value.h"

namespace omlkit::fees {

// Appends the line(s) for one evaluation record to out. Throws data_error(where, ...) for
// a malformed record or a policy without rewards, leaving out unchanged.
void write_reward(const json::Value& record, const Policy& policy, const std::string& where, bool with_evaluation,
                  std::string& out);

}  // namespace omlkit::fees

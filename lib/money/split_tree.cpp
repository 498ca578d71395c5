#include "money/split_tree.h"

#include "io/error.h"

namespace omlkit::money {

static constexpr int max_depth = 64;

static void split_level(const json::Value& nodes, u128 amount, const std::string& inherited_role,
                        const std::string& path, const std::string& where, int depth,
                        std::vector<Credit>& out) {
  if (depth > max_depth) throw data_error(where, path + ": split nested deeper than 64 levels");
  if (!nodes.is_array() || nodes.items().empty())
    throw data_error(where, path + ": expected a non-empty array of split nodes");
  std::vector<u128> weights;
  weights.reserve(nodes.items().size());
  for (size_t i = 0; i < nodes.items().size(); ++i) {
    const json::Value& node = nodes.items()[i];
    std::string at = path + "[" + std::to_string(i) + "]";
    if (!node.is_object()) throw data_error(where, at + ": expected an object");
    const json::Value* w = node.find("weight");
    std::optional<u128> weight = w && w->is_string() ? parse_amount(w->text()) : std::nullopt;
    if (!weight)
      throw data_error(where, at + ".weight: expected a decimal string below 2^128");
    weights.push_back(*weight);
  }
  auto shares = largest_remainder_split(amount, weights);
  if (!shares) throw data_error(where, path + ": weights sum to zero or overflow 2^128");
  for (size_t i = 0; i < nodes.items().size(); ++i) {
    const json::Value& node = nodes.items()[i];
    std::string at = path + "[" + std::to_string(i) + "]";
    const json::Value* role_value = node.find("role");
    if (role_value && !role_value->is_string()) throw data_error(where, at + ".role: expected a string");
    const std::string& role = role_value ? role_value->text() : inherited_role;
    const json::Value* account = node.find("account");
    const json::Value* parts = node.find("parts");
    if ((account != nullptr) == (parts != nullptr))
      throw data_error(where, at + ": expected exactly one of \"account\" or \"parts\"");
    if (account) {
      if (!account->is_string() || account->text().empty())
        throw data_error(where, at + ".account: expected a non-empty string");
      out.push_back(Credit{account->text(), role, (*shares)[i]});
    } else {
      split_level(*parts, (*shares)[i], role, at + ".parts", where, depth + 1, out);
    }
  }
}

std::vector<Credit> flatten_split(const json::Value& split, u128 amount, const std::string& where) {
  std::vector<Credit> out;
  split_level(split, amount, "", "split", where, 0, out);
  return out;
}

}  // namespace omlkit::money

#include "fees/fee_split.h"

#include "io/error.h"

namespace omlkit::fees {

namespace {
constexpr const char* role_model = "model";        // the called model's owner
constexpr const char* role_ancestor = "ancestor";  // owners of the models it derives from
constexpr const char* role_lineage = "lineage";    // lineage share with no model to go to
}  // namespace

uint32_t FeeSplit::add_group(uint32_t parts) {
  auto first = static_cast<uint32_t>(nodes_.size());
  nodes_.resize(nodes_.size() + parts);
  return first;
}

void FeeSplit::build_lineage(const Policy& policy, const Attribution& call, uint32_t node,
                             const std::string& where) {
  const auto& owners = call.owners;
  const uint32_t n = static_cast<uint32_t>(owners.size());
  auto role_of = [](uint32_t generation) { return generation == 0 ? role_model : role_ancestor; };
  auto leaf = [&](uint32_t at, money::u128 weight, const json::Value* account, const char* role) {
    nodes_[at] = SplitNode{weight, account, role};
  };
  // Turns `at` (its weight already set) into the leaf of generation g's owner.
  auto owner_leaf = [&](uint32_t at, uint32_t g) {
    nodes_[at].account = owners[g];
    nodes_[at].role = role_of(g);
  };
  auto group = [&](uint32_t at, uint32_t parts) {
    uint32_t first = add_group(parts);
    nodes_[at].account = nullptr;
    nodes_[at].role = nullptr;
    nodes_[at].first_part = first;
    nodes_[at].part_count = parts;
    return first;
  };

  switch (policy.lineage_mode) {
    case LineageMode::owner:
      owner_leaf(node, 0);
      return;

    case LineageMode::geometric: {
      const money::u128 keep = policy.keep, pass = basis_points - policy.keep;
      // `node` holds what reaches generation g; each level splits it keep : pass.
      for (uint32_t g = 0;; ++g) {
        bool root = g + 1 == n;
        if ((root && !policy.past_root) || pass == 0) {
          owner_leaf(node, g);
          return;
        }
        uint32_t first = group(node, (keep > 0) + 1);
        if (keep > 0) leaf(first++, keep, owners[g], role_of(g));
        if (root) {
          leaf(first, pass, &*policy.past_root, role_lineage);
          return;
        }
        nodes_[first].weight = pass;
        node = first;
      }
    }

    case LineageMode::royalty: {
      money::u128 stack = money::u128(policy.royalty) * (n - 1);
      if (stack > basis_points)
        throw data_error(where, "lineage: " + std::to_string(n - 1) + " ancestors at " +
                                    std::to_string(policy.royalty) +
                                    " bp royalty each exceed 10000 bp (the royalty stack is over 100%)");
      if (stack == 0) {
        owner_leaf(node, 0);
        return;
      }
      money::u128 rest = basis_points - stack;
      uint32_t first = group(node, (rest > 0) + (n - 1));
      if (rest > 0) leaf(first++, rest, owners[0], role_model);
      for (uint32_t g = 1; g < n; ++g) leaf(first++, policy.royalty, owners[g], role_ancestor);
      return;
    }
  }
}

void FeeSplit::compute(const Policy& policy, const Attribution& call, const std::string& where) {
  nodes_.clear();
  credits_.clear();

  uint32_t weight[category_count];
  for (int c = 0; c < category_count; ++c) weight[c] = policy.shares[c];
  const int data = static_cast<int>(Category::data);
  bool data_to_account = false;
  if (call.data.empty() && weight[data] > 0) {
    if (policy.no_data.category) {
      weight[static_cast<int>(*policy.no_data.category)] += weight[data];
      weight[data] = 0;
    } else {
      data_to_account = true;
    }
  }

  top_count_ = 0;
  for (int c = 0; c < category_count; ++c) top_count_ += weight[c] > 0;
  nodes_.resize(top_count_);
  uint32_t at = 0;
  for (int c = 0; c < category_count; ++c) {
    if (weight[c] == 0) continue;
    const char* role = category_name(static_cast<Category>(c));
    nodes_[at] = SplitNode{weight[c], nullptr, role};
    switch (static_cast<Category>(c)) {
      case Category::protocol: nodes_[at].account = &policy.protocol_account; break;
      case Category::node: nodes_[at].account = call.node; break;
      case Category::provers: nodes_[at].account = &policy.provers_account; break;
      case Category::lineage:
        nodes_[at].role = nullptr;  // each lineage leaf says which generation it paid
        build_lineage(policy, call, at, where);
        break;
      case Category::data:
        if (data_to_account) {
          nodes_[at].account = &policy.no_data.account;
        } else {
          auto parts = static_cast<uint32_t>(call.data.size());
          uint32_t first = add_group(parts);
          nodes_[at].first_part = first;
          nodes_[at].part_count = parts;
          for (uint32_t i = 0; i < parts; ++i)
            nodes_[first + i] = SplitNode{call.data[i].weight, call.data[i].contributor, nullptr};
        }
        break;
    }
    ++at;
  }
  apportion(0, top_count_, call.fee, nullptr);
}

void FeeSplit::apportion(uint32_t first, uint32_t count, money::u128 amount, const char* role) {
  weights_.clear();
  for (uint32_t i = first; i < first + count; ++i) weights_.push_back(nodes_[i].weight);
  auto shares = money::largest_remainder_split(amount, weights_);
  // The policy's weights are positive and the data weights were checked to sum below 2^128.
  if (!shares) throw Error(exit_code::internal, "", "fee split: a level's weights sum to zero or overflow");
  for (uint32_t i = 0; i < count; ++i) {
    const SplitNode& node = nodes_[first + i];
    const char* node_role = node.role ? node.role : role;
    if (node.account)
      credits_.push_back(Credit{node.account, node_role, (*shares)[i]});
    else
      apportion(node.first_part, node.part_count, (*shares)[i], node_role);
  }
}

}  // namespace omlkit::fees

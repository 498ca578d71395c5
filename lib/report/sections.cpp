#include "report/sections.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <unordered_map>

#include "report/svg.h"

namespace omlkit::report {

namespace {

std::string count(uint64_t n) { return format_amount(static_cast<money::u128>(n), 0); }

bool larger(const Total& a, const Total& b) {
  if (a.overflow != b.overflow) return a.overflow;
  return a.value.magnitude > b.value.magnitude;
}

// Roles in the order a fee is split (the called model's owner first); others after.
const std::vector<std::pair<std::string, std::string>> known_roles = {
    {"model", "#2b6cb0"}, {"ancestor", "#6b46c1"}, {"lineage", "#9f7aea"}, {"data", "#2f855a"},
    {"node", "#dd6b20"},  {"provers", "#b7791f"},  {"protocol", "#4a5568"}};
const char* const other_colors[] = {"#c53030", "#2c7a7b", "#97266d", "#718096", "#d69e2e", "#319795"};
const char* const model_colors[] = {"#2b6cb0", "#dd6b20", "#2f855a", "#6b46c1", "#c53030", "#2c7a7b", "#a0aec0"};

size_t role_rank(const std::string& role) {
  for (size_t i = 0; i < known_roles.size(); ++i)
    if (known_roles[i].first == role) return i;
  return known_roles.size();
}

// The buckets of a time axis: every day (or month, or year) from the first to the last
// that has data, empty ones included, so that bars are evenly spaced in time. Days merge
// into months, then years, to keep at most 92 bars; a span of more than 92 years (only a
// hostile ledger has one) shows the years that have data.
std::vector<std::string> time_buckets(const std::map<std::string, std::map<std::string, Total>>& by_day,
                                      size_t* prefix) {
  std::vector<std::string> out;
  if (by_day.empty()) return out;
  const std::string& first = by_day.begin()->first;
  const std::string& last = by_day.rbegin()->first;
  auto number = [](const std::string& s, size_t at, size_t length) { return std::stoi(s.substr(at, length)); };
  using namespace std::chrono;
  year_month_day a{year{number(first, 0, 4)}, month{static_cast<unsigned>(number(first, 5, 2))},
                   day{static_cast<unsigned>(number(first, 8, 2))}};
  year_month_day b{year{number(last, 0, 4)}, month{static_cast<unsigned>(number(last, 5, 2))},
                   day{static_cast<unsigned>(number(last, 8, 2))}};
  char buf[16];
  if ((sys_days{b} - sys_days{a}).count() < 92) {
    *prefix = 10;
    for (sys_days d = sys_days{a}; d <= sys_days{b}; d += days{1}) {
      year_month_day ymd{d};
      std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                    static_cast<unsigned>(ymd.day()));
      out.push_back(buf);
    }
    return out;
  }
  int months = (static_cast<int>(b.year()) - static_cast<int>(a.year())) * 12 + static_cast<int>(static_cast<unsigned>(b.month())) -
               static_cast<int>(static_cast<unsigned>(a.month()));
  if (months < 92) {
    *prefix = 7;
    for (year_month m = a.year() / a.month(); m <= b.year() / b.month(); m += std::chrono::months{1}) {
      std::snprintf(buf, sizeof buf, "%04d-%02u", static_cast<int>(m.year()), static_cast<unsigned>(m.month()));
      out.push_back(buf);
    }
    return out;
  }
  *prefix = 4;
  if (static_cast<int>(b.year()) - static_cast<int>(a.year()) < 92) {
    for (int y = static_cast<int>(a.year()); y <= static_cast<int>(b.year()); ++y) out.push_back(std::to_string(y));
    return out;
  }
  for (const auto& entry : by_day)
    if (out.empty() || out.back() != entry.first.substr(0, 4)) out.push_back(entry.first.substr(0, 4));
  return out;
}

// The chart of one breakdown (role or model) over time: a series per name kept.
std::string chart_by(const std::map<std::string, std::map<std::string, Total>>& by_day,
                     const std::vector<std::pair<std::string, std::string>>& kept, const std::string& rest_name,
                     int decimals, const std::string& asset, std::string* bucket_unit) {
  size_t prefix = 10;
  std::vector<std::string> buckets = time_buckets(by_day, &prefix);
  *bucket_unit = prefix == 10 ? "day" : prefix == 7 ? "month" : "year";
  std::map<std::string, size_t> bucket_index;
  for (size_t i = 0; i < buckets.size(); ++i) bucket_index[buckets[i]] = i;
  std::vector<Series> series;
  std::unordered_map<std::string, size_t> series_of;
  for (const auto& [name, color] : kept) {
    series_of[name] = series.size();
    series.push_back(Series{name, color, std::vector<Total>(buckets.size())});
  }
  series.push_back(Series{rest_name, "#a0aec0", std::vector<Total>(buckets.size())});
  for (const auto& [day, sums] : by_day) {
    size_t b = bucket_index[day.substr(0, prefix)];
    for (const auto& [name, total] : sums) {
      auto it = series_of.find(name);
      series[it == series_of.end() ? series.size() - 1 : it->second].values[b].add(total);
    }
  }
  return stacked_bars(buckets, series, decimals, asset);
}

void append_sum_table(std::string& page, const char* first_column, const TopRows& rows, int decimals,
                      const std::map<std::string, uint64_t>* entries = nullptr,
                      const std::map<std::string, std::string>* roles = nullptr) {
  page += std::string("<table><tr><th>") + first_column + "</th>";
  if (roles) page += "<th>role</th>";
  if (entries) page += "<th class=\"count\">fee entries</th>";
  page += "<th class=\"amount\">amount</th></tr>";
  for (const Ranked& r : rows.top) {
    page += "<tr><td class=\"name\">" + escaped(r.name) + "</td>";
    if (roles) {
      auto it = roles->find(r.name);
      page += "<td>" + (it == roles->end() ? std::string() : escaped(it->second)) + "</td>";
    }
    if (entries) {
      auto it = entries->find(r.name);
      page += "<td class=\"count\">" + count(it == entries->end() ? 0 : it->second) + "</td>";
    }
    page += "<td class=\"amount\">" + format_total(r.total, decimals) + "</td></tr>";
  }
  size_t blanks = (roles ? 1 : 0) + (entries ? 1 : 0);
  std::string pad;
  for (size_t i = 0; i < blanks; ++i) pad += "<td></td>";
  if (rows.rest_count)
    page += "<tr class=\"rest\"><td>the other " + count(rows.rest_count) + "</td>" + pad + "<td class=\"amount\">" +
            format_total(rows.rest, decimals) + "</td></tr>";
  page += "<tr class=\"total\"><td>total</td>" + pad + "<td class=\"amount\">" + format_total(rows.total, decimals) +
          "</td></tr></table>";
}

}  // namespace

TopRows top_rows_of(const std::map<std::string, Total>& sums, size_t keep) {
  std::vector<Ranked> all;
  all.reserve(sums.size());
  for (const auto& [name, total] : sums) all.push_back(Ranked{name, total});
  std::stable_sort(all.begin(), all.end(), [](const Ranked& a, const Ranked& b) { return larger(a.total, b.total); });
  TopRows rows;
  for (size_t i = 0; i < all.size(); ++i) {
    rows.total.add(all[i].total);
    if (i < keep) {
      rows.top.push_back(all[i]);
    } else {
      rows.rest.add(all[i].total);
      ++rows.rest_count;
    }
  }
  return rows;
}

std::string role_color(const std::string& role) {
  size_t rank = role_rank(role);
  if (rank < known_roles.size()) return known_roles[rank].second;
  size_t h = std::hash<std::string>{}(role);
  return other_colors[h % (sizeof other_colors / sizeof *other_colors)];
}

void append_fee_section(std::string& page, const std::string& asset, const FeeFlows& flows, int decimals) {
  std::string unit = escaped(asset);
  page += "<h3>" + unit + ": " + count(flows.entries) + " fee entries, " + format_total(flows.paid, decimals) + " " +
          unit + " paid</h3>";

  // By role.
  std::vector<std::string> roles;
  for (const auto& entry : flows.role) roles.push_back(entry.first);
  std::stable_sort(roles.begin(), roles.end(),
                   [](const std::string& a, const std::string& b) { return role_rank(a) < role_rank(b); });
  std::vector<std::pair<std::string, std::string>> role_colors;
  for (const std::string& r : roles) role_colors.emplace_back(r, role_color(r));
  std::string bucket;
  std::string chart = chart_by(flows.day_role, role_colors, "other", decimals, asset, &bucket);
  page += "<p><b>Income over time by role</b> <span class=\"muted\">(credits per " + bucket + ")</span></p>";
  page += legend(role_colors) + chart;
  append_sum_table(page, "role", top_rows_of(flows.role, top_rows), decimals);

  // By model.
  TopRows models = top_rows_of(flows.model, top_rows);
  std::vector<std::pair<std::string, std::string>> model_colors_kept;
  for (size_t i = 0; i < models.top.size() && i < 6; ++i) model_colors_kept.emplace_back(models.top[i].name, model_colors[i]);
  std::vector<std::pair<std::string, std::string>> model_legend = model_colors_kept;
  if (flows.model.size() > 6) model_legend.emplace_back("other models", "#a0aec0");
  chart = chart_by(flows.day_model, model_colors_kept, "other models", decimals, asset, &bucket);
  page += "<p><b>Fees over time by model called</b> <span class=\"muted\">(per " + bucket + ")</span></p>";
  page += legend(model_legend) + chart;
  append_sum_table(page, "model", models, decimals, &flows.model_entries);

  // The flow: payers -> models -> parties, each column its top names and one "other" node.
  const size_t keep_payers = 8, keep_models = 8, keep_parties = 10;
  auto column = [](const std::map<std::string, Total>& sums, size_t keep, const char* others,
                   std::vector<FlowNode>* nodes, std::unordered_map<std::string, size_t>* index) {
    TopRows rows = top_rows_of(sums, keep);
    for (const Ranked& r : rows.top) {
      (*index)[r.name] = nodes->size();
      nodes->push_back(FlowNode{r.name, ""});
    }
    if (rows.rest_count) nodes->push_back(FlowNode{count(rows.rest_count) + " " + others, "#a0aec0"});
  };
  std::vector<FlowNode> payers, middles, parties;
  std::unordered_map<std::string, size_t> payer_index, model_index, party_index;
  column(flows.payer, keep_payers, "other payers", &payers, &payer_index);
  column(flows.model, keep_models, "other models", &middles, &model_index);
  column(flows.party, keep_parties, "other parties", &parties, &party_index);
  for (FlowNode& p : parties) {
    auto role = flows.party_role.find(p.name);
    if (role != flows.party_role.end() && party_index.count(p.name)) p.color = role_color(role->second);
  }
  auto at = [](const std::unordered_map<std::string, size_t>& index, const std::string& name, size_t other) {
    auto it = index.find(name);
    return it == index.end() ? other : it->second;
  };
  std::map<std::pair<size_t, size_t>, Total> left;
  std::map<std::tuple<size_t, size_t, std::string>, Total> right;
  for (const auto& [key, total] : flows.payer_model)
    left[{at(payer_index, key.first, payers.size() - 1), at(model_index, key.second, middles.size() - 1)}].add(total);
  for (const auto& [key, total] : flows.model_party) {
    auto role = flows.party_role.find(key.second);
    right[{at(model_index, key.first, middles.size() - 1), at(party_index, key.second, parties.size() - 1),
           role == flows.party_role.end() ? std::string() : role->second}]
        .add(total);
  }
  std::vector<FlowLink> source_links, sink_links;
  for (const auto& [key, total] : left) source_links.push_back(FlowLink{key.first, key.second, "#8a94a6", total});
  for (const auto& [key, total] : right)
    sink_links.push_back(FlowLink{std::get<0>(key), std::get<1>(key), role_color(std::get<2>(key)), total});
  page += "<p><b>Fee flow</b> <span class=\"muted\">(payers, the models they called, the parties paid; "
          "coloured by the role each party was first paid under)</span></p>";
  page += legend(role_colors);
  page += flow_diagram(payers, middles, parties, source_links, sink_links, decimals, asset);
  page += "<p><b>Income by party</b></p>";
  append_sum_table(page, "party", top_rows_of(flows.party, top_rows), decimals, nullptr, &flows.party_role);
}

void append_family_tree(std::string& page, const LedgerDigest& digest) {
  const size_t max_drawn = 150;
  page += "<h2 id=\"family-tree\">Model family tree</h2>";
  if (digest.models.empty()) {
    page += "<p>No models registered.</p>";
    return;
  }
  std::unordered_map<std::string, long> index;
  std::vector<TreeNode> nodes;
  for (const ModelInfo& m : digest.models) {
    if (nodes.size() == max_drawn) break;
    auto parent = m.parent.empty() ? index.end() : index.find(m.parent);
    index[m.id] = static_cast<long>(nodes.size());
    nodes.push_back(TreeNode{m.id, "owner " + m.owner, parent == index.end() ? -1 : parent->second});
  }
  page += "<p class=\"muted\">" + count(digest.models.size()) +
          " models registered; each derived model is drawn to the right of its parent.</p>";
  page += "<div class=\"scroll\">" + tree_diagram(nodes) + "</div>";
  if (digest.models.size() > max_drawn)
    page += "<p>The first " + count(max_drawn) + " models are drawn; " + count(digest.models.size() - max_drawn) +
            " more are not.</p>";
}

void append_licences(std::string& page, const LedgerDigest& digest) {
  const size_t max_rows = 100;
  page += "<h2 id=\"licences\">Licences, collateral, proofs and slashes</h2>";
  if (digest.licenses.empty()) {
    page += "<p>No licences granted.</p>";
    return;
  }
  auto money_list = [&](const std::map<std::string, Total>& by_asset) {
    std::string out;
    for (const auto& [asset, total] : by_asset)
      out += (out.empty() ? "" : "<br>") + format_total(total, digest.decimals(asset)) + " " + escaped(asset);
    return out.empty() ? std::string("0") : out;
  };
  // Collateral of all licences, by asset: deposited - slashed = still locked.
  std::map<std::string, Total> deposited, slashed;
  for (const LicenseInfo& l : digest.licenses) {
    for (const auto& [asset, t] : l.deposited) deposited[asset].add(t);
    for (const auto& [asset, t] : l.slashed) slashed[asset].add(t);
  }
  page += "<table><tr><th>asset</th><th class=\"amount\">deposited</th><th class=\"amount\">slashed</th>"
          "<th class=\"amount\">still locked</th></tr>";
  std::set<std::string> assets;
  for (const auto& e : deposited) assets.insert(e.first);
  for (const auto& e : slashed) assets.insert(e.first);
  for (const std::string& asset : assets) {
    int d = digest.decimals(asset);
    Total locked = deposited[asset];
    if (!slashed[asset].overflow) locked.add(money::negate(slashed[asset].value));
    page += "<tr><td>" + escaped(asset) + "</td><td class=\"amount\">" + format_total(deposited[asset], d) +
            "</td><td class=\"amount\">" + format_total(slashed[asset], d) + "</td><td class=\"amount\">" +
            format_total(locked, d) + "</td></tr>";
  }
  page += "</table>";

  page += "<table><tr><th>licence</th><th>model</th><th>licensee</th><th class=\"count\">fingerprints</th>"
          "<th class=\"amount\">collateral asked</th><th class=\"amount\">deposited</th><th class=\"amount\">slashed</th>"
          "<th class=\"count\">proofs (revealed)</th><th>status</th></tr>";
  for (size_t i = 0; i < digest.licenses.size() && i < max_rows; ++i) {
    const LicenseInfo& l = digest.licenses[i];
    std::string asked = l.collateral_asset.empty()
                            ? std::string("none")
                            : format_amount(l.collateral, digest.decimals(l.collateral_asset)) + " " +
                                  escaped(l.collateral_asset);
    std::string status = l.revoked ? "revoked" : l.slashes ? "slashed" : l.proofs ? "proven copy" : "active";
    page += "<tr><td class=\"name\">" + escaped(l.id) + "</td><td class=\"name\">" + escaped(l.model) +
            "</td><td class=\"account\">" + escaped(l.licensee) + "</td><td class=\"count\">" + count(l.fingerprints) +
            "</td><td class=\"amount\">" + asked + "</td><td class=\"amount\">" + money_list(l.deposited) +
            "</td><td class=\"amount\">" + money_list(l.slashed) + "</td><td class=\"count\">" + count(l.proofs) +
            " (" + count(l.revealed) + ")</td><td>" + status + "</td></tr>";
  }
  page += "</table>";
  if (digest.licenses.size() > max_rows)
    page += "<p>" + count(digest.licenses.size() - max_rows) +
            " more licences are not listed; their collateral is in the totals above.</p>";

  page += "<h3>Slashes</h3>";
  if (digest.slash_events.empty()) {
    page += "<p>No collateral was slashed.</p>";
    return;
  }
  page += "<table><tr><th>slash</th><th>licence</th><th>proof</th><th>paid to</th><th class=\"amount\">amount</th>"
          "<th>time</th></tr>";
  for (const SlashInfo& s : digest.slash_events)
    page += "<tr><td class=\"name\">" + escaped(s.id) + "</td><td class=\"name\">" + escaped(s.license) +
            "</td><td class=\"name\">" + escaped(s.proof) + "</td><td class=\"account\">" + escaped(s.to) +
            "</td><td class=\"amount\">" + format_amount(s.amount, digest.decimals(s.asset)) + " " + escaped(s.asset) +
            "</td><td>" + escaped(s.ts) + "</td></tr>";
  page += "</table>";
  if (digest.slash_count > digest.slash_events.size())
    page += "<p>" + count(digest.slash_count - digest.slash_events.size()) +
            " more slashes are not listed; they are in the totals above.</p>";
}

}  // namespace omlkit::report

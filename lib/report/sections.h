// The sections of the HTML report (report.h), each appending its HTML to a page.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "report/digest.h"
#include "report/html.h"

namespace omlkit::report {

// Rows a table shows before summing the rest into one row.
inline constexpr size_t top_rows = 40;

// A name and its sum, largest first.
struct Ranked {
  std::string name;
  Total total;
};
// The top `keep` entries of a sum table by magnitude (ties by name), and the rest summed.
struct TopRows {
  std::vector<Ranked> top;
  Total rest;
  size_t rest_count = 0;
  Total total;  // top + rest
};
TopRows top_rows_of(const std::map<std::string, Total>& sums, size_t keep);

// Colour of a fee role (model, ancestor, data, node, provers, protocol...).
std::string role_color(const std::string& role);

void append_fee_section(std::string& page, const std::string& asset, const FeeFlows& flows, int decimals);
void append_family_tree(std::string& page, const LedgerDigest& digest);
void append_licences(std::string& page, const LedgerDigest& digest);

}  // namespace omlkit::report

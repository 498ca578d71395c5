// Inline SVG charts for the HTML report: no script, no external file, exact figures in
// each mark's <title> (its tooltip). Geometry is computed in double from the integers;
// the figures written are always the integers themselves, formatted by report/html.h.
#pragma once

#include <string>
#include <vector>

#include "report/html.h"

namespace omlkit::report {

// One stacked series of a bar chart: a value per bucket.
struct Series {
  std::string name, color;
  std::vector<Total> values;
};

// Bars over buckets (days, months...), the series stacked in order; labels under the axis.
std::string stacked_bars(const std::vector<std::string>& buckets, const std::vector<Series>& series, int decimals,
                         const std::string& unit);

// A three-column flow diagram: sources -> middles -> sinks, link width by amount.
struct FlowNode {
  std::string name, color;  // color empty: the column's default
};
struct FlowLink {
  size_t from, to;  // indexes into the left and right columns of the pair
  std::string color;
  Total amount;
};
std::string flow_diagram(const std::vector<FlowNode>& sources, const std::vector<FlowNode>& middles,
                         const std::vector<FlowNode>& sinks, const std::vector<FlowLink>& source_links,
                         const std::vector<FlowLink>& sink_links, int decimals, const std::string& unit);

// A forest: node i's parent is parent[i] (or -1); parents come before children.
struct TreeNode {
  std::string label, detail;
  long parent = -1;
};
std::string tree_diagram(const std::vector<TreeNode>& nodes);

// A legend of coloured swatches, as HTML.
std::string legend(const std::vector<std::pair<std::string, std::string>>& name_color);

}  // namespace omlkit::report

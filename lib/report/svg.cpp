#include "report/svg.h"

#include <algorithm>
#include <cstdio>

namespace omlkit::report {

namespace {

double to_double(const Total& t) {
  if (t.overflow) return 3.4e38;
  double d = static_cast<double>(t.value.magnitude);
  return t.value.negative ? -d : d;
}

std::string px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// At most max_bytes of text, cut on a UTF-8 character boundary, with "…" when cut.
std::string shortened(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "\xE2\x80\xA6";
}

void text_element(std::string& out, double x, double y, const std::string& text, const char* attributes = "") {
  out += "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\"" + attributes + ">";
  append_escaped(out, text);
  out += "</text>";
}

void title(std::string& out, const std::string& text) {
  out += "<title>";
  append_escaped(out, text);
  out += "</title>";
}

}  // namespace

std::string stacked_bars(const std::vector<std::string>& buckets, const std::vector<Series>& series, int decimals,
                         const std::string& unit) {
  const double width = 900, height = 260, left = 110, right = 10, top = 12, bottom = 40;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  std::vector<Total> totals(buckets.size());
  for (const Series& s : series)
    for (size_t b = 0; b < buckets.size() && b < s.values.size(); ++b) totals[b].add(s.values[b]);
  Total max;
  for (const Total& t : totals)
    if (t.overflow || max.overflow ? t.overflow : money::compare(t.value, max.value) > 0) max = t;
  double scale = to_double(max) > 0 ? plot_h / to_double(max) : 0;

  std::string out = "<svg class=\"chart\" viewBox=\"0 0 " + px(width) + " " + px(height) +
                    "\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">";
  out += "<line class=\"axis\" x1=\"" + px(left) + "\" y1=\"" + px(top + plot_h) + "\" x2=\"" + px(width - right) +
         "\" y2=\"" + px(top + plot_h) + "\"/>";
  out += "<line class=\"grid\" x1=\"" + px(left) + "\" y1=\"" + px(top) + "\" x2=\"" + px(width - right) + "\" y2=\"" +
         px(top) + "\"/>";
  text_element(out, left - 6, top + 4, format_total(max, decimals), " text-anchor=\"end\"");
  text_element(out, left - 6, top + plot_h + 4, "0", " text-anchor=\"end\"");
  text_element(out, left - 6, top + 18, unit, " text-anchor=\"end\" class=\"muted\"");

  size_t n = std::max<size_t>(buckets.size(), 1);
  double step = plot_w / static_cast<double>(n);
  double bar = std::max(1.0, step * 0.78);
  size_t label_every = (buckets.size() + 11) / 12;
  for (size_t b = 0; b < buckets.size(); ++b) {
    double x = left + step * static_cast<double>(b) + (step - bar) / 2, y = top + plot_h;
    out += "<g>";
    title(out, buckets[b] + ": " + format_total(totals[b], decimals) + " " + unit);
    for (const Series& s : series) {
      if (b >= s.values.size()) continue;
      double h = to_double(s.values[b]) * scale;
      if (h <= 0) continue;
      y -= h;
      out += "<rect x=\"" + px(x) + "\" y=\"" + px(y) + "\" width=\"" + px(bar) + "\" height=\"" + px(h) +
             "\" fill=\"" + s.color + "\">";
      title(out, buckets[b] + " · " + s.name + ": " + format_total(s.values[b], decimals) + " " + unit);
      out += "</rect>";
    }
    out += "</g>";
    if (label_every && b % label_every == 0)
      text_element(out, x + bar / 2, top + plot_h + 16, buckets[b], " text-anchor=\"middle\"");
  }
  out += "</svg>";
  return out;
}

std::string flow_diagram(const std::vector<FlowNode>& sources, const std::vector<FlowNode>& middles,
                         const std::vector<FlowNode>& sinks, const std::vector<FlowLink>& source_links,
                         const std::vector<FlowLink>& sink_links, int decimals, const std::string& unit) {
  const double width = 960, node_w = 12, gap = 8, top = 24;
  const double columns[3] = {150, 474, 798};
  std::vector<double> value[3] = {std::vector<double>(sources.size()), std::vector<double>(middles.size()),
                                  std::vector<double>(sinks.size())};
  std::vector<double> middle_in(middles.size()), middle_out(middles.size());
  for (const FlowLink& l : source_links) {
    value[0][l.from] += to_double(l.amount);
    middle_in[l.to] += to_double(l.amount);
  }
  for (const FlowLink& l : sink_links) {
    middle_out[l.from] += to_double(l.amount);
    value[2][l.to] += to_double(l.amount);
  }
  for (size_t i = 0; i < middles.size(); ++i) value[1][i] = std::max(middle_in[i], middle_out[i]);
  // One scale for all columns: the fullest column fills the height.
  const double plot_h = 420;
  double fullest = 0;
  size_t most_nodes = 1;
  for (auto& column : value) {
    double sum = 0;
    for (double v : column) sum += v;
    fullest = std::max(fullest, sum);
    most_nodes = std::max(most_nodes, column.size());
  }
  double scale = fullest > 0 ? (plot_h - gap * static_cast<double>(most_nodes - 1)) / fullest : 0;
  std::vector<double> y[3];
  double height = top + 10;
  for (int c = 0; c < 3; ++c) {
    double at = top;
    for (double v : value[c]) {
      y[c].push_back(at);
      at += std::max(2.0, v * scale) + gap;
    }
    height = std::max(height, at + 10);
  }

  std::string out = "<svg class=\"flow\" viewBox=\"0 0 " + px(width) + " " + px(height) +
                    "\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">";
  text_element(out, columns[0] + node_w, 14, "payers", " text-anchor=\"end\" class=\"muted\"");
  text_element(out, columns[1] + node_w / 2, 14, "models called", " text-anchor=\"middle\" class=\"muted\"");
  text_element(out, columns[2], 14, "parties paid", " class=\"muted\"");
  // Links leave and enter each node stacked in the order given.
  std::vector<double> out_at[3], in_at[3];
  for (int c = 0; c < 3; ++c) out_at[c] = in_at[c] = y[c];
  auto link = [&](int c, const FlowLink& l, const std::vector<FlowNode>& from, const std::vector<FlowNode>& to) {
    double w = to_double(l.amount) * scale;
    if (w <= 0) return;
    double x0 = columns[c] + node_w, x1 = columns[c + 1], xm = (x0 + x1) / 2;
    double y0 = out_at[c][l.from], y1 = in_at[c + 1][l.to];
    out_at[c][l.from] += w;
    in_at[c + 1][l.to] += w;
    out += "<path class=\"link\" fill=\"" + l.color + "\" d=\"M" + px(x0) + " " + px(y0) + "C" + px(xm) + " " + px(y0) +
           " " + px(xm) + " " + px(y1) + " " + px(x1) + " " + px(y1) + "L" + px(x1) + " " + px(y1 + w) + "C" + px(xm) +
           " " + px(y1 + w) + " " + px(xm) + " " + px(y0 + w) + " " + px(x0) + " " + px(y0 + w) + "Z\">";
    title(out, from[l.from].name + " \xE2\x86\x92 " + to[l.to].name + ": " + format_total(l.amount, decimals) + " " + unit);
    out += "</path>";
  };
  for (const FlowLink& l : source_links) link(0, l, sources, middles);
  for (const FlowLink& l : sink_links) link(1, l, middles, sinks);
  const std::vector<FlowNode>* nodes[3] = {&sources, &middles, &sinks};
  for (int c = 0; c < 3; ++c) {
    for (size_t i = 0; i < nodes[c]->size(); ++i) {
      const FlowNode& node = (*nodes[c])[i];
      double h = std::max(2.0, value[c][i] * scale);
      out += "<rect x=\"" + px(columns[c]) + "\" y=\"" + px(y[c][i]) + "\" width=\"" + px(node_w) + "\" height=\"" +
             px(h) + "\" fill=\"" + (node.color.empty() ? std::string("#4a5568") : node.color) + "\">";
      title(out, node.name);
      out += "</rect>";
      double ty = y[c][i] + std::min(h / 2, 14.0) + 4;
      if (c == 0) text_element(out, columns[c] - 6, ty, shortened(node.name, 22), " text-anchor=\"end\"");
      else if (c == 1) text_element(out, columns[c] + node_w + 6, ty, shortened(node.name, 26));
      else text_element(out, columns[c] + node_w + 6, ty, shortened(node.name, 20));
    }
  }
  out += "</svg>";
  return out;
}

std::string tree_diagram(const std::vector<TreeNode>& nodes) {
  const double column = 230, row = 40, box_w = 200, box_h = 30, margin = 8;
  size_t n = nodes.size();
  std::vector<std::vector<size_t>> children(n);
  std::vector<size_t> roots, depth(n, 0);
  for (size_t i = 0; i < n; ++i) {
    long p = nodes[i].parent;
    if (p >= 0 && static_cast<size_t>(p) < i) {
      children[static_cast<size_t>(p)].push_back(i);
      depth[i] = depth[static_cast<size_t>(p)] + 1;
    } else {
      roots.push_back(i);
    }
  }
  // Leaves take the next row in depth-first order; a parent sits level with its first child.
  std::vector<double> y(n, 0);
  std::vector<size_t> stack(roots.rbegin(), roots.rend());
  double next_row = 0;
  while (!stack.empty()) {
    size_t i = stack.back();
    stack.pop_back();
    if (children[i].empty()) y[i] = next_row++ * row;
    for (auto c = children[i].rbegin(); c != children[i].rend(); ++c) stack.push_back(*c);
  }
  for (size_t i = n; i-- > 0;)
    if (!children[i].empty()) y[i] = y[children[i].front()];
  size_t max_depth = 0;
  for (size_t d : depth) max_depth = std::max(max_depth, d);
  double width = margin * 2 + column * static_cast<double>(max_depth) + box_w;
  double height = margin * 2 + std::max(1.0, next_row) * row;

  std::string out = "<svg class=\"tree\" width=\"" + px(width) + "\" height=\"" + px(height) + "\" viewBox=\"0 0 " +
                    px(width) + " " + px(height) + "\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">";
  auto x_of = [&](size_t i) { return margin + column * static_cast<double>(depth[i]); };
  for (size_t i = 0; i < n; ++i)
    for (size_t c : children[i]) {
      double x0 = x_of(i) + box_w, y0 = margin + y[i] + box_h / 2, x1 = x_of(c), y1 = margin + y[c] + box_h / 2;
      double xm = (x0 + x1) / 2;
      out += "<path class=\"edge\" d=\"M" + px(x0) + " " + px(y0) + "C" + px(xm) + " " + px(y0) + " " + px(xm) + " " +
             px(y1) + " " + px(x1) + " " + px(y1) + "\"/>";
    }
  for (size_t i = 0; i < n; ++i) {
    double x = x_of(i), top = margin + y[i];
    out += "<g>";
    title(out, nodes[i].label + " \xE2\x80\x94 " + nodes[i].detail);
    out += "<rect class=\"node\" x=\"" + px(x) + "\" y=\"" + px(top) + "\" width=\"" + px(box_w) + "\" height=\"" +
           px(box_h) + "\" rx=\"4\"/>";
    text_element(out, x + 8, top + 13, shortened(nodes[i].label, 30), " class=\"strong\"");
    text_element(out, x + 8, top + 25, shortened(nodes[i].detail, 34), " class=\"small\"");
    out += "</g>";
  }
  out += "</svg>";
  return out;
}

std::string legend(const std::vector<std::pair<std::string, std::string>>& name_color) {
  std::string out = "<p class=\"legend\">";
  for (const auto& [name, color] : name_color) {
    out += "<span><i style=\"background:" + color + "\"></i>";
    append_escaped(out, name);
    out += "</span>";
  }
  out += "</p>";
  return out;
}

}  // namespace omlkit::report

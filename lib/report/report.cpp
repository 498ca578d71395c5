#include "report/report.h"

#include <algorithm>

#include "crypto/merkle.h"
#include "io/error.h"
#include "io/output.h"
#include "report/sections.h"

namespace omlkit::report {

namespace {

// Inline: the page loads nothing. System fonts only.
const char* const style = R"CSS(
:root{--ink:#1a202c;--muted:#5a6577;--line:#d9dee7;--soft:#f5f7fa;--ok:#1f7a46;--bad:#b42318;--warn:#9a5b00}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif;color:var(--ink);background:#fff}
main{max-width:1000px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:22px;margin:0 0 2px}h2{font-size:17px;margin:34px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:14px;margin:20px 0 6px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.sub{color:var(--muted);margin:0 0 18px;word-break:break-all}
.verdict{border-radius:8px;padding:14px 18px;margin:8px 0 6px;border:1px solid}
.verdict .word{font-size:20px;font-weight:700;letter-spacing:.02em}
.verdict p{margin:6px 0 0}
.verdict.ok{background:#ecf8f1;border-color:#9ed5b5;color:var(--ok)}
.verdict.bad{background:#fdf0ef;border-color:#f2b8b3;color:var(--bad)}
.verdict.warn{background:#fff6e5;border-color:#f0cf8f;color:var(--warn)}
.failure{color:var(--ink);background:#fff;border:1px solid #f2b8b3;border-radius:6px;padding:8px 12px;margin-top:10px;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:13px;word-break:break-word}
.failure b{color:var(--bad)}
.note{background:var(--soft);border-left:4px solid var(--warn);padding:8px 12px;margin:10px 0}
dl.facts{display:grid;grid-template-columns:190px 1fr;gap:4px 14px;margin:0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;word-break:break-all}
ul.checks{margin:8px 0 0;padding-left:20px}
table{border-collapse:collapse;width:100%;margin:6px 0 4px;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600;color:var(--muted)}
td.amount,th.amount,td.count,th.count{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.account,td.name{word-break:break-all}
tr.rest td{color:var(--muted);font-style:italic}
tr.total td{font-weight:700;border-top:2px solid var(--ink);border-bottom:none}
.muted{fill:var(--muted);color:var(--muted)}
svg{display:block;max-width:100%;height:auto;margin:6px 0;font:11px system-ui,"DejaVu Sans",sans-serif}
svg text{fill:var(--ink)}svg .small{font-size:10px;fill:var(--muted)}svg .strong{font-weight:600}
svg .axis{stroke:#8a94a6}svg .grid{stroke:var(--line);stroke-dasharray:3 3}
svg .link{opacity:.45}svg .link:hover{opacity:.8}
svg .edge{fill:none;stroke:#9aa5b8;stroke-width:1.5}svg .node{fill:#eef2f8;stroke:#7b8aa3}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px;padding:4px}
.legend{margin:2px 0 8px;color:var(--muted);font-size:12px}
.legend span{margin-right:14px;white-space:nowrap}.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
footer{margin-top:40px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:10px}
)CSS";

std::string count(uint64_t n) { return format_amount(static_cast<money::u128>(n), 0); }

void append_fact(std::string& page, const std::string& term, const std::string& value_html) {
  page += "<dt>" + escaped(term) + "</dt><dd>" + value_html + "</dd>";
}

void append_verdict(std::string& page, const ledger::VerifyReport& v, const LedgerDigest& digest) {
  if (v.exit_code == 0) {
    page += "<section id=\"verdict\" class=\"verdict ok\"><div class=\"word\">VALID</div>"
            "<p>Every check passed on all " + count(v.entries) + " entries.</p></section>";
    return;
  }
  bool torn = v.exit_code == exit_code::torn_tail;
  page += std::string("<section id=\"verdict\" class=\"verdict ") + (torn ? "warn" : "bad") + "\">";
  page += std::string("<div class=\"word\">") + (torn ? "TORN TAIL" : "INVALID") + "</div>";
  page += torn ? "<p>Every complete, signed entry checks, but the file ends with an unfinished append.</p>"
               : "<p>The ledger fails verification. The first failure:</p>";
  page += "<div class=\"failure\" id=\"first-failure\"><b id=\"failure-where\">";
  append_escaped(page, v.where);
  page += "</b>: <span id=\"failure-message\">";
  append_escaped(page, v.message);
  page += "</span></div>";
  if (!torn)
    page += "<p>Everything below describes the " + count(digest.applied) +
            " entries before the failure; nothing after it was read.</p>";
  page += "</section>";
}

void append_checked(std::string& page, const ReportContext& context, const ledger::VerifyReport& v,
                    const LedgerDigest& digest) {
  page += "<h2 id=\"what-was-checked\">What was checked</h2><dl class=\"facts\" id=\"checked\">";
  append_fact(page, "Ledger file", escaped(context.ledger_path));
  append_fact(page, "Origin", digest.origin.empty() ? "(no genesis read)" : escaped(digest.origin));
  append_fact(page, "Entries checked", "<span id=\"entries\">" + count(v.entries) + "</span>");
  append_fact(page, "Checkpoints", count(v.checkpoints.size()));
  if (!v.checkpoints.empty()) {
    append_fact(page, "Signed tree size", count(v.checkpoints.back().size));
    append_fact(page, "Signed root (hex)", crypto::to_hex(v.checkpoints.back().root));
  }
  append_fact(page, "Root of all entries (hex)", crypto::to_hex(v.root));
  std::string signers;
  for (const auto& [name, n] : digest.signers)
    signers += (signers.empty() ? "" : "<br>") + escaped(name) + " <span class=\"muted\">(" + count(n) +
               " checkpoints)</span>";
  append_fact(page, "Checkpoints signed by", signers.empty() ? "none" : signers);
  if (context.trust_path.empty()) {
    append_fact(page, "Trust file", "none: signatures were checked against the genesis key only");
  } else {
    std::string keys;
    for (const std::string& k : context.trust_keys) keys += (keys.empty() ? "" : ", ") + escaped(k);
    append_fact(page, "Trust file", escaped(context.trust_path) + " <span class=\"muted\">(keys: " + keys + ")</span>");
  }
  if (context.trusted)
    append_fact(page, "Trusted checkpoint", escaped(context.trusted->source) + ": " + count(context.trusted->size) +
                                                " entries of " + escaped(context.trusted->origin) +
                                                (v.exit_code == 0 ? ", extended by this ledger" : ""));
  else
    append_fact(page, "Trusted checkpoint", "none given");
  if (!digest.first_ts.empty())
    append_fact(page, "Time span", escaped(digest.first_ts) + " to " + escaped(digest.last_ts));
  page += "</dl><ul class=\"checks\">"
          "<li>framing: one canonical JSON object (RFC 8785) per line, envelope fields, timestamps in order</li>"
          "<li>hash chain: each line names the leaf hash of the one before it</li>"
          "<li>Merkle checkpoints (RFC 6962) and their Ed25519 signed notes; each batch signed by a key allowed "
          "to sign its entry types</li>"
          "<li>accounting: postings sum to zero per asset, no negative balance outside an asset's issuer, "
          "assertions, every fee split recomputed, collateral and slashes within what is locked, fingerprint "
          "proofs against the licence's committed root</li></ul>";

  page += "<h3>Entries by type</h3><table><tr><th>type</th><th class=\"count\">entries</th></tr>";
  for (const auto& [type, n] : digest.types)
    page += "<tr><td>" + escaped(type) + "</td><td class=\"count\">" + count(n) + "</td></tr>";
  page += "<tr class=\"total\"><td>total</td><td class=\"count\">" + count(digest.applied) + "</td></tr></table>";
}

void append_balances(std::string& page, const ledger::VerifyReport& v, const LedgerDigest& digest) {
  page += "<h2 id=\"balances-heading\">Balances</h2>";
  if (v.exit_code == exit_code::check_failed)
    page += "<p class=\"note\">The ledger is invalid: these are the balances after the " + count(digest.applied) +
            " entries before the first failure.</p>";
  std::map<std::string, std::vector<const ledger::Balance*>> by_asset;
  for (const ledger::Balance& b : v.balances) by_asset[b.asset].push_back(&b);
  if (by_asset.empty()) page += "<p>No account holds anything.</p>";
  page += "<div id=\"balances\">";
  for (auto& [asset, rows] : by_asset) {
    int decimals = digest.decimals(asset);
    std::sort(rows.begin(), rows.end(), [](const ledger::Balance* a, const ledger::Balance* b) {
      if (a->amount.magnitude != b->amount.magnitude) return a->amount.magnitude > b->amount.magnitude;
      return a->account < b->account;
    });
    auto info = digest.assets.find(asset);
    page += "<h3>";
    append_escaped(page, asset);
    page += "</h3><p class=\"muted\">" + std::to_string(decimals) + " decimals";
    if (info != digest.assets.end()) page += "; issuer " + escaped(info->second.issuer);
    page += "; " + count(rows.size()) + " accounts with a non-zero balance</p>";
    page += "<table class=\"balances\" data-asset=\"" + escaped(asset) +
            "\"><tr><th>account</th><th class=\"amount\">balance</th></tr>";
    Total rest, total;
    for (size_t i = 0; i < rows.size(); ++i) {
      total.add(rows[i]->amount);
      if (i >= top_rows) {
        rest.add(rows[i]->amount);
        continue;
      }
      page += "<tr><td class=\"account\">";
      append_escaped(page, rows[i]->account);
      page += "</td><td class=\"amount\">" + format_amount(rows[i]->amount, decimals) + "</td></tr>";
    }
    if (rows.size() > top_rows)
      page += "<tr class=\"rest\"><td>the other " + count(rows.size() - top_rows) +
              " accounts</td><td class=\"amount\">" + format_total(rest, decimals) + "</td></tr>";
    page += "<tr class=\"total\"><td>total (double entry: every asset sums to 0)</td><td class=\"amount\">" +
            format_total(total, decimals) + "</td></tr></table>";
  }
  page += "</div>";
}

}  // namespace

std::string render_report(const ReportContext& context, const ledger::VerifyReport& verdict,
                          const LedgerDigest& digest) {
  std::string page;
  page.reserve(1 << 16);
  page += "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
          "img-src data:\"><title>Ledger audit: ";
  append_escaped(page, digest.origin.empty() ? context.ledger_path : digest.origin);
  page += "</title><style>";
  page += style;
  page += "</style></head><body><main><h1>Ledger audit</h1><p class=\"sub\">";
  append_escaped(page, context.ledger_path);
  if (!digest.origin.empty()) page += " · origin " + escaped(digest.origin);
  page += "</p>";
  append_verdict(page, verdict, digest);
  append_checked(page, context, verdict, digest);
  append_balances(page, verdict, digest);

  page += "<h2 id=\"fees\">Fee income</h2>";
  if (digest.fees.empty()) page += "<p>No inference fees in this ledger.</p>";
  // The assets with the most fee entries get charts; at most three.
  std::vector<std::pair<uint64_t, std::string>> fee_assets;
  for (const auto& [asset, flows] : digest.fees) fee_assets.emplace_back(flows.entries, asset);
  std::sort(fee_assets.begin(), fee_assets.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (size_t i = 0; i < fee_assets.size() && i < 3; ++i) {
    const std::string& asset = fee_assets[i].second;
    append_fee_section(page, asset, digest.fees.at(asset), digest.decimals(asset));
  }
  if (fee_assets.size() > 3) page += "<p>" + count(fee_assets.size() - 3) + " more assets carry fees; not drawn.</p>";

  append_family_tree(page, digest);
  append_licences(page, digest);
  page += "<footer>Written by ";
  append_escaped(page, context.generator);
  page += " (omlkit). A static page: no scripts, nothing loaded from elsewhere. Amounts are the ledger's integers "
          "in each asset's declared decimals; every total is the sum of the rows above it.</footer></main></body></html>\n";
  return page;
}

void write_report(const std::string& html_path, const ReportContext& context, const ledger::VerifyReport& verdict,
                  const LedgerDigest& digest) {
  std::string page = render_report(context, verdict, digest);
  io::AtomicFile file(html_path);
  file.write(page);
  file.commit();
}

}  // namespace omlkit::report

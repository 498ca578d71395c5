// ledger-verify --report: one self-contained static HTML page of a ledger's audit.
//
// The page has no script and loads nothing (styles inline, charts inline SVG), so it opens
// from a USB stick. It shows the verdict first (and the first failure, plainly, when the
// ledger is invalid), what was checked, balances per account and asset, fee income over
// time by role and by model, the fee flow from payers through models to the parties, the
// model family tree, and licences with their collateral, proofs and slashes. Figures are
// the ledger's integers with the asset's declared decimals; each table's total is the sum
// of its rows. Long lists keep their top rows and sum the rest, and days are merged into
// months or years when there are many, so the page's size does not grow with the ledger.
#pragma once

#include <string>
#include <vector>

#include "ledger/verify.h"
#include "report/digest.h"

namespace omlkit::report {

struct ReportContext {
  std::string ledger_path;
  std::string generator;                 // "ledger-verify 0.1.0"
  std::string trust_path;                // empty: no trust file
  std::vector<std::string> trust_keys;   // names of its keys
  const ledger::TrustedHead* trusted = nullptr;
};

std::string render_report(const ReportContext& context, const ledger::VerifyReport& verdict,
                          const LedgerDigest& digest);

// Writes the page atomically (io::AtomicFile): a failed write leaves no file and throws
// Error 74 (73 when the file cannot be created).
void write_report(const std::string& html_path, const ReportContext& context, const ledger::VerifyReport& verdict,
                  const LedgerDigest& digest);

}  // namespace omlkit::report

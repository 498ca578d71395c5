// libFuzzer target: JSON-lines records through lib/json's strict parser, in both of its
// modes (records as tools read them, and the ledger's integers-only canonical mode), and
// attribution records through fees::read_attribution against a fixed policy. The input is
// split at '\n' like a JSON-lines file. Only omlkit::Error may escape the library; an
// accepted value's canonical form must be stable.
#include <cstdint>
#include <string_view>

#include "fees/attribution.h"
#include "fees/policy.h"
#include "io/error.h"
#include "json/value.h"

using namespace omlkit;

static const fees::Policy& policy() {
  static const fees::Policy p = fees::parse_policy(
      R"({"v":1,"shares":{"protocol":500,"node":1500,"provers":500,"lineage":5000,"data":2500},)"
      R"("accounts":{"protocol":"acct:protocol","provers":"acct:provers"},)"
      R"("lineage":{"mode":"geometric","keep":6000},"assets":{"OPEN":{"min_fee":"1000"}}})",
      "fuzz-policy");
  return p;
}

static void one_line(std::string_view line) {
  try {
    json::Value v = json::parse(line, "fuzz:1");
    // The canonical form parses, and is its own canonical form (numbers keep their text in a
    // Value, so the Values themselves may differ: 1E3 against 1000).
    std::string canon = json::canonical(v);
    if (json::canonical(json::parse(canon, "fuzz:canonical")) != canon) __builtin_trap();
    if (v.is_object()) {
      const json::Value* type = v.find("type");
      if (type && type->is_string() && type->text() == "attribution") {
        fees::Attribution a;
        fees::read_attribution(v, policy(), "fuzz:1", a);
      }
    }
  } catch (const Error&) {
  }
  try {
    json::ParseOptions ledger;
    ledger.integers_only = true;
    ledger.require_canonical = true;
    json::Value v = json::parse(line, "fuzz:1", ledger);
    // A text accepted as canonical is byte for byte its own canonical form.
    if (json::canonical(v) != line) __builtin_trap();
  } catch (const Error&) {
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  while (start <= input.size()) {
    size_t nl = input.find('\n', start);
    if (nl == std::string_view::npos) nl = input.size();
    one_line(input.substr(start, nl - start));
    start = nl + 1;
  }
  return 0;
}

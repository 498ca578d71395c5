#include "attribution/call_stream.h"

#include <exception>
#include <set>

#include "attribution/credit.h"
#include "attribution/parallel_for.h"
#include "io/error.h"
#include "money/amount.h"

namespace omlkit::attribution {

namespace {

const json::Value& field(const json::Value& record, const char* name, const std::string& where) {
  const json::Value* v = record.find(name);
  if (!v) throw data_error(where, std::string(name) + ": missing");
  return *v;
}

const std::string& string_field(const json::Value& record, const char* name, const std::string& where) {
  const json::Value& v = field(record, name, where);
  if (!v.is_string() || v.text().empty())
    throw data_error(where, std::string(name) + ": expected a non-empty string, found " + json::canonical(v));
  return v.text();
}

void check_fee(const json::Value& fee, const std::string& where) {
  if (!fee.is_object()) throw data_error(where, "fee: expected {\"asset\": ..., \"amount\": ...}, found " + json::canonical(fee));
  string_field(fee, "asset", where);
  const json::Value* amount = fee.find("amount");
  if (!amount || !amount->is_string() || !money::parse_amount(amount->text()))
    throw data_error(where, "fee.amount: expected a decimal string below 2^128, found " +
                                (amount ? json::canonical(*amount) : std::string("nothing")));
}

// Fields of a call that become something else in the attribution, or are dropped.
bool consumed(std::string_view key) {
  for (const char* k : {"type", "v", "id", "model", "payer", "node", "fee", "prompt", "output", "spans"})
    if (key == k) return true;
  return false;
}

}  // namespace

CallAttributor::CallAttributor(const Datanet& datanet, const ModelRegistry& registry, const AttributeOptions& options)
    : datanet_(datanet), registry_(registry), options_(options) {}

json::Value CallAttributor::attribute(const json::Value& call, const std::string& where) const {
  if (const json::Value* v = call.find("v"); v && v->as_int64() != 1)
    throw data_error(where, "v: this omlkit reads call version 1, found " + json::canonical(*v));
  const std::string& id = string_field(call, "id", where);
  const std::string& model = string_field(call, "model", where);
  string_field(call, "payer", where);
  string_field(call, "node", where);
  check_fee(field(call, "fee", where), where);
  const json::Value& output = field(call, "output", where);
  if (!output.is_string()) throw data_error(where, "output: expected a string, found " + json::canonical(output));
  if (const json::Value* prompt = call.find("prompt"); prompt && !prompt->is_string())
    throw data_error(where, "prompt: expected a string, found " + json::canonical(*prompt));

  auto lineage = registry_.lineage(model);
  if (!lineage) throw data_error(where, "model: \"" + model + "\" is not registered in the ledger");

  std::vector<int32_t> ids;
  try {
    ids = datanet_.tokenizer().encode(output.text());
  } catch (const Error& e) {
    throw data_error(where, std::string("output: ") + e.what());
  }
  if (ids.size() > options_.max_tokens)
    throw data_error(where, "output: " + std::to_string(ids.size()) + " tokens, more than --max-tokens " +
                                std::to_string(options_.max_tokens));
  std::vector<uint32_t> tokens(ids.begin(), ids.end());
  MatchOptions match = options_.match;
  if (options_.explain) match.sample_common = options_.explain_records;
  std::vector<Span> spans = find_spans(datanet_.shards(), tokens, match);

  json::Value out = json::Value::object();
  for (const json::Member& m : call.members())
    if (!consumed(m.key)) out.set(m.key, m.value);
  out.set("type", json::Value::string("attribution"));
  out.set("call", json::Value::string(id));
  out.set("payer", *call.find("payer"));
  out.set("node", *call.find("node"));
  out.set("fee", *call.find("fee"));
  out.set("model", json::Value::string(model));
  json::Value& lineage_json = out.set("lineage", json::Value::array());
  for (const Generation& g : *lineage) {
    json::Value& gen = lineage_json.push_back(json::Value::object());
    gen.set("model", json::Value::string(g.model));
    gen.set("owner", json::Value::string(g.owner));
  }
  json::Value& data = out.set("data", json::Value::array());
  for (const ContributorWeight& w : credit_contributors(spans)) {
    json::Value& d = data.push_back(json::Value::object());
    d.set("contributor", json::Value::string(w.contributor));
    d.set("weight", json::Value::string(money::to_string(w.weight)));
  }
  json::Value& coverage = out.set("coverage", json::Value::object());
  coverage.set("tokens", json::Value::integer(int64_t(tokens.size())));
  coverage.set("covered", json::Value::integer(int64_t(covered_tokens(spans))));
  if (options_.explain) {
    json::Value& list = out.set("spans", json::Value::array());
    for (const Span& s : spans) {
      json::Value& span = list.push_back(json::Value::object());
      span.set("begin", json::Value::integer(s.begin));
      span.set("end", json::Value::integer(s.end));
      span.set("count", json::Value::integer(int64_t(s.count)));
      span.set("common", json::Value::boolean(s.common));
      span.set("text", json::Value::string(datanet_.tokenizer().decode(std::span(ids).subspan(s.begin, s.end - s.begin))));
      json::Value& records = span.set("records", json::Value::array());
      std::set<std::pair<uint32_t, uint32_t>> seen;  // (shard, record)
      for (const Occurrence& o : s.occurrences) {
        if (records.items().size() >= options_.explain_records) break;
        if (seen.insert({o.shard, o.record}).second) {
          json::Value& r = records.push_back(json::Value::object());
          r.set("id", json::Value::string(std::string(o.record_id)));
          r.set("contributor", json::Value::string(std::string(o.contributor)));
        }
      }
    }
  }
  return out;
}

void CallAttributor::process(io::LineReader& input, io::Output& out) {
  struct Item {
    std::string where, line, result;
    std::exception_ptr error;
    uint64_t tokens = 0;
    bool call = false;
    bool torn = false;  // the input's last line, without its '\n'
  };
  std::vector<Item> batch;
  const size_t batch_size = 64 * std::max(1u, options_.threads);

  auto run_batch = [&] {
    parallel_for(batch.size(), std::max(1u, options_.threads), [&](size_t i) {
      Item& item = batch[i];
      try {
        json::Value record;
        try {
          record = json::parse(item.line, item.where);
        } catch (const Error&) {
          if (!item.torn) throw;
          throw data_error(item.where, "a torn last line (no final newline, not a whole record: a writer stopped "
                                       "mid-line); it is not attributed, the calls before it are");
        }
        const json::Value* type = record.is_object() ? record.find("type") : nullptr;
        if (!type || !type->is_string() || type->text() != "call") {
          if (options_.pass_through && type) {
            item.result = item.line;
            return;
          }
          throw data_error(item.where, "type: expected \"call\", found " +
                                           (type ? json::canonical(*type) : std::string("no type")) +
                                           (options_.pass_through ? "" : " (--pass-through copies other records)"));
        }
        json::Value attribution = attribute(record, item.where);
        item.call = true;
        item.tokens = uint64_t(attribution.find("coverage")->find("tokens")->as_int64().value_or(0));
        json::write_canonical(attribution, item.result);
      } catch (...) {
        item.error = std::current_exception();
      }
    });
    for (Item& item : batch) {
      if (item.error) {
        out.flush();
        std::rethrow_exception(item.error);
      }
      out.line(item.result);
      out.maybe_flush();
      calls_ += item.call;
      output_tokens_ += item.tokens;
    }
    batch.clear();
  };

  std::string_view line;
  while (input.next(&line)) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    Item& item = batch.emplace_back();
    item.where = input.where();
    item.line = line;
    item.torn = input.ended_without_newline();
    if (batch.size() >= batch_size) run_batch();
  }
  run_batch();
}

}  // namespace omlkit::attribution

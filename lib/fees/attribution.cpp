#include "fees/attribution.h"

#include "io/error.h"

namespace omlkit::fees {

namespace {

// A field's name for diagnostics ("fee.asset", "data[3].weight"), spelled out only on
// failure: the happy path allocates nothing here.
struct FieldName {
  static constexpr size_t no_index = ~size_t(0);
  const char* key;
  const char* parent = nullptr;  // "fee" in "fee.asset", "data" in "data[3].weight"
  size_t index = no_index;
  std::string str() const {
    if (!parent) return key;
    return std::string(parent) + (index == no_index ? "" : "[" + std::to_string(index) + "]") + "." + key;
  }
};

const json::Value& string_field(const json::Value& object, FieldName field, const std::string& where) {
  const json::Value* v = object.find(field.key);
  if (!v || !v->is_string() || v->text().empty())
    throw data_error(where, field.str() + ": expected a non-empty string, found " + describe(v));
  return *v;
}

const json::Value& account_field(const json::Value& object, FieldName field, const std::string& where) {
  const json::Value* v = object.find(field.key);
  if (!v || !v->is_string() || !valid_account_name(v->text()))
    throw data_error(where, field.str() + ": expected " + std::string(money::account_name_rule) + ", found " + describe(v));
  return *v;
}

const json::Value& array_field(const json::Value& object, const char* key, const std::string& where) {
  const json::Value* v = object.find(key);
  if (!v || !v->is_array()) throw data_error(where, std::string(key) + ": expected an array, found " + describe(v));
  return *v;
}

void read_fee(const json::Value& record, const Policy& policy, const std::string& where, Attribution& out) {
  const json::Value* fee = record.find("fee");
  if (!fee || !fee->is_object())
    throw data_error(where, "fee: expected {\"asset\": ..., \"amount\": ...}, found " + describe(fee));
  const json::Value& asset = string_field(*fee, {"asset", "fee"}, where);
  out.asset = policy.find_asset(asset.text());
  if (!out.asset) throw data_error(where, "fee.asset: unknown asset \"" + asset.text() + "\" (not in the policy)");
  const json::Value* amount = fee->find("amount");
  auto parsed = amount && amount->is_string() ? money::parse_amount(amount->text()) : std::nullopt;
  if (!parsed) throw data_error(where, "fee.amount: expected a decimal string below 2^128, found " + describe(amount));
  if (*parsed < out.asset->min_fee)
    throw data_error(where, "fee.amount: " + amount->text() + " is below the policy's minimum fee " +
                                money::to_string(out.asset->min_fee) + " " + out.asset->asset);
  out.fee = *parsed;
}

void read_lineage(const json::Value& record, const std::string& where, Attribution& out) {
  const json::Value& lineage = array_field(record, "lineage", where);
  const auto& items = lineage.items();
  if (items.empty()) throw data_error(where, "lineage: expected at least the called model, found an empty array");
  if (items.size() > max_lineage)
    throw data_error(where, "lineage: expected at most " + std::to_string(max_lineage) + " generations, found " +
                                std::to_string(items.size()));
  out.owners.clear();
  for (size_t i = 0; i < items.size(); ++i) {
    const json::Value& generation = items[i];
    if (!generation.is_object())
      throw data_error(where, "lineage[" + std::to_string(i) + "]: expected {\"model\", \"owner\"}");
    const json::Value& model = string_field(generation, {"model", "lineage", i}, where);
    if (i == 0 && model.text() != out.model->text())
      throw data_error(where, "lineage[0].model: expected the called model \"" + out.model->text() + "\", found " +
                                  describe(&model));
    // A model twice means a cycle; lineages are short (<= 64), so pairwise is cheapest.
    for (size_t j = 0; j < i; ++j)
      if (items[j].find("model")->text() == model.text())
        throw data_error(where, FieldName{"model", "lineage", i}.str() + ": model \"" + model.text() +
                                    "\" appears twice in the lineage (a cycle)");
    out.owners.push_back(&account_field(generation, {"owner", "lineage", i}, where));
  }
}

void read_data(const json::Value& record, const std::string& where, Attribution& out) {
  const json::Value& data = array_field(record, "data", where);
  out.data.clear();
  money::u128 total = 0;
  for (size_t i = 0; i < data.items().size(); ++i) {
    const json::Value& entry = data.items()[i];
    if (!entry.is_object())
      throw data_error(where, "data[" + std::to_string(i) + "]: expected {\"contributor\", \"weight\"}");
    const json::Value& contributor = account_field(entry, {"contributor", "data", i}, where);
    const json::Value* weight = entry.find("weight");
    auto parsed = weight && weight->is_string() ? money::parse_amount(weight->text()) : std::nullopt;
    if (!parsed || *parsed == 0)
      throw data_error(where, FieldName{"weight", "data", i}.str() + ": expected a positive integer as a decimal string " +
                                  "below 2^128, found " + describe(weight));
    if (*parsed > money::u128_max - total)
      throw data_error(where, FieldName{"weight", "data", i}.str() + ": the data weights sum to 2^128 or more");
    total += *parsed;
    out.data.push_back(DataWeight{&contributor, *parsed});
  }
}

}  // namespace

void read_attribution(const json::Value& record, const Policy& policy, const std::string& where,
                      Attribution& out) {
  if (const json::Value* v = record.find("v"); v && v->as_int64() != 1)
    throw data_error(where, "v: this split-fees reads attribution version 1, found " + describe(v));
  out.call = &string_field(record, {"call"}, where);
  out.payer = &account_field(record, {"payer"}, where);
  out.node = &account_field(record, {"node"}, where);
  out.model = &string_field(record, {"model"}, where);
  read_fee(record, policy, where, out);
  read_lineage(record, where, out);
  read_data(record, where, out);
}

}  // namespace omlkit::fees

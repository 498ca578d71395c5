#include "attribution/index_builder.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <unordered_set>

#include "attribution/parallel_for.h"
#include "attribution/shard_writer.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "io/output.h"
#include "json/value.h"
#include "model/tokenizer.h"
#include "money/account_name.h"

namespace omlkit::attribution {

namespace {

struct Contribution {
  std::string where, id, contributor, text;
  std::vector<int32_t> tokens;
  std::exception_ptr error;
};

const std::string& required_string(const json::Value& record, const char* field, const std::string& where) {
  const json::Value* v = record.find(field);
  if (!v) throw data_error(where, std::string(field) + ": missing (a contribution needs contributor, id and text)");
  if (!v->is_string()) throw data_error(where, std::string(field) + ": expected a string, found " + json::canonical(*v));
  return v->text();
}

void read_contribution(std::string_view line, Contribution& c) {
  json::Value record = json::parse(line, c.where);
  if (!record.is_object()) throw data_error(c.where, "expected a contribution object");
  if (const json::Value* type = record.find("type"); type && !(type->is_string() && type->text() == "contribution"))
    throw data_error(c.where, "type: expected \"contribution\", found " + json::canonical(*type));
  if (const json::Value* v = record.find("v"); v && v->as_int64() != 1)
    throw data_error(c.where, "v: this omlkit reads contribution version 1, found " + json::canonical(*v));
  c.contributor = required_string(record, "contributor", c.where);
  c.id = required_string(record, "id", c.where);
  c.text = required_string(record, "text", c.where);
  if (!money::valid_account_name(c.contributor))
    throw data_error(c.where, std::string("contributor: expected ") + money::account_name_rule + ", found \"" +
                                  c.contributor.substr(0, 80) + "\"");
  if (c.id.empty()) throw data_error(c.where, "id: expected a non-empty string");
}

// Shards of a sharded index go to a temporary directory beside the target, renamed into
// place at the end; dropped uncommitted, the directory is removed.
class ShardDirectory {
 public:
  explicit ShardDirectory(const std::string& target) : target_(target) {
    std::error_code ec;
    if (std::filesystem::exists(target_, ec))
      throw Error(exit_code::cannot_create, target_, "already exists; a sharded index is written to a new directory");
    std::string pattern = target_ + ".tmp-XXXXXX";
    if (!::mkdtemp(pattern.data()))
      throw Error(exit_code::cannot_create, target_, std::string("cannot create: ") + std::strerror(errno));
    temp_ = pattern;
  }
  ~ShardDirectory() {
    std::error_code ec;
    if (!committed_) std::filesystem::remove_all(temp_, ec);
  }
  std::string shard_path(size_t n) const {
    char name[32];
    std::snprintf(name, sizeof name, "/shard-%05zu.idx", n);
    return temp_ + name;
  }
  void commit() {
    ::chmod(temp_.c_str(), 0755);
    if (std::rename(temp_.c_str(), target_.c_str()) != 0)
      throw Error(exit_code::cannot_create, target_, std::string("rename failed: ") + std::strerror(errno));
    committed_ = true;
    io::sync_parent_directory(target_);
  }
  std::string final_path(const std::string& shard) const { return target_ + shard.substr(temp_.size()); }

 private:
  std::string target_, temp_;
  bool committed_ = false;
};

}  // namespace

BuildReport build_index(const std::vector<std::string>& inputs, const std::string& tokenizer_path,
                        const std::string& out_path, const BuildOptions& options) {
  std::string tokenizer_json = io::read_file(tokenizer_path);
  model::Tokenizer tokenizer = model::Tokenizer::from_json(tokenizer_json, tokenizer_path);
  ShardWriter writer(tokenizer_json, uint32_t(tokenizer.vocab_size()));
  std::unique_ptr<ShardDirectory> directory;
  if (options.shard_tokens) directory = std::make_unique<ShardDirectory>(out_path);

  BuildReport report;
  auto write_shard = [&] {
    std::string path = directory ? directory->shard_path(report.files.size()) : out_path;
    writer.write(path);
    report.files.push_back(path);
  };

  std::unordered_set<std::string> ids;
  std::vector<Contribution> batch;
  const size_t batch_bytes = 4 << 20, batch_records = 4096;
  auto flush_batch = [&] {
    parallel_for(batch.size(), std::max(1u, options.threads), [&](size_t i) {
      Contribution& c = batch[i];
      try {
        c.tokens = tokenizer.encode(c.text);
      } catch (const Error& e) {
        c.error = std::make_exception_ptr(data_error(c.where, std::string("text: ") + e.what()));
      } catch (...) {
        c.error = std::current_exception();
      }
    });
    for (Contribution& c : batch) {
      if (c.error) std::rethrow_exception(c.error);
      uint64_t grown = writer.tokens() + c.tokens.size() + 1;
      if (directory && writer.records() > 0 && grown > options.shard_tokens) write_shard();
      try {
        writer.add_record(c.id, c.contributor, c.tokens);
      } catch (const Error& e) {
        throw Error(e.code(), c.where, e.what());
      }
      report.records++;
      report.tokens += c.tokens.size() + 1;
      report.text_bytes += c.text.size();
    }
    batch.clear();
    if (options.on_progress) options.on_progress(report.records, report.text_bytes);
  };

  size_t pending_bytes = 0;
  for (const std::string& input : inputs) {
    io::LineReader reader(input, options.max_line_bytes);
    std::string_view line;
    while (reader.next(&line)) {
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      Contribution& c = batch.emplace_back();
      c.where = reader.where();
      read_contribution(line, c);
      if (!ids.insert(c.id).second) throw data_error(c.where, "id: \"" + c.id + "\" appears twice in the datanet");
      pending_bytes += line.size();
      if (pending_bytes >= batch_bytes || batch.size() >= batch_records) flush_batch(), pending_bytes = 0;
    }
  }
  flush_batch();
  if (!directory || writer.records() > 0 || report.files.empty()) write_shard();
  if (directory) {
    directory->commit();
    for (std::string& f : report.files) f = directory->final_path(f);
  }
  for (const std::string& f : report.files) report.index_bytes += std::filesystem::file_size(f);
  return report;
}

}  // namespace omlkit::attribution

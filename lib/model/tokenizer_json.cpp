// Reading tokenizer.json into the Tokenizer's pipeline steps, refusing what is unsupported.
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "model/checkpoint.h"
#include "model/pretokenizer.h"
#include "model/tokenizer.h"

namespace omlkit::model {
namespace {

using json = nlohmann::json;

struct Reader {
  const std::string& where;

  [[noreturn]] void fail(const std::string& path, const std::string& message) const {
    throw data_error(where, path + ": " + message);
  }
  std::string type_of(const json& node, const std::string& path) const {
    if (!node.is_object() || !node.contains("type") || !node["type"].is_string())
      fail(path, "expected an object with a \"type\"");
    return node["type"].get<std::string>();
  }
  std::string string_field(const json& node, const char* key, const std::string& path) const {
    if (!node.contains(key) || !node[key].is_string()) fail(path + "." + key, "expected a string");
    return node[key].get<std::string>();
  }
  // A {"String": s} pattern; Regex patterns are only known as the two pre-tokenizer splits.
  std::string string_pattern(const json& node, const std::string& path) const {
    if (!node.contains("pattern") || !node["pattern"].is_object() || !node["pattern"].contains("String") ||
        !node["pattern"]["String"].is_string())
      fail(path + ".pattern", "only {\"String\": ...} patterns are supported here");
    return node["pattern"]["String"].get<std::string>();
  }
};

void read_normalizer(const Reader& r, const json& node, const std::string& path,
                     std::vector<Tokenizer::NormalizerStep>& steps) {
  if (node.is_null()) return;
  std::string type = r.type_of(node, path);
  if (type == "Sequence") {
    if (!node.contains("normalizers") || !node["normalizers"].is_array()) r.fail(path, "expected normalizers");
    for (size_t i = 0; i < node["normalizers"].size(); i++)
      read_normalizer(r, node["normalizers"][i], path + ".normalizers[" + std::to_string(i) + "]", steps);
  } else if (type == "Prepend") {
    steps.push_back(Tokenizer::normalizer_step(Tokenizer::NormalizerStep::prepend, r.string_field(node, "prepend", path)));
  } else if (type == "Replace") {
    steps.push_back(Tokenizer::normalizer_step(Tokenizer::NormalizerStep::replace, r.string_pattern(node, path),
                                               r.string_field(node, "content", path)));
  } else {
    r.fail(path, "normalizer \"" + type + "\" is not supported (Prepend, Replace, Sequence are)");
  }
}

Tokenizer::PreTokenizerStep::Prepend prepend_scheme(const Reader& r, const json& node, const std::string& path) {
  using Step = Tokenizer::PreTokenizerStep;
  if (node.contains("prepend_scheme")) {
    std::string scheme = r.string_field(node, "prepend_scheme", path);
    if (scheme == "always") return Step::always;
    if (scheme == "first") return Step::first;
    if (scheme == "never") return Step::never;
    r.fail(path + ".prepend_scheme", "\"" + scheme + "\" is not known");
  }
  return node.value("add_prefix_space", true) ? Step::always : Step::never;  // older files
}

void read_pre_tokenizer(const Reader& r, const json& node, const std::string& path,
                        std::vector<Tokenizer::PreTokenizerStep>& steps) {
  using Step = Tokenizer::PreTokenizerStep;
  auto make = [](Step::Kind kind) {
    Step step;
    step.kind = kind;
    return step;
  };
  if (node.is_null()) return;
  std::string type = r.type_of(node, path);
  if (type == "Sequence") {
    if (!node.contains("pretokenizers") || !node["pretokenizers"].is_array()) r.fail(path, "expected pretokenizers");
    for (size_t i = 0; i < node["pretokenizers"].size(); i++)
      read_pre_tokenizer(r, node["pretokenizers"][i], path + ".pretokenizers[" + std::to_string(i) + "]", steps);
  } else if (type == "ByteLevel") {
    Step step = make(Step::byte_level);
    step.add_prefix_space = node.value("add_prefix_space", false);
    step.use_regex = node.value("use_regex", true);
    steps.push_back(step);
  } else if (type == "Split") {
    std::string regex;
    if (node.contains("pattern") && node["pattern"].is_object() && node["pattern"].contains("Regex") &&
        node["pattern"]["Regex"].is_string())
      regex = node["pattern"]["Regex"].get<std::string>();
    if (node.value("behavior", std::string()) != "Isolated" || node.value("invert", false))
      r.fail(path, "Split is only supported with behavior Isolated and invert false");
    if (regex == kGpt2Pattern) steps.push_back(make(Step::split_gpt2));
    else if (regex == kLlama3Pattern) steps.push_back(make(Step::split_llama3));
    else r.fail(path + ".pattern", "Split regex is not one of the supported GPT-2 or Llama-3 patterns");
  } else if (type == "Metaspace") {
    Step step = make(Step::metaspace);
    step.replacement = r.string_field(node, "replacement", path);
    step.prepend = prepend_scheme(r, node, path);
    step.split = node.value("split", true);
    steps.push_back(step);
  } else {
    r.fail(path, "pre-tokenizer \"" + type + "\" is not supported (ByteLevel, Split, Metaspace, Sequence are)");
  }
}

void read_decoder(const Reader& r, const json& node, const std::string& path,
                  std::vector<Tokenizer::DecoderStep>& steps) {
  using Step = Tokenizer::DecoderStep;
  auto make = [](Step::Kind kind, std::string text = "", std::string replacement = "") {
    Step step;
    step.kind = kind, step.text = std::move(text), step.replacement = std::move(replacement);
    return step;
  };
  if (node.is_null()) return;
  std::string type = r.type_of(node, path);
  if (type == "Sequence") {
    if (!node.contains("decoders") || !node["decoders"].is_array()) r.fail(path, "expected decoders");
    for (size_t i = 0; i < node["decoders"].size(); i++)
      read_decoder(r, node["decoders"][i], path + ".decoders[" + std::to_string(i) + "]", steps);
  } else if (type == "ByteLevel") {
    steps.push_back(make(Step::byte_level));
  } else if (type == "Replace") {
    steps.push_back(make(Step::replace, r.string_pattern(node, path), r.string_field(node, "content", path)));
  } else if (type == "ByteFallback") {
    steps.push_back(make(Step::byte_fallback));
  } else if (type == "Fuse") {
    steps.push_back(make(Step::fuse));
  } else if (type == "Strip") {
    Step step = make(Step::strip, r.string_field(node, "content", path));
    step.strip_start = node.value("start", 0);
    step.strip_stop = node.value("stop", 0);
    steps.push_back(step);
  } else if (type == "Metaspace") {
    Step step = make(Step::metaspace, r.string_field(node, "replacement", path));
    step.metaspace_strip_first = prepend_scheme(r, node, path) != Tokenizer::PreTokenizerStep::never;
    steps.push_back(step);
  } else {
    r.fail(path, "decoder \"" + type + "\" is not supported");
  }
}

}  // namespace

Tokenizer Tokenizer::from_file(const std::string& path) { return from_json(read_text_file(path), path); }

// A field of the wrong JSON type deep in the file (nlohmann's type_error) is bad input
// like any other, never an internal error.
Tokenizer Tokenizer::from_json(std::string_view json_text, const std::string& where) {
  try {
    return from_parsed_json(json::parse(json_text), where);
  } catch (const json::parse_error& e) {
    throw data_error(where, std::string("invalid JSON: ") + e.what());
  } catch (const json::exception& e) {
    throw data_error(where, std::string("unexpected value: ") + e.what());
  }
}

Tokenizer Tokenizer::from_parsed_json(const nlohmann::json& root, const std::string& where) {
  Reader r{where};
  if (!root.is_object()) r.fail("tokenizer.json", "expected an object");
  Tokenizer t;
  if (!root.contains("model")) r.fail("model", "missing");
  t.model_ = BpeModel::from_json(root["model"], where);

  if (root.contains("added_tokens") && !root["added_tokens"].is_null()) {
    if (!root["added_tokens"].is_array()) r.fail("added_tokens", "expected an array");
    for (const auto& node : root["added_tokens"]) {
      if (!node.is_object() || !node.contains("id") || !node["id"].is_number_integer() ||
          node["id"].get<int64_t>() < 0 || node["id"].get<int64_t>() >= (1 << 24) || !node.contains("content") ||
          !node["content"].is_string() || node["content"].get<std::string>().empty())
        r.fail("added_tokens", "expected objects with an id and a non-empty content");
      AddedToken a;
      a.id = node["id"].get<int32_t>();
      a.content = node["content"].get<std::string>();
      a.single_word = node.value("single_word", false);
      a.lstrip = node.value("lstrip", false);
      a.rstrip = node.value("rstrip", false);
      a.special = node.value("special", false);
      a.normalized = node.value("normalized", !a.special);
      t.added_.push_back(std::move(a));
    }
  }
  read_normalizer(r, root.value("normalizer", json()), "normalizer", t.normalizer_);
  read_pre_tokenizer(r, root.value("pre_tokenizer", json()), "pre_tokenizer", t.pre_tokenizer_);
  read_decoder(r, root.value("decoder", json()), "decoder", t.decoder_);

  const json post = root.value("post_processor", json());
  if (!post.is_null()) {
    std::string type = r.type_of(post, "post_processor");
    if (type == "TemplateProcessing") {
      if (!post.contains("single") || !post["single"].is_array()) r.fail("post_processor.single", "expected an array");
      bool seen_sequence = false;
      for (const auto& piece : post["single"]) {
        if (piece.contains("Sequence")) {
          seen_sequence = true;
          continue;
        }
        std::string name = piece.contains("SpecialToken") && piece["SpecialToken"].is_object()
                               ? piece["SpecialToken"].value("id", std::string())
                               : std::string();
        const json* special = post.contains("special_tokens") && post["special_tokens"].contains(name)
                                  ? &post["special_tokens"][name]
                                  : nullptr;
        if (!special || !special->contains("ids") || !(*special)["ids"].is_array())
          r.fail("post_processor.single", "special token \"" + name + "\" has no ids");
        for (const auto& id : (*special)["ids"]) {
          if (!id.is_number_integer()) r.fail("post_processor.special_tokens", "ids must be integers");
          (seen_sequence ? t.template_suffix_ : t.template_prefix_).push_back(id.get<int32_t>());
        }
      }
    } else if (type != "ByteLevel") {
      r.fail("post_processor", "\"" + type + "\" is not supported (ByteLevel, TemplateProcessing are)");
    }
  }
  return t;
}

}  // namespace omlkit::model

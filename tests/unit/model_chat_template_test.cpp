// Chat templates against a Jinja engine and Hugging Face's tokenizer (tests/fixtures/
// chat_templates, made with @huggingface/jinja and @huggingface/tokenizers; see SOURCES).
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "io/error.h"
#include "model/chat_template.h"
#include "model/token_context.h"
#include "model_test_support.h"

namespace omlkit::model {
namespace {

std::filesystem::path chat_fixtures() { return testing::repo_root() / "tests/fixtures/chat_templates"; }

std::vector<nlohmann::json> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// The three conversations render.mjs renders.
std::vector<ChatMessage> conversation(int i) {
  switch (i) {
    case 0: return {{"user", "Hello, who are you?"}};
    case 1: return {{"user", "  Hi\n"}, {"assistant", " I am fine. "}, {"user", "Tell me more\n\n"}};
    default: return {{"system", "Be brief."}, {"user", "Why?"}};
  }
}

// The template a fixture name stands for, recognised from its exact text.
ChatTemplate recognised(const std::string& fixture_name) {
  auto texts = testing::read_json((chat_fixtures() / "templates.json").string());
  return ChatTemplate::from_jinja(texts[fixture_name].get<std::string>(), "templates.json");
}

TEST(ChatTemplate, every_published_text_is_recognised_as_its_family) {
  auto texts = testing::read_json((chat_fixtures() / "templates.json").string());
  for (const auto& [name, text] : texts.items()) {
    std::string family = name == "llama3_short" ? "llama3" : name;
    EXPECT_EQ(ChatTemplate::from_jinja(text.get<std::string>(), "t").name(), family);
  }
}

TEST(ChatTemplate, renders_as_the_jinja_engine_renders_each_published_text) {
  int compared = 0;
  for (const auto& r : read_lines(chat_fixtures() / "rendered.jsonl")) {
    ChatTemplate t = recognised(r["template"]);
    auto messages = conversation(r["conversation"]);
    std::string label = r["template"].get<std::string>() + " #" + std::to_string(int(r["conversation"]));
    if (r["error"].is_null()) {
      EXPECT_EQ(t.render(messages, r["add_generation_prompt"]), r["rendered"].get<std::string>()) << label;
    } else {
      try {
        t.render(messages, r["add_generation_prompt"]);
        ADD_FAILURE() << label << ": rendered what the template refuses";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), exit_code::data) << label;
      }
    }
    compared++;
  }
  EXPECT_EQ(compared, 36);
}

// The fixture tokenizer of a family with its special tokens added, as chat_ids.mjs builds it.
Tokenizer tokenizer_for(const std::string& family) {
  bool byte_level = family == "llama3" || family == "chatml";
  auto json = testing::read_json(
      (testing::repo_root() / "tests/fuzz/corpus/tokenizer_json" /
       (byte_level ? "byte_level_llama3.json" : "sentencepiece_legacy.json"))
          .string());
  std::vector<std::string> extra;
  if (family == "llama3") extra = {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"};
  if (family == "chatml") extra = {"<|im_start|>", "<|im_end|>"};
  if (family == "gemma") extra = {"<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"};
  int next = 0;
  for (const auto& [token, id] : json["model"]["vocab"].items()) next = std::max(next, id.get<int>() + 1);
  for (const auto& a : json["added_tokens"]) next = std::max(next, a["id"].get<int>() + 1);
  for (const auto& content : extra)
    json["added_tokens"].push_back({{"id", next++}, {"content", content}, {"single_word", false}, {"lstrip", false},
                                    {"rstrip", false}, {"normalized", false}, {"special", true}});
  return Tokenizer::from_json(json.dump(), family);
}

TEST(ChatTemplate, encodes_to_the_ids_hugging_face_gives_the_rendered_text) {
  int compared = 0;
  for (const auto& r : read_lines(chat_fixtures() / "chat_ids.jsonl")) {
    std::string family = r["template"];
    ChatTemplate t = ChatTemplate::named(family);
    auto ids = t.encode(tokenizer_for(family), conversation(r["conversation"]));
    EXPECT_EQ(ids, r["ids"].get<std::vector<int32_t>>()) << family << " #" << r["conversation"];
    compared++;
  }
  EXPECT_EQ(compared, 13);
}

TEST(ChatTemplate, the_generation_prompt_ends_the_ids_so_the_answer_follows) {
  Tokenizer tokenizer = tokenizer_for("llama3");
  auto ids = ChatTemplate::named("llama3").encode(tokenizer, conversation(0));
  // ... <|start_header_id|> a s s i s t a n t <|end_header_id|> \n \n: nothing after it
  int32_t header = *tokenizer.token_id("<|start_header_id|>");
  size_t last = ids.size();
  while (last > 0 && ids[last - 1] != header) last--;
  ASSERT_GT(last, 0u);
  std::string tail = tokenizer.decode(std::span(ids).subspan(last - 1));
  EXPECT_EQ(tail, "<|start_header_id|>assistant<|end_header_id|>\n\n");
  auto without = ChatTemplate::named("llama3").encode(tokenizer, conversation(0), false);
  EXPECT_EQ(tokenizer.decode(std::span(without).last(1)), "<|eot_id|>");
}

TEST(ChatTemplate, refuses_unknown_names_texts_and_tokenizers_without_its_tokens) {
  try {
    ChatTemplate::named("vicuna");
    ADD_FAILURE() << "accepted vicuna";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), exit_code::usage);
    EXPECT_STREQ(e.what(), "--chat: \"vicuna\" is not a known chat template (auto, llama3, chatml, mistral, llama2, gemma)");
  }
  auto texts = testing::read_json((chat_fixtures() / "templates.json").string());
  std::string almost = texts["chatml"].get<std::string>() + " ";  // one space more is another template
  try {
    ChatTemplate::from_jinja(almost, "tokenizer_config.json");
    ADD_FAILURE() << "accepted a changed template";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), exit_code::data);
    EXPECT_EQ(e.where(), "tokenizer_config.json");
    EXPECT_NE(std::string(e.what()).find("chat_template is not one of the templates omlkit knows"), std::string::npos);
  }
  try {
    ChatTemplate::named("chatml").encode(tokenizer_for("llama3"), conversation(0));
    ADD_FAILURE() << "encoded ChatML with a tokenizer that lacks <|im_start|>";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), exit_code::data);
    EXPECT_STREQ(e.what(), "chat template chatml: needs the special token <|im_start|>, which tokenizer.json does not "
                           "have as an added token");
  }
}

TEST(ChatTemplate, auto_reads_the_model_folders_template_and_special_text) {
  auto dir = std::filesystem::temp_directory_path() / ("omlkit_chat_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto texts = testing::read_json((chat_fixtures() / "templates.json").string());
  {
    std::ofstream(dir / "tokenizer_config.json")
        << nlohmann::json{{"chat_template", texts["mistral"]}, {"bos_token", {{"content", "<s>"}}}, {"eos_token", "</s>"}}.dump();
  }
  ChatTemplate t = ChatTemplate::for_model("auto", dir.string());
  EXPECT_EQ(t.name(), "mistral");
  EXPECT_EQ(t.render(conversation(0), true), "<s>[INST] Hello, who are you? [/INST]");
  {
    std::ofstream(dir / "tokenizer_config.json") << nlohmann::json{{"bos_token", "<s>"}}.dump();
  }
  try {
    ChatTemplate::for_model("auto", dir.string());
    ADD_FAILURE() << "auto without a chat_template";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), exit_code::data);
    EXPECT_STREQ(e.what(), "chat_template: missing (the model has no chat template)");
  }
  std::filesystem::remove_all(dir);
}

TEST(TokenContext, text_follows_the_post_processor_ids_stay_as_given_chat_writes_its_own_bos) {
  Tokenizer legacy = tokenizer_for("llama2");  // TemplateProcessing adds <s> (id 1)
  TokenContext with_bos(legacy, std::nullopt, true), without(legacy, std::nullopt, false);
  EXPECT_EQ(with_bos.encode_prompt("abc"), (std::vector<int32_t>{1, 281, 262}));
  EXPECT_EQ(without.encode_prompt("abc"), (std::vector<int32_t>{281, 262}));
  TokenContext chat(legacy, ChatTemplate::named("llama2"), true);
  auto ids = chat.encode_prompt("Hello, who are you?");
  // tokenizers.js's ids of "<s>[INST] Hello, who are you? [/INST]": one BOS, the template's.
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 259, 94, 76, 81, 86, 87, 96, 259, 75, 263, 274, 47, 271, 264, 266, 259,
                                       260, 268, 263, 259, 124, 266, 120, 66, 259, 94, 50, 76, 81, 86, 87, 96}));
  EXPECT_EQ(chat.prompt_text("Hi"), "<s>[INST] Hi [/INST]");
  auto spans = chat.encode_prompt_with_offsets("Hi");
  EXPECT_EQ(spans.front(), (TokenSpan{1, "<s>", 0, 3}));
  std::vector<int64_t> ok = {0, 281}, wrapped = {4294967760, 464}, negative = {-5};
  TokenContext::check_ids(ok, 282, "tokens");
  for (auto* bad : {&wrapped, &negative}) {
    try {
      TokenContext::check_ids(*bad, 282, "tokens");
      ADD_FAILURE() << "accepted " << (*bad)[0];
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), exit_code::data);
      EXPECT_EQ(std::string(e.what()), "tokens[0]: id " + std::to_string((*bad)[0]) + " is outside the vocabulary (0..281)");
    }
  }
}

}  // namespace
}  // namespace omlkit::model

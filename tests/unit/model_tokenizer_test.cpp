// The tokenizer against Hugging Face's reference ids (tokenizers.js 0.2.0): the shared
// models' tokenizer_cases, the pre-tokenizer regexes as JavaScript runs them, and a small
// SentencePiece-style tokenizer.json whose expected ids tokenizers.js produced.
#include <gtest/gtest.h>

#include <sstream>

#include "io/error.h"
#include "model/pretokenizer.h"
#include "model/tokenizer.h"
#include "model_test_support.h"

namespace omlkit::model {
namespace {

TEST(Tokenizer, shared_models_encode_every_reference_case_and_decode_it_back) {
  for (const char* name : {"gpt2-small", "llama-small"}) {
    auto dir = testing::shared_model_dir(name);
    if (!dir) GTEST_SKIP() << "../shared/models not found (set OMLKIT_SHARED)";
    Tokenizer tokenizer = Tokenizer::from_file(*dir + "/tokenizer.json");
    auto ref = testing::read_json(*dir + "/reference.json");
    int passed = 0;
    for (const auto& c : ref["tokenizer_cases"]) {
      std::string text = c["text"];
      std::vector<int32_t> expected = c["ids"];
      auto ids = tokenizer.encode(text);
      EXPECT_EQ(ids, expected) << name << ": " << text;
      EXPECT_EQ(tokenizer.decode(ids), text) << name;
      passed += ids == expected && tokenizer.decode(ids) == text;
    }
    std::cout << "[ measured ] " << name << " tokenizer cases passed " << passed << "/"
              << ref["tokenizer_cases"].size() << "\n";
    for (const auto& g : ref["greedy"])
      EXPECT_EQ(tokenizer.encode(g["prompt"].get<std::string>()), g["prompt_ids"].get<std::vector<int32_t>>());
  }
}


// Small tokenizer.json files of each supported layout (tests/fuzz/corpus/tokenizer_json/,
// also the fuzzers' seeds): ids and decoded text as tokenizers.js 0.2.0 produced them
// (node, @huggingface/tokenizers, encode without special tokens), pasted verbatim.
constexpr const char* kTokenizersJsReference = R"JSON(
{"file":"sentencepiece_legacy.json","cases":[{"text":"hello world","ids":[276,278,265,269],"decoded":"hello world"},{"text":"Hello world","ids":[259,75,263,274,278,265,269],"decoded":"Hello world"},{"text":" hello  world ","ids":[259,276,259,278,265,269,259],"decoded":" hello  world "},{"text":"héllo wörld","ids":[270,198,172,274,271,198,185,268,265,269],"decoded":"héllo wörld"},{"text":"abc","ids":[281,262],"decoded":"abc"},{"text":"<s>hello</s> world","ids":[1,276,2,259,278,265,269],"decoded":"<s> hello</s>  world"},{"text":"日本","ids":[259,233,154,168,233,159,175],"decoded":"日本"},{"text":"ab ab\tab","ids":[281,281,12,280],"decoded":"ab ab\tab"}]}
{"file":"sentencepiece_metaspace.json","cases":[{"text":"hello world","ids":[276,278,265,269],"decoded":"hello world"},{"text":"Hello world","ids":[259,75,263,274,278,265,269],"decoded":"<0x48>ello world"},{"text":" hello  world ","ids":[276,259,278,265,269,259],"decoded":"hello  world "},{"text":"héllo wörld","ids":[270,198,172,274,271,198,185,268,265,269],"decoded":"h<0xC3><0xA9>llo w<0xC3><0xB6>rld"},{"text":"abc","ids":[281,262],"decoded":"abc"},{"text":"<s>hello</s> world","ids":[1,272,274,2,278,265,269],"decoded":"<s>hello</s> world"},{"text":"日本","ids":[259,233,154,168,233,159,175],"decoded":"<0xE6><0x97><0xA5><0xE6><0x9C><0xAC>"},{"text":"ab ab\tab","ids":[281,281,12,280],"decoded":"ab ab<0x09>ab"}]}
{"file":"byte_level_gpt2.json","cases":[{"text":"hello world","ids":[257,108,108,111,32,119,111,114,108,100],"decoded":"hello world"},{"text":"Hello world","ids":[72,101,108,108,111,32,119,111,114,108,100],"decoded":"Hello world"},{"text":" hello  world ","ids":[32,257,108,108,111,32,32,119,111,114,108,100,32],"decoded":" hello  world "},{"text":"héllo wörld","ids":[104,195,169,108,108,111,32,119,195,182,114,108,100],"decoded":"héllo wörld"},{"text":"abc","ids":[97,98,99],"decoded":"abc"},{"text":"<s>hello</s> world","ids":[60,115,62,257,108,108,111,60,47,115,62,32,119,111,114,108,100],"decoded":"<s>hello</s> world"},{"text":"日本","ids":[230,151,165,230,156,172],"decoded":"日本"},{"text":"ab ab\tab","ids":[97,98,260,98,9,97,98],"decoded":"ab ab\tab"}]}
{"file":"byte_level_llama3.json","cases":[{"text":"hello world","ids":[257,108,108,111,32,119,111,114,108,100],"decoded":"hello world"},{"text":"Hello world","ids":[72,101,108,108,111,32,119,111,114,108,100],"decoded":"Hello world"},{"text":" hello  world ","ids":[32,257,108,108,111,32,32,119,111,114,108,100,32],"decoded":" hello  world "},{"text":"héllo wörld","ids":[104,195,169,108,108,111,32,119,195,182,114,108,100],"decoded":"héllo wörld"},{"text":"abc","ids":[97,98,99],"decoded":"abc"},{"text":"<s>hello</s> world","ids":[60,115,62,257,108,108,111,60,47,115,62,32,119,111,114,108,100],"decoded":"<s>hello</s> world"},{"text":"日本","ids":[230,151,165,230,156,172],"decoded":"日本"},{"text":"ab ab\tab","ids":[97,98,260,98,9,97,98],"decoded":"ab ab\tab"}]}
)JSON";

TEST(Tokenizer, small_tokenizers_of_every_layout_match_tokenizers_js) {
  std::istringstream lines(kTokenizersJsReference);
  std::string line;
  int files = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    auto ref = nlohmann::json::parse(line);
    std::string path = (testing::repo_root() / "tests/fuzz/corpus/tokenizer_json" / ref["file"].get<std::string>()).string();
    Tokenizer tokenizer = Tokenizer::from_file(path);
    for (const auto& c : ref["cases"]) {
      auto ids = tokenizer.encode(c["text"].get<std::string>());
      EXPECT_EQ(ids, c["ids"].get<std::vector<int32_t>>()) << ref["file"] << ": " << c["text"];
      EXPECT_EQ(tokenizer.decode(ids), c["decoded"].get<std::string>()) << ref["file"] << ": " << c["text"];
    }
    files++;
  }
  EXPECT_EQ(files, 4);
}

TEST(Tokenizer, template_adds_the_bos_token_only_when_asked) {
  auto path = (testing::repo_root() / "tests/fuzz/corpus/tokenizer_json/sentencepiece_legacy.json").string();
  Tokenizer tokenizer = Tokenizer::from_file(path);
  EXPECT_EQ(tokenizer.encode("abc", true), (std::vector<int32_t>{1, 281, 262}));
  EXPECT_EQ(tokenizer.decode(std::vector<int32_t>{1, 281, 262}, true), "abc");
}

// Offsets, checked against definitions that do not use them: the input bytes of each token,
// mapped the way the tokenizer's normalizer and pre-tokenizer map them, are its piece; the
// decoded text up to a token is what decoding the ids up to it gives.
std::vector<std::string> every_layout() {
  return {"byte_level_gpt2.json", "byte_level_llama3.json", "sentencepiece_legacy.json", "sentencepiece_metaspace.json"};
}
const std::vector<std::string> kOffsetTexts = {"hello world", " hello  world ", "héllo wörld", "<s>hello</s> world",
                                               "日本", "ab ab\tab", "", "Hello, it's 2026!\r\n"};

TEST(Tokenizer, encode_offsets_cover_the_bytes_each_token_was_made_from) {
  for (const auto& file : every_layout()) {
    Tokenizer tokenizer = Tokenizer::from_file((testing::repo_root() / "tests/fuzz/corpus/tokenizer_json" / file).string());
    bool sentencepiece = file.rfind("sentencepiece", 0) == 0;
    for (const auto& text : kOffsetTexts) {
      for (bool special : {false, true}) {
        auto spans = tokenizer.encode_with_offsets(text, special);
        std::vector<int32_t> ids;
        for (const auto& s : spans) ids.push_back(s.id);
        EXPECT_EQ(ids, tokenizer.encode(text, special)) << file << ": " << text;
        size_t covered = 0;
        std::string rebuilt;
        for (const auto& s : spans) {
          ASSERT_LE(s.begin, s.end);
          ASSERT_LE(s.end, text.size());
          std::string bytes = text.substr(s.begin, s.end - s.begin);
          if (s.begin == s.end) continue;  // post-processor tokens
          EXPECT_EQ(s.begin, covered) << file << ": tokens cover the text in order: " << text;
          covered = s.end;
          rebuilt += bytes;
          if (tokenizer.added_token(s.id)) {
            EXPECT_EQ(bytes, s.piece);
          } else if (sentencepiece) {
            // " " is "▁"; a byte-fallback piece is one byte; the first word gets a "▁".
            std::string mapped;
            for (char c : bytes) mapped += c == ' ' ? std::string("\u2581") : std::string(1, c);
            bool fallback = s.piece.size() == 6 && s.piece.rfind("<0x", 0) == 0;
            if (!fallback) EXPECT_TRUE(s.piece == mapped || s.piece == "\u2581" + mapped) << file << ": " << s.piece << " vs " << bytes;
            else EXPECT_EQ(bytes.size(), 1u) << s.piece;
          } else {
            // A multi-byte character split over byte-level tokens is named by each of them.
            EXPECT_EQ(s.piece, byte_level_encode(bytes)) << file << ": " << text;
          }
        }
        EXPECT_EQ(rebuilt, text) << file;
      }
    }
  }
  // The post-processor's BOS stands for no input bytes.
  auto path = (testing::repo_root() / "tests/fuzz/corpus/tokenizer_json/sentencepiece_legacy.json").string();
  auto spans = Tokenizer::from_file(path).encode_with_offsets("abc", true);
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0], (TokenSpan{1, "<s>", 0, 0}));
  EXPECT_EQ(spans[1].begin, 0u);
  EXPECT_EQ(spans[2].end, 3u);
}

TEST(Tokenizer, decode_offsets_end_where_decoding_the_ids_so_far_ends) {
  for (const auto& file : every_layout()) {
    Tokenizer tokenizer = Tokenizer::from_file((testing::repo_root() / "tests/fuzz/corpus/tokenizer_json" / file).string());
    for (const auto& text : kOffsetTexts) {
      auto ids = tokenizer.encode(text, true);
      for (bool skip : {false, true}) {
        std::vector<TokenSpan> spans;
        std::string decoded = tokenizer.decode_with_offsets(ids, spans, skip);
        EXPECT_EQ(decoded, tokenizer.decode(ids, skip));
        ASSERT_EQ(spans.size(), ids.size());
        size_t end = 0;
        for (size_t i = 0; i < ids.size(); i++) {
          // Brute force: the longest prefix of the whole text that decoding ids[0..i] agrees with.
          std::string prefix = tokenizer.decode(std::span(ids).first(i + 1), skip);
          size_t common = 0;
          while (common < prefix.size() && common < decoded.size() && prefix[common] == decoded[common]) common++;
          // Stop at a character boundary (a U+FFFD stand-in may share a lead byte).
          while (common > 0 && common < decoded.size() && (static_cast<unsigned char>(decoded[common]) & 0xc0) == 0x80) common--;
          end = std::max(end, common);
          EXPECT_EQ(spans[i].end, end) << file << ": " << text << " token " << i;
          EXPECT_EQ(spans[i].begin, i ? spans[i - 1].end : 0) << file << ": " << text << " token " << i;
        }
        EXPECT_EQ(end, decoded.size()) << file << ": " << text;
      }
    }
  }
}

TEST(Tokenizer, offsets_of_the_shared_models_reference_cases_rebuild_the_text) {
  for (const char* name : {"gpt2-small", "llama-small"}) {
    auto dir = testing::shared_model_dir(name);
    if (!dir) GTEST_SKIP() << "../shared/models not found (set OMLKIT_SHARED)";
    Tokenizer tokenizer = Tokenizer::from_file(*dir + "/tokenizer.json");
    for (const auto& c : testing::read_json(*dir + "/reference.json")["tokenizer_cases"]) {
      std::string text = c["text"];
      auto spans = tokenizer.encode_with_offsets(text, true);
      std::vector<int32_t> ids;
      std::string rebuilt;
      for (const auto& s : spans) ids.push_back(s.id), rebuilt += text.substr(s.begin, s.end - s.begin);
      EXPECT_EQ(ids, c["ids"].get<std::vector<int32_t>>()) << name << ": no BOS, as the ByteLevel post-processor adds none";
      EXPECT_EQ(rebuilt, text);
    }
  }
}

TEST(Tokenizer, unsupported_components_are_refused_by_name) {
  auto path = (testing::repo_root() / "tests/fuzz/corpus/tokenizer_json/byte_level_gpt2.json").string();
  auto base = testing::read_json(path);
  auto refused = [&](nlohmann::json changed, const std::string& name) {
    try {
      Tokenizer::from_json(changed.dump(), "tokenizer.json");
      ADD_FAILURE() << "accepted " << name;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), exit_code::data);
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  };
  auto t = base;
  t["pre_tokenizer"] = {{"type", "Whitespace"}};
  refused(t, "Whitespace");
  t = base;
  t["normalizer"] = {{"type", "NFKC"}};
  refused(t, "NFKC");
  t = base;
  t["model"]["type"] = "WordPiece";
  refused(t, "WordPiece");
  t = base;
  t["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "\\w+"}}}, {"behavior", "Isolated"}, {"invert", false}};
  refused(t, "Split regex");
  t = base;
  t["post_processor"] = {{"type", "RobertaProcessing"}};
  refused(t, "RobertaProcessing");
  t = base;
  t["model"]["dropout"] = 0.1;
  refused(t, "dropout");
}

TEST(PreTokenizer, scanners_split_as_the_regexes_do_in_javascript) {
  // Expected pieces from JavaScript: "text".match(new RegExp(pattern, "gu")) with \s as
  // \p{White_Space} (tokenizers.js's rewrite).
  auto pieces = [](void (*split)(std::string_view, std::vector<std::string_view>&), std::string_view text) {
    std::vector<std::string_view> out;
    split(text, out);
    return std::vector<std::string>(out.begin(), out.end());
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces(split_gpt2, "I'm  12345 ok!!\n\n x"), (V{"I", "'m", " ", " 12345", " ok", "!!", "\n\n", " x"}));
  EXPECT_EQ(pieces(split_llama3, "I'M  12345 ok!!\n\n x"), (V{"I", "'M", " ", " ", "123", "45", " ok", "!!\n\n", " x"}));
  EXPECT_EQ(pieces(split_llama3, "a\t\tb \r\n c"), (V{"a", "\t", "\tb", " \r\n", " c"}));
  EXPECT_EQ(pieces(split_gpt2, "end   "), (V{"end", "   "}));
}

}  // namespace
}  // namespace omlkit::model

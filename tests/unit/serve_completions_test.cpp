// The /v1/completions request reader without a socket: every refusal a client can trigger.
// (Completions over HTTP are tested end to end in tests/cli/model-run-serve.bats.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/cpu/cpu_backend.h"
#include "model_test_support.h"
#include "serve/completions.h"

namespace omlkit::serve {
namespace {

class Completions : public ::testing::Test {
 protected:
  Completions()
      : backend(1), checkpoint(model::Checkpoint::open(model::testing::fixture_dir("gpt2-tiny"))), model(checkpoint, backend) {
    served.name = "tiny";
    served.model = &model;
    served.tokenizer = nullptr;  // token-id prompts only: the fixture has no tokenizer.json
  }
  int status_of(const std::string& body) {
    try {
      parse_completion_request(body, served);
    } catch (const RequestError& e) {
      message = e.what();
      return e.status();
    }
    return 200;
  }
  model::CpuBackend backend;
  model::Checkpoint checkpoint;
  model::Transformer model;
  ServedModel served;
  std::string message;
};

TEST_F(Completions, reads_the_openai_fields) {
  auto r = parse_completion_request(
      R"({"model":"tiny","prompt":[1,2,3],"max_tokens":5,"temperature":0.7,"top_p":0.9,"seed":42})", served);
  EXPECT_EQ(r.prompt, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_FALSE(r.prompt_is_text);
  EXPECT_EQ(r.max_tokens, 5);
  EXPECT_FLOAT_EQ(r.temperature, 0.7f);
  EXPECT_FLOAT_EQ(r.top_p, 0.9f);
  EXPECT_EQ(*r.seed, 42u);
  auto defaults = parse_completion_request(R"({"prompt":[[7]]})", served);
  EXPECT_EQ(defaults.max_tokens, 16);
  EXPECT_FLOAT_EQ(defaults.temperature, 1.0f);
  EXPECT_FALSE(defaults.seed.has_value());
}

TEST_F(Completions, refuses_what_it_cannot_honour) {
  EXPECT_EQ(status_of("not json"), 400);
  EXPECT_EQ(message, "the request body is not valid JSON");
  EXPECT_EQ(status_of(R"({"prompt":[1],"model":"gpt-4"})"), 404);
  EXPECT_EQ(message, "model: \"gpt-4\" is not served here (this server has \"tiny\")");
  EXPECT_EQ(status_of(R"({"max_tokens":3})"), 400);
  EXPECT_EQ(message, "prompt: required");
  EXPECT_EQ(status_of(R"({"prompt":[1,256]})"), 400);
  EXPECT_EQ(message, "prompt: expected token ids in [0, 256), found 256");
  EXPECT_EQ(status_of(R"({"prompt":[]})"), 400);
  EXPECT_EQ(message, "prompt: empty");
  EXPECT_EQ(status_of(R"({"prompt":[1],"temperature":3})"), 400);
  EXPECT_EQ(message, "temperature: expected a number in [0.0, 2.0], found 3");
  EXPECT_EQ(status_of(R"({"prompt":[1],"top_p":0})"), 400);
  EXPECT_EQ(status_of(R"({"prompt":[1],"n":2})"), 400);
  EXPECT_EQ(message, "n: only 1 is supported");
  EXPECT_EQ(status_of(R"({"prompt":[1],"stop":["\n"]})"), 400);
  EXPECT_EQ(message, "stop: not supported by this server");
  EXPECT_EQ(status_of(R"({"prompt":[1],"max_tokens":64})"), 400);
  EXPECT_EQ(message, "prompt of 1 tokens plus max_tokens 64 exceeds the model's context of 64");
  EXPECT_EQ(status_of(R"({"prompt":[1],"seed":"x"})"), 400);
  EXPECT_EQ(status_of(R"({"prompt":[1],"max_tokens":2.5})"), 400);
  EXPECT_EQ(message, "max_tokens: expected an integer");
}

}  // namespace
}  // namespace omlkit::serve

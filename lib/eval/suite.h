// Evaluation suites: JSON-lines files of tasks and their items, read strictly.
//
//   {"type":"suite","v":1,"suite":"git-relnotes","licence":"..."}          first line
//   {"type":"task","task":"mc","kind":"multiple_choice","metric":"acc_norm","weight":2}
//   {"type":"item","task":"mc","context":"...","choices":["...","..."],"answer":1}
//   {"type":"item","task":"ppl","text":"..."}                                perplexity
//   {"type":"item","task":"em","prompt":"...","target":"...","max_new_tokens":16,"until":["\n"]}
//
// The three kinds and their metrics follow EleutherAI's lm-evaluation-harness
// (multiple_choice: acc, acc_norm; perplexity: byte_perplexity, with word_perplexity and
// bits_per_byte reported beside it; exact_match). The full format is in
// man/omlkit-formats.5. Every error names the file and line (exit 65).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace omlkit::eval {

enum class TaskKind { multiple_choice, perplexity, exact_match };
std::string_view task_kind_name(TaskKind kind);

struct Item {
  std::string where;  // file:line, for errors found while running it
  // multiple_choice
  std::string context;
  std::vector<std::string> choices;
  int answer = 0;
  // perplexity
  std::string text;
  // exact_match
  std::string prompt, target;
  int max_new_tokens = 32;
  std::vector<std::string> until{"\n"};
};

struct Task {
  std::string name;
  TaskKind kind = TaskKind::multiple_choice;
  std::string metric;  // the metric that makes the task's score
  int64_t weight = 1;  // in the overall score
  std::string where;
  std::vector<Item> items;
};

struct Suite {
  std::string name;
  std::string digest;  // "sha256:" + hex of the file's bytes
  std::vector<Task> tasks;  // in the order declared
};

// Parses a suite file's bytes; `file` names it in errors. Throws omlkit::Error 65.
Suite parse_suite(std::string_view bytes, const std::string& file);
// Reads and parses a file (66 when unreadable).
Suite read_suite(const std::string& path);

}  // namespace omlkit::eval

// What every omlkit tool shares: --version, --quiet, the "tool: where: message"
// diagnostics of DESIGN.md, and the mapping from errors to exit codes.
//
// A tool's main builds a CLI::App, adds its options, and hands its body to run():
//
//   int main(int argc, char** argv) {
//     CLI::App app{"what it does", "ledger-append"};
//     omlkit::tool::add_standard_flags(app);
//     ...options...
//     return omlkit::tool::run(app, argc, argv, [&] { ...; return 0; });
//   }
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <string_view>

namespace omlkit::tool {

inline constexpr const char* version = "0.1.0";

// --version, --quiet, --max-line-bytes.
void add_standard_flags(CLI::App& app);

// The longest input line a tool accepts (--max-line-bytes; default 16 MiB): a longer line
// is an error with its place, never an unbounded allocation.
size_t max_line_bytes();

// Parses argv and calls body; maps CLI errors to exit 2, omlkit::Error to its code,
// anything else to 70. Prints one diagnostic line on stderr.
int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

// "tool: where: message" on stderr (where may be empty). Warnings respect --quiet.
void error(std::string_view where, std::string_view message);
void warn(std::string_view where, std::string_view message);
// A human summary line on stderr, as it is ("ok: ..."): stdout carries only records.
void note(std::string_view message);

// True when stderr is a terminal: long work shows progress only then.
bool stderr_is_terminal();

}  // namespace omlkit::tool

#include "tool.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "io/error.h"
#include "io/line_reader.h"

namespace omlkit::tool {

static std::string program_name = "omlkit";
static bool quiet = false;
static size_t line_limit = io::default_max_line_bytes;

void add_standard_flags(CLI::App& app) {
  app.set_version_flag("--version", std::string(app.get_name()) + " (omlkit) " + version);
  app.add_flag("-q,--quiet", quiet, "Silence warnings (never errors)");
  app.add_option("--max-line-bytes", line_limit, "Longest input line accepted (default 16 MiB)")
      ->check(CLI::PositiveNumber);
}

size_t max_line_bytes() { return line_limit; }

static void print(std::string_view where, std::string_view message) {
  std::string line = program_name + ": ";
  if (!where.empty()) {
    line += where;
    line += ": ";
  }
  line += message;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void error(std::string_view where, std::string_view message) { print(where, message); }

void warn(std::string_view where, std::string_view message) {
  if (!quiet) print(where, std::string("warning: ") + std::string(message));
}

bool stderr_is_terminal() { return ::isatty(2) == 1; }

int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  program_name = app.get_name();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    print("", std::string(e.what()) + " (see --help)");
    return exit_code::usage;
  }
  try {
    return body();
  } catch (const Error& e) {
    print(e.where(), e.what());
    return e.code();
  } catch (const std::bad_alloc&) {
    print("", "out of memory");
    return exit_code::internal;
  } catch (const std::exception& e) {
    print("", std::string("internal error: ") + e.what());
    return exit_code::internal;
  }
}

}  // namespace omlkit::tool

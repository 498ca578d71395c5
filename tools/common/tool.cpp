#include "tool.h"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
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

// Control characters from input (a newline, an escape sequence for the terminal) are
// written as \n, \t, \r or \xNN, so a diagnostic stays one line and cannot drive the terminal.
static void append_escaped(std::string& out, std::string_view text) {
  static const char hex[] = "0123456789abcdef";
  for (unsigned char c : text) {
    if (c >= 0x20 && c != 0x7f) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
}

static void print(std::string_view where, std::string_view message, bool with_name = true) {
  std::string line;
  if (with_name) line = program_name + ": ";
  if (!where.empty()) {
    append_escaped(line, where);
    line += ": ";
  }
  append_escaped(line, message);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void error(std::string_view where, std::string_view message) { print(where, message); }

void warn(std::string_view where, std::string_view message) {
  if (!quiet) print(where, std::string("warning: ") + std::string(message));
}

void note(std::string_view message) { print("", message, false); }

bool stderr_is_terminal() { return ::isatty(2) == 1; }

int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  program_name = app.get_name();
  // A file-size limit (ulimit -f) must end in a write error and its message, not a signal.
  std::signal(SIGXFSZ, SIG_IGN);
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
    int code = body();
    // Whatever went to stdout through stdio must have reached it: lost output is exit 74.
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      print("stdout", std::string("write failed: ") + std::strerror(errno));
      return exit_code::io;
    }
    return code;
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

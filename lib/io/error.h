// Errors that cross module lines in omlkit.
//
// lib/ never prints and never exits: it throws omlkit::Error, which carries the exit code
// of DESIGN.md and the place the problem was found ("file:line", or "file:line: field").
// tools/ catch it at the top of main and print "tool: where: message".
#pragma once

#include <stdexcept>
#include <string>

namespace omlkit {

// Exit codes (DESIGN.md "Exit codes and diagnostics").
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int check_failed = 1;   // the check ran and failed (ledger invalid, ...)
inline constexpr int usage = 2;
inline constexpr int torn_tail = 3;      // ledger has only a torn tail
inline constexpr int data = 65;          // bad input data (EX_DATAERR)
inline constexpr int no_input = 66;      // input missing or unreadable
inline constexpr int internal = 70;      // broken invariant
inline constexpr int cannot_create = 73; // cannot create output
inline constexpr int io = 74;            // I/O error
inline constexpr int temp_fail = 75;     // temporary failure (lock timeout)
}  // namespace exit_code

class Error : public std::runtime_error {
 public:
  Error(int code, std::string where, const std::string& message)
      : std::runtime_error(message), code_(code), where_(std::move(where)) {}

  int code() const { return code_; }
  // "file:line" or "" when the error has no place in an input.
  const std::string& where() const { return where_; }

 private:
  int code_;
  std::string where_;
};

// Bad input data at a place: the most common error by far.
inline Error data_error(std::string where, const std::string& message) {
  return Error(exit_code::data, std::move(where), message);
}

}  // namespace omlkit

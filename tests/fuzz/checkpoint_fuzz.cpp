// libFuzzer target: kept checkpoints (ledger-verify --trusted FILE): a C2SP signed note, or
// a JSON receipt or ledger line holding one, through ledger::load_trusted_head with the
// seeds' signing key known. Only omlkit::Error may escape the library.
#include <cstdint>

#include "crypto/signed_note.h"
#include "fuzz_support.h"
#include "io/error.h"
#include "ledger/verify.h"

using namespace omlkit;

// The verifier of tests/fuzz/fuzz-key.pem (ledger-append --print-key), which signed the seeds.
static const char fuzz_verifier[] = "fuzz.example/ledger+ab7d8394+AXm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk";

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<crypto::NoteVerifier> verifiers{*crypto::parse_verifier_key(fuzz_verifier)};
  const std::string& path = fuzz::scratch_file(data, size);
  try {
    ledger::TrustedHead head = ledger::load_trusted_head(path, verifiers);
    (void)head;
  } catch (const Error&) {
  }
  try {  // the note parser alone, on the raw bytes
    crypto::open_note(std::string_view(reinterpret_cast<const char*>(data), size), verifiers);
  } catch (const Error&) {
  }
  return 0;
}

// C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and the tlog-checkpoint
// body (c2sp.org/tlog-checkpoint) that ledger checkpoints carry.
//
// A note is: text (ending in '\n'), a blank line, then one or more signature lines
// "\u2014 <name> <base64(4-byte key id || 64-byte signature)>\n". The signature covers the
// text including its final newline. Ed25519 key id = SHA-256(name || 0x0A || 0x01 || key)[:4].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/ed25519.h"
#include "crypto/sha256.h"

namespace omlkit::crypto {

struct NoteVerifier {
  std::string name;
  uint32_t key_id = 0;
  PublicKey key{};
};

uint32_t note_key_id(std::string_view name, const PublicKey& key);
NoteVerifier make_verifier(std::string_view name, const PublicKey& key);
// "name+hex(key id)+base64(0x01 || key)".
std::string verifier_key_string(const NoteVerifier& v);
// Parses a verifier key string; nullopt when malformed or its key id does not match.
std::optional<NoteVerifier> parse_verifier_key(std::string_view text);

// True when name is a valid key name: non-empty, no spaces, no '+', printable.
bool valid_key_name(std::string_view name);

std::string sign_note(std::string_view text, std::string_view name, const SigningKey& key);

struct OpenedNote {
  std::string text;                   // the signed text, with its final newline
  std::vector<std::string> signers;   // names of the known keys whose signatures verified
  bool malformed = false;
};
// Splits a note and checks every signature line made by a key in `known`; unknown keys
// are ignored, as the spec requires. The caller decides what an empty `signers` means.
OpenedNote open_note(std::string_view note, const std::vector<NoteVerifier>& known);

// tlog-checkpoint body: "origin\nsize\nbase64(root)\n".
std::string checkpoint_text(std::string_view origin, uint64_t size, const Hash& root);

}  // namespace omlkit::crypto

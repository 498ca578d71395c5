#include "crypto/signed_note.h"

#include <cstring>

namespace omlkit::crypto {

static const std::string em_dash = "\xE2\x80\x94";  // U+2014

uint32_t note_key_id(std::string_view name, const PublicKey& key) {
  std::string bytes(name);
  bytes += '\n';
  bytes += '\x01';  // signature algorithm: Ed25519
  bytes.append(reinterpret_cast<const char*>(key.data()), key.size());
  Hash h = sha256(bytes);
  return uint32_t(h[0]) << 24 | uint32_t(h[1]) << 16 | uint32_t(h[2]) << 8 | h[3];
}

NoteVerifier make_verifier(std::string_view name, const PublicKey& key) {
  return NoteVerifier{std::string(name), note_key_id(name, key), key};
}

bool valid_key_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (c <= 0x20 || c == '+' || c == 0x7f) return false;
  return true;
}

std::string verifier_key_string(const NoteVerifier& v) {
  uint8_t id[4] = {uint8_t(v.key_id >> 24), uint8_t(v.key_id >> 16), uint8_t(v.key_id >> 8),
                   uint8_t(v.key_id)};
  std::string key_bytes = "\x01";
  key_bytes.append(reinterpret_cast<const char*>(v.key.data()), v.key.size());
  return v.name + "+" + to_hex(id, 4) + "+" + base64_encode(key_bytes);
}

std::optional<NoteVerifier> parse_verifier_key(std::string_view text) {
  size_t p1 = text.find('+');
  if (p1 == std::string_view::npos) return std::nullopt;
  size_t p2 = text.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return std::nullopt;
  std::string_view name = text.substr(0, p1);
  uint8_t id[4];
  std::string key_bytes;
  if (!valid_key_name(name) || !from_hex(text.substr(p1 + 1, p2 - p1 - 1), id, 4) ||
      !base64_decode(text.substr(p2 + 1), &key_bytes) || key_bytes.size() != 33 ||
      key_bytes[0] != '\x01')
    return std::nullopt;
  NoteVerifier v;
  v.name = std::string(name);
  std::memcpy(v.key.data(), key_bytes.data() + 1, 32);
  v.key_id = uint32_t(id[0]) << 24 | uint32_t(id[1]) << 16 | uint32_t(id[2]) << 8 | id[3];
  if (v.key_id != note_key_id(v.name, v.key)) return std::nullopt;
  return v;
}

std::string sign_note(std::string_view text, std::string_view name, const SigningKey& key) {
  Signature sig = key.sign(text);
  uint32_t id = note_key_id(name, key.public_key());
  std::string blob = {char(id >> 24), char(id >> 16), char(id >> 8), char(id)};
  blob.append(reinterpret_cast<const char*>(sig.data()), sig.size());
  std::string note(text);
  note += '\n';
  note += em_dash + " " + std::string(name) + " " + base64_encode(blob) + "\n";
  return note;
}

OpenedNote open_note(std::string_view note, const std::vector<NoteVerifier>& known) {
  OpenedNote out;
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos || note.empty() || note.back() != '\n') {
    out.malformed = true;
    return out;
  }
  out.text = std::string(note.substr(0, split + 1));
  for (char c : out.text)
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') out.malformed = true;
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty()) out.malformed = true;
  while (!sigs.empty()) {
    size_t eol = sigs.find('\n');
    std::string_view line = sigs.substr(0, eol);
    sigs.remove_prefix(eol + 1);
    if (line.substr(0, em_dash.size()) != em_dash || line.size() < em_dash.size() + 1 ||
        line[em_dash.size()] != ' ') {
      out.malformed = true;
      continue;
    }
    line.remove_prefix(em_dash.size() + 1);
    size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      out.malformed = true;
      continue;
    }
    std::string_view name = line.substr(0, space);
    std::string blob;
    if (!base64_decode(line.substr(space + 1), &blob) || blob.size() < 4) {
      out.malformed = true;
      continue;
    }
    uint32_t id = uint32_t(uint8_t(blob[0])) << 24 | uint32_t(uint8_t(blob[1])) << 16 |
                  uint32_t(uint8_t(blob[2])) << 8 | uint8_t(blob[3]);
    for (const NoteVerifier& v : known) {
      if (v.name != name || v.key_id != id) continue;
      if (blob.size() != 4 + 64) continue;
      Signature sig;
      std::memcpy(sig.data(), blob.data() + 4, 64);
      if (verify(v.key, out.text, sig)) out.signers.push_back(v.name);
    }
  }
  return out;
}

std::string checkpoint_text(std::string_view origin, uint64_t size, const Hash& root) {
  std::string text(origin);
  text += '\n';
  text += std::to_string(size);
  text += '\n';
  text += base64_encode(std::string_view(reinterpret_cast<const char*>(root.data()), root.size()));
  text += '\n';
  return text;
}

}  // namespace omlkit::crypto

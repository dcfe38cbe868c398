// libFuzzer target: the envelope scanner on arbitrary bytes, checked against nlohmann/json.
//
// Aborts when:
//  - nlohmann parses an object and the scanner does not say Object with the same string
//    values for its registered fields (type, channel, room, re, and up to four member names
//    taken from the input itself, so any name is tried) (inputs with a NUL byte or a leading UTF-8 BOM are skipped for
//    this: nlohmann stops at NUL and skips a BOM, JSON.parse does neither, and the scanner follows JSON.parse);
//  - nlohmann parses another JSON value and the scanner does not say OtherJson;
//  - the scanner says Object and nlohmann rejects the input for anything but the two things
//    JSON.parse accepts and nlohmann does not: a lone \uD800-style escape, a number too large
//    for a double;
//  - fields are reported for something that is not an object, or a second scan disagrees.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "metachannel/envelope.h"
#include "metachannel/router.h"

namespace {

[[noreturn]] void mismatch(const char* what, std::string_view input) {
  std::fprintf(stderr, "envelope_fuzz: %s\ninput (%zu bytes): ", what, input.size());
  for (unsigned char c : input.substr(0, 400)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      std::fputc(c, stderr);
    } else {
      std::fprintf(stderr, "\\x%02x", c);
    }
  }
  std::fputc('\n', stderr);
  std::abort();
}

std::optional<std::string> member(const nlohmann::json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<std::string> field(bool has, std::string_view v) {
  if (!has) return std::nullopt;
  return std::string(v);
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Rewrites every \uD800-\uDFFF escape to \u0041: the same length and the same grammar, but
// no surrogates for nlohmann to refuse.
std::string without_surrogate_escapes(std::string s) {
  for (size_t i = 0; i + 5 < s.size(); ++i) {
    if (s[i] == '\\' && s[i + 1] == 'u' && (s[i + 2] == 'd' || s[i + 2] == 'D') && is_hex(s[i + 3]) &&
        is_hex(s[i + 4]) && is_hex(s[i + 5])) {
      const char c = s[i + 3];
      if (c == '8' || c == '9' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
        s.replace(i + 2, 4, "0041");
      }
    }
  }
  return s;
}

// Whether nlohmann rejects `text` only for what JSON.parse accepts.
bool rejected_only_for_javascript_extensions(std::string text) {
  for (int round = 0; round < 2; ++round) {
    try {
      (void)nlohmann::json::parse(text);
      return true;
    } catch (const nlohmann::json::exception& e) {
      const std::string msg = e.what();
      if (msg.find("number overflow") != std::string::npos) return true;
      if (msg.find("surrogate") == std::string::npos || round == 1) return false;
      text = without_surrogate_escapes(std::move(text));
    }
  }
  return false;
}

// Up to four member names picked from the input: the strings of the form "name": in it,
// raw (escapes included, so most are registered as written, some never match).
void add_names_from(std::string_view in, mc::FieldSet& f) {
  size_t pos = 0;
  for (int added = 0; added < 4;) {
    const size_t q = in.find('"', pos);
    if (q == std::string_view::npos) return;
    const size_t e = in.find('"', q + 1);
    if (e == std::string_view::npos) return;
    pos = e + 1;
    if (e + 1 < in.size() && in[e + 1] == ':' && e - q - 1 <= 16) {
      if (f.add(in.substr(q + 1, e - q - 1)) >= 0) ++added;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  mc::FieldSet fields;  // slot 0: type
  const int kChannel = fields.add("channel"), kRoom = fields.add("room"), kRe = fields.add("re");
  add_names_from(in, fields);
  mc::Envelope e;
  e.scan(in.data(), in.size(), fields);
  const mc::Envelope::Shape shape = e.shape();

  if (!e.is_object() && e.present_fields() != 0) mismatch("fields reported for a non-object", in);
  if (e.present_fields() >> fields.size()) mismatch("a field reported at an unregistered slot", in);
  // Touch every byte of every view (ASan checks they are in bounds).
  size_t sum = 0;
  for (int s = 0; s < fields.size(); ++s) {
    for (char c : e.field(s)) sum += static_cast<unsigned char>(c);
  }
  // Scanning again (a reused Envelope) gives the same answer.
  std::string copies[mc::FieldSet::kMaxFields];
  for (int s = 0; s < fields.size(); ++s) copies[s] = std::string(e.field(s));
  const uint32_t present = e.present_fields();
  e.scan(in.data(), in.size(), fields);
  if (e.shape() != shape || e.present_fields() != present) mismatch("a second scan disagrees", in);
  for (int s = 0; s < fields.size(); ++s) {
    if (std::string(e.field(s)) != copies[s]) mismatch("a second scan disagrees on a field", in);
  }
  // Type-only scanning agrees on the shape, the type and the tag.
  {
    mc::Envelope t;
    t.scan(in.data(), in.size());
    if (t.shape() != shape || t.has_type() != e.has_type() || t.type() != e.type() || t.has_tag() != e.has_tag() ||
        t.tag_members() != e.tag_members() || (t.present_fields() & ~1u) != 0) {
      mismatch("a type-only scan disagrees", in);
    }
  }

  // The router agrees with the scanner's fields.
  for (int s = 0; s < fields.size(); ++s) {
    if (!e.has_field(s)) continue;
    mc::Router r;
    for (int k = 1; k < fields.size(); ++k) r.field_slot(fields.name(k));
    r.add(s, e.field(s), +1);
    if ((r.route_text(e) & mc::route::field(s)) == 0) mismatch("router misses a scanned field", in);
  }

  // json_unescape on arbitrary bytes must not crash either.
  std::string unescaped;
  sum += mc::json_unescape(in, unescaped) ? unescaped.size() : 0;

  // Differential check against nlohmann.
  const bool has_nul = std::memchr(in.data(), 0, in.size()) != nullptr;
  const bool has_bom = in.size() >= 3 && std::memcmp(in.data(), "\xEF\xBB\xBF", 3) == 0;
  if (has_nul && e.is_object()) mismatch("a frame with a NUL byte called an object", in);
  if (has_bom && e.is_object()) mismatch("a frame with a byte-order mark called an object", in);

  const nlohmann::json j = nlohmann::json::parse(in.begin(), in.end(), nullptr, /*allow_exceptions=*/false);
  if (!has_nul && !has_bom && !j.is_discarded()) {
    if (j.is_object()) {
      if (!e.is_object()) mismatch("nlohmann parses an object; the scanner does not", in);
      if (field(e.has_type(), e.type()) != member(j, "type")) mismatch("different type", in);
      if (field(e.has_field(kChannel), e.field(kChannel)) != member(j, "channel")) mismatch("different channel", in);
      if (field(e.has_field(kRoom), e.field(kRoom)) != member(j, "room")) mismatch("different room", in);
      if (field(e.has_field(kRe), e.field(kRe)) != member(j, "re")) mismatch("different re", in);
      for (int s = 4; s < fields.size(); ++s) {
        const std::string name(fields.name(s));
        if (field(e.has_field(s), e.field(s)) != member(j, name.c_str()) && name.find('\0') == std::string::npos) {
          mismatch("different value of a field named in the input", in);
        }
      }
    } else if (e.shape() != mc::Envelope::Shape::OtherJson) {
      mismatch("nlohmann parses a non-object JSON value; the scanner does not say OtherJson", in);
    }
  }
  if (e.is_object() && (j.is_discarded() || !j.is_object())) {
    if (!rejected_only_for_javascript_extensions(std::string(in)))
      mismatch("the scanner calls an object what nlohmann rejects", in);
  }
  static volatile size_t sink;
  sink = sum;
  return 0;
}

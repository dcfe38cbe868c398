// libFuzzer target: channel URL validation and redaction on arbitrary bytes.
//
// The whole input is one URL. Aborts when:
//  - redact_url() shows anything from the secret part (the path, query or fragment: from the
//    first "/", "?", "#" or "\" after the scheme) or the userinfo (before the last "@" of the
//    authority): what it shows between the scheme and the final "/…" must be exactly the
//    host[:port] that ends where the secret begins;
//  - redact_url() is not idempotent, or its output for a ws(s) URL is not "ws://…/…" with a
//    lower-case scheme, or for anything else is not the fixed placeholder;
//  - validate_ws_url() accepts what a simple model rejects (empty, over 8192 characters, not
//    ws:// or wss://, a space/control/DEL, a #fragment, no host), or returns a message that is
//    not one of its fixed sentences (so it never echoes the input);
//  - a valid URL's redaction is not valid itself (the redaction is what errors print, and it
//    must still read as the same host).
// Crashes, reads out of bounds and undefined behaviour are caught by ASan/UBSan.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "metachannel/url.h"

namespace {

const std::string_view kEllipsis = "/\xE2\x80\xA6";  // "/…"
const std::string_view kNotWs = "(a URL that is not ws:// or wss://)";

[[noreturn]] void fail(const char* what, std::string_view input, std::string_view output) {
  auto print = [](std::string_view s) {
    for (unsigned char c : s.substr(0, 300)) {
      if (c >= 0x20 && c < 0x7f && c != '\\') {
        std::fputc(c, stderr);
      } else {
        std::fprintf(stderr, "\\x%02x", c);
      }
    }
  };
  std::fprintf(stderr, "url_fuzz: %s\ninput (%zu bytes): ", what, input.size());
  print(input);
  std::fprintf(stderr, "\noutput: ");
  print(output);
  std::fputc('\n', stderr);
  std::abort();
}

// Every message validate_ws_url() may return (src/metachannel/url.cpp). A new one must be
// added here: the fuzzer then proves it never carries input bytes.
const char* const kProblems[] = {
    "the URL is empty; expected ws://host/path or wss://host/path",
    "the URL is longer than 8192 characters",
    "the URL must start with ws:// or wss://",
    "the URL contains a space or control character; percent-encode it",
    "a WebSocket URL cannot have a #fragment",
    "the URL has no host",
    "the URL has an unterminated [IPv6] host",
    "unexpected characters after the [IPv6] host",
    "the URL's host is malformed",
    "the URL's port must be a number from 1 to 65535",
};

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The scheme length of a ws:// or wss:// URL (any case), else 0. Written apart from url.cpp.
size_t scheme_of(std::string_view url) {
  std::string head;
  for (size_t i = 0; i < url.size() && i < 6; ++i) head += lower(url[i]);
  if (head.rfind("wss://", 0) == 0) return 6;
  if (head.rfind("ws://", 0) == 0) return 5;
  return 0;
}

bool contains_any(std::string_view s, std::string_view chars) {
  return s.find_first_of(chars) != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  const size_t scheme = scheme_of(url);
  const size_t secret_at = scheme ? std::min(url.find_first_of("/?#\\", scheme), url.size()) : url.size();
  const std::string_view secret = url.substr(secret_at);
  const std::string_view authority = scheme ? url.substr(scheme, secret_at - scheme) : std::string_view();
  const size_t at = authority.rfind('@');
  const std::string_view userinfo = at == std::string_view::npos ? std::string_view() : authority.substr(0, at);

  // ------------------------------------------------------------------ redact_url
  const std::string shown = mc::redact_url(url);
  if (mc::redact_url(shown) != shown) fail("redact_url is not idempotent", url, shown);
  if (!scheme) {
    if (shown != kNotWs) fail("a URL that is not ws(s) was not replaced by the placeholder", url, shown);
  } else {
    std::string want_scheme;
    for (char c : url.substr(0, scheme)) want_scheme += lower(c);
    if (shown.compare(0, scheme, want_scheme) != 0)
      fail("the redaction does not start with the lower-case scheme", url, shown);
    if (shown.size() < scheme + kEllipsis.size() ||
        std::string_view(shown).substr(shown.size() - kEllipsis.size()) != kEllipsis) {
      fail("the redaction does not end with \"/…\"", url, shown);
    }
    const std::string_view host = std::string_view(shown).substr(scheme, shown.size() - scheme - kEllipsis.size());
    if (contains_any(host, "/?#\\@"))
      fail("the redaction shows a path, query, fragment or userinfo character", url, shown);
    // The host[:port] shown must be the end of the authority, right before the secret.
    if (host.size() > authority.size() || authority.substr(authority.size() - host.size()) != host) {
      fail("the redaction shows something other than the end of the authority", url, shown);
    }
    if (at != std::string_view::npos && host.size() != authority.size() - at - 1) {
      fail("the redaction shows part of the userinfo", url, shown);
    }
    // And so, with the structure checked, the secret itself never appears after the scheme
    // (unless the whole secret is a prefix of the "/…" the redaction ends with).
    const std::string_view tail = std::string_view(shown).substr(scheme);
    if (secret.size() > 1 && kEllipsis.substr(0, secret.size()) != secret &&
        tail.find(secret) != std::string_view::npos) {
      fail("the redaction contains the secret part", url, shown);
    }
  }

  // ------------------------------------------------------------------ validate_ws_url
  const std::string problem = mc::validate_ws_url(url);
  if (problem.empty()) {
    if (url.empty()) fail("an empty URL was accepted", url, problem);
    if (url.size() > 8192) fail("a URL over 8192 characters was accepted", url, problem);
    if (!scheme) fail("a URL that is not ws:// or wss:// was accepted", url, problem);
    for (char ch : url) {
      const unsigned char c = static_cast<unsigned char>(ch);
      if (c <= 0x20 || c == 0x7f) fail("a URL with a space or control character was accepted", url, problem);
    }
    if (url.find('#') != std::string_view::npos) fail("a URL with a #fragment was accepted", url, problem);
    const std::string_view hostport = authority.substr(at == std::string_view::npos ? 0 : at + 1);
    if (hostport.empty() || hostport.front() == ':') fail("a URL without a host was accepted", url, problem);
    if (mc::validate_ws_url(shown) != "") fail("the redaction of a valid URL is not valid", url, shown);
    // The length limit, at its edge (libFuzzer's inputs stay under 4096 bytes): the URL with its
    // path padded to exactly 8192 characters is still valid; one more and it is not.
    if (secret.empty() || secret.front() == '/') {
      std::string longer(url);
      if (secret.empty()) longer += '/';
      longer.append(8192 - std::min<size_t>(8192, longer.size()), 'p');
      if (longer.size() == 8192 && !mc::validate_ws_url(longer).empty())
        fail("a valid URL padded to 8192 characters is refused", url, longer);
      longer += 'p';
      if (mc::validate_ws_url(longer) != kProblems[1])
        fail("a URL of 8193 characters is not refused for its length", url, longer);
    }
    if (!userinfo.empty() && shown.find(std::string(userinfo) + "@") != std::string::npos) {
      fail("the redaction of a valid URL shows its userinfo", url, shown);
    }
  } else {
    // The messages are fixed sentences: none may echo any part of the input.
    bool known = false;
    for (const char* m : kProblems) known = known || problem == m;
    if (!known) fail("validate_ws_url returned a message that is not one of its fixed sentences", url, problem);
  }
  return 0;
}

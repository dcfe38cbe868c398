#include "metachannel/url.h"

namespace mc {
namespace {

bool istarts_with(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

size_t scheme_length(std::string_view url) {
  if (istarts_with(url, "wss://")) return 6;
  if (istarts_with(url, "ws://")) return 5;
  return 0;
}

// The host and port of `url` (whose scheme is `scheme` bytes): the authority, which ends at the
// first "/", "?", "#" or backslash (browsers' URL parser reads a backslash as "/" in ws: and wss:
// URLs), without its userinfo (up to the last "@": secret too). Plain loops, shared by both
// callers: string_view's find/find_first_of/rfind were each a function of the wasm (find(char)
// an inlined memchr).
std::string_view host_port(std::string_view url, size_t scheme) {
  size_t end = scheme;
  size_t start = scheme;
  for (; end < url.size(); ++end) {
    const char c = url[end];
    if (c == '/' || c == '?' || c == '#' || c == '\\') break;
    if (c == '@') start = end + 1;
  }
  return url.substr(start, end - start);
}

}  // namespace

const char* ws_url_problem(std::string_view url) {
  if (url.empty()) return "the URL is empty; expected ws://host/path or wss://host/path";
  if (url.size() > 8192) return "the URL is longer than 8192 characters";
  const size_t scheme = scheme_length(url);
  if (scheme == 0) return "the URL must start with ws:// or wss://";
  bool fragment = false;
  for (char ch : url) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return "the URL contains a space or control character; percent-encode it";
    fragment |= c == '#';
  }
  if (fragment) return "a WebSocket URL cannot have a #fragment";
  const std::string_view hostport = host_port(url, scheme);
  if (hostport.empty()) return "the URL has no host";
  std::string_view host = hostport;
  std::string_view port;
  if (hostport.front() == '[') {
    size_t close = 0;
    while (close < hostport.size() && hostport[close] != ']') ++close;
    if (close == hostport.size()) return "the URL has an unterminated [IPv6] host";
    host = hostport.substr(0, close + 1);
    std::string_view rest = hostport.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "unexpected characters after the [IPv6] host";
      port = rest.substr(1);
    }
  } else {
    size_t colon = hostport.size();
    while (colon > 0 && hostport[colon - 1] != ':') --colon;
    if (colon != 0) {  // just past the last ':'
      host = hostport.substr(0, colon - 1);
      port = hostport.substr(colon);
    }
  }
  if (host.empty() || host == "[]") return "the URL has no host";
  for (char c : host) {
    if (c == '[' || c == ']' || c == ':') {
      if (host.front() == '[') continue;
      return "the URL's host is malformed";
    }
  }
  if (!port.empty() || (hostport.back() == ':')) {
    if (port.empty() || port.size() > 5) return "the URL's port must be a number from 1 to 65535";
    long value = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return "the URL's port must be a number from 1 to 65535";
      value = value * 10 + (c - '0');
    }
    if (value < 1 || value > 65535) return "the URL's port must be a number from 1 to 65535";
  }
  return nullptr;
}

void append_redacted_url(std::string& out, std::string_view url) {
  const size_t scheme = scheme_length(url);
  if (scheme == 0) {
    out.append("(a URL that is not ws:// or wss://)");
    return;
  }
  out.append(scheme == 6 ? "wss://" : "ws://", scheme);  // the scheme in lower case
  out.append(host_port(url, scheme));
  out.append("/\xE2\x80\xA6");  // "/…"
}

std::string redact_url(std::string_view url) {
  std::string out;
  append_redacted_url(out, url);
  return out;
}

}  // namespace mc

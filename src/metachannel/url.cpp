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

}  // namespace

const char* ws_url_problem(std::string_view url) {
  if (url.empty()) return "the URL is empty; expected ws://host/path or wss://host/path";
  if (url.size() > 8192) return "the URL is longer than 8192 characters";
  const size_t scheme = scheme_length(url);
  if (scheme == 0) return "the URL must start with ws:// or wss://";
  for (char ch : url) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return "the URL contains a space or control character; percent-encode it";
  }
  if (url.find('#') != std::string_view::npos) return "a WebSocket URL cannot have a #fragment";
  // Browsers' URL parser reads a backslash as "/" in ws: and wss: URLs: it ends the authority too.
  const size_t end = url.find_first_of("/?\\", scheme);
  std::string_view authority = url.substr(scheme, end == std::string_view::npos ? url.size() - scheme : end - scheme);
  const size_t at = authority.rfind('@');
  std::string_view hostport = at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (hostport.empty()) return "the URL has no host";
  std::string_view host = hostport;
  std::string_view port;
  if (hostport.front() == '[') {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) return "the URL has an unterminated [IPv6] host";
    host = hostport.substr(0, close + 1);
    std::string_view rest = hostport.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "unexpected characters after the [IPv6] host";
      port = rest.substr(1);
    }
  } else {
    const size_t colon = hostport.rfind(':');
    if (colon != std::string_view::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
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

std::string redact_url(std::string_view url) {
  const size_t scheme = scheme_length(url);
  if (scheme == 0) return "(a URL that is not ws:// or wss://)";
  const size_t end = url.find_first_of("/?#\\", scheme);  // a backslash is "/" to browsers
  std::string_view authority = url.substr(scheme, end == std::string_view::npos ? url.size() - scheme : end - scheme);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);  // userinfo is secret too
  std::string out(url.substr(0, scheme));
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  out.append(authority);
  out.append("/\xE2\x80\xA6");  // "/…"
  return out;
}

}  // namespace mc

// Channel URLs: validation before a socket is made (the browser would throw a SyntaxError
// straight through wasm) and redaction, so that no message ever carries the channel secret.
#pragma once
#include <string>
#include <string_view>

namespace mc {

// Null when `url` is a usable ws:// or wss:// URL; otherwise what is wrong with it (a literal:
// no std::string is made on the way to the one message that quotes it).
const char* ws_url_problem(std::string_view url);
// Empty when `url` is a usable ws:// or wss:// URL; otherwise what is wrong with it.
inline std::string validate_ws_url(std::string_view url) {
  const char* problem = ws_url_problem(url);
  return problem ? problem : std::string();
}
// "ws://host:port/…": scheme and authority only (no userinfo), the secret part elided.
std::string redact_url(std::string_view url);
// The same, appended to `out`.
void append_redacted_url(std::string& out, std::string_view url);

}  // namespace mc

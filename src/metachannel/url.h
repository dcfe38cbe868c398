// Channel URLs: validation before a socket is made (the browser would throw a SyntaxError
// straight through wasm) and redaction, so that no message ever carries the channel secret.
#pragma once
#include <string>
#include <string_view>

namespace mc {

// Empty when `url` is a usable ws:// or wss:// URL; otherwise what is wrong with it.
std::string validate_ws_url(std::string_view url);
// "ws://host:port/…": scheme and authority only (no userinfo), the secret part elided.
std::string redact_url(std::string_view url);

}  // namespace mc

// Helpers channel.cpp and channel_receive.cpp share (internal: not included elsewhere).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>

namespace mc {
// Not an anonymous namespace: inline functions with external linkage are one copy in the link.
namespace channel_detail {

// A message argument shown as redact_url() writes it (url.h), with no std::string made for it at
// the call site.
struct RedactedUrl {
  std::string_view url;
};
// The same for a URL held in a std::string (the channel's url_): its bytes and length are read
// in MessageArg's (noinline) constructor, not at each of the eight call sites.
struct RedactedUrlString {
  const std::string& url;
};

// What append_message() puts in place of a "{}": text, a URL redacted, or a whole number (a
// double: NaN, Infinity, negatives and values from 1e18 up read NaN, Infinity, -N and 1e18+).
class MessageArg {
 public:
  // Implicit, so that a message's arguments are listed as they are. noinline: each is then one
  // call per argument; inlined at every call site they were 601 B more of the lite wasm (124 B gzip).
  __attribute__((noinline)) MessageArg(std::string_view text) : data_(text.data()), size_(text.size()) {}
  __attribute__((noinline)) MessageArg(const std::string& text) : data_(text.data()), size_(text.size()) {}
  __attribute__((noinline)) MessageArg(double number) : data_(nullptr), size_(kNumber), number_(number) {}
  __attribute__((noinline)) MessageArg(RedactedUrl u) : data_(u.url.data()), size_(kUrl), url_size_(u.url.size()) {}
  __attribute__((noinline)) MessageArg(RedactedUrlString u)
      : data_(u.url.data()), size_(kUrl), url_size_(u.url.size()) {}

 private:
  friend void append_message(std::string& s, const char* text, std::initializer_list<MessageArg> args);
  static constexpr size_t kNumber = static_cast<size_t>(-1);
  static constexpr size_t kUrl = static_cast<size_t>(-2);
  const char* data_;
  size_t size_;  // or kNumber, or kUrl
  union {
    double number_;    // for a number (left unset for text: one store less per argument)
    size_t url_size_;  // for a URL (its bytes are at data_)
  };
};

// Appends a message: `text` with each "{}" replaced by the next of `args` (more args than holes:
// the rest unused), in one string (defined in channel.cpp). One literal per message, not one per
// piece, and no std::string at the call site (Channel::fail and Channel::report take the text and
// its arguments): the call sites are the code size of every error path.
void append_message(std::string& s, const char* text, std::initializer_list<MessageArg> args);

inline bool equals(const char* data, size_t size, const std::string& s) {
  return !s.empty() && size == s.size() && std::memcmp(s.data(), data, size) == 0;
}

}  // namespace channel_detail
}  // namespace mc

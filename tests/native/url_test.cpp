// Channel URL validation and redaction.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "metachannel/url.h"

namespace {

using mc::redact_url;
using mc::validate_ws_url;

TEST(Url, AcceptsGoodWebSocketUrls) {
  for (const char* u :
       {"ws://example.com", "wss://example.com/", "ws://example.com/channel/abc123",
        "wss://relay.example.com:443/c/xyz?token=s3cret&x=1", "ws://localhost:8080/ws", "ws://127.0.0.1:1/",
        "ws://h:65535", "wss://[::1]/c", "ws://[::1]:9000/c?q", "ws://[2001:db8::1]:65535", "WSS://Example.COM/Path",
        "ws://user:pass@host:81/p", "ws://host?only=query", "ws://a.b-c_d.example/%20encoded"}) {
    SCOPED_TRACE(u);
    EXPECT_EQ(validate_ws_url(u), "");
  }
}

TEST(Url, RejectsWrongScheme) {
  for (const char* u : {"http://example.com", "https://example.com/ws", "example.com", "ws:/example.com",
                        "ws:example.com", "wss:/x", "ftp://x", "//example.com"}) {
    SCOPED_TRACE(u);
    EXPECT_NE(validate_ws_url(u), "");
  }
}

TEST(Url, RejectsEmpty) { EXPECT_NE(validate_ws_url(""), ""); }

TEST(Url, RejectsSpacesAndControlCharacters) {
  const std::vector<std::string> urls = {"ws://exa mple.com",         "ws://example.com/a b", " ws://example.com",
                                         "ws://example.com/\t",       "ws://example.com/\n",  "ws://x/\x7f",
                                         std::string("ws://x/\0y", 9)};
  for (const std::string& u : urls) {
    SCOPED_TRACE(u);
    EXPECT_NE(validate_ws_url(u), "");
  }
}

TEST(Url, RejectsFragment) {
  EXPECT_NE(validate_ws_url("ws://example.com/c#frag"), "");
  EXPECT_NE(validate_ws_url("ws://example.com#"), "");
}

TEST(Url, RejectsBadPort) {
  for (const char* u : {"ws://h:0", "ws://h:65536", "ws://h:99999", "ws://h:123456", "ws://h:", "ws://h:/x",
                        "ws://h:80a", "ws://h:-1", "ws://h:+80", "ws://[::1]:", "ws://[::1]:x", "ws://[::1]:70000"}) {
    SCOPED_TRACE(u);
    EXPECT_NE(validate_ws_url(u), "");
  }
}

TEST(Url, RejectsMissingOrMalformedHost) {
  for (const char* u : {"ws://", "wss://", "ws:///path", "ws://:80/", "ws://user@/x", "ws://?q", "ws://[]",
                        "ws://[]:80", "ws://[::1", "ws://[::1]x", "ws://a:b:80", "ws://a]b"}) {
    SCOPED_TRACE(u);
    EXPECT_NE(validate_ws_url(u), "");
  }
}

TEST(Url, RejectsOverlongUrl) {
  EXPECT_NE(validate_ws_url("ws://h/" + std::string(9000, 'a')), "");
  EXPECT_EQ(validate_ws_url("ws://h/" + std::string(8000, 'a')), "");
}

TEST(Url, RedactKeepsSchemeAndAuthorityOnly) {
  EXPECT_EQ(redact_url("ws://example.com/secret"), "ws://example.com/\xE2\x80\xA6");
  EXPECT_EQ(redact_url("wss://relay.example.com:8443/c/s3cret?token=abc"), "wss://relay.example.com:8443/\xE2\x80\xA6");
  EXPECT_EQ(redact_url("WSS://Host/Path"), "wss://Host/\xE2\x80\xA6");
  EXPECT_EQ(redact_url("ws://[::1]:9/x"), "ws://[::1]:9/\xE2\x80\xA6");
  EXPECT_EQ(redact_url("ws://user:pw@host:1/p"), "ws://host:1/\xE2\x80\xA6");
  EXPECT_EQ(redact_url("ws://host?token=1"), "ws://host/\xE2\x80\xA6");
  EXPECT_EQ(redact_url("ws://host#frag"), "ws://host/\xE2\x80\xA6");
  EXPECT_EQ(redact_url("http://host/secret"), "(a URL that is not ws:// or wss://)");
}

TEST(Url, RedactNeverContainsTheSecretParts) {
  const char* secrets[] = {"SECRETPATH", "SECRETQUERY", "SECRETUSER", "SECRETPASS", "SECRETFRAG"};
  for (const char* u :
       {"ws://host/SECRETPATH", "ws://host/SECRETPATH?SECRETQUERY", "ws://host?SECRETQUERY",
        "wss://SECRETUSER:SECRETPASS@host/SECRETPATH", "wss://SECRETUSER@host:1?SECRETQUERY",
        "ws://SECRETUSER:SECRETPASS@[::1]:80/SECRETPATH#SECRETFRAG", "ws://host#SECRETFRAG",
        "ws://host/a/b/c/SECRETPATH/", "ws://SECRETUSER@SECRETPASS@host/SECRETPATH", "ws://host\\SECRETPATH",
        "wss://host:443\\SECRETPATH?SECRETQUERY", "https://host/SECRETPATH", "SECRETPATH", ""}) {
    SCOPED_TRACE(u);
    const std::string r = redact_url(u);
    for (const char* s : secrets) EXPECT_EQ(r.find(s), std::string::npos) << r;
  }
}

TEST(Url, BackslashEndsTheAuthorityAsInBrowsers) {
  // The URL parser browsers use reads "\" as "/" in ws: and wss: URLs: what follows is the
  // path, so it is secret and must not be shown.
  EXPECT_EQ(redact_url("ws://host\\secret"), "ws://host/\xE2\x80\xA6");
  EXPECT_EQ(validate_ws_url("ws://host\\path"), "");
  EXPECT_NE(validate_ws_url("ws://\\path"), "");
}

TEST(Url, ValidationMessagesDoNotEchoTheUrl) {
  for (const char* u : {"ws://host:0/SECRET", "ws://host/SE CRET", "ws://host/SECRET#x", "http://h/SECRET"}) {
    SCOPED_TRACE(u);
    EXPECT_EQ(validate_ws_url(u).find("SECRET"), std::string::npos);
  }
}

}  // namespace

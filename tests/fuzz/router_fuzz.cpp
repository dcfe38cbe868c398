// libFuzzer target: the router under interests added and removed in any order, checked
// against a simple model after every step.
//
// The model is what the JS layer means by its calls: a count per (kind, key) that on()/
// subscribe()/join() raise by one and off()/unsubscribe()/leave() lower by one, never below
// zero (removing what was never added changes nothing); the key is ignored for the unkeyed
// kinds (Message, AnyObject). The input is a sequence of steps: add/remove interests (small
// keys from a tiny alphabet with quotes, backslashes, NUL and a multi-byte character, so keys
// collide and need escaping), clear(), and route a frame built from keys (an object with or
// without each routing field, the field sometimes a non-string, sometimes written with \u
// escapes; or an array, a number, plain text, binary). Aborts when:
//  - a count is negative or differs from the model;
//  - route_text()/route_binary() differ from the bits the model says: kMessage iff a message
//    listener, kAnyObject iff an object and a "*" listener, kType/kSubscription/kRoom/kReply
//    iff an object whose field is a string somebody is interested in; kObject|kParseJson on a
//    delivered object, kParseJson alone on other delivered JSON; 0 when nothing is wanted.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "metachannel/envelope.h"
#include "metachannel/router.h"

namespace {

using mc::Interest;

constexpr int kKinds = 6;
const char* const kKindNames[] = {"message", "any", "type", "channel", "room", "reply"};

struct Model {
  std::map<std::pair<int, std::string>, long> counts;
  static bool keyed(int kind) { return kind >= static_cast<int>(Interest::Type); }
  void add(int kind, const std::string& key, int delta) {
    long& c = counts[{kind, keyed(kind) ? key : std::string()}];
    c = c + delta < 0 ? 0 : c + delta;
  }
  long count(int kind, const std::string& key) const {
    auto it = counts.find({kind, keyed(kind) ? key : std::string()});
    return it == counts.end() ? 0 : it->second;
  }
};

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// The steps so far, kept raw (rendered only when something fails: this is the hot path).
struct Step {
  const char* what;  // "add", "clear", "binary", "route"
  int kind = 0;
  int delta = 0;
  std::string text;  // the key, or the frame
};
using Log = std::vector<Step>;

[[noreturn]] void fail(const std::string& what, const Log& log) {
  std::fprintf(stderr, "router_fuzz: %s\nsteps:\n", what.c_str());
  for (const Step& st : log) {
    if (std::string(st.what) == "add") {
      std::fprintf(stderr, "  add %s \"%s\" %d\n", kKindNames[st.kind], printable(st.text).c_str(), st.delta);
    } else {
      std::fprintf(stderr, "  %s %s\n", st.what, printable(st.text).c_str());
    }
  }
  std::abort();
}

// A short key over an alphabet that collides often and needs escaping in JSON.
std::string make_key(FuzzedDataProvider& in) {
  static const char* const kPieces[] = {"a", "b", "\"", "\\", ""  /* NUL, pushed below */, "\xC3\xA9", "A", "/"};
  const int n = in.ConsumeIntegralInRange<int>(0, 3);
  std::string k;
  for (int i = 0; i < n; ++i) {
    const int p = in.ConsumeIntegralInRange<int>(0, 7);
    if (p == 4) {
      k.push_back('\0');
    } else {
      k += kPieces[p];
    }
  }
  return k;
}

// A JSON string literal for `s` (valid UTF-8 by construction). `escape_all` writes every
// ASCII letter as a \u escape, so the scanner takes its unescaping path.
std::string json_string(const std::string& s, bool escape_all) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || (escape_all && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

struct Frame {
  std::string text;
  int shape = 0;  // 0 object, 1 other JSON, 2 text
  // For an object: the string value of type/channel/room/re, if the member is a string.
  bool has[4] = {false, false, false, false};
  std::string value[4];
};

Frame make_frame(FuzzedDataProvider& in) {
  static const char* const kFields[] = {"type", "channel", "room", "re"};
  Frame f;
  f.shape = in.ConsumeIntegralInRange<int>(0, 5);
  if (f.shape >= 3) f.shape = 0;  // objects most of the time
  if (f.shape == 1) {
    static const char* const kOther[] = {"[1,2]", "42", "\"type\"", "null", "[{\"type\":\"a\"}]"};
    f.text = kOther[in.ConsumeIntegralInRange<int>(0, 4)];
    return f;
  }
  if (f.shape == 2) {
    static const char* const kText[] = {"hello", "{\"type\":\"a\"", "{\"type\":a}", "", "pong"};
    f.text = kText[in.ConsumeIntegralInRange<int>(0, 4)];
    return f;
  }
  const bool escape_all = in.ConsumeBool();
  f.text = "{";
  bool first = true;
  for (int i = 0; i < 4; ++i) {
    const int how = in.ConsumeIntegralInRange<int>(0, 3);  // 0 absent, 1 a number, 2-3 a string
    if (how == 0) continue;
    if (!first) f.text += ",";
    first = false;
    f.text += json_string(kFields[i], escape_all) + ":";
    if (how == 1) {
      f.text += "1";
      f.has[i] = false;
    } else {
      f.value[i] = make_key(in);
      f.text += json_string(f.value[i], escape_all);
      f.has[i] = true;
    }
  }
  if (in.ConsumeBool()) f.text += std::string(first ? "" : ",") + "\"x\":{\"type\":\"nested\"}";
  f.text += "}";
  return f;
}

uint32_t expected_route(const Model& m, const Frame& f) {
  using namespace mc::route;
  uint32_t r = 0;
  if (m.count(0, "") > 0) r |= kMessage;
  if (f.shape == 0) {
    if (m.count(1, "") > 0) r |= kAnyObject;
    static const uint32_t kBits[] = {kType, kSubscription, kRoom, kReply};
    for (int i = 0; i < 4; ++i) {
      if (f.has[i] && m.count(2 + i, f.value[i]) > 0) r |= kBits[i];
    }
  }
  if (r == 0) return 0;
  if (f.shape == 0) r |= kObject | kParseJson;
  if (f.shape == 1) r |= kParseJson;
  return r;
}

void check_count(const mc::Router& router, const Model& model, int kind, const std::string& key,
                 const Log& log) {
  const int c = router.count(static_cast<Interest>(kind), key);
  if (c < 0) fail(std::string("negative count for ") + kKindNames[kind] + " \"" + printable(key) + "\"", log);
  if (c != model.count(kind, key)) {
    fail(std::string("count for ") + kKindNames[kind] + " \"" + printable(key) + "\" is " + std::to_string(c) +
             ", the model says " + std::to_string(model.count(kind, key)),
         log);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  mc::Router router;
  mc::Envelope envelope;  // reused across frames, as the channel does
  Model model;
  Log log;
  std::set<std::string> keys{""};  // every key used so far, to check all counts

  int last_kind = 0;
  std::string last_key;
  int steps = 0;
  while (in.remaining_bytes() > 0 && steps++ < 200) {
    const int op = in.ConsumeIntegralInRange<int>(0, 9);
    if (op <= 5) {  // add or remove one interest (mostly +1/-1, sometimes a larger step)
      const int kind = in.ConsumeIntegralInRange<int>(0, kKinds - 1);
      const std::string key = make_key(in);
      int delta = in.ConsumeBool() ? 1 : -1;
      if (op == 5) delta = in.ConsumeIntegralInRange<int>(-3, 3);
      log.push_back(Step{"add", kind, delta, key});
      router.add(static_cast<Interest>(kind), key, delta);
      model.add(kind, key, delta);
      keys.insert(key);
      last_kind = kind;
      last_key = key;
    } else if (op == 6) {
      log.push_back(Step{"clear", 0, 0, ""});
      router.clear();
      model = Model();
    } else if (op == 7) {
      log.push_back(Step{"binary", 0, 0, ""});
      const uint32_t want = model.count(0, "") > 0 ? (mc::route::kMessage | mc::route::kBinary) : 0;
      if (router.route_binary() != want) {
        fail("route_binary " + std::to_string(router.route_binary()) + ", the model says " + std::to_string(want), log);
      }
    } else {
      const Frame f = make_frame(in);
      log.push_back(Step{"route", 0, 0, f.text});
      envelope.scan(f.text.data(), f.text.size());
      const int shape = envelope.is_object() ? 0 : envelope.shape() == mc::Envelope::Shape::OtherJson ? 1 : 2;
      if (shape != f.shape) fail("the envelope scanner read the frame as shape " + std::to_string(shape), log);
      const uint32_t got = router.route_text(envelope);
      const uint32_t want = expected_route(model, f);
      if (got != want) fail("route_text " + std::to_string(got) + ", the model says " + std::to_string(want), log);
    }
    if (op <= 5) check_count(router, model, last_kind, last_key, log);
  }
  // At the end, every count ever touched (and the empty key of every kind).
  for (int kind = 0; kind < kKinds; ++kind) {
    for (const std::string& key : keys) check_count(router, model, kind, key, log);
  }
  return 0;
}

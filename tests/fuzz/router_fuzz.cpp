// libFuzzer target: the router under field slots registered and interests added and removed
// in any order, checked against a simple model after every step.
//
// The model is what the JS layer means by its calls: field_slot(name) gives the next free slot
// (slot 0 is "type" from the start) to a valid new name, the same slot to a known name, and -1
// when the 8 slots are full or the name is invalid (empty, "_mc"); a count per (slot, value)
// that on()/subscribe()/join() raise by one and off()/unsubscribe()/leave() lower by one, never
// below zero (removing what was never added changes nothing; an unregistered slot is ignored);
// unkeyed counts for Message and AnyObject. The input is a sequence of steps:
// register a name (from a pool of eleven, more than the slots, with names alike in length and
// first byte), add/remove interests (small values from a tiny alphabet with quotes,
// backslashes, NUL and a multi-byte character, so values collide and need escaping), clear(),
// and route a frame built from the pool (an object with or without each member, sometimes a
// non-string, sometimes a duplicate, sometimes written with \u escapes, with a nested decoy;
// or an array, a number, plain text, binary). Aborts when:
//  - a slot or a count differs from the model, or a count is negative;
//  - route_text()/route_binary() differ from the bits the model says: kMessage iff a message
//    listener, kAnyObject iff an object and a "*" listener, field(s) iff an object whose
//    member at slot s is a string somebody is interested in; kObject|kParseJson on a delivered object,
//    kParseJson alone on other delivered JSON; 0 when nothing is wanted.
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

// The names a frame and a registration pick from: more than the slots; "text"/"type" and
// "tag"/"two" alike in length and first byte; one long name; two invalid ones.
const char* const kNames[] = {"type", "channel", "room", "re", "user", "text", "tag", "two", "a_long_member_name",
                              "\\",   "_mc",     ""};
constexpr int kPool = 12;

struct Model {
  std::vector<std::string> slots{"type"};
  std::map<std::pair<int, std::string>, long> counts;
  long message = 0, any = 0;
  int slot_of(const std::string& name) const {
    for (size_t i = 0; i < slots.size(); ++i) {
      if (slots[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
  int register_name(const std::string& name) {
    const int s = slot_of(name);
    if (s >= 0) return s;
    if (name.empty() || name == "_mc" || slots.size() >= 8) return -1;
    slots.push_back(name);
    return static_cast<int>(slots.size()) - 1;
  }
  static void bump(long& c, int delta) { c = c + delta < 0 ? 0 : c + delta; }
  void add(int slot, const std::string& value, int delta) {
    if (slot < 0 || slot >= static_cast<int>(slots.size()) || delta == 0) return;
    bump(counts[{slot, value}], delta);
  }
  long count(int slot, const std::string& value) const {
    auto it = counts.find({slot, value});
    return it == counts.end() ? 0 : it->second;
  }
  void clear() {
    counts.clear();
    message = any = 0;
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
  const char* what;  // "field", "add", "message", "any", "clear", "binary", "route"
  int slot = 0;
  int delta = 0;
  std::string text;  // the name, the value, or the frame
};
using Log = std::vector<Step>;

[[noreturn]] void fail(const std::string& what, const Log& log) {
  std::fprintf(stderr, "router_fuzz: %s\nsteps:\n", what.c_str());
  for (const Step& st : log) {
    std::fprintf(stderr, "  %s slot/kind=%d delta=%d \"%s\"\n", st.what, st.slot, st.delta, printable(st.text).c_str());
  }
  std::abort();
}

// A short value over an alphabet that collides often and needs escaping in JSON.
std::string make_value(FuzzedDataProvider& in) {
  static const char* const kPieces[] = {"a", "b", "\"", "\\", "" /* NUL, pushed below */, "\xC3\xA9", "A", "/"};
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
  // For an object: per pool name, the string value of its last member, if that is a string.
  bool has[kPool] = {};
  std::string value[kPool];
};

Frame make_frame(FuzzedDataProvider& in) {
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
  const int members = in.ConsumeIntegralInRange<int>(0, 6);
  for (int m = 0; m < members; ++m) {
    const int i = in.ConsumeIntegralInRange<int>(0, kPool - 1);  // repeats make duplicates
    if (!first) f.text += ",";
    first = false;
    f.text += json_string(kNames[i], escape_all) + ":";
    if (in.ConsumeIntegralInRange<int>(0, 3) == 0) {
      f.text += in.ConsumeBool() ? "1" : "{\"type\":\"a\"}";
      f.has[i] = false;
    } else {
      f.value[i] = make_value(in);
      f.text += json_string(f.value[i], escape_all);
      f.has[i] = true;
    }
  }
  if (in.ConsumeBool()) f.text += std::string(first ? "" : ",") + "\"x\":{\"user\":\"a\",\"type\":\"\"}";
  f.text += "}";
  return f;
}

uint32_t expected_route(const Model& m, const Frame& f) {
  using namespace mc::route;
  uint32_t r = 0;
  if (m.message > 0) r |= kMessage;
  if (f.shape == 0) {
    if (m.any > 0) r |= kAnyObject;
    for (int i = 0; i < kPool; ++i) {
      const int slot = m.slot_of(kNames[i]);
      if (slot < 0 || !f.has[i] || m.count(slot, f.value[i]) <= 0) continue;
      r |= field(slot);
    }
  }
  if (r == 0) return 0;
  if (f.shape == 0) r |= kObject | kParseJson;
  if (f.shape == 1) r |= kParseJson;
  return r;
}

void check_count(const mc::Router& router, const Model& model, int slot, const std::string& value, const Log& log) {
  const int c = router.count(slot, value);
  if (c < 0) fail("negative count at slot " + std::to_string(slot) + " \"" + printable(value) + "\"", log);
  if (c != model.count(slot, value)) {
    fail("count at slot " + std::to_string(slot) + " \"" + printable(value) + "\" is " + std::to_string(c) +
             ", the model says " + std::to_string(model.count(slot, value)),
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
  std::set<std::string> values{""};  // every value used so far, to check all counts

  int steps = 0;
  while (in.remaining_bytes() > 0 && steps++ < 200) {
    const int op = in.ConsumeIntegralInRange<int>(0, 11);
    if (op <= 1) {  // register a name
      const std::string name = kNames[in.ConsumeIntegralInRange<int>(0, kPool - 1)];
      log.push_back(Step{"field", 0, 0, name});
      const int got = router.field_slot(name);
      const int want = model.register_name(name);
      if (got != want) fail("field_slot " + std::to_string(got) + ", the model says " + std::to_string(want), log);
    } else if (op <= 5) {  // keyed interest on a slot (sometimes one never given)
      const int slot = in.ConsumeIntegralInRange<int>(-1, 8);
      const std::string value = make_value(in);
      int delta = in.ConsumeBool() ? 1 : -1;
      if (op == 5) delta = in.ConsumeIntegralInRange<int>(-3, 3);
      log.push_back(Step{"add", slot, delta, value});
      router.add(slot, value, delta);
      model.add(slot, value, delta);
      values.insert(value);
      check_count(router, model, slot, value, log);
    } else if (op == 7) {
      const int delta = in.ConsumeIntegralInRange<int>(-2, 2);
      const bool any = in.ConsumeBool();
      log.push_back(Step{any ? "any" : "message", 0, delta, ""});
      if (any) {
        router.add_any_object(delta);
        Model::bump(model.any, delta);
      } else {
        router.add_message(delta);
        Model::bump(model.message, delta);
      }
      if (router.message_count() != model.message || router.any_object_count() != model.any) {
        fail("unkeyed counts differ from the model", log);
      }
    } else if (op == 8) {
      log.push_back(Step{"clear", 0, 0, ""});
      router.clear();
      model.clear();
    } else if (op == 9) {
      log.push_back(Step{"binary", 0, 0, ""});
      const uint32_t want = model.message > 0 ? (mc::route::kMessage | mc::route::kBinary) : 0;
      if (router.route_binary() != want) {
        fail("route_binary " + std::to_string(router.route_binary()) + ", the model says " + std::to_string(want), log);
      }
    } else {
      const Frame f = make_frame(in);
      log.push_back(Step{"route", 0, 0, f.text});
      envelope.scan(f.text.data(), f.text.size(), router.fields());
      const int shape = envelope.is_object() ? 0 : envelope.shape() == mc::Envelope::Shape::OtherJson ? 1 : 2;
      if (shape != f.shape) fail("the envelope scanner read the frame as shape " + std::to_string(shape), log);
      const uint32_t got = router.route_text(envelope);
      const uint32_t want = expected_route(model, f);
      if (got != want) fail("route_text " + std::to_string(got) + ", the model says " + std::to_string(want), log);
    }
  }
  // At the end: the slots, and every count ever touched (and the empty value of every slot).
  if (router.fields().size() != static_cast<int>(model.slots.size())) fail("slot count differs from the model", log);
  for (int slot = -1; slot <= 8; ++slot) {
    if (slot >= 0 && slot < static_cast<int>(model.slots.size()) && router.fields().name(slot) != model.slots[slot]) {
      fail("slot " + std::to_string(slot) + " has another name than the model's", log);
    }
    for (const std::string& v : values) check_count(router, model, slot, v, log);
  }
  return 0;
}

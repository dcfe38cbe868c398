// Helpers of the reliable-delivery and presence tests (reliability_test.cpp, presence_test.cpp,
// reliability_bounds_test.cpp): real mc::Channel peers on an in-memory broadcast relay (net.h).
#pragma once
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "metachannel/reliability.h"
#include "metachannel/router.h"
#include "net.h"

namespace {

using mc::ErrorCode;
using mc_test::Net;
using mc_test::NetPeer;
using mc_test::reliable_config;
namespace rel = mc::rel;

inline std::string msg(int n) { return "{\"type\":\"m\",\"n\":" + std::to_string(n) + "}"; }

// The "n" of every delivered frame tagged by `from`, in delivery order.
inline std::vector<int> ns_from(const NetPeer& p, const std::string& from) {
  std::vector<int> out;
  const std::string tag = "\"_mc\":\"" + from + ":";
  for (size_t i = 0; i < p.ev.texts.size(); ++i) {
    const std::string& t = p.ev.texts[i];
    if (t.find(tag) == std::string::npos) continue;
    const size_t at = t.find("\"n\":");
    if (at == std::string::npos) continue;
    out.push_back(std::stoi(t.substr(at + 4)));
  }
  return out;
}

inline std::vector<int> range(int a, int b) {
  std::vector<int> v;
  for (int i = a; i <= b; ++i) v.push_back(i);
  return v;
}

// Frames peer i wrote whose text contains `needle`.
inline size_t sent_with(const NetPeer& p, const std::string& needle) {
  size_t n = 0;
  for (const auto& f : p.t.sent) n += f.bytes.find(needle) != std::string::npos;
  return n;
}

inline std::string tagged(const std::string& id, uint64_t seq, int n) {
  return "{\"_mc\":\"" + id + ":" + std::to_string(seq) + "\",\"type\":\"m\",\"n\":" + std::to_string(n) + "}";
}

inline void expect_clean(const Net& net) {
  const auto v = net.all_violations();
  EXPECT_TRUE(v.empty()) << (v.empty() ? "" : v.front());
}

inline std::vector<std::string> presence_of(const NetPeer& p) {
  // Replays presence events into a set of ids.
  std::map<std::string, std::string> m;
  for (const std::string& e : p.ev.presence) {
    const auto j = nlohmann::json::parse(e);
    for (auto& [id, st] : j["joined"].items()) m[id] = st.dump();
    for (auto& [id, st] : j["updated"].items()) m[id] = st.dump();
    for (auto& id : j["left"]) m.erase(id.get<std::string>());
  }
  std::vector<std::string> out;
  for (auto& [id, st] : m) out.push_back(id + "=" + st);
  return out;
}

}  // namespace

// Native micro-benchmark of the receive hot path's C++ half: Envelope::scan + Router::route_text
// of ~115-byte envelopes, with interest in a type, a channel and a room (the fields the client
// classes register). Prints ns/frame (median and best of 7 runs of N frames per envelope).
//
//   cmake --preset bench && cmake --build build/bench -j2 --target metachannel_route_bench
//   nice -n 10 build/bench/metachannel_route_bench [N=1000000]
//
// Figures, not assertions: compare two builds side by side in one session (times are noisy
// on a shared machine), or count instructions with valgrind --tool=callgrind and N=10000.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "metachannel/envelope.h"
#include "metachannel/router.h"

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000000;
  if (n <= 0) {
    std::fprintf(stderr, "usage: metachannel_route_bench [frames per run, > 0]\n");
    return 2;
  }
  const std::vector<std::string> frames = {
      R"({"type":"tick","channel":"prices","seq":12345,"data":{"symbol":"ACME","price":101.25,"size":300},"ts":1700000000123})",
      R"({"type":"chat","room":"lobby","username":"ann","text":"hello there, how is everyone doing today?","ts":1700000000})",
      R"({"type":"other","channel":"news","seq":12346,"data":{"symbol":"ACME","price":101.25,"size":300},"ts":1700000000123})",
  };
  const char* const what[] = {"routed on type+channel", "routed on room", "not routed"};
  mc::Router r;
  r.add(mc::FieldSet::kTypeSlot, "tick", 1);
  r.add(r.field_slot("channel"), "prices", 1);
  r.add(r.field_slot("room"), "lobby", 1);
  mc::Envelope e;
  unsigned long long sink = 0;
  for (size_t f = 0; f < frames.size(); ++f) {
    std::vector<double> runs;
    for (int rep = 0; rep < 7; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < n; ++i) {
        e.scan(frames[f].data(), frames[f].size(), r.fields());
        sink += r.route_text(e);
      }
      const auto t1 = std::chrono::steady_clock::now();
      runs.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / n);
    }
    std::sort(runs.begin(), runs.end());
    std::printf("scan+route %3zu B envelope (%s): median %.1f ns/frame, best %.1f\n", frames[f].size(), what[f],
                runs[runs.size() / 2], runs[0]);
  }
  return sink == 42 ? 1 : 0;  // keeps the loop from being optimised away
}

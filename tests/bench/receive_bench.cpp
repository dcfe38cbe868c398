// Native micro-benchmark of a reliable channel's receive path with many senders: one channel
// on the fake transport of tests/native receives in-order frames from `senders` senders in
// turn (the sender lookup, the dedupe window, the router). Prints ns/frame (median and best
// of `runs` runs).
//
//   cmake --preset bench && cmake --build build/bench -j2 --target metachannel_receive_bench
//   nice -n 10 build/bench/metachannel_receive_bench [senders=100] [rounds=20000] [runs=5]
//
// Figures, not assertions. Times are noisy on a shared machine: count instructions instead,
// e.g. valgrind --tool=callgrind build/bench/metachannel_receive_bench 100 1000 1
// (docs/reliability.md, "The sender lookup").
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "net.h"

int main(int argc, char** argv) {
  const int senders = argc > 1 ? std::atoi(argv[1]) : 100;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 20000;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 5;
  if (senders <= 0 || rounds <= 0 || runs <= 0) {
    std::fprintf(stderr, "usage: metachannel_receive_bench [senders > 0] [rounds > 0] [runs > 0]\n");
    return 2;
  }
  std::vector<double> times;
  for (int run = 0; run < runs; ++run) {
    mc_test::Net net;
    mc_test::NetPeer& p = net.add(mc_test::reliable_config());
    std::vector<std::string> ids;
    for (int s = 0; s < senders; ++s) ids.push_back("k3v9x0q2m" + std::to_string(100 + s));
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 1; r <= rounds; ++r) {
      for (int s = 0; s < senders; ++s) {
        p.t.text("{\"_mc\":\"" + ids[s] + ":" + std::to_string(r) + "\",\"type\":\"r\",\"n\":" + std::to_string(r) + "}");
      }
      if (r % 100 == 0) p.ev.texts.clear();
    }
    const double frames = static_cast<double>(senders) * rounds;
    times.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / frames);
  }
  std::sort(times.begin(), times.end());
  std::printf("%d senders, %d frames per run: median %.1f ns/frame, best %.1f\n", senders, senders * rounds,
              times[times.size() / 2], times[0]);
  return 0;
}

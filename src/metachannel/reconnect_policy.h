// ReconnectPolicy: how long to wait before reconnect attempt N, and whether to try at all.
#pragma once
#include <cstdint>
#include <limits>

#include "metachannel/types.h"
#include "metachannel/vocabulary.h"

namespace mc {

struct ReconnectOptions {
  // Members, types and defaults: src/metachannel/vocabulary.h (as for every option). Full jitter
  // (full_jitter, the default): uniform in [0, d]. Otherwise d * (1 +/- jitter_fraction).
  MC_OPTION_MEMBERS(reconnect)
  ReconnectOptions() = default;
  explicit ReconnectOptions(Unset) : MC_UNSET_MEMBERS(reconnect) unset_() {}
  char unset_ = 0;  // (ends the Unset initialiser list)
};

class ReconnectPolicy {
 public:
  explicit ReconnectPolicy(ReconnectOptions o = {}) : o_(o) {}
  const ReconnectOptions& options() const { return o_; }

  // The un-jittered delay before attempt `attempt` (1-based): min * factor^(attempt-1), capped.
  double base_delay(uint32_t attempt) const;
  // The delay actually waited, with jitter, given a uniform sample u in [0, 1).
  double delay(uint32_t attempt, double u) const;
  // Inclusive bounds of delay(attempt, u) over all u, for documentation and tests.
  double lower_bound(uint32_t attempt) const;
  double upper_bound(uint32_t attempt) const;
  bool exhausted(uint32_t attempt) const { return static_cast<double>(attempt) > o_.max_retries; }

  // What a close code from the server means for reconnecting. See the table in README.md.
  // ReconnectNow: the next attempt starts at once (no backoff wait), later ones back off.
  enum class CloseVerdict : unsigned char { Reconnect, Revoked, Stop, ReconnectNow };
  static CloseVerdict classify_close(int code);
  // The same for an upgrade the server answered with an HTTP status instead of 101 (only
  // transports that can see it report one: Node with the `ws` package).
  static CloseVerdict classify_refusal(int http_status);

 private:
  ReconnectOptions o_;
};

}  // namespace mc

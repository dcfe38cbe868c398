#include "metachannel/reconnect_policy.h"

#include <algorithm>
#include <cmath>

namespace mc {

double ReconnectPolicy::base_delay(uint32_t attempt) const {
  if (attempt == 0) return 0;
  // factor^(attempt-1) by squaring, not std::pow: libm's pow was ~2 KB of the wasm (inlined
  // into Channel::handle_drop), for an integer exponent. Exact wherever the powers are (factor
  // 2 or 3, the defaults and the tests); otherwise within a few ulps of pow(). Large attempts
  // overflow to inf; min() keeps the delay at the cap.
  double power = 1;
  double base = o_.factor;
  for (uint32_t n = attempt - 1; n != 0; n >>= 1) {
    if (n & 1) power *= base;
    base *= base;
  }
  const double d = o_.min_delay_ms * power;
  return std::min(o_.max_delay_ms, std::isfinite(d) ? d : o_.max_delay_ms);
}

double ReconnectPolicy::delay(uint32_t attempt, double u) const {
  const double d = base_delay(attempt);
  if (o_.full_jitter) return d * u;
  const double f = o_.jitter_fraction;
  return std::max(0.0, d * (1 - f + 2 * f * u));
}

double ReconnectPolicy::lower_bound(uint32_t attempt) const {
  if (o_.full_jitter) return 0;
  return std::max(0.0, base_delay(attempt) * (1 - o_.jitter_fraction));
}

double ReconnectPolicy::upper_bound(uint32_t attempt) const {
  if (o_.full_jitter) return base_delay(attempt);
  return base_delay(attempt) * (1 + o_.jitter_fraction);
}

ReconnectPolicy::CloseVerdict ReconnectPolicy::classify_close(int code) {
  if (code == close_code::kRevoked) return CloseVerdict::Revoked;
  // A server restarting (the relay on SIGTERM) sends its clients elsewhere: another relay
  // behind the same address takes them at once.
  if (code == close_code::kServiceRestart) return CloseVerdict::ReconnectNow;
  // The server rejected this client for what it is or what it sent; the same connection would
  // be rejected again: 1002 protocol error, 1003 unsupported data, 1007 invalid payload,
  // 1008 policy violation (auth), 1010 missing extension. 3500-3999 and 4500-4999 are the
  // application ranges that centrifuge and others use for "do not reconnect".
  switch (code) {
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1010: return CloseVerdict::Stop;
    default: break;
  }
  if ((code >= 3500 && code <= 3999) || (code >= 4500 && code <= 4999)) return CloseVerdict::Stop;
  // 1000/1001 (server shutting down or restarting), 1006 (dropped), 1009, 1011-1015, other
  // application codes: the server or network may recover, so try again with backoff.
  return CloseVerdict::Reconnect;
}

ReconnectPolicy::CloseVerdict ReconnectPolicy::classify_refusal(int http_status) {
  // 404 Not Found / 410 Gone: the server does not know this channel (expired, forgotten by a
  // restart, rotated); the same URL will never work again.
  if (http_status == 404 || http_status == 410) return CloseVerdict::Revoked;
  // Anything else (403 origin, 429 full, 503 unavailable, a proxy's 502) may pass later.
  return CloseVerdict::Reconnect;
}

}  // namespace mc

// The vocabulary both languages share, defined once: states, error codes, close codes, queue
// overflow policies and the channel options (names, defaults, bounds).
//
// Each list is an X-macro. C++ expands it into enums, tables and the option structs' defaults;
// scripts/gen-vocabulary.mjs compiles scripts/vocabulary/emit.cpp (which expands the same lists)
// and writes js/vocabulary.ts, README.md's error, event and options tables and the events' and
// options' members of js/types.ts (with their TSDoc) from it. The wasm exports
// kVocabularyDigest and the JS layer refuses a wasm whose digest is not its own, so the two
// sides cannot drift: a stale generated file fails the lint suite, a stale wasm fails ready().
//
// Where to change what: docs/architecture.md, "Where to change what".
#pragma once
#include <cstdint>
#include <limits>
#include <type_traits>

// ---------------------------------------------------------------------------------- states
// X(Enumerator, "name in JS", readyState)
#define MC_STATES(X)                 \
  X(Idle, "idle", 3)                 \
  X(Connecting, "connecting", 0)     \
  X(Open, "open", 1)                 \
  X(Reconnecting, "reconnecting", 0) \
  X(Closing, "closing", 2)           \
  X(Closed, "closed", 3)

// ----------------------------------------------------------------------------- error codes
// X(Enumerator, "CODE", "when it happens" (README's table))
// The numbers are the positions: append, never reorder. The last four are never returned by
// the core's calls (REQUEST_TIMEOUT, LOAD_FAILED and DECRYPT_FAILED are raised by the JS layer,
// MESSAGES_LOST comes with the core's "lost" event); they are here so that one list names every code.
#define MC_ERROR_CODES(X)                                                                                              \
  X(None, "", "")                                                                                                      \
  X(NotReady, "NOT_READY",                                                                                             \
    "a Channel was constructed before `ready()` resolved (one with `reliable`/`presence` after it is created at "      \
    "once and connects when the full core, loaded on demand, is there)")                                               \
  X(NotSupported, "NOT_SUPPORTED", "no WebSocket implementation (Node 20 without `ws`)")                               \
  X(InvalidUrl, "INVALID_URL",                                                                                         \
    "not a `ws://`/`wss://` URL (scheme, host, port, spaces), or a key in its `#k=` fragment that is not 43 "          \
    "base64url characters")                                                                                            \
  X(InvalidArgument, "INVALID_ARGUMENT", "a bad option or argument; the message names the field and what is allowed")  \
  X(InvalidJson, "INVALID_JSON", "`send()` of a value with no JSON form (cycles, BigInt, functions)")                  \
  X(MessageTooLarge, "MESSAGE_TOO_LARGE", "outgoing over `maxMessageBytes` (thrown); incoming (event; frame dropped)") \
  X(QueueOverflow, "QUEUE_OVERFLOW",                                                                                   \
    "the send queue is full: event (drop policies) or thrown (`overflow: \"error\"`)")                                 \
  X(HeadersUnsupported, "HEADERS_UNSUPPORTED", "`headers` in a browser")                                               \
  X(ConnectTimeout, "CONNECT_TIMEOUT", "no handshake within `connectTimeoutMs` (event; then retry)")                   \
  X(HeartbeatTimeout, "HEARTBEAT_TIMEOUT", "no frame within `timeoutMs` after a ping (event; drop and reconnect)")     \
  X(Revoked, "REVOKED",                                                                                                \
    "the server closed with 4001 (URL rotated) or refused the upgrade with HTTP 404/410 (unknown channel: expired, "   \
    "forgotten or rotated; Node with `ws`); no reconnect until `setUrl()`")                                            \
  X(RetriesExhausted, "RETRIES_EXHAUSTED", "`maxRetries` failed attempts; `reconnect()` tries again")                  \
  X(ListenerThrew, "LISTENER_THREW", "one of your listeners threw; the others and the channel carry on")               \
  X(Disposed, "DISPOSED", "any call after `dispose()`")                                                                \
  X(Closed, "CLOSED",                                                                                                  \
    "`send()` after `close()` (thrown); `close()` could not send queued messages within `closeTimeoutMs` "             \
    "(event, and `close()` rejects with it; `detail`: how many)")                                                      \
  X(SocketError, "SOCKET_ERROR",                                                                                       \
    "the socket failed (event); a WebSocket constructor that throws is reported once with its cause, and not "         \
    "retried")                                                                                                         \
  X(RequestTimeout, "REQUEST_TIMEOUT", "`request()`: no reply within `timeoutMs`")                                     \
  X(LoadFailed, "LOAD_FAILED",                                                                                         \
    "`ready()`/`connect()`: the wasm could not be fetched, compiled or instantiated; the message names the URL and "   \
    "what to do")                                                                                                      \
  X(MessagesLost, "MESSAGES_LOST",                                                                                     \
    "`reliable`: messages of a sender that nobody can resend any more, once per gap (event; "                          \
    "`detail: { from, count }`)")                                                                                      \
  X(DecryptFailed, "DECRYPT_FAILED",                                                                                   \
    "encrypted channel: frames that failed to open (tampered, another key, plain, truncated) were dropped; the "       \
    "first at once, then at most one event a second (event; `detail: { count, total }`)")

// ----------------------------------------------------------------------------- close codes
// X(Enumerator, code)
#define MC_CLOSE_CODES(X)                                                                               \
  X(Normal, 1000)                                                                                       \
  X(Abnormal, 1006)       /* never sent on the wire: "no close frame was received" */                   \
  X(ServiceRestart, 1012) /* the server is restarting: reconnect at once (no backoff wait) */           \
  X(TryAgainLater, 1013)  /* the server cannot serve now (relay: Redis away): reconnect with backoff */ \
  X(Revoked, 4001)        /* the relay rotated the channel URL (or forgot it: HTTP 404/410) */

// ---------------------------------------------------------------------------------- events
// X(name, "listener parameters (TypeScript)", "when it fires" (README's event table)): the events
// of a Channel (`ch.on(name, listener)`). js/vocabulary.ts gets EVENTS from this list; the
// ChannelEvents map of js/types.ts must name exactly these (tsc checks it), with these
// parameters (tests/node/js-structure.test.js checks them).
#define MC_EVENTS(X)                                                                                                  \
  X(open, "e: OpenEvent", "the socket opened (`{ url, protocol }`), the first time and after every reconnect")        \
  X(message, "data: unknown, meta: MessageMeta",                                                                      \
    "a frame: JSON text parsed, other text as the string, binary as `Uint8Array`; `meta`: `type`, `binary`, `raw`")   \
  X(close, "e: CloseEvent", "the socket closed (`{ code, reason, wasClean, willReconnect }`)")                        \
  X(error, "err: MetaChannelError", "something failed later on the wire, or a listener threw: the error table below") \
  X(reconnecting, "e: ReconnectingEvent", "a retry is scheduled (`{ attempt, delayMs }`)")                            \
  X(state, "e: StateEvent", "every state change (`{ from, to }`)")                                                    \
  X(presence, "e: PresenceEvent",                                                                                     \
    "`presence`: peers joined, changed their state or left (`{ joined, updated, left }`)")                            \
  X(lost, "e: LostEvent",                                                                                             \
    "`reliable`: messages of a sender nobody can resend any more (`{ from, count }`), once per gap, beside the "      \
    "MESSAGES_LOST error")

// ------------------------------------------------------------------------------ route bits
// X(constant, bit, JS name, meaning): the bits of a frame's route (src/metachannel/router.h).
// Bits 16 .. 16+kMaxRouteFields-1 are FIELD << slot: the field registered at that slot has a
// value somebody routes on. Bits 0-7 and the FIELD bits deliver; the others describe.
#define MC_ROUTE_BITS(X)                                                                 \
  X(kMessage, 0, "MESSAGE", "on(\"message\") listeners")                                 \
  X(kAnyObject, 2, "ANY", "onMessage(\"*\") listeners, and the frame is a JSON object")  \
  X(kParseJson, 8, "PARSE", "looks like JSON: JS should JSON.parse it")                  \
  X(kObject, 9, "OBJECT", "a JSON object (by the scanner)")                              \
  X(kBinary, 10, "BINARY", "a binary frame")                                             \
  X(kSequenced, 11, "SEQ", "a valid \"_mc\" tag of a reliable sender (meta.from/seq)")   \
  X(kLate, 12, "LATE", "delivered after waiting for a gap: not the frame just received") \
  X(kUnscanned, 13, "UNSCANNED", "not scanned: interest only, JS routes by its parse")   \
  X(kFieldBase, 16, "FIELD", "FIELD << slot: the field at that slot has a value somebody wants")

// ------------------------------------------------------------------- queue overflow policies
// X(Enumerator, "name in JS")
#define MC_OVERFLOWS(X)        \
  X(DropOldest, "drop-oldest") \
  X(DropNewest, "drop-newest") \
  X(Error, "error")

// ---------------------------------------------------------------------------- channel options
// The options that cross into the core, flat. JS validates the public (nested) options against
// these bounds, fills in every default and passes one WireOptions value (bindings/); C++ copies
// it into ChannelConfig. Options that never reach the core (headers, WebSocket, presence.state)
// and the shape of the nested objects are js/options.ts's business.
//
// Numbers: X(wireName, "public.path", ChannelConfig member, default, min, max, kind, unit, "TS type", "doc")
//   kind: Real (finite), RealOrInf (Infinity allowed), Int (integer), IntOrInf (integer or Infinity)
//   unit: ms, bytes (a default of whole MiB reads "1 MiB"), count
//   doc: the option's TSDoc in js/types.ts (generated); $[] is its default, $[max] its maximum.
// A public member a.b lands in a's interface (ReconnectOptions, ...), a plain one in ChannelOptions;
// README's options table is MC_OPTION_ROWS below. Both generated by scripts/gen-vocabulary.mjs.
#define MC_NUMBER_OPTIONS(X)                                                                                           \
  X(maxMessageBytes, "maxMessageBytes", config, max_message_bytes, size_t, 1048576, 1, 2147483647, Int, bytes,         \
    "number", "Default $[]. Larger outgoing: MESSAGE_TOO_LARGE (thrown); larger incoming: dropped + error event.")     \
  X(closeTimeoutMs, "closeTimeoutMs", config, close_drain_ms, double, 5000, 0, kInf, RealOrInf, ms, "number",          \
    "Default $[]. How long close() waits for a connection to send what is queued (0: drop it at once; Infinity: "      \
    "wait for good). What is dropped is reported (CLOSED, detail: count).")                                            \
  X(closeHandshakeTimeoutMs, "closeHandshakeTimeoutMs", config, closing_timeout_ms, double, 5000, 1, kInf, RealOrInf,  \
    ms, "number",                                                                                                      \
    "Default $[]. A close handshake the server never answers is abandoned after this (close 1006, then \"closed\").")  \
  X(minDelayMs, "reconnect.minDelayMs", reconnect, min_delay_ms, double, 500, 0, kInf, Real, ms, "number",             \
    "Default $[].")                                                                                                    \
  X(maxDelayMs, "reconnect.maxDelayMs", reconnect, max_delay_ms, double, 30000, 0, kInf, Real, ms, "number",           \
    "Default $[].")                                                                                                    \
  X(factor, "reconnect.factor", reconnect, factor, double, 2, 1, kInf, Real, count, "number",                          \
    "Default $[]: the delay before attempt n is min(maxDelayMs, minDelayMs * factor^(n-1)) before jitter.")            \
  X(jitter, "reconnect.jitter", reconnect, jitter_fraction, double, 0, 0, 1, Real, count, "\"full\" | number",         \
    "\"full\" (default): uniform in [0, delay]; a number f in [0, 1]: delay * (1 ± f).")                               \
  X(maxRetries, "reconnect.maxRetries", reconnect, max_retries, double, kInf, 0, kInf, IntOrInf, count, "number",      \
    "Default $[]; then error RETRIES_EXHAUSTED and state \"closed\".")                                                 \
  X(connectTimeoutMs, "reconnect.connectTimeoutMs", reconnect, connect_timeout_ms, double, 10000, 1, kInf, RealOrInf,  \
    ms, "number", "Default $[]: a handshake that takes longer fails the attempt (CONNECT_TIMEOUT).")                   \
  X(stableAfterMs, "reconnect.stableAfterMs", reconnect, stable_after_ms, double, 5000, 0, kInf, Real, ms, "number",   \
    "Default $[]: the attempt counter resets only after the connection stayed open this long.")                        \
  X(heartbeatIntervalMs, "heartbeat.intervalMs", heartbeat, interval_ms, double, 30000, 1, kInf, Real, ms, "number",   \
    "Default $[]. Send `message` every intervalMs while open.")                                                        \
  X(heartbeatTimeoutMs, "heartbeat.timeoutMs", heartbeat, timeout_ms, double, 10000, 1, kInf, Real, ms, "number",      \
    "Default $[]. No frame at all for timeoutMs after a ping: HEARTBEAT_TIMEOUT, drop and reconnect.")                 \
  X(queueMaxMessages, "queue.maxMessages", queue, max_messages, size_t, 1000, 0, kInf, IntOrInf, count, "number",      \
    "Default $[].")                                                                                                    \
  X(queueMaxBytes, "queue.maxBytes", queue, max_bytes, size_t, 1048576, 0, kInf, IntOrInf, bytes, "number",            \
    "Default $[].")                                                                                                    \
  X(bufferMessages, "reliable.bufferMessages", reliable, buffer_messages, size_t, 1000, 1, 1048576, Int, count,        \
    "number", "Default $[] messages (at most $[max]).")                                                                \
  X(bufferBytes, "reliable.bufferBytes", reliable, buffer_bytes, size_t, 1048576, 1, 2147483647, Int, bytes, "number", \
    "Default $[].")                                                                                                    \
  X(bufferAgeMs, "reliable.bufferAgeMs", reliable, buffer_age_ms, double, 60000, 1, kInf, RealOrInf, ms, "number",     \
    "Default $[] ms.")                                                                                                 \
  X(presenceRenewMs, "presence.renewMs", presence, renew_ms, double, 15000, 1, kInf, Real, ms, "number",               \
    "Re-announce period. Default $[] ms.")                                                                             \
  X(presenceTimeoutMs, "presence.timeoutMs", presence, timeout_ms, double, 30000, 1, kInf, Real, ms, "number",         \
    "A peer not heard from for this long has left. Default $[] ms.")                                                   \
  X(presenceMaxStateBytes, "presence.maxStateBytes", presence, max_state_bytes, size_t, 4096, 4, 1048576, Int, bytes,  \
    "number", "Largest state (as JSON) sent or accepted. Default $[].")

// Booleans: X(wireName, "public.path", struct, member, default, "TS type", "doc"). "reconnect" is
// `reconnect: false`, "fullJitter" is `reconnect.jitter: "full"` (no member of its own: doc ""),
// the others are the option given at all. In doc, $[] reads true/false, $[on] on/off.
#define MC_BOOL_OPTIONS(X)                                                                                        \
  X(reconnect, "reconnect", reconnect, enabled, true, "false | ReconnectOptions",                                 \
    "Default: $[on], with the defaults below. false: a dropped connection closes the channel.")                   \
  X(fullJitter, "reconnect.jitter", reconnect, full_jitter, true, "", "")                                         \
  X(heartbeat, "heartbeat", heartbeat, enabled, false, "false | HeartbeatOptions",                                \
    "Default: $[on] (a broadcast channel has nobody to answer pings).")                                           \
  X(reliable, "reliable", reliable, enabled, false, "boolean | ReliableOptions",                                  \
    "Default $[]. Exactly once, in order per sender, repaired by the peers themselves over a relay that only "    \
    "broadcasts: each JSON object sent carries one reserved member `\"_mc\": \"<id>:<seq>\"`. What nobody holds " \
    "any more is reported once per gap as an error event MESSAGES_LOST (detail `{ from, count }`). Reliability, " \
    "not authentication: see docs/reliability.md.")                                                               \
  X(presence, "presence", presence, enabled, false, "boolean | PresenceOptions",                                  \
    "Default $[]. Who else is on the channel: `channel.presence`, `setPresence()`, the \"presence\" event.")

// Strings: X(wireName, "public.path", struct, member, C++ type, default, "TS type", "doc"). protocols: the list
// joined by commas. queueOverflow: one of MC_OVERFLOWS' names (TS type "overflows": their union).
#define MC_STRING_OPTIONS(X)                                                                   \
  X(protocols, "protocols", config, protocols_csv, std::string, "", "string[]",                \
    "Subprotocols to offer; the negotiated one is `channel.protocol`.")                        \
  X(heartbeatMessage, "heartbeat.message", heartbeat, message, std::string, "ping", "unknown", \
    "Default $[]. A non-string is sent as JSON.")                                              \
  X(heartbeatPong, "heartbeat.pong", heartbeat, pong, std::string, "pong", "string",           \
    "Default $[]: a text frame equal to this is swallowed, not dispatched.")                   \
  X(queueOverflow, "queue.overflow", queue, overflow, Overflow, "drop-oldest", "overflows",    \
    "Default $[] (with a QUEUE_OVERFLOW error event); \"error\" makes send() throw QUEUE_OVERFLOW.")

// README's options table, row by row: X("option", "default", "note"). $[wire] is that option's
// default as the README writes it (on/off, ∞, 1 MiB, "text", none); $[group:list] every member
// of a group as `name` value, $[group:obj] as name: value (members added to a group appear
// there with no edit here). Options that never reach the core (headers, WebSocket) are text.
#define MC_OPTION_ROWS(X)                                                                                               \
  X("protocols", "$[protocols]", "subprotocols; `ch.protocol` is the negotiated one")                                   \
  X("headers", "none",                                                                                                  \
    "Node only; in a browser `HEADERS_UNSUPPORTED`; values HTTP forbids (line breaks, `…`) throw `INVALID_ARGUMENT` " \
    "naming the header")                                                                                                \
  X("WebSocket", "global / `ws`", "implementation to use")                                                              \
  X("reconnect", "$[reconnect]: $[reconnect:list]", "`false` to disable")                                               \
  X("heartbeat", "$[heartbeat]", "`{ $[heartbeat:obj] }` (`{}`: on, with these defaults)")                              \
  X("queue", "$[queue:list]", "")                                                                                       \
  X("maxMessageBytes", "$[maxMessageBytes]", "both directions")                                                         \
  X("closeTimeoutMs", "$[closeTimeoutMs]",                                                                              \
    "how long `close()` waits for a connection to send the queue (0: drop it at once)")                                 \
  X("closeHandshakeTimeoutMs", "$[closeHandshakeTimeoutMs]",                                                            \
    "how long `close()` waits for the server to answer the close handshake")                                            \
  X("reliable", "$[reliable]",                                                                                          \
    "`true` or `{ $[reliable:obj] }`: see [Reliable delivery and presence](#reliable-delivery-and-presence)")           \
  X("presence", "$[presence]",                                                                                          \
    "`true` or `{ state: null, $[presence:obj] }` (above 30 peers both grow with the peer count: "                      \
    "docs/reliability.md, \"Presence\")")

namespace mc {

enum class State : uint8_t {
#define MC_X(name, text, ready) name,
  MC_STATES(MC_X)
#undef MC_X
};

enum class ErrorCode : uint8_t {
#define MC_X(name, text, doc) name,
  MC_ERROR_CODES(MC_X)
#undef MC_X
};

// The reserved member of a reliable sender's JSON objects ("<id>:<seq>", docs/reliability.md).
#define MC_RELIABLE_TAG "_mc"
constexpr const char* kReliableTag = MC_RELIABLE_TAG;

// How many top-level member names one channel can route on (slot 0 is "type").
#define MC_MAX_ROUTE_FIELDS 8
constexpr int kMaxRouteFields = MC_MAX_ROUTE_FIELDS;

namespace close_code {
#define MC_X(name, code) constexpr uint16_t k##name = code;
MC_CLOSE_CODES(MC_X)
#undef MC_X
}  // namespace close_code

enum class Overflow : uint8_t {
#define MC_X(name, text) name,
  MC_OVERFLOWS(MC_X)
#undef MC_X
};

namespace vocabulary_detail {
constexpr bool same(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}
}  // namespace vocabulary_detail

// The policy of that name (MC_OVERFLOWS), or DropOldest for a name it does not know.
constexpr Overflow overflow_named(const char* name) {
#define MC_X(id, text) \
  if (vocabulary_detail::same(name, text)) return Overflow::id;
  MC_OVERFLOWS(MC_X)
#undef MC_X
  return Overflow::DropOldest;
}

// The options' defaults, as the option structs' member initialisers use them.
namespace option_default {
constexpr double kInf = std::numeric_limits<double>::infinity();
// NOLINTNEXTLINE(bugprone-macro-parentheses): `wire` is the name being declared
#define MC_X(wire, path, group, member, type, def, ...) constexpr double wire = (def);
MC_NUMBER_OPTIONS(MC_X)
#undef MC_X
// NOLINTNEXTLINE(bugprone-macro-parentheses): `wire` is the name being declared
#define MC_X(wire, path, group, member, def, ...) constexpr bool wire = (def);
MC_BOOL_OPTIONS(MC_X)
#undef MC_X
// NOLINTNEXTLINE(bugprone-macro-parentheses): `wire` is the name being declared
#define MC_X(wire, path, group, member, type, def, ...) constexpr const char* wire = (def);
MC_STRING_OPTIONS(MC_X)
#undef MC_X
}  // namespace option_default

// An option's default as its member's C++ type (size_t counts, the Overflow of a name).
template <class T>
constexpr T option_value(double v) {
  return static_cast<T>(v);
}
template <class T>
T option_value(const char* v) {
  if constexpr (std::is_same_v<T, Overflow>) {
    return overflow_named(v);
  } else {
    return T(v);
  }
}

// MC_OPTION_MEMBERS(group): the members of the options struct `group` (reconnect, heartbeat,
// queue, reliable, presence; config: ChannelConfig's own), one per entry of the three lists
// whose struct is `group`, initialised from its default. A plain option needs no edit there.
#define MC_CAT_(a, b) a##b
#define MC_CAT(a, b) MC_CAT_(a, b)
#define MC_SECOND_(a, b, ...) b
#define MC_IS_PROBE_(...) MC_SECOND_(__VA_ARGS__, 0, )
#define MC_WHEN_1(...) __VA_ARGS__
#define MC_WHEN_0(...)
#define MC_GROUP_config_config ~, 1
#define MC_GROUP_reconnect_reconnect ~, 1
#define MC_GROUP_heartbeat_heartbeat ~, 1
#define MC_GROUP_queue_queue ~, 1
#define MC_GROUP_reliable_reliable ~, 1
#define MC_GROUP_presence_presence ~, 1
// MC_IF_GROUP(a, b)(tokens): the tokens if a and b are the same group, else nothing.
#define MC_IF_GROUP(a, b) MC_CAT(MC_WHEN_, MC_IS_PROBE_(MC_CAT(MC_CAT(MC_GROUP_, a), MC_CAT(_, b))))
#define MC_NUMBER_MEMBER_(want, wire, path, group, member, type, ...) \
  MC_IF_GROUP(want, group)(type member = ::mc::option_value<type>(::mc::option_default::wire);)
#define MC_BOOL_MEMBER_(want, wire, path, group, member, ...) \
  MC_IF_GROUP(want, group)(bool member = ::mc::option_default::wire;)
#define MC_NUMBER_MEMBER_config(...) MC_NUMBER_MEMBER_(config, __VA_ARGS__)
#define MC_NUMBER_MEMBER_reconnect(...) MC_NUMBER_MEMBER_(reconnect, __VA_ARGS__)
#define MC_NUMBER_MEMBER_heartbeat(...) MC_NUMBER_MEMBER_(heartbeat, __VA_ARGS__)
#define MC_NUMBER_MEMBER_queue(...) MC_NUMBER_MEMBER_(queue, __VA_ARGS__)
#define MC_NUMBER_MEMBER_reliable(...) MC_NUMBER_MEMBER_(reliable, __VA_ARGS__)
#define MC_NUMBER_MEMBER_presence(...) MC_NUMBER_MEMBER_(presence, __VA_ARGS__)
#define MC_BOOL_MEMBER_config(...) MC_BOOL_MEMBER_(config, __VA_ARGS__)
#define MC_BOOL_MEMBER_reconnect(...) MC_BOOL_MEMBER_(reconnect, __VA_ARGS__)
#define MC_BOOL_MEMBER_heartbeat(...) MC_BOOL_MEMBER_(heartbeat, __VA_ARGS__)
#define MC_BOOL_MEMBER_queue(...) MC_BOOL_MEMBER_(queue, __VA_ARGS__)
#define MC_BOOL_MEMBER_reliable(...) MC_BOOL_MEMBER_(reliable, __VA_ARGS__)
#define MC_BOOL_MEMBER_presence(...) MC_BOOL_MEMBER_(presence, __VA_ARGS__)
// (the string list has the number list's shape up to the C++ type: the same member macro)
#define MC_OPTION_MEMBERS(group)                      \
  MC_NUMBER_OPTIONS(MC_CAT(MC_NUMBER_MEMBER_, group)) \
  MC_BOOL_OPTIONS(MC_CAT(MC_BOOL_MEMBER_, group))     \
  MC_STRING_OPTIONS(MC_CAT(MC_NUMBER_MEMBER_, group))

// A digest (FNV-1a, 32 bits) of everything above that JS relies on: the names and numbers of
// states, error codes, close codes, overflow policies and the options with their defaults and
// bounds. js/vocabulary.ts carries the same number.
namespace vocabulary_detail {
constexpr uint32_t fnv(uint32_t h, const char* s) {
  while (*s) h = (h ^ static_cast<uint8_t>(*s++)) * 16777619u;
  return (h ^ 0xFFu) * 16777619u;  // a separator, so ("ab","c") and ("a","bc") differ
}
#define MC_STR2(x) #x
#define MC_STR(x) MC_STR2(x)
constexpr const char* kText[] = {
#define MC_X(name, text, ready) text, MC_STR(ready),
    MC_STATES(MC_X)
#undef MC_X
#define MC_X(name, text, doc) text,
        MC_ERROR_CODES(MC_X)
#undef MC_X
#define MC_X(name, code) #name, MC_STR(code),
            MC_CLOSE_CODES(MC_X)
#undef MC_X
#define MC_X(name, text) text,
                MC_OVERFLOWS(MC_X)
#undef MC_X
#define MC_X(name, params, doc) #name,
                    MC_EVENTS(MC_X)
#undef MC_X
#define MC_X(name, bit, js, doc) js, MC_STR(bit),
                        MC_ROUTE_BITS(MC_X)
#undef MC_X
                            "kMaxRouteFields",
    MC_STR(MC_MAX_ROUTE_FIELDS), "kReliableTag", MC_RELIABLE_TAG,
#define MC_X(wire, path, group, member, type, def, min, max, kind, ...) \
#wire, path, MC_STR(def), MC_STR(min), MC_STR(max), #kind,
    MC_NUMBER_OPTIONS(MC_X)
#undef MC_X
#define MC_X(wire, path, group, member, def, ...) #wire, path, MC_STR(def),
        MC_BOOL_OPTIONS(MC_X)
#undef MC_X
#define MC_X(wire, path, group, member, type, def, ...) #wire, path, MC_STR(def),
            MC_STRING_OPTIONS(MC_X)
#undef MC_X
};
#undef MC_STR
#undef MC_STR2
constexpr uint32_t digest() {
  uint32_t h = 2166136261u;
  for (const char* s : kText) h = fnv(h, s);
  return h;
}
}  // namespace vocabulary_detail

constexpr uint32_t kVocabularyDigest = vocabulary_detail::digest();

}  // namespace mc

// Delivery: the optional part of a Channel that adds reliable delivery and presence
// (docs/reliability.md). The Channel holds one only when its options ask for either, made by a
// DeliveryFactory its owner passes in ChannelConfig::delivery. The full core links the one
// implementation (Reliability::create, reliability.cpp, with nlohmann/json); the lite core
// (CMake -DMETACHANNEL_LITE=ON, dist/metachannel-lite.wasm) links neither and passes no factory,
// so a Channel there never holds a Delivery. The seam is where on-demand loading cuts:
// docs/architecture.md, "The optional core".
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "metachannel/envelope.h"
#include "metachannel/transport.h"
#include "metachannel/vocabulary.h"

namespace mc {

// Defaults: src/metachannel/vocabulary.h (as for every option).
// The members from the option lists: the resend buffer's bounds (buffer_messages by count,
// buffer_bytes, buffer_age_ms); presence's renew_ms (re-announce period), timeout_ms (a peer not
// heard from for this long has left), max_state_bytes.
struct ReliableOptions {
  MC_OPTION_MEMBERS(reliable)
};

struct PresenceOptions {
  MC_OPTION_MEMBERS(presence)
  std::string state = "null";  // JSON text of this peer's state
};

// What a Delivery asks of the Channel that holds it.
class DeliveryHost {
 public:
  // Writes a frame to the open socket now; false if there is none (nothing is queued).
  virtual bool rel_send(const std::string& text) = 0;
  // Delivers a sequenced frame that waited out of order. False: stop (the channel was
  // disposed or reset by a listener).
  // `from` and `seq`: its sender and sequence number.
  virtual bool rel_deliver(const char* data, size_t size, std::string_view from, double seq) = 0;
  virtual void rel_lost(const std::string& from, double count) = 0;
  // {"joined":{id:state,...},"updated":{id:state,...},"left":[id,...]}
  virtual void rel_presence(const std::string& json) = 0;
  // A deadline moved earlier than what the host last scheduled.
  virtual void rel_reschedule() = 0;

 protected:
  ~DeliveryHost() = default;
};

// The hooks a Channel calls, in the order of a connection's life.
class Delivery {
 public:
  enum class Action : uint8_t { Plain, Sequenced, Drop };
  virtual ~Delivery() = default;

  // This peer's id on the wire.
  virtual const std::string& id() = 0;
  virtual bool reliable() const = 0;

  // --- sending. tag(): the frame `data` (a JSON object, scanned into `e`) with the reserved
  // member for the next sequence number; commit() once the channel accepted it (sent now:
  // written=true, or queued). Nothing is consumed until commit(). pending_seq(): the number
  // the next commit() takes. Sequence numbers cross this interface as doubles: they are at
  // most 2^53 - 1 (JS-safe integers, exact in a double), and no virtual function here may take
  // or return a 64-bit integer, or emcc gives the full wasm dynCall_ legalization and an import
  // (setTempRet0) the lite core lacks, and one glue no longer loads both (scripts/lite-core.mjs).
  virtual bool tag(const char* data, size_t size, const Envelope& e, std::string& out) = 0;
  virtual void commit(std::string text, bool written) = 0;
  virtual double pending_seq() const = 0;
  // A queued frame with this sequence number went into the current socket.
  virtual void on_written(double seq) = 0;

  // --- connection: open, drop, close()/dispose() while open ("bye", final), a switch of URL
  // (reset), setUrl(null) (step_away: "bye", not final) and coming back (enter), page hidden.
  virtual void on_open() = 0;
  virtual void on_drop() = 0;
  virtual void on_closing() = 0;
  virtual void reset(bool emit) = 0;
  virtual void step_away(std::string_view url) = 0;
  virtual void enter(std::string_view url) = 0;
  virtual void set_hidden(bool hidden) = 0;
  // Validates and announces a new presence state (JSON text). "" if fine, else the problem.
  virtual std::string set_presence(std::string_view json) = 0;

  // --- receiving. For a JSON object frame (scanned into `e`): what the channel does with it.
  // Sequenced: deliver it now with route::kSequenced, then call after_delivery().
  virtual Action on_text(const char* data, size_t size, const Envelope& e) = 0;
  // After on_text returned Sequenced: the sender id (a view into the frame's data) and the
  // sequence number read from its tag.
  virtual std::string_view sender() const = 0;
  virtual double sender_seq() const = 0;
  virtual void after_delivery() = 0;

  // --- time
  virtual double next_deadline() = 0;
  virtual void on_wake() = 0;

  // The counters of docs/reliability.md, as JSON.
  virtual std::string stats_json() const = 0;
};

using DeliveryFactory = std::unique_ptr<Delivery> (*)(DeliveryHost& host, Scheduler& scheduler, std::string id,
                                                      const ReliableOptions& reliable, const PresenceOptions& presence);

// A channel's id on the wire (wire_id.cpp, in both cores): 1-64 of [A-Za-z0-9_-].
bool valid_wire_id(std::string_view id);
// 12 random symbols of [0-9a-z] (about 62 bits).
std::string random_wire_id(Scheduler& scheduler);

}  // namespace mc

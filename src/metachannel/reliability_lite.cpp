// The lite core's Reliability (CMake -DMETACHANNEL_LITE=ON, dist/metachannel-lite.wasm): no
// reliable delivery and no presence, so neither reliability.cpp nor nlohmann/json
// (json_text.cpp) is linked. The class is the one reliability.h declares; here it is never
// active: nothing is tagged, every frame is Plain, setPresence() is refused. The JS layer
// refuses a reliable or presence channel on this core before it reaches here (NOT_SUPPORTED,
// js/channel.ts).
#include "metachannel/reliability.h"

namespace mc {

Reliability::Reliability(ReliabilityHost& host, Scheduler& scheduler, std::string id, ReliableOptions reliable,
                         PresenceOptions presence)
    : host_(host), scheduler_(scheduler), ropt_(reliable), popt_(std::move(presence)), id_(std::move(id)) {
  ropt_.enabled = false;
  popt_.enabled = false;
}

bool Reliability::tag(const char*, size_t, const Envelope&, std::string&) { return false; }
// NOLINTNEXTLINE(performance-unnecessary-value-param): the signature is reliability.h's.
uint64_t Reliability::commit(std::string, bool) { return 0; }
void Reliability::on_written(uint64_t) {}
void Reliability::on_open() {}
void Reliability::on_drop() {}
void Reliability::on_closing() {}
void Reliability::reset(bool) {}
void Reliability::step_away(std::string_view) {}
void Reliability::enter(std::string_view) {}
void Reliability::set_hidden(bool) {}
std::string Reliability::set_presence(std::string_view) {
  return "presence is not in the lite core (metachannel-lite.wasm)";
}
Reliability::Action Reliability::on_text(const char*, size_t, const Envelope&) { return Action::Plain; }
void Reliability::after_delivery() {}
double Reliability::next_deadline() { return kNever; }
void Reliability::on_wake() {}
std::string Reliability::stats_json() const { return "{}"; }
size_t Reliability::held_count() const { return 0; }
size_t Reliability::present_count() const { return 0; }
long Reliability::presence_state_bytes(const std::string&) const { return -1; }

}  // namespace mc

// Channel (channel.h), the receiving side: interest (route, route_message, ...) and the
// receive plan it gives the platform (update_receive), frames in (on_transport_text: scan once,
// Delivery::on_text, Router::route_text, one event), and the DeliveryHost calls. The state
// machine, the API and the timers: channel.cpp.
#include <string>

#include "metachannel/channel.h"
#include "metachannel/channel_internal.h"

namespace mc {

using namespace channel_detail;  // NOLINT(google-build-using-namespace): the helpers of this part

int Channel::field_slot(std::string_view field) { return router_.field_slot(field); }

void Channel::route(int slot, std::string_view value, int delta) {
  router_.add(slot, value, delta);
  update_receive();
}

void Channel::route_message(int delta) {
  router_.add_message(delta);
  update_receive();
}

void Channel::route_any_object(int delta) {
  router_.add_any_object(delta);
  update_receive();
}

void Channel::set_js_mirrors_type(bool on) {
  router_.set_js_mirrors_type(on);
  update_receive();
}

void Channel::update_receive() {
  ReceivePlan plan;
  if (!disposed_ && state_ == State::Open && router_decides()) {
    if (router_.unscanned_ok()) {
      plan.mode = ReceivePlan::Mode::Route;  // the core reads nothing in a frame
      plan.route = router_.route_unscanned();
    } else if (router_.prefilter(plan.needles)) {
      plan.mode = ReceivePlan::Mode::Prefilter;  // a frame without a wanted value matches nothing
    }
  }
  if (plan == plan_) return;
  plan_ = std::move(plan);
  transport_.set_receive_plan(plan_);
}

void Channel::saw_traffic() {
  // Any frame proves the connection is alive. No reschedule here (this is the hot path): if
  // the pending wake-up was for this deadline, on_wake() finds nothing due and re-arms.
  pong_deadline_ = kNever;
}

void Channel::on_transport_text(const char* data, size_t size) {
  if (disposed_ || state_ != State::Open) return;
  saw_traffic();
  if (size > config_.max_message_bytes) return report_oversize(true, static_cast<double>(size));
  if (config_.heartbeat.enabled &&
      (equals(data, size, config_.heartbeat.pong) || equals(data, size, config_.heartbeat.message))) {
    return;  // heartbeat traffic (ours echoed by a broadcast relay, or a pong) is not a message
  }
  envelope_.scan(data, size, router_.fields());
  if (rel_ && envelope_.is_object()) {
    switch (rel_->on_text(data, size, envelope_)) {
      case Delivery::Action::Plain: break;
      case Delivery::Action::Drop: return;
      case Delivery::Action::Sequenced: {
        const uint32_t r = router_.route_text(envelope_);
        if (r) events_.on_text(data, size, r | route::kSequenced, rel_->sender(), rel_->sender_seq());
        if (!disposed_ && state_ == State::Open) rel_->after_delivery();  // what waited behind it
        return;
      }
    }
  }
  const uint32_t r = router_.route_text(envelope_);
  if (r) events_.on_text(data, size, r, {}, 0);
}

#ifndef MC_NO_DELIVERY  // the DeliveryHost calls (channel.h)
bool Channel::rel_send(const std::string& text) {
  if (disposed_ || !live_) return false;
  return transport_.send_text(text.data(), text.size());
}

bool Channel::rel_deliver(const char* data, size_t size, std::string_view from, double seq) {
  if (disposed_ || state_ != State::Open) return false;
  held_envelope_.scan(data, size, router_.fields());
  const uint32_t r = router_.route_text(held_envelope_);
  if (r) events_.on_text(data, size, r | route::kSequenced | route::kLate, from, seq);
  return !disposed_ && state_ == State::Open;
}

void Channel::rel_lost(const std::string& from, double count) {
  if (disposed_) return;
  std::string message;
  append_message(message,
                 "{} message(s) from peer {} were lost: no peer holds them any more (it left, or they aged out of "
                 "its resend buffer)",
                 {count, from});
  events_.on_lost(from, count, message);
}

void Channel::rel_presence(const std::string& json) {
  if (!disposed_) events_.on_presence(json);
}
#endif

ErrorCode Channel::set_presence(std::string_view json) {
  if (disposed_) return fail(ErrorCode::Disposed, "this channel was disposed; create a new Channel", {});
  if (!rel_) {  // (the lite core's only case: no std::string made for the literal)
    return fail(
        ErrorCode::InvalidArgument, "setPresence(state): {}",
        {std::string_view(config_.presence.enabled ? "presence is not in the lite core (metachannel-lite.wasm)"
                                                   : "presence is off on this channel; pass options.presence")});
  }
  const std::string problem = rel_->set_presence(json);
  if (!problem.empty()) return fail(ErrorCode::InvalidArgument, "setPresence(state): {}", {problem});
  return ErrorCode::None;
}

void Channel::on_transport_binary(const uint8_t* data, size_t size) {
  if (disposed_ || state_ != State::Open) return;
  saw_traffic();
  if (size > config_.max_message_bytes) return report_oversize(false, static_cast<double>(size));
  const uint32_t r = router_.route_binary();
  if (r) events_.on_binary(data, size, r);
}

void Channel::on_transport_oversize(bool text, double size) {
  if (disposed_ || state_ != State::Open) return;
  saw_traffic();
  report_oversize(text, size);
}

void Channel::report_oversize(bool text, double size) {
  report(ErrorCode::MessageTooLarge, size, "dropped an incoming {} frame of {} bytes or more (maxMessageBytes is {})",
         {text ? std::string_view("text") : std::string_view("binary"), size,
          static_cast<double>(config_.max_message_bytes)});
}

}  // namespace mc

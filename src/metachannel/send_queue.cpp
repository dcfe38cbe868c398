#include "metachannel/send_queue.h"

namespace mc {

SendQueue::Push SendQueue::push(bool binary, const char* data, size_t size, size_t& dropped, uint64_t seq) {
  dropped = 0;
  if (options_.max_messages == 0 || size > options_.max_bytes) return Push::TooLarge;
  if (!fits(1, size)) {
    switch (options_.overflow) {
      case Overflow::DropNewest: return Push::DroppedNewest;
      case Overflow::Error: return Push::Rejected;
      case Overflow::DropOldest:
        while (!items_.empty() && !fits(1, size)) {
          pop_front();
          ++dropped;
        }
        break;
    }
  }
  items_.push_back(QueuedMessage{binary, std::string(data, size), seq});
  bytes_ += size;
  return dropped ? Push::QueuedDropped : Push::Queued;
}

void SendQueue::pop_front() {
  bytes_ -= items_.front().bytes.size();
  items_.pop_front();
}

size_t SendQueue::clear() {
  const size_t n = items_.size();
  items_.clear();
  items_.shrink_to_fit();
  bytes_ = 0;
  return n;
}

}  // namespace mc

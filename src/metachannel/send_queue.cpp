#include "metachannel/send_queue.h"

#include <cstring>

namespace mc {

SendQueue::Push SendQueue::push(bool binary, const char* data, size_t size, size_t& dropped, uint64_t seq) {
  dropped = 0;
  if (options_.max_messages == 0 || size > options_.max_bytes) return Push::TooLarge;
  if (!fits(1, size)) {
    switch (options_.overflow) {
      case Overflow::DropNewest: return Push::DroppedNewest;
      case Overflow::Error: return Push::Rejected;
      case Overflow::DropOldest:
        while (!empty() && !fits(1, size)) {
          pop_front();
          ++dropped;
        }
        break;
    }
  }
  if (head_ != 0 && head_ * 2 >= items_.size()) {
    // The popped entries (their bytes already freed) go; the live ones move down as bytes.
    items_.erase_front(head_);
    head_ = 0;
  }
  char* const bytes = new char[size];
  std::memcpy(bytes, data, size);
  items_.push_back(QueuedMessage{bytes, size, seq, binary});
  bytes_ += size;
  return dropped ? Push::QueuedDropped : Push::Queued;
}

void SendQueue::pop_front() {
  const QueuedMessage& m = items_[head_];
  bytes_ -= m.size;
  delete[] m.data;  // its memory goes now, not when the slot is reused
  if (++head_ == items_.size()) {
    items_.clear();
    head_ = 0;
  }
}

size_t SendQueue::clear() {
  const size_t n = size();
  for (size_t i = head_; i < items_.size(); ++i) delete[] items_[i].data;
  items_.release();
  head_ = 0;
  bytes_ = 0;
  return n;
}

}  // namespace mc

// SendQueue: messages sent while the channel is not open wait here, bounded by count and bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "metachannel/pod_vector.h"
#include "metachannel/types.h"
#include "metachannel/vocabulary.h"

namespace mc {

struct QueueOptions {
  // Members, types and defaults: src/metachannel/vocabulary.h (as for every option).
  MC_OPTION_MEMBERS(queue)
  QueueOptions() = default;
  explicit QueueOptions(Unset) : MC_UNSET_MEMBERS(queue) unset_() {}
  char unset_ = 0;  // (ends the Unset initialiser list)
};

// A queued message. Its bytes are its own (new[], freed by SendQueue's pop_front() and clear()):
// a plain struct, so the vector grows and erases by copying bytes, with none of std::string's
// moves and destructors in the wasm (as Router's values).
struct QueuedMessage {
  char* data;
  size_t size;
  uint64_t seq;  // reliable channels: its sequence number (0: not sequenced)
  bool binary;
  std::string_view bytes() const { return {data, size}; }
};

class SendQueue {
 public:
  enum class Push : unsigned char {
    Queued,         // accepted, nothing dropped
    QueuedDropped,  // accepted; `dropped` older messages were evicted to make room
    DroppedNewest,  // not accepted (drop-newest policy): the caller reports it
    Rejected,       // not accepted (error policy): the caller throws
    TooLarge,       // larger than max_bytes on its own: can never fit
  };

  explicit SendQueue(QueueOptions options = {}) : options_(options) {}
  ~SendQueue() { clear(); }
  SendQueue(const SendQueue&) = delete;  // (the messages' bytes are owned)
  SendQueue& operator=(const SendQueue&) = delete;

  // `dropped` receives how many queued messages were evicted (drop-oldest).
  Push push(bool binary, const char* data, size_t size, size_t& dropped, uint64_t seq = 0);
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  size_t bytes() const { return bytes_; }
  const QueuedMessage& front() const { return items_[head_]; }
  void pop_front();
  // Drops everything; returns how many messages were dropped.
  size_t clear();
  const QueueOptions& options() const { return options_; }

 private:
  bool fits(size_t extra_messages, size_t extra_bytes) const {
    return size() + extra_messages <= options_.max_messages && bytes_ + extra_bytes <= options_.max_bytes;
  }
  QueueOptions options_;
  // The messages from items_[head_] on: a vector and the index of its first live entry (a
  // std::deque's block map cost 1 KB of wasm). Popped entries are emptied at once and dropped
  // from the vector when they are at least half of it.
  PodVector<QueuedMessage> items_;
  size_t head_ = 0;
  size_t bytes_ = 0;
};

}  // namespace mc

// SendQueue: order, bounds and overflow policies.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "metachannel/send_queue.h"

namespace {

using mc::Overflow;
using mc::QueueOptions;
using mc::SendQueue;
using Push = mc::SendQueue::Push;

Push push(SendQueue& q, const std::string& s, size_t* dropped = nullptr, bool binary = false) {
  size_t d = 12345;
  const Push p = q.push(binary, s.data(), s.size(), d);
  if (dropped) *dropped = d;
  return p;
}

std::vector<std::string> drain(SendQueue& q) {
  std::vector<std::string> out;
  while (!q.empty()) {
    out.emplace_back(q.front().bytes());
    q.pop_front();
  }
  return out;
}

QueueOptions opts(size_t messages, size_t bytes, Overflow o) {
  QueueOptions q;
  q.max_messages = messages;
  q.max_bytes = bytes;
  q.overflow = o;
  return q;
}

TEST(SendQueue, DefaultsMatchTheContract) {
  const QueueOptions q;
  EXPECT_EQ(q.max_messages, 1000u);
  EXPECT_EQ(q.max_bytes, 1u << 20);
  EXPECT_EQ(q.overflow, Overflow::DropOldest);
}

TEST(SendQueue, KeepsOrderAndCounts) {
  SendQueue q;
  size_t dropped = 99;
  EXPECT_EQ(push(q, "a", &dropped), Push::Queued);
  EXPECT_EQ(dropped, 0u);
  EXPECT_EQ(push(q, "bb", nullptr, /*binary=*/true), Push::Queued);
  EXPECT_EQ(push(q, ""), Push::Queued);  // an empty frame is a message too
  EXPECT_EQ(push(q, "dddd"), Push::Queued);
  EXPECT_EQ(q.size(), 4u);
  EXPECT_EQ(q.bytes(), 7u);
  EXPECT_FALSE(q.front().binary);
  q.pop_front();
  EXPECT_TRUE(q.front().binary);
  EXPECT_EQ(q.front().bytes(), "bb");
  EXPECT_EQ(q.bytes(), 6u);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"bb", "", "dddd"}));
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_TRUE(q.empty());
}

TEST(SendQueue, CountBound) {
  SendQueue q(opts(3, 1000, Overflow::Error));
  EXPECT_EQ(push(q, "1"), Push::Queued);
  EXPECT_EQ(push(q, "2"), Push::Queued);
  EXPECT_EQ(push(q, "3"), Push::Queued);
  EXPECT_EQ(push(q, "4"), Push::Rejected);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"1", "2", "3"}));
}

TEST(SendQueue, ByteBound) {
  SendQueue q(opts(100, 10, Overflow::Error));
  EXPECT_EQ(push(q, "12345"), Push::Queued);
  EXPECT_EQ(push(q, "12345"), Push::Queued);  // exactly 10: fits
  EXPECT_EQ(q.bytes(), 10u);
  EXPECT_EQ(push(q, "x"), Push::Rejected);
  EXPECT_EQ(push(q, ""), Push::Queued);  // zero bytes still fit
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.bytes(), 10u);
}

TEST(SendQueue, DropOldestByCount) {
  SendQueue q(opts(2, 1000, Overflow::DropOldest));
  size_t dropped = 0;
  push(q, "a");
  push(q, "b");
  EXPECT_EQ(push(q, "c", &dropped), Push::QueuedDropped);
  EXPECT_EQ(dropped, 1u);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"b", "c"}));
}

TEST(SendQueue, DropOldestEvictsEnoughBytes) {
  SendQueue q(opts(100, 10, Overflow::DropOldest));
  size_t dropped = 0;
  push(q, "aaa");
  push(q, "bbb");
  push(q, "ccc");
  push(q, "d");
  ASSERT_EQ(q.bytes(), 10u);
  // 7 more bytes fit only once at most 3 are queued: "aaa", "bbb" and "ccc" all go.
  EXPECT_EQ(push(q, "eeeeeee", &dropped), Push::QueuedDropped);
  EXPECT_EQ(dropped, 3u);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"d", "eeeeeee"}));

  push(q, "12345");
  push(q, "678");
  EXPECT_EQ(push(q, "abcdef", &dropped), Push::QueuedDropped);  // 8+6 > 10: drop "12345" (3+6 = 9)
  EXPECT_EQ(dropped, 1u);
  EXPECT_EQ(q.bytes(), 9u);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"678", "abcdef"}));
}

TEST(SendQueue, DropOldestCanEmptyTheQueue) {
  SendQueue q(opts(100, 10, Overflow::DropOldest));
  size_t dropped = 0;
  push(q, "1");
  push(q, "2");
  EXPECT_EQ(push(q, "0123456789", &dropped), Push::QueuedDropped);
  EXPECT_EQ(dropped, 2u);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"0123456789"}));
}

TEST(SendQueue, DropNewest) {
  SendQueue q(opts(2, 1000, Overflow::DropNewest));
  size_t dropped = 99;
  push(q, "a");
  push(q, "b");
  EXPECT_EQ(push(q, "c", &dropped), Push::DroppedNewest);
  EXPECT_EQ(dropped, 0u);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"a", "b"}));

  SendQueue b(opts(100, 4, Overflow::DropNewest));
  push(b, "abc");
  EXPECT_EQ(push(b, "de"), Push::DroppedNewest);
  EXPECT_EQ(push(b, "d"), Push::Queued);
  EXPECT_EQ(drain(b), (std::vector<std::string>{"abc", "d"}));
}

TEST(SendQueue, ErrorPolicyRejectsAndKeepsQueue) {
  SendQueue q(opts(1, 1000, Overflow::Error));
  push(q, "a");
  EXPECT_EQ(push(q, "b"), Push::Rejected);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"a"}));
}

TEST(SendQueue, TooLargeUnderEveryPolicy) {
  for (Overflow o : {Overflow::DropOldest, Overflow::DropNewest, Overflow::Error}) {
    SendQueue q(opts(10, 4, o));
    push(q, "ab");
    size_t dropped = 99;
    EXPECT_EQ(push(q, "12345", &dropped), Push::TooLarge);
    EXPECT_EQ(dropped, 0u);
    EXPECT_EQ(drain(q), (std::vector<std::string>{"ab"}));  // nothing evicted for it
  }
  SendQueue none(opts(0, 1000, Overflow::DropOldest));
  EXPECT_EQ(push(none, "a"), Push::TooLarge);
  EXPECT_EQ(push(none, ""), Push::TooLarge);
  EXPECT_TRUE(none.empty());
}

TEST(SendQueue, ClearReturnsCount) {
  SendQueue q;
  EXPECT_EQ(q.clear(), 0u);
  push(q, "a");
  push(q, "bb");
  push(q, "ccc");
  EXPECT_EQ(q.clear(), 3u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.clear(), 0u);
  EXPECT_EQ(push(q, "again"), Push::Queued);
  EXPECT_EQ(q.bytes(), 5u);
}

}  // namespace

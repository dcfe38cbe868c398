// PodVector: a growable array of a trivially copyable type (Router's values, SendQueue's
// messages), whose storage doubles through one out-of-line function shared by every element
// type. std::vector inlined its own growth path (allocate, copy, free, the length check) at each
// push_back of each type: 2 copies in the lite wasm.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>

namespace mc {
namespace pod_detail {

// New storage for `capacity` * 2 elements of `elem` bytes (1 when empty), the `size` first
// elements of `data` copied into it, `data` freed; `capacity` updated. Traps where std::vector
// would have failed its length check.
inline __attribute__((noinline)) void* grow(void* data, size_t size, size_t& capacity, size_t elem) {
  const size_t n = capacity ? capacity * 2 : 1;
  if (n > SIZE_MAX / 2 / elem) __builtin_trap();
  void* const grown = ::operator new(n* elem);
  if (size) std::memcpy(grown, data, size * elem);
  ::operator delete(data);
  capacity = n;
  return grown;
}

}  // namespace pod_detail

template <class T>
class PodVector {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>, "PodVector copies bytes");

 public:
  PodVector() = default;
  ~PodVector() { ::operator delete(data_); }
  PodVector(const PodVector&) = delete;
  PodVector& operator=(const PodVector&) = delete;

  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T* data() { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }

  void push_back(const T& v) {
    if (size_ == capacity_) data_ = static_cast<T*>(pod_detail::grow(data_, size_, capacity_, sizeof(T)));
    data_[size_++] = v;
  }
  void pop_back() { --size_; }
  // Drops the first n elements, 0 < n <= size() (the rest move down); the storage stays.
  void erase_front(size_t n) {
    std::memmove(static_cast<void*>(data_), data_ + n, (size_ - n) * sizeof(T));
    size_ -= n;
  }
  void clear() { size_ = 0; }
  // Empty, and the storage freed.
  void release() {
    ::operator delete(data_);
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace mc

// A double-ended queue of T in blocks of N elements, for a large population of objects that
// are added at the back, dropped from the front and reached by index: the correlator's
// incidents (a million of them when every alert opens one).
//
// Why not std::deque: libstdc++ gives each node 512 bytes, so an object of that size is one
// allocation of its own. Growing a thread's heap by small allocations makes glibc grow it a
// page or two at a time, each an `mprotect` (in a multithreaded process a TLB shootdown on
// every core) and each new page a fault: page faults were a fifth of the correlator's
// samples when every alert opens an incident (bench/RESULTS.md, sixteenth stop). A block of N
// objects is one allocation, with no per-object malloc header; a block of 2 MiB is mapped for
// transparent huge pages (common/block_memory.h): one page fault per 4,096 incidents. References
// stay valid as long as the element is in the deque (blocks never move), as with std::deque's
// push_back and pop_front.
#pragma once

#include <cstddef>
#include <deque>
#include <iterator>
#include <memory>
#include <new>
#include <utility>

#include "common/block_memory.h"

namespace triaged::engine {

template <class T, size_t N>
class BlockDeque {
  static_assert(N > 0);
  static_assert(alignof(T) <= alignof(std::max_align_t));

 public:
  BlockDeque() = default;
  BlockDeque(const BlockDeque&) = delete;
  BlockDeque& operator=(const BlockDeque&) = delete;
  ~BlockDeque() { clear(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return *slot(front_ + i); }
  const T& operator[](size_t i) const { return *slot(front_ + i); }
  T& front() { return (*this)[0]; }
  const T& front() const { return (*this)[0]; }
  T& back() { return (*this)[size_ - 1]; }
  const T& back() const { return (*this)[size_ - 1]; }

  template <class... Args>
  T& emplace_back(Args&&... args) {
    const size_t pos = front_ + size_;
    if (pos / N == blocks_.size())
      blocks_.emplace_back(static_cast<std::byte*>(allocateBlock(kBytes)));
    T* p = ::new (static_cast<void*>(slot(pos))) T(std::forward<Args>(args)...);
    ++size_;
    return *p;
  }
  void pop_front() {
    slot(front_)->~T();
    --size_;
    if (++front_ == N) {  // the front block is empty: freed
      blocks_.pop_front();
      front_ = 0;
    }
    if (size_ == 0) {  // nothing left: the next element starts a block afresh
      blocks_.clear();
      front_ = 0;
    }
  }
  void clear() {
    while (size_) pop_front();
    blocks_.clear();
    front_ = 0;
  }
  // Default-constructed elements up to n (or the first n kept).
  void resize(size_t n) {
    while (size_ > n) {
      slot(front_ + size_ - 1)->~T();
      --size_;
    }
    while (size_ < n) emplace_back();
  }

  template <class D, class V>
  class Iter {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = V*;
    using reference = V&;
    Iter(D* d, size_t i) : d_(d), i_(i) {}
    V& operator*() const { return (*d_)[i_]; }
    V* operator->() const { return &(*d_)[i_]; }
    Iter& operator++() {
      ++i_;
      return *this;
    }
    Iter operator++(int) {
      Iter old = *this;
      ++i_;
      return old;
    }
    bool operator==(const Iter& o) const { return i_ == o.i_; }
    bool operator!=(const Iter& o) const { return i_ != o.i_; }

   private:
    D* d_;
    size_t i_;
  };
  using iterator = Iter<BlockDeque, T>;
  using const_iterator = Iter<const BlockDeque, const T>;
  iterator begin() { return {this, 0}; }
  iterator end() { return {this, size_}; }
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size_}; }

 private:
  static constexpr size_t kBytes = N * sizeof(T);
  struct Free {
    void operator()(std::byte* p) const { freeBlock(p, kBytes); }
  };
  T* slot(size_t pos) const {
    return std::launder(reinterpret_cast<T*>(blocks_[pos / N].get()) + pos % N);
  }
  std::deque<std::unique_ptr<std::byte[], Free>> blocks_;
  size_t front_ = 0;  // the front element's place in the first block
  size_t size_ = 0;
};

}  // namespace triaged::engine

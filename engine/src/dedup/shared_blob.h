// An alert's packed strings (AlertStrings), held by the shard's alert table and shared with the
// correlator: one allocation with a count of its holders in the 8 bytes before the strings.
// One copy, whoever holds it: the table (the only writer, on its shard's thread) rewrites new
// texts in place when they fit, even while the correlator holds them too. A write another
// holder may see goes under a sequence count (a seqlock: odd while a write is under way), and
// the other holders, on other threads, read by copying the strings between two writes
// (SharedStrings, StringsCopy). Only an alert whose signed strings change (or whose texts
// outgrow their allocation) gets a new allocation; the other holders keep the old one until
// they are handed the new.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <thread>
#include <utility>

namespace triaged::engine {

class SharedBlob {
 public:
  SharedBlob() = default;
  // n bytes rounded up to 16 (AlertStrings::capacity: what a rewrite in place may use), not
  // initialised, held once. With the 8-byte count, glibc's chunk is the size it would be
  // without it.
  static SharedBlob allocate(size_t n) {
    n = (n + 15) & ~size_t{15};
    void* p = ::operator new(sizeof(Header) + n);
    new (p) Header;
    return SharedBlob(static_cast<char*>(p) + sizeof(Header));
  }
  // A new blob holding a copy of n bytes (a stored alert's strings, or a test's).
  static SharedBlob copyOf(const char* bytes, size_t n) {
    SharedBlob b = allocate(n);
    std::memcpy(b.get(), bytes, n);
    return b;
  }
  SharedBlob(SharedBlob&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  SharedBlob& operator=(SharedBlob&& o) noexcept {
    if (this != &o) {
      release();
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  SharedBlob(const SharedBlob&) = delete;  // share() says so where it happens
  SharedBlob& operator=(const SharedBlob&) = delete;
  ~SharedBlob() { release(); }

  // Another holder of the same bytes (for another thread to read).
  SharedBlob share() const {
    if (p_) header()->holders.fetch_add(1, std::memory_order_relaxed);
    return SharedBlob(p_);
  }
  // Whether this is the only holder: then it may write with plain stores. Acquire: the last
  // reads of a holder that let go happen before the writes that follow.
  bool unique() const { return !p_ || header()->holders.load(std::memory_order_acquire) == 1; }
  char* get() const { return p_; }
  // How many rewrites under the count began and ended, twice over: a rewrite moves it by 2.
  uint32_t sequence() const { return p_ ? header()->seq.load(std::memory_order_acquire) : 0; }
  explicit operator bool() const { return p_ != nullptr; }

  // The writer's rewrite of bytes [offset, offset + n) that other holders may be reading: under
  // the sequence count, in 8-byte words (offset a multiple of 8; src readable and the blob as
  // large as n rounded up to 8).
  void write(size_t offset, const void* src, size_t n) {
    beginWrite();
    writeWords(offset, src, n);
    endWrite();
  }
  // The same for several ranges that readers must see together (a new value and the summary
  // that quotes it): beginWrite, writeWords or writeBytes for each, endWrite.
  void beginWrite() {
    Header* h = header();
    h->seq.store(h->seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
  }
  void writeWords(size_t offset, const void* src, size_t n) {
    auto* to = reinterpret_cast<uint64_t*>(p_ + offset);
    const auto* from = static_cast<const char*>(src);
    for (size_t i = 0, words = (n + 7) / 8; i < words; ++i) {
      uint64_t w;
      std::memcpy(&w, from + i * 8, 8);
      __atomic_store_n(to + i, w, __ATOMIC_RELAXED);
    }
  }
  // Bytes [offset, offset + n) at any offset: the words that hold them are written whole, the
  // bytes around the range kept (read from the blob itself: the writer is its only writer).
  void writeBytes(size_t offset, const void* src, size_t n) {
    if (n == 0) return;
    size_t from = offset & ~size_t{7}, to = (offset + n + 7) & ~size_t{7};
    const auto* bytes = static_cast<const char*>(src);
    for (size_t at = from; at < to; at += 8) {
      uint64_t w;
      std::memcpy(&w, p_ + at, 8);
      size_t lo = std::max(at, offset), hi = std::min(at + 8, offset + n);
      std::memcpy(reinterpret_cast<char*>(&w) + (lo - at), bytes + (lo - offset), hi - lo);
      __atomic_store_n(reinterpret_cast<uint64_t*>(p_ + at), w, __ATOMIC_RELAXED);
    }
  }
  void endWrite() {
    Header* h = header();
    h->seq.store(h->seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

 private:
  friend class StringsCopy;
  struct Header {
    std::atomic<uint32_t> holders{1};
    std::atomic<uint32_t> seq{0};  // odd while the writer rewrites (write)
  };
  explicit SharedBlob(char* p) : p_(p) {}
  Header* header() const { return reinterpret_cast<Header*>(p_ - sizeof(Header)); }
  void release() {
    if (p_ && header()->holders.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      header()->~Header();
      ::operator delete(p_ - sizeof(Header));
    }
    p_ = nullptr;
  }

  char* p_ = nullptr;
};

// An alert's strings as a holder other than the table sees them (the correlator's alerts and
// the changes on their way to it): the table may rewrite them at any time, so they are only
// read through a copy (StringsCopy).
class SharedStrings {
 public:
  SharedStrings() = default;
  explicit SharedStrings(SharedBlob b) : b_(std::move(b)) {}
  // A holder's own copy of packed strings (from the store, or a test's).
  static SharedStrings copyOf(const char* bytes, size_t n) {
    return SharedStrings(SharedBlob::copyOf(bytes, n));
  }
  SharedStrings share() const { return SharedStrings(b_.share()); }
  // Whether both hold the same bytes (then both see the table's rewrites).
  bool same(const SharedStrings& o) const { return b_.get() == o.b_.get(); }
  explicit operator bool() const { return static_cast<bool>(b_); }

 private:
  friend class StringsCopy;
  SharedBlob b_;
};

// A consistent copy of shared strings, taken between two of the writer's rewrites: the view
// to read them through (AlertStrings(copy.data())), valid while the copy lives. Most alerts'
// strings fit the inline buffer.
class StringsCopy {
 public:
  explicit StringsCopy(const SharedStrings& s) { take(s.b_.get()); }
  StringsCopy(const StringsCopy&) = delete;
  StringsCopy& operator=(const StringsCopy&) = delete;
  const char* data() const { return reinterpret_cast<const char*>(p_); }

 private:
  static constexpr size_t kInlineWords = 64;  // 512 bytes
  void take(const char* blob) {
    if (!blob) return;
    const auto* h = reinterpret_cast<const SharedBlob::Header*>(blob - sizeof(SharedBlob::Header));
    const auto* from = reinterpret_cast<const uint64_t*>(blob);
    for (unsigned tries = 1;; ++tries) {
      uint32_t s = h->seq.load(std::memory_order_acquire);
      if (s & 1) {  // a rewrite of a few hundred bytes is under way
        // Its writer was preempted mid-way: let it run rather than spin out a time slice.
        if (tries % 64 == 0) std::this_thread::yield();
        continue;
      }
      // The first 4 bytes are the strings' length (AlertStrings::bytes): every length the
      // writer ever stored fits the allocation, so a stale one reads nothing beyond it.
      uint64_t first = __atomic_load_n(from, __ATOMIC_RELAXED);
      uint32_t n;
      std::memcpy(&n, &first, 4);
      size_t words = (size_t{n} + 7) / 8;
      p_ = inline_;
      if (words > kInlineWords) {
        if (heap_words_ < words) {
          heap_.reset(new uint64_t[words]);
          heap_words_ = words;
        }
        p_ = heap_.get();
      }
      p_[0] = first;
      for (size_t i = 1; i < words; ++i) p_[i] = __atomic_load_n(from + i, __ATOMIC_RELAXED);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (h->seq.load(std::memory_order_relaxed) == s) return;
    }
  }

  uint64_t* p_ = nullptr;
  uint64_t inline_[kInlineWords];
  std::unique_ptr<uint64_t[]> heap_;
  size_t heap_words_ = 0;
};

}  // namespace triaged::engine

// An alert's packed strings (AlertStrings), held by the shard's alert table and shared with the
// correlator: one allocation with a count of its holders in the 8 bytes before the strings.
// Whoever holds it alone may write it; the table, which writes an alert's texts in place,
// copies them first while the correlator holds them too (copy on write). An alert whose texts
// do not change costs one copy of them, not two.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
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
  // Whether this is the only holder: then it may write. Acquire: the last reads of a holder
  // that let go happen before the writes that follow.
  bool unique() const { return !p_ || header()->holders.load(std::memory_order_acquire) == 1; }
  char* get() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  struct Header {
    std::atomic<uint32_t> holders{1};
    uint32_t unused = 0;  // the strings start 8 bytes in (they are read with memcpy)
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

}  // namespace triaged::engine

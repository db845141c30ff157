// Memory for large blocks that live long: the correlator's incidents (common/block_deque.h).
// A block of a multiple of 2 MiB is mapped on its own, aligned to 2 MiB and marked for
// transparent huge pages (`madvise(MADV_HUGEPAGE)`; honoured where
// /sys/kernel/mm/transparent_hugepage/enabled is `always` or `madvise`, Debian's default):
// one page fault per 2 MiB instead of 512, and each fault is dear in a virtual machine. Other
// sizes come from the heap.
#pragma once

#include <cstddef>
#include <memory>

namespace triaged::engine {

constexpr size_t kHugePage = size_t{2} << 20;

// Throws std::bad_alloc when the memory cannot be had. The bytes are zero (fresh pages) for a
// mapped block, unspecified for one from the heap.
void* allocateBlock(size_t bytes);
void freeBlock(void* p, size_t bytes);

// An allocator for large arrays that live long and are reached at random (the correlator's
// hash maps with an entry per alert or incident): an array of 2 MiB or more is a block of
// huge pages (its size rounded up to 2 MiB: under 2 MiB more per array, for far fewer page
// faults and TLB misses); smaller ones come from the heap.
template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding is implicit
  static size_t blockBytes(size_t n) { return (n * sizeof(T) + kHugePage - 1) & ~(kHugePage - 1); }
  T* allocate(size_t n) {
    if (n * sizeof(T) < kHugePage) return std::allocator<T>().allocate(n);
    return static_cast<T*>(allocateBlock(blockBytes(n)));
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePage) return std::allocator<T>().deallocate(p, n);
    freeBlock(p, blockBytes(n));
  }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
  template <class U>
  bool operator!=(const HugePageAllocator<U>&) const {
    return false;
  }
};

}  // namespace triaged::engine

#include "common/block_memory.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <new>

namespace triaged::engine {

namespace {

bool mapped(size_t bytes) { return bytes >= kHugePage && bytes % kHugePage == 0; }

}  // namespace

void* allocateBlock(size_t bytes) {
  if (!mapped(bytes)) {
    void* p = std::malloc(bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  // Map one huge page more and cut the unaligned ends off: the block starts on 2 MiB.
  const size_t span = bytes + kHugePage;
  void* m = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
  const auto base = reinterpret_cast<uintptr_t>(m);
  const uintptr_t start = (base + kHugePage - 1) & ~(uintptr_t{kHugePage} - 1);
  if (start > base) munmap(m, start - base);
  if (const uintptr_t end = start + bytes; end < base + span)
    munmap(reinterpret_cast<void*>(end), base + span - end);
  void* p = reinterpret_cast<void*>(start);
  madvise(p, bytes, MADV_HUGEPAGE);  // a hint: without it (or THP off) small pages, as the heap
  return p;
}

void freeBlock(void* p, size_t bytes) {
  if (!p) return;
  if (mapped(bytes))
    munmap(p, bytes);
  else
    std::free(p);
}

}  // namespace triaged::engine

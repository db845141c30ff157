// Transparent huge pages for the heap. The daemon's state is millions of small allocations;
// on 4 KiB pages, touching them costs a page fault every 4 KiB, which dominated recovering a
// large state (bench/RESULTS.md: 1 M alerts and 100 k incidents recovered in 9.4–10.8 s on
// 4 KiB pages, 6.3–6.5 s with huge pages). glibc backs its heap with huge pages when the
// tunable glibc.malloc.hugetlb=1 is set, but tunables are read only as a process starts, so
// the daemon executes itself once with it added. An operator's own setting of that tunable
// (GLIBC_TUNABLES=glibc.malloc.hugetlb=0 turns it off) is kept as it is, and so is a kernel
// whose transparent huge pages are "never" (nothing to gain; no exec).
#pragma once

#include <string>

namespace triaged::engine {

// Returns only if it did not execute itself (already done, turned off by the operator, not
// available, or the exec failed); call it before any thread starts.
void preferHugePages(char** argv);

// What the heap runs on, for the start-up log: "transparent huge pages (GLIBC_TUNABLES=...)".
std::string heapPagesState();

}  // namespace triaged::engine

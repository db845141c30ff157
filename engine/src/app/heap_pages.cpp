#include "app/heap_pages.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "app/early_signals.h"

namespace triaged::engine {
namespace {

constexpr const char* kTunable = "glibc.malloc.hugetlb";

bool kernelAllowsMadvise() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(f, modes);
  // "always madvise [never]": the bracketed one is in effect.
  return !modes.empty() && modes.find("[never]") == std::string::npos;
}

bool sanitized() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || \
    __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

}  // namespace

void preferHugePages(char** argv) {
#if defined(__GLIBC__)
  const char* have = std::getenv("GLIBC_TUNABLES");
  std::string tunables = have ? have : "";
  // A sanitizer's allocator ignores the tunable: nothing to gain from executing again.
  if (tunables.find(kTunable) != std::string::npos || sanitized() || !kernelAllowsMadvise()) return;
  tunables = (tunables.empty() ? "" : tunables + ":") + kTunable + "=1";
  if (setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) return;
  // A stop sent meanwhile stays pending across the exec and is caught by the new image's
  // early handlers (see early_signals.h).
  holdStops();
  execv("/proc/self/exe", argv);
  // Not executed (no /proc, say): carry on with the ordinary heap, stops as before.
  unsetenv("GLIBC_TUNABLES");
  if (have) setenv("GLIBC_TUNABLES", have, 1);
  catchEarlySignals();
#else
  (void)argv;
#endif
}

std::string heapPagesState() {
  const char* t = std::getenv("GLIBC_TUNABLES");
  std::string s = t ? t : "";
  bool huge = s.find(std::string(kTunable) + "=1") != std::string::npos && !sanitized();
  return std::string(huge ? "transparent huge pages" : "4 KiB pages") +
         (s.empty() ? "" : " (GLIBC_TUNABLES=" + s + ")");
}

}  // namespace triaged::engine

// The CPU baseline check. A build for a portable baseline (the Debian package is built with
// -march=x86-64-v2, CMakePresets.json "package") refuses to start on a CPU without it, with a
// message that says so, instead of dying of SIGILL somewhere later. This file alone is
// compiled for the plain x86-64 baseline (CMakeLists.txt), and the check runs as the first
// static initialiser of the executable, before any code built for the baseline can run.
#if defined(__x86_64__) && defined(TRIAGED_CPU_BASELINE) && defined(__GNUC__) && !defined(__clang__)
#include <cstdio>
#include <cstdlib>

namespace {

__attribute__((constructor(101))) void refuseCpuWithoutBaseline() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports(TRIAGED_CPU_BASELINE)) return;
  std::fprintf(stderr,
               "triaged: this build needs an %s CPU (it was compiled with -march=%s) and this "
               "CPU lacks some of its instructions; build triaged from source on this machine "
               "(the default -march=native) instead\n",
               TRIAGED_CPU_BASELINE, TRIAGED_CPU_BASELINE);
  std::_Exit(78);  // EX_CONFIG: nothing to retry
}

}  // namespace
#endif

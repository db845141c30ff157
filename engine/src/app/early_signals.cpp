#include "app/early_signals.h"

namespace triaged::engine {

namespace {
volatile std::sig_atomic_t g_early_stop = 0;
extern "C" void rememberStop(int sig) { g_early_stop = sig; }
extern "C" void ignoreSignal(int) {}
}  // namespace

void catchEarlySignals() {
  struct sigaction sa {};
  sa.sa_handler = rememberStop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = ignoreSignal;
  sigaction(SIGHUP, &sa, nullptr);
}

int earlyStopSignal() { return g_early_stop; }

}  // namespace triaged::engine

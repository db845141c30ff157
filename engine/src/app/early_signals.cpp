#include "app/early_signals.h"

namespace triaged::engine {

namespace {
volatile std::sig_atomic_t g_early_stop = 0;
extern "C" void rememberStop(int sig) { g_early_stop = sig; }
extern "C" void ignoreSignal(int) {}
sigset_t stopSignals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  return s;
}
}  // namespace

void catchEarlySignals() {
  struct sigaction sa {};
  sa.sa_handler = rememberStop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = ignoreSignal;
  sigaction(SIGHUP, &sa, nullptr);
  sigset_t stops = stopSignals();
  pthread_sigmask(SIG_UNBLOCK, &stops, nullptr);  // what holdStops held is delivered now
}

void holdStops() {
  sigset_t stops = stopSignals();
  pthread_sigmask(SIG_BLOCK, &stops, nullptr);
}

void noteEarlyStop(int sig) { g_early_stop = sig; }

int earlyStopSignal() { return g_early_stop; }

}  // namespace triaged::engine

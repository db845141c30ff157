// A stop requested while the daemon starts (loading, waiting for the HA lease, recovering a
// large state) is remembered and honoured once its own signal handling is up, instead of the
// default action killing it: it then drains at once and exits 0, as systemd and the tests
// expect. SIGHUP meanwhile is ignored (the configuration is being read anyway).
#pragma once

#include <csignal>

namespace triaged::engine {

// Installs the remembering handlers (again after an asio signal_set that replaced them ends).
void catchEarlySignals();
// The signal that asked for a stop before the daemon's handlers were up, or 0.
int earlyStopSignal();

}  // namespace triaged::engine

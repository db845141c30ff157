// A stop requested while the daemon starts (loading, waiting for the HA lease, recovering a
// large state) is remembered and honoured once its own signal handling is up, instead of the
// default action killing it: it then drains at once and exits 0, as systemd and the tests
// expect. SIGHUP meanwhile is ignored (the configuration is being read anyway).
#pragma once

#include <csignal>

namespace triaged::engine {

// Installs the remembering handlers (again after an asio signal_set that replaced them ends)
// and lets held stops through.
void catchEarlySignals();
// Holds SIGTERM and SIGINT pending (blocked on this thread, and across an exec) until
// catchEarlySignals: for the moments with no handler of ours, between an asio signal_set
// restoring the default and the next catchEarlySignals, or while a new image loads.
void holdStops();
// Records a stop another handler caught (the standby's, as the lease comes to it).
void noteEarlyStop(int sig);
// The signal that asked for a stop before the daemon's handlers were up, or 0.
int earlyStopSignal();

}  // namespace triaged::engine

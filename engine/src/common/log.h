// Logging: one spdlog logger per subsystem ("http", "config", "input:alertmanager"), all
// writing to stderr as text, JSON lines, or journald-prefixed text when stderr is the journal.
// setup() is called once at start-up before any thread; get() is thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace triaged::engine::log {

// format: "text" | "json". When stderr is connected to the journal (JOURNAL_STREAM), text
// lines carry a <N> syslog priority prefix and no timestamp, which journald understands.
void setup(const std::string& level, const std::string& format);
// Changes the level of every logger (on reload).
void setLevel(const std::string& level);
std::shared_ptr<spdlog::logger> get(const std::string& subsystem);

}  // namespace triaged::engine::log

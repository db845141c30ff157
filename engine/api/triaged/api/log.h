// Logging for plugins: the daemon's loggers (text, JSON lines or journald, at the configured
// level), one per subsystem; plugins name theirs "input:<name>" or "output:<name>".
// Thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace triaged::api {

std::shared_ptr<spdlog::logger> logger(const std::string& subsystem);

}  // namespace triaged::api

#include "triaged/api/log.h"

#include "common/log.h"

namespace triaged::api {

std::shared_ptr<spdlog::logger> logger(const std::string& subsystem) {
  return engine::log::get(subsystem);
}

}  // namespace triaged::api

// The operator console's routes: / (the page), /console/<file> (its modules and styles, from
// the binary), and GET /api/v1/whoami (who the console is logged in as). docs/console.md.
#pragma once

#include <atomic>
#include <memory>

#include "triaged/api/http.h"
#include "triaged/config/config.h"

namespace triaged::engine {

class ConsoleRoutes {
 public:
  ConsoleRoutes();
  void configure(const config::ConsoleConfig& c);  // any thread (reload)
  void addRoutes(api::Router& router);

 private:
  std::atomic<std::shared_ptr<const config::ConsoleConfig>> config_;
};

}  // namespace triaged::engine

// Active/standby over PostgreSQL: one lease row (node, advertised URL, epoch, expiry on the
// database's clock). A standby takes the lease only once it has expired, raising the epoch; the
// leader renews it; every write transaction of the leader checks the epoch (PostgresStore's
// fence), so a deposed leader's commit fails instead of landing. No consensus of our own: the
// database decides, as Zabbix's and Icinga's HA do.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "store/postgres/pg_connection.h"

namespace triaged::config {
struct PostgresConfig;
}

namespace triaged::engine {

struct LeaseHolder {
  std::string node, url;
  int64_t epoch = 0;
  bool live = false;         // not expired
  int64_t remaining_ms = 0;  // until it expires, on the database's clock (0: expired)
};

// When a standby tries for the lease next: at the renewal interval while the lease has longer
// than that to run (which keeps what it knows of the leader fresh), else just after it expires
// (not up to a whole interval later); never sooner than 10 ms.
std::chrono::milliseconds nextLeaseAttempt(const LeaseHolder& holder,
                                           std::chrono::milliseconds renew_interval);

class Lease {
 public:
  // Its own connection (the store writer's is busy committing). Throws naming the server.
  Lease(const config::PostgresConfig& pg, std::string node, std::string url,
        std::chrono::milliseconds duration);
  // Takes the lease if it expired (or never existed): returns the new epoch, else 0 with
  // `holder` saying who has it. Throws when the database cannot be reached.
  int64_t tryAcquire(LeaseHolder& holder);
  // Extends the lease of `epoch`; false when the epoch moved on (another node took over).
  // Throws when the database cannot be reached.
  bool renew(int64_t epoch);
  // Gives the lease up at a clean stop (expires it now), so a standby need not wait.
  void release(int64_t epoch) noexcept;
  const std::string& node() const { return node_; }

  // The SQL that makes the lease table (idempotent), for the store's fence too.
  static const char* tableSql();

 private:
  void reconnectIfBroken();
  std::unique_ptr<pg::Connection> conn_;
  std::string node_, url_, interval_;
};

}  // namespace triaged::engine

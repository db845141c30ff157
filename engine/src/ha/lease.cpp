#include "ha/lease.h"

#include <algorithm>

#include "triaged/config/config.h"

namespace triaged::engine {

const char* Lease::tableSql() {
  return "CREATE TABLE IF NOT EXISTS ha_lease (id INTEGER PRIMARY KEY CHECK (id = 1),"
         " node TEXT NOT NULL, url TEXT NOT NULL, epoch BIGINT NOT NULL,"
         " expires_at TIMESTAMPTZ NOT NULL)";
}

Lease::Lease(const config::PostgresConfig& pg, std::string node, std::string url,
             std::chrono::milliseconds duration)
    : conn_(std::make_unique<pg::Connection>(
          pg.url, pg.password,
          std::chrono::duration_cast<std::chrono::milliseconds>(pg.connect_timeout))),
      node_(std::move(node)),
      url_(std::move(url)),
      interval_(std::to_string(duration.count()) + " milliseconds") {
  conn_->exec("BEGIN");
  conn_->exec("SELECT pg_advisory_xact_lock(8391086961657079141)");
  conn_->exec(tableSql());
  conn_->exec("COMMIT");
}

void Lease::reconnectIfBroken() {
  if (!conn_->ok()) conn_->reset();
}

int64_t Lease::tryAcquire(LeaseHolder& holder) {
  reconnectIfBroken();
  auto r = conn_->exec(
      "INSERT INTO ha_lease AS l (id, node, url, epoch, expires_at)"
      " VALUES (1, $1, $2, 1, clock_timestamp() + $3::interval)"
      " ON CONFLICT (id) DO UPDATE SET node = excluded.node, url = excluded.url,"
      " epoch = l.epoch + 1, expires_at = excluded.expires_at"
      " WHERE l.expires_at < clock_timestamp() RETURNING epoch",
      {node_, url_, interval_});
  if (r.rows()) {
    holder = {node_, url_, r.i64(0, 0), true};
    return holder.epoch;
  }
  auto h = conn_->exec(
      "SELECT node, url, epoch, expires_at >= clock_timestamp(),"
      " GREATEST(0, CEIL(EXTRACT(EPOCH FROM expires_at - clock_timestamp()) * 1000))::bigint"
      " FROM ha_lease WHERE id = 1");
  if (h.rows()) holder = {h.str(0, 0), h.str(0, 1), h.i64(0, 2), h.text(0, 3) == "t", h.i64(0, 4)};
  return 0;
}

std::chrono::milliseconds nextLeaseAttempt(const LeaseHolder& holder,
                                           std::chrono::milliseconds renew_interval) {
  using std::chrono::milliseconds;
  if (!holder.live) return std::min(milliseconds(10), renew_interval);
  return std::clamp(milliseconds(holder.remaining_ms + 1), milliseconds(10), renew_interval);
}

bool Lease::renew(int64_t epoch) {
  reconnectIfBroken();
  auto r = conn_->exec(
      "UPDATE ha_lease SET expires_at = clock_timestamp() + $2::interval"
      " WHERE id = 1 AND epoch = $1 AND node = $3 RETURNING 1",
      {std::to_string(epoch), interval_, node_});
  return r.rows() == 1;
}

void Lease::release(int64_t epoch) noexcept {
  try {
    reconnectIfBroken();
    conn_->exec(
        "UPDATE ha_lease SET expires_at = clock_timestamp() - interval '1 millisecond'"
        " WHERE id = 1 AND epoch = $1 AND node = $2",
        {std::to_string(epoch), node_});
  } catch (...) {
  }
}

}  // namespace triaged::engine

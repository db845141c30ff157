// The live event stream (GET /api/v1/stream, Server-Sent Events): a bounded ring of committed
// events, already framed, and the clients following it.
//
// publish() runs on the store thread once the round that made the events is committed (so a
// client never sees what a crash could take back); each client is served on its connection's
// I/O thread, which pulls the frames it wants from the ring and writes them without copying.
// Nothing waits on a client: one that falls more than client_buffer_bytes behind, or whose
// next frame has left the ring, is cut off (counted) and reconnects with Last-Event-ID.
//
// With no client connected for resume_window, the correlator builds no events at all (their
// JSON was a fifth of its work when every alert opens an incident): wanted() says so, and
// skipped() marks the gap in commit order, so that an id from before it gets a resync.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "triaged/api/http.h"
#include "triaged/config/config.h"

namespace triaged::engine {

enum class StreamType : uint8_t {
  kIncident,
  kProblem,
  kAlert,
  kSilence,
  kMaintenance,
  kSla,
  kHeartbeat,
};
constexpr int kStreamTypes = 7;
const char* streamTypeName(StreamType t);
bool parseStreamType(std::string_view name, StreamType& out);
constexpr uint8_t kAllStreamTypes = (1u << kStreamTypes) - 1;

// One event as the correlator built it: its type and its data (one line of JSON).
struct StreamEvent {
  StreamType type;
  std::string data;
};

class EventHub {
 public:
  EventHub(const config::StreamConfig& c, prometheus::Registry& registry, int64_t run_id);
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  // Reloadable settings (max_clients, client_buffer_bytes, intervals, resume_window);
  // buffer_events stays.
  void setConfig(const config::StreamConfig& c);

  // Whether events are wanted: a client is connected, or one left less than resume_window ago
  // (it may come back with Last-Event-ID). Any thread.
  bool wanted() const;
  // Events were not built for a committed round: a gap no Last-Event-ID before it resumes
  // across. A client that connected fresh meanwhile and got nothing yet follows on; any other
  // (it resumed, or got older events) is cut off, and gets a resync when it reconnects.
  void skipped();

  // Appends the events (ids in order) and wakes the clients that want them. Any thread.
  void publish(std::vector<StreamEvent> events);

  // Takes a client slot; false when max_clients are connected (counted).
  bool reserve();
  void unreserve();
  // On the writer's I/O thread, after reserve(): replays what came after last_event_id (or
  // sends a "resync" event when that is no longer in the ring, or from another run of the
  // daemon), then follows. mask: the types wanted (bit per StreamType).
  void attach(std::shared_ptr<api::StreamWriter> writer, uint8_t mask,
              std::string_view last_event_id);

  size_t clients() const;
  uint64_t lastId() const;               // the id of the newest event (0 before the first)
  std::string idOf(uint64_t seq) const;  // "<run>-<seq>"

 private:
  // The frames of one publish() are one string, so that a client's write references a
  // block, not each frame: no reference count touched per frame, and consecutive frames it
  // wants go out as one piece.
  struct Frame {
    uint64_t seq;
    StreamType type;
    std::shared_ptr<const std::string> block;  // "id: …\nevent: …\ndata: …\n\n" …
    uint32_t offset, size;
    std::string_view text() const { return std::string_view(*block).substr(offset, size); }
  };
  struct Client;
  void wake(const std::shared_ptr<Client>& c);
  // force: write now, even within the flush interval (the client has a backlog to catch up).
  void pump(const std::shared_ptr<Client>& c, bool force = false);
  void written(const std::shared_ptr<Client>& c, bool ok, size_t bytes, bool backlog);
  void heartbeat(const std::shared_ptr<Client>& c);
  void drop(const std::shared_ptr<Client>& c);
  uint64_t wantedBytes(uint8_t mask) const;  // cumulative bytes of those types (locked)

  const int64_t run_id_;
  const size_t capacity_;
  std::atomic<uint64_t> client_buffer_bytes_;
  std::atomic<int64_t> heartbeat_ms_, flush_ms_;
  std::atomic<uint64_t> max_clients_;
  std::atomic<uint64_t> reserved_{0};
  std::atomic<int64_t> resume_window_ms_;
  std::atomic<int64_t> last_left_ms_;  // steady clock; long ago until a client leaves

  mutable std::mutex mu_;  // ring_, next_seq_, cum_bytes_, clients_, each client's cursor
  std::deque<Frame> ring_;
  uint64_t next_seq_ = 1;
  uint64_t gap_seq_ = 0;  // the id of the last gap (0: none): an id before it cannot resume
  uint64_t cum_bytes_[kStreamTypes]{};
  std::vector<std::shared_ptr<Client>> clients_;

  prometheus::Gauge& m_clients_;
  prometheus::Counter& m_refused_;
  prometheus::Counter& m_slow_;
  prometheus::Counter& m_resync_;
  prometheus::Counter& m_bytes_;
  prometheus::Counter& m_skipped_;
  prometheus::Counter* m_events_[kStreamTypes]{};
};

}  // namespace triaged::engine

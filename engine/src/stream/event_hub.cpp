#include "stream/event_hub.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <chrono>
#include <limits>

#include "triaged/api/json_writer.h"

namespace triaged::engine {

namespace asio = boost::asio;

namespace {

constexpr const char* kTypeNames[kStreamTypes] = {"incident",    "problem", "alert",    "silence",
                                                  "maintenance", "sla",     "heartbeat"};
// One write takes at most this many frames (the kernel's IOV_MAX is 1024).
constexpr size_t kMaxParts = 512;
const std::string kKeepalive = ": keepalive\n\n";

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

const char* streamTypeName(StreamType t) { return kTypeNames[static_cast<int>(t)]; }

bool parseStreamType(std::string_view name, StreamType& out) {
  for (int i = 0; i < kStreamTypes; ++i)
    if (name == kTypeNames[i]) {
      out = static_cast<StreamType>(i);
      return true;
    }
  return false;
}

struct EventHub::Client {
  Client(std::shared_ptr<api::StreamWriter> w, uint8_t m)
      : writer(std::move(w)),
        mask(m),
        flush_timer(writer->context()),
        heartbeat_timer(writer->context()) {}
  std::shared_ptr<api::StreamWriter> writer;
  const uint8_t mask;
  // Under the hub's lock.
  uint64_t cursor = 0;  // seq of the last frame taken (wanted or not)
  uint64_t taken = 0;   // cumulative bytes of wanted frames taken, on wantedBytes()'s scale
  bool wake_pending = false;
  bool gone = false;
  bool resumed = false;        // attached with a Last-Event-ID it resumed from
  uint64_t attached_head = 0;  // the newest id when it attached
  // On the client's I/O thread only.
  bool writing = false, flush_armed = false;
  int64_t last_write_ms = 0;
  std::shared_ptr<const std::string> first;  // hello or resync, sent before anything else
  asio::steady_timer flush_timer, heartbeat_timer;
};

EventHub::EventHub(const config::StreamConfig& c, prometheus::Registry& registry, int64_t run_id)
    : run_id_(run_id),
      capacity_(c.buffer_events),
      client_buffer_bytes_(c.client_buffer_bytes),
      heartbeat_ms_(c.heartbeat_interval.count()),
      flush_ms_(c.flush_interval.count()),
      max_clients_(c.max_clients),
      resume_window_ms_(c.resume_window.count()),
      last_left_ms_(std::numeric_limits<int64_t>::min() / 2),
      m_clients_(prometheus::BuildGauge()
                     .Name("triaged_stream_clients")
                     .Help("Clients connected to GET /api/v1/stream.")
                     .Register(registry)
                     .Add({})),
      m_refused_(prometheus::BuildCounter()
                     .Name("triaged_stream_clients_refused_total")
                     .Help("Stream connections refused because stream.max_clients were connected.")
                     .Register(registry)
                     .Add({})),
      m_slow_(prometheus::BuildCounter()
                  .Name("triaged_stream_clients_dropped_total")
                  .Help("Stream clients cut off for falling more than stream.client_buffer_bytes "
                        "behind (or out of the replay ring).")
                  .Register(registry)
                  .Add({{"reason", "slow"}})),
      m_resync_(prometheus::BuildCounter()
                    .Name("triaged_stream_resyncs_total")
                    .Help("Reconnections whose Last-Event-ID was no longer in the ring (or of "
                          "another run): they got a resync event.")
                    .Register(registry)
                    .Add({})),
      m_bytes_(prometheus::BuildCounter()
                   .Name("triaged_stream_sent_bytes_total")
                   .Help("Bytes written to stream clients.")
                   .Register(registry)
                   .Add({})),
      m_skipped_(prometheus::BuildCounter()
                     .Name("triaged_stream_rounds_unbuilt_total")
                     .Help("Committed correlator rounds whose stream events were not built: no "
                           "client was connected, nor had one left within stream.resume_window.")
                     .Register(registry)
                     .Add({})) {
  auto& fam = prometheus::BuildCounter()
                  .Name("triaged_stream_events_total")
                  .Help("Events published on the stream, by type.")
                  .Register(registry);
  for (int i = 0; i < kStreamTypes; ++i) m_events_[i] = &fam.Add({{"type", kTypeNames[i]}});
}

EventHub::~EventHub() = default;

void EventHub::setConfig(const config::StreamConfig& c) {
  client_buffer_bytes_ = c.client_buffer_bytes;
  heartbeat_ms_ = c.heartbeat_interval.count();
  flush_ms_ = c.flush_interval.count();
  max_clients_ = c.max_clients;
  resume_window_ms_ = c.resume_window.count();
}

bool EventHub::wanted() const {
  if (reserved_.load(std::memory_order_acquire) > 0) return true;
  return steadyMs() - last_left_ms_.load(std::memory_order_acquire) <
         resume_window_ms_.load(std::memory_order_relaxed);
}

void EventHub::skipped() {
  std::vector<std::shared_ptr<Client>> cut;
  {
    std::lock_guard lock(mu_);
    uint64_t head = next_seq_ - 1;
    // One id per gap, not per round: a gap right after the last one (nothing published
    // since) is the same gap. Gap ids start at 1; 0 is none.
    if (gap_seq_ == 0 || gap_seq_ != head) gap_seq_ = next_seq_++;
    ring_.clear();
    // A client that connected fresh since (the round was applied before it did: what it reads
    // of the state holds the round) and got nothing yet follows on past the gap. One that
    // resumed, or got events published after it connected (older than that state), is cut off
    // and resyncs.
    for (auto& c : clients_) {
      if (c->gone) continue;
      if (!c->resumed && c->attached_head == head) {
        c->cursor = gap_seq_;
        continue;
      }
      c->gone = true;
      cut.push_back(c);
    }
  }
  m_skipped_.Increment();
  for (auto& c : cut) asio::post(c->writer->context(), [c] { c->writer->close(); });
}

std::string EventHub::idOf(uint64_t seq) const {
  return std::to_string(run_id_) + "-" + std::to_string(seq);
}

uint64_t EventHub::wantedBytes(uint8_t mask) const {
  uint64_t n = 0;
  for (int i = 0; i < kStreamTypes; ++i)
    if (mask & (1u << i)) n += cum_bytes_[i];
  return n;
}

void EventHub::publish(std::vector<StreamEvent> events) {
  if (events.empty()) return;
  std::vector<std::shared_ptr<Client>> wake, cut;
  {
    std::lock_guard lock(mu_);
    auto block = std::make_shared<std::string>();
    size_t bytes = 0;
    for (const auto& e : events) bytes += e.data.size() + 64;
    block->reserve(bytes);
    size_t first_frame = ring_.size();
    for (auto& e : events) {
      uint64_t seq = next_seq_++;
      size_t at = block->size();
      *block += "id: ";
      *block += idOf(seq);
      *block += "\nevent: ";
      *block += kTypeNames[static_cast<int>(e.type)];
      *block += "\ndata: ";
      *block += e.data;
      *block += "\n\n";
      uint32_t size = static_cast<uint32_t>(block->size() - at);
      cum_bytes_[static_cast<int>(e.type)] += size;
      m_events_[static_cast<int>(e.type)]->Increment();
      ring_.push_back({seq, e.type, nullptr, static_cast<uint32_t>(at), size});
    }
    std::shared_ptr<const std::string> shared = std::move(block);
    for (size_t i = first_frame; i < ring_.size(); ++i) ring_[i].block = shared;
    while (ring_.size() > capacity_) ring_.pop_front();
    uint64_t limit = client_buffer_bytes_.load(std::memory_order_relaxed);
    uint64_t first = ring_.front().seq;
    for (auto& c : clients_) {
      if (c->gone) continue;
      uint64_t lag = wantedBytes(c->mask) - c->taken;
      if (lag == 0) {
        c->cursor = next_seq_ - 1;  // nothing it wants: it is not behind
        continue;
      }
      if (lag > limit || c->cursor + 1 < first) {
        c->gone = true;
        cut.push_back(c);
        continue;
      }
      if (!c->wake_pending) {
        c->wake_pending = true;
        wake.push_back(c);
      }
    }
  }
  for (auto& c : cut) {
    m_slow_.Increment();
    asio::post(c->writer->context(), [c] { c->writer->close(); });
  }
  for (auto& c : wake) asio::post(c->writer->context(), [this, c] { pump(c); });
}

bool EventHub::reserve() {
  uint64_t n = reserved_.fetch_add(1, std::memory_order_acq_rel);
  if (n < max_clients_.load(std::memory_order_relaxed)) return true;
  reserved_.fetch_sub(1, std::memory_order_acq_rel);
  m_refused_.Increment();
  return false;
}

void EventHub::unreserve() {
  last_left_ms_.store(steadyMs(), std::memory_order_release);
  reserved_.fetch_sub(1, std::memory_order_acq_rel);
}

size_t EventHub::clients() const {
  std::lock_guard lock(mu_);
  return clients_.size();
}

uint64_t EventHub::lastId() const {
  std::lock_guard lock(mu_);
  return next_seq_ - 1;
}

void EventHub::attach(std::shared_ptr<api::StreamWriter> writer, uint8_t mask,
                      std::string_view last_event_id) {
  auto c = std::make_shared<Client>(std::move(writer), mask);
  size_t n = 0;
  {
    std::lock_guard lock(mu_);
    uint64_t head = next_seq_ - 1;
    uint64_t from = head;
    const char* why = nullptr;
    if (!last_event_id.empty()) {
      // "<run>-<seq>": a seq of this run still in the ring (or the newest) resumes there.
      auto dash = last_event_id.find('-');
      int64_t run = 0;
      uint64_t seq = 0;
      bool ok = dash != std::string_view::npos &&
                std::from_chars(last_event_id.data(), last_event_id.data() + dash, run).ec ==
                    std::errc() &&
                std::from_chars(last_event_id.data() + dash + 1,
                                last_event_id.data() + last_event_id.size(), seq)
                        .ec == std::errc();
      if (!ok)
        why = "Last-Event-ID is not an id of this stream";
      else if (run != run_id_)
        why = "the daemon restarted since that event";
      else if (seq > head)
        why = "Last-Event-ID is ahead of the stream";
      else if (seq < gap_seq_)
        why = "the events after Last-Event-ID were not kept: no client was connected";
      else if (!ring_.empty() && seq + 1 < ring_.front().seq)
        why = "the events after Last-Event-ID are no longer buffered";
      else
        from = seq;
    }
    uint64_t after = 0;
    for (auto it = ring_.rbegin(); it != ring_.rend() && it->seq > from; ++it)
      if (mask & (1u << static_cast<int>(it->type))) after += it->size;
    c->cursor = from;
    c->taken = wantedBytes(mask) - after;
    c->resumed = !why && !last_event_id.empty();
    c->attached_head = head;
    std::string first;
    if (why) {
      std::string data;
      api::JsonWriter w(data);
      w.beginObject().field("reason", why).field("id", idOf(head)).endObject();
      first = "retry: 2000\nid: " + idOf(head) + "\nevent: resync\ndata: " + data + "\n\n";
      m_resync_.Increment();
    } else {
      // A fresh client gets the current id, so a reconnect resumes from here; a resuming one
      // keeps its own until the replayed frames carry theirs.
      bool resumed = !last_event_id.empty();
      std::string data =
          "{\"id\":\"" + idOf(head) + "\",\"resumed\":" + (resumed ? "true" : "false") + "}";
      first = std::string("retry: 2000\n") + (resumed ? "" : "id: " + idOf(head) + "\n") +
              "event: hello\ndata: " + data + "\n\n";
    }
    c->first = std::make_shared<const std::string>(std::move(first));
    clients_.push_back(c);
    n = clients_.size();
  }
  m_clients_.Set(static_cast<double>(n));
  std::weak_ptr<Client> weak = c;
  c->writer->onClosed([this, weak] {
    if (auto c = weak.lock()) drop(c);
  });
  heartbeat(c);
  pump(c);
}

void EventHub::drop(const std::shared_ptr<Client>& c) {
  size_t n = 0;
  {
    std::lock_guard lock(mu_);
    c->gone = true;
    auto it = std::find(clients_.begin(), clients_.end(), c);
    if (it == clients_.end()) return;
    clients_.erase(it);
    n = clients_.size();
  }
  c->flush_timer.cancel();
  c->heartbeat_timer.cancel();
  unreserve();
  m_clients_.Set(static_cast<double>(n));
}

void EventHub::pump(const std::shared_ptr<Client>& c, bool force) {
  if (c->writing) return;  // its completion pumps again
  int64_t now = steadyMs();
  int64_t flush = flush_ms_.load(std::memory_order_relaxed);
  if (!force && !c->first && flush > 0 && now - c->last_write_ms < flush) {
    // At most one write per flush interval: under load, frames gather into fewer writes.
    if (!c->flush_armed) {
      c->flush_armed = true;
      c->flush_timer.expires_after(std::chrono::milliseconds(flush - (now - c->last_write_ms)));
      c->flush_timer.async_wait([this, c](const boost::system::error_code& ec) {
        c->flush_armed = false;
        if (!ec) pump(c);
      });
    }
    return;
  }
  auto keep = std::make_shared<std::vector<std::shared_ptr<const std::string>>>();
  const std::string* last_block = nullptr;
  std::vector<std::string_view> parts;
  bool backlog = false;
  if (c->first) {
    parts.push_back(*c->first);
    keep->push_back(std::move(c->first));
    c->first.reset();
  }
  {
    std::lock_guard lock(mu_);
    c->wake_pending = false;
    if (c->gone) return;
    if (!ring_.empty()) {
      uint64_t front = ring_.front().seq;
      size_t i = c->cursor + 1 > front ? c->cursor + 1 - front : 0;
      for (; i < ring_.size() && parts.size() < kMaxParts; ++i) {
        const Frame& f = ring_[i];
        c->cursor = f.seq;
        if (!(c->mask & (1u << static_cast<int>(f.type)))) continue;
        c->taken += f.size;
        std::string_view t = f.text();
        if (!parts.empty() && f.block.get() == last_block &&
            parts.back().data() + parts.back().size() == t.data()) {
          parts.back() = std::string_view(parts.back().data(), parts.back().size() + t.size());
          continue;  // the next frame of the same block: one piece
        }
        parts.push_back(t);
        if (f.block.get() != last_block) {
          keep->push_back(f.block);
          last_block = f.block.get();
        }
      }
      backlog = i < ring_.size();
      if (backlog) c->wake_pending = true;  // more to take after this write
    }
  }
  if (parts.empty()) return;
  size_t bytes = 0;
  for (auto p : parts) bytes += p.size();
  c->writing = true;
  c->writer->write(std::move(parts), keep,
                   [this, c, bytes, backlog](bool ok) { written(c, ok, bytes, backlog); });
}

void EventHub::written(const std::shared_ptr<Client>& c, bool ok, size_t bytes, bool backlog) {
  c->writing = false;
  if (!ok) return;
  m_bytes_.Increment(static_cast<double>(bytes));
  c->last_write_ms = steadyMs();
  bool pending;
  {
    std::lock_guard lock(mu_);
    pending = c->wake_pending && !c->gone;
  }
  // A client catching up writes again at once; one that is up to date waits for the flush
  // interval, so that a burst goes out as one write.
  if (pending) pump(c, backlog);
}

void EventHub::heartbeat(const std::shared_ptr<Client>& c) {
  int64_t every = heartbeat_ms_.load(std::memory_order_relaxed);
  c->heartbeat_timer.expires_after(std::chrono::milliseconds(every));
  c->heartbeat_timer.async_wait([this, c, every](const boost::system::error_code& ec) {
    if (ec) return;
    {
      std::lock_guard lock(mu_);
      if (c->gone) return;
    }
    // A comment line, so proxies and clients see a live connection when nothing happens.
    if (!c->writing && steadyMs() - c->last_write_ms >= every) {
      c->writing = true;
      c->writer->write({kKeepalive}, nullptr,
                       [this, c](bool ok) { written(c, ok, kKeepalive.size(), false); });
    }
    heartbeat(c);
  });
}

}  // namespace triaged::engine

#include "notify/notifier.h"

#include <absl/container/flat_hash_set.h>
#include <concurrentqueue/concurrentqueue.h>
#include <curl/curl.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <thread>

#include "common/log.h"
#include "common/signature.h"
#include "notify/curl_transfer.h"

namespace triaged::engine {

std::string Notifier::signature(const std::string& secret, int64_t unix_seconds,
                                const std::string& body) {
  return signatureOf(secret, unix_seconds, body);
}

struct Notifier::Impl {
  // One pending outbox entry of a target; `done` ones wait to be popped off the front.
  struct Slot {
    OutboxEntry e;
    bool in_flight = false, done = false;
  };
  struct Target;
  // One request in flight: its transfer (curl_transfer.h) and what it delivers.
  struct Flight : CurlTransfer {
    Target* target = nullptr;
    uint64_t id = 0, incident = 0;
    bool creating = false;  // the answer carries a new ticket's id
    bool session = false;   // a login (Output::session)
    std::chrono::steady_clock::time_point started;
  };
  struct Target {
    config::NotificationTarget cfg;
    std::unique_ptr<api::Output> output;
    std::deque<Slot> pending;  // outbox order (ids ascending)
    size_t live = 0;           // pending slots not done
    std::vector<OutboxEntry> dead;
    std::vector<std::unique_ptr<Flight>> flights;
    std::vector<CURL*> idle;                  // easy handles for the next requests
    std::map<uint64_t, std::string> tickets;  // incident -> the tool's ticket id
    double rate_tat_ms = 0;                   // rate limit (GCRA): the theoretical arrival time
    unsigned failures = 0;                    // consecutive failed attempts
    bool circuit_open = false;
    int64_t next_attempt_ms = 0;  // no request before this (backoff, rate limit)
    prometheus::Counter *ok = nullptr, *retry = nullptr, *dead_total = nullptr, *skipped = nullptr,
                        *no_ticket = nullptr;
    prometheus::Histogram* latency = nullptr;
    prometheus::Gauge *pending_gauge = nullptr, *oldest = nullptr, *circuit = nullptr,
                      *in_flight = nullptr;
  };
  struct Task {
    std::vector<OutboxEntry> entries;
    std::function<void()> fn;
  };
  // How far past the front the scheduler looks for an entry whose incident has nothing in
  // flight or waiting: bounds the work per round when the head is blocked.
  static constexpr size_t kLookahead = 4096;

  Impl(std::vector<config::NotificationTarget> cfgs, const api::PluginRegistry& plugins,
       StoreWriter& s, const Clock& c, api::MetricsHub& h)
      : store(s), clock(c), hub(h), rng(std::random_device{}()) {
    auto& reg = hub.registry();
    deliveries = &prometheus::BuildCounter()
                      .Name("triaged_notifications_total")
                      .Help(
                          "Notification delivery attempts, by target and result (success, retry, "
                          "dead, skipped).")
                      .Register(reg);
    latency_family = &prometheus::BuildHistogram()
                          .Name("triaged_notification_delivery_seconds")
                          .Help("Time of one delivery request, by target.")
                          .Register(reg);
    pending_family = &prometheus::BuildGauge()
                          .Name("triaged_notifications_pending")
                          .Help("Outbox entries waiting for delivery, by target.")
                          .Register(reg);
    circuit_family = &prometheus::BuildGauge()
                          .Name("triaged_notification_circuit_open")
                          .Help(
                              "1 while a target's circuit is open (consecutive failures): one "
                              "probe per open period.")
                          .Register(reg);
    oldest_family = &prometheus::BuildGauge()
                         .Name("triaged_notifications_oldest_age_seconds")
                         .Help("Age of the oldest undelivered outbox entry, by target.")
                         .Register(reg);
    no_ticket_family = &prometheus::BuildCounter()
                            .Name("triaged_notification_tickets_missing_total")
                            .Help(
                                "Creates a tool answered with success but without a readable "
                                "ticket id, by target.")
                            .Register(reg);
    in_flight_family =
        &prometheus::BuildGauge()
             .Name("triaged_notifications_in_flight")
             .Help("Delivery requests in flight, by target (at most its concurrency).")
             .Register(reg);
    for (auto& cfg : cfgs) {
      const auto* plugin = plugins.findOutput(cfg.type);
      if (!plugin)
        throw std::runtime_error("notification target " + cfg.name + ": unknown type " + cfg.type);
      auto& t = targets[cfg.name];
      t.output = plugin->create(cfg);
      t.cfg = std::move(cfg);
      const std::string& n = t.cfg.name;
      t.ok = &deliveries->Add({{"target", n}, {"result", "success"}});
      t.retry = &deliveries->Add({{"target", n}, {"result", "retry"}});
      t.dead_total = &deliveries->Add({{"target", n}, {"result", "dead"}});
      t.skipped = &deliveries->Add({{"target", n}, {"result", "skipped"}});
      t.latency = &latency_family->Add(
          {{"target", n}}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1,
                                                                   0.25, 0.5, 1, 2.5, 10});
      t.pending_gauge = &pending_family->Add({{"target", n}});
      t.circuit = &circuit_family->Add({{"target", n}});
      t.oldest = &oldest_family->Add({{"target", n}});
      t.in_flight = &in_flight_family->Add({{"target", n}});
      t.no_ticket = &no_ticket_family->Add({{"target", n}});
    }
    multi = curl_multi_init();
  }

  ~Impl() {
    for (auto& [n, t] : targets) {
      for (auto& f : t.flights) release(*f);
      for (CURL* h : t.idle) curl_easy_cleanup(h);
    }
    curl_multi_cleanup(multi);
    auto& reg = hub.registry();
    reg.Remove(*deliveries);
    reg.Remove(*latency_family);
    reg.Remove(*pending_family);
    reg.Remove(*oldest_family);
    reg.Remove(*circuit_family);
    reg.Remove(*in_flight_family);
    reg.Remove(*no_ticket_family);
  }

  // A finished request's handle goes back to its target's pool (reset: options cleared,
  // connections and caches kept), as libcurl recommends for many transfers.
  void release(Flight& f) {
    if (f.easy) {
      curl_multi_remove_handle(multi, f.easy);
      if (f.target && f.target->idle.size() < f.target->cfg.concurrency) {
        curl_easy_reset(f.easy);
        f.target->idle.push_back(f.easy);
      } else {
        curl_easy_cleanup(f.easy);
      }
      f.easy = nullptr;
    }
    f.freeLists();
  }

  static uint64_t incidentOf(const OutboxEntry& e) {
    return e.subject.rfind("incident ", 0) == 0 ? std::strtoull(e.subject.c_str() + 9, nullptr, 10)
                                                : 0;
  }

  Slot* slotOf(Target& t, uint64_t id) {
    auto it = std::lower_bound(t.pending.begin(), t.pending.end(), id,
                               [](const Slot& s, uint64_t v) { return s.e.id < v; });
    return it != t.pending.end() && it->e.id == id ? &*it : nullptr;
  }

  void markDone(Target& t, Slot& s) {
    s.done = true;
    s.in_flight = false;
    --t.live;
    unit.outbox_done.push_back(s.e.id);
  }

  // Starts the request of a slot; false when the target's type has nothing to send for it
  // (then it is done).
  bool send(Target& t, Slot& s, int64_t now) {
    const OutboxEntry& e = s.e;
    api::Notification n{e.id, e.event, e.subject, e.body, incidentOf(e)};
    auto known = t.tickets.find(n.incident);
    auto req = t.output->request(n, known == t.tickets.end() ? std::string() : known->second);
    if (!req) {
      t.skipped->Increment();
      record(t, s.e, "skipped", now, s.e.attempts);
      markDone(t, s);
      return false;
    }
    auto f = std::make_unique<Flight>();
    f->target = &t;
    f->id = e.id;
    f->incident = n.incident;
    f->creating = req->creates;
    f->session = req->session;
    if (!t.idle.empty()) {
      f->easy = t.idle.back();
      t.idle.pop_back();
    } else {
      f->easy = curl_easy_init();
    }
    f->prepare(*req, t.cfg, e.id, e.event, now);
    curl_easy_setopt(f->easy, CURLOPT_PRIVATE, f.get());
    f->started = std::chrono::steady_clock::now();
    curl_multi_add_handle(multi, f->easy);
    s.in_flight = true;
    t.flights.push_back(std::move(f));
    return true;
  }

  // A request finished: delivered, or to be retried, or dead.
  void finished(Flight& f, CURLcode rc, int64_t now) {
    Target& t = *f.target;
    long status = 0;
    curl_off_t retry_after = 0;
    curl_easy_getinfo(f.easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(f.easy, CURLINFO_RETRY_AFTER, &retry_after);
    t.latency->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - f.started).count());
    release(f);
    Slot* s = slotOf(t, f.id);
    if (s && s->done) s = nullptr;
    // HTTP: a 2xx; SMTP: the server took the message (its last reply, 250, is not a 2xx).
    bool ok = rc == CURLE_OK && (f.mail || (status >= 200 && status < 300));
    if (ok && f.session) {
      // Logged in: the entry is asked for again, now with the session (no backoff).
      if (t.output->session(f.response)) {
        if (s) s->in_flight = false;
        return;
      }
      ok = false;
      status = 0;
      std::snprintf(f.error, sizeof f.error, "the login answer holds no session: %s",
                    f.response.substr(0, 150).c_str());
      rc = CURLE_WEIRD_SERVER_REPLY;
    }
    if (rc == CURLE_OK && status == 401) t.output->unauthorized();
    if (ok) {
      t.ok->Increment();
      if (f.creating) {
        auto ticket = t.output->ticket(f.response, f.location);
        if (!ticket.id.empty()) {
          t.tickets[f.incident] = ticket.id;
          if (on_ticket) on_ticket(t.cfg.name, f.incident, ticket.id, ticket.url);
        } else {
          t.no_ticket->Increment();
          log::get("notifier")
              ->warn(
                  "{}: created a ticket for incident {} but found no id in the answer ({}); its "
                  "next event creates one again",
                  t.cfg.name, f.incident, f.response.substr(0, 200));
        }
      }
      if (s) {
        record(t, s->e, "delivered", now, s->e.attempts + 1);  // the failed ones, and this
        markDone(t, *s);
      }
      t.failures = 0;
      if (t.circuit_open) {
        t.circuit_open = false;
        t.circuit->Set(0);
        t.next_attempt_ms = 0;
        log::get("notifier")->info("{}: circuit closed (a delivery succeeded)", t.cfg.name);
      }
      return;
    }
    if (!s) return;
    s->in_flight = false;
    OutboxEntry& e = s->e;
    ++e.attempts;
    e.last_error = rc != CURLE_OK
                       ? std::string(f.error[0] ? f.error : curl_easy_strerror(rc))
                       : "HTTP " + std::to_string(status) +
                             (f.response.empty() ? "" : ": " + f.response.substr(0, 200));
    // A permanent refusal: the tool's (HTTP) or the mail server's (a 5xx reply to SMTP).
    if ((rc == CURLE_OK || f.mail) && t.output->refused(status)) {
      deadLetter(t, *s);  // the tool refused this event: retrying cannot change that
      return;
    }
    t.retry->Increment();
    // Exponential backoff with ±20 % jitter, at least what Retry-After asked for. The whole
    // target waits: a failure says more about the receiver than about the entry.
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    double base = static_cast<double>(t.cfg.retry_initial.count()) *
                  std::pow(2.0, std::min<uint32_t>(e.attempts - 1, 30));
    base = std::min(base, static_cast<double>(t.cfg.retry_max.count()));
    int64_t wait = static_cast<int64_t>(base * jitter(rng));
    // Circuit breaker: after circuit_failures in a row the target counts as down; while open,
    // one probe per circuit_open_for, so a receiver that comes back is found within that time
    // however long the backoff of the entries has grown.
    ++t.failures;
    if (t.cfg.circuit_failures && t.failures >= t.cfg.circuit_failures) {
      if (!t.circuit_open) {
        t.circuit_open = true;
        t.circuit->Set(1);
        log::get("notifier")
            ->error("{}: circuit open after {} failures in a row; probing every {} ms", t.cfg.name,
                    t.failures, t.cfg.circuit_open_for.count());
      }
      std::uniform_real_distribution<double> later(1.0, 1.2);  // never sooner than circuit_open_for
      wait = static_cast<int64_t>(static_cast<double>(t.cfg.circuit_open_for.count()) * later(rng));
    }
    if (retry_after > 0) wait = std::max<int64_t>(wait, static_cast<int64_t>(retry_after) * 1000);
    t.next_attempt_ms = std::max(t.next_attempt_ms, now + wait);
    log::get("notifier")
        ->warn("{}: outbox entry {} ({} of {}) not delivered ({}); attempt {} in {} ms", t.cfg.name,
               e.id, e.event, e.subject, e.last_error, e.attempts + 1, wait);
  }

  // Rate limit as GCRA: a request may start when the theoretical arrival time is at most one
  // second's burst ahead; else the target waits (next_attempt_ms) until it is.
  bool rateAllows(Target& t, int64_t now) {
    if (t.cfg.rate_limit <= 0) return true;
    double interval = 1000.0 / t.cfg.rate_limit;
    double burst = std::max(interval, 1000.0);
    double tat = std::max(t.rate_tat_ms, static_cast<double>(now));
    if (tat - static_cast<double>(now) > burst - interval) {
      t.next_attempt_ms = static_cast<int64_t>(std::ceil(tat - (burst - interval)));
      return false;
    }
    t.rate_tat_ms = tat + interval;
    return true;
  }

  void deadLetter(Target& t, Slot& s) {
    OutboxEntry e = s.e;
    s.done = true;
    s.in_flight = false;
    --t.live;
    e.dead = true;
    if (e.last_error.empty()) e.last_error = "older than max_age before a first attempt";
    t.dead_total->Increment();
    log::get("notifier")
        ->error("{}: outbox entry {} ({} of {}) dead-lettered after {} attempts: {}", t.cfg.name,
                e.id, e.event, e.subject, e.attempts, e.last_error);
    unit.outbox_dead.emplace_back(e.id, e.last_error);
    record(t, e, "dead", clock.nowMs(), e.attempts);
    t.dead.push_back(std::move(e));
  }

  void record(const Target& t, const OutboxEntry& e, const char* status, int64_t now,
              uint32_t attempts) {
    uint64_t incident = incidentOf(e);
    if (!incident) return;  // the log answers per incident
    log_.add({e.id, incident, t.cfg.name, e.event, status, attempts, now, e.last_error});
  }

  // Drops done slots: those at the front at once; those behind a slow one when they outnumber
  // the live ones (one pass per as many deliveries, so schedule() never walks a long run of
  // them while a request at the front takes its time).
  void tidy(Target& t) {
    while (!t.pending.empty() && t.pending.front().done) t.pending.pop_front();
    size_t done = t.pending.size() - t.live;
    if (done > kLookahead && done > t.live)
      t.pending.erase(
          std::remove_if(t.pending.begin(), t.pending.end(), [](const Slot& s) { return s.done; }),
          t.pending.end());
  }

  // Starts what may start: up to the target's concurrency (one while its circuit is open),
  // in outbox order, never two of one subject at once nor one ahead of an earlier one of its
  // subject that is still waiting. Returns when the target wants to be looked at again.
  int64_t schedule(Target& t, int64_t now) {
    size_t limit = t.circuit_open ? 1 : t.cfg.concurrency;
    if (t.pending.empty() || t.flights.size() >= limit) return INT64_MAX;
    if (now < t.next_attempt_ms) return t.next_attempt_ms;
    blocked.clear();
    size_t scanned = 0;
    for (size_t i = 0; i < t.pending.size() && scanned < kLookahead && t.flights.size() < limit;
         ++i) {
      Slot& s = t.pending[i];
      if (s.done) continue;
      ++scanned;
      if (s.in_flight) {
        blocked.insert(s.e.subject);
        continue;
      }
      if (now - s.e.created_ms > t.cfg.max_age.count()) {
        deadLetter(t, s);
        continue;
      }
      if (!blocked.insert(s.e.subject).second) continue;
      if (!rateAllows(t, now)) return t.next_attempt_ms;
      if (!send(t, s, now)) blocked.erase(s.e.subject);
    }
    return INT64_MAX;
  }

  void take(std::vector<OutboxEntry>& entries) {
    for (auto& e : entries) {
      auto it = targets.find(e.target);
      if (it == targets.end()) {
        // Its target is gone from the configuration: kept as a dead letter, not lost.
        orphans.push_back(std::move(e));
        continue;
      }
      Target& t = it->second;
      if (e.dead) {
        t.dead.push_back(std::move(e));
        continue;
      }
      Slot s;
      s.e = std::move(e);
      ++t.live;
      if (t.pending.empty() || t.pending.back().e.id < s.e.id) {
        t.pending.push_back(std::move(s));
      } else {  // out of order (redelivered): back in id order
        auto pos = std::lower_bound(t.pending.begin(), t.pending.end(), s.e.id,
                                    [](const Slot& x, uint64_t v) { return x.e.id < v; });
        t.pending.insert(pos, std::move(s));
      }
    }
  }

  // Outbox changes go to the store in batches: a delivered entry whose deletion is lost in a
  // crash is delivered again with the same Idempotency-Key (at-least-once), so deletions wait
  // up to kFlushMs or kFlushEntries; dead letters go at once.
  static constexpr int64_t kFlushMs = 100;
  static constexpr size_t kFlushEntries = 2048;
  void flushUnit(int64_t now, bool force) {
    if (unit.outbox_done.empty() && unit.outbox_dead.empty() && unit.outbox_revive.empty()) return;
    if (!force && unit.outbox_dead.empty() && unit.outbox_done.size() < kFlushEntries &&
        now - flushed_ms < kFlushMs)
      return;
    store.submit(std::move(unit));
    unit = StoreUnit{};
    flushed_ms = now;
  }

  void loop() {
    log::get("notifier")->info("notifier started ({} targets)", targets.size());
    Task tasks[16];
    bool stopping = false;
    while (true) {
      size_t got;
      while ((got = queue.try_dequeue_bulk(tasks, 16)) > 0) {
        for (size_t i = 0; i < got; ++i) {
          if (!tasks[i].entries.empty()) take(tasks[i].entries);
          if (tasks[i].fn) tasks[i].fn();
          tasks[i] = Task{};
        }
      }
      if (stop_requested.load(std::memory_order_acquire)) stopping = true;
      int64_t now = clock.nowMs();
      int64_t next_due = now + 1000;
      bool in_flight = false;
      for (auto& [name, t] : targets) {
        if (!stopping) next_due = std::min(next_due, schedule(t, now));
        in_flight |= !t.flights.empty();
        tidy(t);
        t.pending_gauge->Set(static_cast<double>(t.live));
        t.in_flight->Set(static_cast<double>(t.flights.size()));
        t.oldest->Set(t.pending.empty()
                          ? 0.0
                          : static_cast<double>(now - t.pending.front().e.created_ms) / 1000.0);
      }
      if (stopping && !in_flight) break;
      int running = 0;
      curl_multi_perform(multi, &running);
      int left = 0;
      bool any_finished = false;
      while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
        if (m->msg != CURLMSG_DONE) continue;
        Flight* f = nullptr;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &f);
        CURLcode result = m->data.result;
        finished(*f, result, clock.nowMs());
        auto& fl = f->target->flights;
        fl.erase(std::find_if(fl.begin(), fl.end(), [f](const auto& p) { return p.get() == f; }));
        any_finished = true;
      }
      flushUnit(clock.nowMs(), false);
      if (any_finished) continue;  // free slots: schedule again at once
      if (!unit.outbox_done.empty()) next_due = std::min(next_due, flushed_ms + kFlushMs);
      int wait = static_cast<int>(std::clamp<int64_t>(next_due - clock.nowMs(), 0, 1000));
      curl_multi_poll(multi, nullptr, 0, wait, nullptr);
    }
    flushUnit(clock.nowMs(), true);
    log::get("notifier")->info("notifier stopped");
  }

  void push(Task t) {
    queue.enqueue(std::move(t));
    curl_multi_wakeup(multi);
  }

  StoreWriter& store;
  const Clock& clock;
  api::MetricsHub& hub;
  std::mt19937_64 rng;
  std::map<std::string, Target> targets;  // notifier thread only
  std::function<void(const std::string&, uint64_t, std::string, std::string)> on_ticket;
  std::vector<OutboxEntry> orphans;
  DeliveryLog log_;  // recent outcomes per incident (GET /api/v1/incidents/{id}/notifications)
  StoreUnit unit;    // outbox changes not yet submitted (flushUnit)
  int64_t flushed_ms = 0;
  absl::flat_hash_set<std::string_view> blocked;  // scratch of schedule()
  CURLM* multi = nullptr;
  moodycamel::ConcurrentQueue<Task> queue;
  std::atomic<bool> stop_requested{false};
  std::thread thread;
  prometheus::Family<prometheus::Counter>*deliveries, *no_ticket_family;
  prometheus::Family<prometheus::Histogram>* latency_family;
  prometheus::Family<prometheus::Gauge>*pending_family, *oldest_family, *circuit_family,
      *in_flight_family;
};

Notifier::Notifier(std::vector<config::NotificationTarget> targets,
                   const api::PluginRegistry& plugins, StoreWriter& store, const Clock& clock,
                   api::MetricsHub& hub)
    : impl_(std::make_unique<Impl>(std::move(targets), plugins, store, clock, hub)) {}

Notifier::~Notifier() { stop(); }

void Notifier::start() {
  impl_->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "triaged-notify");
    impl_->loop();
  });
}

void Notifier::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->stop_requested.store(true, std::memory_order_release);
  curl_multi_wakeup(impl_->multi);
  impl_->thread.join();
}

void Notifier::enqueue(std::vector<OutboxEntry> entries) {
  if (entries.empty()) return;
  Impl::Task t;
  t.entries = std::move(entries);
  impl_->push(std::move(t));
}

void Notifier::knownTickets(std::vector<std::tuple<std::string, uint64_t, std::string>> tickets) {
  Impl::Task t;
  t.fn = [this, tickets = std::move(tickets)] {
    for (const auto& [system, incident, id] : tickets) {
      auto it = impl_->targets.find(system);
      if (it != impl_->targets.end()) it->second.tickets[incident] = id;
    }
  };
  impl_->push(std::move(t));
}

void Notifier::onTicket(
    std::function<void(const std::string&, uint64_t, std::string, std::string)> f) {
  impl_->on_ticket = std::move(f);
}

void Notifier::deadLetters(std::function<void(const std::vector<OutboxEntry>&)> fn) {
  Impl::Task t;
  t.fn = [this, fn = std::move(fn)] {
    std::vector<OutboxEntry> all = impl_->orphans;
    for (auto& [n, tg] : impl_->targets) all.insert(all.end(), tg.dead.begin(), tg.dead.end());
    std::sort(all.begin(), all.end(),
              [](const OutboxEntry& a, const OutboxEntry& b) { return a.id < b.id; });
    fn(all);
  };
  impl_->push(std::move(t));
}

void Notifier::redeliver(uint64_t id, std::function<void(bool)> done) {
  Impl::Task t;
  t.fn = [this, id, done = std::move(done)] {
    for (auto& [n, tg] : impl_->targets) {
      auto it = std::find_if(tg.dead.begin(), tg.dead.end(),
                             [&](const OutboxEntry& e) { return e.id == id; });
      if (it == tg.dead.end()) continue;
      OutboxEntry e = std::move(*it);
      tg.dead.erase(it);
      e.dead = false;
      e.attempts = 0;
      e.last_error.clear();
      e.created_ms = impl_->clock.nowMs();  // a new max_age from now
      StoreUnit u;
      u.outbox_revive.emplace_back(e.id, e.created_ms);
      impl_->store.submit(std::move(u));
      std::vector<OutboxEntry> back;
      back.push_back(std::move(e));
      impl_->take(back);  // back in id order among the pending ones
      return done(true);
    }
    done(false);
  };
  impl_->push(std::move(t));
}

void Notifier::deliveries(uint64_t incident,
                          std::function<void(const std::vector<DeliveryLog::Record>&)> fn) {
  Impl::Task t;
  t.fn = [this, incident, fn = std::move(fn)] {
    std::vector<DeliveryLog::Record> out;
    impl_->log_.forIncident(incident, out);
    for (auto& [n, tg] : impl_->targets) {
      for (const auto& s : tg.pending)
        if (!s.done && Impl::incidentOf(s.e) == incident)
          out.push_back({s.e.id, incident, n, s.e.event, s.e.attempts ? "retrying" : "pending",
                         s.e.attempts, s.e.created_ms, s.e.last_error});
      const std::string& name = n;  // (clang 14 does not capture structured bindings)
      for (const auto& e : tg.dead)
        if (Impl::incidentOf(e) == incident &&
            std::none_of(out.begin(), out.end(), [&](const DeliveryLog::Record& r) {
              return r.id == e.id && r.target == name;
            }))
          out.push_back(
              {e.id, incident, n, e.event, "dead", e.attempts, e.created_ms, e.last_error});
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.id < b.id; });
    fn(out);
  };
  impl_->push(std::move(t));
}

void Notifier::targets(std::function<void(const std::vector<TargetState>&)> fn) {
  Impl::Task t;
  t.fn = [this, fn = std::move(fn)] {
    std::vector<TargetState> out;
    int64_t now = impl_->clock.nowMs();
    for (auto& [n, tg] : impl_->targets) {
      auto first = std::find_if(tg.pending.begin(), tg.pending.end(),
                                [](const Impl::Slot& s) { return !s.done; });
      out.push_back(
          {n, tg.live, tg.dead.size(), first == tg.pending.end() ? 0 : now - first->e.created_ms});
    }
    fn(out);
  };
  impl_->push(std::move(t));
}

}  // namespace triaged::engine

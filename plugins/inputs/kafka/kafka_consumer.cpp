#include "kafka_consumer.h"

#include <pthread.h>
#include <simdjson.h>

#include <cctype>

#include "../alertmanager/alertmanager_input.h"
#include "../common/native_decoder.h"
#include "../pagerduty/pagerduty_input.h"
#include "triaged/api/event.h"

namespace triaged::plugins::kafka {

using api::Reject;
using Clock = std::chrono::steady_clock;

namespace {

std::string describe(const api::DecodeError& e) {
  std::string s;
  if (e.line > 0) s += "line " + std::to_string(e.line) + ": ";
  if (!e.field.empty()) s += e.field + ": ";
  return s + e.reason;
}

}  // namespace

Shared::Shared(api::InputContext& ctx, size_t consumers)
    : sink(*ctx.sink),
      name(ctx.section.name),
      metrics(ctx.metrics, ctx.section.name, consumers),
      log(api::logger("input:" + ctx.section.name)),
      acknowledge(ctx.acknowledge) {
  auto& reg = ctx.metrics.registry();
  messages = &prometheus::BuildCounter()
                  .Name("triaged_kafka_messages_total")
                  .Help(
                      "Kafka messages consumed, by topic and result (applied: its events went "
                      "to the pipeline; malformed: skipped, logged, dead-lettered if set).")
                  .Register(reg);
  lag = &prometheus::BuildGauge()
             .Name("triaged_kafka_consumer_lag")
             .Help(
                 "Messages of a partition after the last offset stored for commit (the "
                 "partition's high watermark minus it), per assigned partition.")
             .Register(reg);
  auto gauge = [&](const char* n, const char* h) {
    return &prometheus::BuildGauge().Name(n).Help(h).Register(reg).Add({{"input", name}});
  };
  assigned =
      gauge("triaged_kafka_partitions_assigned", "Partitions assigned to this input's consumers.");
  paused = gauge("triaged_kafka_paused",
                 "Consumers of the input whose partitions are paused because the pipeline is "
                 "full (0 when none).");
  auto& reb = prometheus::BuildCounter()
                  .Name("triaged_kafka_rebalances_total")
                  .Help("Partitions assigned and revoked by the consumer group, by kind.")
                  .Register(reg);
  assigns = &reb.Add({{"input", name}, {"kind", "assign"}});
  revokes = &reb.Add({{"input", name}, {"kind", "revoke"}});
  auto& errs = prometheus::BuildCounter()
                   .Name("triaged_kafka_errors_total")
                   .Help("Errors of the Kafka client: consume, commit, dead_letter.")
                   .Register(reg);
  for (const char* k : {"consume", "commit", "dead_letter"})
    errors[k] = &errs.Add({{"input", name}, {"kind", k}});
}

Consumer::~Consumer() {
  requestStop();
  join();
}

void Consumer::start() {
  std::string why;
  rd_kafka_conf_t* conf = makeConf(*s_.cfg, why);
  if (!conf) throw std::runtime_error(why);
  char err[512];
  auto set = [&](const char* k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(std::string(k) + ": " + err);
    }
  };
  set("group.id", s_.cfg->group_id);
  set("enable.auto.commit", "true");  // commits what was stored, every auto.commit.interval.ms
  set("enable.auto.offset.store", "false");  // stored only once applied
  set("partition.assignment.strategy", "cooperative-sticky");
  set("auto.offset.reset", s_.cfg->start_from);
  // Each consumer is a member of its own: told apart by client.id (the brokers' logs and
  // quotas) and, with static membership, by its group.instance.id.
  bool named = false;
  for (const auto& [k, v] : s_.cfg->properties) {
    if (k == "client.id") named = true;
    if (k == "group.instance.id" && s_.cfg->consumers > 1)
      set("group.instance.id", v + "-" + std::to_string(index_));
  }
  if (!named) set("client.id", "triaged-" + s_.name + "-" + std::to_string(index_));
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_rebalance_cb(conf, &Consumer::rebalanceCb);
  rd_kafka_conf_set_log_cb(conf, &Consumer::logCb);
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);  // owns conf if it succeeds
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("kafka consumer: ") + err);
  }
  rd_kafka_poll_set_consumer(rk_);
  queue_rk_ = rd_kafka_queue_get_consumer(rk_);
  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(s_.cfg->topics.size()));
  for (const auto& t : s_.cfg->topics)
    rd_kafka_topic_partition_list_add(topics, t.name.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(rk_, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e) {
    rd_kafka_queue_destroy(queue_rk_);
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
    throw std::runtime_error(std::string("kafka subscribe: ") + rd_kafka_err2str(e));
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), ("triaged-kafka" + std::to_string(index_)).c_str());
    api::setIoThreadIndex(index_);  // this consumer's slot of the input's counters
    run();
  });
}

void Consumer::waitDrained() {
  std::unique_lock lk(stop_mu_);
  stop_cv_.wait(lk, [&] { return drained_ || !thread_.joinable(); });
}

void Consumer::join() {
  {
    std::lock_guard lk(stop_mu_);
    leave_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// --- the consumer thread ----------------------------------------------------------------

void Consumer::run() {
  auto last_lag = Clock::now();
  while (!stopping_) {
    drainCompleted();
    if (pending_ && !offerPending()) pause(true);
    if (!pending_ && paused_) pause(false);
    ssize_t got =
        rd_kafka_consume_batch_queue(queue_rk_, pending_ ? 10 : 50, polled_.data(), polled_.size());
    if (got > 0) {
      handleBatch(static_cast<size_t>(got));
      for (ssize_t i = 0; i < got; ++i) rd_kafka_message_destroy(polled_[i]);
    }
    if (s_.producer && index_ == 0) rd_kafka_poll(s_.producer, 0);
    auto cfg = s_.current();
    bool due =
        events() >= cfg->batch_events ||
        (open_ && Clock::now() - batch_start_ >= std::chrono::milliseconds(cfg->batch_wait_ms)) ||
        got <= 0;
    if (due && !pending_) flush();
    if (Clock::now() - last_lag >= std::chrono::seconds(1)) {
      updateLag();
      last_lag = Clock::now();
    }
  }
  // Drain: what was read goes in; offsets of what is applied are committed.
  flushBlocking(std::chrono::seconds(10));
  waitApplied(std::chrono::seconds(10));
  commitSync();
  {
    std::unique_lock lk(stop_mu_);
    drained_ = true;
    stop_cv_.notify_all();
    stop_cv_.wait(lk, [&] { return leave_; });  // until every consumer of the input drained
  }
  closing_ = true;
  left_.store(true, std::memory_order_release);
  rd_kafka_queue_destroy(queue_rk_);
  rd_kafka_consumer_close(rk_);  // revokes (nothing left to drain or commit) and leaves
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
  if (paused_) s_.paused->Decrement();
  if (assigned_) s_.assigned->Decrement(assigned_);
}

size_t Consumer::events() const {
  size_t n = 0;
  for (const auto& b : builders_)
    if (b.b) n += b.b->size();
  return n;
}

api::BatchBuilder& Consumer::builder(Format f) {
  auto& slot = builders_[static_cast<size_t>(f)];
  if (!slot.b) {
    slot.cfg = s_.current();
    slot.b = std::make_unique<api::BatchBuilder>(f == Format::kAlertmanager ? slot.cfg->am_ingest
                                                 : f == Format::kPagerduty  ? slot.cfg->pd_ingest
                                                                            : slot.cfg->ingest,
                                                 s_.sink.nowMs());
    if (!open_) batch_start_ = Clock::now();
    open_ = true;
  }
  return *slot.b;
}

Consumer::TopicState& Consumer::topicOf(rd_kafka_message_t* m) {
  auto it = topics_by_handle_.find(m->rkt);
  if (it != topics_by_handle_.end()) return it->second;
  TopicState t;
  t.name = rd_kafka_topic_name(m->rkt);
  auto f = s_.formats.find(t.name);
  t.format = f == s_.formats.end() ? Format::kNative : f->second;
  t.applied = &s_.messages->Add({{"input", s_.name}, {"topic", t.name}, {"result", "applied"}});
  t.malformed = &s_.messages->Add({{"input", s_.name}, {"topic", t.name}, {"result", "malformed"}});
  return topics_by_handle_.emplace(m->rkt, std::move(t)).first->second;
}

// The messages polled at once. Native messages one event object each (the common case) are
// decoded together as NDJSON, one line per message; if any of them fails, they are decoded
// again one by one, so that the message that failed is skipped whole and named.
void Consumer::handleBatch(size_t n) {
  size_t i = 0;
  while (i < n) {
    rd_kafka_message_t* m = polled_[i];
    if (m->err || topicOf(m).format != Format::kNative || m->len == 0 ||
        static_cast<const char*>(m->payload)[0] == '[') {
      handle(m);
      ++i;
      continue;
    }
    // A run of plain native messages.
    size_t j = i;
    body_.clear();
    while (j < n && !polled_[j]->err && polled_[j]->len &&
           topicOf(polled_[j]).format == Format::kNative &&
           static_cast<const char*>(polled_[j]->payload)[0] != '[') {
      body_.append(static_cast<const char*>(polled_[j]->payload), polled_[j]->len);
      body_ += '\n';
      ++j;
    }
    body_.reserve(body_.size() + simdjson::SIMDJSON_PADDING);
    api::BatchBuilder& b = builder(Format::kNative);
    auto mark = b.mark();
    size_t before = b.size();
    size_t lines = decodeNdjson(body_.data(), body_.size(), body_.capacity(), b, 1);
    if (b.errorCount() > mark.errors || lines != j - i) {  // a bad one, or a message of many lines
      b.rollback(mark);
      for (; i < j; ++i) handle(polled_[i]);
      continue;
    }
    s_.metrics.received(b.size() - before);
    for (; i < j; ++i) {
      rd_kafka_message_t* x = polled_[i];
      TopicState& t = topicOf(x);
      t.applied->Increment();
      if (i + 1 == j || polled_[i + 1]->rkt != x->rkt || polled_[i + 1]->partition != x->partition)
        tracker_.add(seq_, Partition{t.name, x->partition}, x->offset);
    }
  }
}

void Consumer::handle(rd_kafka_message_t* m) {
  if (m->err) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    s_.errors["consume"]->Increment();
    s_.log->warn("kafka: {}", rd_kafka_message_errstr(m));
    return;
  }
  TopicState& ts = topicOf(m);
  const std::string& topic = ts.name;
  Format f = ts.format;
  api::BatchBuilder& b = builder(f);
  // simdjson reads past the end: the payload goes into a buffer with room for its padding.
  body_.assign(static_cast<const char*>(m->payload), m->len);
  body_.reserve(m->len + simdjson::SIMDJSON_PADDING);
  auto mark = b.mark();
  size_t before = b.size();
  if (f == Format::kAlertmanager) {
    decodeAlertmanagerWebhook(body_, b);
  } else if (f == Format::kPagerduty) {
    // One event per message. An acknowledge changes no alert: it leaves the batch and is sent
    // once the events read before it are applied (its trigger may be among them).
    b.begin(static_cast<int64_t>(b.size()));
    PagerdutyEvent pd = decodePagerdutyEvent(body_, b);
    if (!pd.errors.empty()) {
      b.error("", pd.errors.front(), Reject::kInvalidValue);
      b.finish();
    } else if (b.finish() && pd.action == "acknowledge") {
      acks_.push_back(b.events().back().fingerprint);
      b.rollback(mark);
      s_.metrics.received(1);
      s_.metrics.accepted(1);
    }
  } else {
    size_t i = 0;
    while (i < body_.size() && std::isspace(static_cast<unsigned char>(body_[i]))) ++i;
    if (i < body_.size() && body_[i] == '[')
      decodeNativeJson(body_.data(), body_.size(), body_.capacity(), b);
    else
      decodeNdjson(body_.data(), body_.size(), body_.capacity(), b, 1);
  }
  Partition p{topic, m->partition};
  tracker_.add(seq_, p, m->offset);
  if (b.errorCount() > mark.errors) {
    // A message is the unit: one bad event skips the whole message (the sender can fix and
    // resend it); the rest of the stream goes on.
    std::string why = b.errors().size() > mark.errors_listed
                          ? describe(b.errors()[mark.errors_listed])
                          : "invalid";
    uint64_t events = (b.size() - before) + (b.errorCount() - mark.errors);
    s_.metrics.received(events);
    auto& counts = b.rejectCounts();
    for (size_t k = 0; k < counts.size(); ++k)
      if (counts[k] > mark.rejects[k])
        s_.metrics.rejected(static_cast<Reject>(k), counts[k] - mark.rejects[k]);
    b.rollback(mark);
    ts.malformed->Increment();
    if (log_budget_.take())
      s_.log->warn("{} [{}] offset {}: skipped, {}", topic, m->partition, m->offset, why);
    deadLetter(m, topic, why);
    return;
  }
  s_.metrics.received(b.size() - before);
  ts.applied->Increment();
}

void Consumer::deadLetter(rd_kafka_message_t* m, const std::string& topic, const std::string& why) {
  if (!s_.producer) return;
  std::string source = topic + "/" + std::to_string(m->partition) + "/" + std::to_string(m->offset);
  rd_kafka_resp_err_t e = rd_kafka_producev(
      s_.producer, RD_KAFKA_V_TOPIC(s_.cfg->dead_letter_topic.c_str()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(m->payload, m->len),
      RD_KAFKA_V_KEY(m->key, m->key_len),
      RD_KAFKA_V_HEADER("triaged-error", why.c_str(), why.size()),
      RD_KAFKA_V_HEADER("triaged-source", source.c_str(), source.size()), RD_KAFKA_V_END);
  if (e) {
    s_.errors["dead_letter"]->Increment();
    s_.log->warn("dead letter for {}: {}", source, rd_kafka_err2str(e));
  }
}

// Hands the batches built so far to the pipeline (one per format), or keeps them pending.
void Consumer::flush() {
  if (!open_) return;
  open_ = false;
  uint64_t seq = seq_++;
  size_t parts = 0;
  for (auto& slot : builders_) {
    if (!slot.b) continue;
    if (slot.b->size()) {
      queue_.emplace_back(seq, slot.b->take());
      ++parts;
    }
    slot.b.reset();
    slot.cfg.reset();
  }
  if (!acks_.empty()) acks_after_[seq] = std::exchange(acks_, {});
  if (!parts) {  // only malformed messages or acknowledgements: no batch to wait for
    applied(seq);
    return;
  }
  parts_left_[seq] = parts;
  pending_ = true;
  offerPending();
}

// A batch's events are applied: its acknowledgements go out once the batches before it are
// applied too (an acknowledge must find the alert its trigger made, whichever batch carried
// it), and its offsets may move once they are committed.
void Consumer::applied(uint64_t seq) {
  auto it = acks_after_.find(seq);
  if (it == acks_after_.end() || !s_.acknowledge) {
    if (it != acks_after_.end()) acks_after_.erase(it);
    complete(seq);
    return;
  }
  if (!parts_left_.empty() && parts_left_.begin()->first < seq) {
    acks_waiting_.insert(seq);  // sent by drainCompleted() once the earlier ones are applied
    return;
  }
  std::vector<uint64_t> acks = std::move(it->second);
  acks_after_.erase(it);
  parts_left_[seq] = acks.size();
  for (uint64_t fp : acks)
    s_.acknowledge(fp, s_.name, [this, seq](bool) {
      std::lock_guard lk(done_mu_);
      done_.push_back(seq);
    });
}

// Offers the queued batches; false while the pipeline refuses them.
bool Consumer::offerPending() {
  while (!queue_.empty()) {
    auto& [seq, batch] = queue_.front();
    size_t n = batch->events.size();
    auto st = s_.sink.submit(batch, [this, seq = seq](const api::BatchResult&) {
      std::lock_guard lk(done_mu_);
      done_.push_back(seq);
    });
    if (st != api::SubmitStatus::kAccepted) return false;  // full, unavailable or draining
    s_.metrics.accepted(n);
    queue_.pop_front();
  }
  pending_ = false;
  return true;
}

void Consumer::flushBlocking(std::chrono::seconds bound) {
  flush();
  auto deadline = Clock::now() + bound;
  while (pending_ && Clock::now() < deadline) {
    if (offerPending()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (pending_) {  // not taken: read again after the restart or by the partition's next owner
    s_.log->warn("{} batch(es) not applied before the stop; they will be read again",
                 queue_.size());
    queue_.clear();
    pending_ = false;
  }
}

void Consumer::drainCompleted() {
  std::vector<uint64_t> done;
  {
    std::lock_guard lk(done_mu_);
    done.swap(done_);
  }
  for (uint64_t seq : done) {
    auto it = parts_left_.find(seq);
    if (it == parts_left_.end() || --it->second > 0) continue;
    parts_left_.erase(it);
    applied(seq);
  }
  while (!acks_waiting_.empty() &&
         (parts_left_.empty() || parts_left_.begin()->first > *acks_waiting_.begin())) {
    uint64_t seq = *acks_waiting_.begin();
    acks_waiting_.erase(acks_waiting_.begin());
    applied(seq);
  }
}

void Consumer::complete(uint64_t seq) {
  auto moved = tracker_.done(seq);
  if (moved.empty()) return;
  rd_kafka_topic_partition_list_t* l =
      rd_kafka_topic_partition_list_new(static_cast<int>(moved.size()));
  for (const auto& [p, next] : moved) {
    rd_kafka_topic_partition_list_add(l, p.first.c_str(), p.second)->offset = next;
    stored_[p] = next;
  }
  if (rd_kafka_resp_err_t e = rd_kafka_offsets_store(rk_, l)) {
    s_.errors["commit"]->Increment();
    s_.log->warn("storing offsets: {}", rd_kafka_err2str(e));
  }
  rd_kafka_topic_partition_list_destroy(l);
}

void Consumer::waitApplied(std::chrono::seconds bound) {
  auto deadline = Clock::now() + bound;
  while (!parts_left_.empty() && Clock::now() < deadline) {
    drainCompleted();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  drainCompleted();
}

void Consumer::commitSync() {
  rd_kafka_resp_err_t e = rd_kafka_commit(rk_, nullptr, 0);
  if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    s_.errors["commit"]->Increment();
    s_.log->warn("commit: {}", rd_kafka_err2str(e));
  }
}

void Consumer::pause(bool on) {
  if (on == paused_) return;
  rd_kafka_topic_partition_list_t* parts = nullptr;
  if (rd_kafka_assignment(rk_, &parts) || !parts) return;
  if (on)
    rd_kafka_pause_partitions(rk_, parts);
  else
    rd_kafka_resume_partitions(rk_, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  paused_ = on;
  if (on)
    s_.paused->Increment();
  else
    s_.paused->Decrement();
}

void Consumer::updateLag() {
  rd_kafka_topic_partition_list_t* parts = nullptr;
  if (rd_kafka_assignment(rk_, &parts) || !parts) return;
  for (int i = 0; i < parts->cnt; ++i) {
    const auto& tp = parts->elems[i];
    int64_t lo = 0, hi = 0;
    if (rd_kafka_get_watermark_offsets(rk_, tp.topic, tp.partition, &lo, &hi) || hi < 0) continue;
    Partition p{tp.topic, tp.partition};
    auto it = stored_.find(p);
    int64_t from = it != stored_.end() ? it->second : lo;
    s_.lag->Add({{"input", s_.name}, {"topic", p.first}, {"partition", std::to_string(p.second)}})
        .Set(static_cast<double>(std::max<int64_t>(0, hi - from)));
  }
  rd_kafka_topic_partition_list_destroy(parts);
}

// While the consumers leave together after committing, librdkafka's own commit of the same
// offsets at unassign is refused by the rebalance their leaving starts ("COMMITFAIL ... Group
// rebalance in progress"): nothing is lost (committed before), so it is not a warning then.
void Consumer::logCb(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  auto* self = static_cast<const Consumer*>(rd_kafka_opaque(rk));
  if (self && self->left_.load(std::memory_order_acquire) &&
      std::string_view(facility) == "COMMITFAIL")
    level = 7;
  logToDaemon(rk, level, facility, message);
}

void Consumer::rebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque) {
  static_cast<Consumer*>(opaque)->rebalance(rk, err, parts);
}

void Consumer::rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t* parts) {
  bool cooperative = std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    s_.assigns->Increment(parts->cnt);
    s_.assigned->Increment(parts->cnt);
    assigned_ += parts->cnt;
    if (cooperative)
      rd_kafka_incremental_assign(rk, parts);
    else
      rd_kafka_assign(rk, parts);
    if (paused_) rd_kafka_pause_partitions(rk, parts);
    s_.log->info("consumer {}: assigned {} partition(s)", index_, parts->cnt);
    return;
  }
  // Revoked: what was read of them goes in first, and their offsets are committed, so the
  // next owner starts after what is applied (what could not be applied in time is read
  // again: at least once).
  // (At a stop, the consumer drained and committed before leaving: see run().)
  s_.revokes->Increment(parts->cnt);
  if (!closing_) {
    flushBlocking(std::chrono::seconds(10));
    waitApplied(std::chrono::seconds(10));
    commitSync();
  }
  for (int i = 0; i < parts->cnt; ++i) {
    Partition p{parts->elems[i].topic, parts->elems[i].partition};
    tracker_.forget(p);
    stored_.erase(p);
    s_.lag->Remove(&s_.lag->Add(
        {{"input", s_.name}, {"topic", p.first}, {"partition", std::to_string(p.second)}}));
  }
  if (cooperative)
    rd_kafka_incremental_unassign(rk, parts);
  else
    rd_kafka_assign(rk, nullptr);
  int gone = cooperative ? parts->cnt : assigned_;
  s_.assigned->Decrement(gone);
  assigned_ -= gone;
  s_.log->info("consumer {}: revoked {} partition(s)", index_, parts->cnt);
}

bool Consumer::LogBudget::take() {
  auto now = Clock::now();
  if (now - window > std::chrono::seconds(1)) {
    window = now;
    used = 0;
  }
  return ++used <= 5;
}

}  // namespace triaged::plugins::kafka

#include "kafka_input.h"

#include <librdkafka/rdkafka.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <pthread.h>
#include <simdjson.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "../alertmanager/alertmanager_input.h"
#include "../common/input_config.h"
#include "../common/native_decoder.h"
#include "kafka_config.h"
#include "kafka_offsets.h"
#include "triaged/api/event.h"
#include "triaged/api/log.h"

namespace triaged::plugins {
namespace {

using api::Reject;
using Clock = std::chrono::steady_clock;
using kafka::Format;
using kafka::KafkaConfig;
using kafka::makeConf;
using kafka::parse;
using kafka::Partition;

class KafkaInput final : public api::Input {
 public:
  explicit KafkaInput(api::InputContext& ctx)
      : sink_(*ctx.sink),
        metrics_(ctx.metrics, ctx.section.name, 1),
        log_(api::logger("input:" + ctx.section.name)),
        name_(ctx.section.name) {
    cfg_ = std::make_shared<KafkaConfig>(parseValid<KafkaConfig>(ctx.section, parse));
    auto& reg = ctx.metrics.registry();
    messages_ = &prometheus::BuildCounter()
                     .Name("triaged_kafka_messages_total")
                     .Help(
                         "Kafka messages consumed, by topic and result (applied: its events went "
                         "to the pipeline; malformed: skipped, logged, dead-lettered if set).")
                     .Register(reg);
    lag_ = &prometheus::BuildGauge()
                .Name("triaged_kafka_consumer_lag")
                .Help(
                    "Messages of a partition after the last offset stored for commit (the "
                    "partition's high watermark minus it), per assigned partition.")
                .Register(reg);
    auto gauge = [&](const char* n, const char* h) {
      return &prometheus::BuildGauge().Name(n).Help(h).Register(reg).Add({{"input", name_}});
    };
    assigned_ = gauge("triaged_kafka_partitions_assigned", "Partitions assigned to this consumer.");
    paused_gauge_ =
        gauge("triaged_kafka_paused",
              "1 while the assigned partitions are paused because the pipeline is full.");
    auto& reb = prometheus::BuildCounter()
                    .Name("triaged_kafka_rebalances_total")
                    .Help("Partitions assigned and revoked by the consumer group, by kind.")
                    .Register(reg);
    assigns_ = &reb.Add({{"input", name_}, {"kind", "assign"}});
    revokes_ = &reb.Add({{"input", name_}, {"kind", "revoke"}});
    auto& errs = prometheus::BuildCounter()
                     .Name("triaged_kafka_errors_total")
                     .Help("Errors of the Kafka client: consume, commit, dead_letter.")
                     .Register(reg);
    for (const char* k : {"consume", "commit", "dead_letter"})
      errors_[k] = &errs.Add({{"input", name_}, {"kind", k}});
    for (const auto& t : cfg_->topics) {
      formats_[t.name] = t.format;
      for (const char* r : {"applied", "malformed"})  // every topic's series, from the start
        messages_->Add({{"input", name_}, {"topic", t.name}, {"result", r}});
    }
  }

  ~KafkaInput() override { stop(); }

  void start() override {
    std::string why;
    rd_kafka_conf_t* conf = makeConf(*cfg_, why);
    if (!conf) throw std::runtime_error(why);
    char err[512];
    auto set = [&](const char* k, const std::string& v) {
      if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
        throw std::runtime_error(std::string(k) + ": " + err);
    };
    set("group.id", cfg_->group_id);
    set("enable.auto.commit", "true");  // commits what was stored, every auto.commit.interval.ms
    set("enable.auto.offset.store", "false");  // stored only once applied
    set("partition.assignment.strategy", "cooperative-sticky");
    set("auto.offset.reset", cfg_->start_from);
    bool user_queue = false;
    for (const auto& [k, v] : cfg_->properties)
      if (k == "queued.max.messages.kbytes") user_queue = true;
    if (!user_queue) set("queued.max.messages.kbytes", "16384");  // what a pause can leave fetched
    if (!cfg_->dead_letter_topic.empty()) {
      std::string pwhy;
      rd_kafka_conf_t* pconf = makeConf(*cfg_, pwhy);
      producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof err);
      if (!producer_) throw std::runtime_error(std::string("dead-letter producer: ") + err);
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_rebalance_cb(conf, &KafkaInput::rebalanceCb);
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk_) throw std::runtime_error(std::string("kafka consumer: ") + err);
    rd_kafka_poll_set_consumer(rk_);
    queue_rk_ = rd_kafka_queue_get_consumer(rk_);
    rd_kafka_topic_partition_list_t* topics =
        rd_kafka_topic_partition_list_new(static_cast<int>(cfg_->topics.size()));
    for (const auto& t : cfg_->topics)
      rd_kafka_topic_partition_list_add(topics, t.name.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) throw std::runtime_error(std::string("kafka subscribe: ") + rd_kafka_err2str(e));
    log_->info("consuming {} topic(s) from {} as group {}", cfg_->topics.size(),
               cfg_->brokers.front(), cfg_->group_id);
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "triaged-kafka");
      run();
    });
  }

  void stop() override {
    if (!thread_.joinable()) return;
    stopping_ = true;
    thread_.join();
  }

  void reconfigure(const config::PluginSection& s) override {
    auto next = std::make_shared<KafkaConfig>(parseValid<KafkaConfig>(s, parse));
    std::lock_guard lk(cfg_mu_);
    if (next->brokers != cfg_->brokers || next->group_id != cfg_->group_id ||
        next->properties != cfg_->properties ||
        next->dead_letter_topic != cfg_->dead_letter_topic ||
        next->topics.size() != cfg_->topics.size())
      log_->warn(
          "brokers, group_id, topics, dead_letter_topic and properties apply at the next restart");
    next->brokers = cfg_->brokers;
    next->topics = cfg_->topics;
    next_cfg_ = std::move(next);  // the ingest options and batching, from the next batch on
  }

 private:
  struct Builder {
    std::unique_ptr<api::BatchBuilder> b;
    std::shared_ptr<const KafkaConfig> cfg;  // keeps the options the builder refers to
  };

  // --- the consumer thread --------------------------------------------------------------

  void run() {
    auto last_lag = Clock::now();
    while (!stopping_) {
      drainCompleted();
      if (pending_ && !offerPending()) pause(true);
      if (!pending_ && paused_) pause(false);
      ssize_t got = rd_kafka_consume_batch_queue(queue_rk_, pending_ ? 10 : 50, polled_.data(),
                                                 polled_.size());
      if (got > 0) {
        handleBatch(static_cast<size_t>(got));
        for (ssize_t i = 0; i < got; ++i) rd_kafka_message_destroy(polled_[i]);
      }
      if (producer_) rd_kafka_poll(producer_, 0);
      bool due = events() >= batchEvents() ||
                 (open_ && Clock::now() - batch_start_ >= std::chrono::milliseconds(batchWait())) ||
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
    rd_kafka_queue_destroy(queue_rk_);
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
    if (producer_) {
      rd_kafka_flush(producer_, 5000);
      rd_kafka_destroy(producer_);
      producer_ = nullptr;
    }
  }

  size_t events() const {
    size_t n = 0;
    for (const auto& b : builders_)
      if (b.b) n += b.b->size();
    return n;
  }
  uint64_t batchEvents() const { return current()->batch_events; }
  int64_t batchWait() const { return current()->batch_wait_ms; }
  std::shared_ptr<const KafkaConfig> current() const {
    std::lock_guard lk(cfg_mu_);
    return next_cfg_ ? next_cfg_ : cfg_;
  }

  api::BatchBuilder& builder(Format f) {
    auto& slot = builders_[static_cast<size_t>(f)];
    if (!slot.b) {
      slot.cfg = current();
      slot.b = std::make_unique<api::BatchBuilder>(
          f == Format::kAlertmanager ? slot.cfg->am_ingest : slot.cfg->ingest, sink_.nowMs());
      if (!open_) batch_start_ = Clock::now();
      open_ = true;
    }
    return *slot.b;
  }

  // Per topic, found by the client's topic handle (no string per message).
  struct TopicState {
    std::string name;
    Format format = Format::kNative;
    prometheus::Counter *applied = nullptr, *malformed = nullptr;
  };
  TopicState& topicOf(rd_kafka_message_t* m) {
    auto it = topics_by_handle_.find(m->rkt);
    if (it != topics_by_handle_.end()) return it->second;
    TopicState t;
    t.name = rd_kafka_topic_name(m->rkt);
    auto f = formats_.find(t.name);
    t.format = f == formats_.end() ? Format::kNative : f->second;
    t.applied = &messages_->Add({{"input", name_}, {"topic", t.name}, {"result", "applied"}});
    t.malformed = &messages_->Add({{"input", name_}, {"topic", t.name}, {"result", "malformed"}});
    return topics_by_handle_.emplace(m->rkt, std::move(t)).first->second;
  }

  // The messages polled at once. Native messages one event object each (the common case) are
  // decoded together as NDJSON, one line per message; if any of them fails, they are decoded
  // again one by one, so that the message that failed is skipped whole and named.
  void handleBatch(size_t n) {
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
      if (b.errorCount() > mark.errors ||
          lines != j - i) {  // a bad one, or a message of many lines
        b.rollback(mark);
        for (; i < j; ++i) handle(polled_[i]);
        continue;
      }
      metrics_.received(b.size() - before);
      for (; i < j; ++i) {
        rd_kafka_message_t* x = polled_[i];
        TopicState& t = topicOf(x);
        t.applied->Increment();
        if (i + 1 == j || polled_[i + 1]->rkt != x->rkt ||
            polled_[i + 1]->partition != x->partition)
          tracker_.add(seq_, Partition{t.name, x->partition}, x->offset);
      }
    }
  }

  void handle(rd_kafka_message_t* m) {
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
      errors_["consume"]->Increment();
      log_->warn("kafka: {}", rd_kafka_message_errstr(m));
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
      metrics_.received(events);
      auto& counts = b.rejectCounts();
      for (size_t k = 0; k < counts.size(); ++k)
        if (counts[k] > mark.rejects[k])
          metrics_.rejected(static_cast<Reject>(k), counts[k] - mark.rejects[k]);
      b.rollback(mark);
      ts.malformed->Increment();
      if (log_budget_.take())
        log_->warn("{} [{}] offset {}: skipped, {}", topic, m->partition, m->offset, why);
      deadLetter(m, topic, why);
      return;
    }
    metrics_.received(b.size() - before);
    ts.applied->Increment();
  }

  static std::string describe(const api::DecodeError& e) {
    std::string s;
    if (e.line > 0) s += "line " + std::to_string(e.line) + ": ";
    if (!e.field.empty()) s += e.field + ": ";
    return s + e.reason;
  }

  void deadLetter(rd_kafka_message_t* m, const std::string& topic, const std::string& why) {
    if (!producer_) return;
    std::string source =
        topic + "/" + std::to_string(m->partition) + "/" + std::to_string(m->offset);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        producer_, RD_KAFKA_V_TOPIC(cfg_->dead_letter_topic.c_str()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(m->payload, m->len),
        RD_KAFKA_V_KEY(m->key, m->key_len),
        RD_KAFKA_V_HEADER("triaged-error", why.c_str(), why.size()),
        RD_KAFKA_V_HEADER("triaged-source", source.c_str(), source.size()), RD_KAFKA_V_END);
    if (e) {
      errors_["dead_letter"]->Increment();
      log_->warn("dead letter for {}: {}", source, rd_kafka_err2str(e));
    }
  }

  // Hands the batches built so far to the pipeline (one per format), or keeps them pending.
  void flush() {
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
    if (!parts) {  // only malformed messages: their offsets may move at once
      complete(seq);
      return;
    }
    parts_left_[seq] = parts;
    pending_ = true;
    offerPending();
  }

  // Offers the queued batches; false while the pipeline refuses them.
  bool offerPending() {
    while (!queue_.empty()) {
      auto& [seq, batch] = queue_.front();
      size_t n = batch->events.size();
      auto st = sink_.submit(batch, [this, seq = seq](const api::BatchResult&) {
        std::lock_guard lk(done_mu_);
        done_.push_back(seq);
      });
      if (st != api::SubmitStatus::kAccepted) return false;  // full, unavailable or draining
      metrics_.accepted(n);
      queue_.pop_front();
    }
    pending_ = false;
    return true;
  }

  void flushBlocking(std::chrono::seconds bound) {
    flush();
    auto deadline = Clock::now() + bound;
    while (pending_ && Clock::now() < deadline) {
      if (offerPending()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (pending_) {  // not taken: read again after the restart or by the partition's next owner
      log_->warn("{} batch(es) not applied before the stop; they will be read again",
                 queue_.size());
      queue_.clear();
      pending_ = false;
    }
  }

  void drainCompleted() {
    std::vector<uint64_t> done;
    {
      std::lock_guard lk(done_mu_);
      done.swap(done_);
    }
    for (uint64_t seq : done) {
      auto it = parts_left_.find(seq);
      if (it == parts_left_.end() || --it->second > 0) continue;
      parts_left_.erase(it);
      complete(seq);
    }
  }

  void complete(uint64_t seq) {
    auto moved = tracker_.done(seq);
    if (moved.empty()) return;
    rd_kafka_topic_partition_list_t* l =
        rd_kafka_topic_partition_list_new(static_cast<int>(moved.size()));
    for (const auto& [p, next] : moved) {
      rd_kafka_topic_partition_list_add(l, p.first.c_str(), p.second)->offset = next;
      stored_[p] = next;
    }
    if (rd_kafka_resp_err_t e = rd_kafka_offsets_store(rk_, l)) {
      errors_["commit"]->Increment();
      log_->warn("storing offsets: {}", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(l);
  }

  void waitApplied(std::chrono::seconds bound) {
    auto deadline = Clock::now() + bound;
    while (!parts_left_.empty() && Clock::now() < deadline) {
      drainCompleted();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    drainCompleted();
  }

  void commitSync() {
    rd_kafka_resp_err_t e = rd_kafka_commit(rk_, nullptr, 0);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      errors_["commit"]->Increment();
      log_->warn("commit: {}", rd_kafka_err2str(e));
    }
  }

  void pause(bool on) {
    if (on == paused_) return;
    rd_kafka_topic_partition_list_t* parts = nullptr;
    if (rd_kafka_assignment(rk_, &parts) || !parts) return;
    if (on)
      rd_kafka_pause_partitions(rk_, parts);
    else
      rd_kafka_resume_partitions(rk_, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    paused_ = on;
    paused_gauge_->Set(on ? 1 : 0);
  }

  void updateLag() {
    rd_kafka_topic_partition_list_t* parts = nullptr;
    if (rd_kafka_assignment(rk_, &parts) || !parts) return;
    assigned_->Set(parts->cnt);
    for (int i = 0; i < parts->cnt; ++i) {
      const auto& tp = parts->elems[i];
      int64_t lo = 0, hi = 0;
      if (rd_kafka_get_watermark_offsets(rk_, tp.topic, tp.partition, &lo, &hi) || hi < 0) continue;
      Partition p{tp.topic, tp.partition};
      auto it = stored_.find(p);
      int64_t from = it != stored_.end() ? it->second : lo;
      lag_->Add({{"input", name_}, {"topic", p.first}, {"partition", std::to_string(p.second)}})
          .Set(static_cast<double>(std::max<int64_t>(0, hi - from)));
    }
    rd_kafka_topic_partition_list_destroy(parts);
  }

  static void rebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque) {
    static_cast<KafkaInput*>(opaque)->rebalance(rk, err, parts);
  }

  void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
    bool cooperative = std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      assigns_->Increment(parts->cnt);
      if (cooperative)
        rd_kafka_incremental_assign(rk, parts);
      else
        rd_kafka_assign(rk, parts);
      if (paused_) rd_kafka_pause_partitions(rk, parts);
      log_->info("assigned {} partition(s)", parts->cnt);
      return;
    }
    // Revoked: what was read of them goes in first, and their offsets are committed, so the
    // next owner starts after what is applied (what could not be applied in time is read
    // again: at least once).
    revokes_->Increment(parts->cnt);
    flushBlocking(std::chrono::seconds(10));
    waitApplied(std::chrono::seconds(10));
    commitSync();
    for (int i = 0; i < parts->cnt; ++i) {
      Partition p{parts->elems[i].topic, parts->elems[i].partition};
      tracker_.forget(p);
      stored_.erase(p);
      lag_->Remove(&lag_->Add(
          {{"input", name_}, {"topic", p.first}, {"partition", std::to_string(p.second)}}));
    }
    if (cooperative)
      rd_kafka_incremental_unassign(rk, parts);
    else
      rd_kafka_assign(rk, nullptr);
    log_->info("revoked {} partition(s)", parts->cnt);
  }

  // At most a few warnings per second for malformed messages (a poison stream must not flood
  // the log); the counter has them all.
  struct LogBudget {
    Clock::time_point window;
    int used = 0;
    bool take() {
      auto now = Clock::now();
      if (now - window > std::chrono::seconds(1)) {
        window = now;
        used = 0;
      }
      return ++used <= 5;
    }
  };

  api::EventSink& sink_;
  api::InputMetrics metrics_;
  std::shared_ptr<spdlog::logger> log_;
  std::string name_;
  mutable std::mutex cfg_mu_;
  std::shared_ptr<const KafkaConfig> cfg_, next_cfg_;
  std::map<std::string, Format> formats_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_rk_ = nullptr;  // the consumer's queue: messages and rebalances
  rd_kafka_t* producer_ = nullptr;
  std::vector<rd_kafka_message_t*> polled_ = std::vector<rd_kafka_message_t*>(1024);
  std::unordered_map<const rd_kafka_topic_t*, TopicState> topics_by_handle_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  // Consumer thread only:
  Builder builders_[2];
  bool open_ = false;
  Clock::time_point batch_start_;
  std::string body_;
  kafka::OffsetTracker tracker_;
  uint64_t seq_ = 1;
  std::map<uint64_t, size_t> parts_left_;  // batch sequence → its parts not yet applied
  // Batches (with their sequence) refused so far, offered again in order.
  std::deque<std::pair<uint64_t, std::unique_ptr<api::EventBatch>>> queue_;
  bool pending_ = false, paused_ = false;
  std::map<Partition, int64_t> stored_;
  LogBudget log_budget_;
  // Completions, from the pipeline's threads:
  std::mutex done_mu_;
  std::vector<uint64_t> done_;
  // Metrics:
  prometheus::Family<prometheus::Counter>* messages_;
  prometheus::Family<prometheus::Gauge>* lag_;
  prometheus::Gauge *assigned_, *paused_gauge_;
  prometheus::Counter *assigns_, *revokes_;
  std::map<std::string, prometheus::Counter*> errors_;
};

}  // namespace

api::InputPlugin kafkaPlugin() {
  return {
      "kafka",
      "a Kafka consumer group (native events or Alertmanager payloads per topic), at least once",
      [](const config::PluginSection& s, config::ConfigErrors& e) {
        KafkaConfig c;
        parse(s, e, c);
      },
      [](api::InputContext& ctx) -> std::unique_ptr<api::Input> {
        return std::make_unique<KafkaInput>(ctx);
      },
      {}};
}

}  // namespace triaged::plugins

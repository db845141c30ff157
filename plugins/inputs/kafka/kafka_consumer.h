// One consumer of a Kafka input: a librdkafka client in the input's group, on a thread of its
// own, with its own batches and at-least-once offsets (kafka_offsets.h) for the partitions the
// group assigns it. An input runs `consumers` of them (kafka_input.cpp): the group spreads the
// partitions over them as over separate nodes, so decoding scales with the threads.
#pragma once

#include <librdkafka/rdkafka.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kafka_config.h"
#include "kafka_offsets.h"
#include "triaged/api/ingest.h"
#include "triaged/api/log.h"
#include "triaged/api/plugin.h"

namespace triaged::plugins::kafka {

// What the consumers of one input share. Everything here is safe from any consumer thread:
// prometheus-cpp's families and counters lock or are atomic, the input metrics keep a slot per
// consumer, the dead-letter producer is librdkafka's (thread-safe), the configuration is
// swapped under its mutex.
struct Shared {
  Shared(api::InputContext& ctx, size_t consumers);

  std::shared_ptr<const KafkaConfig> current() const {
    std::lock_guard lk(cfg_mu);
    return next_cfg ? next_cfg : cfg;
  }

  api::EventSink& sink;
  std::string name;
  api::InputMetrics metrics;
  std::shared_ptr<spdlog::logger> log;
  mutable std::mutex cfg_mu;
  std::shared_ptr<const KafkaConfig> cfg, next_cfg;  // next_cfg: the ingest options of a reload
  std::map<std::string, Format> formats;
  // PagerDuty topics' acknowledge events: the incident of the alert (api::InputContext).
  std::function<void(uint64_t, std::string, std::function<void(bool)>)> acknowledge;
  rd_kafka_t* producer = nullptr;  // dead letters, when configured
  prometheus::Family<prometheus::Counter>* messages = nullptr;
  prometheus::Family<prometheus::Gauge>* lag = nullptr;
  prometheus::Gauge *assigned = nullptr, *paused = nullptr;
  prometheus::Counter *assigns = nullptr, *revokes = nullptr;
  std::map<std::string, prometheus::Counter*> errors;  // filled in the constructor only
};

class Consumer {
 public:
  Consumer(Shared& shared, size_t index) : s_(shared), index_(index) {}
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Creates the client, subscribes and starts the thread; throws naming what failed.
  void start();
  // A stop in two steps, so that no consumer's commit meets a rebalance its sibling's leaving
  // started (the broker refuses commits then): requestStop() makes the thread drain (what was
  // read goes in, applied offsets are committed); waitDrained() waits for that; join() lets it
  // leave the group and waits for its end.
  void requestStop() { stopping_ = true; }
  void waitDrained();
  void join();

 private:
  struct Builder {
    std::unique_ptr<api::BatchBuilder> b;
    std::shared_ptr<const KafkaConfig> cfg;  // keeps the options the builder refers to
  };
  // Per topic, found by the client's topic handle (no string per message).
  struct TopicState {
    std::string name;
    Format format = Format::kNative;
    prometheus::Counter *applied = nullptr, *malformed = nullptr;
  };
  // At most a few warnings per second for malformed messages (a poison stream must not flood
  // the log); the counter has them all.
  struct LogBudget {
    std::chrono::steady_clock::time_point window;
    int used = 0;
    bool take();
  };

  void run();
  size_t events() const;
  api::BatchBuilder& builder(Format f);
  TopicState& topicOf(rd_kafka_message_t* m);
  void handleBatch(size_t n);
  void handle(rd_kafka_message_t* m);
  void deadLetter(rd_kafka_message_t* m, const std::string& topic, const std::string& why);
  void flush();
  bool offerPending();
  void flushBlocking(std::chrono::seconds bound);
  void drainCompleted();
  void applied(uint64_t seq);
  void complete(uint64_t seq);
  void waitApplied(std::chrono::seconds bound);
  void commitSync();
  void pause(bool on);
  void updateLag();
  static void logCb(const rd_kafka_t* rk, int level, const char* facility, const char* message);
  static void rebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque);
  void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);

  Shared& s_;
  const size_t index_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_rk_ = nullptr;  // the consumer's queue: messages and rebalances
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool drained_ = false, leave_ = false;  // under stop_mu_
  bool closing_ = false;                  // the consumer thread: leaving after its drain
  std::atomic<bool> left_{false};         // drained and committed, closing (read by logCb)
  // The consumer thread only:
  std::vector<rd_kafka_message_t*> polled_ = std::vector<rd_kafka_message_t*>(1024);
  std::unordered_map<const rd_kafka_topic_t*, TopicState> topics_by_handle_;
  Builder builders_[kFormats];
  // PagerDuty acknowledge events (alert fingerprints) of the open batch, and of batches being
  // applied: sent once their batch is, and the batch's offsets wait for them too.
  std::vector<uint64_t> acks_;
  std::map<uint64_t, std::vector<uint64_t>> acks_after_;
  std::set<uint64_t> acks_waiting_;  // batches applied whose acknowledgements wait for earlier ones
  bool open_ = false;
  std::chrono::steady_clock::time_point batch_start_;
  std::string body_;
  OffsetTracker tracker_;
  uint64_t seq_ = 1;
  std::map<uint64_t, size_t> parts_left_;  // batch sequence → its parts not yet applied
  // Batches (with their sequence) refused so far, offered again in order.
  std::deque<std::pair<uint64_t, std::unique_ptr<api::EventBatch>>> queue_;
  bool pending_ = false, paused_ = false;
  int assigned_ = 0;  // partitions assigned to this consumer (the shared gauge sums them)
  std::map<Partition, int64_t> stored_;
  LogBudget log_budget_;
  // Completions, from the pipeline's threads:
  std::mutex done_mu_;
  std::vector<uint64_t> done_;
};

}  // namespace triaged::plugins::kafka

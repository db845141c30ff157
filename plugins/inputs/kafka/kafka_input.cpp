#include "kafka_input.h"

#include "../common/input_config.h"
#include "kafka_config.h"
#include "kafka_consumer.h"

namespace triaged::plugins {
namespace {

using kafka::KafkaConfig;

// The input: its configuration, metrics and dead-letter producer, shared by `consumers`
// consumers (kafka_consumer.h), each a member of the group with a thread of its own.
class KafkaInput final : public api::Input {
 public:
  explicit KafkaInput(api::InputContext& ctx)
      : cfg_(std::make_shared<KafkaConfig>(parseValid<KafkaConfig>(ctx.section, kafka::parse))),
        shared_(ctx, cfg_->consumers) {
    shared_.cfg = cfg_;
    for (const auto& t : cfg_->topics) {
      shared_.formats[t.name] = t.format;
      for (const char* r : {"applied", "malformed"})  // every topic's series, from the start
        shared_.messages->Add({{"input", shared_.name}, {"topic", t.name}, {"result", r}});
    }
  }

  ~KafkaInput() override { stop(); }

  void start() override {
    if (!cfg_->dead_letter_topic.empty()) {
      std::string why;
      rd_kafka_conf_t* pconf = kafka::makeConf(*cfg_, why);
      if (!pconf) throw std::runtime_error(why);
      char err[512];
      shared_.producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof err);
      if (!shared_.producer) {
        rd_kafka_conf_destroy(pconf);
        throw std::runtime_error(std::string("dead-letter producer: ") + err);
      }
    }
    try {
      for (size_t i = 0; i < cfg_->consumers; ++i) {
        consumers_.push_back(std::make_unique<kafka::Consumer>(shared_, i));
        consumers_.back()->start();
      }
    } catch (...) {
      stop();
      throw;
    }
    shared_.log->info("consuming {} topic(s) from {} as group {} with {} consumer(s)",
                      cfg_->topics.size(), cfg_->brokers.front(), cfg_->group_id, cfg_->consumers);
  }

  void stop() override {
    // Every consumer drains and commits while all are still members; then all leave (one
    // leaving first would start a rebalance in which the broker refuses the others' commits).
    for (auto& c : consumers_) c->requestStop();
    for (auto& c : consumers_) c->waitDrained();
    for (auto& c : consumers_) c->join();
    consumers_.clear();
    if (shared_.producer) {
      rd_kafka_flush(shared_.producer, 5000);
      rd_kafka_destroy(shared_.producer);
      shared_.producer = nullptr;
    }
  }

  void reconfigure(const config::PluginSection& s) override {
    auto next = std::make_shared<KafkaConfig>(parseValid<KafkaConfig>(s, kafka::parse));
    std::lock_guard lk(shared_.cfg_mu);
    if (next->brokers != cfg_->brokers || next->group_id != cfg_->group_id ||
        next->properties != cfg_->properties ||
        next->dead_letter_topic != cfg_->dead_letter_topic ||
        next->topics.size() != cfg_->topics.size() || next->consumers != cfg_->consumers)
      shared_.log->warn(
          "brokers, group_id, topics, dead_letter_topic, consumers and properties apply at the "
          "next restart");
    next->brokers = cfg_->brokers;
    next->topics = cfg_->topics;
    shared_.next_cfg = std::move(next);  // the ingest options and batching, from the next batch
  }

 private:
  std::shared_ptr<const KafkaConfig> cfg_;  // as started (brokers, group, topics, properties)
  kafka::Shared shared_;
  std::vector<std::unique_ptr<kafka::Consumer>> consumers_;
};

}  // namespace

api::InputPlugin kafkaPlugin() {
  return {
      "kafka",
      "a Kafka consumer group (native events or Alertmanager payloads per topic), at least once",
      [](const config::PluginSection& s, config::ConfigErrors& e) {
        KafkaConfig c;
        kafka::parse(s, e, c);
      },
      [](api::InputContext& ctx) -> std::unique_ptr<api::Input> {
        return std::make_unique<KafkaInput>(ctx);
      },
      {}};
}

}  // namespace triaged::plugins

// The plugin API's ingest helpers (triaged/api/ingest.h), part: Per-input counters, a per-thread
// slot each, summed at scrape time.
#include <prometheus/histogram.h>

#include "common/metrics.h"
#include "triaged/api/ingest.h"

namespace triaged::api {

namespace {
thread_local size_t t_io_index = 0;
}
size_t ioThreadIndex() { return t_io_index; }
void setIoThreadIndex(size_t i) { t_io_index = i; }

struct InputMetrics::Impl {
  std::shared_ptr<engine::HotCounterFamily> received, accepted, rejected;
  MetricsHub* hub;
  prometheus::Family<prometheus::Histogram>* decode_family = nullptr;
  prometheus::Histogram* decode = nullptr;
};

InputMetrics::InputMetrics(MetricsHub& hub, const std::string& input, size_t writers)
    : impl_(std::make_unique<Impl>()) {
  // Shared families per name would need cross-input coordination; one collectable per input
  // with the same metric name is merged by the serializer into one family per name.
  using Series = std::vector<std::vector<std::pair<std::string, std::string>>>;
  impl_->received = std::make_shared<engine::HotCounterFamily>(
      "triaged_input_events_received_total", "Events received by an input, valid or not.",
      Series{{{"input", input}}}, writers);
  impl_->accepted = std::make_shared<engine::HotCounterFamily>(
      "triaged_input_events_accepted_total", "Events accepted into the pipeline.",
      Series{{{"input", input}}}, writers);
  Series reasons;
  for (size_t i = 0; i < static_cast<size_t>(Reject::kCount); ++i)
    reasons.push_back({{"input", input}, {"reason", rejectName(static_cast<Reject>(i))}});
  impl_->rejected = std::make_shared<engine::HotCounterFamily>(
      "triaged_input_events_rejected_total", "Events rejected by an input, by reason.", reasons,
      writers);
  impl_->hub = &hub;
  // One family shared by every input; each input adds its own series.
  impl_->decode_family = &prometheus::BuildHistogram()
                              .Name("triaged_input_decode_seconds")
                              .Help("Time to decode one request body or stream chunk, per input.")
                              .Register(hub.registry());
  impl_->decode = &impl_->decode_family->Add(
      {{"input", input}},
      prometheus::Histogram::BucketBoundaries{0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                              0.0025, 0.005, 0.01, 0.025, 0.05, 0.1});
  hub.add(impl_->received);
  hub.add(impl_->accepted);
  hub.add(impl_->rejected);
}

InputMetrics::~InputMetrics() {
  impl_->hub->remove(impl_->received);
  impl_->hub->remove(impl_->accepted);
  impl_->hub->remove(impl_->rejected);
  impl_->decode_family->Remove(impl_->decode);
}

void InputMetrics::decoded(double seconds) { impl_->decode->Observe(seconds); }

void InputMetrics::received(uint64_t n) { impl_->received->add(ioThreadIndex(), 0, n); }
void InputMetrics::accepted(uint64_t n) { impl_->accepted->add(ioThreadIndex(), 0, n); }
void InputMetrics::rejected(Reject r, uint64_t n) {
  impl_->rejected->add(ioThreadIndex(), static_cast<size_t>(r), n);
}

}  // namespace triaged::api

// Micro benchmarks of the hot path: decode, fingerprint, dedup lookup, shard hand-off, a new
// incident's record. Each checks its output before it is timed.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <future>
#include <stdexcept>

#include "correlate/incident.h"
#include "dedup/alert_table.h"
#include "hash_chain.h"
#include "inputs/common/native_decoder.h"
#include "pipeline/pipeline.h"
#include "realistic.h"
#include "store/state_codec.h"
#include "triaged/api/ingest.h"

using namespace triaged;

namespace {

std::string event(int host) {
  return R"({"resource":"host-)" + std::to_string(1000000 + host) +
         R"(.dc1.example.com","check":"DiskFull","severity":"critical","service":"billing","summary":"Filesystem /var is 97% full","labels":{"team":"storage","env":"prod","dc":"fra1","cluster":"c7","mount":"/var"},"annotations":{"runbook":"https://runbooks.example.com/disk-full"}})";
}

api::IngestOptions options() {
  api::IngestOptions o;
  o.name = "bench";
  o.severity_map = plugins::nativeSeverities();
  return o;
}

std::string ndjson(int n, int distinct) {
  std::string s;
  for (int i = 0; i < n; ++i) s += event(i % distinct) + "\n";
  return s;
}

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(what);
}

// Decodes 1,000 NDJSON lines into a batch per iteration (checked once first).
void decodeLines(benchmark::State& st, const std::string& text) {
  auto o = options();
  simdjson::padded_string buf(text);
  {
    api::BatchBuilder b(o, 1);
    plugins::decodeNdjson(buf.data(), buf.size(), buf.size() + simdjson::SIMDJSON_PADDING, b);
    check(b.size() == 1000 && b.errorCount() == 0, "decode");
  }
  for (auto _ : st) {
    api::BatchBuilder b(o, 1);
    plugins::decodeNdjson(buf.data(), buf.size(), buf.size() + simdjson::SIMDJSON_PADDING, b);
    benchmark::DoNotOptimize(b.size());
  }
  st.SetItemsProcessed(st.iterations() * 1000);
  st.SetBytesProcessed(st.iterations() * static_cast<int64_t>(buf.size()));
}

void BM_DecodeNdjson(benchmark::State& st) { decodeLines(st, ndjson(1000, 1000)); }
BENCHMARK(BM_DecodeNdjson);

// The realistic stream's first 1,000 lines (realistic.h: ten labels, two annotations, changing
// values), as NDJSON.
std::string realisticText() {
  std::vector<std::string> lines(1000);
  std::vector<loadgen::Expected> expected(1000);
  loadgen::RealisticStream::generate(1000, 0, 1, 1, lines, 0, 1000, expected);
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  return text;
}

void BM_DecodeRealistic(benchmark::State& st) { decodeLines(st, realisticText()); }
BENCHMARK(BM_DecodeRealistic);

void BM_SimdjsonOnly(benchmark::State& st) {
  // The physical ceiling: simdjson iterate + touching every field, no event building.
  std::vector<simdjson::padded_string> docs;
  for (int i = 0; i < 1000; ++i) docs.emplace_back(event(i));
  simdjson::ondemand::parser parser;
  for (auto _ : st) {
    size_t sink = 0;
    for (auto& d : docs) {
      auto doc = parser.iterate(d);
      for (auto f : doc.get_object()) {
        sink += std::string_view(f.unescaped_key()).size();
        auto v = f.value();
        if (v.type() == simdjson::ondemand::json_type::object)
          for (auto g : v.get_object()) sink += std::string_view(g.value().get_string()).size();
        else
          sink += std::string_view(v.get_string()).size();
      }
    }
    benchmark::DoNotOptimize(sink);
  }
  st.SetItemsProcessed(st.iterations() * 1000);
}
BENCHMARK(BM_SimdjsonOnly);

void BM_Fingerprint(benchmark::State& st) {
  auto o = options();
  simdjson::padded_string buf(ndjson(1, 1));
  api::BatchBuilder b(o, 1);
  plugins::decodeNdjson(buf.data(), buf.size(), buf.size() + simdjson::SIMDJSON_PADDING, b);
  auto batch = b.take();
  const auto& e = batch->events[0];
  check(api::fingerprintOf(*batch, e, o.fingerprint) == e.fingerprint, "fingerprint");
  for (auto _ : st) benchmark::DoNotOptimize(api::fingerprintOf(*batch, e, o.fingerprint));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_Fingerprint);

// The realistic stream's 1,000 events, decoded once: their fingerprints and content hashes one
// event at a time (fingerprintOf, contentHashOf), and four at a time as the builder makes them.
std::unique_ptr<api::EventBatch> realisticBatch() {
  auto o = options();
  simdjson::padded_string buf(realisticText());
  api::BatchBuilder b(o, 1);
  plugins::decodeNdjson(buf.data(), buf.size(), buf.size() + simdjson::SIMDJSON_PADDING, b);
  check(b.size() == 1000 && b.errorCount() == 0, "decode");
  return b.take();
}

void BM_HashRealistic(benchmark::State& st) {
  auto batch = realisticBatch();
  const api::FingerprintOptions fo;
  for (auto _ : st)
    for (auto& e : batch->events) {
      e.fingerprint = api::fingerprintOf(*batch, e, fo);
      e.content_hash = api::contentHashOf(*batch, e, e.fingerprint);
      benchmark::DoNotOptimize(e.content_hash);
    }
  st.SetItemsProcessed(st.iterations() * 1000);
}
BENCHMARK(BM_HashRealistic);

void BM_HashRealisticFourAtATime(benchmark::State& st) {
  auto batch = realisticBatch();
  auto& ev = batch->events;
  for (auto _ : st)
    for (size_t i = 0; i + api::kHashLanes <= ev.size(); i += api::kHashLanes) {
      api::Event* lanes[api::kHashLanes] = {&ev[i], &ev[i + 1], &ev[i + 2], &ev[i + 3]};
      api::hashDefaultKeys(*batch, lanes, api::kHashLanes);
      benchmark::DoNotOptimize(ev[i].content_hash);
    }
  st.SetItemsProcessed(st.iterations() * 1000);
}
BENCHMARK(BM_HashRealisticFourAtATime);

void BM_DedupDuplicate(benchmark::State& st) {
  // A table of 100,000 alerts; every event is a duplicate of one of them.
  auto o = options();
  engine::AlertTable table;
  std::vector<engine::AlertChange> changes;
  simdjson::padded_string buf(ndjson(100000, 100000));
  api::BatchBuilder b(o, 1);
  plugins::decodeNdjson(buf.data(), buf.size(), buf.size() + simdjson::SIMDJSON_PADDING, b);
  auto batch = b.take();
  for (auto& e : batch->events) table.apply(*batch, e, 1, changes);
  check(table.size() == 100000, "table");
  size_t i = 0;
  for (auto _ : st) {
    auto r = table.apply(*batch, batch->events[i], 2, changes);
    benchmark::DoNotOptimize(r);
    if (++i == batch->events.size()) i = 0;
  }
  check(changes.size() == 100000, "duplicates made changes");
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_DedupDuplicate);

void BM_ShardHandoff(benchmark::State& st) {
  // Submit a 1000-event batch to 2 shards and wait for it: routing, queues, completion.
  auto o = options();
  engine::ManualClock clock(1);
  api::MetricsHub hub;
  engine::PipelineOptions po;
  po.shards = 2;
  engine::Pipeline p(po, clock, hub);
  p.start();
  simdjson::padded_string buf(ndjson(1000, 1000));
  for (auto _ : st) {
    st.PauseTiming();
    api::BatchBuilder b(o, 1);
    plugins::decodeNdjson(buf.data(), buf.size(), buf.size() + simdjson::SIMDJSON_PADDING, b);
    auto batch = b.take();
    std::promise<api::BatchResult> done;
    st.ResumeTiming();
    p.submit(batch, [&](const api::BatchResult& r) { done.set_value(r); });
    auto r = done.get_future().get();
    check(r.events == 1000, "handoff");
  }
  st.SetItemsProcessed(st.iterations() * 1000);
}
BENCHMARK(BM_ShardHandoff)->UseRealTime();

void BM_EncodeIncident(benchmark::State& st) {
  // A new incident's record as the correlator hands it to the store (one per new alert when
  // each opens its own incident): the fields a typical one has set.
  engine::Incident inc;
  inc.id = 1234567;
  inc.title = "Filesystem /var on host-0002885 is 90.0% full";
  inc.service = "billing";
  inc.category = "alert";
  inc.rule = "default";
  inc.group_key = "service=billing,resource=host-0002885.dc1.example.com";
  inc.priority = 2;
  inc.impact = 2;
  inc.urgency = 1;
  inc.opened_ms = inc.updated_ms = inc.announced_ms = 1'796'306'219'587;
  inc.cis.push_back("host-0002885.dc1.example.com");
  inc.services.push_back("billing");
  inc.group_hash = 2627201776111633823u;
  inc.max_severity = 5;
  inc.criticality = 2;
  inc.update_pending = true;
  std::string out;
  engine::encodeIncident(out, inc);
  check(out.size() > 400 && out.back() == '}', "encode");
  for (auto _ : st) {
    std::string record;  // a new string per record, as RoundRows builds one per row
    engine::encodeIncident(record, inc);
    benchmark::DoNotOptimize(record.data());
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_EncodeIncident);

}  // namespace

BENCHMARK_MAIN();

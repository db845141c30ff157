#include "native_json_input.h"

#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>

#include "../common/http_ingest.h"
#include "../common/http_input.h"
#include "../common/input_config.h"
#include "../common/native_decoder.h"
#include "triaged/api/json_writer.h"

namespace triaged::plugins {
namespace {

struct NativeJsonConfig {
  api::IngestOptions ingest;
  std::string path = "/api/v1/events";
};

void parse(const config::PluginSection& s, config::ConfigErrors& errors, NativeJsonConfig& c) {
  readInputSection(s, errors, c.ingest, nativeSeverities(), [&](config::MapReader& r) {
    r.getString("path", c.path);
    if (c.path.empty() || c.path[0] != '/')
      r.sink().add(r.node()["path"], r.childPath("path"), "must start with /");
  });
}

bool isNdjson(std::string_view ct) {
  auto semi = ct.find(';');
  ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  return ct == "application/x-ndjson" || ct == "application/ndjson" || ct == "application/jsonl" ||
         ct == "application/x-jsonlines";
}

class NativeJsonInput final : public HttpInput<NativeJsonConfig> {
 public:
  explicit NativeJsonInput(api::InputContext& ctx)
      : HttpInput(
            ctx,
            [](const config::PluginSection& s) { return parseValid<NativeJsonConfig>(s, parse); }),
        io_(ctx.io_context),
        coalesce_(ctx.io_context ? ctx.io_threads : 0) {
    serve(ctx);
  }

 private:
  void handle(const api::HttpRequest& req, api::Responder respond,
              std::shared_ptr<const NativeJsonConfig> cfg) override {
    std::string& body = *req.body;
    auto decode_start = std::chrono::steady_clock::now();
    api::BatchBuilder b(cfg->ingest, sink_.nowMs());
    if (isNdjson(req.content_type))
      decodeNdjson(body.data(), body.size(), body.capacity(), b);
    else
      decodeNativeJson(body.data(), body.size(), body.capacity(), b);
    metrics_.decoded(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - decode_start).count());
    metrics_.received(b.size() + b.errorCount());
    if (b.errorCount() > 0)
      return respond(rejectBatch(metrics_, b, "invalid events; nothing was applied"));
    if (b.size() == 0) {
      return respond(api::badRequest("no events in the request body", {}, 0));
    }
    if (b.size() > cfg->ingest.max_batch_events) {
      metrics_.rejected(api::Reject::kTooLarge, b.size());
      return respond(api::HttpResponse::error(
          413, "too many events in one request",
          "\"at most " + std::to_string(cfg->ingest.max_batch_events) + " events per request\""));
    }
    size_t io = api::ioThreadIndex();
    if (b.size() <= kCoalesceMax && io < coalesce_.size())
      return coalesce(io, b.take(), std::move(respond));
    submitBatch(sink_, metrics_, b.take(), std::move(respond), [](const api::BatchResult& r) {
      return answer(r.events, r.new_alerts, r.changed, r.duplicates, r.resolved);
    });
  }

  static api::HttpResponse answer(uint64_t n, uint64_t fresh, uint64_t changed, uint64_t dup,
                                  uint64_t resolved) {
    std::string out;
    out.reserve(128);  // one allocation for the answer
    api::JsonWriter w(out);
    w.beginObject().field("status", "success").field("accepted", n).field("new", fresh);
    w.field("changed", changed).field("duplicates", dup).field("resolved", resolved).endObject();
    out.push_back('\n');
    return api::HttpResponse::json(200, std::move(out));
  }

  // Small requests decoded by one I/O thread in one pass of its event loop travel to the shards
  // as one batch: one hand-off and one wake-up for all of them. Each request still gets its
  // own answer, from the per-event outcomes. Only this I/O thread touches its Pending.
  static constexpr size_t kCoalesceMax = 64;
  struct Waiter {
    api::Responder respond;
    uint32_t begin, count;
  };
  struct Pending {
    std::unique_ptr<api::EventBatch> batch;
    std::vector<Waiter> waiters;
    bool scheduled = false;
  };

  void coalesce(size_t io, std::unique_ptr<api::EventBatch> batch, api::Responder respond) {
    Pending& p = coalesce_[io];
    if (!p.batch) {
      p.batch = std::make_unique<api::EventBatch>();
      p.batch->input = batch->input;
      p.batch->want_outcomes = true;
    }
    auto begin = static_cast<uint32_t>(p.batch->events.size());
    auto count = static_cast<uint32_t>(batch->events.size());
    p.batch->append(std::move(*batch));
    p.waiters.push_back({std::move(respond), begin, count});
    if (p.scheduled) return;
    p.scheduled = true;
    // Runs after the handlers already queued on this thread: their requests join this batch.
    boost::asio::post(io_(io), [this, io] { flush(io); });
  }

  void flush(size_t io) {
    Pending& p = coalesce_[io];
    p.scheduled = false;
    auto batch = std::move(p.batch);
    auto waiters = std::make_shared<std::vector<Waiter>>(std::move(p.waiters));
    p.waiters.clear();
    size_t n = batch->events.size();
    auto st = sink_.submit(batch, [this, waiters, n](const api::BatchResult& r) {
      metrics_.accepted(n);
      for (auto& w : *waiters) {
        uint64_t c[5] = {0, 0, 0, 0, 0};
        for (uint32_t i = w.begin; i < w.begin + w.count; ++i) ++c[r.outcomes[i]];
        w.respond(answer(w.count, c[0], c[1], c[2] + c[4], c[3]));
      }
    });
    if (st == api::SubmitStatus::kAccepted) return;
    metrics_.rejected(api::refusalReason(st), n);
    for (auto& w : *waiters) w.respond(api::refusalResponse(st, sink_.retryAfterSeconds()));
  }

  std::function<boost::asio::io_context&(size_t)> io_;
  std::vector<Pending> coalesce_;  // one per I/O thread; empty without I/O contexts
};

}  // namespace

api::InputPlugin nativeJsonPlugin() {
  return {
      "native_json", "triaged's own JSON events over HTTP (object, array or NDJSON)",
      [](const config::PluginSection& s, config::ConfigErrors& e) {
        NativeJsonConfig c;
        parse(s, e, c);
      },
      [](api::InputContext& ctx) -> std::unique_ptr<api::Input> {
        return std::make_unique<NativeJsonInput>(ctx);
      },
      [](const config::PluginSection& s) { return parseValid<NativeJsonConfig>(s, parse).ingest; }};
}

}  // namespace triaged::plugins

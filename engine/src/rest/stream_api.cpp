#include "rest/stream_api.h"

namespace triaged::engine {

using api::HttpRequest;
using api::HttpResponse;
using api::Responder;
using api::RouteGroup;
using api::Verb;

namespace {

// A client slot taken before the stream opens, given back if it never does (the connection
// closed before its head was written).
struct Slot {
  explicit Slot(EventHub& h) : hub(h) {}
  ~Slot() {
    if (held) hub.unreserve();
  }
  EventHub& hub;
  bool held = true;
};

}  // namespace

void addStreamRoutes(api::Router& router, EventHub& hub) {
  router.add(
      {Verb::get, "/api/v1/stream", RouteGroup::kRead, [&hub](const HttpRequest& req, Responder r) {
         // ?types=incident,alert (or repeated `type`): the event types wanted.
         uint8_t mask = 0;
         std::vector<std::string> names = req.queryParams("types");
         for (auto& t : req.queryParams("type")) names.push_back(t);
         for (const auto& list : names) {
           size_t start = 0;
           while (start <= list.size()) {
             size_t comma = std::min(list.find(',', start), list.size());
             std::string_view name(list.data() + start, comma - start);
             start = comma + 1;
             if (name.empty()) continue;
             StreamType t;
             if (!parseStreamType(name, t))
               return r(HttpResponse::error(
                   400, "types: unknown event type \"" + std::string(name) +
                            "\" (incident, problem, alert, silence, maintenance, sla, "
                            "heartbeat)"));
             mask |= static_cast<uint8_t>(1u << static_cast<int>(t));
           }
         }
         if (!mask) mask = kAllStreamTypes;
         // The header a reconnecting EventSource sends, or the same as a parameter.
         std::string last(req.header("Last-Event-ID"));
         if (last.empty()) req.queryParam("last_event_id", last);
         if (!hub.reserve()) {
           auto res = HttpResponse::error(503, "too many stream clients",
                                          "\"stream.max_clients are connected\"");
           res.headers.emplace_back("Retry-After", "5");
           return r(std::move(res));
         }
         auto slot = std::make_shared<Slot>(hub);
         HttpResponse res;
         res.content_type = "text/event-stream; charset=utf-8";
         res.stream = [slot, mask, last](std::shared_ptr<api::StreamWriter> w) {
           slot->held = false;  // the hub gives it back when the client leaves
           slot->hub.attach(std::move(w), mask, last);
         };
         r(std::move(res));
       }});
}

}  // namespace triaged::engine

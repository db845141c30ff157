#include "rest/alerts_api.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <mutex>

#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"
#include "triaged/rules/matcher.h"

namespace triaged::engine {

using api::HttpResponse;

FingerprintHex::FingerprintHex(uint64_t fp) {
  static const char* kHex = "0123456789abcdef";
  for (int i = 15; i >= 0; --i, fp >>= 4) buf[i] = kHex[fp & 15];
}

std::string fingerprintHex(uint64_t fp) { return std::string(FingerprintHex(fp).view()); }

bool parseFingerprintHex(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 16) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

void writeLabelsJson(api::JsonWriter& w, const AlertStrings& v) {
  w.key("labels").beginObject();
  v.forEachLabel([&](const api::Label& l) { w.field(l.name, l.value); });
  w.endObject();
}

void writeAlertJson(std::string& out, uint64_t fp, const Alert& a) {
  auto v = a.view();
  api::JsonWriter w(out);
  w.beginObject();
  w.field("fingerprint", fingerprintHex(fp));
  w.field("source", v.field(AlertStrings::kSource));
  w.field("resource", v.field(AlertStrings::kResource));
  w.field("check", v.field(AlertStrings::kCheck));
  if (auto s = v.field(AlertStrings::kService); !s.empty()) w.field("service", s);
  w.field("status", api::statusName(a.status));
  w.field("severity", api::severityName(a.severity));
  w.field("previous_severity", api::severityName(a.previous_severity));
  w.field("flapping", a.flapping);
  w.field("count", a.count);
  w.field("first_seen", api::formatRfc3339Ms(a.first_seen_ms));
  w.field("last_seen", api::formatRfc3339Ms(a.last_seen_ms));
  if (a.endsAt()) w.field("ends_at", api::formatRfc3339Ms(a.endsAt()));
  if (a.status == api::Status::kResolved)
    w.field("resolved_at", api::formatRfc3339Ms(a.resolvedAt()));
  if (auto s = v.field(AlertStrings::kSummary); !s.empty()) w.field("summary", s);
  if (double value; v.value(value)) w.field("value", value);
  if (auto s = v.field(AlertStrings::kDescription); !s.empty()) w.field("description", s);
  if (auto s = v.field(AlertStrings::kDedupKey); !s.empty()) w.field("dedup_key", s);
  writeLabelsJson(w, v);
  w.key("annotations").beginObject();
  v.forEachAnnotation([&](const api::Label& l) { w.field(l.name, l.value); });
  w.endObject();
  w.endObject();
}

namespace {

struct Query {
  bool has_status = false;
  api::Status status{};
  bool has_severity = false;
  api::Severity severity{};
  api::Severity min_severity = api::Severity::kOk;
  std::string service, resource, source, check;
  rules::Matchers matchers;
  size_t limit = 100;
  uint64_t after = 0;
  bool has_after = false;
  LabelSig need;  // the pairs every match has (equality on a label or a field): the prefilter

  void sign() {
    const std::pair<AlertStrings::Field, const std::string*> fields[] = {
        {AlertStrings::kService, &service},
        {AlertStrings::kResource, &resource},
        {AlertStrings::kSource, &source},
        {AlertStrings::kCheck, &check}};
    for (auto [f, v] : fields)
      if (!v->empty()) need.add(LabelSig::fieldKey(f), *v);
    for (const auto& m : matchers) {
      // A canonical name means the label, or the field when there is no such label: either
      // pair may be the one, so it does not narrow the search.
      static constexpr std::string_view kCanonical[] = {"source",  "resource", "check",
                                                        "service", "severity", "status"};
      if (m->op() != rules::MatchOp::kEqual || m->value().empty() ||
          std::find(std::begin(kCanonical), std::end(kCanonical), m->name()) !=
              std::end(kCanonical))
        continue;
      need.add(m->name(), m->value());
    }
  }

  bool matches(uint64_t fp, const Alert& a) const {
    if (has_after && fp <= after) return false;
    if (has_status && a.status != status) return false;
    if (has_severity && a.severity != severity) return false;
    if (a.severity < min_severity) return false;
    auto v = a.view();
    if (!service.empty() && v.field(AlertStrings::kService) != service) return false;
    if (!resource.empty() && v.field(AlertStrings::kResource) != resource) return false;
    if (!source.empty() && v.field(AlertStrings::kSource) != source) return false;
    if (!check.empty() && v.field(AlertStrings::kCheck) != check) return false;
    for (const auto& m : matchers) {
      std::string_view value;
      if (!v.findLabel(m->name(), value)) {
        // Canonical fields can be matched like labels when no label has that name.
        const std::string& n = m->name();
        if (n == "source")
          value = v.field(AlertStrings::kSource);
        else if (n == "resource")
          value = v.field(AlertStrings::kResource);
        else if (n == "check")
          value = v.field(AlertStrings::kCheck);
        else if (n == "service")
          value = v.field(AlertStrings::kService);
        else if (n == "severity")
          value = api::severityName(a.severity);
        else if (n == "status")
          value = api::statusName(a.status);
      }
      if (!m->matches(value)) return false;
    }
    return true;
  }
};

// Parses query parameters; returns an error response on the first bad one.
bool parseQuery(const api::HttpRequest& req, Query& q, HttpResponse& err) {
  auto bad = [&](const std::string& param, const std::string& why) {
    std::string detail;
    api::JsonWriter(detail)
        .beginObject()
        .field("parameter", param)
        .field("reason", why)
        .endObject();
    err = HttpResponse::error(400, "invalid query parameter", detail);
    return false;
  };
  std::string v;
  if (req.queryParam("status", v)) {
    if (v == "firing")
      q.status = api::Status::kFiring;
    else if (v == "resolved")
      q.status = api::Status::kResolved;
    else
      return bad("status", "expected firing or resolved, got \"" + v + "\"");
    q.has_status = true;
  }
  if (req.queryParam("severity", v)) {
    if (!api::parseSeverity(v, q.severity))
      return bad("severity", "unknown severity \"" + v + "\"");
    q.has_severity = true;
  }
  if (req.queryParam("min_severity", v) && !api::parseSeverity(v, q.min_severity))
    return bad("min_severity", "unknown severity \"" + v + "\"");
  req.queryParam("service", q.service);
  req.queryParam("resource", q.resource);
  req.queryParam("source", q.source);
  req.queryParam("check", q.check);
  for (const auto& f : req.queryParams("filter")) {
    std::string e;
    if (!rules::parseMatchers(f, q.matchers, &e)) return bad("filter", e);
  }
  if (req.queryParam("limit", v)) {
    size_t n = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (r.ec != std::errc() || r.ptr != v.data() + v.size() || n < 1 || n > 10000)
      return bad("limit", "expected an integer from 1 to 10000, got \"" + v + "\"");
    q.limit = n;
  }
  if (req.queryParam("after", v)) {
    if (!parseFingerprintHex(v, q.after))
      return bad("after", "expected a fingerprint (hex), got \"" + v + "\"");
    q.has_after = true;
  }
  q.sign();
  return true;
}

struct ListState {
  std::shared_ptr<const Query> q;
  api::Responder respond;
  std::mutex mu;
  std::vector<std::pair<uint64_t, std::string>> rows;
  uint64_t matched = 0;
  std::atomic<size_t> remaining{0};
  std::atomic<bool> expired{false};  // a shard's scan ran out of its time budget
};

// How long one page's scan may hold a shard (which dedups meanwhile nothing else): RE2 matches
// in linear time, but a large regular expression whose DFA runs out of memory falls back to a
// simulation costing its size per byte of every value (seconds for a few thousand alerts,
// measured).
constexpr auto kScanBudget = std::chrono::seconds(1);

}  // namespace

void addAlertRoutes(api::Router& router, Pipeline& pipeline) {
  router.add({api::Verb::get, "/api/v1/alerts", api::RouteGroup::kRead,
              [&pipeline](const api::HttpRequest& req, api::Responder respond) {
                auto q = std::make_shared<Query>();
                HttpResponse err;
                if (!parseQuery(req, *q, err)) return respond(std::move(err));
                auto st = std::make_shared<ListState>();
                st->q = q;
                st->respond = std::move(respond);
                st->remaining = pipeline.shards();
                for (size_t i = 0; i < pipeline.shards(); ++i) {
                  bool queued = pipeline.runOnShard(i, [st](const AlertTable& t) {
                    const Query& q = *st->q;
                    std::vector<std::pair<uint64_t, const Alert*>> hits;
                    uint64_t matched = 0;
                    auto deadline = std::chrono::steady_clock::now() + kScanBudget;
                    uint32_t seen = 0;
                    bool expired = false;
                    t.forEachMaybe(q.need, [&](uint64_t fp, const Alert& a) {
                      if (expired) return;
                      if ((++seen & 3) == 0 && std::chrono::steady_clock::now() > deadline) {
                        expired = true;
                        st->expired = true;
                        return;
                      }
                      if (!q.matches(fp, a)) return;
                      ++matched;
                      hits.emplace_back(fp, &a);
                    });
                    // Keep this shard's `limit + 1` smallest fingerprints: the page is the
                    // smallest `limit` over all shards, and one more tells whether a next page
                    // exists.
                    auto by_fp = [](const auto& x, const auto& y) { return x.first < y.first; };
                    size_t keep = q.limit + 1;
                    if (hits.size() > keep) {
                      std::nth_element(hits.begin(), hits.begin() + static_cast<long>(keep),
                                       hits.end(), by_fp);
                      hits.resize(keep);
                    }
                    std::vector<std::pair<uint64_t, std::string>> rows;
                    rows.reserve(hits.size());
                    for (const auto& [fp, a] : hits) {
                      std::string json;
                      writeAlertJson(json, fp, *a);
                      rows.emplace_back(fp, std::move(json));
                    }
                    {
                      std::lock_guard lk(st->mu);
                      st->matched += matched;
                      for (auto& r : rows) st->rows.push_back(std::move(r));
                    }
                    if (st->remaining.fetch_sub(1) != 1) return;
                    if (st->expired)
                      return st->respond(HttpResponse::error(
                          503, "query too expensive",
                          "\"the filter took more than 1 s to scan a shard; narrow it (equality "
                          "matchers use the label index)\""));
                    auto& all = st->rows;
                    std::sort(all.begin(), all.end(),
                              [](const auto& x, const auto& y) { return x.first < y.first; });
                    bool more = all.size() > q.limit;
                    if (more) all.resize(q.limit);
                    std::string body = "{\"data\":[";
                    for (size_t k = 0; k < all.size(); ++k) {
                      if (k) body.push_back(',');
                      body += all[k].second;
                    }
                    body += "],\"matched\":" + std::to_string(st->matched) + ",\"next\":";
                    if (more) {  // appended piece by piece: GCC 12 warns on a + b + c here
                      body += '"';
                      body += fingerprintHex(all.back().first);
                      body += '"';
                    } else {
                      body += "null";
                    }
                    body += "}\n";
                    st->respond(HttpResponse::json(200, std::move(body)));
                  });
                  if (!queued) {
                    st->respond(HttpResponse::error(503, "shutting down"));
                    return;
                  }
                }
              }});
  router.add(
      {api::Verb::get, "/api/v1/alerts/{fingerprint}", api::RouteGroup::kRead,
       [&pipeline](const api::HttpRequest& req, api::Responder respond) {
         uint64_t fp;
         std::string text(req.param("fingerprint"));
         if (!parseFingerprintHex(text, fp))
           return respond(
               HttpResponse::error(400, "invalid fingerprint", "\"expected 16 hex digits\""));
         auto shared = std::make_shared<api::Responder>(std::move(respond));
         if (!pipeline.runOnShard(pipeline.shardOf(fp), [fp, shared, text](const AlertTable& t) {
               const Alert* a = t.find(fp);
               if (!a)
                 return (*shared)(HttpResponse::error(404, "no such alert", "\"" + text + "\""));
               std::string body;
               writeAlertJson(body, fp, *a);
               body.push_back('\n');
               (*shared)(HttpResponse::json(200, std::move(body)));
             }))
           (*shared)(HttpResponse::error(503, "shutting down"));
       }});
}

void alertCounts(Pipeline& pipeline, std::vector<uint64_t> fingerprints,
                 std::function<void(std::shared_ptr<AlertCounts>)> done) {
  struct Gather {
    std::mutex mu;
    std::shared_ptr<AlertCounts> counts = std::make_shared<AlertCounts>();
    std::atomic<size_t> left{0};
    std::function<void(std::shared_ptr<AlertCounts>)> done;
  };
  std::vector<std::vector<uint64_t>> by_shard(pipeline.shards());
  for (uint64_t fp : fingerprints) by_shard[pipeline.shardOf(fp)].push_back(fp);
  auto g = std::make_shared<Gather>();
  g->done = std::move(done);
  size_t asked = 0;
  for (const auto& v : by_shard) asked += v.empty() ? 0 : 1;
  if (asked == 0) return g->done(g->counts);
  g->left = asked;
  for (size_t i = 0; i < by_shard.size(); ++i) {
    if (by_shard[i].empty()) continue;
    bool queued = pipeline.runOnShard(i, [g, fps = std::move(by_shard[i])](const AlertTable& t) {
      {
        std::lock_guard lock(g->mu);
        for (uint64_t fp : fps)
          if (const Alert* a = t.find(fp)) (*g->counts)[fp] = a->count;
      }
      if (g->left.fetch_sub(1) == 1) g->done(g->counts);
    });
    if (!queued && g->left.fetch_sub(1) == 1) g->done(g->counts);  // stopping: what there is
  }
}

}  // namespace triaged::engine

#include "dedup/alert_table.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <thread>

#include "triaged/api/ingest.h"

using namespace triaged;
using api::Severity;
using api::Status;
using engine::AlertTable;
using engine::ChangeKind;
using engine::Outcome;

namespace {

// Builds one-event batches on a manual timeline.
struct Timeline {
  api::IngestOptions opts;
  AlertTable table;
  std::vector<engine::AlertChange> changes;
  int64_t now = 1'000'000;

  explicit Timeline(engine::FlapOptions flap = {}) : table(flap, 60'000) {
    opts.name = "test";
    opts.resolve_timeout_ms = 10'000;
  }
  // One firing event in a batch of its own.
  std::unique_ptr<api::EventBatch> event(const char* resource, const char* summary,
                                         const double* value = nullptr,
                                         Severity sev = Severity::kWarning,
                                         Status st = Status::kFiring) {
    api::BatchBuilder b(opts, now);
    auto& e = b.begin(0);
    e.resource = b.keep(resource);
    e.check = "check";
    e.severity = sev;
    e.status = st;
    e.summary = b.keep(summary);
    if (value) {
      e.has_value = true;
      e.value = *value;
    }
    b.addLabel("team", "ops");
    REQUIRE(b.finish());
    return b.take();
  }
  Outcome push(const char* resource, Severity sev = Severity::kWarning, Status st = Status::kFiring,
               const char* summary = "", const double* value = nullptr) {
    auto batch = event(resource, summary, value, sev, st);
    return table.apply(*batch, batch->events[0], now, changes);
  }
  uint64_t fp(const char* resource) { return event(resource, "")->events[0].fingerprint; }
  std::vector<ChangeKind> kinds() {
    std::vector<ChangeKind> k;
    for (auto& c : changes) k.push_back(c.kind);
    changes.clear();
    return k;
  }
};

// One table fed events that a function completes (resource "host1" and check "disk" given).
struct Table {
  api::IngestOptions opts = [] {
    api::IngestOptions o;
    o.name = "test";
    return o;
  }();
  AlertTable table;
  std::vector<engine::AlertChange> changes;
  template <class F>
  std::unique_ptr<api::EventBatch> build(F&& fill, const api::IngestOptions* with = nullptr) {
    api::BatchBuilder b(with ? *with : opts, 1000);
    auto& e = b.begin(0);
    e.resource = "host1";
    e.check = "disk";
    fill(b, e);
    REQUIRE(b.finish());
    return b.take();
  }
  template <class F>
  uint64_t push(F&& fill) {
    auto batch = build(fill);
    table.apply(*batch, batch->events[0], 1000, changes);
    return batch->events[0].fingerprint;
  }
};

}  // namespace

TEST_CASE("A new fingerprint opens an alert, repeats only count", "[dedup]") {
  Timeline t;
  CHECK(t.push("db1") == Outcome::kNew);
  CHECK(t.kinds() == std::vector<ChangeKind>{ChangeKind::kNew});
  t.now += 1000;
  for (int i = 0; i < 5; ++i) CHECK(t.push("db1") == Outcome::kDuplicate);
  CHECK(t.kinds().empty());
  const auto* a = t.table.find(t.fp("db1"));
  REQUIRE(a);
  CHECK(a->count == 6);
  CHECK(a->first_seen_ms == 1'000'000);
  CHECK(a->last_seen_ms == 1'001'000);
  CHECK(a->endsAt() == 1'011'000);
  static_assert(sizeof(engine::Alert) == 64);
  CHECK(t.table.size() == 1);
  CHECK(t.table.firing() == 1);
}

TEST_CASE("Severity changes and resolution are changes, new annotations are kept quietly",
          "[dedup]") {
  Timeline t;
  t.push("db1", Severity::kWarning);
  t.kinds();
  CHECK(t.push("db1", Severity::kCritical) == Outcome::kChanged);
  CHECK(t.kinds() == std::vector<ChangeKind>{ChangeKind::kSeverity});
  const auto* a = t.table.find(t.fp("db1"));
  CHECK(a->severity == Severity::kCritical);
  CHECK(a->previous_severity == Severity::kWarning);
  CHECK(t.push("db1", Severity::kCritical, Status::kFiring, "now 98%") == Outcome::kChanged);
  CHECK(t.kinds().empty());
  CHECK(a->view().field(engine::AlertStrings::kSummary) == "now 98%");
  CHECK(t.push("db1", Severity::kCritical, Status::kResolved, "now 98%") == Outcome::kResolved);
  CHECK(t.kinds() == std::vector<ChangeKind>{ChangeKind::kResolved});
  CHECK(t.table.firing() == 0);
  CHECK(t.push("db1", Severity::kMajor) == Outcome::kChanged);
  CHECK(t.kinds() == std::vector<ChangeKind>{ChangeKind::kRefired});
}

TEST_CASE("A resolution that only names its alert keeps the alert's texts", "[dedup]") {
  Timeline t;
  double v = 91;
  t.push("db1", Severity::kMajor, Status::kFiring, "disk 91%", &v);
  t.kinds();
  auto resolve = [&](bool names_only) {
    api::BatchBuilder b(t.opts, t.now);
    auto& e = b.begin(0);
    e.resource = "db1";
    e.check = "check";
    e.status = Status::kResolved;
    e.names_only = names_only;
    b.addLabel("team", "ops");
    REQUIRE(b.finish());
    auto batch = b.take();
    return t.table.apply(*batch, batch->events[0], t.now, t.changes);
  };
  CHECK(resolve(true) == Outcome::kResolved);
  CHECK(t.kinds() == std::vector<ChangeKind>{ChangeKind::kResolved});
  const auto* a = t.table.find(t.fp("db1"));
  REQUIRE(a);
  CHECK(a->view().field(engine::AlertStrings::kSummary) == "disk 91%");
  double kept = 0;
  CHECK((a->view().value(kept) && kept == 91));
  CHECK(a->severity == Severity::kMajor);
  // The same resolution carrying content (a native event) replaces the texts.
  t.push("db1", Severity::kMajor, Status::kFiring, "disk 91%", &v);
  CHECK(resolve(false) == Outcome::kResolved);
  CHECK(a->view().field(engine::AlertStrings::kSummary).empty());
}

TEST_CASE("A resolution for an alert never seen is ignored", "[dedup]") {
  Timeline t;
  CHECK(t.push("ghost", Severity::kWarning, Status::kResolved) == Outcome::kIgnored);
  CHECK(t.table.size() == 0);
}

TEST_CASE(
    "A firing alert not refreshed within its resolve timeout resolves, exactly at the deadline",
    "[dedup][time]") {
  Timeline t;
  t.push("db1");
  t.kinds();
  t.now += 5000;
  t.push("db1");  // refresh: deadline now 1'015'000
  CHECK(t.table.expire(1'014'999, t.changes) == 0);
  CHECK(t.kinds().empty());
  CHECK(t.table.expire(1'015'000, t.changes) == 1);
  CHECK(t.kinds() == std::vector<ChangeKind>{ChangeKind::kResolved});
  CHECK(t.table.find(t.fp("db1"))->status == Status::kResolved);
  // Resolved alerts stay visible for the retention (60 s here), then go.
  t.table.expire(1'015'000 + 59'999, t.changes);
  CHECK(t.table.size() == 1);
  t.table.expire(1'015'000 + 60'000, t.changes);
  CHECK(t.table.size() == 0);
}

TEST_CASE("Fetching an alert ahead reads nothing beyond the table and changes nothing", "[dedup]") {
  Timeline t;
  t.push("db1", Severity::kWarning, Status::kFiring, "load 1");
  t.push("gone", Severity::kWarning, Status::kResolved);  // never seen: not kept
  t.push("old");
  t.push("old", Severity::kWarning, Status::kResolved);
  t.table.expire(t.now + 60'000, t.changes);  // "old" is forgotten: its slot is free
  REQUIRE(t.table.size() == 1);
  for (const char* r : {"db1", "gone", "old", "never"}) {
    uint64_t fp = t.fp(r);
    t.table.prefetchSlot(fp);
    t.table.prefetchAlert(fp);
    // The strings are fetched only for an event that changes its alert's content.
    CHECK_FALSE(t.table.prefetchStrings(t.event(r, "load 1")->events[0]));
  }
  CHECK(t.table.prefetchStrings(t.event("db1", "load 2")->events[0]));
  const double v = 1.5;
  CHECK(t.table.prefetchStrings(t.event("db1", "load 1", &v)->events[0]));  // a new value
  const auto* a = t.table.find(t.fp("db1"));
  REQUIRE(a);
  CHECK(a->count == 1);
  CHECK(a->view().field(engine::AlertStrings::kSummary) == "load 1");
  CHECK(t.table.find(t.fp("old")) == nullptr);
}

TEST_CASE("Alternating states start flapping, flag their changes, and stop when stable",
          "[dedup][flapping]") {
  Timeline t({true, 5.0, 20.0});
  t.push("db1", Severity::kWarning);
  t.kinds();
  std::vector<engine::AlertChange> seen;
  for (int i = 0; i < 8; ++i) {
    t.push("db1", i % 2 ? Severity::kWarning : Severity::kCritical);
    for (const auto& c : t.changes) seen.push_back(c);
    t.changes.clear();
  }
  const auto* a = t.table.find(t.fp("db1"));
  CHECK(a->flapping);
  // Every change goes out (the correlator and the service state follow the alert's real
  // state); once flapping started, they are flagged so that nobody is told of each flip.
  auto started = std::find_if(seen.begin(), seen.end(),
                              [](const auto& c) { return c.kind == ChangeKind::kFlappingStarted; });
  REQUIRE(started != seen.end());
  CHECK(std::count_if(seen.begin(), seen.end(),
                      [](const auto& c) { return c.kind == ChangeKind::kFlappingStarted; }) == 1);
  CHECK(std::all_of(seen.begin(), started, [](const auto& c) { return !c.flapping; }));
  REQUIRE(started + 1 != seen.end());
  for (auto it = started + 1; it != seen.end(); ++it) {
    CHECK(it->kind == ChangeKind::kSeverity);
    CHECK(it->flapping);
  }
  CHECK(seen.back().severity == a->severity);
  // Stable observations push the weighted percentage below 5 %.
  int stable = 0;
  while (a->flapping && stable < 40) {
    t.push("db1", a->severity);
    ++stable;
  }
  CHECK_FALSE(a->flapping);
  CHECK(t.kinds().back() == ChangeKind::kFlappingStopped);
  CHECK(stable <= 21);
}

TEST_CASE("Flap percentages follow Nagios' weighting", "[flapping]") {
  engine::Alert a;
  a.flap_history = 0;
  CHECK(a.flapPercent() == 0.0);
  a.flap_history = (1u << 20) - 1;  // all 20 transitions changed
  CHECK(a.flapPercent() == Approx(99.0));
  a.flap_history = 1;  // only the newest: weight 1.18 → 5.9 %
  CHECK(a.flapPercent() == Approx(5.9));
  a.flap_history = 1u << 19;  // only the oldest: weight 0.80 → 4 %
  CHECK(a.flapPercent() == Approx(4.0));
}

TEST_CASE(
    "A new value or a new text of the same size is written in place: exact, and without "
    "allocating",
    "[dedup]") {
  Timeline t;
  double v1 = 97.5, v2 = 98.25, v3 = 98.25;
  REQUIRE(t.push("db1", Severity::kWarning, Status::kFiring, "disk 97.5% full", &v1) ==
          Outcome::kNew);
  uint64_t fp = t.fp("db1");
  const char* blob = t.table.find(fp)->strings.get();
  uint64_t saved = 0;
  t.table.forEachUnsaved([&](const engine::Alert&, bool) { ++saved; });
  // Only the value changes: a change, checkpointed, in the same allocation.
  const std::string summary = "disk 97.5% full";
  CHECK(t.push("db1", Severity::kWarning, Status::kFiring, summary.c_str(), &v2) ==
        Outcome::kChanged);
  double got = 0;
  REQUIRE(t.table.find(fp)->view().value(got));
  CHECK(got == 98.25);
  CHECK(t.table.find(fp)->strings.get() == blob);
  bool content = false;
  t.table.forEachUnsaved([&](const engine::Alert&, bool c) { content = c; });
  CHECK(content);
  // The same value again is a duplicate.
  CHECK(t.push("db1", Severity::kWarning, Status::kFiring, summary.c_str(), &v3) ==
        Outcome::kDuplicate);
  // A new summary of the same length, and the value: repacked over the old blob.
  CHECK(t.push("db1", Severity::kWarning, Status::kFiring, "disk 98.2% full", &v1) ==
        Outcome::kChanged);
  const auto* a = t.table.find(fp);
  CHECK(a->strings.get() == blob);
  CHECK(a->view().field(engine::AlertStrings::kSummary) == "disk 98.2% full");
  CHECK(a->view().label(0).value == "ops");
  REQUIRE(a->view().value(got));
  CHECK(got == 97.5);
  // A much longer one needs a new allocation, and the value may go away.
  std::string longer(200, 'x');
  CHECK(t.push("db1", Severity::kWarning, Status::kFiring, longer.c_str()) == Outcome::kChanged);
  a = t.table.find(fp);
  CHECK(a->view().field(engine::AlertStrings::kSummary) == longer);
  CHECK_FALSE(a->view().value(got));
  // The stored form keeps the value (and refuses a blob cut short).
  double v4 = -0.5;
  t.push("db1", Severity::kWarning, Status::kFiring, "short", &v4);
  auto rec = engine::AlertRecord::of(*t.table.find(fp), true);
  CHECK(engine::AlertStrings::wellFormed(rec.strings));
  CHECK_FALSE(engine::AlertStrings::wellFormed(rec.strings.substr(0, 12)));
  AlertTable other;
  REQUIRE(other.restore(rec));
  REQUIRE(other.find(fp)->view().value(got));
  CHECK(got == -0.5);
  CHECK(other.find(fp)->view().field(engine::AlertStrings::kSummary) == "short");
}

TEST_CASE("The label signature finds every alert with the asked pairs, and follows new labels",
          "[dedup]") {
  Timeline t;
  api::IngestOptions opts;
  opts.name = "test";
  auto push = [&](const char* key, const char* resource, const char* team) {
    api::BatchBuilder b(opts, t.now);
    auto& e = b.begin(0);
    e.resource = b.keep(resource);
    e.check = "check";
    e.dedup_key = b.keep(key);  // the identity: the labels may change
    b.addLabel("team", team);
    b.addLabel("env", "prod");
    REQUIRE(b.finish());
    auto batch = b.take();
    t.table.apply(*batch, batch->events[0], t.now, t.changes);
  };
  for (int i = 0; i < 1000; ++i) {
    // Not "k" + std::to_string(i): GCC 12 warns -Wrestrict on it (a false positive).
    char key[16], res[16];
    std::snprintf(key, sizeof key, "k%d", i);
    std::snprintf(res, sizeof res, "host%d", i);
    push(key, res, i % 10 ? "ops" : "db");
  }
  auto visit = [&](engine::LabelSig need, std::string_view team) {
    size_t visited = 0, matching = 0;
    t.table.forEachMaybe(need, [&](uint64_t, const engine::Alert& a) {
      ++visited;
      std::string_view v;
      matching += a.view().findLabel("team", v) && v == team;
    });
    return std::pair{visited, matching};
  };
  engine::LabelSig db;
  db.add("team", "db");
  auto [visited, matching] = visit(db, "db");
  CHECK(matching == 100);  // none missed
  CHECK(visited < 150);    // and few others read
  engine::LabelSig one;
  one.add(engine::LabelSig::fieldKey(engine::AlertStrings::kResource), "host7");
  CHECK(visit(one, "ops").first < 10);
  // host7 moves to team db: its signature follows.
  push("k7", "host7", "db");
  CHECK(visit(db, "db").second == 101);
  engine::LabelSig all;  // an empty signature visits everything
  CHECK(visit(all, "db").first == 1000);
}

TEST_CASE(
    "With the default key an alert's signature follows a new service, and its labels come "
    "with the fingerprint",
    "[dedup]") {
  Table t;
  auto& table = t.table;
  auto event = [&](const char* service, const char* summary, const char* key = "") {
    return t.build([&](api::BatchBuilder& b, api::Event& e) {
      e.service = b.keep(service);
      e.summary = b.keep(summary);
      e.dedup_key = b.keep(key);
      b.addLabel("team", "ops");
    });
  };
  // The builder says when the fingerprint covers source, resource, check and labels.
  CHECK(event("a", "")->events[0].signed_by_fingerprint);
  CHECK_FALSE(event("a", "", "k1")->events[0].signed_by_fingerprint);
  {
    api::IngestOptions some = t.opts;
    some.fingerprint.all_labels = false;
    some.fingerprint.labels = {"team"};
    auto batch =
        t.build([](api::BatchBuilder& b, api::Event&) { b.addLabel("team", "ops"); }, &some);
    CHECK_FALSE(batch->events[0].signed_by_fingerprint);
  }
  auto visited = [&](const char* service) {  // what the signature lets a filter read
    engine::LabelSig need;
    need.add(engine::LabelSig::fieldKey(engine::AlertStrings::kService), service);
    size_t n = 0;
    table.forEachMaybe(need, [&](uint64_t, const engine::Alert&) { ++n; });
    return n;
  };
  for (auto [service, summary] : {std::pair{"a", "one"}, {"a", "two"}, {"b", "three"}}) {
    auto batch = event(service, summary);
    table.apply(*batch, batch->events[0], 1000, t.changes);
  }
  CHECK(table.size() == 1);
  CHECK(visited("b") == 1);  // re-signed with its new service
  CHECK(visited("a") == 0);
}

TEST_CASE(
    "An alert's strings are one copy shared with the correlator: the table rewrites them in "
    "place while they fit, and takes new bytes only when they outgrow them",
    "[dedup]") {
  Timeline t;
  double v = 91;
  t.push("db1", Severity::kMajor, Status::kFiring, "disk 91%", &v);
  const auto* a = t.table.find(t.fp("db1"));
  REQUIRE(a);
  CHECK(a->strings.unique());
  engine::SharedStrings held(a->strings.share());  // as CorrelatorInput::from holds them
  CHECK(!a->strings.unique());
  auto read = [](const engine::SharedStrings& s) {
    engine::StringsCopy copy(s);
    engine::AlertStrings view(copy.data());
    double x = 0;
    view.value(x);
    return std::string(view.field(engine::AlertStrings::kSummary)) + " " + std::to_string(x);
  };
  auto one = [&] { return held.same(engine::SharedStrings(a->strings.share())); };
  CHECK(read(held) == "disk 91% 91.000000");
  // A new value, then a new text that fits: written where the holder reads them.
  v = 92;
  CHECK(t.push("db1", Severity::kMajor, Status::kFiring, "disk 91%", &v) == Outcome::kChanged);
  CHECK(one());
  CHECK(read(held) == "disk 91% 92.000000");
  v = 93;
  t.push("db1", Severity::kMajor, Status::kFiring, "disk 93%", &v);
  CHECK(one());
  CHECK(read(held) == "disk 93% 93.000000");
  // A text that outgrows the bytes: new ones for the table; the holder keeps what it had.
  t.push("db1", Severity::kMajor, Status::kFiring, "disk 93%, and growing by 1% an hour", &v);
  CHECK(!one());
  CHECK(a->strings.unique());
  CHECK(read(held) == "disk 93% 93.000000");
  CHECK(std::string(a->view().field(engine::AlertStrings::kSummary)) ==
        "disk 93%, and growing by 1% an hour");
  // The last holder frees them (ASan checks that nothing is freed twice or leaked).
  held = engine::SharedStrings();
  CHECK(a->strings.unique());
}

TEST_CASE(
    "New texts of an alert's same lengths are written over the old ones, whoever holds them, "
    "and other texts are packed again",
    "[dedup]") {
  Table t;
  auto& table = t.table;
  auto push = [&](const char* summary, const char* description, const char* runbook, double value) {
    return t.push([&](api::BatchBuilder& b, api::Event& e) {
      e.summary = b.keep(summary);
      e.description = b.keep(description);
      e.has_value = true;
      e.value = value;
      b.addLabel("team", "ops");
      b.addLabel("env", "prod");
      b.addAnnotation("runbook", runbook);
    });
  };
  auto texts = [](const char* blob) {
    engine::AlertStrings v(blob);
    double x = 0;
    v.value(x);
    std::string out = std::string(v.field(engine::AlertStrings::kSummary)) + "|" +
                      std::string(v.field(engine::AlertStrings::kDescription)) + "|" +
                      std::string(v.annotation(0).value) + "|" + std::to_string(x);
    v.forEachLabel(
        [&](api::Label l) { out.append("|").append(l.name).append("=").append(l.value); });
    return out;
  };
  uint64_t fp = push("disk 91%", "on /var", "rb/1", 91);
  const auto* a = table.find(fp);
  REQUIRE(a);
  // Alone: summary, description and annotation of the same lengths, in place.
  push("disk 92%", "on /tmp", "rb/2", 92);
  CHECK(texts(a->strings.get()) == "disk 92%|on /tmp|rb/2|92.000000|env=prod|team=ops");
  // Shared: the holder sees the same, in one rewrite.
  engine::SharedStrings held(a->strings.share());
  const char* bytes = a->strings.get();
  uint32_t seq = a->strings.sequence();
  push("disk 93%", "on /usr", "rb/3", 93);
  CHECK(a->strings.get() == bytes);
  CHECK(a->strings.sequence() == seq + 2);  // one rewrite: no copy sees the value without its texts
  {
    engine::StringsCopy copy(held);
    CHECK(texts(copy.data()) == "disk 93%|on /usr|rb/3|93.000000|env=prod|team=ops");
  }
  // A text of another length moves what follows it: packed again (in place while it fits).
  push("disk 9%", "on /usr", "rb/3", 9);
  {
    engine::StringsCopy copy(held);
    CHECK(texts(copy.data()) == "disk 9%|on /usr|rb/3|9.000000|env=prod|team=ops");
  }
  push("disk 94%", "on /usr", "runbooks/disk", 94);
  CHECK(texts(a->strings.get()) == "disk 94%|on /usr|runbooks/disk|94.000000|env=prod|team=ops");
  // Nothing but the count and the texts changed.
  CHECK(a->count == 5);
  CHECK(table.size() == 1);
}

TEST_CASE("A holder on another thread reads an alert's strings whole while the table rewrites them",
          "[dedup]") {
  Timeline t;
  const char* summaries[] = {"disk 91% full", "load 7.5 of 8", "swap in use 1", "inodes at 98"};
  double v = 1;
  t.push("db1", Severity::kMajor, Status::kFiring, summaries[0], &v);
  const auto* a = t.table.find(t.fp("db1"));
  REQUIRE(a);
  engine::SharedStrings held(a->strings.share());
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, reads{0};
  std::thread reader([&] {
    while (!done.load(std::memory_order_acquire)) {
      engine::StringsCopy copy(held);
      engine::AlertStrings view(copy.data());
      std::string summary(view.field(engine::AlertStrings::kSummary));
      std::string_view team;
      double x = 0;
      bool whole = view.findLabel("team", team) && team == "ops" && view.value(x);
      // Each write puts summary i with value i + 1: a copy taken across two writes mixes them.
      int i = static_cast<int>(x) - 1;
      if (!whole || i < 0 || i > 3 || summary != summaries[i]) torn.fetch_add(1);
      reads.fetch_add(1, std::memory_order_relaxed);
    }
  });
  for (int n = 0; n < 200'000; ++n) {
    int i = n % 4;
    v = i + 1;
    t.push("db1", Severity::kMajor, Status::kFiring, summaries[i], &v);
  }
  done.store(true, std::memory_order_release);
  reader.join();
  CHECK(held.same(engine::SharedStrings(a->strings.share())));  // every rewrite in place
  CHECK(reads.load() > 0);
  CHECK(torn.load() == 0);
}

TEST_CASE(
    "New labels or service under the same dedup_key are a change of their own, sent before a "
    "resolution and not with a re-firing, new texts alone are not",
    "[dedup]") {
  Timeline t;
  auto push = [&](const char* team, const char* service, const char* summary,
                  Status st = Status::kFiring) {
    api::BatchBuilder b(t.opts, t.now);
    auto& e = b.begin(0);
    e.resource = "db1";
    e.check = "disk";
    e.dedup_key = "db1-disk";
    e.service = b.keep(service);
    e.summary = b.keep(summary);
    e.status = st;
    b.addLabel("team", team);
    REQUIRE(b.finish());
    auto batch = b.take();
    return t.table.apply(*batch, batch->events[0], t.now, t.changes);
  };
  using K = std::vector<ChangeKind>;
  CHECK(push("storage", "db", "91%") == Outcome::kNew);
  CHECK(t.kinds() == K{ChangeKind::kNew});
  CHECK(push("storage", "db", "97%") == Outcome::kChanged);  // a new text: no change sent
  CHECK(t.kinds().empty());
  CHECK(push("dba", "db", "97%") == Outcome::kChanged);
  CHECK(t.kinds() == K{ChangeKind::kRelabeled});
  CHECK(push("dba", "payments", "97%") == Outcome::kChanged);  // the service is signed too
  CHECK(t.kinds() == K{ChangeKind::kRelabeled});
  CHECK(push("ops", "payments", "ok", Status::kResolved) == Outcome::kResolved);
  CHECK(t.kinds() == K{ChangeKind::kRelabeled, ChangeKind::kResolved});
  CHECK(push("dba", "payments", "99%") == Outcome::kChanged);  // re-fired: strings go with it
  CHECK(t.kinds() == K{ChangeKind::kRefired});
  // With the default key the labels are the identity: new ones are a new alert.
  CHECK(t.push("db2") == Outcome::kNew);
  CHECK(t.push("db2", Severity::kWarning, Status::kFiring, "new text") == Outcome::kChanged);
  t.changes.clear();
}

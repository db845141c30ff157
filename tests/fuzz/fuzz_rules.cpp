// libFuzzer harness for rule files: any bytes as a rule file must give a rule set or a list of
// errors, never a crash; a rule set that loads then correlates a few alerts, and its service
// levels are evaluated and reported on for the current and previous periods, and who is on
// call is asked of each on-call schedule.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "correlate/correlator.h"
#include "evaluate/evaluator.h"
#include "triaged/api/ingest.h"
#include "triaged/rules/rule_set.h"

using namespace triaged;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_create("rules", 0);
  if (fd < 0) return 0;
  if (write(fd, data, size) != static_cast<ssize_t>(size)) {
    close(fd);
    return 0;
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  config::ConfigErrors errors;
  auto rs = rules::RuleSet::load({path}, errors);
  close(fd);
  if (!rs) {
    if (errors.empty()) std::abort();
    return 0;
  }
  engine::Correlator c(rs, engine::CorrelatorOptions{});
  int64_t now = 1'767'225'600'000;
  engine::Evaluator ev(rs, now);
  api::IngestOptions io;
  io.name = "fuzz";
  const char* resources[] = {"db1", "san1", "web1", "lb1", "x"};
  for (int i = 0; i < 10; ++i) {
    api::BatchBuilder b(io, now);
    auto& e = b.begin(0);
    e.resource = resources[i % 5];
    e.check = i % 2 ? "node_down" : "disk_error";
    e.status = i >= 8 ? api::Status::kResolved : api::Status::kFiring;
    b.addLabel("n", std::to_string(i % 3));
    if (!b.finish()) continue;
    auto batch = b.take();
    std::vector<engine::CorrelatorInput> in(1);
    in[0].change = {batch->events[0].fingerprint,
                    i >= 8 ? engine::ChangeKind::kResolved : engine::ChangeKind::kNew,
                    api::Severity::kMajor,
                    api::Severity::kMajor,
                    batch->events[0].status,
                    false,
                    now};
    in[0].strings = engine::SharedStrings(engine::AlertStrings::pack(*batch, batch->events[0]));
    c.apply(in, now);
    std::vector<uint64_t> ids;
    for (const auto& inc : c.incidents())
      if (inc.id) ids.push_back(inc.id);
    ev.onIncidents(c, ids, now);
    now += 60'000;
  }
  c.advance(now + 86'400'000);
  ev.advance(now + 86'400'000);
  for (const auto& h : rs->heartbeats())
    ev.heartbeat(h.name, engine::Evaluator::Signal::kPing, now);
  for (uint32_t a = 0; a < rs->agreements().size(); ++a) {
    const auto& ag = rs->agreements()[a];
    const auto& cal = rs->calendars()[ag.calendar];
    auto p = rules::sla::periodAt(ag.period, cal, now);
    ev.report(a, p, now + 86'400'000);
    ev.report(a, rules::sla::previousPeriod(ag.period, cal, p), now + 86'400'000);
  }
  // Who is on call, and until when, for every schedule.
  for (const auto& s : rs->oncallSchedules()) {
    auto shift = s.at(now, {}, rs->calendars());
    if (shift.person >= static_cast<int>(s.people.size())) std::abort();
    if (shift.until != INT64_MAX && shift.until <= now) std::abort();
  }
  return 0;
}

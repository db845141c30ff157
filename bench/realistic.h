// The realistic event stream of triaged-loadgen: what a monitoring system really sends.
//   - every event of an alert carries a new `value` and a summary that quotes it;
//   - alerts resolve (3 % of the events of a firing alert) and fire again (20 % of the events
//     of a resolved one; the rest repeat the resolution, as Alertmanager re-sends resolved
//     alerts); a severity changes on 1 % of events;
//   - a flapping subset (1 alert in 50) alternates firing and resolved on every event;
// About 7 % of the events change an alert's state and 13 % are resolutions, as measured on
// the stream of issue #14.
//   - 20 % of the keys exist from the start, the others arrive evenly over the stream;
//   - ten labels and two annotations per alert.
// Keys are split by connection (key k goes to connection k % connections) so each key's events
// keep their order whatever the transport, and the generator knows what each alert must end
// as: its count, status, last summary and last value. Deterministic for a seed.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace loadgen {

struct Expected {
  uint64_t count = 0;
  bool firing = true;
  std::string summary;
  double value = 0;
};

class RealisticStream {
 public:
  // Fills lines[from, to) of connection `c` of `connections`, over keys < distinct.
  static void generate(uint64_t distinct, unsigned c, unsigned connections, uint64_t seed,
                       std::vector<std::string>& lines, uint64_t from, uint64_t to,
                       std::vector<Expected>& expected) {
    std::vector<uint64_t> keys;  // this connection's keys, in arrival order
    for (uint64_t k = c; k < distinct; k += connections) keys.push_back(k);
    if (keys.empty() || to <= from) return;
    uint64_t n = to - from, start = (keys.size() + 4) / 5;
    uint64_t rng = seed * 0x9E3779B97F4A7C15ULL + c + 1;
    auto next = [&rng] {  // xorshift64*
      rng ^= rng >> 12;
      rng ^= rng << 25;
      rng ^= rng >> 27;
      return rng * 0x2545F4914F6CDD1DULL;
    };
    struct State {
      bool seen = false, firing = true, critical = true;
      int value = 900;  // tenths of a percent
    };
    std::vector<State> state(keys.size());
    uint64_t arrived = std::min<uint64_t>(start, keys.size());
    for (uint64_t i = 0; i < n; ++i) {
      // Keys beyond `start` arrive evenly: key j at event (j - start) * n / (keys - start).
      uint64_t k;
      if (arrived < keys.size() && i >= (arrived - start) * n / (keys.size() - start)) {
        k = arrived++;  // a new alert: its first event fires
      } else {
        k = next() % arrived;
        State& s = state[k];
        uint64_t r = next() % 100;
        if (s.seen && keys[k] % 50 == 0)  // (an alert's first event fires)
          s.firing = !s.firing;           // the flapping subset
        else if (s.seen)
          s.firing = s.firing ? r >= 3 : r < 20;
        if (next() % 100 == 0) s.critical = !s.critical;
        s.value += static_cast<int>(next() % 21) - 10;
        if (s.value < 500 || s.value > 1000) s.value = 900;
      }
      State& s = state[k];
      s.seen = true;
      Expected& e = expected[keys[k]];
      ++e.count;
      e.firing = s.firing;
      e.value = s.value / 10.0;
      char summary[96];
      std::snprintf(summary, sizeof summary, "Filesystem /var on host-%07llu is %d.%d%% full",
                    static_cast<unsigned long long>(keys[k]), s.value / 10, s.value % 10);
      e.summary = summary;
      lines[from + i] = event(keys[k], s, summary);
    }
  }

 private:
  template <class S>
  static std::string event(uint64_t host, const S& s, const char* summary) {
    char buf[1024];
    int len = std::snprintf(
        buf, sizeof buf,
        R"({"resource":"host-%07llu.dc1.example.com","check":"DiskFull","severity":"%s",)"
        R"("status":"%s","service":"billing","summary":"%s","value":%d.%d,)"
        R"("labels":{"alertname":"DiskFull","cluster":"c%llu","dc":"fra1","device":"/dev/sda1",)"
        R"("env":"prod","fstype":"ext4","job":"node","mount":"/var","namespace":"monitoring",)"
        R"("team":"storage"},)"
        R"("annotations":{"dashboard":"https://grafana.example.com/d/node-disk",)"
        R"("runbook":"https://runbooks.example.com/disk-full"}})",
        static_cast<unsigned long long>(host), s.critical ? "critical" : "warning",
        s.firing ? "firing" : "resolved", summary, s.value / 10, s.value % 10,
        static_cast<unsigned long long>(host % 16));
    return std::string(buf, static_cast<size_t>(len));
  }
};

}  // namespace loadgen

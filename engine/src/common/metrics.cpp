#include "common/metrics.h"

#include <dirent.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <sstream>

namespace triaged::engine {

HotCounterFamily::HotCounterFamily(
    std::string name, std::string help,
    std::vector<std::vector<std::pair<std::string, std::string>>> series, size_t writers)
    : name_(std::move(name)),
      help_(std::move(help)),
      series_(std::move(series)),
      writers_(std::max<size_t>(1, writers)),
      // Round each writer's row up to a cache line so writers never share one.
      stride_((series_.size() + 7) / 8 * 8),
      slots_(new Slot[writers_ * stride_]) {}

uint64_t HotCounterFamily::value(size_t series) const {
  uint64_t sum = 0;
  for (size_t w = 0; w < writers_; ++w)
    sum += slots_[w * stride_ + series].v.load(std::memory_order_relaxed);
  return sum;
}

std::vector<prometheus::MetricFamily> HotCounterFamily::Collect() const {
  prometheus::MetricFamily f;
  f.name = name_;
  f.help = help_;
  f.type = prometheus::MetricType::Counter;
  for (size_t s = 0; s < series_.size(); ++s) {
    prometheus::ClientMetric m;
    for (const auto& [k, v] : series_[s]) m.label.push_back({k, v});
    m.counter.value = static_cast<double>(value(s));
    f.metric.push_back(std::move(m));
  }
  return {std::move(f)};
}

namespace {

// Boot time as wall-clock seconds, without /proc/stat (hidden under systemd's ProcSubset=pid).
double bootTimeSeconds() {
  timespec real{}, boot{};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_BOOTTIME, &boot);
  return static_cast<double>(real.tv_sec - boot.tv_sec) + (real.tv_nsec - boot.tv_nsec) / 1e9;
}

// Fields of /proc/self/stat after the command name: index 0 is field 3 (state).
std::vector<std::string> statFields() {
  std::ifstream in("/proc/self/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = all.rfind(')');
  std::vector<std::string> out;
  if (close == std::string::npos) return out;
  std::istringstream ss(all.substr(close + 2));
  std::string f;
  while (ss >> f) out.push_back(f);
  return out;
}

prometheus::MetricFamily gauge(const char* name, const char* help, double v,
                               prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter)
    m.counter.value = v;
  else
    m.gauge.value = v;
  f.metric.push_back(m);
  return f;
}

}  // namespace

ProcessCollector::ProcessCollector() {
  auto f = statFields();
  long ticks = sysconf(_SC_CLK_TCK);
  if (f.size() > 19 && ticks > 0)
    start_time_seconds_ = bootTimeSeconds() + std::stod(f[19]) / static_cast<double>(ticks);
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  auto f = statFields();
  long ticks = sysconf(_SC_CLK_TCK);
  long page = sysconf(_SC_PAGESIZE);
  if (f.size() > 21 && ticks > 0) {
    double cpu = (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(ticks);
    out.push_back(gauge("process_cpu_seconds_total",
                        "Total user and system CPU time spent in seconds.", cpu,
                        prometheus::MetricType::Counter));
    out.push_back(
        gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", std::stod(f[20])));
    out.push_back(gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                        std::stod(f[21]) * static_cast<double>(page)));
  }
  size_t fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (auto* e = readdir(d))
      if (e->d_name[0] != '.') ++fds;
    closedir(d);
    if (fds > 0) --fds;  // the directory handle itself
  }
  out.push_back(
      gauge("process_open_fds", "Number of open file descriptors.", static_cast<double>(fds)));
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
    out.push_back(gauge("process_max_fds", "Maximum number of open file descriptors.",
                        static_cast<double>(rl.rlim_cur)));
  out.push_back(gauge("process_start_time_seconds",
                      "Start time of the process since unix epoch in seconds.",
                      start_time_seconds_));
  return out;
}

std::string serializeMetrics(const std::vector<std::weak_ptr<prometheus::Collectable>>& sources) {
  std::vector<prometheus::MetricFamily> all;
  for (const auto& w : sources) {
    if (auto s = w.lock()) {
      auto fams = s->Collect();
      all.insert(all.end(), std::make_move_iterator(fams.begin()),
                 std::make_move_iterator(fams.end()));
    }
  }
  return prometheus::TextSerializer().Serialize(all);
}

}  // namespace triaged::engine

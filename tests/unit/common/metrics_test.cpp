#include "common/metrics.h"

#include <catch2/catch.hpp>
#include <thread>

using namespace triaged::engine;

TEST_CASE("Hot counters sum every writer's slot at scrape time", "[metrics]") {
  auto fam = std::make_shared<HotCounterFamily>(
      "triaged_test_total", "test",
      std::vector<std::vector<std::pair<std::string, std::string>>>{{{"k", "a"}}, {{"k", "b"}}}, 2);
  std::thread t1([&] {
    for (int i = 0; i < 100000; ++i) fam->add(0, 0);
  });
  std::thread t2([&] {
    for (int i = 0; i < 100000; ++i) fam->add(1, 0, 2);
  });
  t1.join();
  t2.join();
  fam->add(1, 1, 5);
  CHECK(fam->value(0) == 300000);
  CHECK(fam->value(1) == 5);
  auto text = serializeMetrics({fam});
  CHECK(text.find("triaged_test_total{k=\"a\"} 300000") != std::string::npos);
  CHECK(text.find("# TYPE triaged_test_total counter") != std::string::npos);
}

TEST_CASE("Process metrics use the standard names and sane values", "[metrics]") {
  auto pc = std::make_shared<ProcessCollector>();
  auto text = serializeMetrics({pc});
  for (const char* name :
       {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
        "process_max_fds", "process_start_time_seconds", "process_virtual_memory_bytes"}) {
    INFO(name);
    CHECK(text.find(std::string("\n") + name + " ") != std::string::npos);
  }
  auto pos = text.find("\nprocess_start_time_seconds ");
  double start = std::stod(text.substr(pos + 28));
  double now = static_cast<double>(std::time(nullptr));
  CHECK(start > now - 3600);
  CHECK(start <= now + 1);
}

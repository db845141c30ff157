#include "triaged/config/units.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "triaged/config/reader.h"

using triaged::config::Duration;
using triaged::config::formatDuration;
using triaged::config::parseDuration;

TEST_CASE("Durations parse in Prometheus syntax", "[config]") {
  CHECK(parseDuration("0") == Duration{0});
  CHECK(parseDuration("500ms") == Duration{500});
  CHECK(parseDuration("30s") == Duration{30'000});
  CHECK(parseDuration("1h30m") == Duration{5'400'000});
  CHECK(parseDuration("2w1d") == Duration{15LL * 86'400'000});
  CHECK(parseDuration("1m1s1ms") == Duration{61'001});
}

TEST_CASE("Malformed durations are refused", "[config]") {
  for (const char* bad : {"", "30", "s", "1.5s", "-1s", "1x", "1s1h", "1h1h", "10 s", " 1s",
                          "99999999999999999999s"}) {
    INFO(bad);
    CHECK_FALSE(parseDuration(bad).has_value());
  }
}

TEST_CASE("Formatted durations parse back to themselves", "[config]") {
  for (int64_t ms : {1LL, 999LL, 1000LL, 90'000LL, 3'600'000LL, 694'861'001LL}) {
    auto s = formatDuration(Duration{ms});
    CHECK(parseDuration(s) == Duration{ms});
  }
  CHECK(formatDuration(Duration{90'000}) == "1m30s");
}

TEST_CASE("A text file over 16 MiB is refused, naming why, without reading it all", "[config]") {
  auto dir = std::filesystem::temp_directory_path() / ("triaged-big-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / "big.rules";
  {
    std::ofstream out(path, std::ios::binary);
    std::string mib(1 << 20, 'x');
    for (int i = 0; i < 17; ++i) out << mib;
  }
  std::string text, why;
  CHECK_FALSE(triaged::config::readTextFile(path, text, why));
  CHECK(why == "is larger than 16 MiB");
  CHECK(text.empty());
  std::filesystem::resize_file(path, 16 << 20);
  CHECK(triaged::config::readTextFile(path, text, why));
  CHECK(text.size() == (16u << 20));
  std::filesystem::remove_all(dir);
}

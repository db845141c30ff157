#include "temp_config.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <vector>

#include "triaged/config/loader.h"
#include "triaged/rules/rule_set.h"

namespace triaged::testing {

namespace fs = std::filesystem;

namespace {

// Every folder tempDir made, removed when the process ends: a test that fails (or forgets)
// does not leave its database and logs in the temporary folder of the machine running CI.
struct Made {
  std::mutex mu;
  std::vector<fs::path> dirs;
  pid_t owner = ::getpid();
  ~Made() {
    if (::getpid() != owner) return;  // a forked child leaves its parent's folders alone
    std::error_code ec;
    for (const auto& d : dirs) fs::remove_all(d, ec);
  }
};
Made& made() {
  static Made m;
  return m;
}

}  // namespace

fs::path tempDir(const std::string& tag) {
  static std::atomic<int> n{0};
  fs::path dir = fs::temp_directory_path() /
                 ("triaged-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto& m = made();
  std::lock_guard lock(m.mu);
  m.dirs.push_back(dir);
  return dir;
}

config::ConfigPtr configWith(const std::string& rules_yaml, const std::string& extra) {
  fs::path dir = tempDir("config");
  std::ofstream(dir / "rules.yaml") << rules_yaml;
  std::ofstream(dir / "triaged.yaml") << "rule_files: [rules.yaml]\n" << extra;
  return config::loadConfig((dir / "triaged.yaml").string(),
                            [](config::Config& c, config::ConfigErrors& errors) {
                              c.rule_set = rules::RuleSet::load(c.rule_files_resolved, errors);
                            });
}

}  // namespace triaged::testing

// Rule files that are wrong: every error names the file, the line and the key path, and all
// of them are reported at once (a rule set is never half loaded).
#include "triaged/rules/rule_set.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace triaged;

namespace {

std::vector<config::ConfigError> errorsOf(const std::string& yaml) {
  static int n = 0;
  auto path =
      std::filesystem::temp_directory_path() /
      ("triaged-ruleset-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".yaml");
  std::ofstream(path) << yaml;
  std::vector<config::ConfigError> errors;
  auto rs = rules::RuleSet::load({path.string()}, errors);
  std::filesystem::remove(path);
  return errors;
}

bool has(const std::vector<config::ConfigError>& errors, const std::string& path,
         const std::string& text, int line) {
  for (const auto& e : errors)
    if (e.path == path && e.message.find(text) != std::string::npos && e.line == line) return true;
  return false;
}

std::string dump(const std::vector<config::ConfigError>& errors) {
  std::string s;
  for (const auto& e : errors) s += e.str() + "\n";
  return s;
}

}  // namespace

TEST_CASE("Rule file errors name line and path, all at once", "[rules]") {
  auto errors = errorsOf(R"(configuration_items:
  - name: db1
    depends_on: [nowhere]
groups:
  - name: g
    rules:
      - name: r1
        match: '{check=~"("}'
      - name: r2
        type: threshold
        count: 0
        window: soon
maintenance_windows:
  - name: mw
    cis: [db1]
    start: 2026-01-01T02:00:00Z
    end: yesterday
bogus_key: 1
)");
  INFO(dump(errors));
  CHECK(errors.size() >= 5);
  CHECK(has(errors, "groups[0].rules[0].match", "", 8));
  CHECK(has(errors, "groups[0].rules[1].window", "", 12));
  CHECK(has(errors, "maintenance_windows[0].end", "", 17));
  CHECK(has(errors, "bogus_key", "", 18));
  bool unknown_ci = false;
  for (const auto& e : errors) unknown_ci |= e.message.find("nowhere") != std::string::npos;
  CHECK(unknown_ci);
}

TEST_CASE("A valid rule file loads without errors", "[rules]") {
  auto errors = errorsOf(R"(configuration_items:
  - name: db1
groups:
  - name: g
    rules:
      - name: r1
        match: '{check="down"}'
)");
  CHECK(errors.empty());
}

TEST_CASE("A load stops reading rule files once those read have 1,000 errors", "[rules]") {
  auto dir = std::filesystem::temp_directory_path() /
             ("triaged-ruleset-many-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::vector<std::string> files;
  for (int i = 0; i < 1010; ++i) {  // each one error (a key rule files do not have)
    files.push_back((dir / ("r" + std::to_string(i) + ".yaml")).string());
    std::ofstream(files.back()) << "colour: red\n";
  }
  std::vector<config::ConfigError> errors;
  CHECK(rules::RuleSet::load(files, errors) == nullptr);
  REQUIRE(errors.size() == rules::RuleSet::kMaxLoadErrors + 1);
  CHECK(errors[999].file == files[999]);
  CHECK(errors.back().file == files[1000]);
  CHECK(errors.back().message ==
        "not read, nor the 9 rule files after it: the ones before it have 1000 errors");
  // Fewer errors than that: every file is read and every error reported.
  files.resize(999);
  errors.clear();
  CHECK(rules::RuleSet::load(files, errors) == nullptr);
  CHECK(errors.size() == 999);
  std::filesystem::remove_all(dir);
}

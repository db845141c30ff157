#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "app/full_config.h"
#include "builtin_plugins.h"
#include "triaged/config/loader.h"
#include "triaged/config/rule_files.h"

using namespace triaged;
namespace fs = std::filesystem;

namespace {

std::string expectedFor(const fs::path& file) {
  std::ifstream in(file);
  std::string first;
  std::getline(in, first);
  const std::string prefix = "# expect: ";
  REQUIRE(first.rfind(prefix, 0) == 0);
  return first.substr(prefix.size());
}

}  // namespace

TEST_CASE("Every bad config file is rejected with the error its name and header promise",
          "[config]") {
  auto plugins = plugins::builtinPlugins();
  size_t cases = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(TRIAGED_TEST_DATA) / "config" / "bad")) {
    if (entry.path().extension() != ".yaml") continue;
    ++cases;
    DYNAMIC_SECTION(entry.path().filename().string()) {
      std::string expected = expectedFor(entry.path());
      bool threw = false;
      try {
        engine::loadFullConfig(entry.path().string(), plugins);
      } catch (const config::ConfigException& e) {
        threw = true;
        std::string all;
        for (const auto& err : e.errors()) all += err.str() + "\n";
        INFO("errors:\n" << all);
        CHECK(all.find(expected) != std::string::npos);
        // Every error names its file.
        for (const auto& err : e.errors()) CHECK(!err.file.empty());
      }
      CHECK(threw);
    }
  }
  CHECK(cases >= 15);
}

TEST_CASE("A config with every section set loads with those values", "[config]") {
  auto c = config::loadConfig(std::string(TRIAGED_TEST_DATA) + "/config/good/full.yaml");
  CHECK(c->server.host == "::1");
  CHECK(c->server.port == 0);
  CHECK(c->server.io_threads == 2);
  CHECK(c->server.max_body_bytes == 1024);
  CHECK(c->server.idle_timeout == std::chrono::seconds(90));
  CHECK(c->server.write_timeout == std::chrono::milliseconds(500));
  CHECK(c->auth.admin.bearer_tokens == std::vector<std::string>{"admin-secret"});
  CHECK(c->auth.ingest.bearer_tokens == std::vector<std::string>{"ingest-one", "ingest-two"});
  CHECK(c->auth.read.bearer_tokens == std::vector<std::string>{"reader"});
  CHECK(c->state.durability == "async");
  CHECK(c->state.mmap_bytes == 67108864);
  CHECK(c->logging.format == "json");
  CHECK(c->pipeline.shards == 3);
  CHECK(c->pipeline.retry_after == std::chrono::seconds(2));
  CHECK(c->alertmanager_api.labels == std::vector<std::pair<std::string, std::string>>{
                                          {"alertname", "check"}, {"host", "resource"}});
  CHECK(c->hash.size() == 64);
}

TEST_CASE("An empty config file and no file at all both mean the embedded defaults", "[config]") {
  auto empty = config::loadConfig(std::string(TRIAGED_TEST_DATA) + "/config/good/empty.yaml");
  auto none = config::loadConfig("");
  for (const auto& c : {empty, none}) {
    CHECK(c->server.host == "127.0.0.1");
    CHECK(c->server.port == 9470);
    CHECK(c->state.durability == "sync");
    CHECK(c->state.mmap_bytes == 0);
    CHECK(c->server.io_threads >= 1);
  }
}

TEST_CASE("Several errors in one file are all reported at once", "[config]") {
  auto dir = fs::temp_directory_path() / ("triaged-config-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto file = dir / "many.yaml";
  std::ofstream(file)
      << "server:\n  bogus: 1\n  max_connections: x\nlogging:\n  level: loud\nnope: 1\n";
  try {
    config::loadConfig(file.string());
    FAIL("expected an exception");
  } catch (const config::ConfigException& e) {
    REQUIRE(e.errors().size() == 4);
    std::map<std::string, int> lines;
    for (const auto& err : e.errors()) lines[err.path] = err.line;
    CHECK(lines == std::map<std::string, int>{{"server.bogus", 2},
                                              {"server.max_connections", 3},
                                              {"logging.level", 5},
                                              {"nope", 6}});
  }
  fs::remove_all(dir);
}

TEST_CASE("The shipped default config is valid", "[config]") {
  auto plugins = plugins::builtinPlugins();
  auto src = fs::path(TRIAGED_TEST_DATA).parent_path().parent_path();
  auto c = engine::loadFullConfig((src / "config" / "triaged.yaml").string(), plugins);
  CHECK(c->server.host == "127.0.0.1");
  CHECK(!c->rule_files_resolved.empty());
}

TEST_CASE("Listen addresses parse as host:port, [v6]:port and :port", "[config]") {
  std::string h;
  uint16_t p;
  CHECK(config::parseListen("127.0.0.1:80", h, p));
  CHECK((h == "127.0.0.1" && p == 80));
  CHECK(config::parseListen("[::1]:9470", h, p));
  CHECK((h == "::1" && p == 9470));
  CHECK(config::parseListen(":0", h, p));
  CHECK((h == "0.0.0.0" && p == 0));
  CHECK_FALSE(config::parseListen("localhost", h, p));
  CHECK_FALSE(config::parseListen("a:65536", h, p));
  CHECK_FALSE(config::parseListen("::1:80", h, p));
  CHECK_FALSE(config::parseListen("a:", h, p));
}

TEST_CASE("rule_files that would read a folder tree are refused, naming the entry", "[config]") {
  auto dir = fs::temp_directory_path() / ("triaged-rule-files-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "odd");
  REQUIRE(::mkfifo((dir / "odd" / "fifo.yaml").c_str(), 0600) == 0);
  std::ofstream(dir / "odd" / "ok.yaml") << "services: []\n";

  auto errorOf = [&](const std::string& rule_files) {
    std::ofstream(dir / "triaged.yaml") << "rule_files: " << rule_files << "\n";
    try {
      config::loadConfig((dir / "triaged.yaml").string());
    } catch (const config::ConfigException& e) {
      REQUIRE(e.errors().size() == 1);
      return e.errors()[0];
    }
    FAIL("expected an exception");
    return config::ConfigError{};
  };
  SECTION("more than 64 MiB in all") {
    fs::create_directories(dir / "big");
    for (int i = 0; i < 5; ++i) {  // 5 x 13 MiB: each under the 16 MiB of one, 65 MiB in all
      std::ofstream(dir / "big" / (std::to_string(i) + ".yaml"));
      fs::resize_file(dir / "big" / (std::to_string(i) + ".yaml"), size_t{13} << 20);
    }
    auto e = errorOf("[big/*]");
    CHECK(e.path == "rule_files[0]");
    CHECK(e.message.find("\"big/*\" matches rule files of more than 64 MiB in all (at \"") == 0);
  }
  SECTION("a FIFO is passed over, not waited on") {
    std::ofstream(dir / "triaged.yaml") << "rule_files: [odd/*]\n";
    auto c = config::loadConfig((dir / "triaged.yaml").string());
    CHECK(c->rule_files_resolved.size() == 2);  // the rules module reports the FIFO
  }
  fs::remove_all(dir);
}

TEST_CASE("The config hash covers the file and its rule files, read in pieces", "[config]") {
  auto dir = fs::temp_directory_path() / ("triaged-config-hash-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "rules");
  std::string config_text = "rule_files: [rules/*.yaml]\n";
  std::ofstream(dir / "triaged.yaml") << config_text;
  std::string big(200'000, 'x');  // several pieces of 64 KiB
  big = "# " + big + "\nservices: []\n";
  std::ofstream(dir / "rules" / "b.yaml") << big;
  std::ofstream(dir / "rules" / "a.yaml") << "services: []\n";
  auto c = config::loadConfig((dir / "triaged.yaml").string());
  // The file's text, then each rule file in path order as NUL, path, NUL, content.
  auto a = (dir / "rules" / "a.yaml").string();
  auto b = (dir / "rules" / "b.yaml").string();
  std::string whole = config_text + '\0' + a + '\0' + "services: []\n" + '\0' + b + '\0' + big;
  CHECK(c->hash == config::sha256Hex(whole));
  config::Sha256 h;
  h.update("ab");
  h.update("c");
  CHECK(h.hex() == config::sha256Hex("abc"));

  std::string why = "unset";
  size_t read = 0;
  size_t size = 0;
  int pieces = 0;
  CHECK_FALSE(config::readFilePieces(
      b, [&](std::string_view p) { return ++pieces < 2 && p.size() <= 65536; }, why, &read, &size));
  CHECK(pieces == 2);  // stopped where asked, with no reason to give
  CHECK(why.empty());
  CHECK(size == big.size());
  CHECK(read == 2 * 65536);
  CHECK_FALSE(config::readFilePieces(
      dir / "rules", [](std::string_view) { return true; }, why));
  CHECK(why == "is a directory");
  fs::remove_all(dir);
}

TEST_CASE("rule_files globs stop at their bounds of files and folder entries", "[config]") {
  auto dir = fs::temp_directory_path() / ("triaged-rule-bounds-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  for (int d = 0; d < 5; ++d) {
    fs::create_directories(dir / "tree" / std::to_string(d));
    for (int i = 0; i < 4; ++i)
      std::ofstream(dir / "tree" / std::to_string(d) / (std::to_string(i) + ".yaml")) << "{}\n";
  }
  config::ConfigErrors errors;
  config::ErrorSink sink((dir / "triaged.yaml").string(), errors);
  YAML::Node node = YAML::Load("[tree/0/*.yaml, tree/*/*]");
  std::vector<std::string> patterns = {"tree/0/*.yaml", "tree/*/*"};
  auto resolve = [&](config::RuleFileBounds b) {
    errors.clear();
    config::Sha256 hash;
    std::vector<std::string> resolved;
    config::resolveRuleFiles(patterns, node, sink, hash, resolved, b);
    return resolved;
  };
  // 20 files; the walk reads tree/0 (6 entries with . and ..), then tree (7) and its 5 folders
  // (30): 43 entries.
  CHECK(resolve({20, 1 << 20, 43}).size() == 20);
  CHECK(errors.empty());
  CHECK(resolve({19, 1 << 20, 43}).empty());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].path == "rule_files[1]");
  CHECK(errors[0].message ==
        "\"tree/*/*\" matches more than 19 files; name the rule files, not a folder tree");
  CHECK(resolve({20, 1 << 20, 42}).empty());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].path == "rule_files[1]");
  CHECK(errors[0].message ==
        "\"tree/*/*\" walks more than 42 folder entries; name the rule files, not a folder tree");
  fs::remove_all(dir);
}

TEST_CASE("A person is shown the first hundred errors and how many more there are", "[config]") {
  config::ConfigErrors errors;
  for (int i = 0; i < 20'595; ++i) errors.push_back({"r.yaml", i + 1, 1, "", "bad"});
  auto lines = config::errorLines(errors);
  REQUIRE(lines.size() == config::kShownErrors + 1);
  CHECK(lines.front() == "r.yaml:1:1: bad");
  CHECK(lines[99] == "r.yaml:100:1: bad");
  CHECK(lines.back() == "... and 20495 more errors not shown");
  errors.resize(100);
  lines = config::errorLines(errors);
  CHECK(lines.size() == 100);  // exactly the limit: nothing said to be hidden
  CHECK(lines.back() == "r.yaml:100:1: bad");
  CHECK(config::errorLines({}).empty());
}

// libFuzzer harness for the configuration loader: any bytes as a config file must produce a
// config or a list of errors, never a crash.
//
// The input is written as etc/triaged.yaml in a private folder laid out as an installation is
// (etc/rules/ and rules/ beside it, each with the example rule set), so the shipped config's
// relative rule_files and *_file keys find real files. Not a memfd under /proc/self/fd: paths
// relative to that folder (a glob of "../*", say) read /proc/self/pagemap and smaps, up to
// 16 MiB each, which made most executions cost tens of milliseconds in the kernel.
//
// The folder is on /dev/shm where there is one: on ext4 every execution's truncate-and-close
// of the input started a writeback (its auto_da_alloc), 1.5-2.4x the time of a small config.
// etc/rules/ holds the example rule set and rules/ a small one of its own, so the shipped
// config's two globs load two files that merge (the same file twice only doubled the time of
// the rules module's parse, which fuzz_rules covers).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "app/full_config.h"
#include "builtin_plugins.h"

namespace {

std::string root_dir;

void removeInstallation() {
  std::error_code ec;
  std::filesystem::remove_all(root_dir, ec);
}

std::string makeInstallation() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path base = fs::is_directory("/dev/shm", ec) && access("/dev/shm", W_OK) == 0
                      ? fs::path("/dev/shm")
                      : fs::temp_directory_path();
  // A run stopped by a signal or a finding leaves its folder (libFuzzer exits without atexit
  // handlers): the folders of processes that are gone are removed first. The name holds the
  // process id for that.
  for (const auto& entry : fs::directory_iterator(base, ec)) {
    std::string name = entry.path().filename().string();
    unsigned long pid = 0;
    if (std::sscanf(name.c_str(), "fuzz-config-%lu-", &pid) == 1 && pid != 0 &&
        ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      fs::remove_all(entry.path(), ec);
  }
  std::string tmpl = (base / ("fuzz-config-" + std::to_string(::getpid()) + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) std::abort();
  fs::path root(tmpl);
  root_dir = tmpl;
  std::atexit(removeInstallation);
  fs::create_directories(root / "etc" / "rules");
  fs::copy_file(TRIAGED_EXAMPLE_RULES, root / "etc" / "rules" / "datacenter.yaml");
  fs::create_directories(root / "rules");
  std::ofstream(root / "rules" / "extra.yaml")
      << "configuration_items:\n  - name: fuzz-app\n    depends_on: [db1]\n"
         "services:\n  - name: fuzz\n    cis: [fuzz-app]\n";
  return (root / "etc" / "triaged.yaml").string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto plugins = triaged::plugins::builtinPlugins();
  static const std::string path = makeInstallation();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  if (write(fd, data, size) != static_cast<ssize_t>(size)) std::abort();
  close(fd);
  try {
    triaged::engine::loadFullConfig(path, plugins);
  } catch (const triaged::config::ConfigException& e) {
    if (e.errors().empty()) std::abort();
  }
  return 0;
}

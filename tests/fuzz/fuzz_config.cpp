// libFuzzer harness for the configuration loader: any bytes as a config file must produce a
// config or a list of errors, never a crash.
//
// The input is written as etc/triaged.yaml in a private folder laid out as an installation is
// (etc/rules/ and rules/ beside it, each with the example rule set), so the shipped config's
// relative rule_files and *_file keys find real files. Not a memfd under /proc/self/fd: paths
// relative to that folder (a glob of "../*", say) read /proc/self/pagemap and smaps, up to
// 16 MiB each, which made most executions cost tens of milliseconds in the kernel.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "app/daemon.h"
#include "builtin_plugins.h"

namespace {

std::string root_dir;

void removeInstallation() {
  std::error_code ec;
  std::filesystem::remove_all(root_dir, ec);
}

std::string makeInstallation() {
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "fuzz-config-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) std::abort();
  fs::path root(tmpl);
  root_dir = tmpl;
  std::atexit(removeInstallation);
  for (const char* dir : {"etc/rules", "rules"}) {
    fs::create_directories(root / dir);
    fs::copy_file(TRIAGED_EXAMPLE_RULES, root / dir / "datacenter.yaml");
  }
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

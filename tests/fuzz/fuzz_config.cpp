// libFuzzer harness for the configuration loader: any bytes as a config file must produce a
// config or a list of errors, never a crash.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "app/daemon.h"
#include "builtin_plugins.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto plugins = triaged::plugins::builtinPlugins();
  int fd = memfd_create("config", 0);
  if (fd < 0) return 0;
  if (write(fd, data, size) != static_cast<ssize_t>(size)) {
    close(fd);
    return 0;
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    triaged::engine::loadFullConfig(path, plugins);
  } catch (const triaged::config::ConfigException& e) {
    if (e.errors().empty()) std::abort();
  }
  close(fd);
  return 0;
}

// The triaged executable: the engine's command line, wired to the built-in plugins.
#include "app/daemon.h"
#include "builtin_plugins.h"

int main(int argc, char** argv) {
  auto plugins = triaged::plugins::builtinPlugins();
  return triaged::engine::runMain(argc, argv, plugins);
}

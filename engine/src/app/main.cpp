// The triaged executable: the engine's command line, wired to the built-in plugins.
#include "builtin_plugins.h"
#include "app/daemon.h"

int main(int argc, char** argv) {
  auto plugins = triaged::plugins::builtinPlugins();
  return triaged::engine::runMain(argc, argv, plugins);
}

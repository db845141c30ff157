#include "builtin_plugins.h"

namespace triaged::plugins {

api::PluginRegistry builtinPlugins() {
  api::PluginRegistry r;
  return r;
}

}  // namespace triaged::plugins

#include "builtin_plugins.h"

#include "inputs/native_json/native_json_input.h"

namespace triaged::plugins {

api::PluginRegistry builtinPlugins() {
  api::PluginRegistry r;
  r.addInput(nativeJsonPlugin());
  return r;
}

}  // namespace triaged::plugins

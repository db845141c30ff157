// The one explicit list of built-in plugins (no static self-registration, which static
// linking would silently drop).
#pragma once

#include "triaged/api/plugin.h"

namespace triaged::plugins {

api::PluginRegistry builtinPlugins();

}  // namespace triaged::plugins

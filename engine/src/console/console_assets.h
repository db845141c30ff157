// The console's files, built into the binary from engine/src/console/assets (embed.cmake).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace triaged::engine {

struct ConsoleAsset {
  const char* name;  // "index.html", "app.js", ...
  const char* data;
  size_t size;
  std::string_view bytes() const { return {data, size}; }
};

const std::vector<ConsoleAsset>& consoleAssets();

}  // namespace triaged::engine

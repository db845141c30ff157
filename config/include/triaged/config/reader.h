// Strict YAML reading: typed getters that record every error with file:line and key path,
// and reject unknown keys. Used by the core config and by every plugin's own section, so all
// configuration speaks with one voice. Single-threaded; lives only while a config is built.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "triaged/config/errors.h"
#include "triaged/config/units.h"

namespace triaged::config {

// Collects errors for one file.
class ErrorSink {
 public:
  ErrorSink(std::string file, ConfigErrors& out) : file_(std::move(file)), out_(out) {}
  void add(const YAML::Mark& mark, const std::string& path, const std::string& message);
  void add(const YAML::Node& node, const std::string& path, const std::string& message);
  const std::string& file() const { return file_; }
  // Directory of the file, for resolving relative paths in it.
  std::filesystem::path baseDir() const;
  size_t count() const { return out_.size(); }

 private:
  std::string file_;
  ConfigErrors& out_;
};

// Reads one YAML mapping. Every key must be taken by a getter before finish(), or it is
// reported as unknown. Getters leave the output untouched when the key is absent or invalid.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path, ErrorSink& sink);
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;
  ~MapReader() = default;

  bool valid() const { return valid_; }
  bool has(const char* key) const;
  // Raw access, marking the key as known. Returns an undefined node when absent.
  YAML::Node take(const char* key);

  void getString(const char* key, std::string& out, bool required = false);
  void getBool(const char* key, bool& out);
  void getInt(const char* key, int64_t& out, int64_t min, int64_t max);
  template <class T>
  void getUnsigned(const char* key, T& out, uint64_t max = UINT32_MAX) {
    int64_t v = static_cast<int64_t>(out);
    getInt(key, v, 0, static_cast<int64_t>(max));
    out = static_cast<T>(v);
  }
  void getDouble(const char* key, double& out, double min, double max);
  void getDuration(const char* key, Duration& out, Duration min = Duration{0});
  void getStringList(const char* key, std::vector<std::string>& out);
  void getEnum(const char* key, std::string& out, const std::vector<std::string>& allowed);
  // The same into an enumeration: `names` pairs each allowed name with its value; `out` keeps
  // its value when the key is absent or wrong.
  template <class E>
  void getEnum(const char* key, E& out, const std::vector<std::pair<std::string, E>>& names) {
    std::string v;
    std::vector<std::string> allowed;
    for (const auto& [name, e] : names) {
      allowed.push_back(name);
      if (e == out && v.empty()) v = name;
    }
    getEnum(key, v, allowed);
    for (const auto& [name, e] : names)
      if (name == v) out = e;
  }
  // Map of string to string (labels and the like).
  void getStringMap(const char* key, std::vector<std::pair<std::string, std::string>>& out);
  // A secret given inline as `key` or read from the file named by `key_file`; not both.
  void getSecret(const char* key, std::string& out);
  // The same for any text that may come inline or from a file (`what` names it in errors).
  void getInlineOrFile(const char* key, std::string& out, const char* what);

  // Reports unknown keys. Call once after all getters.
  void finish();

  std::string childPath(const std::string& key) const;
  ErrorSink& sink() { return sink_; }
  const YAML::Node& node() const { return node_; }

 private:
  YAML::Node node_;
  std::string path_;
  ErrorSink& sink_;
  std::set<std::string> known_;
  bool valid_ = true;
};

// Reads a whole regular file (symlinks followed) of at most 16 MiB (configuration, rule,
// token and secret files are small; a glob that matched a log or /proc must not exhaust
// memory). On failure returns false and sets `why` to the reason ("is a directory", "is larger
// than 16 MiB", "No such file or directory", ...); never throws. `read`, when given, counts
// the bytes read whether or not the file was taken (a budget over many files, say).
inline constexpr size_t kMaxTextFileBytes = size_t{16} << 20;
bool readTextFile(const std::filesystem::path& path, std::string& out, std::string& why,
                  size_t* read = nullptr);

// The same file read in pieces of at most 64 KiB, each handed to `piece` as it is read, so
// that a file can be hashed or scanned without being held in memory. `piece` returns false to
// stop the read: the call then returns false with `why` empty. On the errors above it returns
// false with their `why`; pieces already handed stay handed. `size`, when given, is set to the
// size the file reports before the first piece (0 for a file of /proc, read all the same).
bool readFilePieces(const std::filesystem::path& path,
                    const std::function<bool(std::string_view)>& piece, std::string& why,
                    size_t* read = nullptr, size_t* size = nullptr);

// Reads a YAML file into a node, reporting syntax errors with their position.
// Returns an undefined node on failure.
YAML::Node loadYamlFile(const std::string& path, ConfigErrors& errors,
                        std::string* contents = nullptr);

// Iterates a sequence node, calling fn(element, "path[i]") for each; reports a non-sequence.
void forEachInList(const YAML::Node& node, const std::string& path, ErrorSink& sink,
                   const std::function<void(const YAML::Node&, const std::string&)>& fn);

}  // namespace triaged::config

#include "triaged/config/reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace triaged::config {
namespace {

const char* typeName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

std::string quoted(const YAML::Node& n) {
  if (n.IsScalar()) return "\"" + n.Scalar() + "\"";
  return typeName(n);
}

}  // namespace

bool readFilePieces(const std::filesystem::path& path,
                    const std::function<bool(std::string_view)>& piece, std::string& why,
                    size_t* read, size_t* size) {
  // POSIX calls, not iostreams: libstdc++'s filebuf opens a directory and then throws from
  // its first read, and a stream cannot say why it failed.
  // O_NONBLOCK: a FIFO matched by a glob is refused below instead of blocking the open.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    why = std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    why = S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file";
    ::close(fd);
    return false;
  }
  if (size) *size = static_cast<size_t>(st.st_size);
  size_t total = 0;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      total += static_cast<size_t>(n);
      if (read) *read += static_cast<size_t>(n);
      if (total > kMaxTextFileBytes) {  // a glob that matched a log or /proc, say
        why = "is larger than 16 MiB";
        ::close(fd);
        return false;
      }
      if (!piece(std::string_view(buf, static_cast<size_t>(n)))) {
        why.clear();
        ::close(fd);
        return false;
      }
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      why = std::strerror(errno);
      ::close(fd);
      return false;
    }
  }
  ::close(fd);
  return true;
}

bool readTextFile(const std::filesystem::path& path, std::string& out, std::string& why,
                  size_t* read) {
  std::string text;
  size_t size = 0;
  bool ok = readFilePieces(
      path,
      [&](std::string_view piece) {
        if (text.empty()) text.reserve(std::min(size, kMaxTextFileBytes));
        text.append(piece);
        return true;
      },
      why, read, &size);
  if (ok) out = std::move(text);
  return ok;
}

void ErrorSink::add(const YAML::Mark& mark, const std::string& path, const std::string& message) {
  ConfigError e;
  e.file = file_;
  if (!mark.is_null()) {
    e.line = mark.line + 1;
    e.column = mark.column + 1;
  }
  e.path = path;
  e.message = message;
  out_.push_back(std::move(e));
}

void ErrorSink::add(const YAML::Node& node, const std::string& path, const std::string& message) {
  add(node.IsDefined() ? node.Mark() : YAML::Mark::null_mark(), path, message);
}

std::filesystem::path ErrorSink::baseDir() const {
  auto p = std::filesystem::path(file_).parent_path();
  return p.empty() ? std::filesystem::path(".") : p;
}

MapReader::MapReader(const YAML::Node& node, std::string path, ErrorSink& sink)
    // An absent or empty section means all defaults. (A missing key yields an invalid node,
    // which yaml-cpp refuses to assign to, so choose before constructing.)
    : node_(!node.IsDefined() || node.IsNull() ? YAML::Node(YAML::NodeType::Map) : node),
      path_(std::move(path)),
      sink_(sink) {
  if (!node_.IsMap()) {
    sink_.add(node, path_.empty() ? "<root>" : path_,
              std::string("expected a mapping, got ") + typeName(node));
    valid_ = false;
    // Callers may still look keys up (for error positions): give them an empty mapping, never
    // a scalar that yaml-cpp would throw on (found by fuzz_config).
    node_ = YAML::Node(YAML::NodeType::Map);
  }
}

std::string MapReader::childPath(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

bool MapReader::has(const char* key) const { return valid_ && node_[key].IsDefined(); }

YAML::Node MapReader::take(const char* key) {
  known_.insert(key);
  if (!valid_) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node& cnode = node_;
  return cnode[key];
}

void MapReader::getString(const char* key, std::string& out, bool required) {
  YAML::Node n = take(key);
  if (!n.IsDefined() || n.IsNull()) {
    if (required && valid_) sink_.add(node_, childPath(key), "is required");
    return;
  }
  if (!n.IsScalar()) {
    sink_.add(n, childPath(key), std::string("expected a string, got ") + typeName(n));
    return;
  }
  out = n.Scalar();
}

void MapReader::getBool(const char* key, bool& out) {
  YAML::Node n = take(key);
  if (!n.IsDefined()) return;
  bool v;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    sink_.add(n, childPath(key), "expected true or false, got " + quoted(n));
    return;
  }
  out = v;
}

void MapReader::getInt(const char* key, int64_t& out, int64_t min, int64_t max) {
  YAML::Node n = take(key);
  if (!n.IsDefined()) return;
  int64_t v;
  if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v)) {
    sink_.add(n, childPath(key), "expected an integer, got " + quoted(n));
    return;
  }
  if (v < min || v > max) {
    sink_.add(n, childPath(key),
              "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                  std::to_string(v));
    return;
  }
  out = v;
}

void MapReader::getDouble(const char* key, double& out, double min, double max) {
  YAML::Node n = take(key);
  if (!n.IsDefined()) return;
  double v;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || std::isnan(v)) {
    sink_.add(n, childPath(key), "expected a number, got " + quoted(n));
    return;
  }
  if (v < min || v > max) {
    std::ostringstream ss;
    ss << "must be between " << min << " and " << max << ", got " << v;
    sink_.add(n, childPath(key), ss.str());
    return;
  }
  out = v;
}

void MapReader::getDuration(const char* key, Duration& out, Duration min) {
  YAML::Node n = take(key);
  if (!n.IsDefined()) return;
  if (!n.IsScalar()) {
    sink_.add(n, childPath(key), std::string("expected a duration string, got ") + typeName(n));
    return;
  }
  auto d = parseDuration(n.Scalar());
  if (!d) {
    sink_.add(n, childPath(key),
              "invalid duration " + quoted(n) + " (use e.g. \"500ms\", \"30s\", \"1h30m\")");
    return;
  }
  if (*d < min) {
    sink_.add(n, childPath(key), "must be at least " + formatDuration(min));
    return;
  }
  out = *d;
}

void MapReader::getStringList(const char* key, std::vector<std::string>& out) {
  YAML::Node n = take(key);
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsSequence()) {
    sink_.add(n, childPath(key), std::string("expected a list of strings, got ") + typeName(n));
    return;
  }
  std::vector<std::string> v;
  bool ok = true;
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      sink_.add(n[i], childPath(key) + "[" + std::to_string(i) + "]",
                std::string("expected a string, got ") + typeName(n[i]));
      ok = false;
      continue;
    }
    v.push_back(n[i].Scalar());
  }
  if (ok) out = std::move(v);
}

void MapReader::getEnum(const char* key, std::string& out,
                        const std::vector<std::string>& allowed) {
  YAML::Node n = take(key);
  if (!n.IsDefined()) return;
  if (n.IsScalar()) {
    for (const auto& a : allowed) {
      if (a == n.Scalar()) {
        out = a;
        return;
      }
    }
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  sink_.add(n, childPath(key), "expected one of " + list + ", got " + quoted(n));
}

void MapReader::getStringMap(const char* key,
                             std::vector<std::pair<std::string, std::string>>& out) {
  YAML::Node n = take(key);
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsMap()) {
    sink_.add(n, childPath(key), std::string("expected a mapping, got ") + typeName(n));
    return;
  }
  std::vector<std::pair<std::string, std::string>> v;
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->second.IsScalar()) {
      sink_.add(it->second, childPath(key) + "." + it->first.Scalar(),
                std::string("expected a string, got ") + typeName(it->second));
      continue;
    }
    v.emplace_back(it->first.Scalar(), it->second.Scalar());
  }
  out = std::move(v);
}

void MapReader::getSecret(const char* key, std::string& out) {
  getInlineOrFile(key, out, "secret");
}

void MapReader::getInlineOrFile(const char* key, std::string& out, const char* what) {
  std::string file_key = std::string(key) + "_file";
  std::string inline_value, file;
  bool has_inline = has(key), has_file = has(file_key.c_str());
  getString(key, inline_value);
  YAML::Node fn = node_[file_key];
  getString(file_key.c_str(), file);
  if (has_inline && has_file) {
    sink_.add(fn, childPath(file_key),
              std::string("set either ") + key + " or " + file_key + ", not both");
    return;
  }
  if (has_inline) {
    out = inline_value;
    return;
  }
  if (!has_file) return;
  std::filesystem::path p(file);
  if (p.is_relative()) p = sink_.baseDir() / p;
  std::string content;
  std::string why;
  if (!readTextFile(p, content, why)) {
    sink_.add(fn, childPath(file_key),
              std::string("cannot read ") + what + " file \"" + file + "\": " + why);
    return;
  }
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.pop_back();
  if (content.empty()) {
    sink_.add(fn, childPath(file_key), std::string(what) + " file \"" + file + "\" is empty");
    return;
  }
  out = std::move(content);
}

void MapReader::finish() {
  if (!valid_) return;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string& k = it->first.Scalar();
    if (!known_.count(k)) sink_.add(it->first, childPath(k), "unknown key");
  }
}

YAML::Node loadYamlFile(const std::string& path, ConfigErrors& errors, std::string* contents) {
  std::string text;
  std::string why;
  if (!readTextFile(path, text, why)) {
    errors.push_back({path, 0, 0, "", "cannot read file: " + why});
    return YAML::Node(YAML::NodeType::Undefined);
  }
  try {
    YAML::Node n = YAML::Load(text);
    if (contents) *contents = std::move(text);
    return n;
  } catch (const YAML::Exception& e) {
    ConfigError err{path, 0, 0, "", "YAML syntax error: " + e.msg};
    if (!e.mark.is_null()) {
      err.line = e.mark.line + 1;
      err.column = e.mark.column + 1;
    }
    errors.push_back(std::move(err));
    return YAML::Node(YAML::NodeType::Undefined);
  }
}

void forEachInList(const YAML::Node& node, const std::string& path, ErrorSink& sink,
                   const std::function<void(const YAML::Node&, const std::string&)>& fn) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsSequence()) {
    sink.add(node, path, std::string("expected a list, got ") + typeName(node));
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) fn(node[i], path + "[" + std::to_string(i) + "]");
}

}  // namespace triaged::config

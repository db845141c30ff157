#include "triaged/config/rule_files.h"

#include <dirent.h>
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>

namespace triaged::config {
namespace {

// glob(3) through our own readdir, which counts the directory entries one load may walk: a
// pattern such as "/*/*/*/*/*" stops at the budget instead of walking a filesystem for seconds.
// glob takes plain function pointers, hence the thread-local budget.
thread_local size_t t_entries_left = 0;
thread_local bool t_walk_cut = false;

void* openDir(const char* path) { return ::opendir(path); }
struct dirent* readDir(void* dir) {
  struct dirent* entry = ::readdir(static_cast<DIR*>(dir));
  if (!entry) return nullptr;
  if (t_entries_left == 0) {
    t_walk_cut = true;
    return nullptr;
  }
  --t_entries_left;
  return entry;
}
void closeDir(void* dir) { ::closedir(static_cast<DIR*>(dir)); }
int statPath(const char* path, struct stat* st) { return ::stat(path, st); }
int lstatPath(const char* path, struct stat* st) { return ::lstat(path, st); }

}  // namespace

void resolveRuleFiles(const std::vector<std::string>& patterns, const YAML::Node& node,
                      ErrorSink& sink, Sha256& hash, std::vector<std::string>& resolved,
                      const RuleFileBounds& bounds) {
  auto refuse = [&](size_t i, const std::string& why) {
    sink.add(node[i], "rule_files[" + std::to_string(i) + "]",
             "\"" + patterns[i] + "\" " + why + "; name the rule files, not a folder tree");
  };
  std::map<std::string, size_t> matched;  // file -> the first entry that matched it
  t_entries_left = bounds.entries;
  t_walk_cut = false;
  for (size_t i = 0; i < patterns.size(); ++i) {
    std::filesystem::path pattern(patterns[i]);
    if (pattern.is_relative()) pattern = sink.baseDir() / pattern;
    glob_t g{};
    g.gl_opendir = openDir;
    g.gl_readdir = readDir;
    g.gl_closedir = closeDir;
    g.gl_stat = statPath;
    g.gl_lstat = lstatPath;
    int rc = ::glob(pattern.c_str(), GLOB_NOSORT | GLOB_ALTDIRFUNC, nullptr, &g);
    if (t_walk_cut) {
      ::globfree(&g);
      refuse(i, "walks more than " + std::to_string(bounds.entries) + " folder entries");
      return;
    }
    bool over = false;
    if (rc == 0) {
      for (size_t k = 0; k < g.gl_pathc && !over; ++k) {
        matched.emplace(g.gl_pathv[k], i);
        over = matched.size() > bounds.files;
      }
    } else if (rc != GLOB_NOMATCH) {
      sink.add(node[i], "rule_files[" + std::to_string(i) + "]", "invalid glob pattern");
    }
    ::globfree(&g);
    if (over) {
      refuse(i, "matches more than " + std::to_string(bounds.files) + " files");
      return;
    }
  }
  auto overBytes = [&](size_t i, const std::string& f) {
    refuse(i, "matches rule files of more than " + std::to_string(bounds.bytes >> 20) +
                  " MiB in all (at \"" + f + "\")");
  };
  // The sizes the files report first: a glob over large files is refused without reading
  // them. Files of /proc report 0 and are bounded by what is read below.
  size_t bytes = 0;
  for (const auto& [f, i] : matched) {
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    bytes += std::min(static_cast<size_t>(st.st_size), kMaxTextFileBytes + 1);
    if (bytes > bounds.bytes) return overBytes(i, f);
  }
  bytes = 0;
  std::vector<std::string> files;
  for (const auto& [f, i] : matched) {
    hash.update(std::string_view("\0", 1));
    hash.update(f);
    hash.update(std::string_view("\0", 1));
    std::string why;
    // A file it cannot read, or too large, is left for the rules module to report; what it
    // read of it is hashed and counts towards the bound.
    bool over = false;
    readFilePieces(
        f,
        [&](std::string_view piece) {
          over = bytes > bounds.bytes;
          if (!over) hash.update(piece);
          return !over;
        },
        why, &bytes);
    if (over || bytes > bounds.bytes) return overBytes(i, f);
    files.push_back(f);
  }
  resolved.insert(resolved.end(), files.begin(), files.end());
}

}  // namespace triaged::config

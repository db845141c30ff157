#include "rule_files.h"

#include <glob.h>

#include <filesystem>
#include <map>

namespace triaged::config {

void resolveRuleFiles(const std::vector<std::string>& patterns, const YAML::Node& node,
                      ErrorSink& sink, std::string& hash_input,
                      std::vector<std::string>& resolved) {
  auto refuse = [&](size_t i, const std::string& why) {
    sink.add(node[i], "rule_files[" + std::to_string(i) + "]",
             "\"" + patterns[i] + "\" " + why + "; name the rule files, not a folder tree");
  };
  std::map<std::string, size_t> matched;  // file -> the first entry that matched it
  for (size_t i = 0; i < patterns.size(); ++i) {
    std::filesystem::path pattern(patterns[i]);
    if (pattern.is_relative()) pattern = sink.baseDir() / pattern;
    glob_t g{};
    int rc = ::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g);
    bool over = false;
    if (rc == 0) {
      for (size_t k = 0; k < g.gl_pathc && !over; ++k) {
        matched.emplace(g.gl_pathv[k], i);
        over = matched.size() > kMaxRuleFiles;
      }
    } else if (rc != GLOB_NOMATCH) {
      sink.add(node[i], "rule_files[" + std::to_string(i) + "]", "invalid glob pattern");
    }
    ::globfree(&g);
    if (over) {
      refuse(i, "matches more than " + std::to_string(kMaxRuleFiles) + " files");
      return;
    }
  }
  size_t bytes = 0;
  std::vector<std::string> files;
  for (const auto& [f, i] : matched) {
    std::string text;
    std::string why;
    if (!readTextFile(f, text, why, &bytes)) text.clear();  // a file too large counts too
    if (bytes > kMaxRuleFileBytes) {
      refuse(i, "matches rule files of more than " + std::to_string(kMaxRuleFileBytes >> 20) +
                    " MiB in all (at \"" + f + "\")");
      return;
    }
    hash_input.push_back('\0');
    hash_input += f;
    hash_input.push_back('\0');
    hash_input += text;
    files.push_back(f);
  }
  resolved.insert(resolved.end(), files.begin(), files.end());
}

}  // namespace triaged::config

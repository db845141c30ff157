#include "common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <mutex>

#include "triaged/api/json_writer.h"

namespace triaged::engine::log {
namespace {

std::mutex g_mu;
spdlog::sink_ptr g_sink;
spdlog::level::level_enum g_level = spdlog::level::info;

void appendTimestamp(std::string& out, spdlog::log_clock::time_point tp) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(tp.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>((us / 1000) % 1000));
  out += buf;
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    api::JsonWriter w(line);
    std::string ts;
    appendTimestamp(ts, msg.time);
    auto lvl = spdlog::level::to_string_view(msg.level);
    w.beginObject()
        .field("ts", ts)
        .field("level", std::string_view(lvl.data(), lvl.size()))
        .field("logger", std::string_view(msg.logger_name.data(), msg.logger_name.size()))
        .field("msg", std::string_view(msg.payload.data(), msg.payload.size()))
        .endObject();
    line.push_back('\n');
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

class TextFormatter final : public spdlog::formatter {
 public:
  explicit TextFormatter(bool journal) : journal_(journal) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    if (journal_) {
      static const char kPrio[] = {'7', '7', '6', '4', '3', '2', '6'};  // trace..critical, off
      line += '<';
      line += kPrio[msg.level];
      line += '>';
    } else {
      appendTimestamp(line, msg.time);
      auto lvl = spdlog::level::to_string_view(msg.level);
      line += ' ';
      line.append(lvl.data(), lvl.size());
      line.append(lvl.size() < 5 ? 5 - lvl.size() : 0, ' ');
      line += ' ';
    }
    line += '[';
    line.append(msg.logger_name.data(), msg.logger_name.size());
    line += "] ";
    line.append(msg.payload.data(), msg.payload.size());
    line.push_back('\n');
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>(journal_);
  }

 private:
  bool journal_;
};

// systemd sets JOURNAL_STREAM=dev:inode when stderr is connected to the journal.
bool stderrIsJournal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (!js) return false;
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

}  // namespace

void setup(const std::string& level, const std::string& format) {
  std::lock_guard lk(g_mu);
  g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  if (format == "json") {
    g_sink->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    g_sink->set_formatter(std::make_unique<TextFormatter>(stderrIsJournal()));
  }
  g_level = spdlog::level::from_str(level);
  spdlog::drop_all();
  spdlog::flush_on(spdlog::level::trace);  // stderr: every line is written when logged
}

void setLevel(const std::string& level) {
  std::lock_guard lk(g_mu);
  g_level = spdlog::level::from_str(level);
  spdlog::apply_all([&](std::shared_ptr<spdlog::logger> l) { l->set_level(g_level); });
}

std::shared_ptr<spdlog::logger> get(const std::string& subsystem) {
  std::lock_guard lk(g_mu);
  if (auto l = spdlog::get(subsystem)) return l;
  if (!g_sink) {
    g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    g_sink->set_formatter(std::make_unique<TextFormatter>(false));
  }
  auto l = std::make_shared<spdlog::logger>(subsystem, g_sink);
  l->set_level(g_level);
  l->flush_on(spdlog::level::trace);
  spdlog::register_logger(l);
  return l;
}

}  // namespace triaged::engine::log

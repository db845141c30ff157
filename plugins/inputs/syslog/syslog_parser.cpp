#include "syslog_parser.h"

#include <array>
#include <charconv>
#include <ctime>

namespace triaged::plugins {

api::Severity syslogSeverity(int s) {
  if (s <= 2) return api::Severity::kCritical;  // emergency, alert, critical
  if (s == 3) return api::Severity::kMajor;     // error
  if (s == 4) return api::Severity::kWarning;
  return api::Severity::kInfo;  // notice, informational, debug
}

namespace {

std::string_view token(std::string_view& s) {
  size_t sp = s.find(' ');
  std::string_view t = s.substr(0, sp);
  s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
  return t;
}

std::string_view nil(std::string_view t) { return t == "-" ? std::string_view{} : t; }

// "Mmm dd hh:mm:ss" in the current year (UTC: RFC 3164 has no zone).
std::optional<int64_t> bsdTime(std::string_view s, int64_t now_ms) {
  static const std::array<std::string_view, 12> kMon = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':')
    return std::nullopt;
  int mon = -1;
  for (int i = 0; i < 12; ++i)
    if (s.substr(0, 3) == kMon[i]) mon = i;
  auto num = [&](size_t p) { return (s[p] == ' ' ? 0 : s[p] - '0') * 10 + (s[p + 1] - '0'); };
  for (size_t p : {4u, 5u, 7u, 8u, 10u, 11u, 13u, 14u})
    if (!(s[p] >= '0' && s[p] <= '9') && !(p == 4 && s[p] == ' ')) return std::nullopt;
  if (mon < 0) return std::nullopt;
  std::time_t now = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  gmtime_r(&now, &tm);
  tm.tm_mon = mon;
  tm.tm_mday = num(4);
  tm.tm_hour = num(7);
  tm.tm_min = num(10);
  tm.tm_sec = num(13);
  std::time_t t = timegm(&tm);
  if (t > now + 86400) {  // December messages read in January: last year
    tm.tm_year -= 1;
    t = timegm(&tm);
  }
  return static_cast<int64_t>(t) * 1000;
}

}  // namespace

std::optional<SyslogMessage> parseSyslog(std::string_view line, int64_t now_ms,
                                         std::string* error) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == '\0'))
    line.remove_suffix(1);
  SyslogMessage m;
  if (line.size() < 3 || line[0] != '<') {
    if (error) *error = "missing <PRI>";
    return std::nullopt;
  }
  size_t close = line.find('>');
  if (close == std::string_view::npos || close < 2 || close > 4) {
    if (error) *error = "malformed <PRI>";
    return std::nullopt;
  }
  int pri = 0;
  for (size_t i = 1; i < close; ++i) {
    if (line[i] < '0' || line[i] > '9') {
      if (error) *error = "malformed <PRI>";
      return std::nullopt;
    }
    pri = pri * 10 + (line[i] - '0');
  }
  if (pri > 191) {
    if (error) *error = "<PRI> out of range";
    return std::nullopt;
  }
  m.facility = pri / 8;
  m.severity = pri % 8;
  std::string_view rest = line.substr(close + 1);
  if (rest.size() >= 2 && rest[0] == '1' && rest[1] == ' ') {
    // RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]
    m.rfc5424 = true;
    rest.remove_prefix(2);
    std::string_view ts = token(rest);
    if (ts != "-")
      if (auto t = api::parseRfc3339(ts)) m.time_ms = *t;
    m.hostname = nil(token(rest));
    m.app = nil(token(rest));
    m.procid = nil(token(rest));
    m.msgid = nil(token(rest));
    // Structured data: "-" or one or more [..] elements (with escaped ] inside values).
    if (!rest.empty() && rest[0] == '-') {
      rest.remove_prefix(std::min<size_t>(2, rest.size()));
    } else {
      size_t i = 0;
      while (i < rest.size() && rest[i] == '[') {
        bool in_quotes = false;
        for (++i; i < rest.size(); ++i) {
          if (rest[i] == '\\') {
            ++i;
            continue;
          }
          if (rest[i] == '"') in_quotes = !in_quotes;
          if (rest[i] == ']' && !in_quotes) break;
        }
        ++i;
      }
      rest.remove_prefix(std::min(rest.size(), i + (i < rest.size() && rest[i] == ' ' ? 1 : 0)));
    }
    if (rest.size() >= 3 && static_cast<unsigned char>(rest[0]) == 0xEF &&
        static_cast<unsigned char>(rest[1]) == 0xBB && static_cast<unsigned char>(rest[2]) == 0xBF)
      rest.remove_prefix(3);  // UTF-8 BOM
    m.message = rest;
    return m;
  }
  // RFC 3164: TIMESTAMP SP HOSTNAME SP TAG[pid]: MSG (every part is optional in practice)
  if (auto t = bsdTime(rest, now_ms)) {
    m.time_ms = *t;
    rest.remove_prefix(std::min<size_t>(16, rest.size()));
    size_t sp = rest.find(' ');
    size_t colon = rest.find(':');
    if (sp != std::string_view::npos && (colon == std::string_view::npos || sp < colon)) {
      m.hostname = rest.substr(0, sp);
      rest.remove_prefix(sp + 1);
    }
  }
  size_t colon = rest.find(": ");
  size_t space = rest.find(' ');
  if (colon != std::string_view::npos && colon < 48 &&
      (space == std::string_view::npos || colon < space)) {
    std::string_view tag = rest.substr(0, colon);
    size_t br = tag.find('[');
    if (br != std::string_view::npos && tag.back() == ']') {
      m.procid = tag.substr(br + 1, tag.size() - br - 2);
      tag = tag.substr(0, br);
    }
    m.app = tag;
    rest.remove_prefix(colon + 2);
  }
  m.message = rest;
  return m;
}

std::vector<std::shared_ptr<const SyslogRule>> readSyslogRules(config::MapReader& r) {
  std::vector<std::shared_ptr<const SyslogRule>> out;
  auto compile = [&](config::MapReader& rr, const char* key, std::unique_ptr<RE2>& re) {
    std::string pattern;
    YAML::Node n = rr.node()[key];
    rr.getString(key, pattern);
    if (pattern.empty()) return;
    RE2::Options o;
    o.set_log_errors(false);
    re = std::make_unique<RE2>(pattern, o);
    if (!re->ok()) {
      rr.sink().add(n, rr.childPath(key), "invalid regular expression: " + re->error());
      re.reset();
    }
  };
  config::forEachInList(
      r.take("rules"), r.childPath("rules"), r.sink(),
      [&](const YAML::Node& n, const std::string& path) {
        config::MapReader rr(n, path, r.sink());
        auto rule = std::make_shared<SyslogRule>();
        rr.getString("name", rule->name);
        compile(rr, "match", rule->match);
        if (!rr.has("match")) rr.sink().add(n, path + ".match", "is required");
        compile(rr, "app", rule->app);
        compile(rr, "hostname", rule->hostname);
        rr.getString("check", rule->check, true);
        rr.getString("resource", rule->resource);
        rr.getString("summary", rule->summary);
        rr.getString("service", rule->service);
        std::string sev;
        rr.getEnum("severity", sev, {"critical", "major", "minor", "warning", "info", "ok"});
        if (!sev.empty()) {
          api::Severity s;
          api::parseSeverity(sev, s);
          rule->severity = s;
        }
        std::string status = "firing";
        rr.getEnum("status", status, {"firing", "resolved"});
        rule->status = status == "resolved" ? api::Status::kResolved : api::Status::kFiring;
        rr.getStringMap("labels", rule->labels);
        rr.finish();
        out.push_back(std::move(rule));
      });
  return out;
}

namespace {

// Expands $name and ${name} from the rule's groups or the message's fields.
std::string expand(const std::string& tmpl, const SyslogMessage& m, const RE2& re,
                   const std::vector<re2::StringPiece>& groups) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '$' || i + 1 >= tmpl.size()) {
      out.push_back(tmpl[i]);
      continue;
    }
    size_t start = i + 1, end;
    bool braces = tmpl[start] == '{';
    if (braces) {
      end = tmpl.find('}', start);
      if (end == std::string::npos) {
        out.push_back('$');
        continue;
      }
      ++start;
    } else {
      end = start;
      while (end < tmpl.size() &&
             (std::isalnum(static_cast<unsigned char>(tmpl[end])) || tmpl[end] == '_'))
        ++end;
    }
    std::string name = tmpl.substr(start, end - start);
    i = braces ? end : end - 1;
    if (name == "hostname")
      out += m.hostname;
    else if (name == "app")
      out += m.app;
    else if (name == "message")
      out += m.message;
    else if (name == "msgid")
      out += m.msgid;
    else {
      auto it = re.NamedCapturingGroups().find(name);
      if (it != re.NamedCapturingGroups().end() && static_cast<size_t>(it->second) < groups.size())
        out.append(groups[it->second].data(), groups[it->second].size());
    }
  }
  return out;
}

}  // namespace

bool applySyslogRules(const std::vector<std::shared_ptr<const SyslogRule>>& rules,
                      const SyslogMessage& m, api::BatchBuilder& b) {
  re2::StringPiece msg(m.message.data(), m.message.size());
  for (const auto& rp : rules) {
    const SyslogRule& r = *rp;
    if (!r.match) continue;
    if (r.app && !RE2::PartialMatch(re2::StringPiece(m.app.data(), m.app.size()), *r.app)) continue;
    if (r.hostname &&
        !RE2::PartialMatch(re2::StringPiece(m.hostname.data(), m.hostname.size()), *r.hostname))
      continue;
    int n = r.match->NumberOfCapturingGroups() + 1;
    std::vector<re2::StringPiece> groups(static_cast<size_t>(n));
    if (!r.match->Match(msg, 0, msg.size(), RE2::UNANCHORED, groups.data(), n)) continue;
    api::Event& e = b.current();
    e.check = b.keep(expand(r.check, m, *r.match, groups));
    e.resource = b.keep(expand(r.resource, m, *r.match, groups));
    if (e.resource.empty()) e.resource = "unknown";
    e.summary = b.keep(expand(r.summary, m, *r.match, groups));
    if (!r.service.empty()) e.service = b.keep(expand(r.service, m, *r.match, groups));
    e.severity = r.severity ? *r.severity : syslogSeverity(m.severity);
    e.status = r.status;
    if (m.time_ms) e.event_time_ms = m.time_ms;
    for (const auto& [name, idx] : r.match->NamedCapturingGroups())
      if (groups[idx].data())
        b.addLabel(name, std::string_view(groups[idx].data(), groups[idx].size()));
    for (const auto& [k, v] : r.labels) b.addLabel(k, expand(v, m, *r.match, groups));
    if (!m.app.empty()) b.addAnnotation("app", m.app);
    b.addAnnotation("syslog_message", m.message.substr(0, 1024));
    if (!r.name.empty()) b.addAnnotation("rule", r.name);
    return true;
  }
  return false;
}

size_t splitSyslogFrames(std::string_view buf, uint64_t max_bytes,
                         const std::function<void(std::string_view)>& message, FrameDrop* dropped) {
  *dropped = FrameDrop::kNone;
  size_t pos = 0;
  while (pos < buf.size()) {
    if (std::isdigit(static_cast<unsigned char>(buf[pos]))) {  // octet counting: "LEN SP MSG"
      size_t sp = buf.find(' ', pos);
      if (sp == std::string_view::npos || sp - pos > 7) {
        if (sp == std::string_view::npos && buf.size() - pos <= 7) break;  // length incomplete
        *dropped = FrameDrop::kInvalid;  // garbage: drop the rest of the buffer
        return buf.size();
      }
      size_t len = 0;
      auto [end, ec] = std::from_chars(buf.data() + pos, buf.data() + sp, len);
      if (ec != std::errc() || end != buf.data() + sp) {
        *dropped = FrameDrop::kInvalid;
        return buf.size();
      }
      if (len > max_bytes) {
        *dropped = FrameDrop::kTooLarge;
        return buf.size();
      }
      if (buf.size() - sp - 1 < len) break;  // incomplete frame
      message(buf.substr(sp + 1, len));
      pos = sp + 1 + len;
    } else {
      size_t nl = buf.find('\n', pos);
      if (nl == std::string_view::npos) {
        if (buf.size() - pos > max_bytes) {
          *dropped = FrameDrop::kTooLarge;
          return buf.size();
        }
        break;
      }
      if (nl > pos) message(buf.substr(pos, nl - pos));
      pos = nl + 1;
    }
  }
  return pos;
}

}  // namespace triaged::plugins

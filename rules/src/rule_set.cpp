#include "triaged/rules/rule_set.h"

#include <algorithm>
#include <functional>
#include <map>

#include "maintenance_loader.h"
#include "oncall_loader.h"
#include "service_levels_loader.h"
#include "triaged/config/reader.h"

namespace triaged::rules {

using config::ErrorSink;
using config::MapReader;

const char* severityText(int level) {
  static const char* kNames[] = {"ok", "info", "warning", "minor", "major", "critical"};
  return level >= 0 && level < 6 ? kNames[level] : "";
}

class RuleSetLoader {
 public:
  explicit RuleSetLoader(RuleSet& rs) : rs_(rs), levels_(rs), oncall_(rs) {}

  void file(const std::string& path, const YAML::Node& doc, config::ConfigErrors& errors) {
    ErrorSink sink(path, errors);
    if (doc.IsNull()) return;
    MapReader root(doc, "", sink);
    if (!root.valid()) return;
    config::forEachInList(root.take("configuration_items"), "configuration_items", sink,
                          [&](const YAML::Node& n, const std::string& p) { ci(n, p, sink); });
    config::forEachInList(root.take("services"), "services", sink,
                          [&](const YAML::Node& n, const std::string& p) { service(n, p, sink); });
    config::forEachInList(
        root.take("groups"), "groups", sink, [&](const YAML::Node& g, const std::string& p) {
          MapReader gr(g, p, sink);
          if (!gr.valid()) return;
          std::string name;
          gr.getString("name", name, true);
          YAML::Node rules = gr.take("rules");
          if (!rules.IsDefined()) sink.add(g, p + ".rules", "is required");
          config::forEachInList(
              rules, p + ".rules", sink,
              [&](const YAML::Node& r, const std::string& rp) { rule(r, rp, name, sink); });
          gr.finish();
        });
    config::forEachInList(root.take("inhibit_rules"), "inhibit_rules", sink,
                          [&](const YAML::Node& n, const std::string& p) { inhibit(n, p, sink); });
    config::forEachInList(
        root.take("maintenance_windows"), "maintenance_windows", sink,
        [&](const YAML::Node& n, const std::string& p) { maintenance(n, p, sink); });
    config::forEachInList(
        root.take("known_errors"), "known_errors", sink,
        [&](const YAML::Node& n, const std::string& p) { knownError(n, p, sink); });
    config::forEachInList(
        root.take("calendars"), "calendars", sink,
        [&](const YAML::Node& n, const std::string& p) { levels_.calendar(n, p, sink); });
    config::forEachInList(
        root.take("agreements"), "agreements", sink,
        [&](const YAML::Node& n, const std::string& p) { levels_.agreement(n, p, sink); });
    config::forEachInList(
        root.take("heartbeats"), "heartbeats", sink,
        [&](const YAML::Node& n, const std::string& p) { levels_.heartbeat(n, p, sink); });
    config::forEachInList(
        root.take("slos"), "slos", sink,
        [&](const YAML::Node& n, const std::string& p) { levels_.slo(n, p, sink); });
    config::forEachInList(
        root.take("capacity"), "capacity", sink,
        [&](const YAML::Node& n, const std::string& p) { levels_.capacity(n, p, sink); });
    config::forEachInList(
        root.take("oncall_schedules"), "oncall_schedules", sink,
        [&](const YAML::Node& n, const std::string& p) { oncall_.schedule(n, p, sink); });
    root.finish();
  }

  // References are resolved once every file is read, so a CI may depend on one defined later.
  void link(config::ConfigErrors& errors) {
    std::map<std::string, uint32_t> by_name;
    for (uint32_t i = 0; i < rs_.cis_.size(); ++i) {
      const auto& c = rs_.cis_[i];
      if (!by_name.emplace(c.name, i).second)
        errors.push_back({c.origin.file, c.origin.line, 0, "configuration_items",
                          "duplicate CI \"" + c.name + "\""});
    }
    auto resolveCi = [&](const PendingRef& ref, std::vector<uint32_t>& out) {
      auto it = by_name.find(ref.name);
      if (it == by_name.end()) {
        errors.push_back({ref.origin.file, ref.origin.line, 0, ref.path,
                          "unknown configuration item \"" + ref.name + "\""});
        return;
      }
      out.push_back(it->second);
    };
    for (auto& [ci, ref] : ci_depends_) resolveCi(ref, rs_.cis_[ci].depends_on);
    for (auto& [ci, ref] : ci_members_) resolveCi(ref, rs_.cis_[ci].members);
    std::map<std::string, uint32_t> svc_names;
    for (uint32_t i = 0; i < rs_.services_.size(); ++i) {
      const auto& s = rs_.services_[i];
      if (!svc_names.emplace(s.name, i).second)
        errors.push_back(
            {s.origin.file, s.origin.line, 0, "services", "duplicate service \"" + s.name + "\""});
    }
    for (auto& [svc, ref] : svc_cis_) {
      std::vector<uint32_t> one;
      resolveCi(ref, one);
      for (uint32_t c : one) {
        rs_.services_[svc].cis.push_back(c);
        rs_.cis_[c].services.push_back(svc);
      }
    }
    for (auto& [w, ref] : mw_cis_) resolveCi(ref, rs_.maintenance_[w].cis);
    for (auto& [w, ref] : mw_services_) {
      auto it = svc_names.find(ref.name);
      if (it == svc_names.end())
        errors.push_back({ref.origin.file, ref.origin.line, 0, ref.path,
                          "unknown service \"" + ref.name + "\""});
      else
        rs_.maintenance_[w].services.push_back(it->second);
    }
    for (const auto& [svc_name, ref] : template_services_) {
      if (!svc_names.count(svc_name))
        errors.push_back({ref.origin.file, ref.origin.line, 0, ref.path,
                          "unknown service \"" + svc_name + "\""});
    }
    for (auto& [name, i] : by_name) rs_.ci_names_.emplace_back(name, i);
    for (auto& [name, i] : svc_names) rs_.service_names_.emplace_back(name, i);
    for (uint32_t i = 0; i < rs_.cis_.size(); ++i)
      for (const auto& a : rs_.cis_[i].aliases) rs_.ci_names_.emplace_back(a, i);
    std::sort(rs_.ci_names_.begin(), rs_.ci_names_.end());
    for (uint32_t i = 0; i < rs_.cis_.size(); ++i)
      if (!rs_.cis_[i].match.empty()) rs_.ci_matchers_.push_back(i);
    checkCycles(errors);
    levels_.link(svc_names, errors);
    oncall_.link(errors);
  }

 private:
  Origin origin(const YAML::Node& n, ErrorSink& sink) {
    return {sink.file(), n.Mark().is_null() ? 0 : n.Mark().line + 1};
  }

  void matchers(MapReader& r, const char* key, Matchers& out, bool required = false) {
    YAML::Node n = r.node()[key];
    std::string text;
    r.getString(key, text, required);
    if (text.empty()) return;
    std::string err;
    if (!parseMatchers(text, out, &err))
      r.sink().add(n, r.childPath(key), "invalid matchers: " + err);
  }

  void ci(const YAML::Node& n, const std::string& p, ErrorSink& sink) {
    MapReader r(n, p, sink);
    if (!r.valid()) return;
    ConfigurationItem c;
    c.origin = origin(n, sink);
    r.getString("name", c.name, true);
    r.getString("type", c.type);
    r.getStringMap("labels", c.labels);
    r.getStringList("aliases", c.aliases);
    matchers(r, "match", c.match);
    uint32_t idx = static_cast<uint32_t>(rs_.cis_.size());
    std::vector<PendingRef> deps, members;
    readRefs(r, "depends_on", deps);
    readRefs(r, "members", members);
    for (auto& d : deps) ci_depends_.emplace_back(idx, std::move(d));
    for (auto& m : members) ci_members_.emplace_back(idx, std::move(m));
    if (c.type.empty()) c.type = members.empty() ? "host" : "redundancy_group";
    r.finish();
    rs_.cis_.push_back(std::move(c));
  }

  void service(const YAML::Node& n, const std::string& p, ErrorSink& sink) {
    MapReader r(n, p, sink);
    if (!r.valid()) return;
    Service s;
    s.origin = origin(n, sink);
    r.getString("name", s.name, true);
    std::string crit = "medium";
    r.getEnum("criticality", crit, {"high", "medium", "low"});
    s.criticality = crit == "high" ? 1 : crit == "medium" ? 2 : 3;
    r.getStringList("owners", s.owners);
    std::vector<PendingRef> cis;
    readRefs(r, "cis", cis);
    uint32_t idx = static_cast<uint32_t>(rs_.services_.size());
    for (auto& c : cis) svc_cis_.emplace_back(idx, std::move(c));
    rs_.services_.push_back(std::move(s));
    levels_.hierarchy(r, idx);
    r.finish();
  }

  void incidentTemplate(MapReader& parent, IncidentTemplate& t) {
    if (!parent.has("incident")) return;
    YAML::Node node = parent.node()["incident"];
    MapReader r(parent.take("incident"), parent.childPath("incident"), parent.sink());
    if (!r.valid()) return;
    r.getString("title", t.title);
    r.getString("service", t.service);
    r.getString("category", t.category);
    int64_t prio = 0;
    r.getInt("priority", prio, 1, 5);
    t.priority = static_cast<int>(prio);
    if (!t.service.empty())
      template_services_.emplace_back(t.service,
                                      PendingRef{t.service, origin(node, parent.sink()),
                                                 parent.childPath("incident") + ".service"});
    r.finish();
  }

  void rule(const YAML::Node& n, const std::string& p, const std::string& group, ErrorSink& sink) {
    MapReader r(n, p, sink);
    if (!r.valid()) return;
    Rule rule;
    rule.group = group;
    rule.origin = origin(n, sink);
    r.getString("name", rule.name, true);
    rule.type = RuleType::kGroup;
    r.getEnum("type", rule.type,
              {{"group", RuleType::kGroup},
               {"threshold", RuleType::kThreshold},
               {"sequence", RuleType::kSequence}});
    config::Duration d{0};
    if (rule.type == RuleType::kSequence) {
      matchers(r, "first", rule.match, true);
      matchers(r, "then", rule.then_match, true);
      std::string mode = "pair";
      r.getEnum("mode", mode, {"pair", "absence"});
      rule.mode = mode == "pair" ? SequenceMode::kPair : SequenceMode::kAbsence;
      d = config::Duration{0};
      r.getDuration("within", d, config::Duration{1});
      rule.within = d.count();
      if (!r.has("within")) sink.add(n, p + ".within", "is required for a sequence rule");
      r.getStringList("on", rule.group_by);
    } else {
      matchers(r, "match", rule.match);
      r.getStringList("group_by", rule.group_by);
    }
    if (rule.type == RuleType::kThreshold) {
      r.getUnsigned("count", rule.count, 1'000'000);
      d = config::Duration{0};
      r.getDuration("window", d, config::Duration{1});
      rule.window = d.count();
      if (rule.count < 1)
        sink.add(n, p + ".count", "is required for a threshold rule (at least 1)");
      if (rule.window <= 0) sink.add(n, p + ".window", "is required for a threshold rule");
    }
    d = config::Duration{rule.group_wait};
    r.getDuration("group_wait", d);
    rule.group_wait = d.count();
    d = config::Duration{rule.group_interval};
    r.getDuration("group_interval", d, config::Duration{1});
    rule.group_interval = d.count();
    d = config::Duration{rule.max_age};
    r.getDuration("max_age", d);
    rule.max_age = d.count();
    r.getBool("continue", rule.continue_matching);
    incidentTemplate(r, rule.incident);
    r.finish();
    for (const auto& existing : rs_.rules_)
      if (!rule.name.empty() && existing.name == rule.name)
        sink.add(n, p + ".name", "duplicate rule name \"" + rule.name + "\"");
    rs_.rules_.push_back(std::move(rule));
  }

  void inhibit(const YAML::Node& n, const std::string& p, ErrorSink& sink) {
    MapReader r(n, p, sink);
    if (!r.valid()) return;
    InhibitRule ir;
    ir.origin = origin(n, sink);
    r.getString("name", ir.name);
    if (ir.name.empty()) ir.name = p;
    matchers(r, "source_match", ir.source, true);
    matchers(r, "target_match", ir.target, true);
    r.getStringList("equal", ir.equal);
    r.finish();
    rs_.inhibit_.push_back(std::move(ir));
  }

  void maintenance(const YAML::Node& n, const std::string& p, ErrorSink& sink) {
    MapReader r(n, p, sink);
    if (!r.valid()) return;
    MaintenanceWindow w;
    w.origin = origin(n, sink);
    uint32_t idx = static_cast<uint32_t>(rs_.maintenance_.size());
    std::vector<PendingRef> cis, svcs;
    readMaintenanceWindow(r, p, w, cis, svcs);
    for (auto& c : cis) mw_cis_.emplace_back(idx, std::move(c));
    for (auto& s : svcs) mw_services_.emplace_back(idx, std::move(s));
    r.finish();
    rs_.maintenance_.push_back(std::move(w));
  }

  void knownError(const YAML::Node& n, const std::string& p, ErrorSink& sink) {
    MapReader r(n, p, sink);
    if (!r.valid()) return;
    KnownError k;
    k.origin = origin(n, sink);
    r.getString("id", k.id, true);
    r.getString("title", k.title);
    r.getString("root_cause", k.root_cause);
    r.getString("workaround", k.workaround, true);
    matchers(r, "match", k.match, true);
    r.finish();
    rs_.known_errors_.push_back(std::move(k));
  }

  // Depth-first search over depends_on and members; a back edge is a cycle, reported once
  // with its path.
  void checkCycles(config::ConfigErrors& errors) {
    const auto& cis = rs_.cis_;
    std::vector<uint8_t> state(cis.size(), 0);  // 0 new, 1 on stack, 2 done
    std::vector<uint32_t> stack;
    bool cyclic = false;
    std::function<void(uint32_t)> visit = [&](uint32_t v) {
      state[v] = 1;
      stack.push_back(v);
      auto edges = cis[v].depends_on;
      edges.insert(edges.end(), cis[v].members.begin(), cis[v].members.end());
      for (uint32_t w : edges) {
        if (state[w] == 1) {
          std::string path;
          auto it = std::find(stack.begin(), stack.end(), w);
          for (; it != stack.end(); ++it) path += cis[*it].name + " -> ";
          path += cis[w].name;
          errors.push_back({cis[w].origin.file, cis[w].origin.line, 0, "configuration_items",
                            "dependency cycle: " + path});
          cyclic = true;
        } else if (state[w] == 0) {
          visit(w);
        }
      }
      stack.pop_back();
      state[v] = 2;
      rs_.topo_.push_back(v);  // post-order: dependencies first
    };
    for (uint32_t i = 0; i < cis.size(); ++i)
      if (state[i] == 0) visit(i);
    if (cyclic) rs_.topo_.clear();
  }

  RuleSet& rs_;
  ServiceLevelsLoader levels_;
  OncallLoader oncall_;
  std::vector<std::pair<uint32_t, PendingRef>> ci_depends_, ci_members_, svc_cis_, mw_cis_,
      mw_services_;
  std::vector<std::pair<std::string, PendingRef>> template_services_;
};

std::shared_ptr<const RuleSet> RuleSet::load(const std::vector<std::string>& files,
                                             config::ConfigErrors& errors) {
  auto rs = std::make_shared<RuleSet>();
  RuleSetLoader loader(*rs);
  size_t before = errors.size();
  for (size_t i = 0; i < files.size(); ++i) {
    // A load gone this wrong (rule_files matching what are not rule files, say) stops reading:
    // the rule set is refused either way, and each further file only adds errors no one reads.
    if (errors.size() - before >= kMaxLoadErrors) {
      errors.push_back({files[i], 0, 0, "",
                        "not read, nor the " + std::to_string(files.size() - i - 1) +
                            " rule files after it: the ones before it have " +
                            std::to_string(errors.size() - before) + " errors"});
      return nullptr;
    }
    YAML::Node doc = config::loadYamlFile(files[i], errors);
    if (doc.IsDefined()) loader.file(files[i], doc, errors);
  }
  loader.link(errors);
  if (errors.size() != before) return nullptr;
  for (uint32_t i = 0; i < rs->rules_.size(); ++i) {
    rs->rule_index_.add(i, rs->rules_[i].match);
    if (rs->rules_[i].type == RuleType::kSequence) rs->rule_index_.add(i, rs->rules_[i].then_match);
  }
  for (uint32_t i = 0; i < rs->inhibit_.size(); ++i) {
    rs->inhibit_source_index_.add(i, rs->inhibit_[i].source);
    rs->inhibit_target_index_.add(i, rs->inhibit_[i].target);
  }
  for (uint32_t i = 0; i < rs->maintenance_.size(); ++i)
    rs->maintenance_index_.add(
        i, rs->maintenance_[i].cis.empty() && rs->maintenance_[i].services.empty()
               ? rs->maintenance_[i].match
               : rs->empty_matchers_);
  rs->maintenance_index_.build();
  rs->rule_index_.build();
  rs->inhibit_source_index_.build();
  rs->inhibit_target_index_.build();
  return rs;
}

std::shared_ptr<const RuleSet> RuleSet::empty() { return std::make_shared<RuleSet>(); }

uint32_t RuleSet::ciByName(std::string_view name) const {
  auto it = std::lower_bound(ci_names_.begin(), ci_names_.end(), name,
                             [](const auto& e, std::string_view n) { return e.first < n; });
  return it != ci_names_.end() && it->first == name ? it->second : kNone;
}

uint32_t RuleSet::serviceByName(std::string_view name) const {
  auto it = std::lower_bound(service_names_.begin(), service_names_.end(), name,
                             [](const auto& e, std::string_view n) { return e.first < n; });
  return it != service_names_.end() && it->first == name ? it->second : kNone;
}

uint32_t RuleSet::ciOf(const Facts& f) const {
  auto res = f.get("resource");
  if (!res.empty()) {
    uint32_t c = ciByName(res);
    if (c != kNone) return c;
  }
  for (uint32_t i : ci_matchers_)
    if (matchesAll(cis_[i].match, f)) return i;
  return kNone;
}

}  // namespace triaged::rules

// Email through SMTP (libcurl's smtp:// and smtps://, STARTTLS, auth): one mail per incident
// event, multipart text and HTML with the incident's summary, its alerts and a link to the
// console; every mail of an incident refers to the incident's first (`Message-ID`,
// `In-Reply-To`, `References`), so mail clients show one thread per incident. SLA and heartbeat
// events are mailed too (a thread of their own per incident, or none). A 5xx reply (a refused
// recipient, a refused message) is final: dead-lettered with the server's answer.
#include <cctype>
#include <ctime>

#include "outputs/common/event_view.h"
#include "outputs/common/output_plugin.h"
#include "outputs/outputs.h"

namespace triaged::plugins {

namespace {

using outputs::num;
using outputs::str;

std::string htmlEscaped(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A header value on one line (no header injection through an alert's text), and non-ASCII
// text as an RFC 2047 encoded word.
std::string headerText(std::string_view s) {
  std::string line;
  bool ascii = true;
  for (char c : s) {
    if (c == '\r' || c == '\n') c = ' ';
    ascii &= static_cast<unsigned char>(c) < 0x80;
    line += c;
  }
  if (ascii) return line;
  static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (size_t i = 0; i < line.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(line[i]) << 16;
    if (i + 1 < line.size()) v |= static_cast<unsigned char>(line[i + 1]) << 8;
    if (i + 2 < line.size()) v |= static_cast<unsigned char>(line[i + 2]);
    b64 += kB64[(v >> 18) & 63];
    b64 += kB64[(v >> 12) & 63];
    b64 += i + 1 < line.size() ? kB64[(v >> 6) & 63] : '=';
    b64 += i + 2 < line.size() ? kB64[v & 63] : '=';
  }
  return "=?UTF-8?B?" + b64 + "?=";
}

std::string rfc5322Date() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

class EmailOutput : public api::Output {
 public:
  explicit EmailOutput(const config::NotificationTarget& t)
      : url_(t.url), from_(t.mail_from), to_(t.mail_to), console_(t.console_url) {
    starttls_ = t.starttls == "required" ? 2 : t.starttls == "off" ? 0 : 1;
    auto at = from_.rfind('@');
    domain_ = at == std::string::npos ? "triaged" : from_.substr(at + 1);
    while (!console_.empty() && console_.back() == '/') console_.pop_back();
  }

  std::optional<api::OutputRequest> request(const api::Notification& n,
                                            const std::string&) override {
    if (!view_.parse(n.body)) return std::nullopt;
    simdjson::dom::element inc;
    bool has_incident = view_.incident(inc);
    std::string event(n.event);
    std::string subject, text, html;
    std::string thread;  // the incident's first mail
    if (has_incident) {
      int64_t id = num(inc, "id");
      thread = "<triaged.incident-" + std::to_string(id) + "@" + domain_ + ">";
      subject = "[triaged] [P" + std::to_string(num(inc, "priority")) + "] Incident " +
                std::to_string(id) + " " + std::string(outputs::action(event)) + ": " +
                std::string(str(inc, "title"));
      body(inc, id, event, text, html);
    } else {
      subject = "[triaged] " + event;
      text = std::string(n.body) + "\r\n";
      html = "<pre>" + htmlEscaped(n.body) + "</pre>";
    }
    std::string boundary = "triaged-" + std::to_string(n.id);
    std::string m;
    m += "From: " + headerText(from_) + "\r\n";
    m += "To: ";
    for (size_t i = 0; i < to_.size(); ++i) m += (i ? ", " : "") + headerText(to_[i]);
    m += "\r\nSubject: " + headerText(subject) + "\r\n";
    m += "Date: " + rfc5322Date() + "\r\n";
    bool first = event == "incident.opened";
    m += "Message-ID: " +
         (first && !thread.empty()
              ? thread
              : "<triaged.outbox-" + std::to_string(n.id) + "@" + domain_ + ">") +
         "\r\n";
    if (!thread.empty() && !first)
      m += "In-Reply-To: " + thread + "\r\nReferences: " + thread + "\r\n";
    m += "X-Triaged-Event: " + event + "\r\n";
    m += "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"" + boundary +
         "\"\r\n\r\n";
    m += "--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\n";
    m += "Content-Transfer-Encoding: 8bit\r\n\r\n" + text + "\r\n";
    m += "--" + boundary + "\r\nContent-Type: text/html; charset=utf-8\r\n";
    m += "Content-Transfer-Encoding: 8bit\r\n\r\n" + html + "\r\n";
    m += "--" + boundary + "--\r\n";
    api::OutputRequest r;
    r.url = url_;
    r.body = std::move(m);
    r.mail_from = from_;
    r.mail_to = to_;
    r.starttls = starttls_;
    r.content_type = "message/rfc822";
    return r;
  }

  // A 5xx reply: the server refuses for good (unknown recipient, policy); 4xx is retried.
  bool refused(long status) const override { return status >= 500 && status < 600; }

 private:
  void body(simdjson::dom::element inc, int64_t id, const std::string& event, std::string& text,
            std::string& html) {
    std::string note = outputs::describeAction(view_, inc, event);
    std::string link = console_.empty() ? "" : console_ + "/#/incident/" + std::to_string(id);
    auto list = [&](const char* key) {
      std::string out;
      simdjson::dom::array a;
      if (inc[key].get(a)) return out;
      for (auto v : a) {
        std::string_view s;
        if (!v.get(s)) out += (out.empty() ? "" : ", ") + std::string(s);
      }
      return out;
    };
    std::string alerts = std::to_string(num(inc, "alert_count")) + " alert(s), " +
                         std::to_string(num(inc, "firing")) + " firing";
    std::string cis = list("cis"), services = list("services");
    text = note + "\r\n\r\n" + std::string(str(inc, "title")) + "\r\n";
    text += "Priority P" + std::to_string(num(inc, "priority")) + ", status " +
            std::string(str(inc, "status")) + ", " + alerts + "\r\n";
    if (!services.empty()) text += "Services: " + services + "\r\n";
    if (!cis.empty()) text += "Configuration items: " + cis + "\r\n";
    if (!link.empty()) text += "\r\n" + link + "\r\n";
    html = "<html><body><p>" + htmlEscaped(note) + "</p><h2>" + htmlEscaped(str(inc, "title")) +
           "</h2><p>Priority P" + std::to_string(num(inc, "priority")) + ", status " +
           htmlEscaped(str(inc, "status")) + ", " + alerts + "</p>";
    if (!services.empty()) html += "<p>Services: " + htmlEscaped(services) + "</p>";
    if (!cis.empty()) html += "<p>Configuration items: " + htmlEscaped(cis) + "</p>";
    if (!link.empty())
      html += "<p><a href=\"" + htmlEscaped(link) + "\">Open incident " + std::to_string(id) +
              " in the console</a></p>";
    html += "</body></html>";
  }

  std::string url_, from_;
  std::vector<std::string> to_;
  std::string console_, domain_;
  int starttls_ = 1;
  outputs::EventView view_;
};

}  // namespace

api::OutputPlugin emailOutput() {
  auto p = outputPlugin<EmailOutput>("email",
                                     "email through SMTP: one thread per incident, text and HTML");
  p.validate = [](const config::NotificationTarget& t,
                  std::vector<std::pair<std::string, std::string>>& problems) {
    auto address = [](const std::string& a) {
      auto at = a.find('@');
      return at != std::string::npos && at > 0 && at + 1 < a.size() &&
             a.find_first_of("<>\r\n ,") == std::string::npos;
    };
    if (t.mail_from.empty())
      problems.emplace_back("mail_from", "is required for an email target");
    else if (!address(t.mail_from))
      problems.emplace_back("mail_from", "is not an address (name@domain)");
    if (t.mail_to.empty()) problems.emplace_back("mail_to", "needs at least one recipient");
    for (size_t i = 0; i < t.mail_to.size(); ++i)
      if (!address(t.mail_to[i]))
        problems.emplace_back("mail_to[" + std::to_string(i) + "]",
                              "is not an address (name@domain)");
  };
  return p;
}

}  // namespace triaged::plugins

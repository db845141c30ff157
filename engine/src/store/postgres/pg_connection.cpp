#include "store/postgres/pg_connection.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

namespace triaged::engine::pg {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one.
size_t utf8Length(const unsigned char* p, size_t left) {
  unsigned char c = p[0];
  if (c < 0x80) return c ? 1 : 0;
  auto cont = [&](size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return k < left && p[k] >= lo && p[k] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Appends the UTF-8 sequence at v[k] (or U+FFFD for a byte that starts none); returns the
// bytes consumed.
size_t appendUtf8(std::string& out, std::string_view v, size_t k) {
  size_t len = utf8Length(reinterpret_cast<const unsigned char*>(v.data()) + k, v.size() - k);
  if (len == 0) {
    out += kReplacement;
    return 1;
  }
  out.append(v.data() + k, len);
  return len;
}

// Settings of every session (at connect and after a reconnect).
constexpr const char* kSessionSettings =
    "SET bytea_output = 'hex'; SET synchronous_commit = on; SET extra_float_digits = 3;"
    " SET client_min_messages = warning; SET standard_conforming_strings = on";

// Appends v, escaped for COPY's text format, made valid UTF-8.
void appendText(std::string& out, std::string_view v) {
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  size_t n = v.size();
  for (size_t k = 0; k < n;) {
    unsigned char c = p[k];
    if (c >= 0x20 && c < 0x80 && c != '\\') {
      out.push_back(static_cast<char>(c));
      ++k;
      continue;
    }
    switch (c) {
      case '\\':
        out += "\\\\";
        ++k;
        continue;
      case '\n':
        out += "\\n";
        ++k;
        continue;
      case '\r':
        out += "\\r";
        ++k;
        continue;
      case '\t':
        out += "\\t";
        ++k;
        continue;
      default:
        break;
    }
    k += appendUtf8(out, v, k);
  }
}

}  // namespace

std::string validUtf8(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t k = 0; k < v.size();) k += appendUtf8(out, v, k);
  return out;
}

namespace {

uint64_t bigEndian(std::string_view t) {
  uint64_t v = 0;
  for (unsigned char c : t) v = v << 8 | c;
  return v;
}

}  // namespace

int64_t Result::i64(int row, int col) const {
  auto t = text(row, col);
  if (binary(col)) {
    // int2, int4, int8: big-endian two's complement, sign-extended from its width.
    if (t.size() != 2 && t.size() != 4 && t.size() != 8)
      throw std::runtime_error(std::string("column ") + PQfname(r, col) + " is not an integer (" +
                               std::to_string(t.size()) + " bytes)");
    int shift = 64 - 8 * static_cast<int>(t.size());
    return static_cast<int64_t>(bigEndian(t) << shift) >> shift;
  }
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || ptr != t.data() + t.size())
    throw std::runtime_error(std::string("column ") + PQfname(r, col) + " is not an integer: \"" +
                             std::string(t.substr(0, 40)) + "\"");
  return v;
}

double Result::f64(int row, int col) const {
  if (binary(col)) {
    auto b = text(row, col);
    if (b.size() == 8) return std::bit_cast<double>(bigEndian(b));
    if (b.size() == 4) return std::bit_cast<float>(static_cast<uint32_t>(bigEndian(b)));
    throw std::runtime_error(std::string("column ") + PQfname(r, col) + " is not a number");
  }
  std::string t = str(row, col);
  if (t == "NaN") return std::nan("");
  if (t == "Infinity") return HUGE_VAL;
  if (t == "-Infinity") return -HUGE_VAL;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size())
    throw std::runtime_error(std::string("column ") + PQfname(r, col) + " is not a number");
  return v;
}

std::string Result::bytes(int row, int col) const {
  if (null(row, col)) return {};
  auto t = text(row, col);
  if (binary(col)) return std::string(t);
  if (t.size() < 2 || t[0] != '\\' || t[1] != 'x' || t.size() % 2)
    throw std::runtime_error(std::string("column ") + PQfname(r, col) + " is not hex bytea");
  std::string out;
  out.resize((t.size() - 2) / 2);
  for (size_t k = 0; k < out.size(); ++k) {
    int hi = hexValue(t[2 + 2 * k]), lo = hexValue(t[3 + 2 * k]);
    if (hi < 0 || lo < 0)
      throw std::runtime_error(std::string("column ") + PQfname(r, col) + " is not hex bytea");
    out[k] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

Connection::Connection(const std::string& url, const std::string& password,
                       std::chrono::milliseconds connect_timeout) {
  std::string timeout = std::to_string(std::max<int64_t>(1, connect_timeout.count() / 1000));
  std::vector<const char*> keys{"dbname", "connect_timeout", "application_name", "client_encoding"};
  std::vector<const char*> values{url.c_str(), timeout.c_str(), "triaged", "UTF8"};
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keys.data(), values.data(), 1);
  if (!conn_) throw std::runtime_error("postgresql: out of memory");
  const char* host = PQhost(conn_);
  const char* port = PQport(conn_);
  const char* db = PQdb(conn_);
  where_ = std::string(host && *host ? host : "localhost") + ":" + (port && *port ? port : "5432") +
           "/" + (db ? db : "");
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn_);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    PQfinish(conn_);
    conn_ = nullptr;
    throw std::runtime_error("cannot connect to postgresql at " + where_ + ": " + why);
  }
  exec(kSessionSettings);
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

void Connection::fail(const std::string& what) {
  std::string why = PQerrorMessage(conn_);
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  throw std::runtime_error("postgresql " + where_ + ": " + what + ": " + why);
}

void Connection::rollback() noexcept {
  if (ok()) PQclear(PQexec(conn_, "ROLLBACK"));
}

void Connection::reset() {
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) fail("reconnecting");
  exec(kSessionSettings);
}

Result Connection::checked(Result r) {
  ExecStatusType st = PQresultStatus(r.r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    std::string why = r.r ? PQresultErrorMessage(r.r) : PQerrorMessage(conn_);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    throw std::runtime_error("postgresql " + where_ + ": " + why);
  }
  return r;
}

Result Connection::exec(const std::string& sql) {
  return checked(Result(PQexec(conn_, sql.c_str())));
}

Result Connection::exec(const std::string& sql, std::initializer_list<std::string> params) {
  std::vector<const char*> p;
  for (const auto& s : params) p.push_back(s.c_str());
  return checked(Result(PQexecParams(conn_, sql.c_str(), static_cast<int>(p.size()), nullptr,
                                     p.data(), nullptr, nullptr, 0)));
}

void Connection::copyIn(const std::string& copy_sql, std::string_view data) {
  Result start(PQexec(conn_, copy_sql.c_str()));
  if (PQresultStatus(start.r) != PGRES_COPY_IN) fail(copy_sql);
  // Large buffers go in pieces: libpq copies what it is given into its own output buffer.
  constexpr size_t kPiece = 1 << 20;
  for (size_t at = 0; at < data.size(); at += kPiece) {
    size_t n = std::min(kPiece, data.size() - at);
    if (PQputCopyData(conn_, data.data() + at, static_cast<int>(n)) != 1) fail("sending COPY data");
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) fail("ending COPY");
  std::string error;
  while (PGresult* r = PQgetResult(conn_)) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK && error.empty()) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  if (!error.empty()) {
    while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
    throw std::runtime_error("postgresql " + where_ + ": " + error);
  }
}

void Connection::eachSlice(const std::string& select, int slice,
                           const std::function<void(const Result&)>& f) {
  exec("DECLARE triaged_read NO SCROLL CURSOR FOR " + select);
  std::string fetch = "FETCH " + std::to_string(slice) + " FROM triaged_read";
  while (true) {
    Result r = checked(
        Result(PQexecParams(conn_, fetch.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 1)));
    if (r.rows() == 0) break;
    f(r);
    if (r.rows() < slice) break;
  }
  exec("CLOSE triaged_read");
}

CopyRows& CopyRows::i(int64_t v) {
  sep();
  char tmp[24];
  auto [p, ec] = std::to_chars(tmp, tmp + sizeof tmp, v);
  buf_.append(tmp, p);
  return *this;
}

CopyRows& CopyRows::d(double v) {
  sep();
  if (std::isnan(v)) {
    buf_ += "NaN";
  } else if (std::isinf(v)) {
    buf_ += v > 0 ? "Infinity" : "-Infinity";
  } else {
    char tmp[32];
    int n = std::snprintf(tmp, sizeof tmp, "%.17g", v);
    buf_.append(tmp, static_cast<size_t>(n));
  }
  return *this;
}

void CopyRows::appendValues(std::string& sql) const {
  std::string_view b = buf_;
  for (size_t k = 0; k < b.size();) {
    sql += k ? ",(" : "(";
    while (true) {  // the row's fields; a raw tab or newline only separates (appendText)
      size_t end = b.find_first_of("\t\n", k);
      if (end == std::string_view::npos) throw std::logic_error("CopyRows: a row without end()");
      std::string_view f = b.substr(k, end - k);
      if (f == "\\N") {
        sql += "NULL";
      } else {
        sql += '\'';
        for (size_t i = 0; i < f.size(); ++i) {
          char c = f[i];
          if (c == '\\') {  // appendText's escapes, undone
            char e = i + 1 < f.size() ? f[++i] : '\0';
            c = e == '\\' ? '\\' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : '\0';
            if (!c) throw std::logic_error("CopyRows: an escape appendText does not write");
          }
          if (c == '\'') sql += '\'';
          sql += c;
        }
        sql += '\'';
      }
      k = end + 1;
      if (b[end] == '\n') break;
      sql += ',';
    }
    sql += ')';
  }
}

CopyRows& CopyRows::text(std::string_view v) {
  sep();
  appendText(buf_, v);
  return *this;
}

CopyRows& CopyRows::bytea(std::string_view v) {
  sep();
  if (v.empty()) {
    buf_ += "\\N";
    return *this;
  }
  static const char* kHex = "0123456789abcdef";
  buf_ += "\\\\x";
  for (unsigned char c : v) {
    buf_.push_back(kHex[c >> 4]);
    buf_.push_back(kHex[c & 15]);
  }
  return *this;
}

namespace {
constexpr char kBinaryHeader[] = "PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
}

BinaryRows& BinaryRows::row(int16_t fields) {
  if (ended_) throw std::logic_error("BinaryRows: a row after data()");
  if (buf_.empty()) buf_.assign(kBinaryHeader, sizeof kBinaryHeader - 1);
  be(static_cast<uint16_t>(fields));
  ++rows_;
  return *this;
}

BinaryRows& BinaryRows::i8(int64_t v) {
  be(uint32_t{8});
  be(static_cast<uint64_t>(v));
  return *this;
}

BinaryRows& BinaryRows::i4(int32_t v) {
  be(uint32_t{4});
  be(static_cast<uint32_t>(v));
  return *this;
}

BinaryRows& BinaryRows::text(std::string_view v) {
  bool plain = true;
  for (unsigned char c : v)
    if (c == 0 || c >= 0x80) {
      plain = false;
      break;
    }
  if (!plain) {
    std::string valid = validUtf8(v);
    be(static_cast<uint32_t>(valid.size()));
    buf_ += valid;
    return *this;
  }
  be(static_cast<uint32_t>(v.size()));
  buf_.append(v.data(), v.size());
  return *this;
}

BinaryRows& BinaryRows::bytea(std::string_view v) {
  if (v.empty()) {
    be(uint32_t{0xFFFFFFFFu});  // NULL
    return *this;
  }
  be(static_cast<uint32_t>(v.size()));
  buf_.append(v.data(), v.size());
  return *this;
}

std::string_view BinaryRows::data() {
  if (buf_.empty()) buf_.assign(kBinaryHeader, sizeof kBinaryHeader - 1);
  if (!ended_) buf_ += "\xff\xff";
  ended_ = true;
  return buf_;
}

CopyRows& CopyRows::end() {
  buf_.push_back('\n');
  ++rows_;
  first_ = true;
  return *this;
}

}  // namespace triaged::engine::pg

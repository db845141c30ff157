// A libpq connection for the postgresql backend: connect (the password never in a message),
// statements that throw with the server's reason, COPY in, and reading large tables through a
// cursor in slices. Plus the COPY text encoder: fields escaped as COPY's text format wants,
// bytea as hex, and text made valid for a UTF-8 database (NUL and invalid UTF-8 become U+FFFD:
// PostgreSQL's text cannot hold them, SQLite's can).
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace triaged::engine::pg {

// One result, freed with it.
struct Result {
  PGresult* r = nullptr;
  explicit Result(PGresult* p = nullptr) : r(p) {}
  Result(Result&& o) noexcept : r(o.r) { o.r = nullptr; }
  Result& operator=(Result&& o) noexcept {
    if (this != &o) {
      if (r) PQclear(r);
      r = o.r;
      o.r = nullptr;
    }
    return *this;
  }
  ~Result() {
    if (r) PQclear(r);
  }
  int rows() const { return PQntuples(r); }
  bool null(int row, int col) const { return PQgetisnull(r, row, col); }
  std::string_view text(int row, int col) const {
    return {PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col))};
  }
  std::string str(int row, int col) const { return std::string(text(row, col)); }
  // Each getter reads its column in the format the result came in: text (exec), or binary
  // (eachSlice: integers big-endian, bytea and text as they are, no parsing or hex decoding).
  int64_t i64(int row, int col) const;
  uint64_t u64(int row, int col) const { return static_cast<uint64_t>(i64(row, col)); }
  double f64(int row, int col) const;
  // A bytea column, decoded; "" when NULL.
  std::string bytes(int row, int col) const;
  bool binary(int col) const { return PQfformat(r, col) == 1; }
};

class Connection {
 public:
  // Connects (libpq URI or key=value string; `password` when not empty). Throws naming the
  // server (host:port/database) and libpq's reason, never the password.
  Connection(const std::string& url, const std::string& password,
             std::chrono::milliseconds connect_timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // host:port/database, for messages.
  const std::string& where() const { return where_; }
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  // Ends the transaction under way without its changes (when the connection still works).
  void rollback() noexcept;
  // Reconnects a broken connection (same parameters). Throws when the server is still away.
  void reset();
  // Runs one or more statements; returns the last result. Throws with the server's reason.
  Result exec(const std::string& sql);
  // One statement with text parameters.
  Result exec(const std::string& sql, std::initializer_list<std::string> params);
  // COPY ... FROM STDIN with `data` in COPY's text format.
  void copyIn(const std::string& copy_sql, std::string_view data);
  // Runs `select` through a cursor in slices of `slice` rows (inside the caller's transaction).
  // The rows come in binary format: a million rows of integers and bytea read without parsing
  // text or decoding hex (and without the server encoding them).
  void eachSlice(const std::string& select, int slice, const std::function<void(const Result&)>& f);
  PGconn* raw() { return conn_; }

 private:
  [[noreturn]] void fail(const std::string& what);
  // r, or an exception with the server's reason when it is not a success.
  Result checked(Result r);
  PGconn* conn_ = nullptr;
  std::string where_;
};

// Rows in COPY's text format.
class CopyRows {
 public:
  CopyRows& i(int64_t v);
  CopyRows& u(uint64_t v) { return i(static_cast<int64_t>(v)); }
  CopyRows& d(double v);
  CopyRows& text(std::string_view v);
  // bytea; an empty value is NULL (as the SQLite backend binds it).
  CopyRows& bytea(std::string_view v);
  CopyRows& null() {
    sep();
    buf_ += "\\N";
    return *this;
  }
  // Ends the row.
  CopyRows& end();
  size_t rows() const { return rows_; }
  bool empty() const { return rows_ == 0; }
  const std::string& data() const { return buf_; }
  // The rows as the tuples of an SQL VALUES list, appended to `sql`: "(...),(...)", each
  // value a string literal or NULL (the session has standard_conforming_strings on, so a
  // literal's only special character is the quote, doubled). For a few rows this saves the
  // COPY's round trip.
  void appendValues(std::string& sql) const;
  void clear() {
    buf_.clear();
    rows_ = 0;
    first_ = true;
  }

 private:
  void sep() {
    if (!first_) buf_.push_back('\t');
    first_ = false;
  }
  std::string buf_;
  size_t rows_ = 0;
  bool first_ = true;
};

// Rows in COPY's binary format (about twice as fast for the server to take as text: no hex
// bytea, no number parsing). Each value must be of its column's exact type: i8 for BIGINT, i4
// for INTEGER. Text is made valid UTF-8 as CopyRows does.
class BinaryRows {
 public:
  BinaryRows& row(int16_t fields);
  BinaryRows& i8(int64_t v);
  BinaryRows& u8(uint64_t v) { return i8(static_cast<int64_t>(v)); }
  BinaryRows& i4(int32_t v);
  BinaryRows& text(std::string_view v);
  // bytea; an empty value is NULL (as the SQLite backend binds it).
  BinaryRows& bytea(std::string_view v);
  size_t rows() const { return rows_; }
  bool empty() const { return rows_ == 0; }
  // The whole COPY data: header, rows, trailer (added by the first call; no row after it).
  std::string_view data();
  void clear() {
    buf_.clear();
    rows_ = 0;
    ended_ = false;
  }

 private:
  // Big-endian, as COPY's binary format has it: one append, not a byte at a time.
  template <class T>
  void be(T v) {
    if constexpr (sizeof(T) == 8)
      v = static_cast<T>(__builtin_bswap64(static_cast<uint64_t>(v)));
    else if constexpr (sizeof(T) == 4)
      v = static_cast<T>(__builtin_bswap32(static_cast<uint32_t>(v)));
    else
      v = static_cast<T>(__builtin_bswap16(static_cast<uint16_t>(v)));
    buf_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  std::string buf_;  // starts with the header once a row is added
  size_t rows_ = 0;
  bool ended_ = false;
};

// `v` with NUL bytes and invalid UTF-8 replaced by U+FFFD (what a UTF-8 text column accepts).
std::string validUtf8(std::string_view v);

}  // namespace triaged::engine::pg

// libFuzzer harness for the store's record decoders (incidents, problems, silences, threshold
// windows as read back at start-up): anything either decodes, or throws std::runtime_error naming
// the field; a decoded record encodes and decodes again to the same record. And the postgresql
// backend's rows as SQL literals: any text, as a VALUES list, reads back as exactly that text
// (made valid UTF-8), never ending its literal early.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "store/postgres/pg_connection.h"
#include "store/state_codec.h"

using namespace triaged::engine;

namespace {

// The literal at sql[k] ('...' with '' for a quote, or NULL); advances k. Aborts on anything else.
std::string literal(const std::string& sql, size_t& k, bool* null = nullptr) {
  if (sql.compare(k, 4, "NULL") == 0 && null) {
    k += 4;
    *null = true;
    return {};
  }
  if (k >= sql.size() || sql[k] != '\'') std::abort();
  std::string out;
  for (++k;; ++k) {
    if (k >= sql.size()) std::abort();
    if (sql[k] == '\'') {
      if (k + 1 < sql.size() && sql[k + 1] == '\'') {
        out += '\'';
        ++k;
        continue;
      }
      ++k;
      return out;
    }
    out += sql[k];
  }
}

void sqlValues(std::string_view text) {
  std::string_view a = text.substr(0, text.size() / 2), b = text.substr(text.size() / 2);
  pg::CopyRows rows;
  rows.text(a).null().i(-42).bytea(b).end();
  rows.text(b).text("").bytea("").end();
  std::string sql = "VALUES ";
  rows.appendValues(sql);
  size_t k = 7;
  auto expect = [&](std::string_view s) {
    if (sql.compare(k, s.size(), s) != 0) std::abort();
    k += s.size();
  };
  bool null = false;
  expect("(");
  if (literal(sql, k) != pg::validUtf8(a)) std::abort();
  expect(",NULL,'-42',");
  std::string hex = literal(sql, k, &null);
  if (b.empty() != null) std::abort();
  if (!null && hex.size() != 2 + 2 * b.size()) std::abort();
  expect("),(");
  if (literal(sql, k) != pg::validUtf8(b)) std::abort();
  expect(",'',NULL)");
  if (k != sql.size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sqlValues(text);
  try {
    IncidentRecord r = decodeIncident(text);
    std::string again;
    encodeIncident(again, r.incident);
    IncidentRecord r2 = decodeIncident(again);
    std::string third;
    encodeIncident(third, r2.incident);
    if (third != again) std::abort();
  } catch (const std::runtime_error& e) {
    if (!*e.what()) std::abort();
  }
  try {
    Problem p = decodeProblem(text);
    std::string again;
    encodeProblem(again, p);
    (void)decodeProblem(again);
  } catch (const std::runtime_error&) {
  }
  try {
    Silence s = decodeSilence(text);
    std::string again;
    encodeSilence(again, s);
    Silence s2 = decodeSilence(again);
    if (s2.matchers.size() != s.matchers.size()) std::abort();
  } catch (const std::runtime_error&) {
  }
  try {
    auto w = decodeWindow(text);
    if (decodeWindow(encodeWindow(w)) != w) std::abort();
  } catch (const std::runtime_error& e) {
    if (!*e.what()) std::abort();
  }
  return 0;
}

// Reading and writing the store's JSON records: field access that names what is wrong, for the
// codecs of state_codec.cpp and api_records_codec.cpp. Internal to engine/src/store.
#pragma once

#include <simdjson.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "triaged/api/json_writer.h"

namespace triaged::engine::codec {

using api::JsonWriter;
using simdjson::dom::element;

template <class Strings>  // std::vector<std::string>, Incident::Names
inline void writeStrings(JsonWriter& w, const char* key, const Strings& v) {
  w.key(key).beginArray();
  for (const auto& s : v) w.value(s);
  w.endArray();
}

// Field access that names what is wrong.
struct Reader {
  element root;
  element at(const char* key) const {
    element e;
    if (root[key].get(e)) throw std::runtime_error(std::string("field \"") + key + "\" is missing");
    return e;
  }
  std::string str(const char* key) const {
    std::string_view v;
    if (at(key).get_string().get(v))
      throw std::runtime_error(std::string("field \"") + key + "\" is not a string");
    return std::string(v);
  }
  int64_t i64(const char* key) const {
    int64_t v;
    if (at(key).get_int64().get(v))
      throw std::runtime_error(std::string("field \"") + key + "\" is not an integer");
    return v;
  }
  uint64_t u64(const char* key) const {
    uint64_t v;
    if (at(key).get_uint64().get(v))
      throw std::runtime_error(std::string("field \"") + key + "\" is not an integer");
    return v;
  }
  bool has(const char* key) const { return root[key].error() != simdjson::NO_SUCH_FIELD; }
  // A field a sparse record leaves out at its default.
  bool flagOr(const char* key, bool fallback) const { return has(key) ? flag(key) : fallback; }
  std::string strOr(const char* key) const { return has(key) ? str(key) : std::string(); }
  int64_t i64Or(const char* key) const { return has(key) ? i64(key) : 0; }
  uint64_t u64Or(const char* key) const { return has(key) ? u64(key) : 0; }
  bool flag(const char* key) const {
    bool v;
    if (at(key).get_bool().get(v))
      throw std::runtime_error(std::string("field \"") + key + "\" is not a boolean");
    return v;
  }
  simdjson::dom::array arr(const char* key) const {
    simdjson::dom::array a;
    if (at(key).get_array().get(a))
      throw std::runtime_error(std::string("field \"") + key + "\" is not an array");
    return a;
  }
  std::vector<uint64_t> ids(const char* key) const {
    std::vector<uint64_t> out;
    for (auto e : arr(key)) {
      uint64_t v;
      if (e.get_uint64().get(v))
        throw std::runtime_error(std::string("field \"") + key + "\" holds a non-integer");
      out.push_back(v);
    }
    return out;
  }
  std::vector<std::string> strings(const char* key) const {
    std::vector<std::string> out;
    for (auto e : arr(key)) {
      std::string_view v;
      if (e.get_string().get(v))
        throw std::runtime_error(std::string("field \"") + key + "\" holds a non-string");
      out.emplace_back(v);
    }
    return out;
  }
};

inline Reader parse(simdjson::dom::parser& p, std::string_view record) {
  element root;
  if (p.parse(record.data(), record.size()).get(root) || !root.is_object())
    throw std::runtime_error("record is not a JSON object");
  return Reader{root};
}

}  // namespace triaged::engine::codec

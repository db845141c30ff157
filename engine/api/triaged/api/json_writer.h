// A small streaming JSON writer into a std::string: objects, arrays, escaped strings, numbers.
// Not thread-safe; one per response being built.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace triaged::api {

void appendJsonString(std::string& out, std::string_view s);  // with quotes, escaped

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view v);
  JsonWriter& value(const char* v) { return value(std::string_view(v)); }
  JsonWriter& value(const std::string& v) { return value(std::string_view(v)); }
  JsonWriter& value(bool v);
  JsonWriter& value(int64_t v);
  JsonWriter& value(uint64_t v);
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(unsigned v) { return value(static_cast<uint64_t>(v)); }
  JsonWriter& value(double v);  // NaN and infinities become null
  JsonWriter& null();
  JsonWriter& raw(std::string_view json);  // already-encoded JSON value

  template <class T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

 private:
  void separate();
  std::string& out_;
  std::string first_;  // per open container: 1 while no element is written yet (no allocation
                       // up to 15 levels)
  bool after_key_ = false;
};

}  // namespace triaged::api

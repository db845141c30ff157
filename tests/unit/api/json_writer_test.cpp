#include "triaged/api/json_writer.h"

#include <catch2/catch.hpp>
#include <cmath>

using triaged::api::JsonWriter;

TEST_CASE("JsonWriter nests objects and arrays with commas in the right places", "[json]") {
  std::string out;
  JsonWriter w(out);
  w.beginObject().field("a", 1).key("b").beginArray().value("x").value(true).null().endArray();
  w.key("c").beginObject().endObject().field("d", 2.5).endObject();
  CHECK(out == R"({"a":1,"b":["x",true,null],"c":{},"d":2.5})");
}

TEST_CASE("JsonWriter escapes quotes, backslashes and control characters", "[json]") {
  std::string out;
  JsonWriter(out).value(std::string_view("a\"b\\c\nd\x01", 8));
  CHECK(out == R"("a\"b\\c\nd\u0001")");
}

TEST_CASE("JsonWriter writes non-finite numbers as null", "[json]") {
  std::string out;
  JsonWriter w(out);
  w.beginArray().value(NAN).value(INFINITY).value(int64_t{-3}).endArray();
  CHECK(out == "[null,null,-3]");
}

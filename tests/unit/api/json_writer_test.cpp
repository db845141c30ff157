#include "triaged/api/json_writer.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>

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

TEST_CASE("JsonWriter escapes the same byte by byte and eight bytes at a time", "[json]") {
  // Every byte value at every position of strings up to 40 bytes long (the fast path reads
  // eight at a time), against the escaping written out byte by byte.
  auto expected = [](std::string_view s) {
    std::string e = "\"";
    for (unsigned char c : s) {
      char buf[8];
      if (c == '"')
        e += "\\\"";
      else if (c == '\\')
        e += "\\\\";
      else if (c == '\n')
        e += "\\n";
      else if (c == '\r')
        e += "\\r";
      else if (c == '\t')
        e += "\\t";
      else if (c < 0x20)
        std::snprintf(buf, sizeof buf, "\\u%04x", c), e += buf;
      else
        e += static_cast<char>(c);
    }
    return e + "\"";
  };
  for (size_t len : {1, 7, 8, 9, 16, 17, 40})
    for (size_t pos = 0; pos < len; ++pos)
      for (int b = 0; b < 256; ++b) {
        std::string s(len, 'x');
        s[pos] = static_cast<char>(b);
        std::string out;
        JsonWriter(out).value(s);
        REQUIRE(out == expected(s));
      }
  std::string utf8 = "h\xc3\xa9llo w\xc3\xb6rld, \xe2\x82\xac 100 \x7f";
  std::string out;
  JsonWriter(out).value(utf8);
  CHECK(out == "\"" + utf8 + "\"");  // bytes from 0x7f up are not escaped
}

TEST_CASE("JsonWriter writes non-finite numbers as null", "[json]") {
  std::string out;
  JsonWriter w(out);
  w.beginArray().value(NAN).value(INFINITY).value(int64_t{-3}).endArray();
  CHECK(out == "[null,null,-3]");
}

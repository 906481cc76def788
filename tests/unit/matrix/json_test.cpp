#include "matrix/json.hpp"

#include <gtest/gtest.h>

#include <string>

#include "base/error.hpp"

namespace atrium::matrix {
namespace {

Errc errc_of(auto&& fn) {
  try {
    fn();
  } catch (const MatrixError& e) {
    return e.errc();
  }
  ADD_FAILURE() << "no MatrixError thrown";
  return Errc::unknown;
}

TEST(ParseRequestObject, ParsesObjects) {
  json::object o = parse_request_object(R"({"a": 1, "b": [true]})");
  EXPECT_EQ(o.at("a").as_int64(), 1);
  EXPECT_TRUE(o.at("b").as_array()[0].as_bool());
}

TEST(ParseRequestObject, EmptyBody) {
  EXPECT_TRUE(parse_request_object("", /*allow_empty=*/true).empty());
  EXPECT_EQ(errc_of([] { parse_request_object(""); }), Errc::not_json);
}

TEST(ParseRequestObject, NotJson) {
  for (std::string_view body :
       {"{", "nope", R"({"a":1}x)", R"({"a":1,})", "{'a':1}", "{\"a\":\"\xff\"}", "// c\n{}"}) {
    EXPECT_EQ(errc_of([&] { parse_request_object(body); }), Errc::not_json) << body;
  }
  try {
    parse_request_object("{");
  } catch (const MatrixError& e) {
    EXPECT_EQ(e.code(), "M_NOT_JSON");
    EXPECT_STREQ(e.what(), "Content not JSON.");
  }
}

TEST(ParseRequestObject, NotAnObject) {
  for (std::string_view body : {"[]", "1", "\"s\"", "null", "true"}) {
    EXPECT_EQ(errc_of([&] { parse_request_object(body); }), Errc::bad_json) << body;
  }
}

TEST(ParseRequestObject, DepthLimit) {
  auto nested = [](int depth) {
    std::string s = "{\"a\":";
    for (int i = 1; i < depth; ++i)
      s += "[";
    s += "1";
    for (int i = 1; i < depth; ++i)
      s += "]";
    return s + "}";
  };
  EXPECT_NO_THROW(parse_request_object(nested(64)));
  EXPECT_EQ(errc_of([&] { parse_request_object(nested(65)); }), Errc::not_json);
}

TEST(FieldAccess, Strings) {
  json::object o = parse_request_object(R"({"s": "x", "n": null, "i": 3})");
  EXPECT_EQ(get_string(o, "s"), "x");
  EXPECT_EQ(get_string(o, "n"), std::nullopt);
  EXPECT_EQ(get_string(o, "missing"), std::nullopt);
  EXPECT_EQ(errc_of([&] { get_string(o, "i"); }), Errc::bad_json);
  EXPECT_EQ(require_string(o, "s"), "x");
  try {
    require_string(o, "type");
    ADD_FAILURE();
  } catch (const MatrixError& e) {
    EXPECT_EQ(e.errc(), Errc::bad_json);
    EXPECT_STREQ(e.what(), "missing field 'type'");
  }
}

TEST(FieldAccess, Integers) {
  json::object o = parse_request_object(
      R"({"i": -5, "big": 9223372036854775807, "huge": 9223372036854775808,
          "f": 1.0, "s": "5", "b": true})");
  EXPECT_EQ(get_int(o, "i"), -5);
  EXPECT_EQ(get_int(o, "big"), INT64_MAX);
  EXPECT_EQ(get_int(o, "missing"), std::nullopt);
  for (std::string_view key : {"huge", "f", "s", "b"}) {
    EXPECT_EQ(errc_of([&] { get_int(o, key); }), Errc::bad_json) << key;
  }
  try {
    get_int(o, "f");
  } catch (const MatrixError& e) {
    EXPECT_STREQ(e.what(), "'f' must be an integer");
  }
  EXPECT_EQ(require_int(o, "i"), -5);
  EXPECT_EQ(errc_of([&] { require_int(o, "timeout"); }), Errc::bad_json);
}

TEST(FieldAccess, BoolsObjectsArrays) {
  json::object o = parse_request_object(R"({"b": false, "o": {"k": 1}, "a": [1], "n": null})");
  EXPECT_EQ(get_bool(o, "b"), false);
  EXPECT_EQ(errc_of([&] { get_bool(o, "o"); }), Errc::bad_json);
  ASSERT_NE(get_object(o, "o"), nullptr);
  EXPECT_EQ(get_object(o, "o")->at("k").as_int64(), 1);
  EXPECT_EQ(get_object(o, "n"), nullptr);
  EXPECT_EQ(errc_of([&] { get_object(o, "a"); }), Errc::bad_json);
  ASSERT_NE(get_array(o, "a"), nullptr);
  EXPECT_EQ(get_array(o, "a")->size(), 1u);
  EXPECT_EQ(errc_of([&] { get_array(o, "o"); }), Errc::bad_json);
  EXPECT_EQ(require_object(o, "o").size(), 1u);
  EXPECT_EQ(errc_of([&] { require_object(o, "missing"); }), Errc::bad_json);
  EXPECT_EQ(errc_of([&] { require_object(o, "n"); }), Errc::bad_json);
}

}  // namespace
}  // namespace atrium::matrix

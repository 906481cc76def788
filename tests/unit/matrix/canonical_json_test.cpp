#include "matrix/canonical_json.hpp"

#include <gtest/gtest.h>

#include <cstdint>

#include "base/error.hpp"

namespace atrium::matrix {
namespace {

namespace json = boost::json;

std::string canon(std::string_view text) {
  return canonical_json(json::parse(text));
}

// The examples of the spec appendix "Canonical JSON".
TEST(CanonicalJson, SpecAppendixVectors) {
  EXPECT_EQ(canon("{}"), "{}");
  EXPECT_EQ(canon(R"({"one": 1, "two": "Two"})"), R"({"one":1,"two":"Two"})");
  EXPECT_EQ(canon(R"({"b": "2", "a": "1"})"), R"({"a":"1","b":"2"})");
  EXPECT_EQ(canon(R"({"b":"2","a":"1"})"), R"({"a":"1","b":"2"})");
  EXPECT_EQ(canon(R"({
      "auth": {
        "success": true,
        "mxid": "@john.doe:example.com",
        "profile": {
          "display_name": "John Doe",
          "three_pids": [
            {"medium": "email", "address": "john.doe@example.org"},
            {"medium": "msisdn", "address": "123456789"}
          ]
        }
      }
    })"),
            R"({"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe",)"
            R"("three_pids":[{"address":"john.doe@example.org","medium":"email"},)"
            R"({"address":"123456789","medium":"msisdn"}]},"success":true}})");
  EXPECT_EQ(canon(R"({"a": "日本語"})"), R"({"a":"日本語"})");
  EXPECT_EQ(canon(R"({"本": 2, "日": 1})"), R"({"日":1,"本":2})");
  EXPECT_EQ(canon(R"({"a": "\u65E5"})"), R"({"a":"日"})");
  EXPECT_EQ(canon(R"({"a": null})"), R"({"a":null})");
  EXPECT_EQ(canon(R"({"a": -0})"), R"({"a":0})");
}

TEST(CanonicalJson, SortsByCodePointNotBySignedBytes) {
  // 'é' (0xC3 0xA9) must sort after 'z' (0x7A); a signed-char compare would
  // put it first.
  EXPECT_EQ(canon(R"({"é": 1, "z": 2, "A": 3})"), R"({"A":3,"z":2,"é":1})");
  // A key that is a prefix of another sorts first.
  EXPECT_EQ(canon(R"({"ab": 1, "a": 2})"), R"({"a":2,"ab":1})");
}

TEST(CanonicalJson, EscapesOnlyWhatItMust) {
  EXPECT_EQ(canon(R"(["\"", "\\", "/", "\u007f", "\u2028"])"),
            "[\"\\\"\",\"\\\\\",\"/\",\"\x7f\",\"\xe2\x80\xa8\"]");
  EXPECT_EQ(canon(R"(["\b\f\n\r\t"])"), R"(["\b\f\n\r\t"])");
  EXPECT_EQ(canon(R"(["\u0000\u0001\u001f\u001B"])"), R"(["\u0000\u0001\u001f\u001b"])");
}

TEST(CanonicalJson, ScalarsAndNesting) {
  EXPECT_EQ(canon("[true,false,null,[],{}]"), "[true,false,null,[],{}]");
  EXPECT_EQ(canon(R"({"x": {"c": [3, 2, 1], "b": {"z": 0, "y": -1}}})"),
            R"({"x":{"b":{"y":-1,"z":0},"c":[3,2,1]}})");
}

TEST(CanonicalJson, IntegerRangeIsEnforced) {
  const int64_t max = (int64_t{1} << 53) - 1;
  EXPECT_EQ(canonical_json(json::value(max)), "9007199254740991");
  EXPECT_EQ(canonical_json(json::value(-max)), "-9007199254740991");
  EXPECT_EQ(canonical_json(json::value(uint64_t(max))), "9007199254740991");
  for (json::value v : {json::value(max + 1), json::value(-max - 1), json::value(uint64_t(max) + 1),
                        json::value(UINT64_MAX)}) {
    EXPECT_FALSE(is_canonical_encodable(v)) << v;
    try {
      canonical_json(v);
      ADD_FAILURE() << "accepted " << v;
    } catch (const MatrixError& e) {
      EXPECT_EQ(e.errc(), Errc::bad_json);
    }
  }
}

TEST(CanonicalJson, FloatsAreRejectedEvenWhenNested) {
  for (std::string_view text : {"1.0", "1e5", R"({"a": [1, {"b": 0.5}]})", "-0.0"}) {
    json::value v = json::parse(text);
    EXPECT_FALSE(is_canonical_encodable(v)) << text;
    EXPECT_THROW(canonical_json(v), MatrixError) << text;
  }
  EXPECT_TRUE(is_canonical_encodable(json::parse(R"({"a": [1, {"b": 5}]})")));
}

TEST(CanonicalJson, InvalidUtf8InBuiltValuesIsRejected) {
  json::value bad_string = json::string("\xff\xfe");
  EXPECT_FALSE(is_canonical_encodable(bad_string));
  EXPECT_THROW(canonical_json(bad_string), MatrixError);
  json::object bad_key;
  bad_key["\xc3"] = 1;  // truncated two-byte sequence
  EXPECT_FALSE(is_canonical_encodable(bad_key));
  // An encoded surrogate half is not UTF-8 either.
  EXPECT_FALSE(is_canonical_encodable(json::string("\xed\xa0\x80")));
  // Overlong encoding of '/'.
  EXPECT_FALSE(is_canonical_encodable(json::string("\xc0\xaf")));
  EXPECT_TRUE(is_canonical_encodable(json::string("\xf0\x9f\x98\x80")));  // U+1F600
}

TEST(CanonicalJson, IsIdempotent) {
  std::string once = canon(R"({"z": [1, "two", {"b": null, "a": true}], "a": "\n"})");
  EXPECT_EQ(canon(once), once);
}

TEST(CanonicalJson, ObjectsOfManyKeysAreSortedToo) {
  json::object o;
  std::string expected = "{";
  for (int i = 39; i >= 0; --i)
    o[std::string(1, static_cast<char>('0' + i))] = i;
  for (int i = 0; i < 40; ++i)
    expected +=
        (i ? ",\"" : "\"") + std::string(1, static_cast<char>('0' + i)) + "\":" + std::to_string(i);
  EXPECT_EQ(canonical_json(o), expected + "}");
}

TEST(CanonicalJson, WithoutLeavesOutTopLevelKeysOnly) {
  json::object o = json::parse(R"({"b": 1, "signatures": {"x": "y"}, "a": {"signatures": 2},
                                   "unsigned": {"age": 3}})")
                       .as_object();
  EXPECT_EQ(canonical_json_without(o, {"signatures", "unsigned"}),
            R"({"a":{"signatures":2},"b":1})");
  EXPECT_EQ(canonical_json_without(o, {"absent"}), canonical_json(o));
  EXPECT_EQ(canonical_json_without(json::object{{"a", 1}}, {"a"}), "{}");
  json::object bad{{"skipped", 1.5}, {"kept", 2.5}};
  EXPECT_THROW(canonical_json_without(bad, {"skipped"}), MatrixError);
  EXPECT_EQ(canonical_json_without(bad, {"skipped", "kept"}), "{}");
}

}  // namespace
}  // namespace atrium::matrix

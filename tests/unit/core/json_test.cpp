#include "voxseg/core/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

using voxseg::Json;

TEST(Json, ParsesNestedDocumentAndKeepsKeyOrder) {
  const Json j = Json::parse(R"({"b": 1, "a": [true, null, 2.5, "x\n\u00e9"], "c": {"d": -3}})");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.as_object()[0].first, "b");
  EXPECT_EQ(j.as_object()[1].first, "a");
  EXPECT_EQ(j.find("b")->as_int(), 1);
  const auto& a = j.find("a")->as_array();
  EXPECT_TRUE(a[0].as_bool());
  EXPECT_TRUE(a[1].is_null());
  EXPECT_DOUBLE_EQ(a[2].as_double(), 2.5);
  EXPECT_EQ(a[3].as_string(), "x\n\xc3\xa9");
  EXPECT_EQ(j.find("c")->find("d")->as_int(), -3);
}

TEST(Json, DumpRoundTripsAndIsDeterministic) {
  Json j = Json::object();
  j["z"] = 1;
  j["a"] = 0.1;
  j["s"] = "quote\" backslash\\";
  j["arr"].push_back(Json(3));
  j["arr"].push_back(Json());
  const std::string text = j.dump();
  EXPECT_EQ(text, R"({"z": 1, "a": 0.1, "s": "quote\" backslash\\", "arr": [3, null]})");
  EXPECT_EQ(Json::parse(text).dump(), text);
  EXPECT_EQ(Json::parse(j.dump(2)).dump(), text);
}

TEST(Json, NonFiniteNumbersBecomeNull) {
  Json j = Json::object();
  j["nan"] = std::nan("");
  j["inf"] = HUGE_VAL;
  EXPECT_EQ(j.dump(), R"({"nan": null, "inf": null})");
}

TEST(Json, WholeDoublesKeepADecimalPoint) {
  EXPECT_EQ(Json(2.0).dump(), "2.0");
  EXPECT_EQ(Json(int64_t(2)).dump(), "2");
}

TEST(Json, ErrorsNameLineAndColumn) {
  try {
    Json::parse("{\n  \"a\": [1, 2,\n}");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "1 2", "{\"a\":01x}"})
    EXPECT_THROW(Json::parse(bad), std::invalid_argument) << bad;
}

TEST(Json, AccessorsRejectWrongTypes) {
  const Json j = Json::parse(R"({"n": "text", "f": 1.5})");
  EXPECT_THROW(j.find("n")->as_int(), std::invalid_argument);
  EXPECT_THROW(j.find("f")->as_int(), std::invalid_argument);
  EXPECT_THROW(j.as_array(), std::invalid_argument);
  EXPECT_EQ(j.find("missing"), nullptr);
}

TEST(Json, DeepNestingIsRejectedNotACrash) {
  const std::string deep(100000, '[');
  EXPECT_THROW(Json::parse(deep), std::invalid_argument);
}

// The parser is nlohmann's (strict RFC 8259): what the old hand-written parser let through is refused.
TEST(Json, RejectsExtensionsAndInvalidText) {
  for (const char* bad : {"NaN", "[Infinity]", "{\"a\": 1,}", "// note\n1", "\"tab\there\"", "\"\xff\""})
    EXPECT_THROW(Json::parse(bad), std::invalid_argument) << bad;
  EXPECT_EQ(Json::parse("18446744073709551615").dump(), "1.8446744073709552e+19");  // beyond int64: a double
  EXPECT_EQ(Json::parse("-9223372036854775808").as_int(), INT64_MIN);
}

#include "voxseg/core/json_fields.h"

#include <gtest/gtest.h>

#include <array>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../shared_test_support.h"

using voxseg::Json;
namespace json = voxseg::json;

namespace {
// The readers throw std::invalid_argument("field '<path>': ...").
template <typename F>
std::string error_of(F&& f) {
  return voxseg::test_support::error_message<std::invalid_argument>(std::forward<F>(f));
}
}  // namespace

TEST(JsonFields, UnknownKeysAreNamedWithTheirPath) {
  const Json j = Json::parse(R"({"id": 1, "nmae": "x"})");
  EXPECT_EQ(error_of([&] { json::reject_unknown_members(j, {"id", "name"}, "labels[2]"); }),
            "field 'labels[2].nmae': unknown field (misspelt?)");
  EXPECT_EQ(error_of([&] { json::require_member(j, "name", "labels[2]"); }),
            "field 'labels[2].name': required but missing");
}

TEST(JsonFields, ReadersAreTyped) {
  EXPECT_EQ(json::read_int(Json(3.0), "a"), 3);
  EXPECT_EQ(error_of([] { json::read_int(Json(2.5), "a"); }), "field 'a': expected an integer, found 2.5");
  EXPECT_EQ(error_of([] { json::read_number(Json("1"), "a"); }), "field 'a': expected a number, found string");
  const Json lists = Json::parse("[[1, 2, 3], [4, 5]]");
  EXPECT_EQ(error_of([&] { json::read_int_lists(lists, "strides", 3); }), "field 'strides[1]': expected 3 integers, found 2");
  EXPECT_EQ(json::read_string_list(Json::parse(R"(["a", "b"])"), "s"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(error_of([] { json::read_bool_list(Json::parse("[true, 1]"), "m"); }),
            "field 'm[1]': expected true or false, found number");
  EXPECT_EQ(json::optional_member(Json::parse(R"({"a": null})"), "a"), nullptr);
}

TEST(JsonFields, ArraysOfValuesKeepTheirTypes) {
  EXPECT_EQ(json::array_of(std::vector<int64_t>{1, 2}).dump(), "[1, 2]");
  EXPECT_EQ(json::array_of(std::array<double, 2>{1.0, 0.5}).dump(), "[1.0, 0.5]");
  EXPECT_EQ(json::array_of_arrays(std::vector<std::vector<int64_t>>{{1}, {2, 3}}).dump(), "[[1], [2, 3]]");
}

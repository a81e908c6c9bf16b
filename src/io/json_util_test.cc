#include "io/json_util.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace qforge::io {
namespace {

std::string ErrorOf(auto&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(JsonUtil, TypedAccessNamesFileKeyAndType) {
  Json j = ParseJson(R"({"a": 1, "b": "x", "c": 2.5, "d": true, "n": null})", "cfg.json");
  EXPECT_EQ(GetInt(j, "a", "cfg.json"), 1);
  EXPECT_EQ(GetString(j, "b", "cfg.json"), "x");
  EXPECT_EQ(GetNumber(j, "a", "cfg.json"), 1.0);
  EXPECT_FALSE(GetOptInt(j, "n", "cfg.json").has_value());
  EXPECT_FALSE(GetOptInt(j, "zz", "cfg.json").has_value());
  EXPECT_EQ(ErrorOf([&] { GetInt(j, "b", "cfg.json"); }),
            "cfg.json: field \"b\" must be an integer, found string (\"x\")");
  EXPECT_EQ(ErrorOf([&] { GetInt(j, "c", "cfg.json"); }),
            "cfg.json: field \"c\" must be an integer, found number (2.5)");
  EXPECT_EQ(ErrorOf([&] { GetInt(j, "q", "cfg.json"); }), "cfg.json: required field \"q\" is missing");
  EXPECT_NE(ErrorOf([&] { ParseJson("{\"a\":", "x.json"); }).find("x.json: invalid JSON"), std::string::npos);
}

// Expected strings are what CPython 3.11 prints for json.dumps(obj, indent=2, sort_keys=True).
TEST(JsonUtil, DumpPythonStyleMatchesCPython) {
  Json j = Json::parse(R"({"z": [1, 2], "a": {"y": null, "b": {}}, "f": 1e-06, "t": 10000.0, "e": [], "s": "é"})");
  EXPECT_EQ(DumpPythonStyle(j),
            "{\n  \"a\": {\n    \"b\": {},\n    \"y\": null\n  },\n  \"e\": [],\n  \"f\": 1e-06,\n"
            "  \"s\": \"\\u00e9\",\n  \"t\": 10000.0,\n  \"z\": [\n    1,\n    2\n  ]\n}");
}

}  // namespace
}  // namespace qforge::io

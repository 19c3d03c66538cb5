#include "common/log/log.h"

#include <gtest/gtest.h>

namespace dd::log {
namespace {

TEST(LogTest, FormatsOneJsonObjectPerLineWithEscapedFields) {
  SetComponent("render");
  const std::string line =
      FormatLine(Level::kWarning, "samples.rejected",
                 {{"path", "a \"b\"\n.wav"}, {"count", 3}, {"ok", false}, {"ratio", 0.25}});
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "a newline inside a value must be escaped";
  EXPECT_NE(line.find("\"level\":\"warning\""), std::string::npos);
  EXPECT_NE(line.find("\"component\":\"render\""), std::string::npos);
  EXPECT_NE(line.find("\"event\":\"samples.rejected\""), std::string::npos);
  EXPECT_NE(line.find("\"path\":\"a \\\"b\\\"\\n.wav\""), std::string::npos);
  EXPECT_NE(line.find("\"count\":3"), std::string::npos);
  EXPECT_NE(line.find("\"ok\":false"), std::string::npos);
  EXPECT_NE(line.find("\"ratio\":0.25"), std::string::npos);
}

TEST(LogTest, EveryLineIsValidUtf8Json) {
  // A control character is a \u escape; a byte that is not UTF-8 (a Latin-1 file name, a
  // caller's bytes) becomes U+FFFD, as a JSON string cannot hold it and log pipelines refuse
  // lines that are not UTF-8; well-formed characters stay as they are.
  const std::string line =
      FormatLine(Level::kInfo, "x", {{"path", "caf\xE9\x01/\xC3\xA9\xF0\x9F\xA5\x81.wav"}});
  EXPECT_NE(line.find("\"path\":\"caf\xEF\xBF\xBD\\u0001/\xC3\xA9\xF0\x9F\xA5\x81.wav\""),
            std::string::npos)
      << line;
}

TEST(LogTest, NonFiniteNumbersBecomeNull) {
  const std::string line = FormatLine(Level::kInfo, "x", {{"loss", 0.0 / 0.0}});
  EXPECT_NE(line.find("\"loss\":null"), std::string::npos);
}

TEST(LogTest, ParsesLevels) {
  Level level = Level::kInfo;
  EXPECT_TRUE(ParseLevel("debug", &level));
  EXPECT_EQ(level, Level::kDebug);
  EXPECT_TRUE(ParseLevel("error", &level));
  EXPECT_EQ(level, Level::kError);
  EXPECT_FALSE(ParseLevel("loud", &level));
}

}  // namespace
}  // namespace dd::log

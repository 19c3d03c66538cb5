#include "common/text/quoted.h"

#include <string>

#include <gtest/gtest.h>

namespace dd {
namespace {

TEST(QuotedTest, ShortValuesAreQuotedWhole) {
  EXPECT_EQ(Quoted("kick.wav"), "\"kick.wav\"");
  EXPECT_EQ(Quoted(""), "\"\"");
  EXPECT_EQ(Quoted("caf\xC3\xA9/\xE9\xBC\x93.wav"), "\"caf\xC3\xA9/\xE9\xBC\x93.wav\"");
}

TEST(QuotedTest, EscapesWhatWouldHideOrBreakTheMessage) {
  EXPECT_EQ(Quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quoted("line\nnext\ttab\r"), "\"line\\nnext\\ttab\\r\"");
  EXPECT_EQ(Quoted(std::string("nul\0del\x7f", 8)), "\"nul\\x00del\\x7f\"");
  // Bytes that are not UTF-8: a stray continuation byte, a lone lead byte, an overlong form and a
  // UTF-16 surrogate.
  EXPECT_EQ(Quoted("\x80x"), "\"\\x80x\"");
  EXPECT_EQ(Quoted("\xC3"), "\"\\xc3\"");
  EXPECT_EQ(Quoted("\xC0\xAF"), "\"\\xc0\\xaf\"");
  EXPECT_EQ(Quoted("\xED\xA0\x80"), "\"\\xed\\xa0\\x80\"");
  EXPECT_EQ(Quoted("\xF4\x90\x80\x80"), "\"\\xf4\\x90\\x80\\x80\"");
  EXPECT_EQ(Quoted("\xF0\x9F\xA5\x81"), "\"\xF0\x9F\xA5\x81\"");  // A drum, U+1F941.
}

TEST(QuotedTest, LongValuesAreCutAndTheirLengthGiven) {
  const std::string id(10000, 'x');
  EXPECT_EQ(Quoted(id),
            "\"" + std::string(kQuotedValueBytes, 'x') + "\xE2\x80\xA6\" (10000 bytes)");
  EXPECT_EQ(Quoted(std::string(kQuotedValueBytes, 'y')),
            "\"" + std::string(kQuotedValueBytes, 'y') + "\"");
  EXPECT_EQ(Quoted("abcdef", 4), "\"abcd\xE2\x80\xA6\" (6 bytes)");
}

TEST(QuotedTest, ACutNeverSplitsACharacter) {
  // "é" is two bytes: a cut at 4 bytes keeps "aé" (3) and not half of the second "é".
  EXPECT_EQ(Quoted("a\xC3\xA9\xC3\xA9", 4), "\"a\xC3\xA9\xE2\x80\xA6\" (5 bytes)");
  EXPECT_EQ(Quoted("\xF0\x9F\xA5\x81\xF0\x9F\xA5\x81", 7),
            "\"\xF0\x9F\xA5\x81\xE2\x80\xA6\" (8 bytes)");
}

TEST(BoundedMessageTest, KeepsShortMessagesAndCutsLongOnesAtACharacter) {
  EXPECT_EQ(BoundedMessage("bpm must be in [40, 300]", 24), "bpm must be in [40, 300]");
  EXPECT_EQ(BoundedMessage(std::string(5000, 'm'), 10),
            std::string(10, 'm') + "\xE2\x80\xA6 [cut from 5000 bytes]");
  EXPECT_EQ(BoundedMessage("ab\xC3\xA9", 3), "ab\xE2\x80\xA6 [cut from 4 bytes]");
}

}  // namespace
}  // namespace dd

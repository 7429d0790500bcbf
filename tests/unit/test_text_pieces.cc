// tests/unit/test_text_pieces.cc - cutting streamed text into whole-word pieces (text/text_pieces.h).
#include <gtest/gtest.h>

#include "text/text_pieces.h"

namespace cosyvoice::text {
namespace {

TEST(TextPieceBuffer, CutsAfterTheLastWhitespaceOnly) {
  TextPieceBuffer b;
  b.Append("Hel");
  EXPECT_EQ(b.TakeReady(), "");  // no boundary yet: the word may go on
  b.Append("lo wor");
  EXPECT_EQ(b.TakeReady(), "Hello ");
  b.Append("ld, how\n are");
  EXPECT_EQ(b.TakeReady(), "world, how\n ");
  EXPECT_EQ(b.TakeReady(), "");
  EXPECT_EQ(b.TakeRest(), "are");
  EXPECT_TRUE(b.empty());
}

TEST(TextPieceBuffer, CutsAfterCjkPunctuationAndNeverInsideACharacter) {
  TextPieceBuffer b;
  const std::string s = "今天天气不错。我们";  // 。 is U+3002 (E3 80 82)
  b.Append(s.substr(0, 20));                   // up to and including 。 (6 x 3 bytes + 。's first 2)
  EXPECT_EQ(b.TakeReady(), "");                // 。 not complete yet
  b.Append(s.substr(20));
  EXPECT_EQ(b.TakeReady(), "今天天气不错。");
  b.Append("出去吧！好");  // ！ is U+FF01 (EF BC 81)
  EXPECT_EQ(b.TakeReady(), "我们出去吧！");
  EXPECT_EQ(b.TakeRest(), "好");
}

TEST(TextPieceBuffer, LettersFromOtherBlocksAreNotBoundaries) {
  TextPieceBuffer b;
  b.Append("\xEF\xBC\xA1\xE3\x81\x82");  // U+FF21 (fullwidth A) and U+3042 (hiragana a): letters
  EXPECT_EQ(b.TakeReady(), "");
  EXPECT_EQ(b.TakeRest(), "\xEF\xBC\xA1\xE3\x81\x82");
}

}  // namespace
}  // namespace cosyvoice::text

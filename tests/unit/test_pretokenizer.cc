// tests/unit/test_pretokenizer.cc - the Qwen2 pre-tokenizer scanner on hand-reasoned cases.
#include <string>
#include <vector>

#include "test_util.h"
#include "text/pretokenizer.h"

namespace cosyvoice {
namespace {

std::vector<std::string> Split(const std::string &text) {
  std::vector<std::string_view> views;
  PreTokenizeQwen2(text, &views);
  return {views.begin(), views.end()};
}

using Pieces = std::vector<std::string>;

TEST(PreTokenizer, EmptyTextHasNoPieces) {
  EXPECT_TRUE(Split("").empty());
}

TEST(PreTokenizer, ContractionsInAnyCase) {
  EXPECT_EQ(Split("it's"), (Pieces{"it", "'s"}));
  EXPECT_EQ(Split("IT'S we'Re they'VE I'm we'LL he'D can'T"),
            (Pieces{"IT", "'S", " we", "'Re", " they", "'VE", " I", "'m", " we", "'LL", " he", "'D", " can",
                    "'T"}));
  EXPECT_EQ(Split("'lL'Ll"), (Pieces{"'lL", "'Ll"}));
  // The contraction is taken first, even when letters follow: "'sx" is "'s" + "x".
  EXPECT_EQ(Split("'sx"), (Pieces{"'s", "x"}));
  EXPECT_EQ(Split("'llama"), (Pieces{"'ll", "ama"}));
  // Unicode case folding: U+017F LATIN SMALL LETTER LONG S folds to 's'.
  EXPECT_EQ(Split("'\u017Fx"), (Pieces{"'\u017F", "x"}));
  // No contraction: another suffix, a curly apostrophe, or a space before the apostrophe.
  EXPECT_EQ(Split("'x"), (Pieces{"'x"}));
  EXPECT_EQ(Split("\u2019s"), (Pieces{"\u2019s"}));
  EXPECT_EQ(Split("a 's"), (Pieces{"a", " '", "s"}));
}

TEST(PreTokenizer, LettersTakeOneLeadingNonLetter) {
  EXPECT_EQ(Split("hello world"), (Pieces{"hello", " world"}));
  EXPECT_EQ(Split("!hi"), (Pieces{"!hi"}));
  EXPECT_EQ(Split("!!hi"), (Pieces{"!!", "hi"}));  // no letter after the first "!": the "other" run wins
  EXPECT_EQ(Split("\thi"), (Pieces{"\thi"}));
  EXPECT_EQ(Split("\u00A0hi"), (Pieces{"\u00A0hi"}));  // NBSP is not a newline
  EXPECT_EQ(Split("\nhi"), (Pieces{"\n", "hi"}));      // a newline never leads a word
  EXPECT_EQ(Split("1hi"), (Pieces{"1", "hi"}));        // nor does a number
  EXPECT_EQ(Split("\u4F60\u597D\uFF0C\u4E16\u754C"), (Pieces{"\u4F60\u597D", "\uFF0C\u4E16\u754C"}));
  // A combining mark is not a letter: it leads the next letters, or is "other" on its own.
  EXPECT_EQ(Split("e\u0301e"), (Pieces{"e", "\u0301e"}));
}

TEST(PreTokenizer, NumbersAreSingleCharacters) {
  EXPECT_EQ(Split("2024"), (Pieces{"2", "0", "2", "4"}));
  EXPECT_EQ(Split("x12"), (Pieces{"x", "1", "2"}));
  EXPECT_EQ(Split(" 12"), (Pieces{" ", "1", "2"}));
  EXPECT_EQ(Split("\u00BD\u2167\u0661"), (Pieces{"\u00BD", "\u2167", "\u0661"}));  // No, Nl, Nd
  EXPECT_EQ(Split("3.14"), (Pieces{"3", ".", "1", "4"}));
}

TEST(PreTokenizer, PunctuationRunsKeepTrailingNewlines) {
  EXPECT_EQ(Split("hi!!!"), (Pieces{"hi", "!!!"}));
  EXPECT_EQ(Split("hi ..."), (Pieces{"hi", " ..."}));
  EXPECT_EQ(Split("hi  ..."), (Pieces{"hi", " ", " ..."}));
  EXPECT_EQ(Split("end.\n\nNext"), (Pieces{"end", ".\n\n", "Next"}));
  EXPECT_EQ(Split("a;\r\n b"), (Pieces{"a", ";\r\n", " b"}));
  EXPECT_EQ(Split("\U0001F600\U0001F600"), (Pieces{"\U0001F600\U0001F600"}));
  // Only an ASCII space may lead the run.
  EXPECT_EQ(Split("a\u3000!"), (Pieces{"a", "\u3000", "!"}));
}

TEST(PreTokenizer, WhitespaceBeforeNewlinesEndsAfterTheLastNewline) {
  EXPECT_EQ(Split("a \n\n b"), (Pieces{"a", " \n\n", " b"}));
  EXPECT_EQ(Split("a\n \n  b"), (Pieces{"a", "\n \n", " ", " b"}));
  EXPECT_EQ(Split("\r\n"), (Pieces{"\r\n"}));
  EXPECT_EQ(Split("a\u2028b"), (Pieces{"a", "\u2028b"}));  // U+2028 is \s but not [\r\n]
}

TEST(PreTokenizer, WhitespaceLookAheadLeavesOneSpaceForTheNextWord) {
  EXPECT_EQ(Split("a  b"), (Pieces{"a", " ", " b"}));
  EXPECT_EQ(Split("a    b"), (Pieces{"a", "   ", " b"}));
  EXPECT_EQ(Split("a \t b"), (Pieces{"a", " \t", " b"}));
  EXPECT_EQ(Split("   hi"), (Pieces{"  ", " hi"}));
  EXPECT_EQ(Split("a\u3000\u3000b"), (Pieces{"a", "\u3000", "\u3000b"}));
  // At the end of the text the whole run is one piece.
  EXPECT_EQ(Split("hi   "), (Pieces{"hi", "   "}));
  EXPECT_EQ(Split(" "), (Pieces{" "}));
  // A single whitespace char before a non-space that cannot take it (alternative 7).
  EXPECT_EQ(Split("a\t1"), (Pieces{"a", "\t", "1"}));
  EXPECT_EQ(Split("a  1"), (Pieces{"a", " ", " ", "1"}));
}

TEST(PreTokenizer, PiecesTileTheInput) {
  const std::string text =
      "Mixed 中文 and English, 123 numbers!\n\n  Tabs\there 'LL \u00e9\u0301 \U0001F44D\U0001F3FD.";
  std::string joined;
  for (const auto &p : Split(text)) {
    EXPECT_FALSE(p.empty());
    joined += p;
  }
  EXPECT_EQ(joined, text);
}

}  // namespace
}  // namespace cosyvoice

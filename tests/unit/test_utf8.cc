// tests/unit/test_utf8.cc - UTF-8 validation, lossy decoding and NFC.
#include <string>

#include "test_util.h"
#include "text/unicode.h"
#include "text/utf8_codec.h"

namespace cosyvoice {
namespace {

constexpr size_t kValid = std::string_view::npos;

TEST(Utf8, FindsTheFirstIllFormedSequence) {
  EXPECT_EQ(FindInvalidUtf8(""), kValid);
  EXPECT_EQ(FindInvalidUtf8("plain ASCII, long enough for the 8-byte fast path"), kValid);
  EXPECT_EQ(FindInvalidUtf8("\u00E9\u4F60\U0001F600\U0010FFFF"), kValid);
  EXPECT_EQ(FindInvalidUtf8("abcdefghij\x80"), 10u);           // lone continuation byte
  EXPECT_EQ(FindInvalidUtf8("a\xC3"), 1u);                     // truncated
  EXPECT_EQ(FindInvalidUtf8("a\xC0\x80"), 1u);                 // overlong NUL
  EXPECT_EQ(FindInvalidUtf8("\xE0\x9F\xBF"), 0u);              // overlong 3-byte
  EXPECT_EQ(FindInvalidUtf8("ok\xED\xA0\x80"), 2u);            // UTF-16 surrogate
  EXPECT_EQ(FindInvalidUtf8("\xF4\x90\x80\x80"), 0u);          // above U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("\xF5\x80\x80\x80"), 0u);          // never a lead byte
  EXPECT_EQ(FindInvalidUtf8(std::string("a\0b", 3)), kValid);  // NUL is a character
}

TEST(Utf8, LossyReplacesEachMaximalSubpartOnce) {
  EXPECT_EQ(Utf8Lossy("ok"), "ok");
  EXPECT_EQ(Utf8Lossy("\xF0\x9F\x98"), "\uFFFD");  // one cut 4-byte char
  EXPECT_EQ(Utf8Lossy("\xF0\x9F\x98x"), "\uFFFDx");
  EXPECT_EQ(Utf8Lossy("\xE0\x80"), "\uFFFD\uFFFD");  // E0 cannot take 80
  EXPECT_EQ(Utf8Lossy("\xC0\xAF"), "\uFFFD\uFFFD");
  EXPECT_EQ(Utf8Lossy("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");  // surrogate: three subparts
  EXPECT_EQ(Utf8Lossy("a\x80\x80"
                      "b"),
            "a\uFFFD\uFFFDb");
}

TEST(Utf8, AppendAndDecodeRoundTrip) {
  for (char32_t c : {U'\0', U'a', U'\u00E9', U'\u07FF', U'\u0800', U'\uFFFD', U'\U00010000', U'\U0010FFFF'}) {
    std::string s;
    AppendUtf8(c, &s);
    size_t len = 0;
    EXPECT_EQ(DecodeUtf8At(s, 0, &len), c);
    EXPECT_EQ(len, s.size());
    EXPECT_EQ(FindInvalidUtf8(s), kValid);
  }
}

TEST(Unicode, NfcComposes) {
  EXPECT_EQ(NfcNormalize("cafe\u0301"), "caf\u00E9");
  EXPECT_EQ(NfcNormalize("\u212B"), "\u00C5");              // Angstrom sign
  EXPECT_EQ(NfcNormalize("\u1100\u1161\u11A8"), "\uAC01");  // Hangul jamo
  EXPECT_EQ(NfcNormalize("\uFB01"), "\uFB01");              // compatibility chars stay
  EXPECT_EQ(NfcNormalize("plain"), "plain");
  EXPECT_TRUE(IsNfc("caf\u00E9"));
  EXPECT_FALSE(IsNfc("cafe\u0301"));
}

TEST(Unicode, RegexClasses) {
  EXPECT_TRUE(IsLetter(U'a') && IsLetter(U'\u4F60') && IsLetter(U'\u02B0') && IsLetter(U'\u01C5'));
  EXPECT_FALSE(IsLetter(U'\u0301') || IsLetter(U'1') || IsLetter(U'_'));
  EXPECT_TRUE(IsNumber(U'7') && IsNumber(U'\u00BD') && IsNumber(U'\u2167') && IsNumber(U'\u0661'));
  EXPECT_TRUE(IsWhiteSpace(U'\u00A0') && IsWhiteSpace(U'\u3000') && IsWhiteSpace(U'\u2028') &&
              IsWhiteSpace(U'\u0085') && IsWhiteSpace(U'\u000B'));
  EXPECT_FALSE(IsWhiteSpace(U'\u200B') || IsWhiteSpace(U'\u180E') || IsWhiteSpace(U'\uFEFF'));
  EXPECT_TRUE(IsWordChar(U'_') && IsWordChar(U'\u0301') && IsWordChar(U'\u200D') && IsWordChar(U'\u00E9'));
  EXPECT_FALSE(IsWordChar(U'-') || IsWordChar(U'\u00BD'));  // No is not \d
}

}  // namespace
}  // namespace cosyvoice

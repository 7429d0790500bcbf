// tests/unit/test_text_frontend.cc - the text frontend's API: errors, options, the bypass, the engine.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "test_util.h"
#include "text/frontend_utils.h"
#include "text/normalizer/tables.h"
#include "text/normalizer/text_normalizer.h"
#include "text/text_frontend.h"
#include "text/utf8.h"

namespace cosyvoice {
namespace {

TEST(TextFrontend, RefusesEmptyText) {
  const TextFrontend frontend;
  EXPECT_COSY_ERROR(frontend.Split(""), ErrorCode::kInvalidArgument, "text is empty");
  EXPECT_COSY_ERROR(frontend.Normalize(""), ErrorCode::kInvalidArgument, "text is empty");
  EXPECT_COSY_ERROR(frontend.Split(" \n\t\u3000"), ErrorCode::kInvalidArgument, "only whitespace");
}

TEST(TextFrontend, ParsesLanguageNames) {
  EXPECT_EQ(ParseTextLanguage("auto"), TextLanguage::kAuto);
  EXPECT_EQ(ParseTextLanguage("zh"), TextLanguage::kZh);
  EXPECT_EQ(ParseTextLanguage("en"), TextLanguage::kEn);
  EXPECT_COSY_ERROR(ParseTextLanguage("fr"), ErrorCode::kInvalidArgument, "'fr': expected auto, zh or en");
}

TEST(TextFrontend, BypassKeepsTextWholeAndUnstripped) {
  const TextFrontend frontend;
  const std::string text = " 请用四川话说。<|endofprompt|>第1句。第2句！ ";
  EXPECT_EQ(frontend.Split(text), std::vector<std::string>{text});
  EXPECT_EQ(frontend.Normalize(text), text);
  // Both markers are needed.
  EXPECT_EQ(frontend.Normalize("a <| b 5"), "a <| b five");
}

TEST(TextFrontend, ForcedLanguageChoosesTheBranch) {
  TextFrontendOptions zh;
  zh.language = TextLanguage::kZh;
  EXPECT_EQ(TextFrontend(zh).Normalize("I have 2 cats."),
            "I have二cats。");  // replace_blank drops the spaces
  TextFrontendOptions en;
  en.language = TextLanguage::kEn;
  EXPECT_EQ(TextFrontend(en).Normalize("共5个"), "共five个");
}

TEST(TextFrontend, EnglishLengthsUseTheTokenCounter) {
  std::vector<std::string> measured;
  TextFrontendOptions options;
  options.token_counter = [&](std::string_view piece) {
    measured.emplace_back(piece);
    return size_t{100};  // every piece is "long": each sentence becomes a segment
  };
  const std::vector<std::string> segments = TextFrontend(options).Split("One. Two. Three.");
  EXPECT_EQ(segments, (std::vector<std::string>{"One.", " Two.", " Three."}));
  EXPECT_FALSE(measured.empty());
}

TEST(TextFrontend, ChineseLengthsCountCharactersNotTokens) {
  TextFrontendOptions options;
  options.token_counter = [](std::string_view) -> size_t {
    ADD_FAILURE() << "the Chinese branch must not call the token counter";
    return 0;
  };
  EXPECT_EQ(TextFrontend(options).Split("你好。世界。").size(), 1u);
}

TEST(FrontendUtils, ApproximateTokenCount) {
  EXPECT_EQ(text::ApproximateTokenCount(""), 0u);
  EXPECT_EQ(text::ApproximateTokenCount("hello world"), 2u);
  EXPECT_EQ(text::ApproximateTokenCount("internationalization"), 4u);  // 20 letters: one per six
  EXPECT_EQ(text::ApproximateTokenCount("2024"), 4u);                  // one per digit, as Qwen2
  EXPECT_EQ(text::ApproximateTokenCount("Hi, there!!"), 4u);           // punctuation runs count once
  EXPECT_EQ(text::ApproximateTokenCount("你好"), 2u);
}

TEST(FrontendUtils, SplitParagraphEdgeCases) {
  const auto chars = text::CountCharacters;
  EXPECT_TRUE(text::SplitParagraph("", text::SplitLanguage::kZh, chars).empty());
  // A quote right after a mark with no piece before it: Python raises IndexError; we keep the quote.
  EXPECT_EQ(text::SplitParagraph("。\"好", text::SplitLanguage::kZh, chars),
            std::vector<std::string>{"\"好。"});
  // comma_split adds ，and , to the marks.
  const std::string text = std::string(70, 'a') + "," + std::string(30, 'b');
  EXPECT_EQ(text::SplitParagraph(text, text::SplitLanguage::kEn, chars, 80, 60, 20, true).size(), 2u);
  EXPECT_EQ(text::SplitParagraph(text, text::SplitLanguage::kEn, chars).size(), 1u);
}

TEST(FrontendUtils, ReplaceBlankAtTheEdges) {
  EXPECT_EQ(text::ReplaceBlank("a b"), "a b");
  EXPECT_EQ(text::ReplaceBlank("中 b"), "中b");
  EXPECT_EQ(text::ReplaceBlank("a "), "a");     // Python raises here
  EXPECT_EQ(text::ReplaceBlank(" ab"), " ab");  // Python reads text[-1] = 'b'
  EXPECT_EQ(text::ReplaceBlank(" a中"), "a中");
}

TEST(FrontendUtils, PunctuationOnly) {
  EXPECT_TRUE(text::IsOnlyPunctuation(""));
  EXPECT_TRUE(text::IsOnlyPunctuation("。，！“”$+"));
  EXPECT_FALSE(text::IsOnlyPunctuation("。a"));
  EXPECT_FALSE(text::IsOnlyPunctuation(" "));
}

TEST(FrontendUtils, StripWhitespaceIsPythonStrip) {
  EXPECT_EQ(text::StripWhitespace("\t 你好 \u3000\n"), "你好");
  EXPECT_EQ(text::StripWhitespace("\x1f"
                                  "a\x1c"),
            "a");
  EXPECT_EQ(text::StripWhitespace("   "), "");
}

TEST(TextNormalizer, ReportsTheRulesThatFired) {
  const tn::TextNormalizer zh(tn::Language::kZh);
  std::vector<std::string> fired;
  EXPECT_EQ(zh.Normalize("2024年花了¥5，涨了3%", &fired), "二零二四年花了五元，涨了百分之三");
  EXPECT_EQ(fired, (std::vector<std::string>{"date_zh", "money", "percent"}));
}

TEST(TextNormalizer, LeavesTextWithoutPatternsAlone) {
  const tn::TextNormalizer en(tn::Language::kEn);
  const tn::TextNormalizer zh(tn::Language::kZh);
  for (const char *text :
       {"", "Hello, world!", "a - b", "x/y", "--", "$", "%", "£x", "no. x", "No. x", "#x", "v.x"}) {
    EXPECT_EQ(en.Normalize(text), text);
    EXPECT_EQ(zh.Normalize(text), text);
  }
  EXPECT_EQ(en.Normalize("1/0"), "one/zero");  // not a fraction: the numbers alone
  EXPECT_EQ(en.Normalize("Hello, world!"), "Hello, world!");
  EXPECT_EQ(zh.Normalize("今天天气很好。"), "今天天气很好。");
  EXPECT_EQ(zh.Normalize("bad \xff byte 5"), "bad \xEF\xBF\xBD byte 五");
}

TEST(TextNormalizer, EveryTableIsEmbedded) {
  for (const char *name :
       {"zh_digits.tsv", "zh_units.tsv", "zh_currency.tsv", "zh_math.tsv", "zh_measure_words.tsv",
        "zh_digit_keywords.tsv", "vulgar_fractions.tsv", "en_number_words.tsv", "en_ordinals.tsv",
        "en_months.tsv", "en_units.tsv", "en_currency.tsv", "en_math.tsv", "en_year_words.tsv",
        "en_scales.tsv", "en_whitelist.tsv", "zh_whitelist.tsv"}) {
    EXPECT_FALSE(tn::Table(name).empty()) << name;
  }
  EXPECT_COSY_ERROR(tn::Table("nope.tsv"), ErrorCode::kRuntime, "'nope.tsv' is not embedded");
}

// Random mixes of digits, separators, symbols, letters and Han: no rule may throw or loop, and the
// output stays valid UTF-8 (ASan/UBSan run this too).
TEST(TextNormalizer, SurvivesRandomInput) {
  const std::vector<std::string> alphabet = {"0",  "1",  "2",  "5",  "9",  ".",  ",",  ":",   "-",  "/",
                                             "+",  "=",  "%",  "$",  "¥",  "°C", "km", "s",   "am", " ",
                                             "年", "月", "日", "第", "个", "A",  "x",  "No.", "v",  "½",
                                             "−",  "×",  "'",  "\"", "，", "。", "<|", "|>",  "\n"};
  std::mt19937 rng(20240305);
  const tn::TextNormalizer zh(tn::Language::kZh), en(tn::Language::kEn);
  const TextFrontend frontend;
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    const int length = 1 + static_cast<int>(rng() % 24);
    for (int k = 0; k < length; ++k) text += alphabet[rng() % alphabet.size()];
    for (const std::string &out : {zh.Normalize(text), en.Normalize(text)}) {
      EXPECT_EQ(text::ToU32(out).find(U'\uFFFD'), std::u32string::npos) << text;
    }
    if (!text::StripWhitespace(text).empty()) {
      EXPECT_NO_THROW(frontend.Split(text)) << text;
    }
  }
  // Very long digit runs are read digit by digit rather than overflowing.
  const std::string digits(200, '7');
  EXPECT_EQ(en.Normalize(digits).size(), 200 * 6 - 1);
  std::string qi;
  for (int k = 0; k < 200; ++k) qi += "七";
  EXPECT_EQ(zh.Normalize(digits), qi);
  EXPECT_EQ(text::SpellOutNumber(std::string(40, '1')), std::string(40, '1'));  // past decillions: kept
}

}  // namespace
}  // namespace cosyvoice

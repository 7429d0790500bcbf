// tests/unit/test_input_text.cc - the one rule for user text (src/text/input_text.h).
#include "test_util.h"
#include "text/input_text.h"
#include "text/text_frontend.h"

namespace cosyvoice {
namespace {

using text::CleanInputText;

TEST(InputText, InvalidUtf8IsRefusedWithTheByteOffset) {
  EXPECT_COSY_ERROR(CleanInputText("caf\xE9 au lait", "text"), ErrorCode::kInvalidArgument,
                    "text: invalid UTF-8 at byte offset 3 (0xE9)");
  EXPECT_COSY_ERROR(CleanInputText("ok\xED\xA0\x80", "instruction"), ErrorCode::kInvalidArgument,
                    "instruction: invalid UTF-8 at byte offset 2 (0xED)");  // a surrogate
  // the same rule in the frontend, split or not (it used to replace the byte with U+FFFD)
  const TextFrontend frontend;
  EXPECT_COSY_ERROR(frontend.Split("Hello \xFF world"), ErrorCode::kInvalidArgument, "byte offset 6 (0xFF)");
  EXPECT_COSY_ERROR(frontend.Normalize("\xC3"), ErrorCode::kInvalidArgument, "byte offset 0 (0xC3)");
}

TEST(InputText, TerminalEscapeSequencesGoAsAWhole) {
  auto clean = CleanInputText("\x1b[31mred\x1b[0m text\x1b[1;4m!", "text");
  EXPECT_EQ(clean.text, "red text!");
  EXPECT_EQ(clean.removed_sequences, 3u);
  EXPECT_EQ(clean.removed_controls, 0u);
  EXPECT_EQ(CleanInputText("\x1b]0;window title\x07Hello", "t").text, "Hello");             // OSC ... BEL
  EXPECT_EQ(CleanInputText("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "t").text, "link");  // OSC ... ST
  EXPECT_EQ(CleanInputText("a\x1b(Bb\x1b"
                           "7c\x1b",
                           "t")
                .text,
            "abc");  // nF, Fp and a lone ESC at the end
  EXPECT_EQ(CleanInputText("\xC2\x9B"
                           "31mC1 CSI",
                           "t")
                .text,
            "C1 CSI");                                                       // U+009B
  EXPECT_EQ(CleanInputText("\x1b]unterminated", "t").text, "unterminated");  // only the introducer
}

TEST(InputText, SingleControlsAreRemovedAndLineBreakersBecomeSpaces) {
  auto clean = CleanInputText(std::string("a\0b\x07"
                                          "c\x7F"
                                          "d\xC2\x80"
                                          "e",
                                          10),
                              "t");
  EXPECT_EQ(clean.text, "abcde");
  EXPECT_EQ(clean.removed_controls, 4u);
  EXPECT_EQ(CleanInputText("one\ftwo\vthree\xC2\x85"
                           "four",
                           "t")
                .text,
            "one two three four");
  EXPECT_EQ(CleanInputText("tab\there\r\nnew line", "t").text, "tab\there\r\nnew line");  // kept
  EXPECT_EQ(CleanInputText("你好，世界 café ❤", "t").text, "你好，世界 café ❤");          // untouched
  EXPECT_EQ(CleanInputText("", "t").text, "");
}

TEST(InputText, PrepareWarnsOnceWhenItRemovesSomething) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(text::PrepareInputText("\x1b[31mHi\x01\x02", "text"), "Hi");
  EXPECT_EQ(text::PrepareInputText("clean", "text"), "clean");
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("text: removed 2 control character(s) and 1 terminal escape sequence(s)"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find('\n'), log.size() - 1) << "one line expected: " << log;
}

// "\x1b[31m" reached the normalizer and was read as "thirty-one meters" (issue 14).
TEST(InputText, TheFrontendNeverReadsAnEscapeSequence) {
  TextFrontendOptions en;
  en.language = TextLanguage::kEn;
  const TextFrontend frontend(en);
  const std::string out = frontend.Normalize("\x1b[31mWarning\x1b[0m: disk full");
  EXPECT_EQ(out.find("thirty"), std::string::npos) << out;
  EXPECT_EQ(out.find("meter"), std::string::npos) << out;
  EXPECT_NE(out.find("Warning"), std::string::npos) << out;
  EXPECT_COSY_ERROR(frontend.Split("\x1b[31m\x1b[0m"), ErrorCode::kInvalidArgument, "text is empty");
}

TEST(InputText, LengthLimitNamesTheTextAndBothSizes) {
  EXPECT_NO_THROW(text::CheckTextLength("abc", "instruction", 3));
  EXPECT_COSY_ERROR(text::CheckTextLength("abcd", "instruction", 3), ErrorCode::kInvalidArgument,
                    "instruction too long: 4 bytes, at most 3 accepted");
}

}  // namespace
}  // namespace cosyvoice

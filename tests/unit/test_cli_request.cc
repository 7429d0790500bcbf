// The request rules of `tts`: which mode a set of flags means, and every flag that the mode would
// ignore refused by name - a table of cases, each with the message a user sees.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "cli/request.h"
#include "cli/text_input.h"
#include "cosyvoice/error.h"
#include "test_util.h"

namespace cosyvoice::cli {
namespace {

struct ModeCase {
  const char *name;
  ModeInputs in;
  const char *expect;  // a mode name, or a piece of the error message
};

ModeInputs In(std::string mode, std::string text_source, bool instruct, bool prompt_text, bool source,
              bool transcript, std::vector<std::string> text_flags = {}) {
  ModeInputs in;
  in.mode = std::move(mode);
  in.text_source = std::move(text_source);
  in.instruct = instruct;
  in.prompt_text = prompt_text;
  in.source_wav = source;
  in.has_transcript = transcript;
  in.text_mode_flags = std::move(text_flags);
  return in;
}

TEST(DecideMode, Table) {
  const ModeCase cases[] = {
      // inferred
      {"transcript_zero_shot", In("", "--text", false, true, false, true), "zero_shot"},
      {"no_transcript_cross", In("", "--text", false, false, false, false), "cross_lingual"},
      {"instruct_instruct2", In("", "--text", true, false, false, false), "instruct2"},
      {"source_vc", In("", "", false, false, true, false), "vc"},
      {"voice_transcript_zero_shot", In("", "--text", false, false, false, true), "zero_shot"},
      // explicit and consistent
      {"explicit_cross_with_voice_transcript", In("cross_lingual", "--text", false, false, false, true),
       "cross_lingual"},
      {"explicit_instruct2_voice_transcript", In("instruct2", "--text", true, false, false, true),
       "instruct2"},
      // flags the mode would ignore
      {"instruct_in_zero_shot", In("zero_shot", "--text", true, true, false, true),
       "--instruct does not apply to zero_shot mode (set by --mode)"},
      {"instruct_in_cross", In("cross_lingual", "--text", true, false, false, false),
       "--instruct does not apply to cross_lingual mode"},
      {"prompt_text_in_cross", In("cross_lingual", "--text", false, true, false, true),
       "--prompt-text does not apply to cross_lingual mode"},
      {"prompt_text_in_instruct2", In("", "--text", true, true, false, true),
       "--prompt-text does not apply to instruct2 mode"},
      {"text_in_vc", In("", "--text", false, false, true, false),
       "--text does not apply to vc mode: voice conversion re-voices --source-wav and speaks no text"},
      {"positional_in_vc", In("vc", "the TEXT argument", false, false, true, false),
       "the TEXT argument does not apply to vc mode"},
      {"text_file_in_vc", In("", "--text-file", false, false, true, false),
       "--text-file does not apply to vc"},
      {"instruct_in_vc", In("", "", true, false, true, false), "--instruct does not apply to vc mode"},
      {"prompt_text_in_vc", In("", "", false, true, true, true), "--prompt-text does not apply to vc mode"},
      {"seed_in_vc", In("", "", false, false, true, false, {"--seed"}), "--seed does not apply to vc mode"},
      {"stream_in_vc", In("vc", "", false, false, true, false, {"--stream"}),
       "--stream does not apply to vc"},
      {"source_in_zero_shot", In("zero_shot", "--text", false, true, true, true),
       "--source-wav applies to vc mode only, and the mode is zero_shot (set by --mode)"},
      // what a mode is missing
      {"zero_shot_without_transcript", In("zero_shot", "--text", false, false, false, false),
       "zero_shot mode needs the transcript of the prompt recording"},
      {"instruct2_without_instruct", In("instruct2", "--text", false, false, false, false),
       "instruct2 mode needs --instruct"},
      {"vc_without_source", In("vc", "", false, false, false, false), "vc mode needs --source-wav"},
      {"unknown_mode", In("sing", "--text", false, false, false, false),
       "--mode: mode 'sing': expected zero_shot, cross_lingual, instruct2 or vc"},
  };
  for (const ModeCase &c : cases) {
    SCOPED_TRACE(c.name);
    std::string got;
    try {
      got = ModeName(DecideMode(c.in));
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      got = e.what();
    }
    EXPECT_NE(got.find(c.expect), std::string::npos) << "got: " << got;
  }
}

TEST(TextInput, ReadsAFileAndRefusesTooMuchWithoutReadingItAll) {
  testing::TempDir dir;
  std::ofstream(dir / "t.txt") << "Hello.\n";
  EXPECT_EQ(ReadTextInput((dir / "t.txt").string()), "Hello.\n");
  {
    std::ofstream big(dir / "big.txt");
    big << std::string(kMaxTextBytes + 1, 'a');
  }
  try {
    ReadTextInput((dir / "big.txt").string());
    FAIL();
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("longer than 100000 bytes"), std::string::npos) << e.what();
  }
  for (const std::string &bad : {(dir / "missing.txt").string(), dir.path().string()}) {
    try {
      ReadTextInput(bad);
      FAIL() << bad;
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), ErrorCode::kIo) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind(bad, 0), 0u) << "names the file: " << e.what();
    }
  }
}

}  // namespace
}  // namespace cosyvoice::cli

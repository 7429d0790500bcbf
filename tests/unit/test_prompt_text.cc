// tests/unit/test_prompt_text.cc - the <|endofprompt|> conventions and voice files.
#include <fstream>

#include "cosyvoice/cosyvoice.h"
#include "engine/prompt_text.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using testing::TempDir;

TEST(PromptText, ZeroShotAddsTheSystemPrefixOnlyWhenMissing) {
  PromptConventions p;
  EXPECT_EQ(p.ZeroShotPrompt("希望你以后能够做的比我还好呦。"),
            "You are a helpful assistant.<|endofprompt|>希望你以后能够做的比我还好呦。");
  const std::string full = "You are a helpful assistant.<|endofprompt|>Hi.";
  EXPECT_EQ(p.ZeroShotPrompt(full), full);
}

TEST(PromptText, InstructWrapsWithSpaceAndMarker) {
  PromptConventions p;
  EXPECT_EQ(p.InstructPrompt("请用广东话表达。"),
            "You are a helpful assistant. 请用广东话表达。<|endofprompt|>");
  const std::string full = "You are a helpful assistant. 请用广东话表达。<|endofprompt|>";
  EXPECT_EQ(p.InstructPrompt(full), full);
  EXPECT_COSY_ERROR(p.InstructPrompt("  "), ErrorCode::kInvalidArgument, "needs an instruction");
  EXPECT_COSY_ERROR(p.InstructPrompt("a<|endofprompt|>b"), ErrorCode::kInvalidArgument,
                    "must end the instruction");
}

TEST(PromptText, CrossLingualPrefixesEachSegment) {
  PromptConventions p;
  EXPECT_EQ(p.CrossLingualText("Hello."), "You are a helpful assistant.<|endofprompt|>Hello.");
}

TEST(PromptText, ExactlyOneMarker) {
  PromptConventions p;
  EXPECT_NO_THROW(p.CheckOneMarker("x<|endofprompt|>", "text"));
  EXPECT_COSY_ERROR(p.CheckOneMarker("x<|endofprompt|>", "y<|endofprompt|>"), ErrorCode::kInvalidArgument,
                    "found 2");
  EXPECT_COSY_ERROR(p.CheckOneMarker("x", "y"), ErrorCode::kInvalidArgument, "found 0");
  EXPECT_EQ(CountOccurrences("aXaXa", "a"), 3u);
}

Voice SampleVoice() {
  Voice v;
  v.transcript = "希望你以后能够做的比我还好呦。";
  v.speech_tokens = {1, 2, 6560};
  v.speaker_embedding = std::vector<float>(192, 0.25f);
  v.prompt_mel = std::vector<float>(6 * 80, -3.5f);
  v.prompt_seconds = 0.12;
  v.source = "prompt.wav";
  v.frontend_id = "abc";
  return v;
}

TEST(VoiceFile, RoundTrips) {
  TempDir dir;
  const Voice v = SampleVoice();
  v.Save((dir / "a.voice").string());
  const Voice w = Voice::Load((dir / "a.voice").string());
  EXPECT_EQ(w.transcript, v.transcript);
  EXPECT_EQ(w.speech_tokens, v.speech_tokens);
  EXPECT_EQ(w.speaker_embedding, v.speaker_embedding);
  EXPECT_EQ(w.prompt_mel, v.prompt_mel);
  EXPECT_EQ(w.mel_frames(), 6);
  EXPECT_EQ(w.frontend_id, "abc");
}

TEST(VoiceFile, RejectsCorruptTruncatedAndForeignFiles) {
  TempDir dir;
  const std::string path = (dir / "a.voice").string();
  SampleVoice().Save(path);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-5, std::ios::end);
    f.put('\x7f');
  }
  EXPECT_COSY_ERROR(Voice::Load(path), ErrorCode::kInvalidArgument, "checksum mismatch");
  SampleVoice().Save(path);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 4);
  EXPECT_COSY_ERROR(Voice::Load(path), ErrorCode::kInvalidArgument, "truncated or corrupt");
  std::ofstream(dir / "b.voice") << "RIFF....WAVEfmt ";
  EXPECT_COSY_ERROR(Voice::Load((dir / "b.voice").string()), ErrorCode::kInvalidArgument, "bad magic");
  EXPECT_COSY_ERROR(Voice::Load((dir / "none.voice").string()), ErrorCode::kInvalidArgument, "cannot open");
}

}  // namespace
}  // namespace cosyvoice

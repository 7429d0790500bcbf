// tests/unit/test_prompt_text.cc - the <|endofprompt|> conventions and voice files.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "common/sha256.h"
#include "cosyvoice/cosyvoice.h"
#include "engine/prompt_text.h"
#include "engine/voice_file.h"
#include "test_util.h"
#include "text/input_text.h"

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

// A voice file written by hand with a correct checksum (what a damaged file whose checksum was
// recomputed, or another tool, would look like): header fields may be overridden.
std::string HandMadeVoiceFile(const Voice &v, const nlohmann::json &overrides = nlohmann::json::object()) {
  std::string payload;
  auto put = [&](const void *p, size_t n) { payload.append(static_cast<const char *>(p), n); };
  put(v.speech_tokens.data(), v.speech_tokens.size() * 4);
  put(v.speaker_embedding.data(), v.speaker_embedding.size() * 4);
  put(v.prompt_mel.data(), v.prompt_mel.size() * 4);
  Sha256 sha;
  sha.Update(payload.data(), payload.size());
  nlohmann::json h = {{"transcript", v.transcript},
                      {"num_speech_tokens", v.speech_tokens.size()},
                      {"embedding_dim", v.speaker_embedding.size()},
                      {"mel_bins", v.mel_bins},
                      {"mel_frames", v.mel_frames()},
                      {"prompt_seconds", v.prompt_seconds},
                      {"source", v.source},
                      {"frontend_id", v.frontend_id},
                      {"payload_sha256", sha.HexDigest()}};
  h.update(overrides);
  const std::string json = h.dump();
  std::string out("CVVOICE\0", 8);
  for (uint32_t x : {1u, static_cast<uint32_t>(json.size())})
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
  return out + json + payload;
}

TEST(VoiceFile, HandMadeFilesParseLikeSavedOnes) {
  const Voice w = ParseVoiceFile(HandMadeVoiceFile(SampleVoice()), "x.voice");
  EXPECT_EQ(w.prompt_mel, SampleVoice().prompt_mel);
}

// One NaN with a valid checksum gave an all-zero WAV (all-NaN with --float): issue 14.
TEST(VoiceFile, NonFiniteValuesAreRefusedNamingTheFieldAndIndex) {
  Voice v = SampleVoice();
  v.speaker_embedding[7] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_COSY_ERROR(ParseVoiceFile(HandMadeVoiceFile(v), "nan.voice"), ErrorCode::kInvalidArgument,
                    "nan.voice: not a usable voice: speaker_embedding[7] is not a finite number");
  v = SampleVoice();
  v.prompt_mel[100] = std::numeric_limits<float>::infinity();
  EXPECT_COSY_ERROR(ParseVoiceFile(HandMadeVoiceFile(v), "inf.voice"), ErrorCode::kInvalidArgument,
                    "prompt_mel[100] is not a finite number");
  v = SampleVoice();
  v.speech_tokens[1] = -5;
  EXPECT_COSY_ERROR(ParseVoiceFile(HandMadeVoiceFile(v), "neg.voice"), ErrorCode::kInvalidArgument,
                    "speech_tokens[1] is negative");
  v = SampleVoice();
  v.transcript = std::string(text::kMaxTranscriptBytes + 1, 'a');
  EXPECT_COSY_ERROR(ParseVoiceFile(HandMadeVoiceFile(v), "long.voice"), ErrorCode::kInvalidArgument,
                    "transcript too long: 4097 bytes, at most 4096 accepted");
  // and a voice is never written with such values
  TempDir dir;
  v = SampleVoice();
  v.prompt_mel[0] = std::nanf("");
  EXPECT_COSY_ERROR(v.Save((dir / "nan.voice").string()), ErrorCode::kInvalidArgument, "prompt_mel[0]");
  EXPECT_FALSE(std::filesystem::exists(dir / "nan.voice"));
}

TEST(VoiceFile, HeaderSizesThatWouldOverflowOrMistypedFieldsAreRefused) {
  const Voice v = SampleVoice();
  // 2^62 tokens * 4 bytes wraps to 0 in 64 bits: the sizes are bounded before any arithmetic
  EXPECT_COSY_ERROR(
      ParseVoiceFile(HandMadeVoiceFile(v, {{"num_speech_tokens", int64_t{1} << 62}}), "w.voice"),
      ErrorCode::kInvalidArgument, "sizes out of range");
  EXPECT_COSY_ERROR(ParseVoiceFile(HandMadeVoiceFile(v, {{"mel_bins", -80}}), "w.voice"),
                    ErrorCode::kInvalidArgument, "sizes out of range");
  EXPECT_COSY_ERROR(ParseVoiceFile(HandMadeVoiceFile(v, {{"payload_sha256", 42}}), "w.voice"),
                    ErrorCode::kInvalidArgument, "header field");
  std::string bytes = HandMadeVoiceFile(v);
  EXPECT_COSY_ERROR(ParseVoiceFile(bytes.substr(0, 15), "w.voice"), ErrorCode::kInvalidArgument, "bad magic");
}

}  // namespace
}  // namespace cosyvoice

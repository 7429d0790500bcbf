// Where `tts` writes: the format from --format or the extension, outputs that are inputs refused by
// any name, and a file that appears only complete.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "audio/audio_io.h"
#include "cli/audio_output.h"
#include "cli/input_files.h"
#include "cosyvoice/error.h"
#include "test_util.h"

namespace cosyvoice::cli {
namespace {

namespace fs = std::filesystem;
constexpr int kRate = 24000;

std::string ErrorOf(const std::function<void()> &f, ErrorCode *code = nullptr) {
  try {
    f();
  } catch (const Error &e) {
    if (code) *code = e.code();
    return e.what();
  }
  return "(no error)";
}

OutputSpec Spec(const std::string &path, const std::string &format = "", bool float_wav = false) {
  OutputSpec s;
  s.path = path;
  s.format = format;
  s.float_wav = float_wav;
  return s;
}

TEST(OutputFormat, FromTheExtensionOrFormat) {
  EXPECT_EQ(ResolveOutputFormat(Spec("a.wav"), false, kRate), AudioFormat::kWav);
  EXPECT_EQ(ResolveOutputFormat(Spec("a.FLAC"), false, kRate), AudioFormat::kFlac);
  EXPECT_EQ(ResolveOutputFormat(Spec("a.raw"), false, kRate), AudioFormat::kPcm);
  EXPECT_EQ(ResolveOutputFormat(Spec("dir.v2/a.mp3"), false, kRate), AudioFormat::kMp3);
  EXPECT_EQ(ResolveOutputFormat(Spec("-"), true, kRate), AudioFormat::kWav) << "a stream defaults to wav";
  EXPECT_EQ(ResolveOutputFormat(Spec("-", "pcm"), true, kRate), AudioFormat::kPcm);
  EXPECT_EQ(ResolveOutputFormat(Spec("speech.bin", "wav"), false, kRate), AudioFormat::kWav);
}

TEST(OutputFormat, RefusalsNameTheProblem) {
  ErrorCode code{};
  EXPECT_NE(ErrorOf([] { ResolveOutputFormat(Spec("a.aac"), false, kRate); }, &code)
                .find("'.aac' is not an audio format this build writes; available: wav, pcm"),
            std::string::npos);
  EXPECT_EQ(code, ErrorCode::kUnsupported);
  EXPECT_NE(ErrorOf([] { ResolveOutputFormat(Spec("out"), false, kRate); }, &code).find("no extension"),
            std::string::npos);
  EXPECT_EQ(code, ErrorCode::kInvalidArgument);
  EXPECT_NE(ErrorOf([] {
              ResolveOutputFormat(Spec("a.mp3", "wav"), false, kRate);
            }).find("--format wav contradicts the extension of -o a.mp3 (mp3)"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { ResolveOutputFormat(Spec("a.wav", "aiff"), false, kRate); }).find("--format 'aiff'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              ResolveOutputFormat(Spec("a.mp3", "", true), false, kRate);
            }).find("--float applies to wav output only"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              ResolveOutputFormat(Spec("-", "flac"), true, kRate);
            }).find("flac cannot be written to stdout"),
            std::string::npos);
}

TEST(InputFiles, AnOutputIsRefusedWhateverItsName) {
  testing::TempDir dir;
  const fs::path prompt = dir / "prompt.wav";
  std::ofstream(prompt) << "RIFF";
  fs::create_directory(dir / "sub");
  fs::create_symlink(prompt, dir / "link.wav");
  fs::create_hard_link(prompt, dir / "hard.wav");
  InputFiles inputs;
  inputs.Add(prompt.string(), "the prompt recording (--prompt-wav)");
  for (const fs::path &out :
       {prompt, dir / "link.wav", dir / "hard.wav", dir / "sub" / ".." / "prompt.wav"}) {
    const std::string m = ErrorOf([&] { inputs.CheckNotInput(out.string(), "-o"); });
    EXPECT_NE(m.find("is the prompt recording (--prompt-wav)"), std::string::npos) << out << ": " << m;
    EXPECT_NE(m.find("would destroy it"), std::string::npos);
  }
  EXPECT_EQ(ErrorOf([&] { inputs.CheckNotInput((dir / "new.wav").string(), "-o"); }), "(no error)");
}

std::vector<float> Tone(size_t n) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = 0.3f * static_cast<float>((i % 100) < 50 ? 1 : -1);
  return x;
}

TEST(AudioOutput, FileAppearsCompleteOnlyAfterFinish) {
  testing::TempDir dir;
  const fs::path out = dir / "speech.flac";
  std::ofstream(out) << "previous";
  const std::vector<float> x = Tone(kRate);
  {
    auto o = AudioOutput::Open(Spec(out.string()), kRate, InputFiles());
    o->Write(x.data(), x.size() / 2);
    // destroyed without Finish: e.g. an error in the second segment
  }
  {
    std::ifstream in(out);
    std::string s;
    in >> s;
    EXPECT_EQ(s, "previous");
  }
  auto o = AudioOutput::Open(Spec(out.string()), kRate, InputFiles());
  EXPECT_FALSE(o->is_stream());
  o->Write(x.data(), x.size() / 2);
  o->Write(x.data() + x.size() / 2, x.size() - x.size() / 2);
  o->Finish();
  const Audio back = ReadAudio(out);
  EXPECT_EQ(back.samples.size(), x.size());
  EXPECT_EQ(back.sample_rate, kRate);
  size_t entries = 0;
  for ([[maybe_unused]] const auto &e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u) << "no temporary file left";
}

TEST(AudioOutput, OpeningChecksTheLocationFirst) {
  testing::TempDir dir;
  ErrorCode code{};
  const std::string m = ErrorOf(
      [&] { AudioOutput::Open(Spec((dir / "missing" / "a.wav").string()), kRate, InputFiles()); }, &code);
  EXPECT_EQ(code, ErrorCode::kIo);
  EXPECT_NE(m.find("does not exist"), std::string::npos) << m;
}

}  // namespace
}  // namespace cosyvoice::cli

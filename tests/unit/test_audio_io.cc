// Reading, checking and writing audio; the error paths name the file and what was expected.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "audio/audio_io.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using testing::TempDir;

std::vector<float> Sine(size_t n, double hz, int sample_rate, double amplitude) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i)
    x[i] = static_cast<float>(amplitude * std::sin(2 * M_PI * hz * i / sample_rate));
  return x;
}

// Writes interleaved frames with libsndfile in any major/sub format.
void WriteWithSndfile(const std::string &path, const std::vector<float> &interleaved, int channels, int rate,
                      int format) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE *f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
  const auto frames = static_cast<sf_count_t>(interleaved.size() / static_cast<size_t>(channels));
  EXPECT_EQ(sf_writef_float(f, interleaved.data(), frames), frames);
  sf_close(f);
}

void WriteBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

double Rms(const std::vector<float> &x) {
  double s = 0;
  for (float v : x) s += static_cast<double>(v) * static_cast<double>(v);
  return std::sqrt(s / static_cast<double>(x.size()));
}

TEST(AudioIo, Pcm16ConversionTruncatesTowardZeroAndClips) {
  EXPECT_EQ(FloatToPcm16(0.0f), 0);
  EXPECT_EQ(FloatToPcm16(0.5f), 16384);
  EXPECT_EQ(FloatToPcm16(-0.5f), -16384);
  EXPECT_EQ(FloatToPcm16(3.9f / 32768.0f), 3);    // truncation, not rounding
  EXPECT_EQ(FloatToPcm16(-3.9f / 32768.0f), -3);  // toward zero
  EXPECT_EQ(FloatToPcm16(0.99999f), 32767);
  EXPECT_EQ(FloatToPcm16(1.0f), 32767);  // clipped (numpy would wrap to -32768)
  EXPECT_EQ(FloatToPcm16(-1.0f), -32768);
  EXPECT_EQ(FloatToPcm16(7.5f), 32767);
  EXPECT_EQ(FloatToPcm16(-7.5f), -32768);
  EXPECT_EQ(FloatToPcm16(NAN), 0);
}

TEST(AudioIo, WavRoundTrips) {
  TempDir dir;
  std::vector<float> x = {0.0f, 0.25f, -0.5f, 3.0f / 32768.0f, 0.999f, -1.0f};
  WriteWav(dir / "pcm.wav", x, 24000, WavEncoding::kPcm16);
  const Audio pcm = ReadAudio(dir / "pcm.wav");
  EXPECT_EQ(pcm.sample_rate, 24000);
  ASSERT_EQ(pcm.samples.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_EQ(pcm.samples[i], static_cast<float>(FloatToPcm16(x[i])) / 32768.0f) << i;

  x.push_back(1.5f);  // float WAV keeps out-of-range values as they are
  WriteWav(dir / "float.wav", x, 22050, WavEncoding::kFloat32);
  const Audio flt = ReadAudio(dir / "float.wav");
  EXPECT_EQ(flt.sample_rate, 22050);
  EXPECT_EQ(flt.samples, x);
  EXPECT_NEAR(flt.duration_seconds(), 7.0 / 22050, 2 * 0x1.0p-53 * (7.0 / 22050));  // one float64 division
}

TEST(AudioIo, EncodeAndDecodeInMemory) {
  const std::vector<float> x = Sine(2400, 440, 24000, 0.5);
  const std::vector<uint8_t> bytes = EncodeWav(x, 24000, WavEncoding::kFloat32);
  ASSERT_GT(bytes.size(), 44u);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "RIFF");
  const Audio a = DecodeAudio(bytes.data(), bytes.size(), "upload.wav");
  EXPECT_EQ(a.sample_rate, 24000);
  EXPECT_EQ(a.samples, x);
  const std::vector<uint8_t> pcm = EncodeWav(x, 16000);
  EXPECT_EQ(pcm.size(), 44u + 2 * x.size());

  TempDir dir;
  WriteWav(dir / "same.wav", x, 24000, WavEncoding::kPcm16);
  std::ifstream in(dir / "same.wav", std::ios::binary);
  const std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(file, EncodeWav(x, 24000, WavEncoding::kPcm16));
}

TEST(AudioIo, StereoIsAveragedToMono) {
  TempDir dir;
  const std::vector<float> interleaved = {0.5f, 0.25f, -1.0f, 1.0f, 0.1f, 0.2f};
  WriteWithSndfile((dir / "stereo.wav").string(), interleaved, 2, 16000, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  const Audio a = ReadAudio(dir / "stereo.wav");
  EXPECT_EQ(a.samples, (std::vector<float>{0.375f, 0.0f, (0.1f + 0.2f) / 2.0f}));
}

TEST(AudioIo, ReadsFlacOggAndMp3) {
  TempDir dir;
  const std::vector<float> x = Sine(48000, 440, 48000, 0.5);
  struct Case {
    const char *name;
    int format;
    double tolerance;  // relative rms for the lossy codecs
  };
  // FLAC 16-bit is lossless after quantisation: libsndfile writes round(x * 32767) and reads q / 32768,
  // an error <= (|x| + 0.5) / 32768, so the rms moves by <= (rms + 0.5) / 32768 (triangle inequality).
  // Vorbis and MP3 are lossy: codec tolerances (their psychoacoustic quantisation of a pure tone), not
  // rounding: 5% and 10% of the rms.
  const double flac = (Rms(x) + 0.5) / 32768 / Rms(x);
  for (const Case &c : {Case{"a.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, flac},
                        Case{"a.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 0.05},
                        Case{"a.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 0.1}}) {
    WriteWithSndfile((dir / c.name).string(), x, 1, 48000, c.format);
    const Audio a = ReadAudio(dir / c.name);
    EXPECT_EQ(a.sample_rate, 48000) << c.name;
    ASSERT_GE(a.samples.size(), 40000u) << c.name;
    EXPECT_NEAR(Rms(a.samples), Rms(x), c.tolerance * Rms(x)) << c.name;
  }
  const std::string formats = SupportedAudioFormats();
  EXPECT_EQ(formats.rfind("WAV, FLAC, OGG, MP3", 0), 0u) << formats;
}

TEST(AudioIo, MissingFileAndDirectoryAreIoErrors) {
  TempDir dir;
  EXPECT_COSY_ERROR(ReadAudio(dir / "nope.wav"), ErrorCode::kIo, "nope.wav: no such file");
  EXPECT_COSY_ERROR(ReadAudio(dir.path()), ErrorCode::kIo, "is a directory");
}

TEST(AudioIo, EmptyCorruptAndSampleLessFilesAreInvalidAudio) {
  TempDir dir;
  WriteBytes((dir / "empty.wav").string(), "");
  EXPECT_COSY_ERROR(ReadAudio(dir / "empty.wav"), ErrorCode::kInvalidAudio,
                    "empty.wav: file is empty (0 bytes)");
  WriteBytes((dir / "corrupt.wav").string(),
             std::string("this is not audio, just some text bytes") + std::string(100, 'x'));
  EXPECT_COSY_ERROR(ReadAudio(dir / "corrupt.wav"), ErrorCode::kInvalidAudio,
                    "corrupt.wav: not a readable audio file");
  EXPECT_COSY_ERROR(ReadAudio(dir / "corrupt.wav"), ErrorCode::kInvalidAudio,
                    "supported formats: WAV, FLAC, OGG, MP3");
  WriteWav(dir / "nosamples.wav", {}, 16000);
  EXPECT_COSY_ERROR(ReadAudio(dir / "nosamples.wav"), ErrorCode::kInvalidAudio,
                    "nosamples.wav: audio file has no samples");
  const std::string junk = "RIFF\x24\x00\x00\x00WAVEjunk";
  EXPECT_COSY_ERROR(DecodeAudio(junk.data(), junk.size(), "upload"), ErrorCode::kInvalidAudio,
                    "upload: not a readable audio file");
  EXPECT_COSY_ERROR(DecodeAudio(nullptr, 0, "upload"), ErrorCode::kInvalidAudio, "upload: no bytes");
}

TEST(AudioIo, NanSamplesAreRejected) {
  TempDir dir;
  WriteWav(dir / "nan.wav", {0.1f, NAN, 0.2f}, 16000, WavEncoding::kFloat32);
  EXPECT_COSY_ERROR(ReadAudio(dir / "nan.wav"), ErrorCode::kInvalidAudio,
                    "nan.wav: audio contains NaN or infinite");
  Audio a{{0.1f, INFINITY}, 16000};
  EXPECT_COSY_ERROR(CheckAudio(a, "x.wav"), ErrorCode::kInvalidAudio, "NaN or infinite");
}

TEST(AudioIo, PromptRequirements) {
  TempDir dir;
  WriteWav(dir / "low.wav", Sine(8000, 440, 8000, 0.5), 8000);
  EXPECT_COSY_ERROR(CheckAudio(ReadAudio(dir / "low.wav"), "low.wav"), ErrorCode::kInvalidAudio,
                    "low.wav: sample rate 8000 Hz is below the minimum 16000 Hz");

  WriteWav(dir / "silent.wav", std::vector<float>(16000, 0.0f), 16000);
  EXPECT_COSY_ERROR(CheckAudio(ReadAudio(dir / "silent.wav"), "silent.wav"), ErrorCode::kInvalidAudio,
                    "silent.wav: audio is silent (peak 0 < 0.0001)");
  // Just below and just above the silence threshold (float WAV keeps the exact values).
  WriteWav(dir / "quiet.wav", Sine(16000, 440, 16000, 0.9e-4), 16000, WavEncoding::kFloat32);
  EXPECT_COSY_ERROR(CheckAudio(ReadAudio(dir / "quiet.wav"), "quiet.wav"), ErrorCode::kInvalidAudio,
                    "silent");
  WriteWav(dir / "soft.wav", Sine(16000, 440, 16000, 2e-4), 16000, WavEncoding::kFloat32);
  EXPECT_NO_THROW(CheckAudio(ReadAudio(dir / "soft.wav"), "soft.wav"));

  WriteWav(dir / "long.wav", Sine(31 * 16000, 440, 16000, 0.5), 16000);
  EXPECT_COSY_ERROR(CheckAudio(ReadAudio(dir / "long.wav"), "long.wav"), ErrorCode::kInvalidAudio,
                    "long.wav: audio is 31.00 s long; the speech tokenizer accepts at most 30 s");
  AudioRequirements no_limit;
  no_limit.max_seconds = 0;
  EXPECT_NO_THROW(CheckAudio(ReadAudio(dir / "long.wav"), "long.wav", no_limit));
  AudioRequirements bundle_limit;
  bundle_limit.max_seconds = 40;  // the limit is a parameter (it comes from the bundle config)
  EXPECT_NO_THROW(CheckAudio(ReadAudio(dir / "long.wav"), "long.wav", bundle_limit));
  const Audio exactly30{Sine(30 * 44100, 440, 44100, 0.5), 44100};
  EXPECT_NO_THROW(CheckAudio(exactly30, "30s.wav"));
  const Audio over30{Sine(30 * 44100 + 1, 440, 44100, 0.5), 44100};
  EXPECT_COSY_ERROR(CheckAudio(over30, "30s+1.wav"), ErrorCode::kInvalidAudio, "30.00 s long");
  EXPECT_COSY_ERROR(CheckAudio(Audio{{}, 16000}, "none.wav"), ErrorCode::kInvalidAudio, "no samples");
}

TEST(AudioIo, PromptCopiesAreResampledFromTheOriginal) {
  const Audio a{Sine(48001, 440, 48000, 0.5), 48000};
  const PromptAudio p = PreparePromptAudio(a, "p.wav");
  EXPECT_EQ(p.original_rate, 48000);
  EXPECT_EQ(p.x16.size(), 16001u);  // ceil(48001 / 3)
  EXPECT_EQ(p.x24.size(), 24001u);  // ceil(48001 / 2)
  const Audio b{Sine(16000, 440, 16000, 0.5), 16000};
  const PromptAudio q = PreparePromptAudio(b, "q.wav");
  EXPECT_EQ(q.x16, b.samples);
  EXPECT_EQ(q.x24.size(), 24000u);
  EXPECT_COSY_ERROR(PreparePromptAudio(Audio{Sine(800, 440, 8000, 0.5), 8000}, "q8k.wav"),
                    ErrorCode::kInvalidAudio, "below the minimum");
}

TEST(AudioIo, WriteErrorsNameTheFile) {
  EXPECT_COSY_ERROR(WriteWav("/nonexistent-dir/x.wav", {0.1f}, 24000), ErrorCode::kIo,
                    "/nonexistent-dir/x.wav: directory '/nonexistent-dir' does not exist");
  EXPECT_COSY_ERROR(WriteWav("/tmp/x.wav", {0.1f}, 0), ErrorCode::kInvalidArgument,
                    "sample rate must be positive");
}

}  // namespace
}  // namespace cosyvoice

// The incremental audio encoders: every format decodes back (with libsndfile, independent of our
// writers for wav/pcm), lossless formats give back the exact integers, streaming mode delivers
// bytes before Finish, and bad input is refused before anything is written.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "audio/audio_io.h"
#include "audio/encoder.h"
#include "cosyvoice/error.h"

namespace cosyvoice {
namespace {

constexpr int kRate = 24000;

std::vector<float> Sine(size_t n, double hz = 440.0, double amplitude = 0.5) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(amplitude * std::sin(2 * M_PI * hz * i / kRate));
  return x;
}

double Rms(const std::vector<float> &x) {
  double s = 0;
  for (float v : x) s += static_cast<double>(v) * static_cast<double>(v);
  return x.empty() ? 0 : std::sqrt(s / x.size());
}

struct Encoded {
  std::vector<uint8_t> bytes;
  size_t bytes_before_finish = 0;
};

// Writes `x` in chunks of `chunk` samples, as the server does with streamed audio.
Encoded Encode(const std::vector<float> &x, AudioFormat format, bool streaming, size_t chunk = 4800) {
  Encoded out;
  AudioEncoder::Config config;
  config.format = format;
  config.sample_rate = kRate;
  config.streaming = streaming;
  auto enc = AudioEncoder::Create(
      config, [&](const uint8_t *p, size_t n) { out.bytes.insert(out.bytes.end(), p, p + n); });
  for (size_t i = 0; i < x.size(); i += chunk) enc->Write(x.data() + i, std::min(chunk, x.size() - i));
  out.bytes_before_finish = out.bytes.size();
  enc->Finish();
  EXPECT_EQ(enc->samples_written(), static_cast<int64_t>(x.size()));
  return out;
}

uint32_t U32At(const std::vector<uint8_t> &b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}

TEST(Encoder, ThisBuildProducesEveryFormatTheServerOffers) {
  // Debian 12's libsndfile 1.2 is built with LAME, mpg123, Opus and Vorbis; the server's
  // response_format list depends on it (docs/server.md).
  EXPECT_EQ(AudioFormatList(AvailableFormats(kRate)), "wav, pcm, flac, mp3, opus, ogg");
  // Opus has fixed rates: 22050 Hz is not one of them.
  EXPECT_FALSE(CanEncode(AudioFormat::kOpus, 22050));
}

TEST(Encoder, WholeWavHasExactSizesAndTheSameIntegersAsFloatToPcm16) {
  const auto x = Sine(12345);
  const Encoded e = Encode(x, AudioFormat::kWav, false);
  EXPECT_EQ(e.bytes_before_finish, 0u) << "whole-file mode delivers at Finish";
  ASSERT_EQ(e.bytes.size(), 44u + 2 * x.size());
  EXPECT_EQ(U32At(e.bytes, 4), 36u + 2 * x.size());
  EXPECT_EQ(U32At(e.bytes, 40), 2 * x.size());
  const Audio back = DecodeAudio(e.bytes.data(), e.bytes.size(), "whole.wav");
  ASSERT_EQ(back.sample_rate, kRate);
  ASSERT_EQ(back.samples.size(), x.size());
  for (size_t i = 0; i < x.size(); i += 97) EXPECT_EQ(back.samples[i], FloatToPcm16(x[i]) / 32768.0f) << i;
}

TEST(Encoder, StreamedWavSaysUnknownLengthAndStillDecodes) {
  const auto x = Sine(10000);
  const Encoded e = Encode(x, AudioFormat::kWav, true, 1000);
  EXPECT_EQ(e.bytes_before_finish, e.bytes.size()) << "every byte leaves with its Write";
  EXPECT_EQ(U32At(e.bytes, 4), 0xFFFFFFFFu);
  EXPECT_EQ(U32At(e.bytes, 40), 0xFFFFFFFFu);
  const Audio back = DecodeAudio(e.bytes.data(), e.bytes.size(), "stream.wav");
  EXPECT_EQ(back.samples.size(), x.size());
}

TEST(Encoder, PcmIsRawLittleEndianInt16) {
  const std::vector<float> x = {0.0f, 0.5f, -0.5f, 1.0f, -1.0f, 0.99999f, -3.0f};
  const Encoded e = Encode(x, AudioFormat::kPcm, true);
  ASSERT_EQ(e.bytes.size(), 2 * x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const int16_t v = static_cast<int16_t>(e.bytes[2 * i] | (e.bytes[2 * i + 1] << 8));
    EXPECT_EQ(v, FloatToPcm16(x[i])) << i;
  }
  EXPECT_EQ(Encode(x, AudioFormat::kPcm, false).bytes, e.bytes) << "same bytes in both modes";
}

TEST(Encoder, FloatWavKeepsTheFloats) {
  const auto x = Sine(1000);
  const auto bytes = EncodeAudio(x, kRate, AudioFormat::kWav, /*float_wav=*/true);
  const Audio back = DecodeAudio(bytes.data(), bytes.size(), "float.wav");
  ASSERT_EQ(back.samples.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(back.samples[i], x[i]) << i;
}

TEST(Encoder, FlacIsLosslessOverTheSameIntegers) {
  const auto x = Sine(30000, 300.0, 0.7);
  const Encoded e = Encode(x, AudioFormat::kFlac, false);
  ASSERT_EQ(std::string(e.bytes.begin(), e.bytes.begin() + 4), "fLaC");
  const Audio back = DecodeAudio(e.bytes.data(), e.bytes.size(), "x.flac");
  ASSERT_EQ(back.samples.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(back.samples[i], FloatToPcm16(x[i]) / 32768.0f) << i;
}

// Lossy codecs: the decoded length is the input's up to the codec's own delay and padding, and the
// level is kept. Bounds: MP3 adds at most one granule of padding plus LAME's 529-sample delay and
// pads to a 576-sample granule (< 2 * 1152 samples); Opus/Vorbis files state the exact length
// (granule position), so they must match to the sample. The RMS of a 0.5-amplitude sine (0.354)
// must survive within 10%: these codecs at default settings are transparent-ish on a pure tone, and
// a broken stream (silence, wrong rate, garbage) is far outside that.
void ExpectLossyRoundTrip(AudioFormat format, bool streaming, size_t max_extra) {
  SCOPED_TRACE(std::string(AudioFormatName(format)) + (streaming ? " streamed" : " whole"));
  const auto x = Sine(3 * kRate);
  const Encoded e = Encode(x, format, streaming);
  if (streaming) {
    EXPECT_GT(e.bytes_before_finish, 0u) << "bytes must flow before Finish";
  }
  const Audio back = DecodeAudio(e.bytes.data(), e.bytes.size(), "lossy");
  EXPECT_EQ(back.sample_rate, kRate);
  EXPECT_GE(back.samples.size(), x.size());
  EXPECT_LE(back.samples.size(), x.size() + max_extra);
  EXPECT_NEAR(Rms(back.samples), Rms(x), 0.1 * Rms(x));  // lossy codec tolerance (10% rms), not rounding
}

TEST(Encoder, Mp3WholeFileHasTheExactLength) {
  ExpectLossyRoundTrip(AudioFormat::kMp3, false, 0);
}
TEST(Encoder, Mp3StreamsWithoutAnInfoFrame) {
  const auto x = Sine(kRate);
  const Encoded e = Encode(x, AudioFormat::kMp3, true);
  const std::string head(e.bytes.begin(), e.bytes.begin() + std::min<size_t>(e.bytes.size(), 200));
  EXPECT_EQ(head.find("Xing"), std::string::npos);
  EXPECT_EQ(head.find("Info"), std::string::npos);
  ExpectLossyRoundTrip(AudioFormat::kMp3, true, 2 * 1152);
}
TEST(Encoder, OpusWholeAndStreamed) {
  ExpectLossyRoundTrip(AudioFormat::kOpus, false, 0);
  ExpectLossyRoundTrip(AudioFormat::kOpus, true, 0);
}
TEST(Encoder, VorbisWholeAndStreamed) {
  ExpectLossyRoundTrip(AudioFormat::kVorbis, false, 0);
  ExpectLossyRoundTrip(AudioFormat::kVorbis, true, 0);
}

TEST(Encoder, NonFiniteSamplesAreRefusedBeforeAnythingIsWritten) {
  for (AudioFormat f : {AudioFormat::kWav, AudioFormat::kPcm, AudioFormat::kMp3}) {
    std::vector<uint8_t> out;
    AudioEncoder::Config config;
    config.format = f;
    config.streaming = true;
    auto enc =
        AudioEncoder::Create(config, [&](const uint8_t *p, size_t n) { out.insert(out.end(), p, p + n); });
    const size_t before = out.size();
    std::vector<float> x = Sine(100);
    x[50] = std::nanf("");
    try {
      enc->Write(x.data(), x.size());
      ADD_FAILURE() << "NaN accepted by " << AudioFormatName(f);
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidAudio);
      EXPECT_NE(std::string(e.what()).find("sample 50"), std::string::npos) << e.what();
    }
    EXPECT_EQ(out.size(), before);
    EXPECT_EQ(enc->samples_written(), 0);
  }
}

TEST(Encoder, StreamingFlacIsRefusedNamingTheStreamableFormats) {
  AudioEncoder::Config config;
  config.format = AudioFormat::kFlac;
  config.streaming = true;
  try {
    AudioEncoder::Create(config, [](const uint8_t *, size_t) {});
    FAIL() << "streaming FLAC accepted";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("stream wav, pcm, mp3, opus or ogg"), std::string::npos) << e.what();
  }
}

TEST(Encoder, UnsupportedRateIsRefusedListingWhatWorks) {
  AudioEncoder::Config config;
  config.format = AudioFormat::kOpus;
  config.sample_rate = 22050;
  try {
    AudioEncoder::Create(config, [](const uint8_t *, size_t) {});
    FAIL() << "opus at 22050 Hz accepted";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("available: wav, pcm, flac, mp3"), std::string::npos) << e.what();
  }
}

TEST(Encoder, FormatNamesAndExtensions) {
  EXPECT_EQ(ParseAudioFormat("MP3"), AudioFormat::kMp3);
  EXPECT_EQ(ParseAudioFormat("s16le"), AudioFormat::kPcm);
  EXPECT_EQ(ParseAudioFormat("vorbis"), AudioFormat::kVorbis);
  EXPECT_EQ(ParseAudioFormat("aac"), std::nullopt);
  EXPECT_EQ(AudioFormatForPath("out/x.FLAC"), AudioFormat::kFlac);
  EXPECT_EQ(AudioFormatForPath("a.oga"), AudioFormat::kVorbis);
  EXPECT_EQ(AudioFormatForPath("a.opus"), AudioFormat::kOpus);
  EXPECT_EQ(AudioFormatForPath("dir.d/noext"), std::nullopt);
  EXPECT_EQ(AudioMimeType(AudioFormat::kPcm, 24000), "audio/pcm;rate=24000;encoding=s16le;channels=1");
  for (AudioFormat f : AvailableFormats(kRate)) EXPECT_EQ(ParseAudioFormat(AudioFormatName(f)), f);
}

// CreateForFile: every format written piece by piece into a seekable file (as `tts -o FILE` does)
// decodes back with every sample, length fields filled in, and WAV/FLAC hold the same integers as the
// whole-file encoder.
TEST(Encoder, FileModeWritesCompleteFilesIncrementally) {
  const std::vector<float> x = Sine(kRate * 2 + 123);
  for (AudioFormat format : AvailableFormats(kRate)) {
    if (format == AudioFormat::kPcm) continue;  // no header: same bytes as a stream
    SCOPED_TRACE(AudioFormatName(format));
    char path[] = "/tmp/cosyvoice-encoder-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    AudioEncoder::Config config;
    config.format = format;
    config.sample_rate = kRate;
    auto enc = AudioEncoder::CreateForFile(config, fd);
    off_t size_before_finish = 0;
    for (size_t i = 0; i < x.size(); i += 4800)
      enc->Write(x.data() + i, std::min<size_t>(4800, x.size() - i));
    size_before_finish = ::lseek(fd, 0, SEEK_END);
    enc->Finish();
    std::vector<uint8_t> bytes(static_cast<size_t>(::lseek(fd, 0, SEEK_END)));
    ASSERT_EQ(::pread(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    ::close(fd);
    ::unlink(path);
    // The codec may hold back a frame or two, never the whole stream.
    EXPECT_GT(size_before_finish, static_cast<off_t>(bytes.size() / 2))
        << "bytes reached the file while writing";
    const Audio back = DecodeAudio(bytes.data(), bytes.size(), "file");
    if (format == AudioFormat::kWav || format == AudioFormat::kFlac) {
      EXPECT_EQ(EncodeAudio(x, kRate, format), bytes) << "same file as whole-file mode";
      EXPECT_EQ(back.samples.size(), x.size());
    } else {
      // Lossy codecs pad with encoder delay; the length is right to within a frame or two.
      EXPECT_NEAR(static_cast<double>(back.samples.size()), static_cast<double>(x.size()), 4096.0);
    }
    if (format == AudioFormat::kWav) {
      EXPECT_EQ(U32At(bytes, 40), x.size() * 2) << "data size filled in";
      EXPECT_EQ(U32At(bytes, 4), x.size() * 2 + 36) << "RIFF size filled in";
    }
  }
}

}  // namespace
}  // namespace cosyvoice

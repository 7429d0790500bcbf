// src/audio/encoder.h - incremental audio encoders writing to a byte sink (WAV, raw PCM, FLAC, MP3,
// Ogg Opus, Ogg Vorbis), for HTTP responses, stdout and files.
//
//   AudioEncoder::Config config;
//   config.format = AudioFormat::kMp3;
//   config.streaming = true;  // bytes reach the sink while audio is still being written
//   auto enc = AudioEncoder::Create(config, [&](const uint8_t *p, size_t n) { send(p, n); });
//   enc->Write(chunk.data(), chunk.size());   // any number of times
//   enc->Finish();                            // flushes the encoder; the output is complete
//
// Two delivery modes to a sink (and CreateForFile, which writes a seekable file incrementally):
//  - streaming: encoded bytes go to the sink as soon as the codec emits them. Container fields that
//    hold the total length cannot be known yet and say "unknown": the WAV RIFF and data sizes are
//    0xFFFFFFFF (what ffmpeg writes to a pipe; libsndfile, browsers and players read to the end), an
//    MP3 has no Xing/Info frame (libsndfile only writes one where it can seek back) and uses a
//    constant bitrate so players estimate the duration from the size. FLAC cannot be streamed this
//    way (libsndfile cannot read back a FLAC whose STREAMINFO lacks the length), see CanStream().
//  - whole file (streaming = false): the sink receives the complete file in Finish(), with every
//    length field filled in (WAV sizes, FLAC STREAMINFO, the MP3 Info frame with the exact length).
//
// Samples are mono float in [-1, 1]. PCM16 output (wav, pcm, flac) uses FloatToPcm16 (truncation
// toward zero after clipping, as the official servers' int16 conversion), so the three formats hold
// the same integers. Non-finite samples are refused (Error(kInvalidAudio)): nothing is written for
// them. MP3, Opus and Vorbis come from the linked libsndfile (>= 1.1 built with LAME/mpg123/Opus/
// Vorbis): AvailableFormats() reports what this build can actually produce.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cosyvoice {

enum class AudioFormat {
  kWav,     // RIFF WAVE, 16-bit PCM (or 32-bit float with Config::float_wav)
  kPcm,     // raw signed 16-bit little-endian, no header
  kFlac,    // FLAC, 16-bit
  kMp3,     // MPEG-1/2 Layer III (LAME via libsndfile)
  kOpus,    // Ogg Opus (libopus via libsndfile); valid at 8, 12, 16, 24 and 48 kHz
  kVorbis,  // Ogg Vorbis
};

// "wav", "pcm", "flac", "mp3", "opus", "ogg" (Vorbis).
const char *AudioFormatName(AudioFormat format);
// Parses a format name (case-insensitive): the names above; "vorbis" is an alias of "ogg" and
// "raw"/"s16le" of "pcm". Empty when unknown.
std::optional<AudioFormat> ParseAudioFormat(const std::string &name);
// The format a file name's extension asks for (.wav .pcm .raw .flac .mp3 .opus .ogg .oga), if any.
std::optional<AudioFormat> AudioFormatForPath(const std::string &path);
// HTTP Content-Type: audio/wav, audio/pcm, audio/flac, audio/mpeg, audio/ogg; codecs=opus, audio/ogg.
std::string AudioMimeType(AudioFormat format, int sample_rate);

// Whether the linked libsndfile can produce `format` at `sample_rate` (wav/pcm: always).
bool CanEncode(AudioFormat format, int sample_rate);
// Whether `format` can be sent while it is produced (all but FLAC).
bool CanStream(AudioFormat format);
// Every format CanEncode at `sample_rate`, in the enum's order.
std::vector<AudioFormat> AvailableFormats(int sample_rate);
// "wav, pcm, flac, mp3, opus" - for error messages.
std::string AudioFormatList(const std::vector<AudioFormat> &formats);

using ByteSink = std::function<void(const uint8_t *data, size_t size)>;

class AudioEncoder {
 public:
  struct Config {
    AudioFormat format = AudioFormat::kWav;
    int sample_rate = 24000;
    bool streaming = false;  // see the file comment
    bool float_wav = false;  // kWav only: 32-bit IEEE float samples instead of 16-bit PCM
    void Validate() const;   // Error(kInvalidArgument/kUnsupported) naming the problem
  };

  // Throws Error(kUnsupported) when this build cannot produce the format (the message lists those
  // it can), Error(kInvalidArgument) for a bad rate or streaming FLAC. `sink` must outlive the encoder.
  static std::unique_ptr<AudioEncoder> Create(const Config &config, ByteSink sink);
  // Writes into a seekable file descriptor (a regular file, e.g. an AtomicFile's temporary file):
  // bytes reach the file as they are encoded, so memory stays bounded whatever the length, and
  // Finish() seeks back to fill in the length fields (WAV sizes, FLAC STREAMINFO, the MP3 Info frame):
  // the file is the same complete file as whole-file mode gives. `config.streaming` is ignored; the
  // descriptor is neither closed nor needed after Finish(). Errors as Create; writes that fail (disk
  // full) throw Error(kIo).
  static std::unique_ptr<AudioEncoder> CreateForFile(const Config &config, int fd);
  virtual ~AudioEncoder() = default;

  // Encodes `count` samples. Throws Error(kInvalidAudio) on a NaN/Inf sample (nothing of that call
  // is written), Error(kRuntime) when the codec fails. Not after Finish().
  virtual void Write(const float *samples, size_t count) = 0;
  // Flushes the codec and completes the output. Idempotent.
  virtual void Finish() = 0;

  const Config &config() const { return config_; }
  int64_t samples_written() const { return samples_written_; }

 protected:
  explicit AudioEncoder(const Config &config) : config_(config) {}
  Config config_;
  int64_t samples_written_ = 0;
};

// One-shot helper: the complete file for `samples`.
std::vector<uint8_t> EncodeAudio(const std::vector<float> &samples, int sample_rate, AudioFormat format,
                                 bool float_wav = false);

// The 44-byte header of a mono WAV: 16-bit PCM or 32-bit float; data_bytes 0xFFFFFFFF means
// "unknown length" (streaming) and then the RIFF size is 0xFFFFFFFF too.
std::vector<uint8_t> WavHeader(int sample_rate, bool float_samples, uint32_t data_bytes);

}  // namespace cosyvoice

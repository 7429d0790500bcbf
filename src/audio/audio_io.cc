// src/audio/audio_io.cc
#include "audio/audio_io.h"

#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "audio/resampler.h"
#include "common/atomic_file.h"
#include "cosyvoice/error.h"

namespace cosyvoice {
namespace {

constexpr sf_count_t kChunkFrames = 16384;

// Decodes an opened SNDFILE into mono float; closes it.
Audio DecodeOpened(SNDFILE *file, const SF_INFO &info, const std::string &name) {
  struct Closer {
    SNDFILE *f;
    ~Closer() { sf_close(f); }
  } closer{file};
  if (info.channels <= 0 || info.samplerate <= 0)
    throw Error(ErrorCode::kInvalidAudio, name + ": audio header has " + std::to_string(info.channels) +
                                              " channels at " + std::to_string(info.samplerate) +
                                              " Hz; expected at least one channel and a positive rate");
  const auto channels = static_cast<size_t>(info.channels);
  Audio audio;
  audio.sample_rate = info.samplerate;
  // the header's frame count is only a hint (a crafted header claims billions: fuzz_audio); reserve
  // at most ~3 minutes at 24 kHz up front and let longer audio grow the vector as it is read
  constexpr sf_count_t kMaxReserve = sf_count_t{1} << 22;
  if (info.frames > 0) audio.samples.reserve(static_cast<size_t>(std::min(info.frames, kMaxReserve)));
  std::vector<float> chunk(static_cast<size_t>(kChunkFrames) * channels);
  const float channel_count = static_cast<float>(channels);
  for (;;) {
    const sf_count_t got = sf_readf_float(file, chunk.data(), kChunkFrames);
    if (got <= 0) break;
    for (sf_count_t f = 0; f < got; ++f) {
      const float *frame = chunk.data() + static_cast<size_t>(f) * channels;
      if (channels == 1) {
        audio.samples.push_back(frame[0]);
        continue;
      }
      // torch mean(dim=0) over a few channels: a running float32 sum, then one division.
      float sum = 0.0f;
      for (size_t c = 0; c < channels; ++c) sum += frame[c];
      audio.samples.push_back(sum / channel_count);
    }
  }
  if (sf_error(file) != SF_ERR_NO_ERROR)
    throw Error(ErrorCode::kInvalidAudio, name + ": audio data is corrupt (libsndfile: " + sf_strerror(file) +
                                              "); expected a readable file");
  if (audio.samples.empty())
    throw Error(ErrorCode::kInvalidAudio,
                name + ": audio file has no samples; expected a non-empty recording");
  for (float v : audio.samples)
    if (!std::isfinite(v))
      throw Error(ErrorCode::kInvalidAudio,
                  name + ": audio contains NaN or infinite samples; expected finite samples in [-1, 1]");
  return audio;
}

[[noreturn]] void ThrowUndecodable(const std::string &name, const char *reason) {
  throw Error(ErrorCode::kInvalidAudio, name + ": not a readable audio file (libsndfile: " + reason +
                                            "); supported formats: " + SupportedAudioFormats());
}

// libsndfile virtual I/O over a byte buffer, read-only or growing.
struct MemoryFile {
  const uint8_t *read_data = nullptr;
  std::vector<uint8_t> *write_data = nullptr;
  sf_count_t size = 0;
  sf_count_t pos = 0;
};

sf_count_t MemLength(void *user) {
  return static_cast<MemoryFile *>(user)->size;
}
sf_count_t MemSeek(sf_count_t offset, int whence, void *user) {
  auto *m = static_cast<MemoryFile *>(user);
  sf_count_t target = offset;
  if (whence == SEEK_CUR) target = m->pos + offset;
  if (whence == SEEK_END) target = m->size + offset;
  if (target < 0) return -1;
  m->pos = target;
  return m->pos;
}
sf_count_t MemRead(void *ptr, sf_count_t count, void *user) {
  auto *m = static_cast<MemoryFile *>(user);
  const uint8_t *src = m->read_data != nullptr ? m->read_data : m->write_data->data();
  const sf_count_t n = std::max<sf_count_t>(0, std::min(count, m->size - m->pos));
  if (n > 0) std::memcpy(ptr, src + m->pos, static_cast<size_t>(n));
  m->pos += n;
  return n;
}
sf_count_t MemWrite(const void *ptr, sf_count_t count, void *user) {
  auto *m = static_cast<MemoryFile *>(user);
  if (m->write_data == nullptr) return 0;
  const sf_count_t end = m->pos + count;
  if (end > static_cast<sf_count_t>(m->write_data->size())) m->write_data->resize(static_cast<size_t>(end));
  std::memcpy(m->write_data->data() + m->pos, ptr, static_cast<size_t>(count));
  m->pos = end;
  m->size = std::max(m->size, end);
  return count;
}
sf_count_t MemTell(void *user) {
  return static_cast<MemoryFile *>(user)->pos;
}

SF_VIRTUAL_IO MemoryIo() {
  return SF_VIRTUAL_IO{MemLength, MemSeek, MemRead, MemWrite, MemTell};
}

int WavFormat(WavEncoding encoding) {
  return SF_FORMAT_WAV | (encoding == WavEncoding::kPcm16 ? SF_FORMAT_PCM_16 : SF_FORMAT_FLOAT);
}

// Writes samples to an opened SNDFILE; returns false on a short write.
bool WriteSamples(SNDFILE *file, const std::vector<float> &samples, WavEncoding encoding) {
  const auto n = static_cast<sf_count_t>(samples.size());
  if (encoding == WavEncoding::kFloat32) return sf_write_float(file, samples.data(), n) == n;
  std::vector<int16_t> pcm(samples.size());
  std::transform(samples.begin(), samples.end(), pcm.begin(), FloatToPcm16);
  return sf_write_short(file, pcm.data(), n) == n;
}

void CheckRate(int sample_rate, const std::string &name) {
  if (sample_rate <= 0)
    throw Error(ErrorCode::kInvalidArgument,
                name + ": sample rate must be positive, got " + std::to_string(sample_rate));
}

}  // namespace

Audio ReadAudio(const std::filesystem::path &path) {
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error(ErrorCode::kIo,
                name + ": no such file; expected an audio file (" + SupportedAudioFormats() + ")");
  if (std::filesystem::is_directory(path, ec))
    throw Error(ErrorCode::kIo, name + ": is a directory; expected an audio file");
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw Error(ErrorCode::kIo, name + ": cannot open for reading (permission denied?)");
  }
  if (std::filesystem::file_size(path, ec) == 0)
    throw Error(ErrorCode::kInvalidAudio,
                name + ": file is empty (0 bytes); expected an audio file (" + SupportedAudioFormats() + ")");
  SF_INFO info{};
  SNDFILE *file = sf_open(name.c_str(), SFM_READ, &info);
  if (file == nullptr) ThrowUndecodable(name, sf_strerror(nullptr));
  return DecodeOpened(file, info, name);
}

Audio DecodeAudio(const void *data, size_t size, const std::string &name) {
  if (size == 0)
    throw Error(ErrorCode::kInvalidAudio,
                name + ": no bytes; expected an audio file (" + SupportedAudioFormats() + ")");
  MemoryFile mem;
  mem.read_data = static_cast<const uint8_t *>(data);
  mem.size = static_cast<sf_count_t>(size);
  SF_VIRTUAL_IO io = MemoryIo();
  SF_INFO info{};
  SNDFILE *file = sf_open_virtual(&io, SFM_READ, &info, &mem);
  if (file == nullptr) ThrowUndecodable(name, sf_strerror(nullptr));
  return DecodeOpened(file, info, name);
}

float PeakAmplitude(const std::vector<float> &samples) {
  float peak = 0.0f;
  for (float v : samples) peak = std::max(peak, std::fabs(v));
  return peak;
}

void CheckAudio(const Audio &audio, const std::string &name, const AudioRequirements &req) {
  if (audio.samples.empty())
    throw Error(ErrorCode::kInvalidAudio, name + ": audio has no samples; expected a non-empty recording");
  for (float v : audio.samples)
    if (!std::isfinite(v))
      throw Error(ErrorCode::kInvalidAudio,
                  name + ": audio contains NaN or infinite samples; expected finite samples in [-1, 1]");
  if (audio.sample_rate < req.min_sample_rate)
    throw Error(ErrorCode::kInvalidAudio,
                name + ": sample rate " + std::to_string(audio.sample_rate) + " Hz is below the minimum " +
                    std::to_string(req.min_sample_rate) +
                    " Hz; expected audio recorded at >= " + std::to_string(req.min_sample_rate) + " Hz");
  const float peak = PeakAmplitude(audio.samples);
  if (peak < req.silence_peak) {
    char buf[160];
    std::snprintf(buf, sizeof(buf),
                  ": audio is silent (peak %.3g < %g); expected a recording with audible speech",
                  static_cast<double>(peak), static_cast<double>(req.silence_peak));
    throw Error(ErrorCode::kInvalidAudio, name + buf);
  }
  if (req.max_seconds > 0 && audio.duration_seconds() > req.max_seconds) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), ": audio is %.2f s long; the speech tokenizer accepts at most %g s",
                  audio.duration_seconds(), req.max_seconds);
    throw Error(ErrorCode::kInvalidAudio, name + buf);
  }
}

PromptAudio PreparePromptAudio(const Audio &audio, const std::string &name, const AudioRequirements &req) {
  CheckAudio(audio, name, req);
  for (int target : {16000, 24000}) {
    if (ResamplerKernelSize(audio.sample_rate, target) > kMaxResamplerKernel)
      throw Error(
          ErrorCode::kInvalidAudio,
          name + ": sample rate " + std::to_string(audio.sample_rate) + " Hz cannot be resampled to " +
              std::to_string(target) +
              " Hz without a huge filter; expected a standard rate such as 16000, 22050, 24000, 44100 or "
              "48000 Hz (convert the file, e.g. with sox or ffmpeg)");
  }
  PromptAudio out;
  out.original_rate = audio.sample_rate;
  out.x16 = Resample(audio.samples, audio.sample_rate, 16000);
  out.x24 = Resample(audio.samples, audio.sample_rate, 24000);
  return out;
}

int16_t FloatToPcm16(float x) {
  if (std::isnan(x)) return 0;
  const float v = std::clamp(x * 32768.0f, -32768.0f, 32767.0f);
  return static_cast<int16_t>(v);  // float -> integer conversion truncates toward zero
}

void WriteWav(const std::filesystem::path &path, const std::vector<float> &samples, int sample_rate,
              WavEncoding encoding) {
  const std::string name = path.string();
  CheckRate(sample_rate, name);
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = WavFormat(encoding);
  AtomicFile out(name);  // a failure leaves a previous file at `path` as it was
  SNDFILE *file = sf_open_fd(out.fd(), SFM_WRITE, &info, SF_FALSE);
  if (file == nullptr)
    throw Error(ErrorCode::kIo, name + ": cannot write WAV file (libsndfile: " + sf_strerror(nullptr) + ")");
  const bool ok = WriteSamples(file, samples, encoding);
  const int close_status = sf_close(file);
  if (!ok || close_status != 0) throw Error(ErrorCode::kIo, name + ": short write; is the disk full?");
  out.Commit();
}

std::vector<uint8_t> EncodeWav(const std::vector<float> &samples, int sample_rate, WavEncoding encoding) {
  CheckRate(sample_rate, "<wav buffer>");
  std::vector<uint8_t> bytes;
  MemoryFile mem;
  mem.write_data = &bytes;
  SF_VIRTUAL_IO io = MemoryIo();
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = WavFormat(encoding);
  SNDFILE *file = sf_open_virtual(&io, SFM_WRITE, &info, &mem);
  if (file == nullptr)
    throw Error(ErrorCode::kRuntime, std::string("cannot encode WAV: ") + sf_strerror(nullptr));
  const bool ok = WriteSamples(file, samples, encoding);
  sf_close(file);
  if (!ok) throw Error(ErrorCode::kRuntime, "cannot encode WAV: short write");
  bytes.resize(static_cast<size_t>(mem.size));
  return bytes;
}

std::string SupportedAudioFormats() {
  static const std::string formats = [] {
    int count = 0;
    sf_command(nullptr, SFC_GET_FORMAT_MAJOR_COUNT, &count, sizeof(count));
    std::vector<std::string> names;
    std::set<std::string> seen;
    // The common ones first, in a fixed order, then the rest as libsndfile lists them.
    std::vector<std::string> all;
    for (int i = 0; i < count; ++i) {
      SF_FORMAT_INFO info{};
      info.format = i;
      if (sf_command(nullptr, SFC_GET_FORMAT_MAJOR, &info, sizeof(info)) != 0 || info.extension == nullptr)
        continue;
      std::string ext = info.extension;
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::toupper(c); });
      if ((info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_OGG) ext = "OGG";   // libsndfile says "oga"
      if ((info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG) ext = "MP3";  // libsndfile says "m1a"
      all.push_back(ext);
    }
    for (const char *common : {"WAV", "FLAC", "OGG", "MP3"})
      if (std::find(all.begin(), all.end(), common) != all.end() && seen.insert(common).second)
        names.emplace_back(common);
    for (const auto &ext : all)
      if (seen.insert(ext).second) names.push_back(ext);
    std::ostringstream out;
    for (size_t i = 0; i < names.size(); ++i) out << (i ? ", " : "") << names[i];
    return out.str();
  }();
  return formats;
}

Audio ReadAudioFile(const std::string &path) {
  return ReadAudio(path);
}

void WriteWavFile(const std::string &path, const Audio &audio, bool float_samples) {
  WriteWav(path, audio.samples, audio.sample_rate,
           float_samples ? WavEncoding::kFloat32 : WavEncoding::kPcm16);
}

}  // namespace cosyvoice

// src/audio/encoder.cc - see encoder.h.
#include "audio/encoder.h"

#include <fcntl.h>
#include <sndfile.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#include "audio/audio_io.h"  // FloatToPcm16
#include "cosyvoice/error.h"

namespace cosyvoice {
namespace {

constexpr uint32_t kUnknownSize = 0xFFFFFFFFu;

void PutU32(std::vector<uint8_t> &out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutU16(std::vector<uint8_t> &out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}

// Refuses the whole call before anything of it is encoded.
void CheckFinite(const float *samples, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(samples[i])) {
      throw Error(ErrorCode::kInvalidAudio,
                  "audio encoder: sample " + std::to_string(i) + " of this chunk is not finite (NaN or Inf)");
    }
  }
}

bool IsSndfileFormat(AudioFormat f) {
  return f == AudioFormat::kFlac || f == AudioFormat::kMp3 || f == AudioFormat::kOpus ||
         f == AudioFormat::kVorbis;
}

int SndfileFormat(AudioFormat f) {
  switch (f) {
    case AudioFormat::kFlac: return SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    case AudioFormat::kMp3: return SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
    case AudioFormat::kOpus: return SF_FORMAT_OGG | SF_FORMAT_OPUS;
    case AudioFormat::kVorbis: return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    default: return 0;
  }
}

// ---- WAV and raw PCM: written here, no library needed ------------------------------------------
class PcmEncoder : public AudioEncoder {
 public:
  PcmEncoder(const Config &config, ByteSink sink) : AudioEncoder(config), sink_(std::move(sink)) {}

  void Write(const float *samples, size_t count) override {
    if (finished_) throw Error(ErrorCode::kRuntime, "audio encoder: Write after Finish");
    CheckFinite(samples, count);
    std::vector<uint8_t> &out = config_.streaming ? scratch_ : data_;
    if (config_.streaming) {
      scratch_.clear();
      if (!header_sent_ && config_.format == AudioFormat::kWav)
        scratch_ = WavHeader(config_.sample_rate, config_.float_wav, kUnknownSize);
      header_sent_ = true;
    }
    AppendSamples(out, samples, count);
    samples_written_ += static_cast<int64_t>(count);
    if (config_.streaming && !scratch_.empty()) sink_(scratch_.data(), scratch_.size());
  }

  void Finish() override {
    if (finished_) return;
    finished_ = true;
    if (config_.streaming) {
      if (!header_sent_ && config_.format == AudioFormat::kWav) {
        const auto header = WavHeader(config_.sample_rate, config_.float_wav, kUnknownSize);
        sink_(header.data(), header.size());
      }
      return;
    }
    if (config_.format == AudioFormat::kWav) {
      if (data_.size() > kUnknownSize - 36)
        throw Error(ErrorCode::kUnsupported, "audio encoder: a WAV file holds at most 4 GiB of samples");
      const auto header =
          WavHeader(config_.sample_rate, config_.float_wav, static_cast<uint32_t>(data_.size()));
      sink_(header.data(), header.size());
    }
    if (!data_.empty()) sink_(data_.data(), data_.size());
  }

 private:
  void AppendSamples(std::vector<uint8_t> &out, const float *samples, size_t count) const {
    const bool as_float = config_.format == AudioFormat::kWav && config_.float_wav;
    out.reserve(out.size() + count * (as_float ? 4 : 2));
    for (size_t i = 0; i < count; ++i) {
      if (as_float) {
        uint32_t bits;
        std::memcpy(&bits, &samples[i], 4);
        PutU32(out, bits);
      } else {
        PutU16(out, static_cast<uint16_t>(FloatToPcm16(samples[i])));
      }
    }
  }

  ByteSink sink_;
  std::vector<uint8_t> data_;     // whole-file mode: every sample so far
  std::vector<uint8_t> scratch_;  // streaming mode: this call's bytes
  bool header_sent_ = false;
  bool finished_ = false;
};

// ---- WAV and raw PCM into a seekable file: streamed as written, WAV sizes filled in at the end -----
void WriteAllToFd(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      throw Error(ErrorCode::kIo, std::string("audio encoder: writing the file failed: ") +
                                      std::strerror(w < 0 ? errno : ENOSPC));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

AudioEncoder::Config Streaming(AudioEncoder::Config config) {
  config.streaming = true;
  return config;
}

class PcmFileEncoder : public AudioEncoder {
 public:
  PcmFileEncoder(const Config &config, int fd)
      : AudioEncoder(config),
        fd_(fd),
        inner_(Streaming(config), [fd](const uint8_t *p, size_t n) { WriteAllToFd(fd, p, n); }) {}

  void Write(const float *samples, size_t count) override {
    inner_.Write(samples, count);
    samples_written_ = inner_.samples_written();
  }

  void Finish() override {
    if (finished_) return;
    finished_ = true;
    inner_.Finish();
    if (config_.format != AudioFormat::kWav) return;
    const uint64_t bytes = static_cast<uint64_t>(samples_written_) * (config_.float_wav ? 4u : 2u);
    if (bytes > kUnknownSize - 36)
      throw Error(ErrorCode::kUnsupported, "audio encoder: a WAV file holds at most 4 GiB of samples");
    const auto header = WavHeader(config_.sample_rate, config_.float_wav, static_cast<uint32_t>(bytes));
    if (::pwrite(fd_, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()))
      throw Error(ErrorCode::kIo,
                  std::string("audio encoder: writing the WAV header failed: ") + std::strerror(errno));
  }

 private:
  int fd_;
  PcmEncoder inner_;
  bool finished_ = false;
};

// ---- libsndfile codecs ----------------------------------------------------------------------------
// Whole-file mode writes into a seekable memory file (so libsndfile fills in length fields at close).
struct MemoryFile {
  std::vector<uint8_t> bytes;
  sf_count_t pos = 0;
};
sf_count_t MemLength(void *user) {
  return static_cast<sf_count_t>(static_cast<MemoryFile *>(user)->bytes.size());
}
sf_count_t MemSeek(sf_count_t offset, int whence, void *user) {
  auto *m = static_cast<MemoryFile *>(user);
  const sf_count_t base = whence == SEEK_SET   ? 0
                          : whence == SEEK_CUR ? m->pos
                                               : static_cast<sf_count_t>(m->bytes.size());
  if (base + offset < 0) return -1;
  m->pos = base + offset;
  return m->pos;
}
sf_count_t MemRead(void *ptr, sf_count_t count, void *user) {
  auto *m = static_cast<MemoryFile *>(user);
  const sf_count_t avail = std::max<sf_count_t>(0, static_cast<sf_count_t>(m->bytes.size()) - m->pos);
  const sf_count_t n = std::min(count, avail);
  if (n > 0) std::memcpy(ptr, m->bytes.data() + m->pos, static_cast<size_t>(n));
  m->pos += n;
  return n;
}
sf_count_t MemWrite(const void *ptr, sf_count_t count, void *user) {
  auto *m = static_cast<MemoryFile *>(user);
  const size_t end = static_cast<size_t>(m->pos + count);
  if (end > m->bytes.size()) m->bytes.resize(end);
  std::memcpy(m->bytes.data() + m->pos, ptr, static_cast<size_t>(count));
  m->pos += count;
  return count;
}
sf_count_t MemTell(void *user) {
  return static_cast<MemoryFile *>(user)->pos;
}

// Streaming mode writes into a non-blocking pipe that is drained after every small write: libsndfile
// treats a pipe as unseekable and then writes a stream (for MP3: no Xing/Info frame that it would
// have to patch at the start, https://github.com/libsndfile/libsndfile/blob/1.2.0/src/mpeg_l3_encode.c#L99).
class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_, O_NONBLOCK | O_CLOEXEC) != 0)
      throw Error(ErrorCode::kRuntime,
                  std::string("audio encoder: cannot create a pipe: ") + std::strerror(errno));
#ifdef F_SETPIPE_SZ
    ::fcntl(fds_[1], F_SETPIPE_SZ, 1 << 20);  // headroom only; a failure is harmless
#endif
  }
  ~Pipe() {
    CloseWriteEnd();
    if (fds_[0] >= 0) ::close(fds_[0]);
  }
  Pipe(const Pipe &) = delete;
  Pipe &operator=(const Pipe &) = delete;
  int write_fd() const {
    return fds_[1];
  }
  void CloseWriteEnd() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
  }
  // Everything written so far, to the sink.
  void Drain(const ByteSink &sink) {
    uint8_t buf[16384];
    for (;;) {
      const ssize_t n = ::read(fds_[0], buf, sizeof(buf));
      if (n > 0) {
        sink(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return;  // EAGAIN (empty) or EOF
    }
  }

 private:
  int fds_[2] = {-1, -1};
};

class SndfileEncoder : public AudioEncoder {
 public:
  // `file_fd` >= 0: libsndfile writes that seekable file itself (CreateForFile) and the sink is unused.
  SndfileEncoder(const Config &config, ByteSink sink, int file_fd = -1)
      : AudioEncoder(config), sink_(std::move(sink)), to_file_(file_fd >= 0) {
    SF_INFO info{};
    info.samplerate = config.sample_rate;
    info.channels = 1;
    info.format = SndfileFormat(config.format);
    if (to_file_) {
      file_ = sf_open_fd(file_fd, SFM_WRITE, &info, SF_FALSE);
    } else if (config.streaming) {
      pipe_ = std::make_unique<Pipe>();
      file_ = sf_open_fd(pipe_->write_fd(), SFM_WRITE, &info, SF_FALSE);
    } else {
      SF_VIRTUAL_IO io{MemLength, MemSeek, MemRead, MemWrite, MemTell};
      file_ = sf_open_virtual(&io, SFM_WRITE, &info, &memory_);
    }
    if (file_ == nullptr) {
      throw Error(ErrorCode::kUnsupported,
                  std::string("audio encoder: libsndfile cannot write ") + AudioFormatName(config.format) +
                      " at " + std::to_string(config.sample_rate) + " Hz: " + sf_strerror(nullptr));
    }
    if (config.streaming && config.format == AudioFormat::kMp3) {
      // Without an Info frame a player estimates the duration from the byte count: constant bitrate
      // makes that estimate right.
      int mode = SF_BITRATE_MODE_CONSTANT;
      sf_command(file_, SFC_SET_BITRATE_MODE, &mode, sizeof(mode));
    }
    Flush();
  }
  ~SndfileEncoder() override {
    if (file_ != nullptr) sf_close(file_);
  }

  void Write(const float *samples, size_t count) override {
    if (finished_) throw Error(ErrorCode::kRuntime, "audio encoder: Write after Finish");
    CheckFinite(samples, count);
    // Small pieces keep each codec output far below the pipe's capacity (64 KiB at least).
    constexpr size_t kPiece = 2400;
    for (size_t done = 0; done < count; done += kPiece) {
      const size_t n = std::min(kPiece, count - done);
      WritePiece(samples + done, n);
      Flush();
    }
    samples_written_ += static_cast<int64_t>(count);
  }

  void Finish() override {
    if (finished_) return;
    finished_ = true;
    const int status = sf_close(file_);
    file_ = nullptr;
    if (config_.streaming) {
      pipe_->CloseWriteEnd();
      pipe_->Drain(sink_);
    } else if (!memory_.bytes.empty()) {
      sink_(memory_.bytes.data(), memory_.bytes.size());
    }
    if (status != 0)
      throw Error(ErrorCode::kRuntime, std::string("audio encoder: closing the ") +
                                           AudioFormatName(config_.format) +
                                           " stream failed: " + sf_error_number(status));
  }

 private:
  void WritePiece(const float *samples, size_t n) {
    sf_count_t written = 0;
    if (config_.format == AudioFormat::kFlac) {
      // The same integers as the wav/pcm outputs.
      pcm_.resize(n);
      for (size_t i = 0; i < n; ++i) pcm_[i] = FloatToPcm16(samples[i]);
      written = sf_write_short(file_, pcm_.data(), static_cast<sf_count_t>(n));
    } else {
      clipped_.assign(samples, samples + n);
      for (float &x : clipped_) x = std::clamp(x, -1.0f, 1.0f);
      written = sf_write_float(file_, clipped_.data(), static_cast<sf_count_t>(n));
    }
    if (written != static_cast<sf_count_t>(n))
      throw Error(to_file_ ? ErrorCode::kIo : ErrorCode::kRuntime,
                  std::string("audio encoder: ") + AudioFormatName(config_.format) +
                      (to_file_ ? " writing the file failed: " : " encoding failed: ") + sf_strerror(file_));
  }
  void Flush() {
    if (config_.streaming) pipe_->Drain(sink_);
  }

  ByteSink sink_;
  MemoryFile memory_;
  std::unique_ptr<Pipe> pipe_;
  bool to_file_ = false;
  SNDFILE *file_ = nullptr;
  std::vector<short> pcm_;
  std::vector<float> clipped_;
  bool finished_ = false;
};

// Opening an encoder is the only reliable capability probe (sf_format_check does not know which
// codecs the library was built with, nor Opus's rate limits), so the answer is cached.
bool ProbeSndfile(AudioFormat format, int sample_rate) {
  static std::mutex mutex;
  static std::map<std::pair<int, int>, bool> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_pair(static_cast<int>(format), sample_rate);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  bool ok = true;
  try {
    AudioEncoder::Config config;
    config.format = format;
    config.sample_rate = sample_rate;
    SndfileEncoder probe(config, [](const uint8_t *, size_t) {});
    const float silence[480] = {};
    probe.Write(silence, 480);
    probe.Finish();
  } catch (const Error &) {
    ok = false;
  }
  cache[key] = ok;
  return ok;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

const char *AudioFormatName(AudioFormat format) {
  switch (format) {
    case AudioFormat::kWav: return "wav";
    case AudioFormat::kPcm: return "pcm";
    case AudioFormat::kFlac: return "flac";
    case AudioFormat::kMp3: return "mp3";
    case AudioFormat::kOpus: return "opus";
    case AudioFormat::kVorbis: return "ogg";
  }
  return "?";
}

std::optional<AudioFormat> ParseAudioFormat(const std::string &name) {
  const std::string n = Lower(name);
  if (n == "wav") return AudioFormat::kWav;
  if (n == "pcm" || n == "raw" || n == "s16le") return AudioFormat::kPcm;
  if (n == "flac") return AudioFormat::kFlac;
  if (n == "mp3") return AudioFormat::kMp3;
  if (n == "opus") return AudioFormat::kOpus;
  if (n == "ogg" || n == "vorbis") return AudioFormat::kVorbis;
  return std::nullopt;
}

std::optional<AudioFormat> AudioFormatForPath(const std::string &path) {
  const auto dot = path.find_last_of('.');
  const auto slash = path.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return std::nullopt;
  const std::string ext = Lower(path.substr(dot + 1));
  if (ext == "oga") return AudioFormat::kVorbis;
  if (ext == "s16le" || ext == "vorbis") return std::nullopt;  // names, not extensions
  return ParseAudioFormat(ext);
}

std::string AudioMimeType(AudioFormat format, int sample_rate) {
  switch (format) {
    case AudioFormat::kWav: return "audio/wav";
    // The rate and sample format travel with raw PCM (RFC 2586 style parameters).
    case AudioFormat::kPcm:
      return "audio/pcm;rate=" + std::to_string(sample_rate) + ";encoding=s16le;channels=1";
    case AudioFormat::kFlac: return "audio/flac";
    case AudioFormat::kMp3: return "audio/mpeg";
    case AudioFormat::kOpus: return "audio/ogg; codecs=opus";
    case AudioFormat::kVorbis: return "audio/ogg";
  }
  return "application/octet-stream";
}

bool CanEncode(AudioFormat format, int sample_rate) {
  if (sample_rate <= 0) return false;
  if (!IsSndfileFormat(format)) return true;
  return ProbeSndfile(format, sample_rate);
}

bool CanStream(AudioFormat format) {
  return format != AudioFormat::kFlac;
}

std::vector<AudioFormat> AvailableFormats(int sample_rate) {
  std::vector<AudioFormat> out;
  for (AudioFormat f : {AudioFormat::kWav, AudioFormat::kPcm, AudioFormat::kFlac, AudioFormat::kMp3,
                        AudioFormat::kOpus, AudioFormat::kVorbis})
    if (CanEncode(f, sample_rate)) out.push_back(f);
  return out;
}

std::string AudioFormatList(const std::vector<AudioFormat> &formats) {
  std::string out;
  for (size_t i = 0; i < formats.size(); ++i)
    out += (i ? ", " : "") + std::string(AudioFormatName(formats[i]));
  return out;
}

void AudioEncoder::Config::Validate() const {
  if (sample_rate <= 0 || sample_rate > 384000)
    throw Error(ErrorCode::kInvalidArgument, "audio encoder: sample rate " + std::to_string(sample_rate) +
                                                 " Hz is out of range (1..384000)");
  if (float_wav && format != AudioFormat::kWav)
    throw Error(ErrorCode::kInvalidArgument, "audio encoder: float samples are only available in wav");
  if (streaming && !CanStream(format))
    throw Error(ErrorCode::kInvalidArgument,
                std::string("audio encoder: ") + AudioFormatName(format) +
                    " cannot be streamed (its header holds the length); stream wav, pcm, mp3, opus or ogg");
  if (!CanEncode(format, sample_rate))
    throw Error(ErrorCode::kUnsupported,
                std::string("audio encoder: this build cannot produce ") + AudioFormatName(format) + " at " +
                    std::to_string(sample_rate) +
                    " Hz; available: " + AudioFormatList(AvailableFormats(sample_rate)));
}

std::unique_ptr<AudioEncoder> AudioEncoder::Create(const Config &config, ByteSink sink) {
  config.Validate();
  if (IsSndfileFormat(config.format)) return std::make_unique<SndfileEncoder>(config, std::move(sink));
  return std::make_unique<PcmEncoder>(config, std::move(sink));
}

std::unique_ptr<AudioEncoder> AudioEncoder::CreateForFile(const Config &config, int fd) {
  Config c = config;
  c.streaming = false;  // the file is seekable: every format, complete headers
  c.Validate();
  if (fd < 0) throw Error(ErrorCode::kInvalidArgument, "audio encoder: no file to write");
  if (IsSndfileFormat(c.format)) return std::make_unique<SndfileEncoder>(c, ByteSink(), fd);
  return std::make_unique<PcmFileEncoder>(c, fd);
}

std::vector<uint8_t> EncodeAudio(const std::vector<float> &samples, int sample_rate, AudioFormat format,
                                 bool float_wav) {
  std::vector<uint8_t> out;
  AudioEncoder::Config config;
  config.format = format;
  config.sample_rate = sample_rate;
  config.float_wav = float_wav;
  auto encoder =
      AudioEncoder::Create(config, [&](const uint8_t *p, size_t n) { out.insert(out.end(), p, p + n); });
  encoder->Write(samples.data(), samples.size());
  encoder->Finish();
  return out;
}

std::vector<uint8_t> WavHeader(int sample_rate, bool float_samples, uint32_t data_bytes) {
  const uint16_t bits = float_samples ? 32 : 16;
  const uint16_t block_align = bits / 8;
  std::vector<uint8_t> h;
  h.reserve(44);
  const char *riff = "RIFF";
  h.insert(h.end(), riff, riff + 4);
  PutU32(h, data_bytes == kUnknownSize ? kUnknownSize : data_bytes + 36);
  const char *wave_fmt = "WAVEfmt ";
  h.insert(h.end(), wave_fmt, wave_fmt + 8);
  PutU32(h, 16);                     // fmt chunk size
  PutU16(h, float_samples ? 3 : 1);  // WAVE_FORMAT_IEEE_FLOAT or WAVE_FORMAT_PCM
  PutU16(h, 1);                      // mono
  PutU32(h, static_cast<uint32_t>(sample_rate));
  PutU32(h, static_cast<uint32_t>(sample_rate) * block_align);  // byte rate
  PutU16(h, block_align);
  PutU16(h, bits);
  const char *data = "data";
  h.insert(h.end(), data, data + 4);
  PutU32(h, data_bytes);
  return h;
}

}  // namespace cosyvoice

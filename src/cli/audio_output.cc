// src/cli/audio_output.cc - see audio_output.h.
#include "cli/audio_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/input_files.h"
#include "cosyvoice/error.h"

namespace cosyvoice::cli {
namespace {

void WriteAll(int fd, const std::string &name, const uint8_t *p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw Error(ErrorCode::kIo, name + ": write failed: " + std::strerror(w < 0 ? errno : EIO));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

bool IsStreamTarget(const std::string &path) {
  if (path == "-") return true;
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 &&
         (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode));
}

std::string Extension(const std::string &path) {
  const auto dot = path.find_last_of('.');
  const auto slash = path.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  return path.substr(dot + 1);
}

// Opens a named pipe or a device for writing without waiting for a reader that may never come.
int OpenStreamPath(const std::string &path, const std::string &flag) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENXIO)
      throw Error(ErrorCode::kIo, flag + " " + path +
                                      ": a named pipe with nobody reading it; start the reader "
                                      "first (e.g. aplay < " +
                                      path + " &)");
    throw Error(ErrorCode::kIo, flag + " " + path + ": cannot open for writing: " + std::strerror(errno));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace

std::unique_ptr<AtomicFile> OpenOutputFile(const std::string &path, const std::string &flag) {
  try {
    return std::make_unique<AtomicFile>(path);
  } catch (const Error &e) {
    throw Error(e.code(), flag + " " + e.what());
  }
}

AudioFormat ResolveOutputFormat(const OutputSpec &spec, bool stream, int sample_rate) {
  const std::string ext = stream ? "" : Extension(spec.path);
  std::optional<AudioFormat> by_ext;
  if (!ext.empty()) by_ext = AudioFormatForPath(spec.path);
  AudioFormat format = AudioFormat::kWav;
  if (!spec.format.empty()) {
    const auto named = ParseAudioFormat(spec.format);
    if (!named)
      throw Error(ErrorCode::kInvalidArgument,
                  "--format '" + spec.format + "': expected wav, pcm, flac, mp3, opus or ogg");
    if (by_ext.has_value() && by_ext.value() != named.value())
      throw Error(ErrorCode::kInvalidArgument, "--format " + spec.format + " contradicts the extension of " +
                                                   spec.flag + " " + spec.path + " (" +
                                                   AudioFormatName(by_ext.value()) + "); change one of them");
    format = *named;
  } else if (!stream) {
    if (ext.empty())
      throw Error(
          ErrorCode::kInvalidArgument,
          spec.flag + " " + spec.path +
              ": no extension to tell the audio format; name it .wav, .flac, .mp3, .opus, .ogg or .pcm, "
              "or give --format");
    if (!by_ext)
      throw Error(ErrorCode::kUnsupported, spec.flag + " " + spec.path + ": '." + ext +
                                               "' is not an audio format this build writes; available: " +
                                               AudioFormatList(AvailableFormats(sample_rate)) +
                                               " (or give --format)");
    format = *by_ext;
  }
  if (spec.float_wav && format != AudioFormat::kWav)
    throw Error(
        ErrorCode::kInvalidArgument,
        std::string("--float applies to wav output only, and the output is ") + AudioFormatName(format));
  if (stream && !CanStream(format))
    throw Error(
        ErrorCode::kInvalidArgument,
        std::string(AudioFormatName(format)) + " cannot be written to " +
            (spec.path == "-" ? "stdout" : spec.path) +
            " as it is produced (its header holds the total length); write it to a file, or stream wav, "
            "pcm, mp3, opus or ogg");
  if (!CanEncode(format, sample_rate))
    throw Error(ErrorCode::kUnsupported, std::string("this build cannot write ") + AudioFormatName(format) +
                                             " audio at " + std::to_string(sample_rate) + " Hz; available: " +
                                             AudioFormatList(AvailableFormats(sample_rate)));
  return format;
}

std::unique_ptr<AudioOutput> AudioOutput::Open(const OutputSpec &spec, int sample_rate,
                                               const InputFiles &inputs) {
  std::unique_ptr<AudioOutput> out(new AudioOutput());
  const bool stream = IsStreamTarget(spec.path);
  AudioEncoder::Config config;
  config.sample_rate = sample_rate;
  config.float_wav = spec.float_wav;
  if (!stream) {
    // Most important first: never an input; then the location (the temporary file opens now);
    // then the format.
    inputs.CheckNotInput(spec.path, spec.flag);
    out->name_ = spec.path;
    out->file_ = OpenOutputFile(spec.path, spec.flag);
    out->format_ = config.format = ResolveOutputFormat(spec, false, sample_rate);
    out->encoder_ = AudioEncoder::CreateForFile(config, out->file_->fd());
    return out;
  }
  if (spec.path == "-") {
    out->name_ = "stdout";
    out->stream_fd_ = STDOUT_FILENO;
  } else {
    out->name_ = spec.path;
    out->stream_fd_ = OpenStreamPath(spec.path, spec.flag);
    out->owns_fd_ = true;
  }
  inputs.CheckDescriptorNotInput(out->stream_fd_, out->name_);
  if (::isatty(out->stream_fd_))
    throw Error(ErrorCode::kInvalidArgument,
                spec.flag + " " + spec.path + ": " + out->name_ +
                    " is a terminal; pipe the audio into a player (| aplay) or a "
                    "file, or give " +
                    spec.flag + " FILE");
  out->format_ = config.format = ResolveOutputFormat(spec, true, sample_rate);
  config.streaming = true;
  const int fd = out->stream_fd_;
  const std::string name = out->name_;
  out->encoder_ =
      AudioEncoder::Create(config, [fd, name](const uint8_t *p, size_t n) { WriteAll(fd, name, p, n); });
  return out;
}

AudioOutput::~AudioOutput() {
  encoder_.reset();
  file_.reset();  // not committed: the temporary file goes, the previous file stays
  if (owns_fd_ && stream_fd_ >= 0) ::close(stream_fd_);
}

void AudioOutput::Write(const float *samples, size_t count) {
  encoder_->Write(samples, count);
}

void AudioOutput::Finish() {
  encoder_->Finish();
  if (file_) file_->Commit();
}

}  // namespace cosyvoice::cli

// src/cli/audio_output.h - where `tts` writes its audio: a file, stdout or a pipe, in any format the
// encoder knows, opened before the model loads and written as the audio is produced.
//
//  - a file is written through an AtomicFile: the encoder writes the temporary file segment by
//    segment (memory stays bounded) and Finish() renames it into place; an output that is not
//    finished (error, Ctrl-C) leaves the previous file as it was and no partial file;
//  - stdout ("-"), a named pipe or a device get the bytes as soon as they are encoded (a WAV then
//    has the streaming header with unknown sizes, as ffmpeg writes to a pipe).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "audio/encoder.h"
#include "common/atomic_file.h"

namespace cosyvoice::cli {

class InputFiles;

struct OutputSpec {
  std::string path = "out.wav";  // "-": stdout
  std::string format;            // --format; empty: from the extension (a stream: wav)
  bool float_wav = false;        // --float
  std::string flag = "-o";       // how the path was given, for messages
};

// The format `spec` asks for, or Error(kInvalidArgument/kUnsupported) naming the flag: an unknown
// --format, a --format that contradicts the extension, no usable extension, --float with another
// format than wav, a format this build cannot write (the message lists those it can).
AudioFormat ResolveOutputFormat(const OutputSpec &spec, bool stream, int sample_rate);

// An AtomicFile for `path`, with the flag that named it in front of any error ("-o x.wav: ...").
std::unique_ptr<AtomicFile> OpenOutputFile(const std::string &path, const std::string &flag);

class AudioOutput {
 public:
  // Resolves the format, refuses an output that is one of `inputs`, and opens the destination.
  static std::unique_ptr<AudioOutput> Open(const OutputSpec &spec, int sample_rate, const InputFiles &inputs);
  ~AudioOutput();
  AudioOutput(const AudioOutput &) = delete;
  AudioOutput &operator=(const AudioOutput &) = delete;

  void Write(const float *samples, size_t count);
  // Completes the encoding and, for a file, puts it in place.
  void Finish();

  const std::string &name() const { return name_; }  // the path, or "stdout"
  AudioFormat format() const { return format_; }
  bool is_stream() const { return file_ == nullptr; }
  int64_t samples_written() const { return encoder_ ? encoder_->samples_written() : 0; }

 private:
  AudioOutput() = default;
  std::string name_;
  AudioFormat format_ = AudioFormat::kWav;
  std::unique_ptr<AtomicFile> file_;  // a file output
  int stream_fd_ = -1;                // a stream output
  bool owns_fd_ = false;
  std::unique_ptr<AudioEncoder> encoder_;
};

}  // namespace cosyvoice::cli

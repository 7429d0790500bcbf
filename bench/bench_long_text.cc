// bench/bench_long_text.cc - peak memory of a long text (issue 14, "bounded memory").
//
// usage: bench_long_text BUNDLE PROMPT.wav PROMPT_TEXT TEXT_FILE OUT.wav [--hold] [--max-tokens N]
// Synthesizes TEXT_FILE in the prompt's voice and writes OUT.wav. By default through Session::Stream,
// each piece of audio written to the file as it comes (the library keeps no copy); --hold uses
// Session::Synthesize, which returns the whole audio, and writes it at the end (what `tts` did).
// --max-tokens caps the speech tokens per segment (a shorter run; the random tiny model otherwise
// draws up to 20 per text token). Prints one line: bytes of text, segments, seconds of audio, wall
// seconds, peak RSS (getrusage) - run it on one sentence and on a long text and compare.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "audio/encoder.h"
#include "cosyvoice/cosyvoice.h"

namespace {

double PeakRssMb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux: KiB
}

std::string ReadAll(const char *path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw cosyvoice::Error(cosyvoice::ErrorCode::kIo, std::string(path) + ": cannot read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 6) {
    std::fprintf(stderr,
                 "usage: %s BUNDLE PROMPT.wav PROMPT_TEXT TEXT_FILE OUT.wav [--hold] [--max-tokens N]\n",
                 argv[0]);
    return 2;
  }
  bool hold = false;
  cosyvoice::SynthesisOptions options;
  for (int i = 6; i < argc; ++i) {
    if (std::strcmp(argv[i], "--hold") == 0) {
      hold = true;
    } else if (std::strcmp(argv[i], "--max-tokens") == 0 && i + 1 < argc) {
      options.max_tokens = std::stoi(argv[++i]);
    } else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  try {
    const auto start = std::chrono::steady_clock::now();
    cosyvoice::ModelConfig config;
    config.model_dir = argv[1];
    const auto model = cosyvoice::Model::Load(config);
    const cosyvoice::Voice voice = model->CreateVoiceFromFile(argv[2], argv[3]);
    cosyvoice::SynthesisRequest request;
    request.text = ReadAll(argv[4]);
    request.voice = &voice;

    std::FILE *out = std::fopen(argv[5], "wb");
    if (out == nullptr)
      throw cosyvoice::Error(cosyvoice::ErrorCode::kIo, std::string(argv[5]) + ": cannot write");
    cosyvoice::AudioEncoder::Config enc_config;
    enc_config.sample_rate = model->sample_rate();
    enc_config.streaming = true;  // the WAV header says "unknown length": nothing is kept to fill it in
    auto encoder = cosyvoice::AudioEncoder::Create(enc_config, [out](const uint8_t *p, size_t n) {
      if (std::fwrite(p, 1, n, out) != n) throw cosyvoice::Error(cosyvoice::ErrorCode::kIo, "write failed");
    });
    cosyvoice::Session session(model);
    cosyvoice::SynthesisStats stats;
    if (hold) {
      const cosyvoice::Audio audio = session.Synthesize(request, options, nullptr, &stats);
      encoder->Write(audio.samples.data(), audio.samples.size());
    } else {
      session.Stream(
          request, options,
          [&](const cosyvoice::AudioChunk &c) {
            encoder->Write(c.samples, c.num_samples);
            return true;
          },
          &stats);
    }
    encoder->Finish();
    std::fclose(out);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %zu bytes of text, %d segments, %.1f s of audio, %.1f s, peak RSS %.1f MB\n",
                hold ? "synthesize (held)" : "stream", request.text.size(), stats.segments,
                stats.audio_seconds, wall, PeakRssMb());
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

// bench/bench_long_text.cc - peak memory of a long text (issue 14, "bounded memory").
//
// usage: bench_long_text BUNDLE PROMPT.wav PROMPT_TEXT TEXT_FILE OUT.wav [--hold] [--max-tokens N]
//        [--per-graph-arenas] [--trace]
// Synthesizes TEXT_FILE in the prompt's voice and writes OUT.wav. By default through Session::Stream,
// each piece of audio written to the file as it comes (the library keeps no copy); --hold uses
// Session::Synthesize, which returns the whole audio, and writes it at the end (what `tts` did).
// --max-tokens caps the speech tokens per segment (a shorter run; the random tiny model otherwise
// draws up to 20 per text token). Prints one line: bytes of text, segments, seconds of audio, wall
// seconds, CPU seconds, peak RSS (getrusage) - run it on one sentence and on a long text and compare.
// --per-graph-arenas: ONNX Runtime's default memory settings (an arena per graph, memory patterns
// on) instead of the engine's (RuntimeConfig::shared_cpu_arena, memory_pattern; docs/memory.md).
// --trace: after each segment, its audio seconds, the RSS and glibc's heap figures on stderr
// (in use vs free: what is live and what is fragmentation).
#include <sys/resource.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

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

double CurrentRssMb() {
  std::FILE *f = std::fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f != nullptr) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

void Trace(int segment, int segments, double seconds) {
  std::fprintf(stderr, "segment %d/%d (%.1f s): rss %.1f MB peak %.1f MB", segment + 1, segments, seconds,
               CurrentRssMb(), PeakRssMb());
#ifdef __GLIBC__
  const struct mallinfo2 mi = mallinfo2();
  std::fprintf(stderr, " | heap %.1f MB mmap %.1f MB in use %.1f MB free %.1f MB",
               static_cast<double>(mi.arena) / 1048576.0, static_cast<double>(mi.hblkhd) / 1048576.0,
               static_cast<double>(mi.uordblks) / 1048576.0, static_cast<double>(mi.fordblks) / 1048576.0);
#endif
  std::fprintf(stderr, "\n");
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
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
                 "usage: %s BUNDLE PROMPT.wav PROMPT_TEXT TEXT_FILE OUT.wav [--hold] [--max-tokens N] "
                 "[--per-graph-arenas] [--trace]\n",
                 argv[0]);
    return 2;
  }
  bool hold = false, trace = false, per_graph_arenas = false;
  cosyvoice::SynthesisOptions options;
  for (int i = 6; i < argc; ++i) {
    if (std::strcmp(argv[i], "--hold") == 0) {
      hold = true;
    } else if (std::strcmp(argv[i], "--per-graph-arenas") == 0) {
      per_graph_arenas = true;
    } else if (std::strcmp(argv[i], "--trace") == 0) {
      trace = true;
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
    if (per_graph_arenas) {  // ONNX Runtime's defaults, what the engine did before (docs/memory.md)
      config.runtime.shared_cpu_arena = false;
      config.runtime.memory_pattern = true;
    }
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
    size_t seg_samples = 0;
    if (hold) {
      const cosyvoice::Audio audio = session.Synthesize(request, options, nullptr, &stats);
      encoder->Write(audio.samples.data(), audio.samples.size());
    } else {
      session.Stream(
          request, options,
          [&](const cosyvoice::AudioChunk &c) {
            encoder->Write(c.samples, c.num_samples);
            seg_samples += c.num_samples;
            if (trace && c.segment_done)
              Trace(c.segment, c.num_segments, static_cast<double>(seg_samples) / c.sample_rate);
            if (c.segment_done) seg_samples = 0;
            return true;
          },
          &stats);
    }
    encoder->Finish();
    std::fclose(out);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %zu bytes of text, %d segments, %.1f s of audio, %.1f s, %.1f s CPU, peak RSS %.1f MB\n",
                hold ? "synthesize (held)" : "stream", request.text.size(), stats.segments,
                stats.audio_seconds, wall, CpuSeconds(), PeakRssMb());
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
